//! The write-ahead intent: before the first Stripe call of a run, its
//! [`Plan`] (every request, amount, metadata and idempotency key) is fixed,
//! stored beside the action and written to the audit stream. No Stripe call
//! is made without both.

use super::action_state::audit;
use super::{Deps, WorkflowError};
use crate::audit::ExecutionIntent;
use crate::domain::{ActionStatus, Actor, Case, Money, ProposedAction, SlackUserId};
use crate::plan::{self, Plan};

/// Fixes the plan of this run and writes it with the intent. The first run
/// makes the plan; a run after `Failed` (Stripe confirmed the last attempt
/// did nothing) sends the same requests under the next attempt's keys,
/// since Stripe would replay a saved answer for the old ones; a run after
/// an interrupted claim reuses the plan as it is. Who clicked goes in the
/// audit, never in Stripe's parameters.
///
/// # Errors
/// Redis errors: the intent may or may not be recorded.
pub async fn fix_plan(
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
                plan::plan(&case.id, action, &plan.approved_by, Some(asked)).at_attempt(
                    &case.id,
                    &action.key,
                    plan.attempt + 1,
                )
            }
            _ => plan.next_attempt(&case.id, &action.key),
        },
        (Some(plan), _) => plan,
        (None, _) => plan::plan(&case.id, action, approved_by, amount),
    };
    deps.store.save_plan(&case.id, &action.key, &plan).await?;
    let mut ids = action.kind.stripe_ids();
    for step in &plan.steps {
        let target = step.step.target();
        if !ids.contains(&target) {
            ids.push(target);
        }
    }
    audit(
        deps,
        &case.id,
        &action.key,
        ExecutionIntent::of(&action.kind, approved_by, &plan),
        Actor::Slack(clicker.clone()),
        ids,
    )
    .await?;
    // Before money moves, the claim and this intent are on a replica
    // (`REDIS_WAIT_REPLICAS`): a failover cannot hand the action back to a
    // second approver while this run's Stripe call is in flight.
    deps.store.replicated().await?;
    Ok(plan)
}
