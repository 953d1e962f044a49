//! "More actions…": what an operator may choose beyond the proposals, and
//! whether a choice may be put on the card. Pure: the case, its stored action
//! states and the time come in; a typed action or the reason it is refused
//! goes out. A chosen action then goes through exactly the same policy,
//! execution and audit as a proposal; only its [`Origin`] differs.
//!
//! May be chosen: a refund (all that is left, or part) of any refundable
//! charge of the case's customers, the cancellation of any live
//! subscription now or at the end of its period, a billing-portal link for
//! a customer, the hosted page of an invoice. Refused: a disputed charge,
//! more than is left, another currency, anything not of this case's
//! customers, a subscription that is not live, and a duplicate of an
//! action still pending on the same target.

pub use crate::domain::choice::{CaseChoice, Choice};
use crate::domain::{
    ActionKey, ActionKind, ActionStatus, Case, Charge, ChargeId, ChargeStatus, Currency,
    CustomerId, InvoiceId, Money, Origin, Pause, PauseBehavior, ProposedAction, RefundTarget,
    SlackUserId, Subscription, SubscriptionId,
};
use crate::policy::RETRY_WINDOW_SECS;
use std::fmt;

impl Choice {
    /// What the menu says: the target and what is left or due.
    pub fn label(&self, case: &Case, statuses: &[(ActionKey, ActionStatus)]) -> String {
        match self {
            Self::Refund { charge, .. } => {
                match case.snapshot.charges().find(|c| &c.id == charge) {
                    Some(c) => format!(
                        "Refund {charge} ({} left)…",
                        left_to_refund(case, statuses, c)
                    ),
                    None => format!("Refund {charge}…"),
                }
            }
            Self::Cancel { subscription, .. } => format!("Cancel {subscription}…"),
            Self::PauseCollection {
                subscription,
                pause: Some(_),
            } => format!("Pause collecting payment on {subscription}…"),
            Self::PauseCollection { subscription, .. } => {
                format!("Resume collecting payment on {subscription}")
            }
            Self::PortalLink { customer } => format!("Billing-portal link for {customer}"),
            Self::InvoiceLink { invoice } => {
                match case.snapshot.invoices().find(|i| &i.id == invoice) {
                    Some(i) => format!("Hosted page of {invoice} ({} due)", i.amount_due),
                    None => format!("Hosted page of {invoice}"),
                }
            }
        }
    }
}

/// Why a choice is not put on the card; `Display` is the operator's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceRefusal {
    #[error(
        "{0} is not a charge of this case's customers; only their charges can be refunded here"
    )]
    NotThisCasesCharge(ChargeId),
    #[error("{0} is not a subscription of this case's customers")]
    NotThisCasesSubscription(SubscriptionId),
    #[error("{0} is not a customer of this case")]
    NotThisCasesCustomer(CustomerId),
    #[error("{0} is not an invoice of this case's customers")]
    NotThisCasesInvoice(InvoiceId),
    #[error("{0} is disputed: Stripe does not refund a disputed charge; answer the dispute in the Stripe dashboard instead")]
    Disputed(ChargeId),
    #[error("{0} was not paid, so there is nothing to refund")]
    NotPaid(ChargeId),
    #[error("{charge} has {left} left to refund; {asked} is more than that")]
    MoreThanLeft {
        charge: ChargeId,
        asked: Money,
        left: Money,
    },
    #[error("{asked} is not in the currency of {charge} ({currency})")]
    OtherCurrency {
        charge: ChargeId,
        asked: Money,
        currency: Currency,
    },
    #[error("A refund must be more than zero")]
    NotPositive,
    #[error("{subscription} is {status}, not live: there is nothing to cancel")]
    NotLive {
        subscription: SubscriptionId,
        status: &'static str,
    },
    #[error("{0} is already set to cancel at the end of its period")]
    AlreadyEnding(SubscriptionId),
    #[error("{0} has no hosted page to send")]
    NoHostedPage(InvoiceId),
    #[error("collection on {0} is already paused; resume it instead")]
    AlreadyPaused(SubscriptionId),
    #[error("collection on {0} is not paused, so there is nothing to resume")]
    NotPaused(SubscriptionId),
    #[error("the resume date must be in the future")]
    ResumeNotAhead,
    #[error(
        "{key} is already pending on {target}: approve or reject it instead of choosing it again"
    )]
    Duplicate { key: ActionKey, target: Target },
}

/// What an action acts on, for the duplicate check: two pending actions
/// never do the same kind of thing to the same object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    RefundOf(ChargeId),
    CancelOf(SubscriptionId),
    CollectionOf(SubscriptionId),
    PortalFor(CustomerId),
    PageOf(InvoiceId),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RefundOf(charge) => write!(f, "a refund of {charge}"),
            Self::CancelOf(subscription) => write!(f, "the cancellation of {subscription}"),
            Self::CollectionOf(subscription) => write!(f, "the collection of {subscription}"),
            Self::PortalFor(customer) => write!(f, "a portal link for {customer}"),
            Self::PageOf(invoice) => write!(f, "the page of {invoice}"),
        }
    }
}

/// The targets of an action kind.
pub fn targets(kind: &ActionKind) -> Vec<Target> {
    match kind {
        ActionKind::Refund(target) => vec![Target::RefundOf(target.charge.clone())],
        ActionKind::CancelDuplicate {
            subscription,
            refunds,
        } => std::iter::once(Target::CancelOf(subscription.clone()))
            .chain(refunds.iter().map(|r| Target::RefundOf(r.charge.clone())))
            .collect(),
        ActionKind::CancelSubscription { subscription, .. } => {
            vec![Target::CancelOf(subscription.clone())]
        }
        ActionKind::PauseCollection { subscription, .. } => {
            vec![Target::CollectionOf(subscription.clone())]
        }
        ActionKind::PortalLink { customer } => vec![Target::PortalFor(customer.clone())],
        ActionKind::InvoiceLink { invoice } => vec![Target::PageOf(invoice.clone())],
        ActionKind::ClarifyBillingModel | ActionKind::CloseNoAction => Vec::new(),
    }
}

/// Still to be decided or running: proposed and not expired, executing,
/// being checked with Stripe, or failed and still approvable again.
pub fn is_pending(status: &ActionStatus, now: i64) -> bool {
    match status {
        ActionStatus::Proposed { expires_at, .. } => now <= *expires_at,
        ActionStatus::Executing { .. } | ActionStatus::Verifying { .. } => true,
        ActionStatus::Failed { at, .. } => now <= at + RETRY_WINDOW_SECS,
        ActionStatus::Succeeded { .. }
        | ActionStatus::Rejected { .. }
        | ActionStatus::Expired { .. } => false,
    }
}

/// Checks `choice` against the case (its snapshot and its actions' stored
/// states) and returns the action kind to put on the card.
///
/// # Errors
/// The reason the choice is refused.
pub fn validate(
    case: &Case,
    statuses: &[(ActionKey, ActionStatus)],
    choice: &Choice,
    now: i64,
) -> Result<ActionKind, ChoiceRefusal> {
    let kind = match choice {
        Choice::Refund { charge, amount } => refund(case, statuses, charge, *amount)?,
        Choice::Cancel {
            subscription,
            at_period_end,
        } => cancel(case, subscription, *at_period_end)?,
        Choice::PauseCollection {
            subscription,
            pause,
        } => pause_collection(case, subscription, *pause, now)?,
        Choice::PortalLink { customer } => {
            if !case.snapshot.customers.iter().any(|c| &c.id == customer) {
                return Err(ChoiceRefusal::NotThisCasesCustomer(customer.clone()));
            }
            ActionKind::PortalLink {
                customer: customer.clone(),
            }
        }
        Choice::InvoiceLink { invoice } => {
            let found = case.snapshot.invoices().find(|i| &i.id == invoice);
            match found {
                None => return Err(ChoiceRefusal::NotThisCasesInvoice(invoice.clone())),
                Some(i) if i.hosted_invoice_url.is_none() => {
                    return Err(ChoiceRefusal::NoHostedPage(invoice.clone()))
                }
                Some(_) => ActionKind::InvoiceLink {
                    invoice: invoice.clone(),
                },
            }
        }
    };
    let wanted = targets(&kind);
    let status_of = |key: &ActionKey| statuses.iter().find(|(k, _)| k == key).map(|(_, s)| s);
    for action in &case.actions {
        if !status_of(&action.key).is_some_and(|s| is_pending(s, now)) {
            continue;
        }
        if let Some(target) = targets(&action.kind)
            .into_iter()
            .find(|t| wanted.contains(t))
        {
            return Err(ChoiceRefusal::Duplicate {
                key: action.key.clone(),
                target,
            });
        }
    }
    Ok(kind)
}

/// What is left to refund on `charge` as far as the case knows: the
/// snapshot's figure, less what this case's actions have refunded since
/// (their full amounts: an upper bound). Stripe's own figure is checked
/// again right before the refund.
pub fn left_to_refund(
    case: &Case,
    statuses: &[(ActionKey, ActionStatus)],
    charge: &Charge,
) -> Money {
    let refunded_since: i64 = case
        .actions
        .iter()
        .filter(|a| {
            statuses
                .iter()
                .any(|(k, s)| k == &a.key && matches!(s, ActionStatus::Succeeded { .. }))
        })
        .flat_map(|a| match &a.kind {
            ActionKind::Refund(t) => vec![t.clone()],
            ActionKind::CancelDuplicate { refunds, .. } => refunds.clone(),
            _ => Vec::new(),
        })
        .filter(|t| t.charge == charge.id && t.amount.currency == charge.amount.currency)
        .map(|t| t.amount.minor)
        .sum();
    let left = charge.refundable();
    left.with_minor((left.minor - refunded_since).max(0))
}

fn refund(
    case: &Case,
    statuses: &[(ActionKey, ActionStatus)],
    charge_id: &ChargeId,
    amount: Option<Money>,
) -> Result<ActionKind, ChoiceRefusal> {
    let charge = case
        .snapshot
        .charges()
        .find(|c| &c.id == charge_id)
        .ok_or_else(|| ChoiceRefusal::NotThisCasesCharge(charge_id.clone()))?;
    let left = left_to_refund(case, statuses, charge);
    let asked = amount.unwrap_or(left);
    refundable(charge, asked, left)?;
    Ok(ActionKind::Refund(RefundTarget {
        charge: charge_id.clone(),
        amount: asked,
    }))
}

/// Whether `asked` may be refunded on `charge` with `left` still to
/// refund: not disputed, paid, in its currency, more than nothing and at
/// most `left`. The one check behind a choice (with what the case knows is
/// left) and behind every refund step right before Stripe (with what
/// Stripe says is left, `plan::refund_refusal`).
///
/// # Errors
/// The first rule `asked` breaks, in that order.
pub fn refundable(charge: &Charge, asked: Money, left: Money) -> Result<(), ChoiceRefusal> {
    let id = &charge.id;
    if charge.disputed {
        return Err(ChoiceRefusal::Disputed(id.clone()));
    }
    if charge.status != ChargeStatus::Succeeded {
        return Err(ChoiceRefusal::NotPaid(id.clone()));
    }
    if asked.currency != charge.amount.currency {
        return Err(ChoiceRefusal::OtherCurrency {
            charge: id.clone(),
            asked,
            currency: charge.amount.currency,
        });
    }
    if asked.minor > left.minor {
        return Err(ChoiceRefusal::MoreThanLeft {
            charge: id.clone(),
            asked,
            left,
        });
    }
    if asked.minor <= 0 {
        return Err(ChoiceRefusal::NotPositive);
    }
    Ok(())
}

/// The case's subscription `subscription`, if it is live.
fn live_subscription<'a>(
    case: &'a Case,
    subscription: &SubscriptionId,
) -> Result<&'a Subscription, ChoiceRefusal> {
    let sub = case
        .snapshot
        .subscriptions()
        .find(|s| &s.id == subscription)
        .ok_or_else(|| ChoiceRefusal::NotThisCasesSubscription(subscription.clone()))?;
    if !sub.status.is_live() {
        return Err(ChoiceRefusal::NotLive {
            subscription: subscription.clone(),
            status: sub.status.as_str(),
        });
    }
    Ok(sub)
}

fn cancel(
    case: &Case,
    subscription: &SubscriptionId,
    at_period_end: bool,
) -> Result<ActionKind, ChoiceRefusal> {
    let sub = live_subscription(case, subscription)?;
    if at_period_end && sub.cancel_at_period_end {
        return Err(ChoiceRefusal::AlreadyEnding(subscription.clone()));
    }
    Ok(ActionKind::CancelSubscription {
        subscription: subscription.clone(),
        at_period_end,
    })
}

/// A pause of a live subscription's collection that is not paused, with
/// a resume date ahead of `now`; or the resume of a paused one.
fn pause_collection(
    case: &Case,
    subscription: &SubscriptionId,
    pause: Option<Pause>,
    now: i64,
) -> Result<ActionKind, ChoiceRefusal> {
    let sub = live_subscription(case, subscription)?;
    match (pause, sub.pause_collection) {
        (Some(_), Some(_)) => return Err(ChoiceRefusal::AlreadyPaused(subscription.clone())),
        (None, None) => return Err(ChoiceRefusal::NotPaused(subscription.clone())),
        (
            Some(Pause {
                resumes_at: Some(at),
                ..
            }),
            None,
        ) if at <= now => return Err(ChoiceRefusal::ResumeNotAhead),
        _ => {}
    }
    Ok(ActionKind::PauseCollection {
        subscription: subscription.clone(),
        pause,
    })
}

/// The action put on the card for a validated choice: keyed `c1`, `c2`, …
/// (apart from the bot's `a…` keys, so a re-triage never reuses one),
/// marked as chosen by `chooser`.
pub fn chosen_action(case: &Case, kind: ActionKind, chooser: &SlackUserId) -> ProposedAction {
    let n = case
        .actions
        .iter()
        .filter_map(|a| a.key.as_str().strip_prefix('c')?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let summary = match &kind {
        ActionKind::Refund(target) => {
            let whole = case
                .snapshot
                .charges()
                .find(|c| c.id == target.charge)
                .map(|c| c.amount);
            match whole {
                Some(whole) if whole != target.amount => {
                    format!(
                        "Refund {} of {} ({whole} charged)",
                        target.amount, target.charge
                    )
                }
                _ => format!("Refund {} {}", target.charge, target.amount),
            }
        }
        ActionKind::CancelSubscription {
            subscription,
            at_period_end: true,
        } => format!("Cancel {subscription} at the end of its period"),
        ActionKind::CancelSubscription { subscription, .. } => {
            format!("Cancel {subscription} now")
        }
        ActionKind::PortalLink { customer } => {
            format!("Create a billing-portal link for {customer}")
        }
        ActionKind::InvoiceLink { invoice } => format!("Send the hosted page of {invoice}"),
        ActionKind::PauseCollection {
            subscription,
            pause: Some(pause),
        } => pause_summary(subscription, pause),
        ActionKind::PauseCollection { subscription, .. } => {
            format!("Resume collecting payment on {subscription}")
        }
        other => other.name().to_owned(),
    };
    ProposedAction {
        key: ActionKey::chosen(n as usize),
        kind,
        summary,
        rationale: "Chosen by an operator, not proposed by the bot; it needs the same approvals as a proposal".to_owned(),
        origin: Origin::ChosenBy(chooser.clone()),
    }
}

/// "Pause collecting payment on sub_… (invoices kept as drafts) until
/// 2027-01-01".
pub fn pause_summary(subscription: &SubscriptionId, pause: &Pause) -> String {
    format!(
        "Pause collecting payment on {subscription} {}",
        pause.terms()
    )
}

/// Every choice the case's snapshot offers that would be accepted now, in
/// card order: refunds, cancellations, portal links, invoice pages. A
/// refund and a cancellation are offered once each; the amount and the
/// timing are asked for afterwards.
pub fn menu(case: &Case, statuses: &[(ActionKey, ActionStatus)], now: i64) -> Vec<Choice> {
    let snapshot = &case.snapshot;
    let refunds = snapshot.charges().map(|c| Choice::Refund {
        charge: c.id.clone(),
        amount: None,
    });
    // Offered when either timing would be accepted.
    let cancels = snapshot.subscriptions().flat_map(|s| {
        [false, true].map(|at_period_end| Choice::Cancel {
            subscription: s.id.clone(),
            at_period_end,
        })
    });
    // A pause (its terms asked for afterwards) or a resume, whichever the
    // subscription's collection allows.
    let pauses = snapshot.subscriptions().flat_map(|s| {
        [
            Choice::PauseCollection {
                subscription: s.id.clone(),
                pause: Some(Pause {
                    behavior: PauseBehavior::KeepAsDraft,
                    resumes_at: None,
                }),
            },
            Choice::PauseCollection {
                subscription: s.id.clone(),
                pause: None,
            },
        ]
    });
    let portals = snapshot.customers.iter().map(|c| Choice::PortalLink {
        customer: c.id.clone(),
    });
    let pages = snapshot.invoices().map(|i| Choice::InvoiceLink {
        invoice: i.id.clone(),
    });
    let mut out: Vec<Choice> = Vec::new();
    for choice in refunds
        .chain(cancels)
        .chain(pauses)
        .chain(portals)
        .chain(pages)
    {
        if validate(case, statuses, &choice, now).is_err() {
            continue;
        }
        let choice = match choice {
            Choice::Cancel { subscription, .. } => Choice::Cancel {
                subscription,
                at_period_end: false,
            },
            other => other,
        };
        if !out.contains(&choice) {
            out.push(choice);
        }
    }
    out
}

#[cfg(test)]
mod tests;
