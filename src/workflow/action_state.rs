//! An action's stored state, shared by the approval, the execution and the
//! reconciler: loading it, moving it by compare-and-set (a [`Claim`] says
//! whether this call made the move), its audit entries and its card.

use super::{now, Deps, WorkflowError};
use crate::audit::{AuditEvent, NewEntry};
use crate::domain::ActionKey;
use crate::domain::{ActionStatus, Actor, Case, CaseId, ProposedAction};
use crate::store::{Store, StoreError};

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
    store: &Store,
    case: &CaseId,
    key: &ActionKey,
    from: &ActionStatus,
    to: &ActionStatus,
) -> Result<Claim, StoreError> {
    Ok(if store.transition(case, key, from, to).await? {
        Claim::Won
    } else {
        Claim::Lost
    })
}

/// Loads the case and the action, or says why not.
///
/// # Errors
/// Redis errors; an unknown case or action is a [`WorkflowError::User`].
pub async fn load(
    deps: &Deps,
    case_id: &CaseId,
    key: &ActionKey,
) -> Result<(Case, ProposedAction), WorkflowError> {
    let case = deps.store.load_case(case_id).await?.ok_or_else(|| {
        WorkflowError::User(format!(
            "Case `{case_id}` is unknown or older than 30 days; run the lookup again"
        ))
    })?;
    let action = case
        .actions
        .iter()
        .find(|a| &a.key == key)
        .cloned()
        .ok_or_else(|| WorkflowError::User(format!("Case `{case_id}` has no action `{key}`")))?;
    Ok((case, action))
}

/// The action's stored state, or why there is none.
///
/// # Errors
/// Redis errors; a missing state is a [`WorkflowError::User`].
pub async fn status_of(
    deps: &Deps,
    case_id: &CaseId,
    key: &ActionKey,
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

/// Appends an entry about action `key` of `case` to the audit stream.
///
/// # Errors
/// Redis errors.
pub async fn audit(
    deps: &Deps,
    case: &CaseId,
    key: &ActionKey,
    event: impl Into<AuditEvent>,
    actor: Actor,
    stripe_ids: Vec<String>,
) -> Result<(), WorkflowError> {
    deps.store
        .append_audit(
            NewEntry::new(event, actor, now())
                .for_case(case.clone())
                .on_action(key.as_str())
                .with_stripe_ids(stripe_ids),
        )
        .await?;
    Ok(())
}
