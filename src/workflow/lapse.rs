//! Lapses: an action proposed and not approved within the approval window
//! (`policy::APPROVAL_WINDOW_SECS`) is marked expired, once, by whichever
//! replica's sweep (or click) gets there first: audited
//! (`action_expired`), its card redrawn, its requester told once, and the
//! Homes that showed it redrawn. The store keeps each proposed action's
//! lapse time indexed, so a sweep is one read when nothing is due.

use super::action_state::{audit, claim, Claim};
use super::case_card::{refresh, CardPlace};
use super::{now, Deps, WorkflowError};
use crate::audit::ActionExpired;
use crate::domain::{ActionKey, ActionStatus, Actor, Case};

/// At most this many lapsed actions are handled per sweep; the rest wait
/// for the next one.
const MAX_PER_SWEEP: usize = 100;

/// Marks the actions whose window closed as expired; returns how many this
/// call marked.
///
/// # Errors
/// Redis errors: what was not marked is found again by the next sweep.
pub async fn sweep(deps: &Deps) -> Result<usize, WorkflowError> {
    let t = now();
    let mut lapsed = 0;
    for (case_id, key) in deps.store.due_actions(t, MAX_PER_SWEEP).await? {
        let stored = deps.store.action_status(&case_id, &key).await?;
        if let Some(stored @ ActionStatus::Proposed { expires_at, .. }) = stored {
            if t > expires_at {
                if let Some(case) = deps.store.load_case(&case_id).await? {
                    let place = CardPlace::of(deps, &case_id).await?;
                    if expire(deps, &case, &key, &stored, &place).await? {
                        lapsed += 1;
                    }
                }
            }
        }
        // Lapsed now, or left `Proposed` before: off the index either way
        // (a later proposal notes it again).
        deps.store.forget_due(&case_id, &key).await?;
    }
    Ok(lapsed)
}

/// Moves a proposed action whose window closed to `Expired`; when this call
/// made the move, audits it, redraws the card and tells the requester.
/// Returns whether this call made the move.
///
/// # Errors
/// Redis errors.
pub async fn expire(
    deps: &Deps,
    case: &Case,
    key: &ActionKey,
    stored: &ActionStatus,
    place: &CardPlace,
) -> Result<bool, WorkflowError> {
    if !matches!(stored, ActionStatus::Proposed { .. }) {
        return Ok(false);
    }
    let next = ActionStatus::Expired { at: now() };
    if claim(&deps.store, &case.id, key, stored, &next).await? == Claim::Lost {
        return Ok(false);
    }
    audit(deps, &case.id, key, ActionExpired {}, Actor::System, vec![]).await?;
    tracing::info!(case_id = %case.id, action = %key, "action lapsed without approval");
    refresh(deps, place, case).await;
    if let Some(action) = case.actions.iter().find(|a| &a.key == key) {
        super::notify::lapsed(deps, case, action, place).await;
    }
    Ok(true)
}
