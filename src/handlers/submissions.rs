//! Our modals, submitted: one handler per [`Submission`]. A refused field
//! keeps the modal open with the reason under it; that answer is the
//! modal's, so it is decided before Slack is answered. What the submission
//! starts runs after the answer.

use super::{field_error, tell_in_channel, tell_now, Ack, Answer, BEFORE_ACK_BUDGET};
use crate::audit::text::TextError;
use crate::card::modals;
use crate::domain::{ActionKind, Actor, CaseAction, ChannelId, Money};
use crate::slack::request::{AmountTooLong, Submission, SubmissionRequest, TypedAmount};
use crate::workflow::approve::{self, Click};
use crate::workflow::case_card::CardPlace;
use crate::workflow::context::{self, Addition};
use crate::workflow::Deps;
use std::future::Future;
use std::sync::Arc;
use tracing::Instrument;

pub(super) async fn on_submission(deps: &Arc<Deps>, submission: SubmissionRequest) -> Answer {
    let click = |target: CaseAction| Click {
        case_id: target.case_id,
        key: target.key,
        actor: submission.user.clone(),
        response_url: None,
        channel: None,
        card: None,
    };
    match submission.form {
        Submission::Reject { target, reason } => match reason {
            Ok(reason) => Answer::then(
                Ack::Empty,
                rejection(deps, click(target), reason.into_string()),
            ),
            Err(TextError::Empty) => {
                tracing::warn!("rejection without a reason refused");
                Answer::only(field_error(
                    modals::REASON_BLOCK,
                    "Give a reason: it goes in the audit trail",
                ))
            }
            Err(e) => {
                tracing::warn!(refusal = ?e, "over-long rejection reason refused");
                Answer::only(field_error(modals::REASON_BLOCK, &e.to_string()))
            }
        },
        Submission::PartialRefund { target, amount } => {
            let click = click(target);
            // Slack waits 3 s for this answer, Redis or not.
            let checked = tokio::time::timeout(BEFORE_ACK_BUDGET, partial_amount(deps, &click, amount))
                .await
                .unwrap_or_else(|_| Err("Redis did not answer in time, so the amount could not be checked; submit again in a moment".to_owned()));
            match checked {
                Ok(amount) => Answer::then(Ack::Empty, approval(deps, click, Some(amount))),
                Err(message) => {
                    tracing::warn!("partial refund amount refused");
                    Answer::only(field_error(modals::AMOUNT_BLOCK, &message))
                }
            }
        }
        Submission::AddContext {
            case_id,
            kind,
            text,
        } => match text {
            Ok(text) => {
                let addition = Addition {
                    case_id,
                    actor: Actor::Slack(submission.user),
                    kind,
                    text,
                };
                Answer::then(Ack::Empty, context_added(deps, addition))
            }
            Err(TextError::Empty) => Answer::only(field_error(
                modals::CONTEXT_TEXT_BLOCK,
                "Paste the customer's message or write a note",
            )),
            Err(e) => {
                tracing::warn!(refusal = ?e, "over-long context refused");
                Answer::only(field_error(modals::CONTEXT_TEXT_BLOCK, &e.to_string()))
            }
        },
        Submission::ChooseTerms { target, terms } => {
            super::more_actions::on_terms(deps, &submission.user, target, terms).await
        }
        Submission::Unreadable { callback_id } => {
            tracing::warn!(%callback_id, "modal without a readable case/action");
            Answer::only(Ack::Empty)
        }
        Submission::Unknown { callback_id } => {
            tracing::info!(%callback_id, "unknown modal ignored");
            Answer::only(Ack::Empty)
        }
    }
}

/// Checks a typed partial-refund amount against the stored case: positive,
/// in the charge's currency, at most what was left on it. Stripe's own
/// state is checked again right before the refund.
async fn partial_amount(
    deps: &Deps,
    click: &Click,
    typed: Result<TypedAmount, AmountTooLong>,
) -> Result<Money, String> {
    let typed = typed.map_err(|e| e.to_string())?;
    let case = match deps.store.load_case(&click.case_id).await {
        Ok(Some(case)) => case,
        Ok(None) => return Err("This case is unknown or expired; run the lookup again".to_owned()),
        Err(e) => return Err(format!("{e}; try again")),
    };
    let Some(action) = case.actions.iter().find(|a| click.key == a.key) else {
        return Err(crate::policy::PartialRefusal::NotARefund.to_string());
    };
    let ActionKind::Refund(target) = &action.kind else {
        return Err(crate::policy::PartialRefusal::NotARefund.to_string());
    };
    let amount = typed
        .in_currency(target.amount.currency)
        .map_err(|e| e.to_string())?;
    let left = case
        .snapshot
        .charges()
        .find(|c| c.id == target.charge)
        .map(|c| c.refundable());
    crate::policy::partial_refund(action, amount, left).map_err(|refusal| refusal.to_string())
}

pub(super) fn spawn_approval(deps: &Arc<Deps>, click: Click, amount: Option<Money>) {
    deps.tasks.clone().spawn(approval(deps, click, amount));
}

/// Approves, then tells the approver.
fn approval(
    deps: &Arc<Deps>,
    click: Click,
    amount: Option<Money>,
) -> impl Future<Output = ()> + Send + 'static {
    let deps = Arc::clone(deps);
    let span = tracing::info_span!("approve", case_id = %click.case_id, action = %click.key, actor = %click.actor);
    async move {
        let answer = match approve::approve(&deps, &click, amount).await {
            Ok(outcome) => outcome.0,
            Err(e) => e.report("interaction failed"),
        };
        tell_now(&deps, click.response_url.as_ref(), &answer).await;
        if click.response_url.is_none() {
            tell_user(&deps, &click, &answer).await;
        }
    }
    .instrument(span)
}

/// Rejects, then tells the rejecter.
fn rejection(
    deps: &Arc<Deps>,
    click: Click,
    reason: String,
) -> impl Future<Output = ()> + Send + 'static {
    let deps = Arc::clone(deps);
    let span = tracing::info_span!("reject", case_id = %click.case_id, action = %click.key, actor = %click.actor);
    async move {
        let answer = match approve::reject(&deps, &click, &reason).await {
            Ok(outcome) => outcome.0,
            Err(e) => e.report("interaction failed"),
        };
        tell_user(&deps, &click, &answer).await;
    }
    .instrument(span)
}

/// Adds the context, then tells who added it.
fn context_added(
    deps: &Arc<Deps>,
    addition: Addition,
) -> impl Future<Output = ()> + Send + 'static {
    let deps = Arc::clone(deps);
    let span =
        tracing::info_span!("add_context", case_id = %addition.case_id, actor = %addition.actor);
    async move {
        let Actor::Slack(user) = addition.actor.clone() else {
            return;
        };
        let place = match CardPlace::of(&deps, &addition.case_id).await {
            Ok(place) => place,
            Err(e) => {
                e.report("adding context failed");
                return;
            }
        };
        let answer = match context::add_context(&deps, addition, &place).await {
            Ok(answer) => answer,
            Err(e) => e.report("adding context failed"),
        };
        if let Some(channel) = place.channel() {
            tell_in_channel(&deps, &channel, &user, &answer).await;
        }
    }
    .instrument(span)
}

/// The channel a click's card is in: as the click read it, else from Redis.
async fn card_channel(deps: &Deps, click: &Click) -> Option<ChannelId> {
    match &click.card {
        Some(place) => place.channel(),
        None => CardPlace::of(deps, &click.case_id).await.ok()?.channel(),
    }
}

/// Tells the clicker through the card's channel when there is no
/// `response_url` (modal submissions have none).
async fn tell_user(deps: &Deps, click: &Click, text: &str) {
    let channel = match &click.channel {
        Some(channel) => Some(channel.clone()),
        None => card_channel(deps, click).await,
    };
    if let Some(channel) = channel {
        tell_in_channel(deps, &channel, &click.actor, text).await;
    }
}
