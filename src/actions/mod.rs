//! Proposed actions for a triaged case, safest and most reversible first
//! (docs/PLAYBOOK.md §3.3), and the revenue impact if all of them ran (§5). Pure:
//! no I/O, no clock. Targets come from the same `triage` helpers that wrote
//! the evidence. Approving and executing them is the approve workflow's job;
//! who may approve is `policy`'s.
//!
//! Card order: self-serve control (`PortalLink`, `InvoiceLink`) → repair
//! state (`CancelDuplicate`, `CancelSubscription`) → refund only the affected
//! charge (`Refund`) → `ClarifyBillingModel` where it fits → always a final
//! `CloseNoAction`. Keys are `a1`, `a2`, … in that order.

pub mod choose;
pub mod terms;
#[cfg(test)]
mod tests;

use crate::domain::{
    ActionKey, ActionKind, BillingSnapshot, Category, Charge, ChargeStatus, Currency, CustomerId,
    InvoiceStatus, Money, Origin, ProposedAction, RefundTarget, RevenueImpact, Signal,
    Subscription, SubscriptionId, Triage,
};
use crate::triage;
use std::collections::{BTreeMap, BTreeSet};

/// The proposals for one case, in card order (see the module doc).
///
/// Per category: duplicate → portal, one `CancelDuplicate` per extra
/// subscription (with the charges it made), close; multi-seat → portal,
/// clarify, close; failed payment → the open invoice's page, portal, close
/// (never a refund); missing self-serve → portal, the invoice asked for,
/// cancel at period end when asked, clarify when a plan change is asked,
/// close; product failure → portal, refund of the affected charge only (the
/// charge after the cancellation, else the latest charge; none while a charge
/// is disputed, since Stripe refuses those refunds), close; needs review → portal, close; not found → nothing.
/// Whatever the category, a customer who says they keep their subscriptions
/// gets no cancellation or refund, and one who says not to cancel gets no
/// cancellation.
pub fn propose(
    triage: &Triage,
    snapshot: &BillingSnapshot,
    signals: &[Signal],
    now: i64,
) -> Vec<ProposedAction> {
    let Some(first) = snapshot.customers.first() else {
        return Vec::new();
    };
    let mut drafts: Vec<Draft> = Vec::new();
    match triage {
        Triage::NotFound => return Vec::new(),
        Triage::NeedsReview { .. } => {
            drafts.push(portal(
                &first.id,
                "gives the customer control of their own billing while a person reviews the case",
            ));
        }
        Triage::Classified { category, .. } => match category {
            Category::DuplicatePersonalSubscription => {
                propose_duplicate(snapshot, &first.id, &mut drafts)
            }
            Category::GenuineMultiSeatIntent => {
                drafts.push(portal(
                    &first.id,
                    "lets the customer add or remove seats themselves",
                ));
                drafts.push(Draft {
                    kind: ActionKind::ClarifyBillingModel,
                    summary: "Explain per-seat billing to the customer; keep the seats".to_owned(),
                    rationale: "The seats were bought on purpose, so the fix is an explanation, not a cancellation".to_owned(),
                });
            }
            Category::FailedPayment => propose_failed_payment(snapshot, &first.id, &mut drafts),
            Category::MissingSelfServeControl => {
                propose_self_serve(snapshot, signals, &first.id, &mut drafts)
            }
            Category::ProductFailure => {
                propose_product_failure(snapshot, signals, &first.id, now, &mut drafts)
            }
        },
    }
    // The customer's word that they keep their subscriptions outranks every
    // other phrase in the message: nothing of them is cancelled or refunded.
    if signals.contains(&Signal::KeepsSubscriptions) {
        drafts.retain(|d| !d.kind.is_money_moving());
    }
    // "Don't cancel" forbids every cancellation, a duplicate's included; the
    // refund that comes with one goes with it.
    if signals.contains(&Signal::DeclinesCancel) {
        drafts.retain(|d| {
            !matches!(
                d.kind,
                ActionKind::CancelDuplicate { .. } | ActionKind::CancelSubscription { .. }
            )
        });
    }
    let disputed: Vec<String> = snapshot
        .charges()
        .filter(|c| c.disputed)
        .map(|c| c.id.to_string())
        .collect();
    let close = if disputed.is_empty() {
        "The operator may decide that the follow-up message alone settles the case".to_owned()
    } else {
        // The dispute already returns the money; a refund would pay twice.
        format!("No refund for a disputed charge: the dispute already returns the money, so answer the dispute on {} in the Stripe dashboard and close", disputed.join(", "))
    };
    drafts.push(Draft {
        kind: ActionKind::CloseNoAction,
        summary: "Close the case with no Stripe change".to_owned(),
        rationale: close,
    });
    drafts
        .into_iter()
        .enumerate()
        .map(|(i, d)| ProposedAction {
            key: ActionKey::proposed(i + 1),
            kind: d.kind,
            summary: d.summary,
            rationale: d.rationale,
            origin: Origin::Proposed,
        })
        .collect()
}

/// Money refunded, and monthly recurring revenue lost (subscriptions the
/// proposals cancel) and kept (every other live subscription not already set
/// to end), if every proposal ran. One `Money` per currency, sorted by
/// currency, zero totals left out: currencies are never summed together.
pub fn revenue_impact(actions: &[ProposedAction], snapshot: &BillingSnapshot) -> RevenueImpact {
    let mut refunded = Totals::default();
    let mut canceled: BTreeSet<&SubscriptionId> = BTreeSet::new();
    for action in actions {
        match &action.kind {
            ActionKind::Refund(target) => refunded.add(target.amount),
            ActionKind::CancelDuplicate {
                subscription,
                refunds,
            } => {
                canceled.insert(subscription);
                refunds.iter().for_each(|r| refunded.add(r.amount));
            }
            ActionKind::CancelSubscription { subscription, .. } => {
                canceled.insert(subscription);
            }
            // Collection paused or resumed: the subscription and its MRR stay.
            ActionKind::PauseCollection { .. }
            | ActionKind::PortalLink { .. }
            | ActionKind::InvoiceLink { .. }
            | ActionKind::ClarifyBillingModel
            | ActionKind::CloseNoAction => {}
        }
    }
    let (mut lost, mut kept) = (Totals::default(), Totals::default());
    for sub in snapshot.subscriptions().filter(|s| s.status.is_live()) {
        let Some(mrr) = sub.mrr() else { continue };
        if canceled.contains(&sub.id) {
            lost.add(mrr);
        } else if !sub.cancel_at_period_end {
            kept.add(mrr);
        }
    }
    RevenueImpact {
        refunded: refunded.into_vec(),
        mrr_lost: lost.into_vec(),
        mrr_kept: kept.into_vec(),
    }
}

/// An action before it gets its key.
struct Draft {
    kind: ActionKind,
    summary: String,
    rationale: String,
}

/// Sums per currency, so that EUR and JPY are never added together.
#[derive(Default)]
struct Totals(BTreeMap<Currency, i64>);

impl Totals {
    fn add(&mut self, money: Money) {
        *self.0.entry(money.currency).or_default() += money.minor;
    }

    fn into_vec(self) -> Vec<Money> {
        self.0
            .into_iter()
            .filter(|&(_, minor)| minor != 0)
            .map(|(c, minor)| Money::new(minor, c))
            .collect()
    }
}

fn portal(customer: &CustomerId, why: &str) -> Draft {
    Draft {
        kind: ActionKind::PortalLink {
            customer: customer.clone(),
        },
        summary: format!("Create a billing-portal link for {customer}"),
        rationale: format!("A portal link is the smallest reversible step: it {why}"),
    }
}

fn propose_duplicate(snapshot: &BillingSnapshot, fallback: &CustomerId, drafts: &mut Vec<Draft>) {
    let duplicates = triage::duplicates(snapshot);
    let customer = duplicates.first().map_or(fallback, |d| &d.kept.customer);
    drafts.push(portal(
        customer,
        "lets the customer see and manage the subscription they keep",
    ));
    for duplicate in &duplicates {
        let extra = duplicate.extra;
        let refunds: Vec<RefundTarget> = charges_of(snapshot, extra)
            .map(|c| RefundTarget {
                charge: c.id.clone(),
                amount: c.refundable(),
            })
            .collect();
        let unlinked = snapshot.charges().any(|c| {
            c.invoice_unknown
                && c.status == ChargeStatus::Succeeded
                && c.customer.as_ref() == Some(&extra.customer)
                && c.created >= extra.created
        });
        let what = match refunds.as_slice() {
            // Stripe's lists could not tell which charge paid it: say so,
            // never that there is none.
            [] if unlinked => " (which of the customer's charges paid it could not be told: check its invoices in Stripe and refund from More actions…)".to_owned(),
            [] => " (it has no charge to refund)".to_owned(),
            [one] => format!(" and refund its charge {} ({})", one.charge, one.amount),
            many => format!(" and refund its charges {}", list_refunds(many)),
        };
        let summary = format!(
            "Cancel {} now{what}: created {}",
            extra.id,
            duplicate.timing()
        );
        let undo = if refunds.is_empty() {
            "cancelling it"
        } else {
            "cancelling it and returning what it charged"
        };
        drafts.push(Draft {
            kind: ActionKind::CancelDuplicate {
                subscription: extra.id.clone(),
                refunds,
            },
            summary,
            rationale: format!(
                "{} duplicates {} for the same person, so {undo} undoes the double purchase",
                extra.id, duplicate.kept.id
            ),
        });
    }
}

fn propose_failed_payment(
    snapshot: &BillingSnapshot,
    fallback: &CustomerId,
    drafts: &mut Vec<Draft>,
) {
    let invoice = triage::open_invoice(snapshot);
    if let Some(invoice) = invoice {
        drafts.push(Draft {
            kind: ActionKind::InvoiceLink { invoice: invoice.id.clone() },
            summary: format!("Send the hosted page of {} ({} due)", invoice.id, invoice.amount_due),
            rationale: "The hosted invoice page lets the customer pay with a working card, needs no login and does not expire soon".to_owned(),
        });
    }
    let customer = invoice.map_or(fallback, |i| &i.customer);
    drafts.push(portal(
        customer,
        "lets the customer replace the failing payment method before the next attempt",
    ));
}

fn propose_self_serve(
    snapshot: &BillingSnapshot,
    signals: &[Signal],
    customer: &CustomerId,
    drafts: &mut Vec<Draft>,
) {
    drafts.push(portal(
        customer,
        "gives the customer the control they asked for",
    ));
    if signals.contains(&Signal::AsksForInvoice) {
        let invoice = snapshot
            .invoices()
            .filter(|i| matches!(i.status, InvoiceStatus::Open | InvoiceStatus::Paid))
            .max_by_key(|i| i.created);
        if let Some(invoice) = invoice {
            drafts.push(Draft {
                kind: ActionKind::InvoiceLink {
                    invoice: invoice.id.clone(),
                },
                summary: format!(
                    "Send the hosted page of {} ({})",
                    invoice.id, invoice.amount_due
                ),
                rationale:
                    "The customer asked for an invoice and the hosted page lets them download it"
                        .to_owned(),
            });
        }
    }
    // "Cancel" proposed only when asked for and not refused in the same
    // message, and only when the lookup found one customer: with several
    // sharing an email, which account the customer means is the operator's call.
    // Not beside a card to change either: "the bank cancelled my card", "I'm
    // cancelling that Visa, how do I put the new one in" speak of the card,
    // and the portal (proposed above) lets them do either themselves.
    if signals.contains(&Signal::AsksHowToCancel)
        && !signals.contains(&Signal::AsksToUpdateCard)
        && !signals.contains(&Signal::DeclinesCancel)
        && snapshot.customers.len() == 1
    {
        let renewing = snapshot
            .subscriptions()
            .filter(|s| s.status.is_live() && !s.cancel_at_period_end);
        for sub in renewing {
            drafts.push(Draft {
                kind: ActionKind::CancelSubscription { subscription: sub.id.clone(), at_period_end: true },
                summary: format!("Cancel {} at the end of its period{}", sub.id, period_end_note(sub)),
                rationale: "The customer asked to cancel, and ending at the period's close keeps what they paid for and can still be undone".to_owned(),
            });
        }
    }
    if signals.contains(&Signal::AsksToChangePlan) {
        drafts.push(Draft {
            kind: ActionKind::ClarifyBillingModel,
            summary: "Explain the plans and how a change is prorated".to_owned(),
            rationale: "The customer asked to change plan, and knowing how proration works lets them choose".to_owned(),
        });
    }
}

fn propose_product_failure(
    snapshot: &BillingSnapshot,
    signals: &[Signal],
    customer: &CustomerId,
    now: i64,
    drafts: &mut Vec<Draft>,
) {
    drafts.push(portal(
        customer,
        "lets the customer check their billing and cancel themselves if they choose",
    ));
    // A refund needs the state's support: the charge after the cancellation,
    // the renewal the customer did not expect, or the latest period of a
    // stated outage or bug. A disputed charge is never refunded (the dispute
    // already returns the money), and a customer who says they want no refund
    // gets none.
    if signals.contains(&Signal::DeclinesRefund) {
        return;
    }
    let after_cancel = triage::broken_trust_after_cancel(snapshot, signals);
    if !after_cancel.is_empty() {
        for after in after_cancel
            .iter()
            .filter(|a| !a.charge.disputed && a.charge.refundable().minor > 0)
        {
            drafts.push(Draft {
                kind: ActionKind::Refund(RefundTarget {
                    charge: after.charge.id.clone(),
                    amount: after.charge.refundable(),
                }),
                summary: format!(
                    "Refund {} {}: charged {} after {} was canceled",
                    after.charge.id,
                    after.charge.refundable(),
                    triage::gap(after.charge.created - after.canceled_at),
                    after.canceled.id
                ),
                rationale: "The subscription was canceled, so this charge should not have happened"
                    .to_owned(),
            });
        }
        return;
    }
    if snapshot.charges().any(|c| c.disputed) {
        return;
    }
    // A renewal the customer believed cancelled, with no cancellation on
    // record, was due: refunding it is a person's call.
    let renewal = triage::recent_annual_renewal(snapshot, now).filter(|_| {
        signals.contains(&Signal::SurpriseRenewal) && !triage::believes_cancelled(snapshot, signals)
    });
    if let Some(charge) = renewal.filter(|c| c.amount_refunded == 0) {
        drafts.push(Draft {
            kind: ActionKind::Refund(RefundTarget { charge: charge.id.clone(), amount: charge.refundable() }),
            summary: format!("Refund {} {}: the yearly renewal charged {} ago", charge.id, charge.refundable(), triage::gap(now - charge.created)),
            rationale: "The customer did not expect the renewal and it is days old: refunding it restores trust at the cost of service not yet delivered".to_owned(),
        });
        return;
    }
    // A stated outage or bug is read from words alone, so a refund also
    // needs the customer to ask for money back.
    // Never on a team's seats (corpus rule 13): which seats the outage cost,
    // and how much of them, is a person's call, not the latest charge's.
    let problem = (signals.contains(&Signal::ReportsOutage)
        || signals.contains(&Signal::ReportsBug))
        && signals.contains(&Signal::WantsRefund)
        && !triage::is_team(snapshot);
    // Only the latest period: if it is already refunded, nothing older is.
    let latest = snapshot
        .charges()
        .filter(|c| c.status == ChargeStatus::Succeeded)
        .max_by_key(|c| (c.created, c.id.as_str()))
        .filter(|c| problem && !c.disputed && c.amount_refunded == 0);
    if let Some(charge) = latest {
        drafts.push(Draft {
            kind: ActionKind::Refund(RefundTarget { charge: charge.id.clone(), amount: charge.refundable() }),
            summary: format!("Refund {} {}: the latest charge, {} ago", charge.id, charge.refundable(), triage::gap(now - charge.created)),
            rationale: "Refunding only the latest period repairs trust without giving back service already delivered".to_owned(),
        });
    }
}

/// Succeeded, undisputed charges with something left to refund that paid an
/// invoice of `sub`, oldest first.
fn charges_of<'a>(
    snapshot: &'a BillingSnapshot,
    sub: &'a Subscription,
) -> impl Iterator<Item = &'a Charge> {
    let mut charges: Vec<&Charge> = snapshot
        .charges()
        .filter(|c| c.status == ChargeStatus::Succeeded && !c.disputed && c.refundable().minor > 0)
        .filter(|c| {
            triage::invoice_of(snapshot, c)
                .is_some_and(|i| i.subscription.as_ref() == Some(&sub.id))
        })
        .collect();
    charges.sort_by_key(|c| (c.created, c.id.as_str()));
    charges.into_iter()
}

fn list_refunds(refunds: &[RefundTarget]) -> String {
    refunds
        .iter()
        .map(|r| format!("{} ({})", r.charge, r.amount))
        .collect::<Vec<_>>()
        .join(", ")
}

fn period_end_note(sub: &Subscription) -> String {
    let date = sub
        .current_period_end
        .and_then(|end| time::OffsetDateTime::from_unix_timestamp(end).ok());
    date.map_or_else(String::new, |d| format!(", {}", d.date()))
}
