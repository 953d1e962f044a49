//! "More actions…": an operator's choice becomes an action on the case,
//! marked as chosen by them, stored with its first state in one
//! compare-and-set (so two choices at once never lose one another, and the
//! same choice twice is refused as a duplicate), audited, and shown on the
//! card with Approve / Reject. From there it is approved, executed and
//! audited exactly as a proposal is (`approve`, `execute`).

use super::action_state::audit;
use super::approve::{Outcome, MAX_RACES, RACES_LOST};
use super::case_card::{refresh, CardPlace};
use super::{now, Deps, WorkflowError};
use crate::actions::choose::{self, Choice, ChoiceRefusal};
use crate::audit::{ActionChosen, ApprovalRefused, NewEntry};
use crate::domain::ActionKey;
use crate::domain::{ActionKind, ActionStatus, Actor, CaseId, SlackUserId};
use crate::store::cases::StoredCase;

/// A case as stored now, with its actions' states, and what a choice comes
/// to on it.
pub struct Checked {
    pub stored: StoredCase,
    pub statuses: Vec<(ActionKey, ActionStatus)>,
    pub kind: Result<ActionKind, ChoiceRefusal>,
}

/// Reads the case and checks `choice` on it (nothing is stored).
///
/// # Errors
/// Redis errors; an unknown case is a [`WorkflowError::User`].
pub async fn check(
    deps: &Deps,
    case_id: &CaseId,
    choice: &Choice,
) -> Result<Checked, WorkflowError> {
    let stored = deps.store.load_case_stored(case_id).await?.ok_or_else(|| {
        WorkflowError::User(format!(
            "Case `{case_id}` is unknown or older than 30 days; run the lookup again"
        ))
    })?;
    let statuses = super::case_card::states_of(deps, &stored.case).await?;
    let kind = choose::validate(&stored.case, &statuses, choice, now());
    Ok(Checked {
        stored,
        statuses,
        kind,
    })
}

/// A refused choice: audited, and its reason told.
///
/// # Errors
/// Redis errors (the refusal could not be audited).
pub async fn refused(
    deps: &Deps,
    case_id: &CaseId,
    chooser: &SlackUserId,
    refusal: &ChoiceRefusal,
) -> Result<Outcome, WorkflowError> {
    let entry = NewEntry::new(
        ApprovalRefused::choice(refusal),
        Actor::Slack(chooser.clone()),
        now(),
    )
    .for_case(case_id.clone());
    deps.store.append_audit(entry).await?;
    tracing::warn!(case_id = %case_id, reason = ?refusal, "choice refused");
    Ok(Outcome(format!("Not added: {refusal}")))
}

/// Puts `choice` on case `case_id` as chosen by `chooser`, or says why not.
///
/// # Errors
/// Redis errors; refusals (with their reason) are `Ok(Outcome)`.
pub async fn choose(
    deps: &Deps,
    case_id: &CaseId,
    chooser: &SlackUserId,
    choice: &Choice,
    place: &CardPlace,
) -> Result<Outcome, WorkflowError> {
    for _ in 0..MAX_RACES {
        let Checked { stored, kind, .. } = check(deps, case_id, choice).await?;
        let kind = match kind {
            Ok(kind) => kind,
            Err(refusal) => return refused(deps, case_id, chooser, &refusal).await,
        };
        let action = choose::chosen_action(&stored.case, kind, chooser);
        let mut updated = stored.case.clone();
        updated.actions.push(action.clone());
        let first = crate::policy::fresh_state(now());
        if !deps
            .store
            .add_action(&stored, &updated, &action.key, &first)
            .await?
        {
            continue; // the case changed meanwhile: decide on it as it is now
        }
        let amount_minor = match &action.kind {
            ActionKind::Refund(target) => Some(target.amount.minor),
            _ => None,
        };
        audit(
            deps,
            case_id,
            &action.key,
            ActionChosen {
                action: action.kind.name().to_owned(),
                amount_minor,
                summary: action.summary.clone(),
            },
            Actor::Slack(chooser.clone()),
            action.kind.stripe_ids(),
        )
        .await?;
        refresh(deps, place, &updated).await;
        super::notify::waiting(deps, &updated, place).await;
        let who = if action.kind.is_money_moving() {
            "another approver (not you: you chose it)"
        } else {
            "an approver"
        };
        return Ok(Outcome(format!(
            "Added to the card as {}: {}. It runs only when {who} approves it",
            action.key, action.summary
        )));
    }
    Ok(Outcome(RACES_LOST.to_owned()))
}
