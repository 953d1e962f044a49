//! Approval (STYLE.md §2 step 5, issues 3 and 8): a click is decided by
//! `policy`; the action's state moves by compare-and-set in Redis
//! (`store::actions`), and only the click whose move into `Executing` wins
//! (a [`Claim`]) runs it. That click fixes the execution plan (amounts,
//! Stripe metadata, idempotency keys) and writes it with the intent to the
//! audit stream before Stripe is called (write-ahead); `execute` runs it.
//! Reject, refusals and expiry live here too. The button's value only names
//! the action: its state and targets are always re-read from Redis.

use super::{log_error, new_reference, now, Deps, WorkflowError};
use crate::audit::{AuditKind, NewEntry};
use crate::card::{self, CardView};
use crate::domain::{
    ActionKey, ActionKind, ActionStatus, Actor, Case, CaseId, ChannelId, Money, ProposedAction,
    ResponseUrl, SlackUserId,
};
use crate::execution::{self, Plan};
use crate::policy::{self, Refusal, Verdict};
use crate::slack::api::Message;
use serde_json::json;

use super::execute::{self, Mode};

/// The reconciler's entry point under its former path (start-up called
/// `approve::reconcile`); it lives in `reconcile` now.
pub use super::reconcile::reconcile;

/// Said when every compare-and-set lost to other clicks.
const RACES_LOST: &str =
    "Several people acted on this at once; look at the card for where it stands";
/// Compare-and-set retries when clicks race; each retry re-reads the state.
const MAX_RACES: usize = 8;

/// Who clicked what, and where to answer them.
#[derive(Debug, Clone)]
pub struct Click {
    pub case_id: CaseId,
    pub key: ActionKey,
    pub actor: SlackUserId,
    /// For an ephemeral answer to the clicker only.
    pub response_url: Option<ResponseUrl>,
    pub channel: Option<ChannelId>,
}

/// What the clicker is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome(pub String);

/// The result of a compare-and-set on an action's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This call moved the state: it alone acts on it.
    Won,
    /// Another click or replica moved it first; re-read and decide again.
    Lost,
}

/// Moves `key` of `case` from `from` to `to` if it is still `from`.
///
/// # Errors
/// Redis errors: the move did not happen.
pub async fn claim(
    deps: &Deps,
    case: &CaseId,
    key: &str,
    from: &ActionStatus,
    to: &ActionStatus,
) -> Result<Claim, WorkflowError> {
    Ok(if deps.store.transition(case, key, from, to).await? {
        Claim::Won
    } else {
        Claim::Lost
    })
}

/// Loads the case and the action, or says why not.
pub(super) async fn load(
    deps: &Deps,
    case_id: &CaseId,
    key: &str,
) -> Result<(Case, ProposedAction), WorkflowError> {
    let case = deps.store.load_case(case_id).await?.ok_or_else(|| {
        WorkflowError::User(format!(
            "Case `{case_id}` is unknown or older than 30 days; run the lookup again"
        ))
    })?;
    let action = case
        .actions
        .iter()
        .find(|a| a.key == key)
        .cloned()
        .ok_or_else(|| WorkflowError::User(format!("Case `{case_id}` has no action `{key}`")))?;
    Ok((case, action))
}

async fn status_of(
    deps: &Deps,
    case_id: &CaseId,
    key: &str,
) -> Result<ActionStatus, WorkflowError> {
    deps.store
        .action_status(case_id, key)
        .await?
        .ok_or_else(|| {
            WorkflowError::User(format!(
                "Action `{key}` of `{case_id}` has no recorded state; run the lookup again"
            ))
        })
}

pub(super) async fn audit(
    deps: &Deps,
    case: &CaseId,
    key: &str,
    kind: AuditKind,
    actor: Actor,
    stripe_ids: Vec<String>,
    detail: serde_json::Value,
) -> Result<(), WorkflowError> {
    deps.store
        .append_audit(NewEntry {
            case_id: Some(case.clone()),
            action: Some(key.to_owned()),
            kind,
            actor,
            at: now(),
            stripe_ids,
            detail,
        })
        .await?;
    Ok(())
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
    let (case, action) = load(deps, &click.case_id, click.key.as_str()).await?;
    for _ in 0..MAX_RACES {
        let stored = status_of(deps, &case.id, &action.key).await?;
        if let Some(planned) = fixed_amount(deps, &case, &action, &stored, amount).await? {
            return Ok(Outcome(format!(
                "This refund's request to Stripe was fixed at {planned} when it was first approved; approve it without changing the amount"
            )));
        }
        let t = now();
        let verdict = policy::may_approve(
            &click.actor,
            &action,
            &case.requested_by,
            &policy::approvable(&stored),
            &deps.policy,
            t,
        );
        match verdict {
            Verdict::Refused(refusal) => {
                return refuse(deps, &case, click, &stored, refusal, "approve").await
            }
            Verdict::Recorded {
                approvals,
                still_needed,
            } => {
                let expires_at = match &stored {
                    ActionStatus::Proposed { expires_at, .. } => *expires_at,
                    _ => t + super::lookup::APPROVAL_WINDOW_SECS,
                };
                let next = ActionStatus::Proposed {
                    approvals,
                    expires_at,
                };
                if !deps
                    .store
                    .transition(&case.id, &action.key, &stored, &next)
                    .await?
                {
                    continue;
                }
                audit(
                    deps,
                    &case.id,
                    &action.key,
                    AuditKind::ApprovalGranted,
                    Actor::Slack(click.actor.clone()),
                    vec![],
                    json!({ "still_needed": still_needed }),
                )
                .await?;
                refresh_card(deps, &case).await;
                return Ok(Outcome(format!("Approval recorded. This action needs {still_needed} more approver(s) before it runs")));
            }
            Verdict::Execute { approved_by } => {
                let executing = ActionStatus::Executing {
                    approved_by: approved_by.clone(),
                    at: t,
                    owner: Some(deps.instance.clone()),
                };
                if claim(deps, &case.id, &action.key, &stored, &executing).await? == Claim::Lost {
                    continue;
                }
                let plan = match fix_plan(
                    deps,
                    &case,
                    &action,
                    &stored,
                    &approved_by,
                    amount,
                    &click.actor,
                )
                .await
                {
                    Ok(plan) => plan,
                    Err(e) => {
                        // Put it back so it can be approved again. If even that
                        // fails, the intent may or may not be in the audit: the
                        // reconciler resumes it or marks it failed, so say that.
                        if matches!(
                            deps.store
                                .transition(&case.id, &action.key, &executing, &stored)
                                .await,
                            Ok(true)
                        ) {
                            return Err(e);
                        }
                        let reference = new_reference();
                        log_error(&e, &reference, "could not record the intent");
                        return Err(WorkflowError::User(format!(
                            "Redis failed while this approval was being recorded, and nothing has been sent to Stripe yet. The bot finishes it by itself (the card's thread will say what Stripe did) or marks it failed so it can be approved again; do not redo it by hand (ref {reference})"
                        )));
                    }
                };
                let private = execute::run(
                    deps,
                    &case,
                    &action,
                    &plan,
                    executing,
                    Actor::Slack(click.actor.clone()),
                    Mode::Execute,
                )
                .await?;
                return Ok(Outcome(private));
            }
        }
    }
    Ok(Outcome(RACES_LOST.to_owned()))
}

/// Handles a Reject (after the modal gave a reason).
///
/// # Errors
/// Redis errors; refusals are `Ok(Outcome)`.
pub async fn reject(deps: &Deps, click: &Click, reason: &str) -> Result<Outcome, WorkflowError> {
    let (case, action) = load(deps, &click.case_id, click.key.as_str()).await?;
    for _ in 0..MAX_RACES {
        let stored = status_of(deps, &case.id, &action.key).await?;
        let t = now();
        if let Err(refusal) = policy::may_reject(&click.actor, &stored, &deps.policy, t) {
            return refuse(deps, &case, click, &stored, refusal, "reject").await;
        }
        let next = ActionStatus::Rejected {
            by: click.actor.clone(),
            at: t,
            reason: reason.to_owned(),
        };
        if !deps
            .store
            .transition(&case.id, &action.key, &stored, &next)
            .await?
        {
            continue;
        }
        audit(
            deps,
            &case.id,
            &action.key,
            AuditKind::ActionRejected,
            Actor::Slack(click.actor.clone()),
            vec![],
            json!({ "reason": reason }),
        )
        .await?;
        refresh_card(deps, &case).await;
        return Ok(Outcome(format!("Rejected: {}", action.summary)));
    }
    Ok(Outcome(RACES_LOST.to_owned()))
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
    let detail = json!({ "reason": format!("{refusal:?}"), "on": on });
    audit(
        deps,
        &case.id,
        click.key.as_str(),
        AuditKind::ApprovalRefused,
        Actor::Slack(click.actor.clone()),
        vec![],
        detail,
    )
    .await?;
    if refusal == Refusal::Expired {
        expire(deps, case, click.key.as_str(), stored).await?;
    }
    tracing::warn!(case_id = %case.id, action = %click.key, reason = ?refusal, on, "click refused");
    Ok(Outcome(refusal.to_string()))
}

async fn expire(
    deps: &Deps,
    case: &Case,
    key: &str,
    stored: &ActionStatus,
) -> Result<(), WorkflowError> {
    if matches!(stored, ActionStatus::Proposed { .. }) {
        let next = ActionStatus::Expired { at: now() };
        if deps.store.transition(&case.id, key, stored, &next).await? {
            audit(
                deps,
                &case.id,
                key,
                AuditKind::ActionExpired,
                Actor::System,
                vec![],
                json!({}),
            )
            .await?;
            refresh_card(deps, case).await;
        }
    }
    Ok(())
}

/// Re-renders the card from the stored states (chat.update). Best effort:
/// the action's outcome is already recorded; a stale card is logged.
pub async fn refresh_card(deps: &Deps, case: &Case) {
    let Some(slack) = &deps.slack else { return };
    let result: Result<(), WorkflowError> = async {
        let Some(location) = deps.store.card_location(&case.id).await? else {
            return Ok(());
        };
        let keys: Vec<String> = case.actions.iter().map(|a| a.key.clone()).collect();
        let statuses = deps.store.action_statuses(&case.id, &keys).await?;
        let t = now();
        let view = CardView {
            case,
            statuses: &statuses,
            now: t,
        };
        let message = Message {
            text: card::fallback_text(case),
            blocks: card::render_blocks(&view),
        };
        slack
            .update_message(&location.channel, &location.ts, &message)
            .await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        log_error(&e, &new_reference(), "could not update the case card");
    }
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

/// Fixes the plan of this run and writes it with the intent (write-ahead:
/// no Stripe call without both). The first run makes the plan; a run after
/// `Failed` (Stripe confirmed the last attempt did nothing) sends the same
/// requests under the next attempt's keys, since Stripe would replay a saved
/// answer for the old ones; a run after an interrupted claim reuses the plan
/// as it is. Who clicked goes in the audit, never in Stripe's parameters.
async fn fix_plan(
    deps: &Deps,
    case: &Case,
    action: &ProposedAction,
    stored: &ActionStatus,
    approved_by: &[SlackUserId],
    amount: Option<Money>,
    clicker: &SlackUserId,
) -> Result<Plan, WorkflowError> {
    let plan = match (deps.store.plan(&case.id, &action.key).await?, stored) {
        // A new attempt has new keys, so it may carry a new (partial) amount.
        (Some(plan), ActionStatus::Failed { .. }) => match amount {
            Some(asked) if Some(asked) != plan.refund_amount() => {
                execution::plan(&case.id, action, &plan.approved_by, Some(asked)).at_attempt(
                    &case.id,
                    &action.key,
                    plan.attempt + 1,
                )
            }
            _ => plan.next_attempt(&case.id, &action.key),
        },
        (Some(plan), _) => plan,
        (None, _) => execution::plan(&case.id, action, approved_by, amount),
    };
    deps.store.save_plan(&case.id, &action.key, &plan).await?;
    let steps: Vec<serde_json::Value> = plan
        .steps
        .iter()
        .map(|s| json!({ "step": s.name, "request": s.step, "idempotency_key": s.idempotency_key, "metadata": s.metadata }))
        .collect();
    let detail = json!({
        "action": action.kind.name(),
        "approved_by": approved_by,
        "amount_minor": plan.refund_amount().map(|m| m.minor),
        "attempt": plan.attempt,
        "new_keys": plan.attempt > 1,
        "steps": steps,
    });
    let mut ids = target_ids(&action.kind);
    for step in &plan.steps {
        let target = execute::step_target(&step.step);
        if !ids.contains(&target) {
            ids.push(target);
        }
    }
    audit(
        deps,
        &case.id,
        &action.key,
        AuditKind::ExecutionIntent,
        Actor::Slack(clicker.clone()),
        ids,
        detail,
    )
    .await?;
    Ok(plan)
}

/// The Stripe objects an action will touch, for the intent entry.
fn target_ids(kind: &ActionKind) -> Vec<String> {
    match kind {
        ActionKind::PortalLink { customer } => vec![customer.to_string()],
        ActionKind::InvoiceLink { invoice } => vec![invoice.to_string()],
        ActionKind::CancelSubscription { subscription, .. } => vec![subscription.to_string()],
        ActionKind::CancelDuplicate {
            subscription,
            refunds,
        } => std::iter::once(subscription.to_string())
            .chain(refunds.iter().map(|r| r.charge.to_string()))
            .collect(),
        ActionKind::Refund(target) => vec![target.charge.to_string()],
        ActionKind::ClarifyBillingModel | ActionKind::CloseNoAction => Vec::new(),
    }
}
