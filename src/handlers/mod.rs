//! Turns typed Slack requests ([`Request`], read once at the edge by
//! `slack::request`, the same from HTTP and Socket Mode) into workflows.
//! This module only dispatches: each kind of request has its own module
//! (`slash` for `/billing …`, `shortcut` for the message shortcut, `buttons`
//! for clicks on our messages, `submissions` for our modals).
//!
//! The answer comes first. Slack waits 3 s at most, and before the answer
//! only the adapter's signature check and parsing run, and here what the
//! answer itself is made of: a command's acknowledgement, a modal's field
//! errors. Everything that may wait on Redis or Slack runs after it, in the
//! request's [`Answer::then`] work: the duplicate check (a delivery runs
//! once), the access check (a refusal is told through the `response_url`),
//! then the work. The one exception is a modal submission, whose answer
//! decides the modal (kept open with a field error, or closed) and may read
//! the stored case: its sender is checked before it is answered.

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
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use crate::slack::request::TRIAGE_SHORTCUT;

/// Redis work done before acknowledging Slack (a modal's checks) gets this
/// long, so the answer stays inside Slack's 3 s even when Redis hangs.
const BEFORE_ACK_BUDGET: Duration = Duration::from_secs(2);
/// The access check after the answer: Slack's reads behind it retry a
/// `ratelimited` for up to 20 s, which is still worth waiting for (the
/// `response_url` takes answers for 30 minutes); a check that does not end
/// lets nobody through.
const AFTER_ACK_CHECK_BUDGET: Duration = Duration::from_secs(25);

pub use crate::domain::text::CUSTOMER_WORDS_MAX_CHARS;
/// How long a delivery is remembered: Slack's signature window is five
/// minutes either side of the request's timestamp, so a replay accepted by
/// the verifier arrives at most ten minutes after the first delivery.
pub const DELIVERY_TTL_SECS: u64 = 600;

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

/// What a request gets: the answer Slack waits for, and the work that
/// follows it (once per delivery, for someone allowed).
struct Answer {
    ack: Ack,
    work: Option<BoxFuture<'static, ()>>,
}

impl Answer {
    /// An answer with nothing after it (help, a usage reply, a field error).
    fn only(ack: Ack) -> Self {
        Self { ack, work: None }
    }

    /// An answer, then `work`, which spawns what takes long.
    fn then(ack: Ack, work: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            ack,
            work: Some(Box::pin(work)),
        }
    }
}

fn ephemeral(text: impl Into<String>) -> Ack {
    Ack::Json(json!({ "response_type": "ephemeral", "text": text.into() }))
}

/// A modal answer that keeps it open with an error under one field.
fn field_error(block: &str, message: &str) -> Ack {
    Ack::Json(json!({ "response_action": "errors", "errors": { block: message } }))
}

/// Whether this is the first delivery of a request: a Slack retry or a
/// replayed signed request runs once. When Redis cannot say (each call is
/// cut off by the store's own timeout), the request counts as new: a lost
/// duplicate check must not lose the request.
pub async fn first_delivery(deps: &Deps, delivery: &DeliveryId) -> bool {
    match deps
        .store
        .claim_delivery(delivery.as_str(), DELIVERY_TTL_SECS)
        .await
    {
        Ok(first) => {
            if !first {
                tracing::info!(
                    delivery = &delivery.as_str()[..12],
                    "duplicate delivery acknowledged, not run"
                );
            }
            first
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not check for a duplicate delivery; handling it");
            true
        }
    }
}

/// A request, answered at once; its work runs after the answer, once per
/// delivery: a second delivery gets the same answer and runs nothing (a
/// command's answer names the case of the first's lookup). Only a work
/// that runs claims its delivery, so a modal submission refused with a
/// field error is checked again when it comes again.
pub async fn on_request_once(deps: &Arc<Deps>, delivery: &DeliveryId, request: Request) -> Ack {
    let mut guarded = Guarded::of(&request);
    if let (Request::Submission(_), Some(guard)) = (&request, &guarded) {
        // Slack waits 3 s; a check that cannot finish lets nobody through.
        if let Err(denied) = guard.check(deps, BEFORE_ACK_BUDGET).await {
            let text = guard.refused(deps, &denied);
            return not_allowed_view(&text);
        }
        guarded = None;
    }
    let Answer { ack, work } = on_request(deps, delivery, request).await;
    if let Some(work) = work {
        let tasks = deps.tasks.clone();
        let (deps, delivery) = (Arc::clone(deps), delivery.clone());
        tasks.spawn(async move {
            if !first_delivery(&deps, &delivery).await {
                return;
            }
            if let Some(guard) = guarded {
                if let Err(denied) = guard.check(&deps, AFTER_ACK_CHECK_BUDGET).await {
                    let text = guard.refused(&deps, &denied);
                    tell_now(&deps, guard.response_url.as_ref(), &text).await;
                    return;
                }
            }
            work.await;
        });
    }
    ack
}

/// Who acted, where and on what, for the access check of a request that
/// shows or changes billing, and where a refusal is told.
struct Guarded {
    user: SlackUserId,
    channel: Option<ChannelId>,
    on: String,
    /// The customer identifier asked for, audited only as a salted hash.
    identifier: Option<String>,
    /// Where a refusal after the answer goes (a modal's is its answer).
    response_url: Option<ResponseUrl>,
}

impl Guarded {
    /// `None` for what shows no billing: `/billing help`, a usage reply, an
    /// interaction that is not ours.
    fn of(request: &Request) -> Option<Self> {
        let guarded = |user: &SlackUserId,
                       channel: Option<&ChannelId>,
                       on: &str,
                       identifier: Option<String>,
                       response_url: Option<&ResponseUrl>| Guarded {
            user: user.clone(),
            channel: channel.cloned(),
            on: on.to_owned(),
            identifier,
            response_url: response_url.cloned(),
        };
        match request {
            Request::Command(cmd) => {
                let (on, identifier) = match cmd.command.as_ref().ok()? {
                    BillingCommand::Lookup { query, .. } => ("lookup", Some(query.to_string())),
                    BillingCommand::Audit(case) => ("audit", Some(case.to_string())),
                    BillingCommand::Report(report) => (reports::name(*report), None),
                    BillingCommand::Help => return None,
                };
                Some(guarded(
                    &cmd.user,
                    Some(&cmd.channel),
                    on,
                    identifier,
                    Some(&cmd.response_url),
                ))
            }
            Request::Shortcut(s) => Some(guarded(
                &s.user,
                Some(&s.channel),
                TRIAGE_SHORTCUT,
                None,
                Some(&s.response_url),
            )),
            Request::Buttons(clicks) => {
                let first = clicks.buttons.first()?;
                Some(guarded(
                    &clicks.user,
                    clicks.channel.as_ref(),
                    first.action_id(),
                    first.identifier(),
                    clicks.response_url.as_ref(),
                ))
            }
            Request::Submission(s) => {
                Some(guarded(&s.user, None, s.form.callback_id(), None, None))
            }
            Request::Ignored { .. } | Request::Unreadable(_) => None,
        }
    }

    /// Whether the sender may see billing here, within `budget`.
    async fn check(&self, deps: &Deps, budget: Duration) -> Result<(), Denied> {
        tokio::time::timeout(
            budget,
            access::check(deps, &self.user, self.channel.as_ref()),
        )
        .await
        .unwrap_or_else(|_| Err(Denied::Unchecked("timed out".to_owned())))
    }

    /// A refusal, private and complete: logged, audited in the background,
    /// and nothing else done. Returns what to tell who tried.
    fn refused(&self, deps: &Arc<Deps>, denied: &Denied) -> String {
        tracing::warn!(
            actor = %self.user,
            channel = self.channel.as_ref().map(|c| c.to_string()),
            on = %self.on,
            reason = denied.code(),
            "access refused"
        );
        let text = denied.text(&deps.access.config);
        let tasks = deps.tasks.clone();
        let (deps, user, channel, on, identifier, denied) = (
            Arc::clone(deps),
            self.user.clone(),
            self.channel.clone(),
            self.on.clone(),
            self.identifier.clone(),
            denied.clone(),
        );
        tasks.spawn(async move {
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
        text
    }
}

/// A modal submission refused: the modal says so in place of its form.
fn not_allowed_view(text: &str) -> Ack {
    Ack::Json(json!({
        "response_action": "update",
        "view": {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Not allowed"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        }
    }))
}

/// Dispatches one typed request to its handler: the answer, and what
/// runs after it.
async fn on_request(deps: &Arc<Deps>, delivery: &DeliveryId, request: Request) -> Answer {
    match request {
        Request::Command(cmd) => slash::on_command(deps, delivery, cmd),
        Request::Shortcut(shortcut) => {
            let deps = Arc::clone(deps);
            Answer::then(Ack::Empty, async move {
                shortcut::on_shortcut(&deps, shortcut);
            })
        }
        Request::Buttons(clicks) => {
            let deps = Arc::clone(deps);
            Answer::then(Ack::Empty, async move {
                buttons::on_buttons(&deps, clicks);
            })
        }
        Request::Submission(submission) => submissions::on_submission(deps, submission).await,
        Request::Ignored { kind } => {
            tracing::info!(kind, "interaction ignored");
            Answer::only(Ack::Empty)
        }
        Request::Unreadable(unreadable) => {
            tracing::warn!(
                kind = unreadable.kind,
                field = unreadable.field,
                "unreadable Slack request"
            );
            Answer::only(if unreadable.kind == crate::slack::request::COMMAND_KIND {
                ephemeral(format!(
                    "Slack sent a {} the bot cannot read; try again",
                    unreadable.field
                ))
            } else {
                Ack::Empty
            })
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
