//! One hand-written example of every shape each [`AuditKind`]'s detail
//! takes, for the schema tests: together a kind's examples show every field
//! docs/AUDIT.md lists for it. The `match` is exhaustive, so a new kind does
//! not compile until it has its examples (and the doc test then asks for its
//! section). Test-only: the ids are literals, parsed with `expect`.

use super::event::*;
use super::AuditKind;
use crate::domain::{ChannelId, ChargeId, Currency, Money, SlackUserId, SubscriptionId};
use crate::plan::{Step, StepName};
use crate::policy::Refusal;
use std::collections::BTreeMap;

impl AuditEvent {
    /// Every kind's examples, in [`AuditKind::ALL`] order.
    pub(crate) fn examples() -> Vec<AuditEvent> {
        AuditKind::ALL
            .into_iter()
            .flat_map(AuditEvent::examples_of)
            .collect()
    }

    /// Examples of `kind`: one per shape its detail takes.
    pub(crate) fn examples_of(kind: AuditKind) -> Vec<AuditEvent> {
        match kind {
            AuditKind::LookupRequested => vec![LookupRequested {
                identifier: "customer id".to_owned(),
            }
            .into()],
            AuditKind::CaseOpened => vec![CaseOpened {
                triage: TriageOutcome::Classified(
                    crate::domain::Category::DuplicatePersonalSubscription,
                ),
                n_actions: 2,
            }
            .into()],
            AuditKind::LookupFailed => vec![
                LookupFailed::stripe_error().into(),
                LookupFailed::not_found(0).into(),
            ],
            AuditKind::ActionChosen => vec![ActionChosen {
                action: "refund".to_owned(),
                amount_minor: Some(1500),
                summary: "Refund EUR 15.00 of ch_1".to_owned(),
            }
            .into()],
            AuditKind::ApprovalGranted => vec![ApprovalGranted { still_needed: 1 }.into()],
            AuditKind::ApprovalRefused => vec![
                ApprovalRefused::by_policy(&Refusal::PromptedIt, "approve").into(),
                ApprovalRefused::by_policy(&Refusal::AlreadyResolved("done"), "reject").into(),
                ApprovalRefused::wrong_channel(
                    "approve_action",
                    Some(channel("C0ELSEWHERE")),
                    Some("C0CARDS".to_owned()),
                )
                .into(),
                ApprovalRefused::choice(&crate::actions::choose::ChoiceRefusal::Disputed(charge()))
                    .into(),
            ],
            AuditKind::ActionRejected => vec![ActionRejected {
                reason: "the customer paid by bank transfer".to_owned(),
            }
            .into()],
            AuditKind::ActionExpired => vec![ActionExpired {}.into()],
            AuditKind::ExecutionIntent => vec![ExecutionIntent {
                action: "refund".to_owned(),
                approved_by: vec![user("UAPPROVER1")],
                amount_minor: Some(3900),
                attempt: 2,
                new_keys: true,
                steps: vec![IntentStep {
                    step: StepName::Refund(charge()),
                    request: Step::Refund {
                        charge: charge(),
                        amount: eur(3900),
                    },
                    idempotency_key: "billing-triage:case_1:a2:refund:ch_1:attempt2".to_owned(),
                    metadata: BTreeMap::from([
                        ("action".to_owned(), "a2".to_owned()),
                        ("step".to_owned(), "refund:ch_1".to_owned()),
                    ]),
                }],
            }
            .into()],
            AuditKind::ExecutionSucceeded => vec![ExecutionSucceeded {
                action: "refund".to_owned(),
                refunded_minor: Some(3900),
                note: None,
                confirmed: vec!["refund re_1 of EUR 39.00".to_owned()],
            }
            .into()],
            AuditKind::ExecutionFailed => vec![
                ExecutionFailed {
                    action: "refund".to_owned(),
                    error: "Stripe refused refund:ch_1: charge_disputed".to_owned(),
                    reference: Some("r-7f3a".to_owned()),
                    step: None,
                    nothing_happened: false,
                    nothing_sent: false,
                    confirmed: Some(Vec::new()),
                }
                .into(),
                ExecutionFailed {
                    action: "cancel_subscription".to_owned(),
                    error: "no answer in time".to_owned(),
                    reference: None,
                    step: Some(StepName::Cancel),
                    nothing_happened: true,
                    nothing_sent: false,
                    confirmed: Some(Vec::new()),
                }
                .into(),
                ExecutionFailed {
                    action: "refund".to_owned(),
                    error: "interrupted before Stripe was called".to_owned(),
                    reference: None,
                    step: None,
                    nothing_happened: false,
                    nothing_sent: true,
                    confirmed: None,
                }
                .into(),
            ],
            AuditKind::ExecutionReconciled => vec![
                ExecutionReconciled::verifying(owner()).into(),
                ExecutionReconciled::resumed(true, owner()).into(),
            ],
            AuditKind::ExecutionVerifying => vec![ExecutionVerifying {
                step: StepName::Cancel,
                reason: "HTTP 500".to_owned(),
            }
            .into()],
            AuditKind::ExecutionConfirmed => vec![
                ExecutionConfirmed {
                    step: StepName::Refund(charge()),
                    found: Some("re_1".to_owned()),
                    after: "no answer in time".to_owned(),
                    done_on_stripe: None,
                    approved_on_stripe: Vec::new(),
                }
                .into(),
                ExecutionConfirmed {
                    step: StepName::Refund(charge()),
                    found: Some("re_1".to_owned()),
                    after: "found on Stripe before sending".to_owned(),
                    done_on_stripe: None,
                    approved_on_stripe: vec![user("UAPPROVER1"), user("UAPPROVER2")],
                }
                .into(),
                ExecutionConfirmed {
                    step: StepName::Cancel,
                    found: None,
                    after: "HTTP 500".to_owned(),
                    done_on_stripe: Some(format!("{} is already canceled", subscription())),
                    approved_on_stripe: Vec::new(),
                }
                .into(),
            ],
            AuditKind::PortalLinkCreated => vec![PortalLinkCreated {
                shown_to: vec![user("UAPPROVER1"), user("UAPPROVER2")],
            }
            .into()],
            AuditKind::FollowUpPosted => vec![FollowUpPosted {
                locale: "de".to_owned(),
            }
            .into()],
            AuditKind::CaseClosed => vec![CaseClosed {}.into()],
            AuditKind::ReportRun => vec![ReportRun {
                report: "churn".to_owned(),
                days: 30,
            }
            .into()],
            AuditKind::AccessRefused => vec![AccessRefused {
                on: "lookup".to_owned(),
                channel: Some("C0GENERAL1".to_owned()),
                reason: "not_operator".to_owned(),
                subject: Some("ab".repeat(32)),
            }
            .into()],
            AuditKind::ContextAdded => vec![ContextAdded {
                given_as: "customer_message".to_owned(),
                chars: 42,
                sha256: "ab".repeat(32),
            }
            .into()],
            AuditKind::CaseRetriaged => vec![CaseRetriaged {
                triage: "Product failure or broken trust".to_owned(),
                added_actions: vec!["a3".to_owned()],
            }
            .into()],
        }
    }
}

fn user(id: &str) -> SlackUserId {
    SlackUserId::parse(id).expect("a literal Slack user id")
}

fn channel(id: &str) -> ChannelId {
    ChannelId::parse(id).expect("a literal channel id")
}

fn charge() -> ChargeId {
    ChargeId::parse("ch_1").expect("a literal charge id")
}

fn subscription() -> SubscriptionId {
    SubscriptionId::parse("sub_1").expect("a literal subscription id")
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("eur").expect("a literal currency"))
}

fn owner() -> PreviousOwner {
    PreviousOwner {
        from_owner: Some("inst_other".to_owned()),
        owner_gone: true,
    }
}
