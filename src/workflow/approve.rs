//! Approval (docs/STYLE.md §2 step 5): a click is decided by `policy`; the
//! action's state moves by compare-and-set in Redis, and only the click whose
//! move into `Executing` is a won [`Claim`] runs it: it fixes the plan with
//! the write-ahead intent (`intent`) and hands it to `execute`. A lost claim
//! is re-read and decided again. Reject, refusals and expiry live here too.
//! The button's value only names the action: its state and targets are always
//! re-read from Redis.

use super::action_state::{audit, claim, load, status_of, Claim};
use super::case_card::{refresh, CardPlace};
use super::execute::{self, Mode};
use super::intent::fix_plan;
use super::{log_error, new_reference, now, Deps, WorkflowError};
use crate::audit::{ActionRejected, ApprovalGranted, ApprovalRefused, AuditEvent};
use crate::domain::{
    ActionKey, ActionStatus, Actor, Case, CaseId, ChannelId, Money, ProposedAction, ResponseUrl,
    SlackUserId,
};
use crate::policy::{self, Refusal, Verdict};

/// Said when every compare-and-set lost to other clicks.
pub(super) const RACES_LOST: &str =
    "Several people acted on this at once; look at the card for where it stands";
/// Compare-and-set retries when clicks race; each retry re-reads the state.
pub(super) const MAX_RACES: usize = 8;

/// Who clicked what, and where to answer them.
#[derive(Debug, Clone)]
pub struct Click {
    pub case_id: CaseId,
    pub key: ActionKey,
    pub actor: SlackUserId,
    /// For an ephemeral answer to the clicker only.
    pub response_url: Option<ResponseUrl>,
    pub channel: Option<ChannelId>,
    /// Where the case's card is, when the handler already read it (the
    /// channel check does); otherwise read once when the click is handled.
    pub card: Option<CardPlace>,
}

impl Click {
    /// This click with its card's place read (once: a handler that read it
    /// already passes it on).
    async fn with_card(&self, deps: &Deps) -> Result<Click, WorkflowError> {
        let mut click = self.clone();
        if click.card.is_none() {
            click.card = Some(CardPlace::of(deps, &click.case_id).await?);
        }
        Ok(click)
    }

    fn place(&self) -> &CardPlace {
        self.card.as_ref().unwrap_or(&CardPlace::NONE)
    }
}

/// What the clicker is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome(pub String);

/// What one decision on a click came to: an answer, or a lost claim (the
/// state moved under it), after which the click is decided again (at most
/// [`MAX_RACES`] times).
enum Decided {
    Answer(Outcome),
    Lost,
}

/// Handles an Approve click. `amount` overrides a refund's amount (partial
/// refund from the modal); it has been checked against the case already and
/// is checked again against Stripe before the refund.
///
/// # Errors
/// User-facing refusals are `Ok(Outcome)`; errors are Redis/Stripe/Slack.
pub async fn approve(
    deps: &Deps,
    click: &Click,
    amount: Option<Money>,
) -> Result<Outcome, WorkflowError> {
    let (case, action) = load(deps, &click.case_id, &click.key).await?;
    let click = &click.with_card(deps).await?;
    for _ in 0..MAX_RACES {
        if let Decided::Answer(outcome) =
            decide_approval(deps, click, &case, &action, amount).await?
        {
            return Ok(outcome);
        }
    }
    Ok(Outcome(RACES_LOST.to_owned()))
}

/// One decision on an Approve click, from the state as stored now.
async fn decide_approval(
    deps: &Deps,
    click: &Click,
    case: &Case,
    action: &ProposedAction,
    amount: Option<Money>,
) -> Result<Decided, WorkflowError> {
    let stored = status_of(deps, &case.id, &action.key).await?;
    if let Some(planned) = fixed_amount(deps, case, action, &stored, amount).await? {
        return Ok(Decided::Answer(Outcome(format!(
            "This refund's request to Stripe was fixed at {planned} when it was first approved; approve it without changing the amount"
        ))));
    }
    if let Some(refusal) = partial_refusal(action, amount) {
        return Ok(Decided::Answer(Outcome(refusal)));
    }
    let t = now();
    let verdict = policy::may_approve(
        &click.actor,
        action,
        &case.requested_by,
        &policy::approvable(&stored),
        &deps.policy,
        t,
    );
    match verdict {
        Verdict::Refused(refusal) => refuse(deps, case, click, &stored, refusal, "approve")
            .await
            .map(Decided::Answer),
        // Every approver of a refund agrees to one amount: a partial amount
        // counts only from the approval that runs it.
        Verdict::Recorded { still_needed, .. } if amount.is_some() => Ok(Decided::Answer(Outcome(format!(
            "This refund needs {still_needed} more approver(s), and every approver agrees to the same amount: approve it as proposed, or reject it and choose the refund you want under More actions…"
        )))),
        Verdict::Recorded {
            approvals,
            still_needed,
        } => {
            let expires_at = match &stored {
                ActionStatus::Proposed { expires_at, .. } => *expires_at,
                _ => t + policy::APPROVAL_WINDOW_SECS,
            };
            let next = ActionStatus::Proposed {
                approvals,
                expires_at,
            };
            let recorded = Move {
                next,
                event: ApprovalGranted { still_needed }.into(),
                answer: format!("Approval recorded. This action needs {still_needed} more approver(s) before it runs"),
            };
            recorded.make(deps, click, case, &stored).await
        }
        Verdict::Execute { approved_by } => {
            run_approved(deps, click, case, action, stored, approved_by, amount).await
        }
    }
}

/// Why a typed partial amount cannot be used on `action`
/// ([`policy::partial_refund`]): the modal checks it before Slack is
/// answered; this holds it for every path.
fn partial_refusal(action: &ProposedAction, amount: Option<Money>) -> Option<String> {
    let amount = amount?;
    policy::partial_refund(action, amount, None)
        .err()
        .map(|refusal| refusal.to_string())
}

/// The last approval: claim the move into `Executing`, fix the plan with
/// its intent, and run it.
async fn run_approved(
    deps: &Deps,
    click: &Click,
    case: &Case,
    action: &ProposedAction,
    stored: ActionStatus,
    approved_by: Vec<SlackUserId>,
    amount: Option<Money>,
) -> Result<Decided, WorkflowError> {
    let executing = ActionStatus::Executing {
        approved_by: approved_by.clone(),
        at: now(),
        owner: Some(deps.instance.clone()),
    };
    if claim(&deps.store, &case.id, &action.key, &stored, &executing).await? == Claim::Lost {
        return Ok(Decided::Lost);
    }
    let plan = match fix_plan(
        deps,
        case,
        action,
        &stored,
        &approved_by,
        amount,
        &click.actor,
    )
    .await
    {
        Ok(plan) => plan,
        Err(e) => {
            // Put it back so it can be approved again. If even that fails,
            // the intent may or may not be in the audit: the reconciler
            // resumes it or marks it failed, so say that.
            let put_back = claim(&deps.store, &case.id, &action.key, &executing, &stored).await;
            if matches!(put_back, Ok(Claim::Won)) {
                return Err(e);
            }
            let reference = new_reference();
            log_error(&e, &reference, "could not record the intent");
            return Err(WorkflowError::User(format!(
                "Redis failed while this approval was being recorded, and nothing has been sent to Stripe yet. The bot finishes it by itself (the card's thread will say what Stripe did) or marks it failed so it can be approved again; do not redo it by hand (ref {reference})"
            )));
        }
    };
    let job = execute::Job {
        case,
        action,
        plan: &plan,
        place: click.place(),
    };
    let private = execute::run(
        deps,
        job,
        executing,
        Actor::Slack(click.actor.clone()),
        Mode::Execute,
    )
    .await?;
    Ok(Decided::Answer(Outcome(private)))
}

/// Handles a Reject (after the modal gave a reason).
///
/// # Errors
/// Redis errors; refusals are `Ok(Outcome)`.
pub async fn reject(deps: &Deps, click: &Click, reason: &str) -> Result<Outcome, WorkflowError> {
    let (case, action) = load(deps, &click.case_id, &click.key).await?;
    let click = &click.with_card(deps).await?;
    for _ in 0..MAX_RACES {
        if let Decided::Answer(outcome) =
            decide_rejection(deps, click, &case, &action, reason).await?
        {
            return Ok(outcome);
        }
    }
    Ok(Outcome(RACES_LOST.to_owned()))
}

/// One decision on a Reject, from the state as stored now.
async fn decide_rejection(
    deps: &Deps,
    click: &Click,
    case: &Case,
    action: &ProposedAction,
    reason: &str,
) -> Result<Decided, WorkflowError> {
    let stored = status_of(deps, &case.id, &action.key).await?;
    let t = now();
    if let Err(refusal) = policy::may_reject(&click.actor, &stored, &deps.policy, t) {
        return refuse(deps, case, click, &stored, refusal, "reject")
            .await
            .map(Decided::Answer);
    }
    let next = ActionStatus::Rejected {
        by: click.actor.clone(),
        at: t,
        reason: reason.to_owned(),
    };
    let rejected = Move {
        next,
        event: ActionRejected {
            reason: reason.to_owned(),
        }
        .into(),
        answer: format!("Rejected: {}", action.summary),
    };
    rejected.make(deps, click, case, &stored).await
}

/// A click's move of the action to a state that runs nothing.
struct Move {
    next: ActionStatus,
    event: AuditEvent,
    answer: String,
}

impl Move {
    /// Moves the clicked action from `stored`; when this click's claim won,
    /// audits the move as the clicker's, redraws the card and answers.
    async fn make(
        self,
        deps: &Deps,
        click: &Click,
        case: &Case,
        stored: &ActionStatus,
    ) -> Result<Decided, WorkflowError> {
        if claim(&deps.store, &case.id, &click.key, stored, &self.next).await? == Claim::Lost {
            return Ok(Decided::Lost);
        }
        let actor = Actor::Slack(click.actor.clone());
        audit(deps, &case.id, &click.key, self.event, actor, vec![]).await?;
        refresh(deps, click.place(), case).await;
        Ok(Decided::Answer(Outcome(self.answer)))
    }
}

/// A refused click: audited, an expired action marked so (and its card
/// redrawn), and the refusal told to the clicker.
async fn refuse(
    deps: &Deps,
    case: &Case,
    click: &Click,
    stored: &ActionStatus,
    refusal: Refusal,
    on: &str,
) -> Result<Outcome, WorkflowError> {
    audit(
        deps,
        &case.id,
        &click.key,
        ApprovalRefused::by_policy(&refusal, on),
        Actor::Slack(click.actor.clone()),
        vec![],
    )
    .await?;
    if refusal == Refusal::Expired {
        super::lapse::expire(deps, case, &click.key, stored, click.place()).await?;
    }
    tracing::warn!(case_id = %case.id, action = %click.key, reason = ?refusal, on, "click refused");
    Ok(Outcome(refusal.to_string()))
}

/// The amount a refund's current attempt is fixed at, when `amount` asks
/// for another one: only a new attempt (after `Failed`) may change it.
async fn fixed_amount(
    deps: &Deps,
    case: &Case,
    action: &ProposedAction,
    stored: &ActionStatus,
    amount: Option<Money>,
) -> Result<Option<Money>, WorkflowError> {
    let Some(asked) = amount else { return Ok(None) };
    if matches!(stored, ActionStatus::Failed { .. }) {
        return Ok(None);
    }
    let planned = deps
        .store
        .plan(&case.id, &action.key)
        .await?
        .and_then(|p| p.refund_amount());
    Ok(planned.filter(|p| *p != asked))
}

#[cfg(test)]
mod tests {
    use super::partial_refusal;
    use crate::domain::{
        ActionKind, ChargeId, Currency, Money, Origin, ProposedAction, RefundTarget,
    };

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::parse("eur").expect("eur"))
    }

    fn refund_of(minor: i64) -> ProposedAction {
        ProposedAction {
            key: crate::domain::test_key("c1"),
            kind: ActionKind::Refund(RefundTarget {
                charge: ChargeId::parse("ch_1").expect("id"),
                amount: eur(minor),
            }),
            summary: "Refund".into(),
            rationale: "chosen".into(),
            origin: Origin::Proposed,
        }
    }

    #[test]
    fn a_partial_amount_is_at_most_what_the_approvers_agreed_to() {
        assert_eq!(partial_refusal(&refund_of(1000), None), None);
        assert_eq!(partial_refusal(&refund_of(1000), Some(eur(400))), None);
        assert_eq!(partial_refusal(&refund_of(1000), Some(eur(1000))), None);
        let more = partial_refusal(&refund_of(1000), Some(eur(500_000))).expect("refused");
        assert!(more.contains("at most EUR 10.00"), "{more}");
        assert!(partial_refusal(&refund_of(1000), Some(eur(0))).is_some());
        let usd = Money::new(400, Currency::parse("usd").expect("usd"));
        assert!(partial_refusal(&refund_of(1000), Some(usd)).is_some());
        let close = ProposedAction {
            kind: ActionKind::CloseNoAction,
            ..refund_of(1000)
        };
        assert!(partial_refusal(&close, Some(eur(100))).is_some());
    }
}
