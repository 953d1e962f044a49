//! Classification: billing snapshot + message signals → [`Triage`]
//! (PLAYBOOK.md §2). Pure: no I/O, no clock (`now` is an argument). The
//! targets `actions::propose` acts on are found by the same helpers, so the
//! card's evidence and its proposals never disagree. Reading the message is
//! `signals`' job; rendering is the card's.
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
//! The first rule that fires decides; billing state beats the message, and
//! a message signal that the state contradicts is not trusted:
//!
//! 0. No customer → `NotFound`.
//! 1. **Duplicate personal subscription**: one person holds two or more live
//!    subscriptions sharing a price (or else a product), each one seat and not
//!    team-marked. The one in best standing is kept (active, then trialing,
//!    then paused / past_due / unpaid, then incomplete; the oldest among
//!    equals), so normally every newer one is an extra; but a checkout that
//!    never completed is the extra even when it is older, since cancelling
//!    the paying one would leave the customer with the broken one.
//! 2. **Product failure or broken trust**, proven by state: a disputed charge,
//!    or the message says "charged after cancelling" and a succeeded charge
//!    on that customer came after a subscription's cancellation.
//! 3. **Failed payment / incomplete checkout**: a past_due / unpaid /
//!    incomplete subscription, an open invoice with collection attempts, a
//!    failed charge newer than the customer's last succeeded one (older
//!    failures were recovered), or an expired default card on a customer with
//!    a live subscription that renews.
//! 4. **Genuine multi-seat / team intent**: a team-marked subscription shares
//!    a price or product with another live subscription of the person; a
//!    team-marked customer holds several live subscriptions; a team-marked
//!    subscription and a message about seats or being charged twice; or a
//!    message about a team or seats on a healthy account.
//! 5. "Charged after cancelling" without a matching charge → `NeedsReview`
//!    (the state contradicts the message).
//! 6. **Product failure or broken trust**, from the message: outage, bug,
//!    surprise renewal or refund request; a renewal or refund complaint needs
//!    a succeeded charge on record, else `NeedsReview`.
//! 7. **Missing self-serve control**: the message asks how to cancel, for an
//!    invoice, to change plan or to update the card, and rules 1–4 found
//!    nothing broken.
//! 8. Anything else (a healthy account and no message, "charged twice" with
//!    no second subscription, "payment failed" with no failure on record) →
//!    `NeedsReview`, saying what would settle it.

pub mod signals;
pub mod text;

/// Fixture loading is shared with `actions`' tests.
#[cfg(test)]
pub(crate) mod tests;

pub use signals::read_signals;

use crate::domain::{
    BillingSnapshot, Category, Charge, ChargeStatus, CustomerRecord, Interval, Invoice,
    InvoiceStatus, Signal, Subscription, SubscriptionItem, SubscriptionStatus, Triage,
};
use std::collections::{BTreeMap, BTreeSet};

/// Classifies one case; see the module doc for the rules and their order.
pub fn classify(snapshot: &BillingSnapshot, signals: &[Signal], now: i64) -> Triage {
    if snapshot.customers.is_empty() {
        return Triage::NotFound;
    }
    let has = |signal: Signal| signals.contains(&signal);
    let classified = |category, evidence| Triage::Classified { category, evidence };

    let duplicates = duplicates(snapshot);
    if !duplicates.is_empty() {
        let mut evidence: Vec<String> = duplicates.iter().map(Duplicate::evidence).collect();
        evidence.extend(signal_evidence(signals));
        return classified(Category::DuplicatePersonalSubscription, evidence);
    }

    let disputed: Vec<&Charge> = snapshot.charges().filter(|c| c.disputed).collect();
    let after_cancel = charged_after_cancel(snapshot);
    let cancel_matched = has(Signal::ChargedAfterCancelling) && !after_cancel.is_empty();
    if !disputed.is_empty() || cancel_matched {
        let mut evidence: Vec<String> = disputed
            .iter()
            .map(|c| format!("{} ({}) is disputed by the customer", c.id, c.amount))
            .collect();
        if cancel_matched {
            evidence.extend(after_cancel.iter().map(|a| a.evidence()));
        }
        evidence.extend(signal_evidence(signals));
        return classified(Category::ProductFailure, evidence);
    }

    let failures = payment_failures(snapshot, now);
    if !failures.is_empty() {
        let mut evidence = failures;
        evidence.extend(signal_evidence(signals));
        return classified(Category::FailedPayment, evidence);
    }

    let team = team_intent(snapshot, signals);
    if !team.is_empty() {
        let mut evidence = team;
        evidence.extend(signal_evidence(signals));
        return classified(Category::GenuineMultiSeatIntent, evidence);
    }

    let mut evidence = signal_evidence(signals);
    evidence.push(state_summary(snapshot));

    if has(Signal::ChargedAfterCancelling) {
        return Triage::NeedsReview {
            evidence,
            missing: vec![
                "the charge the customer means and when they cancelled: no charge after a cancellation is on record"
                    .to_owned(),
            ],
        };
    }

    let outage_or_bug = has(Signal::ReportsOutage) || has(Signal::ReportsBug);
    let money_complaint = has(Signal::SurpriseRenewal) || has(Signal::WantsRefund);
    if outage_or_bug || money_complaint {
        match latest_refundable_charge(snapshot) {
            Some(charge) => {
                evidence.push(format!(
                    "the latest succeeded charge is {} ({}, {} ago)",
                    charge.id,
                    charge.refundable(),
                    gap(now - charge.created)
                ));
                return classified(Category::ProductFailure, evidence);
            }
            None if outage_or_bug => return classified(Category::ProductFailure, evidence),
            None => {
                return Triage::NeedsReview {
                    evidence,
                    missing: vec![
                        "the charge the customer wants back: no refundable charge is on record"
                            .to_owned(),
                    ],
                }
            }
        }
    }

    let asks = [
        Signal::AsksHowToCancel,
        Signal::AsksForInvoice,
        Signal::AsksToChangePlan,
        Signal::AsksToUpdateCard,
    ];
    if asks.iter().any(|&s| has(s)) {
        evidence.push(
            "nothing in billing is broken: no duplicate, failed payment or dispute".to_owned(),
        );
        return classified(Category::MissingSelfServeControl, evidence);
    }

    let mut missing = Vec::new();
    if has(Signal::ChargedTwice) {
        missing.push(
            "the second charge's id or the other email the customer used: no duplicate subscription is on record"
                .to_owned(),
        );
    }
    if has(Signal::PaymentFailed) {
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

/// The newest succeeded, undisputed charge with something left to refund.
pub(crate) fn latest_refundable_charge(snapshot: &BillingSnapshot) -> Option<&Charge> {
    snapshot
        .charges()
        .filter(|c| c.status == ChargeStatus::Succeeded && !c.disputed && c.refundable().minor > 0)
        .max_by_key(|c| (c.created, c.id.as_str()))
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
    fn evidence(&self) -> String {
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
                let reason = charge
                    .failure_message
                    .as_deref()
                    .unwrap_or("no reason given");
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

/// Rule 4's evidence, empty when nothing shows team intent.
fn team_intent(snapshot: &BillingSnapshot, signals: &[Signal]) -> Vec<String> {
    let mut evidence = Vec::new();
    let mut mentioned = BTreeSet::new();
    let asks_about_seats =
        signals.contains(&Signal::MentionsTeamOrSeats) || signals.contains(&Signal::ChargedTwice);
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
            } else if asks_about_seats {
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
    if evidence.is_empty() && signals.contains(&Signal::MentionsTeamOrSeats) {
        evidence.push(format!(
            "{}; nothing in billing is broken",
            state_summary(snapshot)
        ));
    }
    evidence.dedup();
    evidence
}

/// One line per message signal, in the signal order.
fn signal_evidence(signals: &[Signal]) -> Vec<String> {
    signals
        .iter()
        .map(|&s| format!("the message {}", describe_signal(s)))
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
