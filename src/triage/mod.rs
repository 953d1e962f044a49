//! Classification: billing snapshot + message signals → [`Triage`]
//! (docs/PLAYBOOK.md §2). Pure: no I/O, no clock (`now` is an argument). The
//! targets `actions::propose` acts on are found by the same helpers, so the
//! card's evidence and its proposals never disagree. Preparing the message
//! is `text`'s job, reading its signals `signals`' and `lang`'s; rendering
//! is the card's.
//!
//! # Rules
//!
//! *Person*: customers sharing one email (case-insensitive) are one person; a
//! customer without an email is a person alone. *Live*: a subscription whose
//! status is not canceled or incomplete_expired (trialing counts).
//! *Team-marked*: a subscription with more than one seat, or whose own or
//! customer's metadata key or value names a team, company, seats or
//! organisation.
//!
//! The message tells what the customer says; the billing state tells what
//! happened. The first rule that fires decides (the order of the triage
//! corpus README, derived from the playbook):
//!
//! 1. No customer → `NotFound`, whatever the message says.
//! 2. **The message is data, not a command**: instructions to the bot or the
//!    approvers → `NeedsReview` (the card also warns).
//! 3. **Another customer**: the message names a customer id or email outside
//!    this case (a lookalike id included) → `NeedsReview`.
//! 4. **Billing anomaly**: a *duplicate personal subscription* (one person
//!    holds two or more live one-seat subscriptions sharing a price, else a
//!    product; the one in best standing is kept: active, then trialing, then
//!    paused / past_due / unpaid, then incomplete, the oldest among equals),
//!    unless the customer says the extra one is used by a different person
//!    (named by relation, "my team", "for my wife") or that they keep both
//!    (*genuine multi-seat*); then a *failed payment* (a
//!    past_due / unpaid / incomplete subscription, an open invoice with
//!    attempts, a failed charge newer than the last succeeded one, an
//!    expired default card behind a renewing subscription).
//! 5. **Broken trust in the state**: a disputed charge, or a succeeded charge
//!    after a cancellation that paid the canceled subscription's own invoice
//!    (or came when nothing live was left) → *product failure*, no wording
//!    needed.
//!    Then **escalation**: a chargeback or dispute threat, legal action, a
//!    regulator or consumer authority, the bank investigating, the press →
//!    `NeedsReview` (the card warns, and states a refund already made with
//!    its date and amount); only rules 4-5 decide before it.
//! 6. **Team state** (a live team-marked subscription): "I'm one person" →
//!    `NeedsReview`; a message about seats, amounts or duplication, or none →
//!    *genuine multi-seat*; only a self-serve question → *missing self-serve
//!    control*; a stated outage or bug goes on to rule 7.
//! 7. **A problem the state does not contradict**: an outage, a bug or data
//!    loss, or a surprise renewal (the customer says it was unexpected and an
//!    annual renewal was charged in the last [`RENEWAL_WINDOW_DAYS`] days) →
//!    *product failure*.
//! 8. **A claim the state contradicts** → `NeedsReview`: charged after
//!    cancelling with no such charge, "I cancelled" with no cancellation on
//!    record (unless the message asks to cancel: "nothing more charged"
//!    then speaks of the future), charged twice with no duplicate, a refund asked again or said
//!    missing.
//! 9. **A bare refund demand** (no stated problem, nothing wrong in the state)
//!    → `NeedsReview`; asking where a refund on record stands, or for its
//!    paperwork (an invoice or credit note of it), is no demand.
//! 10. **Self-serve**: how to cancel or undo it, change plan, invoices, the
//!     card, the account's dates or status, a refund or cancellation the
//!     state shows as done → *missing self-serve control*; a team or seats
//!     on a one-seat account → *genuine multi-seat*.
//! 11. Anything else (a greeting, an emoji) → `NeedsReview`, saying what
//!     would settle it.

pub mod lang;
pub mod screen;
pub mod signals;
pub mod text;

#[cfg(test)]
mod everyday_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod grounding_tests;
#[cfg(test)]
mod tests;

pub use signals::{
    named_accounts, other_customers, read_prepared, read_quoted, read_signals, NamedAccount,
    NamedKind, Quote,
};

use crate::domain::{
    BillingSnapshot, Category, Charge, ChargeStatus, CustomerRecord, Interval, Invoice,
    InvoiceStatus, Signal, Subscription, SubscriptionItem, SubscriptionStatus, Triage,
};
use std::collections::{BTreeMap, BTreeSet};

/// How recent an annual renewal must be for "I didn't expect it" to be a
/// surprise renewal the state supports.
pub const RENEWAL_WINDOW_DAYS: i64 = 7;

/// Classifies one case; see the module doc for the rules and their order.
pub fn classify(snapshot: &BillingSnapshot, signals: &[Signal], now: i64) -> Triage {
    classify_quoted(snapshot, signals, &[], now)
}

/// [`classify`], with each evidence line read from the message quoting the
/// customer's words (`quotes`, from [`read_quoted`]).
pub fn classify_quoted(
    snapshot: &BillingSnapshot,
    signals: &[Signal],
    quotes: &[Quote],
    now: i64,
) -> Triage {
    use Signal::*;
    if snapshot.customers.is_empty() {
        return Triage::NotFound;
    }
    let has = |signal: Signal| signals.contains(&signal);
    let classified = |category, evidence| Triage::Classified { category, evidence };

    // Rules 2-3: the anomaly stays in the evidence, nothing is decided on it.
    if has(AddressesApprovers) || has(NamesAnotherCustomer) {
        let mut evidence = signal_evidence(signals, quotes);
        evidence.push(state_summary(snapshot));
        evidence.extend(anomaly_lines(snapshot, now));
        let mut missing = Vec::new();
        if has(AddressesApprovers) {
            missing.push("what the customer needs, in their own words: the message gives instructions to the bot or the approvers, and words in a message are never an approval".to_owned());
        }
        if has(NamesAnotherCustomer) {
            missing.push("a separate lookup of the other customer the message names: nothing is proposed against this customer because of it".to_owned());
        }
        return Triage::NeedsReview { evidence, missing };
    }

    // Rule 4.
    let duplicates = duplicates(snapshot);
    if !duplicates.is_empty() {
        let mut evidence: Vec<String> = duplicates.iter().map(Duplicate::evidence).collect();
        evidence.extend(signal_evidence(signals, quotes));
        // Saying they keep both is the customer's choice even without naming
        // who uses the other one: cancelling it would go against their word.
        if has(ForSomeoneElse) || has(KeepsSubscriptions) {
            evidence.push("the customer says the extra subscription is used by a different person or is wanted: different seat holders, not a duplicate".to_owned());
            return classified(Category::GenuineMultiSeatIntent, evidence);
        }
        return classified(Category::DuplicatePersonalSubscription, evidence);
    }
    let failures = payment_failures(snapshot, now);
    if !failures.is_empty() {
        let mut evidence = failures;
        evidence.extend(signal_evidence(signals, quotes));
        return classified(Category::FailedPayment, evidence);
    }

    // Rule 5.
    let disputed: Vec<&Charge> = snapshot.charges().filter(|c| c.disputed).collect();
    let after_cancel = broken_trust_after_cancel(snapshot, signals);
    if !disputed.is_empty() || !after_cancel.is_empty() {
        let mut evidence: Vec<String> = disputed
            .iter()
            .map(|c| format!("{} ({}) is disputed by the customer", c.id, c.amount))
            .collect();
        evidence.extend(after_cancel.iter().map(AfterCancel::evidence));
        evidence.extend(signal_evidence(signals, quotes));
        return classified(Category::ProductFailure, evidence);
    }

    // Rule 5, escalation.
    if has(ThreatensEscalation) {
        let mut evidence = signal_evidence(signals, quotes);
        evidence.push(state_summary(snapshot));
        evidence.extend(state_notes(snapshot, now));
        let mut missing = vec!["a person's answer: the customer threatens to escalate (a chargeback, legal action, a regulator, the bank or the press); reply calmly with the facts, and promise nothing before it is done".to_owned()];
        missing.extend(refunds_made(snapshot).iter().map(|made| {
            format!(
                "{}: no second refund; tell the customer when it was made and that it can take 5 to 10 business days to reach their statement",
                made.line()
            )
        }));
        return Triage::NeedsReview { evidence, missing };
    }

    let problem = has(ReportsOutage) || has(ReportsBug);
    let self_serve = self_serve_asks(snapshot, signals);

    // Rule 6. With a problem stated, only the amount, the charges or the
    // seats' count keep a team's case about its seats ("our staff get
    // errors" is an outage on a team).
    let team = team_intent(snapshot);
    let amount_topic = has(ChargedTwice) || has(QuestionsTheAmount);
    let team_topic = has(MentionsTeamOrSeats) || amount_topic;
    if !team.is_empty() && (amount_topic || !problem) {
        let mut evidence = team;
        evidence.extend(signal_evidence(signals, quotes));
        if has(OnlyOnePerson) {
            return Triage::NeedsReview {
                evidence,
                missing: vec!["who chose the seats: the sender says they are one person, so neither \"keep the seats\" nor a duplicate fits".to_owned()],
            };
        }
        if !team_topic && self_serve {
            return classified(Category::MissingSelfServeControl, evidence);
        }
        return classified(Category::GenuineMultiSeatIntent, evidence);
    }

    let mut evidence = signal_evidence(signals, quotes);
    evidence.push(state_summary(snapshot));
    evidence.extend(state_notes(snapshot, now));

    // Rule 8 before rule 7 for one claim: a refund the customer says was
    // made, or asks after, when none is on record. Whatever problem they
    // state, no refund is proposed on the word that one was made.
    let refund_on_record = snapshot.charges().any(|c| c.amount_refunded > 0);
    if problem && has(AsksRefundStatus) && !refund_on_record {
        return Triage::NeedsReview {
            evidence,
            missing: vec!["the refund the customer means: no refund is on record, though they say one was made or ask where it is".to_owned()],
        };
    }

    // Rule 7.
    let renewal = recent_annual_renewal(snapshot, now);
    if problem || (has(SurpriseRenewal) && renewal.is_some()) {
        if let Some(charge) = renewal.filter(|_| has(SurpriseRenewal)) {
            evidence.push(format!(
                "{} ({}) renewed a yearly plan {} ago, and the customer did not expect it",
                charge.id,
                charge.amount,
                gap(now - charge.created)
            ));
            if believes_cancelled(snapshot, signals) {
                evidence.push("the customer says they had cancelled, but no cancellation is on record: the renewal was due, so no refund is proposed; whether to offer one is a person's call".to_owned());
            }
        }
        return classified(Category::ProductFailure, evidence);
    }

    // Rule 8.
    let mut contradicted = Vec::new();
    if has(ChargedAfterCancelling) {
        contradicted.push("the charge the customer means and when they cancelled: no charge after a cancellation is on record".to_owned());
    }
    if says_cancelled_unrecorded(snapshot, signals) {
        contradicted.push("when and how the customer cancelled: no subscription of this customer is canceled or set to cancel".to_owned());
    }
    if has(ChargedTwice) {
        contradicted.push("the second charge's id or the other email the customer used: no duplicate subscription is on record".to_owned());
    }
    if has(RefundAgain) {
        contradicted.push(if refund_on_record {
            "what the customer wants: a refund is already on record, and the message asks for another, says it never came or says it was not asked for".to_owned()
        } else {
            "the refund the customer means: no refund is on record".to_owned()
        });
    } else if has(AsksRefundStatus) && !refund_on_record && has(WantsRefund) {
        contradicted.push("the refund the customer means: no refund is on record".to_owned());
    }
    if !contradicted.is_empty() {
        return Triage::NeedsReview {
            evidence,
            missing: contradicted,
        };
    }

    // Rule 9.
    // A refund on record, asked about or asked to be documented (a credit
    // note or invoice of it), is no new refund demand.
    let refund_status = (has(AsksRefundStatus) || has(AsksForInvoice)) && refund_on_record;
    if has(WantsRefund) && !refund_status {
        return Triage::NeedsReview {
            evidence,
            missing: vec!["the problem behind the refund request: the message states none (no outage, bug or unexpected charge) and nothing in billing is wrong".to_owned()],
        };
    }

    // Rule 8, a claim: "I never cancelled" when the subscription is set to
    // cancel or canceled, and nothing else asked.
    // (Asking why the account says it ends is part of that claim.)
    let other_asks = [
        AsksHowToCancel,
        AsksForInvoice,
        AsksToChangePlan,
        AsksToUpdateCard,
    ];
    // Ending or ended: a live subscription set to cancel, or none live.
    let ending = snapshot
        .subscriptions()
        .any(|s| s.cancel_at_period_end && s.status.is_live())
        || (has_cancellation(snapshot) && !snapshot.subscriptions().any(|s| s.status.is_live()));
    if has(DeclinesCancel) && ending && !other_asks.into_iter().any(has) {
        return Triage::NeedsReview {
            evidence,
            missing: vec![
                "who set the subscription to cancel: the customer says they did not".to_owned(),
            ],
        };
    }

    // Merging accounts: no self-serve control does it, and which account
    // stays is a person's call (rule 11 lists no merge).
    if has(AsksToMerge) {
        return Triage::NeedsReview {
            evidence,
            missing: vec!["which account the customer wants to keep: merging customers is done by hand in Stripe, and nothing in the portal does it".to_owned()],
        };
    }

    // Rule 10.
    if self_serve {
        evidence.push(
            "nothing in billing is broken: no duplicate, failed payment or dispute".to_owned(),
        );
        return classified(Category::MissingSelfServeControl, evidence);
    }
    // Seats or a team asked for on an account without them: a plan
    // change, which the customer makes (PLAYBOOK §2 reads team intent from
    // the state: a quantity, team metadata, several seat holders).
    if has(MentionsTeamOrSeats) {
        evidence
            .push("the account has one seat and no team: adding seats is a plan change".to_owned());
        return classified(Category::MissingSelfServeControl, evidence);
    }

    // Rule 11.
    let mut missing = Vec::new();
    if has(PaymentFailed) {
        missing.push("the failed charge or invoice id: no payment failure is on record".to_owned());
    }
    if signals.is_empty() {
        missing.push(
            "the customer's message or the charge they are asking about: the account looks healthy"
                .to_owned(),
        );
    }
    if missing.is_empty() {
        missing.push(
            "what the customer is asking for: the message matches no playbook category".to_owned(),
        );
    }
    Triage::NeedsReview { evidence, missing }
}

/// What the operator must see before approving anything: instructions
/// addressed to the bot or approvers, other customers the message names,
/// disputed charges. Shown first on the card.
pub fn warnings(
    signals: &[Signal],
    others: &[NamedAccount],
    snapshot: &BillingSnapshot,
) -> Vec<String> {
    let mut lines = Vec::new();
    if signals.contains(&Signal::AddressesApprovers) {
        lines.push("The message gives instructions to the bot or the approvers (a claimed approval, an override, a sender claiming to be Stripe, a bank or finance). Words in a customer's message are never an approval: nothing is proposed because of them".to_owned());
    }
    for other in others {
        lines.push(match other.kind {
            NamedKind::LookalikeId => format!("The message names {}, which mixes lookalike non-Latin letters into an id — look it up separately; nothing is proposed against this customer because of it", other.text),
            NamedKind::CustomerId | NamedKind::Email => format!("The message names {} — look it up separately; nothing is proposed against this customer because of it", other.text),
            NamedKind::SubscriptionId => format!("The message names {}, which is not a subscription of this customer — look it up separately; nothing is proposed against this customer because of it", other.text),
        });
    }
    if signals.contains(&Signal::ThreatensEscalation) {
        lines.push("The customer threatens to escalate (a chargeback or dispute, legal action, a regulator, the bank, the press): a person answers, calmly and with the facts; nothing is proposed because of the threat".to_owned());
        for made in refunds_made(snapshot) {
            lines.push(format!("{}: it is not proposed again; it can take 5 to 10 business days to reach the customer's statement", made.line()));
        }
    }
    for charge in snapshot.charges().filter(|c| c.disputed) {
        lines.push(format!("{} ({}) is disputed: the dispute already returns the money to the customer, so no refund is proposed; answer the dispute in the Stripe dashboard", charge.id, charge.amount));
    }
    lines
}

/// A refund on record: what was refunded, of which charge, when.
pub struct RefundMade<'a> {
    pub charge: &'a Charge,
    pub refund: &'a crate::domain::Refund,
}

impl RefundMade<'_> {
    /// "A refund of USD 19.00 (re_1) of ch_1 was made on 2025-06-10".
    fn line(&self) -> String {
        format!(
            "A refund of {} ({}) of {} was made on {}",
            self.refund.amount,
            self.refund.id,
            self.charge.id,
            crate::domain::iso_day(self.refund.created).unwrap_or_default()
        )
    }
}

/// The refunds on record that went through (not failed or canceled),
/// oldest first.
pub fn refunds_made(snapshot: &BillingSnapshot) -> Vec<RefundMade<'_>> {
    let mut made: Vec<RefundMade<'_>> = snapshot
        .charges()
        .flat_map(|charge| {
            charge
                .refunds
                .iter()
                .filter(|r| !matches!(r.status.as_str(), "failed" | "canceled"))
                .map(move |refund| RefundMade { charge, refund })
        })
        .collect();
    made.sort_by_key(|m| m.refund.created);
    made
}

/// Rule 10's questions, with the state they need.
fn self_serve_asks(snapshot: &BillingSnapshot, signals: &[Signal]) -> bool {
    use Signal::*;
    let has = |signal: Signal| signals.contains(&signal);
    has(AsksHowToCancel)
        || has(AsksForInvoice)
        || has(AsksToChangePlan)
        || has(AsksToUpdateCard)
        || has(AsksAboutAccount)
        || has(DeclinesCancel)
        || (has(AsksRefundStatus) && snapshot.charges().any(|c| c.amount_refunded > 0))
        || (has(SaysCancelled) && has_cancellation(snapshot))
}

/// The customer says they had cancelled (or were charged after
/// cancelling) where no cancellation is on record: a belief the state
/// contradicts, so a renewal it complains of was due, and refunding it is
/// a person's call, not a proposal.
pub(crate) fn believes_cancelled(snapshot: &BillingSnapshot, signals: &[Signal]) -> bool {
    says_cancelled_unrecorded(snapshot, signals)
        || (signals.contains(&Signal::ChargedAfterCancelling) && !has_cancellation(snapshot))
}

/// "I cancelled" where no subscription is canceled or set to cancel
/// (beside a card change, "cancelled" is the bank cancelling the card).
fn says_cancelled_unrecorded(snapshot: &BillingSnapshot, signals: &[Signal]) -> bool {
    signals.contains(&Signal::SaysCancelled)
        && !signals.contains(&Signal::AsksToUpdateCard)
        && !has_cancellation(snapshot)
}

/// A subscription is canceled or set to cancel.
fn has_cancellation(snapshot: &BillingSnapshot) -> bool {
    snapshot
        .subscriptions()
        .any(|s| s.status == SubscriptionStatus::Canceled || s.cancel_at_period_end)
}

/// The charges after a cancellation that show broken trust (rule 5): those
/// that paid the canceled subscription's own invoice, or came when the
/// customer had nothing live left; with the customer's word that they were
/// charged after cancelling, any charge after a cancellation.
pub(crate) fn broken_trust_after_cancel<'a>(
    snapshot: &'a BillingSnapshot,
    signals: &[Signal],
) -> Vec<AfterCancel<'a>> {
    let all = charged_after_cancel(snapshot);
    if signals.contains(&Signal::ChargedAfterCancelling) {
        return all;
    }
    all.into_iter()
        .filter(|a| {
            a.own
                || !snapshot
                    .subscriptions()
                    .any(|s| s.customer == a.canceled.customer && s.status.is_live())
        })
        .collect()
}

/// The newest succeeded, undisputed charge of the last
/// [`RENEWAL_WINDOW_DAYS`] that renewed a yearly subscription (its
/// invoice's subscription is older than the charge by most of a year).
pub(crate) fn recent_annual_renewal(snapshot: &BillingSnapshot, now: i64) -> Option<&Charge> {
    snapshot
        .charges()
        .filter(|c| c.status == ChargeStatus::Succeeded && !c.disputed)
        .filter(|c| (0..RENEWAL_WINDOW_DAYS * 86_400).contains(&(now - c.created)))
        .filter(|c| {
            let sub = invoice_of(snapshot, c)
                .and_then(|i| i.subscription.as_ref())
                .and_then(|id| snapshot.subscriptions().find(|s| &s.id == id));
            sub.is_some_and(|s| {
                s.items.iter().any(|i| i.interval == Interval::Year)
                    && c.created - s.created > 300 * 86_400
            })
        })
        .max_by_key(|c| c.created)
}

/// Facts of the state worth a line even when they decide nothing: a pending
/// cancellation, a card expiring this month, a refund already made.
fn state_notes(snapshot: &BillingSnapshot, now: i64) -> Vec<String> {
    let mut notes = Vec::new();
    for sub in snapshot
        .subscriptions()
        .filter(|s| s.status.is_live() && s.cancel_at_period_end)
    {
        notes.push(format!(
            "{} is set to cancel at the end of its period",
            sub.id
        ));
    }
    let this_month = crate::domain::year_month(now);
    for customer in &snapshot.customers {
        if let Some(card) = customer
            .default_payment_method
            .as_ref()
            .filter(|c| (c.exp_year, c.exp_month) == this_month)
        {
            notes.push(format!(
                "{}'s default card ({} ending {}) expires this month",
                customer.id, card.brand, card.last4
            ));
        }
    }
    for charge in snapshot.charges().filter(|c| c.amount_refunded > 0) {
        notes.push(format!(
            "{} was already refunded ({})",
            charge.id,
            charge.amount.with_minor(charge.amount_refunded)
        ));
    }
    notes
}

/// The anomalies rules 4-5 would have decided on, as evidence lines for a
/// case that needs review instead.
fn anomaly_lines(snapshot: &BillingSnapshot, now: i64) -> Vec<String> {
    let mut lines: Vec<String> = duplicates(snapshot)
        .iter()
        .map(Duplicate::evidence)
        .collect();
    lines.extend(payment_failures(snapshot, now));
    lines.extend(
        snapshot
            .charges()
            .filter(|c| c.disputed)
            .map(|c| format!("{} ({}) is disputed by the customer", c.id, c.amount)),
    );
    lines.extend(
        broken_trust_after_cancel(snapshot, &[])
            .iter()
            .map(AfterCancel::evidence),
    );
    lines
}

/// A newer live subscription duplicating an older one of the same person.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Duplicate<'a> {
    pub kept: &'a Subscription,
    pub extra: &'a Subscription,
    /// The item the two share, for the evidence line.
    pub shared: &'a SubscriptionItem,
    /// Whether they share the price (else only the product).
    pub same_price: bool,
}

/// A succeeded charge made after a subscription of that customer was canceled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AfterCancel<'a> {
    pub charge: &'a Charge,
    pub canceled: &'a Subscription,
    pub canceled_at: i64,
    /// The charge paid an invoice of the canceled subscription itself.
    pub own: bool,
}

/// Every extra subscription, oldest pairs first (rule 1).
pub(crate) fn duplicates(snapshot: &BillingSnapshot) -> Vec<Duplicate<'_>> {
    let mut found = Vec::new();
    for subs in live_subscriptions_by_person(snapshot).values() {
        // Groups of one-seat subscriptions sharing a plan with the group's
        // oldest member; `subs` is oldest first.
        let mut groups: Vec<Vec<&Subscription>> = Vec::new();
        for (sub, customer) in subs {
            if is_team_marked(sub, customer) {
                continue;
            }
            match groups.iter_mut().find(|g| shared_plan(g[0], sub).is_some()) {
                Some(group) => group.push(sub),
                None => groups.push(vec![sub]),
            }
        }
        for group in groups.iter().filter(|g| g.len() > 1) {
            let Some(&kept) = group
                .iter()
                .min_by_key(|s| (standing(s.status), s.created, &s.id))
            else {
                continue;
            };
            for &extra in group.iter().filter(|s| s.id != kept.id) {
                let shared = shared_plan(kept, extra).or_else(|| shared_plan(group[0], extra));
                if let Some((shared, same_price)) = shared {
                    found.push(Duplicate {
                        kept,
                        extra,
                        shared,
                        same_price,
                    });
                }
            }
        }
    }
    found
}

/// The charges a "charged after cancelling" complaint is about (rule 2):
/// succeeded charges that paid a canceled subscription's own invoice after its
/// cancellation; if there are none, only the newest succeeded charge made
/// after any cancellation on that customer. Never the whole history.
pub(crate) fn charged_after_cancel(snapshot: &BillingSnapshot) -> Vec<AfterCancel<'_>> {
    let mut all = Vec::new();
    for customer in &snapshot.customers {
        for canceled in &customer.subscriptions {
            let Some(canceled_at) = canceled
                .canceled_at
                .filter(|_| canceled.status == SubscriptionStatus::Canceled)
            else {
                continue;
            };
            for charge in &customer.charges {
                if charge.status == ChargeStatus::Succeeded && charge.created > canceled_at {
                    let own = invoice_of(snapshot, charge)
                        .is_some_and(|i| i.subscription.as_ref() == Some(&canceled.id));
                    all.push(AfterCancel {
                        charge,
                        canceled,
                        canceled_at,
                        own,
                    });
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    let own: Vec<AfterCancel<'_>> = all
        .iter()
        .filter(|a| a.own && seen.insert(&a.charge.id))
        .copied()
        .collect();
    if !own.is_empty() {
        return own;
    }
    all.into_iter()
        .max_by_key(|a| (a.charge.created, a.canceled_at))
        .into_iter()
        .collect()
}

/// The newest open invoice with something due: the one to pay.
pub(crate) fn open_invoice(snapshot: &BillingSnapshot) -> Option<&Invoice> {
    snapshot
        .invoices()
        .filter(|i| i.status == InvoiceStatus::Open && i.amount_due.minor > 0)
        .max_by_key(|i| (i.attempt_count > 0, i.created))
}

/// The invoice a charge paid, found from either side of the link.
pub(crate) fn invoice_of<'a>(
    snapshot: &'a BillingSnapshot,
    charge: &Charge,
) -> Option<&'a Invoice> {
    snapshot
        .invoices()
        .find(|i| charge.invoice.as_ref() == Some(&i.id) || i.charge.as_ref() == Some(&charge.id))
}

/// "plan_x, EUR 39.00/month".
pub(crate) fn describe_price(item: &SubscriptionItem) -> String {
    let per = match (item.interval, item.interval_count.max(1)) {
        (Interval::Day, 1) => "day".to_owned(),
        (Interval::Week, 1) => "week".to_owned(),
        (Interval::Month, 1) => "month".to_owned(),
        (Interval::Year, 1) => "year".to_owned(),
        (interval, n) => format!("{n} {}s", interval_word(interval)),
    };
    format!("{}, {}/{per}", item.price_id, item.unit_amount)
}

/// A duration for people: "45 s", "4 min", "3 h", "2 days".
pub(crate) fn gap(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3_600 => format!("{} min", s / 60),
        3_600..86_400 => format!("{} h", s / 3_600),
        86_400..172_800 => "1 day".to_owned(),
        _ => format!("{} days", s / 86_400),
    }
}

impl Duplicate<'_> {
    /// "4 min after sub_A", or "before" when the extra is the older one.
    pub(crate) fn timing(&self) -> String {
        let delta = self.extra.created - self.kept.created;
        let side = if delta >= 0 { "after" } else { "before" };
        format!("{} {side} {}", gap(delta.abs()), self.kept.id)
    }

    /// "sub_B was created 4 min after sub_A on the same price (plan_x, EUR 39.00/month)".
    pub(crate) fn evidence(&self) -> String {
        let (kept, extra) = (self.kept, self.extra);
        let what = if self.same_price { "price" } else { "product" };
        let mut line = format!(
            "{}{} was created {}{} on the same {what} ({})",
            extra.id,
            status_note(extra),
            self.timing(),
            status_note(kept),
            describe_price(self.shared),
        );
        if kept.customer != extra.customer {
            line.push_str(&format!(
                "; they belong to {} and {}, which share one email",
                kept.customer, extra.customer
            ));
        }
        line
    }
}

impl AfterCancel<'_> {
    pub(crate) fn evidence(&self) -> String {
        let on = if self.own {
            format!(" on {}'s own invoice", self.canceled.id)
        } else {
            String::new()
        };
        format!(
            "{} ({}) was charged{on} {} after {} was canceled",
            self.charge.id,
            self.charge.amount,
            gap(self.charge.created - self.canceled_at),
            self.canceled.id
        )
    }
}

fn interval_word(interval: Interval) -> &'static str {
    match interval {
        Interval::Day => "day",
        Interval::Week => "week",
        Interval::Month => "month",
        Interval::Year => "year",
    }
}

/// " (trialing)", " (incomplete)", …; nothing for an active subscription.
fn status_note(sub: &Subscription) -> String {
    match sub.status {
        SubscriptionStatus::Active => String::new(),
        status => format!(" ({})", status.as_str()),
    }
}

/// Which of several duplicates to keep: the lowest rank.
fn standing(status: SubscriptionStatus) -> u8 {
    match status {
        SubscriptionStatus::Active => 0,
        SubscriptionStatus::Trialing => 1,
        SubscriptionStatus::Paused | SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid => 2,
        SubscriptionStatus::Incomplete => 3,
        SubscriptionStatus::IncompleteExpired | SubscriptionStatus::Canceled => 4,
    }
}

/// Live subscriptions with their customer, grouped by person, oldest first.
fn live_subscriptions_by_person(
    snapshot: &BillingSnapshot,
) -> BTreeMap<String, Vec<(&Subscription, &CustomerRecord)>> {
    let mut people: BTreeMap<String, Vec<(&Subscription, &CustomerRecord)>> = BTreeMap::new();
    for customer in &snapshot.customers {
        let person = match customer
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            Some(email) => format!("email:{}", email.to_lowercase()),
            None => format!("customer:{}", customer.id),
        };
        let subs = people.entry(person).or_default();
        subs.extend(
            customer
                .subscriptions
                .iter()
                .filter(|s| s.status.is_live())
                .map(|s| (s, customer)),
        );
    }
    for subs in people.values_mut() {
        subs.sort_by(|(a, _), (b, _)| (a.created, &a.id).cmp(&(b.created, &b.id)));
    }
    people
}

/// The item two subscriptions share: by price first, else by product.
fn shared_plan<'a>(a: &'a Subscription, b: &Subscription) -> Option<(&'a SubscriptionItem, bool)> {
    let by_price = a
        .items
        .iter()
        .find(|x| b.items.iter().any(|y| y.price_id == x.price_id));
    if let Some(item) = by_price {
        return Some((item, true));
    }
    a.items
        .iter()
        .find(|x| x.product_id.is_some() && b.items.iter().any(|y| y.product_id == x.product_id))
        .map(|item| (item, false))
}

/// Words in a metadata key or value that say the account is a team's.
const TEAM_WORDS: &[&str] = &[
    "team",
    "company",
    "seat",
    "organization",
    "organisation",
    "org_id",
];

/// The first metadata entry naming a team, as "key=value".
fn team_metadata(metadata: &BTreeMap<String, String>) -> Option<String> {
    metadata
        .iter()
        .find(|(k, v)| {
            let (k, v) = (k.to_lowercase(), v.to_lowercase());
            TEAM_WORDS.iter().any(|w| k.contains(w) || v.contains(w))
        })
        // Seat-holder entries often hold other people's emails: name the key only.
        .map(|(k, v)| {
            if v.contains('@') {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
}

fn is_team_marked(sub: &Subscription, customer: &CustomerRecord) -> bool {
    sub.items.iter().any(|i| i.quantity > 1)
        || team_metadata(&sub.metadata).is_some()
        || team_metadata(&customer.metadata).is_some()
}

/// Why a team-marked subscription is one, as an evidence line.
fn team_reason(sub: &Subscription, customer: &CustomerRecord) -> String {
    if let Some(item) = sub.items.iter().find(|i| i.quantity > 1) {
        return format!(
            "{} has {} seats of {} each",
            sub.id,
            item.quantity,
            describe_price(item)
        );
    }
    if let Some(entry) = team_metadata(&sub.metadata) {
        return format!("{} metadata names a team ({entry})", sub.id);
    }
    match team_metadata(&customer.metadata) {
        Some(entry) => format!(
            "{} belongs to {}, whose metadata names a team ({entry})",
            sub.id, customer.id
        ),
        None => format!("{} is held for a team", sub.id),
    }
}

/// Rule 3's evidence, empty when payments are healthy.
fn payment_failures(snapshot: &BillingSnapshot, now: i64) -> Vec<String> {
    let mut evidence = Vec::new();
    for customer in &snapshot.customers {
        for sub in customer
            .subscriptions
            .iter()
            .filter(|s| s.status.is_failing())
        {
            evidence.push(format!("{} is {}", sub.id, sub.status.as_str()));
        }
        for invoice in &customer.invoices {
            if invoice.status == InvoiceStatus::Open && invoice.attempt_count > 0 {
                evidence.push(format!(
                    "{} is open with {} due after {} failed attempt{}",
                    invoice.id,
                    invoice.amount_due,
                    invoice.attempt_count,
                    if invoice.attempt_count == 1 { "" } else { "s" }
                ));
            }
        }
        let last_success = customer
            .charges
            .iter()
            .filter(|c| c.status == ChargeStatus::Succeeded)
            .map(|c| c.created)
            .max();
        for charge in &customer.charges {
            if charge.status == ChargeStatus::Failed
                && last_success.is_none_or(|t| charge.created > t)
            {
                let reason = match (&charge.decline_code, &charge.failure_message) {
                    (Some(code), Some(why)) => format!("{why} ({code})"),
                    (Some(code), None) => code.clone(),
                    (None, Some(why)) => why.clone(),
                    (None, None) => "no reason given".to_owned(),
                };
                evidence.push(format!(
                    "{} for {} failed: {reason}",
                    charge.id, charge.amount
                ));
            }
        }
        let renews = customer
            .subscriptions
            .iter()
            .any(|s| s.status.is_live() && !s.cancel_at_period_end);
        if let Some(card) = customer
            .default_payment_method
            .as_ref()
            .filter(|c| renews && c.is_expired(now))
        {
            evidence.push(format!(
                "{}'s default card ({} ending {}) expired {:02}/{}",
                customer.id, card.brand, card.last4, card.exp_month, card.exp_year
            ));
        }
    }
    evidence
}

/// The account is a team's: seats on a subscription, or subscriptions
/// marked with a team and seat holders (rule 6's test).
pub fn is_team(snapshot: &BillingSnapshot) -> bool {
    !team_intent(snapshot).is_empty()
}

/// Rule 6's evidence, empty unless a live subscription is team-marked.
fn team_intent(snapshot: &BillingSnapshot) -> Vec<String> {
    let mut evidence = Vec::new();
    let mut mentioned = BTreeSet::new();
    for subs in live_subscriptions_by_person(snapshot).values() {
        for (i, (sub, customer)) in subs.iter().enumerate() {
            if !is_team_marked(sub, customer) || mentioned.contains(&sub.id) {
                continue;
            }
            let sibling = subs
                .iter()
                .enumerate()
                .find(|(j, (other, _))| *j != i && shared_plan(sub, other).is_some());
            if let Some((_, (other, _))) = sibling {
                mentioned.insert(&other.id);
                evidence.push(format!(
                    "{}; it shares a plan with {}, so these are seats, not a duplicate",
                    team_reason(sub, customer),
                    other.id
                ));
            } else {
                evidence.push(team_reason(sub, customer));
            }
        }
    }
    for customer in &snapshot.customers {
        let n_live = customer
            .subscriptions
            .iter()
            .filter(|s| s.status.is_live())
            .count();
        if let Some(entry) = team_metadata(&customer.metadata).filter(|_| n_live > 1) {
            evidence.push(format!(
                "{} holds {n_live} live subscriptions for a team ({entry})",
                customer.id
            ));
        }
    }
    evidence.dedup();
    evidence
}

/// One line per message signal, in the signal order, quoting the words it
/// was read from when there are any: `the message asks for a refund:
/// “refund me”`.
fn signal_evidence(signals: &[Signal], quotes: &[Quote]) -> Vec<String> {
    signals
        .iter()
        .map(|&s| match quotes.iter().find(|q| q.signal == s) {
            Some(quote) => format!("the message {}: “{}”", describe_signal(s), quote.words),
            None => format!("the message {}", describe_signal(s)),
        })
        .collect()
}

fn describe_signal(signal: Signal) -> &'static str {
    match signal {
        Signal::AsksHowToCancel => "asks how to cancel",
        Signal::AsksForInvoice => "asks for an invoice",
        Signal::AsksToChangePlan => "asks to change plan",
        Signal::AsksToUpdateCard => "asks to update the card",
        Signal::ReportsOutage => "reports an outage",
        Signal::ReportsBug => "reports a bug",
        Signal::ChargedAfterCancelling => "says they were charged after cancelling",
        Signal::SurpriseRenewal => "complains of a surprise renewal",
        Signal::WantsRefund => "asks for a refund",
        Signal::ChargedTwice => "says they were charged twice",
        Signal::MentionsTeamOrSeats => "mentions a team or seats",
        Signal::PaymentFailed => "says a payment failed",
        Signal::AddressesApprovers => "gives instructions to the bot or the approvers",
        Signal::NamesAnotherCustomer => "names another customer",
        Signal::ForSomeoneElse => "says the extra subscription is someone else's",
        Signal::OnlyOnePerson => "says they are one person, not a team",
        Signal::SaysCancelled => "says they cancelled",
        Signal::AsksRefundStatus => "asks about a refund already made",
        Signal::RefundAgain => "asks for a refund again",
        Signal::AsksAboutAccount => "asks about the account's dates or status",
        Signal::DeclinesRefund => "says they do not want a refund",
        Signal::DeclinesCancel => "says not to cancel",
        Signal::KeepsSubscriptions => "says to keep the subscriptions",
        Signal::QuestionsTheAmount => "asks why the amount or quantity billed is what it is",
        Signal::AsksToMerge => "asks to merge two accounts",
        Signal::InstructsTheBot => "gives a note or an order to the bot or the system",
        Signal::ThreatensEscalation => "threatens to escalate (a chargeback or dispute, legal action, a regulator, the bank, the press)",
    }
}

/// "cus_1 has 1 live subscription (sub_1 active)", one clause per customer.
fn state_summary(snapshot: &BillingSnapshot) -> String {
    let parts: Vec<String> = snapshot
        .customers
        .iter()
        .map(|customer| {
            let live: Vec<String> = customer
                .subscriptions
                .iter()
                .filter(|s| s.status.is_live())
                .map(|s| format!("{} {}", s.id, s.status.as_str()))
                .collect();
            match live.len() {
                0 => format!("{} has no live subscription", customer.id),
                1 => format!(
                    "{} has 1 live subscription ({})",
                    customer.id,
                    live.join(", ")
                ),
                n => format!(
                    "{} has {n} live subscriptions ({})",
                    customer.id,
                    live.join(", ")
                ),
            }
        })
        .collect();
    parts.join("; ")
}
