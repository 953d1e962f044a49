//! "More actions…" on a case card: the menu's option (from the card's
//! channel only), then a modal where the choice needs more (a refund's
//! amount; a cancellation's timing; a pause's terms), then `workflow::choose`, which adds
//! the action to the card as chosen by the operator. A choice the case
//! does not allow is refused with its reason: in the modal, under the
//! field, or in an ephemeral answer.

use super::buttons::{from_card_channel, CardClick};
use super::{field_error, tell_in_channel, tell_now, Ack, Answer, BEFORE_ACK_BUDGET};
use crate::actions::choose::{validate, CaseChoice, Choice};
use crate::actions::terms;
use crate::card::{self, modals};
use crate::domain::choice::Terms;
use crate::domain::surface::field_block;
use crate::domain::{CaseId, SlackUserId, TriggerId};
use crate::slack::request::ButtonsRequest;
use crate::workflow::case_card::CardPlace;
use crate::workflow::choose::{self, Checked};
use crate::workflow::{now, Deps, WorkflowError};
use std::sync::Arc;
use tracing::Instrument;

/// An option of the menu was picked.
pub(super) fn on_menu(deps: &Arc<Deps>, clicks: &ButtonsRequest, target: &CaseChoice) {
    let deps = Arc::clone(deps);
    let (target, user, channel, response_url, trigger_id) = (
        target.clone(),
        clicks.user.clone(),
        clicks.channel.clone(),
        clicks.response_url.clone(),
        clicks.trigger_id.clone(),
    );
    let span = tracing::info_span!("more_actions", case_id = %target.case_id, actor = %user);
    deps.tasks.clone().spawn(
        async move {
            let click = CardClick {
                case_id: &target.case_id,
                key: None,
                actor: &user,
                channel: channel.as_ref(),
                response_url: response_url.as_ref(),
            };
            let Some(place) = from_card_channel(&deps, &click, card::MORE_ACTIONS_ACTION_ID).await
            else {
                return;
            };
            let answer = match open_form(&deps, &target, &user, &trigger_id, &place).await {
                Ok(None) => return,
                Ok(Some(answer)) => answer,
                Err(e) => e.report("more actions failed"),
            };
            tell_now(&deps, response_url.as_ref(), &answer).await;
        }
        .instrument(span),
    );
}

/// Opens the form the choice needs (`actions::terms::form`), once the case
/// allows it; a choice that needs none is added at once. `None` when there
/// is nothing more to say (the modal is open); otherwise what to tell.
async fn open_form(
    deps: &Deps,
    target: &CaseChoice,
    user: &SlackUserId,
    trigger_id: &TriggerId,
    place: &CardPlace,
) -> Result<Option<String>, WorkflowError> {
    let Checked {
        stored,
        statuses,
        kind,
    } = choose::check(deps, &target.case_id, &target.choice).await?;
    if let Err(refusal) = kind {
        return Ok(Some(
            choose::refused(deps, &target.case_id, user, &refusal)
                .await?
                .0,
        ));
    }
    let case = &stored.case;
    let Some(form) = terms::form(case, &statuses, &target.choice, now()) else {
        let added = choose::choose(deps, &target.case_id, user, &target.choice, place).await?;
        return Ok(Some(added.0));
    };
    let view = modals::choice_modal(&case.id, &target.choice.code(), &form);
    let Some(slack) = &deps.slack else {
        return Ok(None);
    };
    match slack.open_modal(trigger_id, view).await {
        Ok(()) => Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "could not open the modal");
            Ok(Some(
                "Slack did not open the form in time; choose again".to_owned(),
            ))
        }
    }
}

/// A "More actions…" form submitted: its terms are read into the choice
/// and the choice is checked against the stored case before Slack is
/// answered, so a refusal shows under its field with its reason; the
/// choice is added after the answer.
pub(super) async fn on_terms(
    deps: &Arc<Deps>,
    user: &SlackUserId,
    target: CaseChoice,
    entered: Terms,
) -> Answer {
    let checked = async {
        let Checked {
            stored, statuses, ..
        } = choose::check(deps, &target.case_id, &target.choice)
            .await
            .map_err(|e| (None, e.user_message("-")))?;
        let case = &stored.case;
        let choice = terms::with_terms(case, &target.choice, &entered, now())
            .map_err(|e| (Some(e.field), e.message))?;
        match validate(case, &statuses, &choice, now()) {
            Ok(_) => Ok(choice),
            Err(refusal) => {
                let reason = refusal.to_string();
                // Audited in the background; the reason shows at once.
                let (deps, case_id, user) =
                    (Arc::clone(deps), target.case_id.clone(), user.clone());
                deps.tasks.clone().spawn(async move {
                    if let Err(e) = choose::refused(&deps, &case_id, &user, &refusal).await {
                        e.report("could not audit a refused choice");
                    }
                });
                Err((None, reason))
            }
        }
    };
    // Slack waits 3 s for this answer, Redis or not.
    let checked = tokio::time::timeout(BEFORE_ACK_BUDGET, checked)
        .await
        .unwrap_or_else(|_| Err((None, "Redis did not answer in time, so the choice could not be checked; submit again in a moment".to_owned())));
    match checked {
        Ok(choice) => Answer::then(
            Ack::Empty,
            chosen(deps, target.case_id, user.clone(), choice),
        ),
        Err((field, message)) => {
            tracing::warn!(choice = %target.choice.code(), "chosen terms refused");
            // A refusal of the whole choice shows under its form's first field.
            Answer::only(match field.or_else(|| terms::first_field(&target.choice)) {
                Some(field) => field_error(&field_block(field), &message),
                // A choice with no form is never submitted by Slack.
                None => Ack::Empty,
            })
        }
    }
}

/// Adds the choice and tells the chooser, ephemerally in the card's
/// channel (a modal submission has no `response_url`).
fn chosen(
    deps: &Arc<Deps>,
    case_id: CaseId,
    user: SlackUserId,
    choice: Choice,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let deps = Arc::clone(deps);
    let span = tracing::info_span!("choose", case_id = %case_id, actor = %user);
    async move {
        let place = match CardPlace::of(&deps, &case_id).await {
            Ok(place) => place,
            Err(e) => {
                e.report("choosing an action failed");
                return;
            }
        };
        let answer = match choose::choose(&deps, &case_id, &user, &choice, &place).await {
            Ok(outcome) => outcome.0,
            Err(e) => e.report("choosing an action failed"),
        };
        if let Some(channel) = place.channel() {
            tell_in_channel(&deps, &channel, &user, &answer).await;
        }
    }
    .instrument(span)
}
