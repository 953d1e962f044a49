//! Turns typed Slack requests ([`Request`], read once at the edge by
//! `slack::request`, the same from HTTP and Socket Mode) into workflows.
//! This module only dispatches: each kind of request has its own module
//! (`slash` for `/billing …`, `shortcut` for the message shortcut, `buttons`
//! for clicks on our messages, `submissions` for our modals). Each handler
//! answers at once (Slack waits 3 s at most) with an [`Ack`], and spawns the
//! slow work, which reports back through the Web API or the `response_url`.

mod buttons;
mod home;
mod more_actions;
mod shortcut;
mod slash;
mod submissions;

use crate::domain::BillingCommand;
use crate::domain::{ChannelId, ResponseUrl, SlackUserId};
use crate::slack::api::Message;
use crate::slack::payloads::{DeliveryId, Event, EventEnvelope};
use crate::slack::request::Request;
pub use crate::slack::Ack;
use crate::workflow::access::{self, Denied};
use crate::workflow::{reports, Deps};
use futures::future::BoxFuture;
use serde_json::json;
use std::sync::Arc;

pub use crate::slack::request::TRIAGE_SHORTCUT;

/// Redis work done before acknowledging Slack gets this long, so the
/// answer stays inside Slack's 3 s even when Redis hangs.
const BEFORE_ACK_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

pub use crate::domain::text::CUSTOMER_WORDS_MAX_CHARS;
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

/// The bot's handlers, as both Slack modes see them (`slack::Handler`).
#[derive(Clone)]
pub struct Handlers {
    deps: Arc<Deps>,
}

impl Handlers {
    pub fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }
}

impl crate::slack::Handler for Handlers {
    fn on_request<'a>(&'a self, delivery: &'a DeliveryId, request: Request) -> BoxFuture<'a, Ack> {
        Box::pin(on_request_once(&self.deps, delivery, request))
    }

    fn on_event(&self, event: EventEnvelope) -> Ack {
        if let EventEnvelope::EventCallback {
            event_id,
            event: Event::AppHomeOpened { user, tab },
        } = &event
        {
            if tab.as_deref().is_none_or(|t| t == "home") {
                home::opened(&self.deps, event_id, user);
            }
        }
        on_event(event)
    }
}

fn ephemeral(text: impl Into<String>) -> Ack {
    Ack::Json(json!({ "response_type": "ephemeral", "text": text.into() }))
}

/// A modal answer that keeps it open with an error under one field.
fn field_error(block: &str, message: &str) -> Ack {
    Ack::Json(json!({ "response_action": "errors", "errors": { block: message } }))
}

fn is_field_error(ack: &Ack) -> bool {
    matches!(ack, Ack::Json(value) if value.get("response_action").and_then(|a| a.as_str()) == Some("errors"))
}

/// Whether this is the first delivery of a request: a Slack retry or a
/// replayed signed request runs once. When Redis cannot say in time, the
/// request counts as new: a lost duplicate check must not lose the request.
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

/// A request, run once per delivery: a second delivery of a command gets an
/// acknowledgement of the same kind, of an interaction an empty one, and
/// runs nothing. A modal submission refused with a field error ran nothing
/// and is forgotten: the same submission again is checked again and gets
/// the same error, rather than an empty answer that would close the modal.
pub async fn on_request_once(deps: &Arc<Deps>, delivery: &DeliveryId, request: Request) -> Ack {
    if !first_delivery(deps, delivery).await {
        return match request {
            Request::Command(_) => ephemeral(DUPLICATE_COMMAND),
            _ => Ack::Empty,
        };
    }
    if let Some(guarded) = Guarded::of(&request) {
        // Slack waits 3 s; a check that cannot finish lets nobody through.
        let checked = tokio::time::timeout(
            BEFORE_ACK_BUDGET,
            access::check(deps, guarded.user, guarded.channel),
        )
        .await
        .unwrap_or_else(|_| Err(Denied::Unchecked("timed out".to_owned())));
        if let Err(denied) = checked {
            return refuse(deps, &request, &guarded, &denied);
        }
    }
    let ack = on_request(deps, request).await;
    if is_field_error(&ack) {
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

/// Who acted, where and on what, for the access check of a request that
/// shows or changes billing.
struct Guarded<'a> {
    user: &'a SlackUserId,
    channel: Option<&'a ChannelId>,
    on: String,
    /// The customer identifier asked for, audited only as a salted hash.
    identifier: Option<String>,
}

impl<'a> Guarded<'a> {
    /// `None` for what shows no billing: `/billing help`, a usage reply, an
    /// interaction that is not ours.
    fn of(request: &'a Request) -> Option<Self> {
        let guarded = |user, channel, on: &str, identifier: Option<String>| Guarded {
            user,
            channel,
            on: on.to_owned(),
            identifier,
        };
        match request {
            Request::Command(cmd) => {
                let (on, identifier) = match cmd.command.as_ref().ok()? {
                    BillingCommand::Lookup { query, .. } => ("lookup", Some(query.to_string())),
                    BillingCommand::Audit(case) => ("audit", Some(case.to_string())),
                    BillingCommand::Report(report) => (reports::name(*report), None),
                    BillingCommand::Help => return None,
                };
                Some(guarded(&cmd.user, Some(&cmd.channel), on, identifier))
            }
            Request::Shortcut(s) => Some(guarded(&s.user, Some(&s.channel), TRIAGE_SHORTCUT, None)),
            Request::Buttons(clicks) => {
                let first = clicks.buttons.first()?;
                Some(guarded(
                    &clicks.user,
                    clicks.channel.as_ref(),
                    first.action_id(),
                    first.identifier(),
                ))
            }
            Request::Submission(s) => Some(guarded(&s.user, None, s.form.callback_id(), None)),
            Request::Ignored { .. } | Request::Unreadable(_) => None,
        }
    }
}

/// A refusal, private and complete: said only to who tried (ephemerally,
/// or in the modal), audited, and nothing else done.
fn refuse(deps: &Arc<Deps>, request: &Request, guarded: &Guarded<'_>, denied: &Denied) -> Ack {
    tracing::warn!(
        actor = %guarded.user,
        channel = guarded.channel.map(|c| c.to_string()),
        on = %guarded.on,
        reason = denied.code(),
        "access refused"
    );
    {
        let (deps, user, channel, on, identifier, denied) = (
            Arc::clone(deps),
            guarded.user.clone(),
            guarded.channel.cloned(),
            guarded.on.clone(),
            guarded.identifier.clone(),
            denied.clone(),
        );
        deps.tasks.clone().spawn(async move {
            if let Err(e) = access::audit_refusal(
                &deps,
                &user,
                channel.as_ref(),
                &on,
                identifier.as_deref(),
                &denied,
            )
            .await
            {
                e.report("could not audit a refused access");
            }
        });
    }
    let text = denied.text(&deps.access.config);
    match request {
        Request::Command(_) => ephemeral(text),
        Request::Shortcut(s) => {
            tell(deps, s.response_url.clone(), text);
            Ack::Empty
        }
        Request::Buttons(clicks) => {
            if let Some(url) = &clicks.response_url {
                tell(deps, url.clone(), text);
            }
            Ack::Empty
        }
        Request::Submission(_) => Ack::Json(json!({
            "response_action": "update",
            "view": {
                "type": "modal",
                "title": {"type": "plain_text", "text": "Not allowed"},
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
            }
        })),
        Request::Ignored { .. } | Request::Unreadable(_) => Ack::Empty,
    }
}

/// Dispatches one typed request to its handler.
pub async fn on_request(deps: &Arc<Deps>, request: Request) -> Ack {
    match request {
        Request::Command(cmd) => slash::on_command(deps, cmd),
        Request::Shortcut(shortcut) => shortcut::on_shortcut(deps, shortcut),
        Request::Buttons(clicks) => buttons::on_buttons(deps, clicks),
        Request::Submission(submission) => submissions::on_submission(deps, submission).await,
        Request::Ignored { kind } => {
            tracing::info!(kind, "interaction ignored");
            Ack::Empty
        }
        Request::Unreadable(unreadable) => {
            tracing::warn!(
                kind = unreadable.kind,
                field = unreadable.field,
                "unreadable Slack request"
            );
            if unreadable.kind == crate::slack::request::COMMAND_KIND {
                ephemeral(format!(
                    "Slack sent a {} the bot cannot read; try again",
                    unreadable.field
                ))
            } else {
                Ack::Empty
            }
        }
    }
}

/// `/slack/events`: answers the URL-verification challenge; nothing else is
/// subscribed yet.
pub fn on_event(event: EventEnvelope) -> Ack {
    match event {
        EventEnvelope::UrlVerification { challenge } => {
            Ack::Json(json!({ "challenge": challenge }))
        }
        EventEnvelope::EventCallback { .. } | EventEnvelope::Other => Ack::Empty,
    }
}

/// Tells `user` privately in `channel` (modal submissions have no
/// `response_url`).
async fn tell_in_channel(deps: &Deps, channel: &ChannelId, user: &SlackUserId, text: &str) {
    let Some(slack) = &deps.slack else { return };
    if let Err(e) = slack
        .post_ephemeral(channel, user, &Message::text(text))
        .await
    {
        tracing::warn!(error = %e, "could not answer the user");
    }
}

async fn tell_now(deps: &Deps, response_url: Option<&ResponseUrl>, text: &str) {
    let (Some(slack), Some(url)) = (&deps.slack, response_url) else {
        return;
    };
    if let Err(e) = slack.respond(url, &Message::text(text)).await {
        tracing::warn!(error = %e, "could not answer through response_url");
    }
}

/// Fire-and-forget answer through a `response_url`.
fn tell(deps: &Arc<Deps>, response_url: ResponseUrl, text: String) {
    let deps = Arc::clone(deps);
    deps.tasks
        .clone()
        .spawn(async move { tell_now(&deps, Some(&response_url), &text).await });
}
