//! Slack Socket Mode (`SLACK_APP_TOKEN` set): slack-morphism's websocket
//! listener. Its callbacks are plain `fn`s, so the workflows' dependencies
//! ride in the listener's user state (morphism `examples/state_management.rs`).
//! Each callback only translates: the event is read into the same typed
//! `slack::request::Request` as the HTTP routes and handed to the same
//! `workflow::commands` function, so both modes behave alike.

use super::payloads::{DeliveryId, EventEnvelope};
use super::request::Request;
use super::SlackError;
use crate::domain::SlackAppToken;
use crate::workflow::commands::{self, Ack};
use crate::workflow::Deps;
use slack_morphism::prelude::*;
use std::future::Future;
use std::sync::Arc;

type CallbackResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

async fn deps_of(states: &SlackClientEventsUserState) -> CallbackResult<Arc<Deps>> {
    let guard = states.read().await;
    guard
        .get_user_state::<Arc<Deps>>()
        .cloned()
        .ok_or_else(|| "socket-mode listener has no workflow state".into())
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> CallbackResult<SlackCommandEventResponse> {
    let deps = deps_of(&states).await?;
    // The listener acknowledges envelopes itself and hides their ids; a
    // redelivered envelope carries the same event, so the event names it.
    let value = serde_json::to_value(&event)?;
    let delivery = DeliveryId::of_json(&value);
    let request = Request::command_json(value)?;
    let ack = commands::on_request_once(&deps, &delivery, request).await;
    Ok(match ack {
        Ack::Json(value) => serde_json::from_value(value)?,
        Ack::Empty => SlackCommandEventResponse::new(SlackMessageContent::new()),
    })
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> CallbackResult<SlackInteractionResponse> {
    let deps = deps_of(&states).await?;
    let value = serde_json::to_value(&event)?;
    let delivery = DeliveryId::of_json(&value);
    let request = Request::interaction_json(value)?;
    Ok(
        match commands::on_request_once(&deps, &delivery, request).await {
            // Field errors of a modal submission.
            Ack::Json(value) => serde_json::from_value::<SlackViewSubmissionResponse>(value)
                .map(SlackInteractionResponse::from)
                .unwrap_or(SlackInteractionResponse::Empty),
            Ack::Empty => SlackInteractionResponse::Empty,
        },
    )
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    _states: SlackClientEventsUserState,
) -> CallbackResult<()> {
    let envelope: EventEnvelope =
        serde_json::from_value(serde_json::to_value(&event)?).unwrap_or(EventEnvelope::Other);
    let _ = commands::on_event(envelope);
    Ok(())
}

/// Listens on Slack's websocket until `shutdown` completes.
///
/// # Errors
/// When the first connection cannot be registered (bad app token).
pub async fn run(
    deps: Arc<Deps>,
    app_token: &SlackAppToken,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SlackError> {
    let slack = deps
        .slack
        .as_ref()
        .ok_or_else(|| SlackError::Setup("Socket Mode needs SLACK_BOT_TOKEN".to_owned()))?;
    let environment = Arc::new(
        SlackClientEventsListenerEnvironment::new(slack.client())
            .with_error_handler(|err, _client, _states| {
                tracing::warn!(error = %err, "socket-mode callback failed");
                hyper::StatusCode::OK
            })
            .with_user_state(Arc::clone(&deps)),
    );
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_command_events(on_command)
        .with_interaction_events(on_interaction)
        .with_push_events(on_push);
    let listener = SlackClientSocketModeListener::new(
        &SlackClientSocketModeConfig::new(),
        environment,
        callbacks,
    );
    let token = SlackApiToken::new(SlackApiTokenValue::new(app_token.expose().to_owned()));
    listener.listen_for(&token).await?;
    listener.start().await;
    tracing::info!("listening on Slack Socket Mode");
    shutdown.await;
    listener.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Socket Mode events arrive as slack-morphism's typed events; they must
    /// read back as the same typed requests the HTTP routes make.
    #[test]
    fn socket_events_translate_to_the_http_payloads() {
        let event: SlackCommandEvent = serde_json::from_value(serde_json::json!({
            "team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/billing",
            "text": "lookup ana@example.com", "response_url": "https://hooks.slack.com/commands/1/2/3", "trigger_id": "1.2.3"
        }))
        .expect("morphism reads a command");
        let request = Request::command_json(serde_json::to_value(&event).expect("to json"))
            .expect("ours reads it");
        assert!(
            matches!(&request, Request::Command(cmd) if cmd.user.as_str() == "U1" && cmd.command.is_ok()),
            "{request:?}"
        );

        let event: SlackInteractionEvent = serde_json::from_value(serde_json::json!({
            "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U2"}, "api_app_id": "A1",
            "container": {"type": "message", "message_ts": "1.2", "channel_id": "C1"},
            "trigger_id": "t", "channel": {"id": "C1", "name": "billing"},
            "actions": [{"type": "button", "action_id": "approve_action", "block_id": "b", "value": "case_0123456789ab/a1", "action_ts": "1"}]
        }))
        .expect("morphism reads block actions");
        let request = Request::interaction_json(serde_json::to_value(&event).expect("to json"))
            .expect("ours reads it");
        assert!(
            matches!(&request, Request::Buttons(clicks) if matches!(&clicks.buttons[..], [super::super::request::Button::Approve(t)] if t.to_string() == "case_0123456789ab/a1")),
            "{request:?}"
        );

        let ack: SlackCommandEventResponse =
            serde_json::from_value(serde_json::json!({"response_type": "ephemeral", "text": "hi"}))
                .expect("ack converts");
        assert_eq!(ack.content.text.as_deref(), Some("hi"));
    }
}
