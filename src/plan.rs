//! The fixed plan of an action's Stripe steps, and what Stripe's state says
//! about them. Pure: `workflow::execute` runs the plan and fetches the charge
//! or subscription, this module decides.
//!
//! - A [`Plan`] fixes every Stripe request of an approved action (amount,
//!   metadata, idempotency key) when its write-ahead intent is written, so
//!   every retry of that attempt sends the identical request under the same
//!   key, whoever clicked. A new attempt (after Stripe confirmed the last one
//!   did nothing) keeps the parameters and changes only the keys.
//! - Work is ours only when its Stripe metadata names this case, action and
//!   step ([`is_ours`]); never by amount or time. Refunds made by anyone else
//!   are reported as such, and what is left to refund comes from Stripe.

use crate::actions::choose::{refundable, ChoiceRefusal};
pub use crate::domain::plan::{
    idempotency_key, Plan, PlannedStep, Step, StepName, StepNameError, StepState,
};
use crate::domain::Pause;
use crate::domain::{
    ActionKey, ActionKind, CaseId, Charge, ChargeId, Money, ProposedAction, Refund, RefundTarget,
    SlackUserId, Subscription, SubscriptionId, SubscriptionStatus,
};
use std::collections::BTreeMap;

/// The plan of an action's first attempt. `amount` overrides a refund's
/// amount (a partial refund); actions with no Stripe write have no steps.
pub fn plan(
    case: &CaseId,
    action: &ProposedAction,
    approved_by: &[SlackUserId],
    amount: Option<Money>,
) -> Plan {
    let steps = match &action.kind {
        ActionKind::Refund(target) => {
            vec![refund_step(&target.charge, amount.unwrap_or(target.amount))]
        }
        ActionKind::CancelDuplicate {
            subscription,
            refunds,
        } => cancel_duplicate_steps(subscription, refunds),
        ActionKind::CancelSubscription {
            subscription,
            at_period_end,
        } => vec![cancel_step(subscription, *at_period_end)],
        ActionKind::PortalLink { customer } => vec![Step::PortalSession {
            customer: customer.clone(),
        }],
        ActionKind::PauseCollection {
            subscription,
            pause,
        } => vec![Step::PauseCollection {
            subscription: subscription.clone(),
            pause: *pause,
        }],
        ActionKind::InvoiceLink { .. }
        | ActionKind::ClarifyBillingModel
        | ActionKind::CloseNoAction => Vec::new(),
    };
    let approvers = approved_by
        .iter()
        .map(SlackUserId::as_str)
        .collect::<Vec<_>>()
        .join(",");
    let steps = steps
        .into_iter()
        .map(|step| {
            let name = step.name();
            let metadata = BTreeMap::from([
                ("case_id".to_owned(), case.to_string()),
                ("action".to_owned(), action.key.to_string()),
                ("step".to_owned(), name.to_string()),
                ("approved_by".to_owned(), approvers.clone()),
            ]);
            PlannedStep {
                idempotency_key: idempotency_key(case, &action.key, &name, 1),
                name,
                step,
                metadata,
            }
        })
        .collect();
    Plan {
        v: Plan::VERSION,
        attempt: 1,
        approved_by: approved_by.to_vec(),
        steps,
    }
}

fn refund_step(charge: &ChargeId, amount: Money) -> Step {
    Step::Refund {
        charge: charge.clone(),
        amount,
    }
}

fn cancel_step(subscription: &SubscriptionId, at_period_end: bool) -> Step {
    Step::Cancel {
        subscription: subscription.clone(),
        at_period_end,
    }
}

/// The duplicate fix: the cancellation first, then each refund.
fn cancel_duplicate_steps(subscription: &SubscriptionId, refunds: &[RefundTarget]) -> Vec<Step> {
    std::iter::once(cancel_step(subscription, false))
        .chain(refunds.iter().map(|t| refund_step(&t.charge, t.amount)))
        .collect()
}

/// A step's current state on Stripe, as [`observe`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// Stripe has this step's work (by its metadata): the object id, for
    /// a refund the amount Stripe refunded, and the approvers its metadata
    /// names (the run that sent it; a record lost in Redis is rebuilt from
    /// them, not from whoever clicked now).
    Ours {
        id: String,
        amount: Option<Money>,
        approved_by: Vec<SlackUserId>,
    },
    /// Not done (yet). `proceed` is an error when the step must not be sent
    /// (a refund larger than what Stripe says is left); `others` names work
    /// someone else did on the same object (refunds from the dashboard or
    /// another case).
    Absent {
        proceed: Result<(), String>,
        others: Vec<String>,
    },
    /// Already true on Stripe, done by someone else (a canceled subscription).
    DoneByOthers(String),
}

/// What `state`, read from Stripe right now, says about `planned`, a step
/// of `case`'s `action`: ours only by its metadata, never by amount or time.
pub fn observe(
    planned: &PlannedStep,
    state: &StepState,
    case: &CaseId,
    action: &ActionKey,
) -> Observed {
    let name = &planned.name;
    let absent =
        |proceed: Result<(), String>, others: Vec<String>| Observed::Absent { proceed, others };
    match (&planned.step, state) {
        (Step::Refund { charge, amount }, StepState::Charge(current)) => {
            let check = check_refund(current, case, action, name);
            if let Some(ours) = check.ours {
                return Observed::Ours {
                    id: ours.id.to_string(),
                    amount: Some(ours.amount),
                    approved_by: approvers_in(&ours.metadata),
                };
            }
            let proceed = match refund_refusal(current, *amount) {
                Some(refusal) => Err(refusal),
                None => Ok(()),
            };
            absent(proceed, check.others_text(charge))
        }
        (
            Step::Cancel {
                subscription,
                at_period_end,
            },
            StepState::Subscription(sub),
        ) => match check_cancel(sub, case, action, name, *at_period_end) {
            SubscriptionCheck::Ours => Observed::Ours {
                id: subscription.to_string(),
                amount: None,
                approved_by: approvers_in(&sub.metadata),
            },
            SubscriptionCheck::ByOthers => Observed::DoneByOthers(format!(
                "{subscription} is canceled on Stripe, but not with this action's metadata (canceled elsewhere)"
            )),
            SubscriptionCheck::NotDone => absent(Ok(()), Vec::new()),
        },
        (
            Step::PauseCollection {
                subscription,
                pause,
            },
            StepState::Subscription(sub),
        ) => match check_pause(sub, case, action, name, *pause) {
            SubscriptionCheck::Ours => Observed::Ours {
                id: subscription.to_string(),
                amount: None,
                approved_by: approvers_in(&sub.metadata),
            },
            SubscriptionCheck::ByOthers => Observed::DoneByOthers(format!(
                "{subscription}'s collection on Stripe is already as this action sets it, but not with its metadata (changed elsewhere)"
            )),
            SubscriptionCheck::NotDone => absent(Ok(()), Vec::new()),
        },
        // A session is new each time: nothing to find on Stripe.
        (Step::PortalSession { .. }, _) => absent(Ok(()), Vec::new()),
        (step, _) => absent(
            Err(format!(
                "Stripe's answer about {} is not the object the step changes, so nothing was sent",
                step.target()
            )),
            Vec::new(),
        ),
    }
}

/// The line the card and the approver read for a step Stripe confirmed:
/// `id` is what Stripe made or changed, `refunded` Stripe's own amount when
/// known. `None` for a step that leaves no line (a portal session).
pub fn done_note(step: &Step, id: &str, refunded: Option<Money>) -> Option<String> {
    match step {
        Step::Refund { charge, amount } => {
            let amount = refunded.unwrap_or(*amount);
            Some(format!("refunded {id} ({amount} of {charge})"))
        }
        Step::Cancel {
            subscription,
            at_period_end: true,
        } => Some(format!("{subscription} set to cancel at period end")),
        Step::Cancel { subscription, .. } => Some(format!("{subscription} canceled")),
        Step::PauseCollection {
            subscription,
            pause: Some(_),
        } => Some(format!("{subscription} collection paused")),
        Step::PauseCollection { subscription, .. } => {
            Some(format!("{subscription} collection resumed"))
        }
        Step::PortalSession { .. } => None,
    }
}

/// The approvers Stripe's metadata names (`approved_by`, comma-separated
/// as [`plan`] wrote it); what is not a Slack user id is left out.
pub fn approvers_in(metadata: &BTreeMap<String, String>) -> Vec<SlackUserId> {
    metadata
        .get("approved_by")
        .map(|all| {
            all.split(',')
                .filter_map(|id| SlackUserId::parse(id.trim()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Stripe metadata names this case, action and step: the only proof that
/// a refund or cancellation is ours.
pub fn is_ours(
    metadata: &BTreeMap<String, String>,
    case: &CaseId,
    action: &ActionKey,
    step: &StepName,
) -> bool {
    let is = |k: &str, v: &str| metadata.get(k).is_some_and(|m| m == v);
    is("case_id", case.as_str()) && is("action", action.as_str()) && is("step", &step.to_string())
}

/// What a charge, read from Stripe, says about one refund step.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundCheck {
    /// The refund this step made, if Stripe has it.
    pub ours: Option<Refund>,
    /// Refunds on the charge that this step did not make (the dashboard,
    /// another case, another step), newest first.
    pub others: Vec<Refund>,
    /// What Stripe says is left to refund.
    pub left: Money,
}

/// Reads `charge` for the refund step `step` of `case`/`action`.
pub fn check_refund(
    charge: &Charge,
    case: &CaseId,
    action: &ActionKey,
    step: &StepName,
) -> RefundCheck {
    let live = |r: &&Refund| !matches!(r.status.as_str(), "failed" | "canceled");
    let ours = charge
        .refunds
        .iter()
        .filter(live)
        .find(|r| is_ours(&r.metadata, case, action, step))
        .cloned();
    let others = charge
        .refunds
        .iter()
        .filter(live)
        .filter(|r| ours.as_ref().is_none_or(|o| o.id != r.id))
        .cloned()
        .collect();
    RefundCheck {
        ours,
        others,
        left: charge.refundable(),
    }
}

/// Why a refund of `amount` on `charge` must not be sent, from Stripe's
/// state read right before it: a disputed charge (the dispute already
/// returns the money, and a refund would pay it twice), a charge that was
/// not paid, or more than is left on it. `None` when it may go. The bot
/// checks this itself rather than rely on Stripe refusing.
pub fn refund_refusal(charge: &Charge, amount: Money) -> Option<String> {
    let id = &charge.id;
    let left = charge.refundable();
    let refusal = refundable(charge, amount, left).err()?;
    Some(match refusal {
        ChoiceRefusal::Disputed(_) => format!(
            "refusing to refund {amount} on {id}: it is disputed, and the dispute already returns the money to the customer"
        ),
        ChoiceRefusal::NotPaid(_) => {
            format!("refusing to refund {amount} on {id}: Stripe says it was not paid")
        }
        _ => format!(
            "refusing to refund {amount} on {id}: Stripe says only {left} is left to refund"
        ),
    })
}

impl RefundCheck {
    /// One line per refund someone else made, for the card and the audit.
    pub fn others_text(&self, charge: &ChargeId) -> Vec<String> {
        self.others
            .iter()
            .map(|r| {
                format!(
                    "{} ({}) on {charge} was refunded outside this action (not by the bot for it)",
                    r.id, r.amount
                )
            })
            .collect()
    }
}

/// What a subscription, read from Stripe, says about one step that changes
/// it (a cancellation, a pause or a resume).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionCheck {
    /// Done (canceled, set to cancel at period end, paused as asked) with
    /// our metadata on it.
    Ours,
    /// Done, but not by this step.
    ByOthers,
    /// Not done.
    NotDone,
}

/// Reads `sub` for the pause (or resume) step `step` of `case`/`action`:
/// done when its `pause_collection` is what the step sets (the same
/// behaviour and resume date, or none), ours only with our metadata on it.
pub fn check_pause(
    sub: &Subscription,
    case: &CaseId,
    action: &ActionKey,
    step: &StepName,
    pause: Option<Pause>,
) -> SubscriptionCheck {
    match (
        sub.pause_collection == pause,
        is_ours(&sub.metadata, case, action, step),
    ) {
        (false, _) => SubscriptionCheck::NotDone,
        (true, true) => SubscriptionCheck::Ours,
        (true, false) => SubscriptionCheck::ByOthers,
    }
}

/// Reads `sub` for the cancel step `step` of `case`/`action`.
pub fn check_cancel(
    sub: &Subscription,
    case: &CaseId,
    action: &ActionKey,
    step: &StepName,
    at_period_end: bool,
) -> SubscriptionCheck {
    let canceled =
        sub.status == SubscriptionStatus::Canceled || (at_period_end && sub.cancel_at_period_end);
    match (canceled, is_ours(&sub.metadata, case, action, step)) {
        (false, _) => SubscriptionCheck::NotDone,
        (true, true) => SubscriptionCheck::Ours,
        (true, false) => SubscriptionCheck::ByOthers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChargeStatus, Currency, CustomerId, Origin, RefundId};

    fn case() -> CaseId {
        CaseId::from_random(42)
    }

    fn user(id: &str) -> SlackUserId {
        SlackUserId::parse(id).expect("test id")
    }

    fn refund_step_name(charge: &str) -> StepName {
        StepName::Refund(ChargeId::parse(charge).expect("id"))
    }

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::parse("eur").expect("eur"))
    }

    fn refund_action(minor: i64) -> ProposedAction {
        ProposedAction {
            key: crate::domain::test_key("a2"),
            kind: ActionKind::Refund(RefundTarget {
                charge: ChargeId::parse("ch_1").expect("id"),
                amount: eur(minor),
            }),
            summary: "Refund".into(),
            rationale: "outage".into(),
            origin: Origin::Proposed,
        }
    }

    fn refund(id: &str, minor: i64, metadata: &[(&str, &str)]) -> Refund {
        Refund {
            id: RefundId::parse(id).expect("id"),
            amount: eur(minor),
            status: "succeeded".into(),
            created: 1,
            metadata: metadata
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn charge(refunds: Vec<Refund>) -> Charge {
        Charge {
            id: ChargeId::parse("ch_1").expect("id"),
            customer: None,
            amount: eur(3900),
            amount_refunded: refunds.iter().map(|r| r.amount.minor).sum(),
            status: ChargeStatus::Succeeded,
            created: 0,
            invoice: None,
            invoice_unknown: false,
            description: None,
            failure_message: None,
            decline_code: None,
            disputed: false,
            refunds,
        }
    }

    #[test]
    fn a_refund_is_refused_on_a_disputed_or_unpaid_charge_or_beyond_what_is_left() {
        let paid = charge(vec![refund("re_1", 900, &[])]);
        assert_eq!(refund_refusal(&paid, eur(3000)), None);
        let beyond = refund_refusal(&paid, eur(3001)).expect("refused");
        assert!(beyond.contains("only EUR 30.00 is left"), "{beyond}");
        assert!(refund_refusal(&paid, eur(0)).is_some());
        assert!(
            refund_refusal(&paid, Money::new(100, Currency::parse("usd").expect("usd"))).is_some()
        );
        let disputed = Charge {
            disputed: true,
            ..paid.clone()
        };
        let why = refund_refusal(&disputed, eur(100)).expect("refused");
        assert!(why.contains("disputed"), "{why}");
        let unpaid = Charge {
            status: ChargeStatus::Pending,
            ..paid
        };
        let why = refund_refusal(&unpaid, eur(100)).expect("refused");
        assert!(why.contains("not paid"), "{why}");
    }

    #[test]
    fn a_plan_fixes_amount_metadata_and_key_at_the_intent() {
        let plan = plan(
            &case(),
            &refund_action(3900),
            &[user("U0APPROVE1")],
            Some(eur(1000)),
        );
        assert_eq!(plan.attempt, 1);
        let [step] = plan.steps.as_slice() else {
            panic!("one step: {plan:?}")
        };
        assert_eq!(step.name.to_string(), "refund:ch_1");
        assert_eq!(step.name, step.step.name());
        assert_eq!(
            step.step,
            Step::Refund {
                charge: ChargeId::parse("ch_1").expect("id"),
                amount: eur(1000)
            }
        );
        assert_eq!(
            step.idempotency_key,
            format!("billing-triage:{}:a2:refund:ch_1", case())
        );
        assert_eq!(step.metadata["approved_by"], "U0APPROVE1");
        assert_eq!(step.metadata["step"], "refund:ch_1");
        assert_eq!(plan.refund_amount(), Some(eur(1000)));
    }

    #[test]
    fn a_new_attempt_changes_only_the_keys() {
        let first = plan(&case(), &refund_action(3900), &[user("U0APPROVE1")], None);
        let second = first.next_attempt(&case(), &crate::domain::test_key("a2"));
        assert_eq!(second.attempt, 2);
        assert_eq!(
            second.steps[0].idempotency_key,
            format!("billing-triage:{}:a2:refund:ch_1:attempt2", case())
        );
        assert_eq!(
            second.steps[0].metadata, first.steps[0].metadata,
            "same parameters, whoever retries"
        );
        assert_eq!(second.steps[0].step, first.steps[0].step);
        assert_eq!(second.approved_by, first.approved_by);
    }

    #[test]
    fn a_refund_is_ours_only_when_its_metadata_names_case_action_and_step() {
        let c = case();
        let ours = [
            ("case_id", c.as_str()),
            ("action", "a2"),
            ("step", "refund:ch_1"),
        ];
        let other_case = [
            ("case_id", "case_0000000000000001"),
            ("action", "a2"),
            ("step", "refund:ch_1"),
        ];
        // Same amount, same moment: still not ours without our metadata.
        let check = check_refund(
            &charge(vec![
                refund("re_dash", 3900, &[]),
                refund("re_other", 100, &other_case),
            ]),
            &c,
            &crate::domain::test_key("a2"),
            &refund_step_name("ch_1"),
        );
        assert_eq!(check.ours, None);
        assert_eq!(check.others.len(), 2);
        assert_eq!(check.left, eur(0));
        assert_eq!(
            check
                .others_text(&ChargeId::parse("ch_1").expect("id"))
                .len(),
            2
        );

        let check = check_refund(
            &charge(vec![
                refund("re_ours", 1000, &ours),
                refund("re_dash", 500, &[]),
            ]),
            &c,
            &crate::domain::test_key("a2"),
            &refund_step_name("ch_1"),
        );
        assert_eq!(
            check.ours.map(|r| r.id.to_string()),
            Some("re_ours".to_owned())
        );
        assert_eq!(
            check
                .others
                .iter()
                .map(|r| r.id.to_string())
                .collect::<Vec<_>>(),
            ["re_dash"]
        );
        assert_eq!(check.left, eur(2400));

        let wrong_step = check_refund(
            &charge(vec![refund("re_x", 1000, &ours)]),
            &c,
            &crate::domain::test_key("a2"),
            &refund_step_name("ch_2"),
        );
        assert_eq!(wrong_step.ours, None);
    }

    #[test]
    fn a_cancellation_is_ours_only_with_our_metadata() {
        let c = case();
        let sub = |status: SubscriptionStatus, at_period_end: bool, metadata: &[(&str, &str)]| {
            Subscription {
                id: SubscriptionId::parse("sub_1").expect("id"),
                customer: CustomerId::parse("cus_1").expect("id"),
                status,
                created: 0,
                current_period_end: None,
                cancel_at_period_end: at_period_end,
                canceled_at: None,
                items: vec![],
                metadata: metadata
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                pause_collection: None,
            }
        };
        let ours = [
            ("case_id", c.as_str()),
            ("action", "a1"),
            ("step", "cancel"),
        ];
        assert_eq!(
            check_cancel(
                &sub(SubscriptionStatus::Canceled, false, &ours),
                &c,
                &crate::domain::test_key("a1"),
                &StepName::Cancel,
                false
            ),
            SubscriptionCheck::Ours
        );
        assert_eq!(
            check_cancel(
                &sub(SubscriptionStatus::Canceled, false, &[]),
                &c,
                &crate::domain::test_key("a1"),
                &StepName::Cancel,
                false
            ),
            SubscriptionCheck::ByOthers
        );
        // Our metadata is set before the cancel: on an active one it proves nothing.
        assert_eq!(
            check_cancel(
                &sub(SubscriptionStatus::Active, false, &ours),
                &c,
                &crate::domain::test_key("a1"),
                &StepName::Cancel,
                false
            ),
            SubscriptionCheck::NotDone
        );
        assert_eq!(
            check_cancel(
                &sub(SubscriptionStatus::Active, true, &ours),
                &c,
                &crate::domain::test_key("a1"),
                &StepName::Cancel,
                true
            ),
            SubscriptionCheck::Ours
        );
        assert_eq!(
            check_cancel(
                &sub(SubscriptionStatus::Active, true, &ours),
                &c,
                &crate::domain::test_key("a1"),
                &StepName::Cancel,
                false
            ),
            SubscriptionCheck::NotDone
        );
    }

    #[test]
    fn a_failed_refund_is_neither_ours_nor_someone_elses() {
        let c = case();
        let ours = [
            ("case_id", c.as_str()),
            ("action", "a2"),
            ("step", "refund:ch_1"),
        ];
        let mut failed = refund("re_failed", 3900, &ours);
        failed.status = "failed".into();
        let check = check_refund(
            &charge(vec![failed]),
            &c,
            &crate::domain::test_key("a2"),
            &refund_step_name("ch_1"),
        );
        assert_eq!(check.ours, None);
        assert!(check.others.is_empty());
    }

    #[test]
    fn step_names_read_back_as_written_and_refuse_anything_else() {
        for name in [StepName::Cancel, StepName::Portal, refund_step_name("ch_1")] {
            assert_eq!(StepName::parse(&name.to_string()), Ok(name.clone()));
            let json = serde_json::to_string(&name).expect("json");
            assert_eq!(serde_json::from_str::<StepName>(&json).expect("back"), name);
        }
        assert_eq!(
            serde_json::to_string(&refund_step_name("ch_1")).expect("json"),
            "\"refund:ch_1\"",
            "stored plans keep their format"
        );
        for bad in ["", "refund:", "refund:sub_1", "cancel2", "Portal"] {
            assert!(StepName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_pause_is_observed_done_only_as_asked_and_with_our_metadata() {
        let c = case();
        let key = crate::domain::test_key("c1");
        let pause = Some(Pause {
            behavior: crate::domain::PauseBehavior::Void,
            resumes_at: Some(4_070_908_800),
        });
        let action = ProposedAction {
            key: key.clone(),
            kind: ActionKind::PauseCollection {
                subscription: SubscriptionId::parse("sub_1").expect("id"),
                pause,
            },
            summary: String::new(),
            rationale: String::new(),
            origin: Origin::Proposed,
        };
        let planned = plan(&c, &action, &[user("UAPPROVER1")], None)
            .steps
            .remove(0);
        assert_eq!(planned.name, StepName::PauseCollection);
        assert_eq!(planned.metadata["step"], "pause_collection");
        let sub = |paused: Option<Pause>, metadata: &BTreeMap<String, String>| {
            StepState::Subscription(Subscription {
                id: SubscriptionId::parse("sub_1").expect("id"),
                customer: CustomerId::parse("cus_1").expect("id"),
                status: SubscriptionStatus::Active,
                created: 0,
                current_period_end: None,
                cancel_at_period_end: false,
                canceled_at: None,
                items: vec![],
                metadata: metadata.clone(),
                pause_collection: paused,
            })
        };
        let ours = planned.metadata.clone();
        assert_eq!(
            observe(&planned, &sub(pause, &ours), &c, &key),
            Observed::Ours {
                id: "sub_1".to_owned(),
                amount: None,
                approved_by: vec![user("UAPPROVER1")],
            }
        );
        assert!(matches!(
            observe(&planned, &sub(pause, &BTreeMap::new()), &c, &key),
            Observed::DoneByOthers(_)
        ));
        // Paused otherwise (another behaviour) is not this step's work.
        let other = Some(Pause {
            behavior: crate::domain::PauseBehavior::KeepAsDraft,
            resumes_at: None,
        });
        assert!(matches!(
            observe(&planned, &sub(other, &ours), &c, &key),
            Observed::Absent {
                proceed: Ok(()),
                ..
            }
        ));
        // An answer about another kind of object never lets the step go.
        assert!(matches!(
            observe(&planned, &StepState::Nothing, &c, &key),
            Observed::Absent {
                proceed: Err(_),
                ..
            }
        ));
        assert_eq!(
            done_note(&planned.step, "sub_1", None).as_deref(),
            Some("sub_1 collection paused")
        );
    }
}
