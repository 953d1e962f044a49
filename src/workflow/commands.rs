//! Turns verified Slack requests into workflows. Each handler answers at
//! once (Slack waits 3 s at most) with an `Ack`, and spawns the slow work,
//! which reports back through the Web API or the `response_url`.

use super::lookup::{spawn_slack_lookup, SlackLookup};
use super::{new_case_id, Deps};
use crate::domain::{Actor, BillingCommand, LookupQuery, SlackUserId, USAGE};
use crate::slack::payloads::{EventEnvelope, Interaction, SlashCommand};
use serde_json::json;
use std::sync::Arc;

/// The callback id of the "Triage billing case" message shortcut (manifest.yml).
pub const TRIAGE_SHORTCUT: &str = "triage_billing_case";

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

/// `/billing …`.
pub fn on_slash_command(deps: &Arc<Deps>, cmd: SlashCommand) -> Ack {
    let Ok(user) = SlackUserId::parse(&cmd.user_id) else {
        tracing::warn!("slash command from an unreadable user id");
        return ephemeral("Slack sent a user id the bot cannot read; try again");
    };
    match BillingCommand::parse(&cmd.text) {
        Ok(BillingCommand::Help) => ephemeral(USAGE),
        Ok(BillingCommand::Lookup(query)) => {
            let case_id = new_case_id();
            let ack = format!("Looking up `{query}` ({}) as case `{case_id}`…", query.kind());
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
            // Filled in by the approvals work (issue 3); until then say so
            // rather than stay silent.
            ephemeral(format!("The audit trail of `{case_id}` is printed by `billing-triage audit show {case_id}`"))
        }
        Err(e) => {
            tracing::warn!(error = %e, "unusable /billing text");
            ephemeral(e.to_string())
        }
    }
}

/// `/slack/interactions`.
pub fn on_interaction(deps: &Arc<Deps>, interaction: Interaction) -> Ack {
    match interaction {
        Interaction::MessageAction { callback_id, user, channel, message, response_url, .. } if callback_id == TRIAGE_SHORTCUT => {
            let Ok(user) = SlackUserId::parse(&user.id) else {
                tracing::warn!("shortcut from an unreadable user id");
                return Ack::Empty;
            };
            let text = message.text.unwrap_or_default();
            match LookupQuery::find_in(&text) {
                Some(query) => spawn_slack_lookup(
                    Arc::clone(deps),
                    SlackLookup {
                        case_id: new_case_id(),
                        actor: Actor::Slack(user),
                        channel: channel.id,
                        response_url,
                        query,
                        message: Some(text),
                    },
                ),
                None => {
                    tracing::warn!("shortcut message holds no identifier");
                    let deps = Arc::clone(deps);
                    tokio::spawn(async move {
                        if let Some(slack) = &deps.slack {
                            let text = "That message has no email or Stripe id (cus_, sub_, in_, ch_, pi_) to find the customer by. Use `/billing lookup <email or id>` instead";
                            if let Err(e) = slack.respond(&response_url, &crate::slack::api::Message::text(text)).await {
                                tracing::warn!(error = %e, "could not answer the shortcut");
                            }
                        }
                    });
                }
            }
            Ack::Empty
        }
        other => {
            tracing::info!(kind = interaction_kind(&other), "interaction ignored");
            Ack::Empty
        }
    }
}

/// `/slack/events`: answers the URL-verification challenge; nothing else is
/// subscribed yet.
pub fn on_event(event: EventEnvelope) -> Ack {
    match event {
        EventEnvelope::UrlVerification { challenge } => Ack::Json(json!({ "challenge": challenge })),
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
