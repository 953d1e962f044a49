//! **Add context** (issue 9 part 2): an operator adds the customer's message
//! or a note to a case, and the case is triaged again in place: audit who
//! added what → fetch Stripe's state now → `assess` with the case's words →
//! `assess::retriage` (every action kept exactly as it is, new proposals
//! added after them) → the record and new actions' states in one write → audit the outcome →
//! the card updated (chat.update) and the new draft in its thread.

use super::lookup::APPROVAL_WINDOW_SECS;
use super::{now, Deps, WorkflowError};
use crate::assess::{assess, retriage, Intake};
use crate::audit::text::OperatorText;
use crate::audit::{AuditKind, NewEntry};
use crate::domain::{ActionStatus, Actor, BillingSnapshot, Case, CaseId, OperatorNote, Triage};
use crate::slack::api::Message;
use crate::slack::request::ContextKind;
use crate::store::cases::StoredCase;
use serde_json::json;

/// How much of the added text the audit entry keeps (it is scrubbed; the
/// whole is in the case record).
const AUDITED_CHARS: usize = 500;

/// What was added, by whom.
#[derive(Debug, Clone)]
pub struct Addition {
    pub case_id: CaseId,
    pub actor: Actor,
    pub kind: ContextKind,
    pub text: OperatorText,
}

/// Adds the context and triages the case again. Returns what the operator
/// is told.
///
/// # Errors
/// Redis (nothing was changed unless the audit says so) or Stripe (the
/// context is audited but the case is unchanged; adding it again is safe).
pub async fn add_context(deps: &Deps, addition: Addition) -> Result<String, WorkflowError> {
    let old = load(deps, &addition.case_id).await?.case;
    let text = addition.text.as_str();
    deps.store
        .append_audit(NewEntry {
            case_id: Some(old.id.clone()),
            action: None,
            kind: AuditKind::ContextAdded,
            actor: addition.actor.clone(),
            at: now(),
            stripe_ids: Vec::new(),
            detail: json!({
                "as": addition.kind.name(),
                "chars": text.chars().count(),
                "text": crate::card::truncate(text, AUDITED_CHARS),
            }),
        })
        .await?;
    let t = now();
    let snapshot = deps.stripe.snapshot(&old.snapshot.query, t).await?;
    // The record is replaced only if nobody changed it meanwhile (another
    // addition, an action chosen on the card): else read it and merge again.
    for _ in 0..MAX_RACES {
        let read = load(deps, &addition.case_id).await?;
        let old = &read.case;
        let case = merged(deps, old, &addition, snapshot.clone(), t);
        let added: Vec<(String, ActionStatus)> = case.actions[old.actions.len()..]
            .iter()
            .map(|a| {
                let status = ActionStatus::Proposed {
                    approvals: Vec::new(),
                    expires_at: t + APPROVAL_WINDOW_SECS,
                };
                (a.key.clone(), status)
            })
            .collect();
        // The record and the added actions' first states in one script:
        // never an action on the card without a state.
        if !deps.store.replace_case(&read, &case, &added).await? {
            continue;
        }
        let keys: Vec<&str> = added.iter().map(|(k, _)| k.as_str()).collect();
        deps.store
            .append_audit(NewEntry {
                case_id: Some(case.id.clone()),
                action: None,
                kind: AuditKind::CaseRetriaged,
                actor: addition.actor.clone(),
                at: now(),
                stripe_ids: Vec::new(),
                detail: json!({ "triage": triage_label(&case.triage), "added_actions": keys }),
            })
            .await?;
        super::action_state::refresh_card(deps, &case).await;
        post_draft(deps, &case).await;
        return Ok(answer(addition.kind, &case, &keys));
    }
    Err(WorkflowError::User(
        "The case changed several times while the context was being added; the context is in the audit trail, add it again to triage the case with it".to_owned(),
    ))
}

/// Compare-and-set attempts when the case record changes under us.
const MAX_RACES: usize = 5;

async fn load(deps: &Deps, case_id: &CaseId) -> Result<StoredCase, WorkflowError> {
    deps.store.load_case_stored(case_id).await?.ok_or_else(|| {
        WorkflowError::User(format!(
            "Case `{case_id}` is unknown or older than 30 days; run the lookup again"
        ))
    })
}

/// The case assessed again over `snapshot` with its words now, merged with
/// `old` (pure).
fn merged(deps: &Deps, old: &Case, addition: &Addition, snapshot: BillingSnapshot, t: i64) -> Case {
    let text = addition.text.as_str();
    let message = match addition.kind {
        // The customer's words so far, then the new ones.
        ContextKind::CustomerMessage => Some(match &old.message {
            Some(before) => format!("{before}\n\n{text}"),
            None => text.to_owned(),
        }),
        ContextKind::OperatorNote => old.message.clone(),
    };
    let fresh = assess(
        Intake {
            id: old.id.clone(),
            requested_by: old.requested_by.clone(),
            message: message.as_deref(),
            now: t,
        },
        snapshot,
        &deps.followup,
    );
    let mut case = retriage(old, fresh, &addition.actor);
    match addition.kind {
        ContextKind::CustomerMessage => {
            case.context.message_given_by = Some(addition.actor.clone());
        }
        ContextKind::OperatorNote => case.context.notes.push(OperatorNote {
            by: addition.actor.clone(),
            at: t,
            text: text.to_owned(),
        }),
    }
    case
}

/// What the operator is told.
fn answer(kind: ContextKind, case: &Case, added: &[&str]) -> String {
    match (kind, added.len()) {
        (ContextKind::OperatorNote, 0) => {
            "Note added to the card and the audit trail; the case was triaged again, with no new proposals".to_owned()
        }
        (_, 0) => format!(
            "Context added; the case was triaged again ({}), with no new proposals. Actions already on the card are unchanged",
            triage_label(&case.triage)
        ),
        (_, n) => {
            let money = case
                .actions
                .iter()
                .any(|a| added.contains(&a.key.as_str()) && a.kind.is_money_moving());
            format!(
                "Context added; the case was triaged again ({}): {n} new proposal(s) on the card ({}). Actions already on the card are unchanged{}",
                triage_label(&case.triage),
                added.join(", "),
                if money { ". They come from the context you added, so another approver approves their refunds and cancellations (four eyes)" } else { "" }
            )
        }
    }
}

fn triage_label(triage: &Triage) -> String {
    match triage {
        Triage::Classified { category, .. } => category.label().to_owned(),
        Triage::NeedsReview { .. } => "needs human review".to_owned(),
        Triage::NotFound => "no customer found".to_owned(),
    }
}

/// The new draft, in the card's thread. Best effort: the case is stored.
async fn post_draft(deps: &Deps, case: &Case) {
    let Some(slack) = &deps.slack else { return };
    let result: Result<(), WorkflowError> = async {
        let Some(location) = deps.store.card_location(&case.id).await? else {
            return Ok(());
        };
        let text = format!(
            "*Customer follow-up (updated with the added context; draft, {})*\n{}",
            case.followup.locale, case.followup.text
        );
        slack
            .post_message(
                &location.channel,
                &Message::text(text),
                Some(location.thread()),
            )
            .await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        e.report("could not post the updated draft");
    }
}
