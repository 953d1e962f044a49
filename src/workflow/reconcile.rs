//! The reconciler and the hand-over: finishes actions that a replica left
//! `Executing` or `Verifying`. Each such action names its owner (a
//! per-process instance id) and the time its lease began; another replica
//! takes it over at once when the owner announced it is gone ([`hand_over`]),
//! otherwise only after the lease ran out. Taking over is a compare-and-set,
//! so one replica does it. Nothing is guessed: an interrupted run first asks
//! Stripe what its steps did (`execute`).

use super::action_state::{audit, claim, load, Claim};
use super::case_card::{refresh, CardPlace};
use super::execute::{self, Mode};
use super::{now, Deps, WorkflowError};
use crate::audit::{AuditKind, ExecutionFailed, ExecutionReconciled, PreviousOwner};
use crate::domain::ActionKey;
use crate::domain::{ActionStatus, Actor};
use crate::plan;

/// How long an owner may hold an `Executing` / `Verifying` action without
/// announcing its exit before another replica takes it over: longer than a
/// run (Stripe's 20 s timeout per request, plus verification).
pub const LEASE_SECS: i64 = 120;

/// Whether another replica may take over an action claimed at `claimed_at`.
pub fn takeover_due(claimed_at: i64, owner_gone: bool, now: i64) -> bool {
    owner_gone || now - claimed_at >= LEASE_SECS
}

/// Announces that this replica is gone, so that the actions it still owns
/// are taken over at once by the others. Call it as the process stops,
/// after its grace period for in-flight work.
///
/// # Errors
/// Redis errors: the others then wait for the leases to run out.
pub async fn hand_over(deps: &Deps) -> Result<(), WorkflowError> {
    deps.store.announce_gone(&deps.instance).await?;
    tracing::info!(instance = %deps.instance, "announced exit; other replicas take over unfinished actions");
    Ok(())
}

/// Finishes actions whose owner is gone or whose lease ran out. An
/// `Executing` one with its intent in the audit may have reached Stripe: its
/// run resumes, checking Stripe before each step and sending what is not
/// done under the same keys. One without an intent never reached Stripe and
/// is marked failed. A `Verifying` one is settled by asking Stripe only.
///
/// # Errors
/// Redis errors.
pub async fn reconcile(deps: &Deps) -> Result<usize, WorkflowError> {
    let mut n = 0;
    for (case_id, key) in deps.store.executing_actions().await? {
        let Ok((case, action)) = load(deps, &case_id, &key).await else {
            continue;
        };
        let Some(stored) = deps.store.action_status(&case_id, &key).await? else {
            continue;
        };
        let (approved_by, at, owner, verifying) = match &stored {
            ActionStatus::Executing {
                approved_by,
                at,
                owner,
            } => (approved_by, *at, owner, None),
            ActionStatus::Verifying {
                approved_by,
                at,
                owner,
                reason,
            } => (approved_by, *at, owner, Some(reason.clone())),
            _ => continue,
        };
        let gone = match owner {
            Some(owner) if *owner != deps.instance => deps.store.is_gone(owner).await?,
            _ => false,
        };
        if !takeover_due(at, gone, now()) {
            continue; // its owner may still be on it
        }
        let mine = Some(deps.instance.clone());
        let taken = match &verifying {
            None => ActionStatus::Executing {
                approved_by: approved_by.clone(),
                at: now(),
                owner: mine,
            },
            Some(reason) => ActionStatus::Verifying {
                approved_by: approved_by.clone(),
                at: now(),
                owner: mine,
                reason: reason.clone(),
            },
        };
        if claim(&deps.store, &case_id, &key, &stored, &taken).await? == Claim::Lost {
            continue;
        }
        n += 1;
        let place = CardPlace::of(deps, &case_id).await?;
        let from = PreviousOwner {
            from_owner: owner.clone(),
            owner_gone: gone,
        };
        // A Verifying action is settled by asking Stripe only; an Executing
        // one whose intent is in the audit may have reached Stripe, so its run
        // resumes (checking Stripe before each step).
        let run_mode = if verifying.is_some() {
            Some((
                Mode::VerifyOnly,
                "verifying",
                "verifying an unclear action with Stripe",
            ))
        } else if intent_pending(deps, &case_id, &key).await? {
            Some((Mode::Resume, "resumed", "resuming an interrupted action"))
        } else {
            None
        };
        if let Some((mode, what, message)) = run_mode {
            tracing::info!(case_id = %case_id, action = %key, "{message}");
            let plan = match deps.store.plan(&case_id, &key).await? {
                Some(plan) => plan,
                None => plan::plan(&case_id, &action, approved_by, None),
            };
            audit(
                deps,
                &case_id,
                &key,
                match mode {
                    Mode::VerifyOnly => ExecutionReconciled::verifying(from),
                    Mode::Resume | Mode::Execute => ExecutionReconciled::resumed(true, from),
                },
                Actor::System,
                vec![],
            )
            .await?;
            if let Err(e) = execute::run(
                deps,
                execute::Job {
                    case: &case,
                    action: &action,
                    plan: &plan,
                    place: &place,
                },
                taken,
                Actor::System,
                mode,
            )
            .await
            {
                e.report(&format!("could not record a {what} action; will retry"));
            }
        } else {
            let failed = ActionStatus::Failed {
                approved_by: approved_by.clone(),
                at: now(),
                error: "interrupted before Stripe was called; approve again".to_owned(),
                notes: Vec::new(),
            };
            if claim(&deps.store, &case_id, &key, &taken, &failed).await? == Claim::Won {
                audit(
                    deps,
                    &case_id,
                    &key,
                    ExecutionReconciled::resumed(false, from),
                    Actor::System,
                    vec![],
                )
                .await?;
                let failed = ExecutionFailed::nothing_sent(
                    &action.kind,
                    "interrupted before Stripe was called",
                );
                audit(deps, &case_id, &key, failed, Actor::System, vec![]).await?;
                refresh(deps, &place, &case).await;
            }
        }
    }
    Ok(n)
}

/// The action's last intent has no result after it: Stripe may have been
/// called and the outcome was never recorded.
async fn intent_pending(
    deps: &Deps,
    case_id: &crate::domain::CaseId,
    key: &ActionKey,
) -> Result<bool, WorkflowError> {
    let trail = deps.store.audit_trail(case_id).await?;
    let last = trail
        .iter()
        .rev()
        .filter(|(_, e)| e.action.as_deref() == Some(key.as_str()))
        .find(|(_, e)| {
            matches!(
                e.kind,
                AuditKind::ExecutionIntent
                    | AuditKind::ExecutionSucceeded
                    | AuditKind::ExecutionFailed
            )
        });
    Ok(last.is_some_and(|(_, e)| e.kind == AuditKind::ExecutionIntent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_is_taken_over_at_once_when_its_owner_is_gone_and_otherwise_after_the_lease() {
        let claimed = 1_000;
        assert!(
            takeover_due(claimed, true, claimed + 1),
            "owner announced its exit"
        );
        assert!(
            !takeover_due(claimed, false, claimed + LEASE_SECS - 1),
            "owner may still be on it"
        );
        assert!(
            takeover_due(claimed, false, claimed + LEASE_SECS),
            "lease ran out"
        );
    }
}
