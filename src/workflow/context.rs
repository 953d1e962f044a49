//! **Add context**: an operator adds the customer's message or a note to a
//! case, and the case is triaged again in place: audit who added what (its
//! kind, length and hash; the text stays in the 30-day case record) → fetch
//! Stripe's state now → `assess` with the case's words, each message read on
//! its own → `assess::retriage` (every action kept exactly as it is, new
//! proposals added after them) → `assess::redraft` (the draft states what
//! already ran, in the case's language) → the record and new actions' states
//! in one write → audit the outcome → the card updated (chat.update) and,
//! when it changed, the new draft in its thread. The record stays bounded:
//! the customer's words to [`CUSTOMER_WORDS_MAX_CHARS`] (the newest kept),
//! notes to [`MAX_NOTES`].

use super::case_card::{post_in_thread, refresh, CardPlace};
use super::{now, Deps, WorkflowError};
use crate::assess::{assess, redraft, retriage, Intake};
use crate::audit::text::OperatorText;
use crate::audit::{CaseRetriaged, ContextAdded, NewEntry};
use crate::card::thread::{self, DraftOccasion};
use crate::domain::text::CUSTOMER_WORDS_MAX_CHARS;
use crate::domain::ActionKey;
use crate::domain::{ActionStatus, Actor, BillingSnapshot, Case, CaseId, OperatorNote, Triage};
use crate::slack::request::ContextKind;
use crate::store::cases::StoredCase;

/// At most this many operator notes stay on a case; the oldest go first.
pub const MAX_NOTES: usize = 20;

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
pub async fn add_context(
    deps: &Deps,
    addition: Addition,
    place: &CardPlace,
) -> Result<String, WorkflowError> {
    let old = load(deps, &addition.case_id).await?.case;
    let text = addition.text.as_str();
    deps.store
        .append_audit(
            // Not the text: the audit stream is kept for good and read from
            // any channel; the customer's words live in the case record.
            NewEntry::new(
                ContextAdded {
                    given_as: addition.kind.name().to_owned(),
                    chars: text.chars().count(),
                    sha256: addition.text.sha256(),
                },
                addition.actor.clone(),
                now(),
            )
            .for_case(old.id.clone()),
        )
        .await?;
    let t = now();
    let snapshot = deps.stripe.snapshot(&old.snapshot.query, t).await?;
    // The record is replaced only if nobody changed it meanwhile (another
    // addition, an action chosen on the card): else read it and merge again.
    for _ in 0..MAX_RACES {
        let read = load(deps, &addition.case_id).await?;
        let old = &read.case;
        let statuses = super::case_card::states_of(deps, old).await?;
        let (case, trimmed) = merged(deps, old, &addition, snapshot.clone(), &statuses, t);
        let added: Vec<(ActionKey, ActionStatus)> = case.actions[old.actions.len()..]
            .iter()
            .map(|a| {
                let status = crate::policy::fresh_state(t);
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
            .append_audit(
                NewEntry::new(
                    CaseRetriaged {
                        triage: triage_label(&case.triage),
                        added_actions: keys.iter().map(|k| (*k).to_owned()).collect(),
                    },
                    addition.actor.clone(),
                    now(),
                )
                .for_case(case.id.clone()),
            )
            .await?;
        refresh(deps, place, &case).await;
        // A note that changes nothing for the customer posts no new draft.
        if case.followup != old.followup {
            let text = thread::draft_message(
                DraftOccasion::AfterContext,
                &case.followup.locale,
                None,
                &case.followup.text,
                None,
            );
            if let Err(e) = post_in_thread(deps, place, text).await {
                e.report("could not post the updated draft");
            }
        }
        return Ok(answer(addition.kind, &case, &keys, trimmed));
    }
    Err(WorkflowError::User(
        "The case changed several times while the context was being added, and it was not added: add it again to triage the case with it".to_owned(),
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

/// What an addition pushed out of the case record to keep it bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trimmed {
    Nothing,
    /// The customer's oldest words were cut ([`CUSTOMER_WORDS_MAX_CHARS`]).
    OldestWords,
    /// This many of the oldest notes were dropped ([`MAX_NOTES`]).
    OldestNotes(usize),
}

/// The case assessed again over `snapshot` with its words now, merged with
/// `old` whose actions stand at `statuses` (pure).
fn merged(
    deps: &Deps,
    old: &Case,
    addition: &Addition,
    snapshot: BillingSnapshot,
    statuses: &[(ActionKey, ActionStatus)],
    t: i64,
) -> (Case, Trimmed) {
    let given = OperatorNote {
        by: addition.actor.clone(),
        at: t,
        text: addition.text.as_str().to_owned(),
    };
    // The case's words and notes with the addition, bounded.
    let mut with = old.clone();
    let trimmed = match addition.kind {
        ContextKind::CustomerMessage => {
            if with.add_message(given, CUSTOMER_WORDS_MAX_CHARS) {
                Trimmed::OldestWords
            } else {
                Trimmed::Nothing
            }
        }
        ContextKind::OperatorNote => match with.context.add_note(given, MAX_NOTES) {
            0 => Trimmed::Nothing,
            n => Trimmed::OldestNotes(n),
        },
    };
    let fresh = assess(
        Intake {
            id: old.id.clone(),
            requested_by: old.requested_by.clone(),
            message: with.message.as_deref(),
            added: &with.context.messages,
            now: t,
        },
        snapshot,
        &deps.followup,
    );
    let mut case = retriage(&with, fresh, &addition.actor);
    case.followup = redraft(old, &case, statuses, t, &deps.followup);
    (case, trimmed)
}

/// What the operator is told.
fn answer(kind: ContextKind, case: &Case, added: &[&str], trimmed: Trimmed) -> String {
    let told = match (kind, added.len()) {
        (ContextKind::OperatorNote, 0) => {
            "Note added to the card; the case was triaged again, with no new proposals".to_owned()
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
    };
    match trimmed {
        Trimmed::Nothing => told,
        Trimmed::OldestWords => format!(
            "{told}. The customer's oldest words were cut: a case keeps the newest {CUSTOMER_WORDS_MAX_CHARS} characters of them"
        ),
        Trimmed::OldestNotes(n) => format!(
            "{told}. The {n} oldest note(s) were dropped: a case keeps the newest {MAX_NOTES}"
        ),
    }
}

fn triage_label(triage: &Triage) -> String {
    match triage {
        Triage::Classified { category, .. } => category.label().to_owned(),
        Triage::NeedsReview { .. } => "needs human review".to_owned(),
        Triage::NotFound => "no customer found".to_owned(),
    }
}
