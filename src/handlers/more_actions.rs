//! "More actions…" on a case card: the menu's option (from the card's
//! channel only), then a modal where the choice needs more (a refund's
//! amount; a cancellation's timing; a pause's terms), then `workflow::choose`, which adds
//! the action to the card as chosen by the operator. A choice the case
//! does not allow is refused with its reason: in the modal, under the
//! field, or in an ephemeral answer.

use super::buttons::{from_card_channel, CardClick};
use super::{field_error, tell_in_channel, tell_now, Ack, BEFORE_ACK_BUDGET};
use crate::actions::choose::{left_to_refund, validate, CaseChoice, Choice};
use crate::card::{self, modals};
use crate::domain::{CaseId, Pause, PauseBehavior, SlackUserId, TriggerId};
use crate::slack::request::{AmountTooLong, ButtonsRequest, TypedAmount};
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
            let answer = match &target.choice {
                Choice::Refund { .. }
                | Choice::Cancel { .. }
                | Choice::PauseCollection { pause: Some(_), .. } => {
                    match open_form(&deps, &target, &user, &trigger_id).await {
                        Ok(None) => return,
                        Ok(Some(answer)) => answer,
                        Err(e) => e.report("more actions failed"),
                    }
                }
                Choice::PortalLink { .. }
                | Choice::InvoiceLink { .. }
                | Choice::PauseCollection { pause: None, .. } => {
                    match choose::choose(&deps, &target.case_id, &user, &target.choice, &place)
                        .await
                    {
                        Ok(outcome) => outcome.0,
                        Err(e) => e.report("more actions failed"),
                    }
                }
            };
            tell_now(&deps, response_url.as_ref(), &answer).await;
        }
        .instrument(span),
    );
}

/// Opens the modal that asks for the rest of a refund or a cancellation,
/// once the case allows the choice; otherwise the refusal's text.
async fn open_form(
    deps: &Deps,
    target: &CaseChoice,
    user: &SlackUserId,
    trigger_id: &TriggerId,
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
    let code = target.choice.code();
    let view = match &target.choice {
        Choice::Refund { charge, .. } => {
            let Some(found) = case.snapshot.charges().find(|c| &c.id == charge) else {
                return Ok(Some(format!("{charge} is not on this case")));
            };
            let left = left_to_refund(case, &statuses, found);
            modals::choose_refund_modal(&case.id, &code, charge, left)
        }
        Choice::Cancel { subscription, .. } => {
            let at_end = Choice::Cancel {
                subscription: subscription.clone(),
                at_period_end: true,
            };
            let offer_end = validate(case, &statuses, &at_end, now()).is_ok();
            modals::choose_cancel_modal(&case.id, &code, subscription, offer_end)
        }
        Choice::PauseCollection {
            subscription,
            pause: Some(_),
        } => modals::choose_pause_modal(&case.id, &code, subscription),
        Choice::PortalLink { .. }
        | Choice::InvoiceLink { .. }
        | Choice::PauseCollection { pause: None, .. } => return Ok(None),
    };
    let Some(slack) = &deps.slack else {
        return Ok(None);
    };
    match slack.open_modal(trigger_id.as_str(), view).await {
        Ok(()) => Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "could not open the modal");
            Ok(Some(
                "Slack did not open the form in time; choose again".to_owned(),
            ))
        }
    }
}

/// The refund modal: the amount is checked against the stored case before
/// Slack is answered, so a refusal shows under the field with its reason.
pub(super) async fn on_refund_amount(
    deps: &Arc<Deps>,
    user: &SlackUserId,
    target: CaseChoice,
    typed: Result<TypedAmount, AmountTooLong>,
) -> Ack {
    let Choice::Refund { charge, .. } = &target.choice else {
        return Ack::Empty;
    };
    let checked = async {
        let typed = typed.map_err(|e| e.to_string())?;
        let Checked {
            stored, statuses, ..
        } = choose::check(deps, &target.case_id, &target.choice)
            .await
            .map_err(|e| e.user_message("-"))?;
        let currency = stored
            .case
            .snapshot
            .charges()
            .find(|c| &c.id == charge)
            .map(|c| c.amount.currency)
            .ok_or_else(|| format!("{charge} is not on this case"))?;
        let amount = typed.in_currency(currency).map_err(|e| e.to_string())?;
        let choice = Choice::Refund {
            charge: charge.clone(),
            amount: Some(amount),
        };
        match validate(&stored.case, &statuses, &choice, now()) {
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
                Err(reason)
            }
        }
    };
    // Slack waits 3 s for this answer, Redis or not.
    let checked = tokio::time::timeout(BEFORE_ACK_BUDGET, checked)
        .await
        .unwrap_or_else(|_| Err("Redis did not answer in time, so the amount could not be checked; submit again in a moment".to_owned()));
    match checked {
        Ok(choice) => {
            spawn_choose(deps, target.case_id, user.clone(), choice);
            Ack::Empty
        }
        Err(message) => {
            tracing::warn!("chosen refund refused");
            field_error(modals::AMOUNT_BLOCK, &message)
        }
    }
}

/// The cancellation modal: now or at the period's end.
pub(super) fn on_cancel_timing(
    deps: &Arc<Deps>,
    user: &SlackUserId,
    target: CaseChoice,
    at_period_end: Option<bool>,
) -> Ack {
    let Choice::Cancel { subscription, .. } = target.choice else {
        return Ack::Empty;
    };
    let Some(at_period_end) = at_period_end else {
        return field_error(modals::WHEN_BLOCK, "Pick now or at the end of the period");
    };
    let choice = Choice::Cancel {
        subscription,
        at_period_end,
    };
    spawn_choose(deps, target.case_id, user.clone(), choice);
    Ack::Empty
}

/// The pause modal: what happens to the invoices, and an optional resume
/// date, which must be after today.
pub(super) fn on_pause_terms(
    deps: &Arc<Deps>,
    user: &SlackUserId,
    target: CaseChoice,
    behavior: Option<PauseBehavior>,
    resumes_at: Option<i64>,
) -> Ack {
    let Choice::PauseCollection { subscription, .. } = target.choice else {
        return Ack::Empty;
    };
    let Some(behavior) = behavior else {
        return field_error(modals::BEHAVIOR_BLOCK, "Pick what happens to the invoices");
    };
    if resumes_at.is_some_and(|at| at <= now()) {
        return field_error(
            modals::RESUME_BLOCK,
            "Pick a day after today, or leave it empty",
        );
    }
    let choice = Choice::PauseCollection {
        subscription,
        pause: Some(Pause {
            behavior,
            resumes_at,
        }),
    };
    spawn_choose(deps, target.case_id, user.clone(), choice);
    Ack::Empty
}

/// Adds the choice in the background and tells the chooser, ephemerally
/// in the card's channel (a modal submission has no `response_url`).
fn spawn_choose(deps: &Arc<Deps>, case_id: CaseId, user: SlackUserId, choice: Choice) {
    let deps = Arc::clone(deps);
    let span = tracing::info_span!("choose", case_id = %case_id, actor = %user);
    deps.tasks.clone().spawn(
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
        .instrument(span),
    );
}
