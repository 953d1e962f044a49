//! Slack Socket Mode (`SLACK_APP_TOKEN` set): our own small websocket loop
//! over tokio-tungstenite. `apps.connections.open` (through `SLACK_API_URL`)
//! gives a `wss://` URL; Slack says `hello`, then sends envelopes, each acked
//! with its `envelope_id` (and the slash command's answer as its payload).
//! An envelope's payload is read through the same payload types as the HTTP
//! routes and handed to the same `slack::Handler`, so both
//! modes behave alike.
//!
//! Why not slack-morphism's listener: it logs an envelope it cannot read
//! whole (and every frame at TRACE), hides whether a connection is up (so
//! `/readyz` could not tell), retries a refused token every 30 s in silence
//! to its callers, and drops its connections on shutdown without waiting for
//! the close frames. Here nothing logs a frame's body: an unreadable
//! envelope is logged by its id, type and the JSON error's category only.
//!
//! [`SocketHealth`] is the connection's state for `/readyz`: ready only
//! between Slack's `hello` and the connection's end; every change out of
//! "connected" is logged once with its reason.

use super::api::SocketUrl;
use super::handler::{Ack, Handler};
use super::payloads::{DeliveryId, EventEnvelope, Interaction, SlashCommand};
use super::request::Request as SlackRequest;
use super::{SlackApi, SlackError};
use crate::domain::SlackAppToken;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as Frame, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// After a shutdown signal (or Slack's `disconnect`), how long the acks of
/// envelopes in flight and the close handshake may take, at most.
pub const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// How long opening the websocket (TCP, TLS, upgrade) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// We ping this often; Slack's pongs (or anything) prove the link alive.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Nothing from Slack for this long: the connection is dead; replace it.
const SILENT_FOR: Duration = Duration::from_secs(90);
/// Slack's envelopes are a few KB; a larger frame is not from Slack.
const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Retry delays after a failed connection (exponential, with jitter).
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where the Socket Mode connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// No connection yet (before the first `hello`).
    Starting,
    /// The websocket is open; Slack has not said `hello` yet.
    Opened,
    /// Slack said `hello`: envelopes flow.
    Connected,
    /// `apps.connections.open` refused the app token; retrying.
    Refused { code: String },
    /// The connection could not be opened, or was lost; retrying.
    Reconnecting { reason: String },
    /// Shutting down (signal received).
    Stopped,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Starting => f.write_str("no Socket Mode connection yet"),
            Self::Opened => f.write_str("websocket open, waiting for Slack's hello"),
            Self::Connected => f.write_str("connected"),
            Self::Refused { code } => {
                write!(f, "app token refused by apps.connections.open: {code}")
            }
            Self::Reconnecting { reason } => write!(f, "reconnecting: {reason}"),
            Self::Stopped => f.write_str("Socket Mode shut down"),
        }
    }
}

/// The Socket Mode connection's state, shared with `/readyz`; cheap to clone.
#[derive(Clone)]
pub struct SocketHealth(Arc<watch::Sender<Link>>);

impl Default for SocketHealth {
    fn default() -> Self {
        Self::new()
    }
}

impl SocketHealth {
    pub fn new() -> Self {
        Self(Arc::new(watch::Sender::new(Link::Starting)))
    }

    pub fn link(&self) -> Link {
        self.0.borrow().clone()
    }

    /// `Err` with the reason while no Socket Mode connection is established.
    ///
    /// # Errors
    /// Every state but [`Link::Connected`].
    pub fn ready(&self) -> Result<(), Link> {
        match self.link() {
            Link::Connected => Ok(()),
            other => Err(other),
        }
    }

    /// Moves to `link`; a change is logged once, with its reason.
    fn set(&self, link: Link) {
        let changed = self.0.send_if_modified(|current| {
            if *current == link {
                false
            } else {
                *current = link.clone();
                true
            }
        });
        if !changed {
            return;
        }
        match &link {
            Link::Connected => tracing::info!("Socket Mode connected (hello received); ready"),
            Link::Opened => tracing::debug!("Socket Mode websocket open; waiting for hello"),
            Link::Refused { .. } => {
                tracing::error!(reason = %link, "Socket Mode not connected; /readyz answers 503");
            }
            Link::Starting | Link::Reconnecting { .. } => {
                tracing::warn!(reason = %link, "Socket Mode not connected; /readyz answers 503");
            }
            Link::Stopped => tracing::info!("Socket Mode shutting down; /readyz answers 503"),
        }
    }
}

/// Connects, serves envelopes, and reconnects (with backoff) until
/// `shutdown` completes; then acks what is in flight and closes the
/// websocket, waiting at most [`CLOSE_WAIT`] for the close frames.
pub async fn run(
    slack: &SlackApi,
    handler: Arc<dyn Handler>,
    app_token: &SlackAppToken,
    health: SocketHealth,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = retry_delays();
    loop {
        let opened = tokio::select! {
            opened = open(slack, app_token) => opened,
            () = shutdown.as_mut() => break,
        };
        let (link, wait) = match opened {
            Ok(socket) => {
                health.set(Link::Opened);
                match serve(&handler, &health, socket, shutdown.as_mut()).await {
                    End::Shutdown => break,
                    // Slack asked for a new connection: opened at once when
                    // it is a routine refresh, else (e.g. `link_disabled`)
                    // after the backoff, so a refusing app is not hammered.
                    End::Refresh { reason } => {
                        let wait = if matches!(reason.as_str(), "refresh_requested" | "warning") {
                            Duration::ZERO
                        } else {
                            backoff.next().unwrap_or(RETRY_MAX)
                        };
                        let reason = format!("Slack asked to reconnect ({reason})");
                        (Link::Reconnecting { reason }, wait)
                    }
                    End::Lost { reason, had_hello } => {
                        if had_hello {
                            backoff = retry_delays();
                        }
                        let wait = backoff.next().unwrap_or(RETRY_MAX);
                        (Link::Reconnecting { reason }, wait)
                    }
                }
            }
            Err(link) => (link, backoff.next().unwrap_or(RETRY_MAX)),
        };
        tracing::info!(
            reason = %link,
            retry_in_ms = wait.as_millis() as u64,
            "Socket Mode connection attempt scheduled"
        );
        health.set(link);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.as_mut() => break,
        }
    }
    health.set(Link::Stopped);
}

fn retry_delays() -> impl Iterator<Item = Duration> {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(RETRY_MIN)
        .with_max_delay(RETRY_MAX)
        .with_jitter()
        .without_max_times()
        .build()
}

/// `apps.connections.open`, then the websocket.
async fn open(slack: &SlackApi, app_token: &SlackAppToken) -> Result<Socket, Link> {
    let url: SocketUrl = slack.open_socket(app_token).await.map_err(|e| match e {
        SlackError::Api { code } => Link::Refused { code },
        other => Link::Reconnecting {
            reason: format!("apps.connections.open failed: {other}"),
        },
    })?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let connect = tokio_tungstenite::connect_async_with_config(url.expose(), Some(config), false);
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(e)) => Err(Link::Reconnecting {
            reason: format!("the websocket did not open: {}", ws_error_kind(&e)),
        }),
        Err(_) => Err(Link::Reconnecting {
            reason: format!(
                "the websocket did not open within {} s",
                CONNECT_TIMEOUT.as_secs()
            ),
        }),
    }
}

/// Why a connection ended.
enum End {
    Shutdown,
    Refresh { reason: String },
    Lost { reason: String, had_hello: bool },
}

/// Serves one connection until it ends; then acks what is in flight and
/// closes it (bounded by [`CLOSE_WAIT`]).
async fn serve(
    handler: &Arc<dyn Handler>,
    health: &SocketHealth,
    socket: Socket,
    mut shutdown: Pin<&mut impl Future<Output = ()>>,
) -> End {
    let (mut sink, mut stream) = socket.split();
    let mut in_flight: JoinSet<Option<String>> = JoinSet::new();
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = Instant::now();
    let mut had_hello = false;
    let lost = |reason: String, had_hello: bool| End::Lost { reason, had_hello };
    let end = loop {
        tokio::select! {
            frame = stream.next() => {
                last_heard = Instant::now();
                let text = match frame {
                    Some(Ok(Frame::Text(text))) => text,
                    Some(Ok(Frame::Close(_))) | None => {
                        break lost("Slack closed the websocket".to_owned(), had_hello);
                    }
                    Some(Ok(_)) => continue, // ping, pong (answered by tungstenite), binary
                    Some(Err(e)) => {
                        break lost(format!("websocket error: {}", ws_error_kind(&e)), had_hello);
                    }
                };
                match read_frame(text.as_str()) {
                    Incoming::Hello => {
                        had_hello = true;
                        health.set(Link::Connected);
                    }
                    Incoming::Disconnect { reason } => break End::Refresh { reason },
                    Incoming::Envelope(envelope) => {
                        let handler = Arc::clone(handler);
                        in_flight.spawn(async move { answer(handler.as_ref(), *envelope).await });
                    }
                    Incoming::Unreadable(unreadable) => {
                        unreadable.log();
                        // It reads no better when redelivered: acked if it has an id.
                        if let Some(id) = unreadable.envelope_id {
                            if let Err(e) = sink.send(Frame::text(ack(&id, None))).await {
                                break lost(format!("could not ack: {}", ws_error_kind(&e)), had_hello);
                            }
                        }
                    }
                    Incoming::Other { kind, envelope_id } => match envelope_id {
                        // A type Slack added: acked, or Slack sends it again.
                        Some(id) => {
                            tracing::info!(kind = %kind, envelope_id = id.as_str(), "Socket Mode envelope of an unknown type acknowledged, not handled");
                            if let Err(e) = sink.send(Frame::text(ack(&id, None))).await {
                                break lost(format!("could not ack: {}", ws_error_kind(&e)), had_hello);
                            }
                        }
                        None => tracing::debug!(kind = %kind, "Socket Mode frame ignored"),
                    },
                }
            }
            Some(done) = in_flight.join_next() => {
                if let Some(frame) = handled(done) {
                    if let Err(e) = sink.send(Frame::text(frame)).await {
                        break lost(format!("could not ack: {}", ws_error_kind(&e)), had_hello);
                    }
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENT_FOR {
                    break lost(format!("nothing from Slack for {} s", SILENT_FOR.as_secs()), had_hello);
                }
                if let Err(e) = sink.send(Frame::Ping(bytes::Bytes::new())).await {
                    break lost(format!("ping failed: {}", ws_error_kind(&e)), had_hello);
                }
            }
            () = shutdown.as_mut() => break End::Shutdown,
        }
    };
    if matches!(end, End::Shutdown) {
        health.set(Link::Stopped);
    }
    close(&mut sink, &mut stream, in_flight, &end).await;
    end
}

/// Sends the acks of envelopes still in flight, then a close frame, and
/// waits for Slack's, all within [`CLOSE_WAIT`]. A lost connection gets the
/// same bounded attempt; envelopes left unacked are redelivered by Slack
/// (and run once: the delivery id is their payload's hash).
async fn close(
    sink: &mut futures::stream::SplitSink<Socket, Frame>,
    stream: &mut futures::stream::SplitStream<Socket>,
    mut in_flight: JoinSet<Option<String>>,
    end: &End,
) {
    let deadline = Instant::now() + CLOSE_WAIT;
    let answered = tokio::time::timeout_at(deadline, async {
        while let Some(done) = in_flight.join_next().await {
            if let Some(frame) = handled(done) {
                sink.send(Frame::text(frame)).await?;
            }
        }
        Ok::<(), WsError>(())
    })
    .await;
    // Handlers still running finish on their own (their work is on
    // `Deps::tasks`); only their acks are lost.
    in_flight.detach_all();
    if let End::Lost { .. } = end {
        return;
    }
    if !matches!(answered, Ok(Ok(()))) {
        tracing::warn!("Socket Mode closing with envelopes unacked; Slack redelivers them");
    }
    let reason = match end {
        End::Shutdown => "shutting down",
        _ => "reconnecting",
    };
    let frame = Frame::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: Utf8Bytes::from_static(reason),
    }));
    let closed = tokio::time::timeout_at(deadline, async {
        sink.send(frame).await?;
        // Read on until Slack's close frame (or the end of the stream).
        while let Some(frame) = stream.next().await {
            if let Frame::Close(_) = frame? {
                break;
            }
        }
        Ok::<(), WsError>(())
    })
    .await;
    match closed {
        Ok(Ok(())) => tracing::info!("Socket Mode websocket closed"),
        Ok(Err(WsError::ConnectionClosed)) => tracing::info!("Socket Mode websocket closed"),
        Ok(Err(e)) => tracing::warn!(error = %ws_error_kind(&e), "Socket Mode close failed"),
        Err(_) => tracing::warn!(
            wait_ms = CLOSE_WAIT.as_millis() as u64,
            "Slack did not answer the close frame in time"
        ),
    }
}

/// A finished envelope handler's ack frame; a panicked one is logged.
fn handled(done: Result<Option<String>, tokio::task::JoinError>) -> Option<String> {
    match done {
        Ok(frame) => frame,
        Err(e) => {
            tracing::error!(
                panicked = e.is_panic(),
                "Socket Mode envelope handler failed"
            );
            None
        }
    }
}

/// Runs one envelope through the workflows; returns its ack frame.
async fn answer(handler: &dyn Handler, envelope: Envelope) -> Option<String> {
    let Envelope {
        id,
        delivery,
        request,
    } = envelope;
    let payload = match request {
        Request::Command(command) => {
            match handler
                .on_request(&delivery, SlackRequest::from_command(command))
                .await
            {
                Ack::Json(value) => Some(value),
                Ack::Empty => None,
            }
        }
        Request::Interaction {
            interaction,
            accepts_response_payload,
        } => match handler
            .on_request(&delivery, SlackRequest::from_interaction(interaction))
            .await
        {
            // Field errors of a modal submission, where Slack takes them.
            Ack::Json(value) if accepts_response_payload => Some(value),
            Ack::Json(_) | Ack::Empty => None,
        },
        Request::Event(event) => {
            let _ = handler.on_event(event);
            None
        }
    };
    Some(ack(&id, payload))
}

/// The ack Slack requires for every envelope, with an optional answer.
fn ack(id: &EnvelopeId, payload: Option<serde_json::Value>) -> String {
    match payload {
        Some(payload) => serde_json::json!({ "envelope_id": id.0, "payload": payload }),
        None => serde_json::json!({ "envelope_id": id.0 }),
    }
    .to_string()
}

/// A Socket Mode envelope id, checked to look like one (so logging it logs
/// nothing else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeId(String);

impl EnvelopeId {
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A readable envelope: its id, its delivery id and the request it carries.
#[derive(Debug)]
pub struct Envelope {
    pub id: EnvelopeId,
    pub delivery: DeliveryId,
    pub request: Request,
}

/// What an envelope carries, in the payload types the HTTP routes read;
/// typed into a [`SlackRequest`] when it is answered.
#[derive(Debug)]
pub enum Request {
    Command(SlashCommand),
    Interaction {
        interaction: Interaction,
        accepts_response_payload: bool,
    },
    Event(EventEnvelope),
}

/// An envelope that could not be read; [`Unreadable::log`] names only its
/// id, its type and the JSON error's category, never its content.
#[derive(Debug)]
pub struct Unreadable {
    pub envelope_id: Option<EnvelopeId>,
    pub kind: Option<&'static str>,
    pub error: serde_json::error::Category,
}

impl Unreadable {
    fn log(&self) {
        tracing::warn!(
            envelope_id = self.envelope_id.as_ref().map_or("none", EnvelopeId::as_str),
            envelope_type = self.kind.unwrap_or("unknown"),
            error_kind = ?self.error,
            "unreadable Socket Mode envelope; acked and dropped"
        );
    }
}

/// One text frame from Slack, read.
#[derive(Debug)]
pub enum Incoming {
    Hello,
    Disconnect {
        reason: String,
    },
    /// Boxed: a block action's payload is far larger than the control frames.
    Envelope(Box<Envelope>),
    Unreadable(Unreadable),
    /// A frame type we do not handle; its type, if it is a plain word, and
    /// its envelope id when it has one (then it is acked all the same).
    Other {
        kind: String,
        envelope_id: Option<EnvelopeId>,
    },
}

/// The frame as Slack sends it; the payload is read once its type is known.
#[derive(Deserialize)]
struct RawFrame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    envelope_id: Option<String>,
    #[serde(default)]
    payload: serde_json::Value,
    #[serde(default)]
    accepts_response_payload: bool,
    #[serde(default)]
    reason: Option<String>,
}

/// Reads a text frame (pure: no I/O, no logging).
pub fn read_frame(text: &str) -> Incoming {
    let frame: RawFrame = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(e) => {
            // Still try for the id, so the envelope is acked, not
            // redelivered: from any JSON object, one with a key written
            // twice included (the last is kept, as JSON readers do).
            let envelope_id = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("envelope_id")?.as_str().and_then(EnvelopeId::parse));
            return Incoming::Unreadable(Unreadable {
                envelope_id,
                kind: None,
                error: e.classify(),
            });
        }
    };
    let kind: &'static str = match frame.kind.as_str() {
        "hello" => return Incoming::Hello,
        "disconnect" => {
            let reason = frame
                .reason
                .filter(|r| r.len() <= 64 && r.bytes().all(|b| b.is_ascii_graphic()))
                .unwrap_or_else(|| "no reason given".to_owned());
            return Incoming::Disconnect { reason };
        }
        "slash_commands" => "slash_commands",
        "interactive" => "interactive",
        "events_api" => "events_api",
        other => {
            let kind = if other.len() <= 32
                && other.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                other.to_owned()
            } else {
                "unknown".to_owned()
            };
            let envelope_id = frame.envelope_id.as_deref().and_then(EnvelopeId::parse);
            return Incoming::Other { kind, envelope_id };
        }
    };
    let envelope_id = frame.envelope_id.as_deref().and_then(EnvelopeId::parse);
    let unreadable = |error| {
        Incoming::Unreadable(Unreadable {
            envelope_id: envelope_id.clone(),
            kind: Some(kind),
            error,
        })
    };
    let Some(id) = envelope_id.clone() else {
        return unreadable(serde_json::error::Category::Data);
    };
    // Redeliveries carry the same payload: its hash names the delivery.
    let delivery = DeliveryId::of_json(&frame.payload);
    let request = match kind {
        "slash_commands" => serde_json::from_value(frame.payload).map(Request::Command),
        "interactive" => {
            serde_json::from_value(frame.payload).map(|interaction| Request::Interaction {
                interaction,
                accepts_response_payload: frame.accepts_response_payload,
            })
        }
        _ => serde_json::from_value(frame.payload).map(Request::Event),
    };
    match request {
        Ok(request) => Incoming::Envelope(Box::new(Envelope {
            id,
            delivery,
            request,
        })),
        Err(e) => unreadable(e.classify()),
    }
}

/// A websocket error's kind, without any URL or frame content.
fn ws_error_kind(e: &WsError) -> String {
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => "connection closed".to_owned(),
        WsError::Io(io) => format!("I/O error ({:?})", io.kind()),
        WsError::Tls(_) => "TLS error".to_owned(),
        WsError::Capacity(_) => "frame too large".to_owned(),
        WsError::Protocol(p) => format!("protocol error ({p})"),
        WsError::WriteBufferFull(_) => "write buffer full".to_owned(),
        WsError::Utf8(_) => "text frame not UTF-8".to_owned(),
        WsError::AttackAttempt => "attack attempt".to_owned(),
        WsError::Url(_) => "bad websocket URL".to_owned(),
        WsError::Http(resp) => format!("HTTP status {}", resp.status()),
        WsError::HttpFormat(_) => "malformed HTTP".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_command_envelope_reads_as_the_http_command() {
        let frame = serde_json::json!({
            "envelope_id": "1d3c2f6c-3a4b-4c5d-9e8f-0a1b2c3d4e5f", "type": "slash_commands",
            "accepts_response_payload": true, "retry_attempt": 0, "retry_reason": "",
            "payload": {"token": "x", "team_id": "T1", "channel_id": "C1", "user_id": "U1",
                "command": "/billing", "text": "lookup ana@example.com",
                "response_url": "https://hooks.slack.com/commands/1/2/3", "trigger_id": "1.2.3"}
        });
        let Incoming::Envelope(envelope) = read_frame(&frame.to_string()) else {
            panic!("a readable envelope");
        };
        assert_eq!(envelope.id.as_str(), "1d3c2f6c-3a4b-4c5d-9e8f-0a1b2c3d4e5f");
        let Request::Command(command) = envelope.request else {
            panic!("a command");
        };
        assert_eq!(command.text, "lookup ana@example.com");
        assert_eq!(command.user_id, "U1");
        assert_eq!(
            envelope.delivery,
            DeliveryId::of_json(&frame["payload"]),
            "a redelivery (same payload) is the same delivery"
        );
    }

    #[test]
    fn a_block_action_envelope_reads_as_the_http_interaction() {
        let frame = serde_json::json!({
            "envelope_id": "e1", "type": "interactive", "accepts_response_payload": false,
            "payload": {"type": "block_actions", "user": {"id": "U2"}, "trigger_id": "t",
                "channel": {"id": "C1"}, "message": {"ts": "1.2"},
                "actions": [{"action_id": "approve_action", "value": "case_0123456789ab/a1"}]}
        });
        let Incoming::Envelope(envelope) = read_frame(&frame.to_string()) else {
            panic!("a readable envelope");
        };
        let Request::Interaction {
            interaction: Interaction::BlockActions { actions, .. },
            accepts_response_payload: false,
        } = envelope.request
        else {
            panic!("a block action");
        };
        assert_eq!(actions[0].value.as_deref(), Some("case_0123456789ab/a1"));
    }

    #[test]
    fn hello_and_disconnect_are_control_frames() {
        assert!(matches!(
            read_frame(r#"{"type":"hello","num_connections":1}"#),
            Incoming::Hello
        ));
        assert!(matches!(
            read_frame(r#"{"type":"disconnect","reason":"refresh_requested"}"#),
            Incoming::Disconnect { reason } if reason == "refresh_requested"
        ));
    }

    #[test]
    fn an_unreadable_envelope_keeps_its_id_and_only_the_error_category() {
        let frame = serde_json::json!({
            "envelope_id": "e2", "type": "slash_commands",
            "payload": {"text": "refund ana@example.com", "response_url": "https://hooks.slack.com/commands/9/9/9"}
        });
        let Incoming::Unreadable(unreadable) = read_frame(&frame.to_string()) else {
            panic!("unreadable: no user, channel or command");
        };
        assert_eq!(unreadable.envelope_id, EnvelopeId::parse("e2"));
        assert_eq!(unreadable.kind, Some("slash_commands"));
        let shown = format!("{unreadable:?}");
        assert!(!shown.contains("ana@example.com") && !shown.contains("hooks.slack.com"));

        let Incoming::Unreadable(cut) =
            read_frame(r#"{"envelope_id":"e3","type":"interactive","payload":{"user":"#)
        else {
            panic!("a cut frame is unreadable");
        };
        assert_eq!(cut.envelope_id, None, "no id can be read from a cut frame");
        assert_eq!(cut.error, serde_json::error::Category::Eof);
    }

    #[test]
    fn envelope_ids_are_plain_tokens() {
        assert!(EnvelopeId::parse("57d6a792-4d35-4d0b-b6aa-3361493e1caf").is_some());
        assert!(EnvelopeId::parse("ana@example.com").is_none());
        assert!(EnvelopeId::parse("").is_none());
    }

    #[test]
    fn acks_carry_the_envelope_id_and_the_answer() {
        let id = EnvelopeId::parse("e4").expect("id");
        assert_eq!(ack(&id, None), r#"{"envelope_id":"e4"}"#);
        let with: serde_json::Value =
            serde_json::from_str(&ack(&id, Some(serde_json::json!({"text": "hi"})))).expect("json");
        assert_eq!(with["payload"]["text"], "hi");
    }

    #[test]
    fn a_refused_token_says_so() {
        let link = Link::Refused {
            code: "invalid_auth".into(),
        };
        assert_eq!(
            link.to_string(),
            "app token refused by apps.connections.open: invalid_auth"
        );
        let health = SocketHealth::new();
        assert_eq!(health.ready(), Err(Link::Starting));
        health.set(Link::Connected);
        assert_eq!(health.ready(), Ok(()));
        health.set(link.clone());
        assert_eq!(health.ready(), Err(link));
    }
}
