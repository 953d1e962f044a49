//! Turns verified Slack requests into workflows. Each handler answers at
//! once (Slack waits 3 s at most) with an `Ack`, and spawns the slow work,
//! which reports back through the Web API or the `response_url`.

use super::approve::{self, Click};
use super::lookup::{spawn_slack_lookup, SlackLookup};
use super::{new_case_id, Deps, WorkflowError};
use crate::audit::scrub_text;
use crate::audit::text::{OperatorText, TextError};
use crate::audit::{AuditKind, NewEntry};
use crate::card::{self, modals};
use crate::domain::{
    ActionKind, Actor, BillingCommand, CustomerId, LookupQuery, Money, SlackUserId, USAGE,
};
use crate::slack::api::Message;
use crate::slack::payloads::{DeliveryId, EventEnvelope, Interaction, SlashCommand};
use serde_json::json;
use std::sync::Arc;
use tracing::Instrument;

/// Redis work done before acknowledging Slack gets this long, so the
/// answer stays inside Slack's 3 s even when Redis hangs.
const BEFORE_ACK_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// The callback id of the "Triage billing case" message shortcut (manifest.yml).
pub const TRIAGE_SHORTCUT: &str = "triage_billing_case";

/// The longest customer message kept as a case's context (the message a
/// shortcut is run on): Slack allows 40 000 characters in a message, and a
/// real customer's message, even a forwarded email, fits in half of that;
/// the bound keeps the Redis record and the card from growing without end.
pub const CONTEXT_MAX_CHARS: usize = 20_000;
/// How long a delivery is remembered: Slack's signature window is five
/// minutes either side of the request's timestamp, so a replay accepted by
/// the verifier arrives at most ten minutes after the first delivery.
pub const DELIVERY_TTL_SECS: u64 = 600;
/// The claim of a delivery (and forgetting a refused submission) is one
/// Redis round trip each before the acknowledgement; past this, the request
/// is handled rather than keep Slack waiting (its own steps need Redis and
/// say so when it is down). A quarter second is a hundred times a round
/// trip to a Redis in the same region, and leaves the rest of Slack's 3 s to
/// the handler.
const DELIVERY_CLAIM_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(250);
/// The acknowledgement of a slash command delivered again.
const DUPLICATE_COMMAND: &str = "This request reached the bot already; it runs once, and its answer comes from the first delivery";
/// A typed partial-refund amount longer than this is not an amount; it is
/// refused without being echoed back.
const AMOUNT_MAX_CHARS: usize = 32;

/// The immediate HTTP answer to Slack.
#[derive(Debug, Clone, PartialEq)]
pub enum Ack {
    /// 200 with an empty body.
    Empty,
    /// 200 with this JSON (an ephemeral reply, a challenge…).
    Json(serde_json::Value),
}

fn ephemeral(text: impl Into<String>) -> Ack {
    Ack::Json(json!({ "response_type": "ephemeral", "text": text.into() }))
}

/// Whether this is the first delivery of a request (issue 8 part 8). When
/// Redis cannot say in time, the request counts as new: a lost duplicate
/// check must not lose the request.
pub async fn first_delivery(deps: &Deps, delivery: &DeliveryId) -> bool {
    let claim = deps
        .store
        .claim_delivery(delivery.as_str(), DELIVERY_TTL_SECS);
    match tokio::time::timeout(DELIVERY_CLAIM_TIMEOUT, claim).await {
        Ok(Ok(first)) => {
            if !first {
                tracing::info!(
                    delivery = &delivery.as_str()[..12],
                    "duplicate delivery acknowledged, not run"
                );
            }
            first
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not check for a duplicate delivery; handling it");
            true
        }
        Err(_) => {
            tracing::warn!("duplicate check timed out; handling the delivery");
            true
        }
    }
}

/// `/billing …`, run once per delivery: a second delivery gets an
/// acknowledgement of the same kind and runs nothing.
pub async fn on_slash_command_once(
    deps: &Arc<Deps>,
    delivery: &DeliveryId,
    cmd: SlashCommand,
) -> Ack {
    if first_delivery(deps, delivery).await {
        on_slash_command(deps, cmd)
    } else {
        ephemeral(DUPLICATE_COMMAND)
    }
}

/// `/slack/interactions`, run once per delivery (as for commands). A modal
/// submission refused with a field error ran nothing and is forgotten: the
/// same submission again is checked again and gets the same error, rather
/// than an empty answer that would close the modal.
pub async fn on_interaction_once(
    deps: &Arc<Deps>,
    delivery: &DeliveryId,
    interaction: Interaction,
) -> Ack {
    if !first_delivery(deps, delivery).await {
        return Ack::Empty;
    }
    let ack = on_interaction(deps, interaction).await;
    if matches!(&ack, Ack::Json(value) if value.get("response_action").and_then(|a| a.as_str()) == Some("errors"))
    {
        // Time-boxed like the claim: Slack's 3 s must not wait on Redis.
        let forget = deps.store.forget_delivery(delivery.as_str());
        match tokio::time::timeout(DELIVERY_CLAIM_TIMEOUT, forget).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not forget a refused submission; the same text again will close the modal"),
            Err(_) => tracing::warn!("forgetting a refused submission timed out; the same text again will close the modal"),
        }
    }
    ack
}

/// `/billing …`.
pub fn on_slash_command(deps: &Arc<Deps>, cmd: SlashCommand) -> Ack {
    let Ok(user) = SlackUserId::parse(&cmd.user_id) else {
        tracing::warn!("slash command from an unreadable user id");
        return ephemeral("Slack sent a user id the bot cannot read; try again");
    };
    match BillingCommand::parse(&cmd.text) {
        Ok(BillingCommand::Help) => match deps.policy.read_only_warning() {
            Some(warning) => ephemeral(format!("{USAGE}\n\n:warning: {warning}")),
            None => ephemeral(USAGE),
        },
        Ok(BillingCommand::Lookup(query)) => {
            let case_id = new_case_id();
            let ack = format!(
                "Looking up `{query}` ({}) as case `{case_id}`…",
                query.kind()
            );
            spawn_slack_lookup(
                Arc::clone(deps),
                SlackLookup {
                    case_id,
                    actor: Actor::Slack(user),
                    channel: cmd.channel_id,
                    response_url: cmd.response_url,
                    query,
                    message: None,
                },
            );
            ephemeral(ack)
        }
        Ok(BillingCommand::Audit(case_id)) => {
            let deps = Arc::clone(deps);
            let response_url = cmd.response_url;
            let ack = ephemeral(format!("Fetching the audit trail of `{case_id}`…"));
            deps.tasks.clone().spawn(async move {
                let text = match deps.store.audit_trail(&case_id).await {
                    Ok(entries) => card::trail::render_trail(&case_id, &entries),
                    Err(e) => WorkflowError::Store(e).report("audit trail failed"),
                };
                tell_now(&deps, Some(&response_url), &text).await;
            });
            ack
        }
        Ok(BillingCommand::Report(request)) => {
            let ack = ephemeral(format!(
                "Running the {} report; progress and the result follow in this channel…",
                super::reports::name(request)
            ));
            super::reports::spawn_slack_report(
                Arc::clone(deps),
                super::reports::SlackReport {
                    actor: Actor::Slack(user),
                    channel: cmd.channel_id,
                    response_url: cmd.response_url,
                    request,
                },
            );
            ack
        }
        Err(e) => {
            // The refusal quotes what was typed, which may hold a card number.
            tracing::warn!(error = %scrub_text(&e.to_string()), "unusable /billing text");
            ephemeral(e.to_string())
        }
    }
}

/// `/slack/interactions`.
pub async fn on_interaction(deps: &Arc<Deps>, interaction: Interaction) -> Ack {
    match interaction {
        Interaction::MessageAction {
            callback_id,
            user,
            channel,
            message,
            response_url,
            ..
        } if callback_id == TRIAGE_SHORTCUT => {
            let Ok(user) = SlackUserId::parse(&user.id) else {
                tracing::warn!("shortcut from an unreadable user id");
                return Ack::Empty;
            };
            let text = message.text.unwrap_or_default();
            // The identifier is read from the message as written; the message
            // itself is kept only scrubbed and clipped, as the case's context.
            let context =
                OperatorText::clipped(&text, CONTEXT_MAX_CHARS).map(OperatorText::into_string);
            match LookupQuery::find_in(&text) {
                Some(query) => spawn_slack_lookup(
                    Arc::clone(deps),
                    SlackLookup {
                        case_id: new_case_id(),
                        actor: Actor::Slack(user),
                        channel: channel.id,
                        response_url,
                        query,
                        message: context,
                    },
                ),
                None => {
                    tracing::warn!("shortcut message holds no identifier");
                    tell(deps, response_url, "That message has no email or Stripe id (cus_, sub_, in_, ch_, pi_) to find the customer by. Use `/billing lookup <email or id>` instead".to_owned());
                }
            }
            Ack::Empty
        }
        Interaction::BlockActions {
            user,
            channel,
            actions,
            response_url,
            trigger_id,
            ..
        } => {
            let Ok(actor) = SlackUserId::parse(&user.id) else {
                tracing::warn!("button click from an unreadable user id");
                return Ack::Empty;
            };
            for action in actions {
                if action.action_id == super::reports::TRIAGE_ACTION_ID {
                    // A churn report row: look the customer up as `/billing lookup` does.
                    match action.value.as_deref().map(CustomerId::parse) {
                        Some(Ok(customer)) => spawn_slack_lookup(
                            Arc::clone(deps),
                            SlackLookup {
                                case_id: new_case_id(),
                                actor: Actor::Slack(actor.clone()),
                                channel: channel.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
                                response_url: response_url.clone().unwrap_or_default(),
                                query: LookupQuery::Customer(customer),
                                message: None,
                            },
                        ),
                        _ => tracing::warn!("Triage button without a readable customer id"),
                    }
                    continue;
                }
                let Some((case_id, key)) =
                    action.value.as_deref().and_then(card::parse_button_value)
                else {
                    tracing::warn!(action_id = %action.action_id, "button without a readable case/action value");
                    continue;
                };
                let click = Click {
                    case_id,
                    key,
                    actor: actor.clone(),
                    response_url: response_url.clone(),
                    channel: channel.as_ref().map(|c| c.id.clone()),
                };
                match action.action_id.as_str() {
                    card::APPROVE_ACTION_ID
                    | card::REJECT_ACTION_ID
                    | modals::PARTIAL_REFUND_ACTION_ID => {
                        let deps = Arc::clone(deps);
                        let (trigger_id, action_id) =
                            (trigger_id.clone(), action.action_id.clone());
                        deps.tasks.clone().spawn(async move {
                            // Modal submissions carry no channel: the click
                            // that opened the modal was checked here.
                            if !from_card_channel(&deps, &click, &action_id).await {
                                return;
                            }
                            if action_id == card::APPROVE_ACTION_ID {
                                spawn_approval(&deps, click, None);
                            } else {
                                open_modal(&deps, &click, &trigger_id, &action_id).await;
                            }
                        });
                    }
                    other => tracing::info!(action_id = other, "unknown button ignored"),
                }
            }
            Ack::Empty
        }
        Interaction::ViewSubmission { user, view } => {
            let Ok(actor) = SlackUserId::parse(&user.id) else {
                tracing::warn!("modal from an unreadable user id");
                return Ack::Empty;
            };
            let Some((case_id, key)) = card::parse_button_value(&view.private_metadata) else {
                tracing::warn!("modal without a readable case/action");
                return Ack::Empty;
            };
            let click = Click {
                case_id,
                key,
                actor,
                response_url: None,
                channel: None,
            };
            match view.callback_id.as_str() {
                modals::REJECT_CALLBACK => {
                    // Scrubbed here, before it reaches the card, Redis, the audit or a log.
                    let typed = view
                        .state
                        .text(modals::REASON_BLOCK, modals::REASON_INPUT)
                        .unwrap_or_default();
                    let reason = match OperatorText::parse(typed, modals::REASON_MAX_CHARS) {
                        Ok(reason) => reason,
                        Err(TextError::Empty) => {
                            tracing::warn!("rejection without a reason refused");
                            return field_error(
                                modals::REASON_BLOCK,
                                "Give a reason: it goes in the audit trail",
                            );
                        }
                        Err(e) => {
                            tracing::warn!(refusal = ?e, "over-long rejection reason refused");
                            return field_error(modals::REASON_BLOCK, &e.to_string());
                        }
                    };
                    spawn_rejection(deps, click, reason.into_string());
                    Ack::Empty
                }
                modals::REFUND_CALLBACK => {
                    let typed = view
                        .state
                        .text(modals::AMOUNT_BLOCK, modals::AMOUNT_INPUT)
                        .unwrap_or_default()
                        .to_owned();
                    // Slack waits 3 s for this answer, Redis or not.
                    let checked = tokio::time::timeout(BEFORE_ACK_BUDGET, partial_amount(deps, &click, &typed))
                        .await
                        .unwrap_or_else(|_| Err("Redis did not answer in time, so the amount could not be checked; submit again in a moment".to_owned()));
                    match checked {
                        Ok(amount) => {
                            spawn_approval(deps, click, Some(amount));
                            Ack::Empty
                        }
                        Err(message) => {
                            tracing::warn!("partial refund amount refused");
                            field_error(modals::AMOUNT_BLOCK, &message)
                        }
                    }
                }
                other => {
                    tracing::info!(callback_id = other, "unknown modal ignored");
                    Ack::Empty
                }
            }
        }
        other => {
            tracing::info!(kind = interaction_kind(&other), "interaction ignored");
            Ack::Empty
        }
    }
}

/// A click counts only from the channel where its case card lives (issue 8
/// part 8): a button's value only names a case, and the same value on a
/// message elsewhere must not act on it. A click from anywhere else (or on
/// a case with no card) is refused, audited and told to the clicker.
async fn from_card_channel(deps: &Deps, click: &Click, action_id: &str) -> bool {
    let location = match deps.store.card_location(&click.case_id).await {
        Ok(location) => location,
        Err(e) => {
            let text = WorkflowError::Store(e).report("card location lookup failed");
            tell_now(deps, click.response_url.as_deref(), &text).await;
            return false;
        }
    };
    let card_channel = location.map(|l| l.channel);
    if card_channel.is_some() && click.channel == card_channel {
        return true;
    }
    tracing::warn!(case_id = %click.case_id, action = %click.key, on = action_id, "click from outside the card's channel refused");
    let entry = NewEntry {
        case_id: Some(click.case_id.clone()),
        action: Some(click.key.clone()),
        kind: AuditKind::ApprovalRefused,
        actor: Actor::Slack(click.actor.clone()),
        at: super::now(),
        stripe_ids: Vec::new(),
        detail: json!({ "reason": "WrongChannel", "on": action_id, "channel": click.channel, "card_channel": card_channel }),
    };
    if let Err(e) = deps.store.append_audit(entry).await {
        // The click is refused all the same; only its trace is missing.
        WorkflowError::Store(e).report("could not audit a refused click");
    }
    let text = match card_channel {
        Some(channel) => {
            format!("This button acts only on the case card in <#{channel}>; click it there")
        }
        None => format!(
            "Case `{}` has no card in Slack to act on; run the lookup again",
            click.case_id
        ),
    };
    tell_now(deps, click.response_url.as_deref(), &text).await;
    false
}

/// A modal answer that keeps it open with an error under one field.
fn field_error(block: &str, message: &str) -> Ack {
    Ack::Json(json!({ "response_action": "errors", "errors": { block: message } }))
}

/// Checks a typed partial-refund amount against the stored case: positive,
/// in the charge's currency, at most what was left on it. Stripe's own
/// state is checked again right before the refund.
async fn partial_amount(deps: &Deps, click: &Click, typed: &str) -> Result<Money, String> {
    if typed.trim().chars().take(AMOUNT_MAX_CHARS + 1).count() > AMOUNT_MAX_CHARS {
        return Err("That is not an amount: type a positive number such as 12.50".to_owned());
    }
    let case = match deps.store.load_case(&click.case_id).await {
        Ok(Some(case)) => case,
        Ok(None) => return Err("This case is unknown or expired; run the lookup again".to_owned()),
        Err(e) => return Err(format!("{e}; try again")),
    };
    let Some(ActionKind::Refund(target)) = case
        .actions
        .iter()
        .find(|a| a.key == click.key)
        .map(|a| &a.kind)
    else {
        return Err("Only a refund can be partial".to_owned());
    };
    let amount = Money::parse_major(typed, target.amount.currency).map_err(|e| e.to_string())?;
    let left = case
        .snapshot
        .charges()
        .find(|c| c.id == target.charge)
        .map_or(target.amount, |c| c.refundable());
    if amount.minor > left.minor {
        return Err(format!(
            "At most {left} is left to refund on {}",
            target.charge
        ));
    }
    Ok(amount)
}

async fn open_modal(deps: &Deps, click: &Click, trigger_id: &str, action_id: &str) {
    let Some(slack) = &deps.slack else { return };
    let loaded = deps.store.load_case(&click.case_id).await;
    let action = match &loaded {
        Ok(Some(case)) => case.actions.iter().find(|a| a.key == click.key),
        _ => None,
    };
    let Some(action) = action else {
        tell_now(
            deps,
            click.response_url.as_deref(),
            "This case or action is unknown, or Redis is unavailable; run the lookup again",
        )
        .await;
        return;
    };
    let view = match (&action.kind, action_id) {
        (ActionKind::Refund(target), modals::PARTIAL_REFUND_ACTION_ID) => {
            modals::refund_modal(&click.case_id, &click.key, &action.summary, target.amount)
        }
        _ => modals::reject_modal(&click.case_id, &click.key, &action.summary),
    };
    if let Err(e) = slack.open_modal(trigger_id, view).await {
        tracing::warn!(error = %e, "could not open the modal");
        tell_now(
            deps,
            click.response_url.as_deref(),
            "Slack did not open the form in time; click again",
        )
        .await;
    }
}

fn spawn_approval(deps: &Arc<Deps>, click: Click, amount: Option<Money>) {
    let deps = Arc::clone(deps);
    let span = tracing::info_span!("approve", case_id = %click.case_id, action = %click.key, actor = %click.actor);
    deps.tasks.clone().spawn(
        async move {
            let answer = match approve::approve(&deps, &click, amount).await {
                Ok(outcome) => outcome.0,
                Err(e) => e.report("interaction failed"),
            };
            tell_now(&deps, click.response_url.as_deref(), &answer).await;
            if click.response_url.is_none() {
                tell_user(&deps, &click, &answer).await;
            }
        }
        .instrument(span),
    );
}

fn spawn_rejection(deps: &Arc<Deps>, click: Click, reason: String) {
    let deps = Arc::clone(deps);
    let span = tracing::info_span!("reject", case_id = %click.case_id, action = %click.key, actor = %click.actor);
    deps.tasks.clone().spawn(
        async move {
            let answer = match approve::reject(&deps, &click, &reason).await {
                Ok(outcome) => outcome.0,
                Err(e) => e.report("interaction failed"),
            };
            tell_user(&deps, &click, &answer).await;
        }
        .instrument(span),
    );
}

/// Tells the clicker through the card's channel when there is no
/// `response_url` (modal submissions have none).
async fn tell_user(deps: &Deps, click: &Click, text: &str) {
    let Some(slack) = &deps.slack else { return };
    let channel = match &click.channel {
        Some(channel) => Some(channel.clone()),
        None => deps
            .store
            .card_location(&click.case_id)
            .await
            .ok()
            .flatten()
            .map(|l| l.channel),
    };
    if let Some(channel) = channel {
        if let Err(e) = slack
            .post_ephemeral(&channel, click.actor.as_str(), &Message::text(text))
            .await
        {
            tracing::warn!(error = %e, "could not answer the user");
        }
    }
}

async fn tell_now(deps: &Deps, response_url: Option<&str>, text: &str) {
    let (Some(slack), Some(url)) = (&deps.slack, response_url) else {
        return;
    };
    if let Err(e) = slack.respond(url, &Message::text(text)).await {
        tracing::warn!(error = %e, "could not answer through response_url");
    }
}

/// Fire-and-forget answer through a `response_url`.
fn tell(deps: &Arc<Deps>, response_url: String, text: String) {
    let deps = Arc::clone(deps);
    deps.tasks
        .clone()
        .spawn(async move { tell_now(&deps, Some(&response_url), &text).await });
}

/// `/slack/events`: answers the URL-verification challenge; nothing else is
/// subscribed yet.
pub fn on_event(event: EventEnvelope) -> Ack {
    match event {
        EventEnvelope::UrlVerification { challenge } => {
            Ack::Json(json!({ "challenge": challenge }))
        }
        EventEnvelope::Other => Ack::Empty,
    }
}

fn interaction_kind(interaction: &Interaction) -> &'static str {
    match interaction {
        Interaction::BlockActions { .. } => "block_actions",
        Interaction::ViewSubmission { .. } => "view_submission",
        Interaction::MessageAction { .. } => "message_action",
        Interaction::Other => "other",
    }
}
