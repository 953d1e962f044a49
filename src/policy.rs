//! Approval policy (docs/PLAYBOOK.md §3.4, docs/CONTRACT.md `BILLING_APPROVERS`,
//! `BILLING_REFUND_LIMIT`): who may approve or reject which action, and when
//! an action has collected enough approvals to run. Pure: the caller passes
//! the action's current state and the time.
//!
//! Rules:
//! - only users in `BILLING_APPROVERS` may approve or reject; none set means
//!   nobody can;
//! - the person who requested the case never approves its money-moving
//!   actions (refund, cancel): another approver must (four eyes); an action
//!   an operator chose from "More actions…" has them as its requester too, so
//!   neither the case's requester nor its chooser approves it; nor does the
//!   operator whose **Add context** led the bot to propose it (the words they
//!   gave are unverified, as a chooser's choice is);
//! - a refund (or a duplicate fix that refunds) above the refund limit needs
//!   two distinct approvers;
//! - only a `Proposed` action before its expiry can be approved or rejected.

use crate::domain::{
    ActionKind, ActionStatus, Actor, ChargeId, Money, ProposedAction, SlackUserId,
};

/// Approval policy settings (docs/CONTRACT.md), read by `config` and handed to
/// the policy as values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Who may approve or reject; empty means nobody can.
    pub approvers: Vec<SlackUserId>,
    /// Refunds above this many minor units need a second approver.
    pub refund_limit_minor: i64,
}

/// Said at start-up and under `/billing help` when `BILLING_APPROVERS` is
/// unset: the bot then only looks cases up.
pub const READ_ONLY_WARNING: &str =
    "BILLING_APPROVERS is unset, so the bot is read-only: nobody can approve or reject actions. Set it to the Slack user ids (U...) of the approvers";

impl PolicyConfig {
    /// [`READ_ONLY_WARNING`] when nobody can approve.
    pub fn read_only_warning(&self) -> Option<&'static str> {
        self.approvers.is_empty().then_some(READ_ONLY_WARNING)
    }
}

/// A failed action may be approved again within this time: a retry then
/// reuses idempotency keys Stripe still remembers (24 h).
pub const RETRY_WINDOW_SECS: i64 = 23 * 3600;

/// Why a typed partial amount cannot be used on an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartialRefusal {
    #[error("Only a refund can be partial")]
    NotARefund,
    #[error("A partial refund is more than nothing and at most {agreed}, in its currency: approve it as proposed, or reject it and choose the refund you want under More actions…")]
    OutsideAgreed { agreed: Money },
    #[error("At most {left} is left to refund on {charge}")]
    MoreThanLeft { left: Money, charge: ChargeId },
}

/// The one rule for a partial refund, for the modal and for the approval
/// that runs it: only a refund can be partial, in its own currency, for more
/// than nothing, at most the amount its approvers (and its chooser) agreed
/// to, and at most what is `left` on the charge as far as the caller knows
/// (Stripe's own state is checked again right before the refund).
///
/// # Errors
/// The first rule `asked` breaks, in that order.
pub fn partial_refund(
    action: &ProposedAction,
    asked: Money,
    left: Option<Money>,
) -> Result<Money, PartialRefusal> {
    let ActionKind::Refund(target) = &action.kind else {
        return Err(PartialRefusal::NotARefund);
    };
    let agreed = target.amount;
    if asked.currency != agreed.currency || asked.minor <= 0 || asked.minor > agreed.minor {
        return Err(PartialRefusal::OutsideAgreed { agreed });
    }
    match left {
        Some(left) if asked.minor > left.minor => Err(PartialRefusal::MoreThanLeft {
            left,
            charge: target.charge.clone(),
        }),
        _ => Ok(asked),
    }
}

/// Pending actions can be approved for 24 h: inside Stripe's idempotency
/// window, so a retried execution reuses a key Stripe still remembers.
pub const APPROVAL_WINDOW_SECS: i64 = 24 * 3600;

/// The first state of an action proposed or chosen at `now`: awaiting its
/// approvals until the approval window closes.
pub fn fresh_state(now: i64) -> ActionStatus {
    ActionStatus::Proposed {
        approvals: Vec::new(),
        expires_at: now + APPROVAL_WINDOW_SECS,
    }
}

/// The state an approval is decided on: a failed action counts as proposed
/// again, with no approvals, until the retry window closes.
pub fn approvable(status: &ActionStatus) -> ActionStatus {
    match status {
        ActionStatus::Failed { at, .. } => ActionStatus::Proposed {
            approvals: Vec::new(),
            expires_at: at + RETRY_WINDOW_SECS,
        },
        other => other.clone(),
    }
}

/// The outcome of one approval click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Enough approvals: run it. `approved_by` includes the actor.
    Execute {
        approved_by: Vec<SlackUserId>,
    },
    /// Recorded; `still_needed` more approvers must agree.
    Recorded {
        approvals: Vec<SlackUserId>,
        still_needed: usize,
    },
    Refused(Refusal),
}

/// Why a click was refused; `Display` is the ephemeral answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("You are not in BILLING_APPROVERS, so you cannot approve or reject billing actions. Ask an approver")]
    NotAnApprover,
    #[error("You requested this case, so another approver must approve this action (four eyes)")]
    SelfApproval,
    #[error("You chose this action, so another approver must approve it (four eyes)")]
    ChoseIt,
    #[error("This action was proposed from the context you added, so another approver must approve it (four eyes)")]
    PromptedIt,
    #[error("You already approved this action; it needs another approver")]
    AlreadyApprovedByYou,
    #[error("This action expired; run the lookup again for a fresh card")]
    Expired,
    #[error("This action is already {0}; nothing more to do")]
    AlreadyResolved(&'static str),
}

/// How many distinct approvers `action` needs.
pub fn approvals_needed(action: &ProposedAction, policy: &PolicyConfig) -> usize {
    let refunded: i64 = match &action.kind {
        ActionKind::Refund(target) => target.amount.minor,
        ActionKind::CancelDuplicate { refunds, .. } => {
            refunds.iter().map(|r| r.amount.minor).max().unwrap_or(0)
        }
        _ => 0,
    };
    if refunded > policy.refund_limit_minor {
        2
    } else {
        1
    }
}

/// Decides one approval click by `actor` on `action`, in state `status`.
pub fn may_approve(
    actor: &SlackUserId,
    action: &ProposedAction,
    requested_by: &Actor,
    status: &ActionStatus,
    policy: &PolicyConfig,
    now: i64,
) -> Verdict {
    if !policy.approvers.contains(actor) {
        return Verdict::Refused(Refusal::NotAnApprover);
    }
    let (approvals, expires_at) = match status {
        ActionStatus::Proposed {
            approvals,
            expires_at,
        } => (approvals, *expires_at),
        other => return Verdict::Refused(Refusal::AlreadyResolved(state_name(other))),
    };
    if now > expires_at {
        return Verdict::Refused(Refusal::Expired);
    }
    if action.kind.is_money_moving() && matches!(requested_by, Actor::Slack(id) if id == actor) {
        return Verdict::Refused(Refusal::SelfApproval);
    }
    if action.kind.is_money_moving() && action.origin.chooser() == Some(actor) {
        return Verdict::Refused(Refusal::ChoseIt);
    }
    if action.kind.is_money_moving() && action.origin.prompted_by(actor) {
        return Verdict::Refused(Refusal::PromptedIt);
    }
    if approvals.contains(actor) {
        return Verdict::Refused(Refusal::AlreadyApprovedByYou);
    }
    let mut approvals = approvals.clone();
    approvals.push(actor.clone());
    let needed = approvals_needed(action, policy);
    if approvals.len() >= needed {
        Verdict::Execute {
            approved_by: approvals,
        }
    } else {
        Verdict::Recorded {
            still_needed: needed - approvals.len(),
            approvals,
        }
    }
}

/// Decides a rejection. The requester may reject (that is the safe way).
///
/// # Errors
/// The refusal to show.
pub fn may_reject(
    actor: &SlackUserId,
    status: &ActionStatus,
    policy: &PolicyConfig,
    now: i64,
) -> Result<(), Refusal> {
    if !policy.approvers.contains(actor) {
        return Err(Refusal::NotAnApprover);
    }
    match status {
        ActionStatus::Proposed { expires_at, .. } if now > *expires_at => Err(Refusal::Expired),
        ActionStatus::Proposed { .. } => Ok(()),
        other => Err(Refusal::AlreadyResolved(state_name(other))),
    }
}

/// A state's name for people.
pub fn state_name(status: &ActionStatus) -> &'static str {
    match status {
        ActionStatus::Proposed { .. } => "proposed",
        ActionStatus::Executing { .. } => "executing",
        ActionStatus::Verifying { .. } => "being checked with Stripe",
        ActionStatus::Succeeded { .. } => "done",
        ActionStatus::Failed { .. } => "failed",
        ActionStatus::Rejected { .. } => "rejected",
        ActionStatus::Expired { .. } => "expired",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, Origin, RefundTarget};

    const NOW: i64 = 1_700_000_000;

    fn user(id: &str) -> SlackUserId {
        SlackUserId::parse(id).expect("test user id")
    }

    fn policy() -> PolicyConfig {
        PolicyConfig {
            approvers: vec![user("UAPPROVER1"), user("UAPPROVER2"), user("UREQUESTER")],
            refund_limit_minor: 10_000,
        }
    }

    fn refund(minor: i64) -> ProposedAction {
        let eur = Currency::parse("eur").expect("eur");
        ProposedAction {
            key: crate::domain::test_key("a2"),
            kind: ActionKind::Refund(RefundTarget {
                charge: ChargeId::parse("ch_1").expect("id"),
                amount: Money::new(minor, eur),
            }),
            summary: String::new(),
            rationale: String::new(),
            origin: Origin::Proposed,
        }
    }

    fn portal() -> ProposedAction {
        ProposedAction {
            key: crate::domain::test_key("a1"),
            kind: ActionKind::PortalLink {
                customer: crate::domain::CustomerId::parse("cus_1").expect("id"),
            },
            summary: String::new(),
            rationale: String::new(),
            origin: Origin::Proposed,
        }
    }

    fn proposed(approvals: &[&str]) -> ActionStatus {
        ActionStatus::Proposed {
            approvals: approvals.iter().map(|a| user(a)).collect(),
            expires_at: NOW + 100,
        }
    }

    fn check(actor: &str, action: &ProposedAction, status: &ActionStatus, expected: &Verdict) {
        let requester = Actor::Slack(user("UREQUESTER"));
        assert_eq!(
            &may_approve(&user(actor), action, &requester, status, &policy(), NOW),
            expected,
            "{actor}"
        );
    }

    #[test]
    fn approval_rules() {
        let small = refund(3_900);
        let big = refund(25_000);
        check(
            "UAPPROVER1",
            &small,
            &proposed(&[]),
            &Verdict::Execute {
                approved_by: vec![user("UAPPROVER1")],
            },
        );
        check(
            "UOUTSIDER1",
            &small,
            &proposed(&[]),
            &Verdict::Refused(Refusal::NotAnApprover),
        );
        check(
            "UREQUESTER",
            &small,
            &proposed(&[]),
            &Verdict::Refused(Refusal::SelfApproval),
        );
        check(
            "UREQUESTER",
            &portal(),
            &proposed(&[]),
            &Verdict::Execute {
                approved_by: vec![user("UREQUESTER")],
            },
        );
        check(
            "UAPPROVER1",
            &big,
            &proposed(&[]),
            &Verdict::Recorded {
                approvals: vec![user("UAPPROVER1")],
                still_needed: 1,
            },
        );
        check(
            "UAPPROVER1",
            &big,
            &proposed(&["UAPPROVER1"]),
            &Verdict::Refused(Refusal::AlreadyApprovedByYou),
        );
        check(
            "UAPPROVER2",
            &big,
            &proposed(&["UAPPROVER1"]),
            &Verdict::Execute {
                approved_by: vec![user("UAPPROVER1"), user("UAPPROVER2")],
            },
        );
        let expired = ActionStatus::Proposed {
            approvals: vec![],
            expires_at: NOW - 1,
        };
        check(
            "UAPPROVER1",
            &small,
            &expired,
            &Verdict::Refused(Refusal::Expired),
        );
        let done = ActionStatus::Succeeded {
            approved_by: vec![user("UAPPROVER1")],
            at: NOW,
            stripe_ids: vec![],
            notes: vec![],
        };
        check(
            "UAPPROVER2",
            &small,
            &done,
            &Verdict::Refused(Refusal::AlreadyResolved("done")),
        );
    }

    #[test]
    fn a_chosen_action_is_never_approved_by_its_chooser_alone() {
        let chosen = |mut action: ProposedAction| {
            action.origin = Origin::ChosenBy(user("UAPPROVER1"));
            action
        };
        check(
            "UAPPROVER1",
            &chosen(refund(3_900)),
            &proposed(&[]),
            &Verdict::Refused(Refusal::ChoseIt),
        );
        check(
            "UAPPROVER2",
            &chosen(refund(3_900)),
            &proposed(&[]),
            &Verdict::Execute {
                approved_by: vec![user("UAPPROVER2")],
            },
        );
        // The case's requester is still the requester of every action.
        check(
            "UREQUESTER",
            &chosen(refund(3_900)),
            &proposed(&[]),
            &Verdict::Refused(Refusal::SelfApproval),
        );
        // Above the refund limit: two approvers, neither of them the chooser.
        check(
            "UAPPROVER2",
            &chosen(refund(25_000)),
            &proposed(&[]),
            &Verdict::Recorded {
                approvals: vec![user("UAPPROVER2")],
                still_needed: 1,
            },
        );
        check(
            "UAPPROVER1",
            &chosen(refund(25_000)),
            &proposed(&["UAPPROVER2"]),
            &Verdict::Refused(Refusal::ChoseIt),
        );
        // A link moves no money: its chooser may approve it, as a requester may.
        check(
            "UAPPROVER1",
            &chosen(portal()),
            &proposed(&[]),
            &Verdict::Execute {
                approved_by: vec![user("UAPPROVER1")],
            },
        );
    }

    #[test]
    fn an_action_proposed_from_added_context_is_never_approved_by_who_added_it_alone() {
        let prompted = |mut action: ProposedAction| {
            action.origin = Origin::PromptedBy(Actor::Slack(user("UAPPROVER1")));
            action
        };
        check(
            "UAPPROVER1",
            &prompted(refund(3_900)),
            &proposed(&[]),
            &Verdict::Refused(Refusal::PromptedIt),
        );
        check(
            "UAPPROVER2",
            &prompted(refund(3_900)),
            &proposed(&[]),
            &Verdict::Execute {
                approved_by: vec![user("UAPPROVER2")],
            },
        );
        check(
            "UREQUESTER",
            &prompted(refund(3_900)),
            &proposed(&[]),
            &Verdict::Refused(Refusal::SelfApproval),
        );
        // Above the refund limit: neither of the two approvers is them.
        check(
            "UAPPROVER1",
            &prompted(refund(25_000)),
            &proposed(&["UAPPROVER2"]),
            &Verdict::Refused(Refusal::PromptedIt),
        );
        // A link moves no money: they may approve it.
        check(
            "UAPPROVER1",
            &prompted(portal()),
            &proposed(&[]),
            &Verdict::Execute {
                approved_by: vec![user("UAPPROVER1")],
            },
        );
        // Someone else's context does not bind them.
        let by_other = ProposedAction {
            origin: Origin::PromptedBy(Actor::Slack(user("UAPPROVER2"))),
            ..refund(3_900)
        };
        check(
            "UAPPROVER1",
            &by_other,
            &proposed(&[]),
            &Verdict::Execute {
                approved_by: vec![user("UAPPROVER1")],
            },
        );
    }

    #[test]
    fn nobody_approves_when_no_approvers_are_set() {
        let none = PolicyConfig {
            approvers: vec![],
            refund_limit_minor: 10_000,
        };
        let v = may_approve(
            &user("UAPPROVER1"),
            &refund(100),
            &Actor::System,
            &proposed(&[]),
            &none,
            NOW,
        );
        assert_eq!(v, Verdict::Refused(Refusal::NotAnApprover));
    }

    #[test]
    fn rejection_rules() {
        assert_eq!(
            may_reject(&user("UREQUESTER"), &proposed(&[]), &policy(), NOW),
            Ok(())
        );
        assert_eq!(
            may_reject(&user("UOUTSIDER1"), &proposed(&[]), &policy(), NOW),
            Err(Refusal::NotAnApprover)
        );
        let rejected = ActionStatus::Rejected {
            by: user("UAPPROVER1"),
            at: NOW,
            reason: "dup".into(),
        };
        assert_eq!(
            may_reject(&user("UAPPROVER2"), &rejected, &policy(), NOW),
            Err(Refusal::AlreadyResolved("rejected"))
        );
    }

    #[test]
    fn a_partial_refund_is_a_refund_within_what_was_agreed_and_what_is_left() {
        let eur = |minor| Money::new(minor, Currency::parse("eur").expect("eur"));
        let action = refund(1000);
        assert_eq!(partial_refund(&action, eur(400), None), Ok(eur(400)));
        assert_eq!(
            partial_refund(&action, eur(1000), Some(eur(1000))),
            Ok(eur(1000))
        );
        assert_eq!(
            partial_refund(&action, eur(1001), None),
            Err(PartialRefusal::OutsideAgreed { agreed: eur(1000) })
        );
        assert!(partial_refund(&action, eur(0), None).is_err());
        let usd = Money::new(400, Currency::parse("usd").expect("usd"));
        assert!(partial_refund(&action, usd, None).is_err());
        assert_eq!(
            partial_refund(&action, eur(600), Some(eur(500))),
            Err(PartialRefusal::MoreThanLeft {
                left: eur(500),
                charge: ChargeId::parse("ch_1").expect("id"),
            })
        );
        assert_eq!(
            partial_refund(&portal(), eur(100), None),
            Err(PartialRefusal::NotARefund)
        );
    }
}
