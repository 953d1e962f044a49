//! HTTP adapter: the hyper 1 server and its routes (docs/CONTRACT.md "HTTP
//! endpoints"). Reads the raw body, verifies Slack's signature before any
//! handler sees it (401 otherwise), reads the payload once into a typed
//! `slack::request::Request`, and hands it to the `slack::Handler` it was
//! given, whose `Ack` becomes the response. hyper types stop here. Slow and numerous clients are bounded: [`READ_TIMEOUT`] for the
//! headers and again for the body, [`MAX_CONNECTIONS`] open at once.

use crate::metrics::Metrics;
use crate::slack::payloads;
use crate::slack::request::Request as SlackRequest;
use crate::slack::socket::SocketHealth;
use crate::slack::verify::{Verifier, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::slack::{Ack, Handler};
use crate::store::Store;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tracing::Instrument;

/// Slack payloads are small; anything larger is not from Slack.
const MAX_BODY_BYTES: usize = 512 * 1024;
/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A client gets this long to send its headers, and again its body: a
/// trickling client is answered 408 and closed before any signature check.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections at most; further clients wait in the kernel's accept
/// queue. Each costs a task and buffers (tens of KB), so this bounds memory.
pub const MAX_CONNECTIONS: usize = 1024;

/// What every request handler shares.
pub struct AppState {
    /// Where typed Slack requests go (the bot's `handlers`).
    pub handler: Arc<dyn Handler>,
    /// Pinged by `/readyz`.
    pub store: Store,
    pub metrics: Metrics,
    /// Present in HTTP mode; in Socket Mode the `/slack/*` routes are off.
    pub verifier: Option<Verifier>,
    /// Present in Socket Mode: `/readyz` is 503 while it is not connected.
    pub socket: Option<SocketHealth>,
}

type Resp = Response<Full<Bytes>>;

/// Serves until `shutdown` completes, then drains open connections.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        // A slot first, then accept: at the cap, connections wait unaccepted.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let state = Arc::clone(&state);
                let service = hyper::service::service_fn(move |req| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, std::convert::Infallible>(route(&state, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout");
    }
}

async fn route(state: &AppState, req: Request<Incoming>) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let (endpoint, resp) = match (&method, path.as_str()) {
        (&Method::GET, "/healthz") => ("healthz", text(StatusCode::OK, "ok")),
        (&Method::GET, "/readyz") => ("readyz", readyz(state).await),
        (&Method::GET, "/metrics") => ("metrics", metrics(state)),
        (&Method::POST, "/slack/commands") => {
            ("commands", slack(state, req, SlackRoute::Commands).await)
        }
        (&Method::POST, "/slack/interactions") => (
            "interactions",
            slack(state, req, SlackRoute::Interactions).await,
        ),
        (&Method::POST, "/slack/events") => ("events", slack(state, req, SlackRoute::Events).await),
        (
            _,
            "/healthz"
            | "/readyz"
            | "/metrics"
            | "/slack/commands"
            | "/slack/interactions"
            | "/slack/events",
        ) => (
            "other",
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        ),
        _ => ("other", text(StatusCode::NOT_FOUND, "not found")),
    };
    state
        .metrics
        .http_requests
        .get_or_create(&crate::metrics::RequestLabels {
            endpoint,
            status: resp.status().as_u16(),
        })
        .inc();
    resp
}

/// Ready when Redis answers and, in Socket Mode, a connection is
/// established (Slack said `hello`); `/healthz` is liveness only. Why the
/// socket is down is logged when it goes down (`socket::SocketHealth`).
async fn readyz(state: &AppState) -> Resp {
    if let Some(Err(link)) = state.socket.as_ref().map(SocketHealth::ready) {
        tracing::debug!(reason = %link, "not ready");
        return text_owned(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {link}"),
        );
    }
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "not ready");
        return text(StatusCode::SERVICE_UNAVAILABLE, "redis unavailable");
    }
    // Every action writes the audit first: a log that refuses appends is
    // a bot that can do nothing.
    match state.store.audit_writable().await {
        Ok(()) => text(StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit log refuses appends (its head is missing); run `billing-triage audit verify`",
            )
        }
    }
}

fn metrics(state: &AppState) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(state.metrics.encode())));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

#[derive(Debug, Clone, Copy)]
enum SlackRoute {
    Commands,
    Interactions,
    Events,
}

async fn slack(state: &AppState, req: Request<Incoming>, route: SlackRoute) -> Resp {
    let Some(verifier) = &state.verifier else {
        return text(
            StatusCode::NOT_FOUND,
            "Slack HTTP endpoints are off in Socket Mode",
        );
    };
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (signature, timestamp) = (header(SIGNATURE_HEADER), header(TIMESTAMP_HEADER));
    let body = match tokio::time::timeout(
        READ_TIMEOUT,
        Limited::new(req.into_body(), MAX_BODY_BYTES).collect(),
    )
    .await
    {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "unreadable or oversized body");
            return text(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
        }
        Err(_) => {
            tracing::warn!(route = ?route, "request body too slow; closing the connection");
            let mut resp = text(StatusCode::REQUEST_TIMEOUT, "request body too slow");
            resp.headers_mut()
                .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
            return resp;
        }
    };
    if let Err(e) = verifier.verify(signature.as_deref(), timestamp.as_deref(), &body) {
        tracing::warn!(reason = %e, route = ?route, "refused an unverified request");
        return text(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let span = tracing::info_span!("slack", route = ?route);
    // Commands and interactions run once per delivery; events only answer
    // (the URL challenge must be answered every time).
    let delivery = payloads::DeliveryId::of_body(&body);
    let ack = async {
        match route {
            SlackRoute::Commands if payloads::is_ssl_check(&body) => Ok(Ack::Empty),
            SlackRoute::Commands => match SlackRequest::command_body(&body) {
                Ok(request) => Ok(state.handler.on_request(&delivery, request).await),
                Err(e) => Err(e),
            },
            SlackRoute::Interactions => match SlackRequest::interaction_body(&body) {
                Ok(request) => Ok(state.handler.on_request(&delivery, request).await),
                Err(e) => Err(e),
            },
            SlackRoute::Events => payloads::event(&body).map(|event| state.handler.on_event(event)),
        }
    }
    .instrument(span)
    .await;
    match ack {
        Ok(Ack::Empty) => text(StatusCode::OK, ""),
        Ok(Ack::Json(value)) => json(&value),
        Err(e) => {
            // serde's messages quote the offending value (an email, a
            // response_url): only the error's kind is logged.
            tracing::warn!(error_kind = payload_error_kind(&e), route = ?route, "malformed Slack payload");
            text(StatusCode::BAD_REQUEST, "malformed payload")
        }
    }
}

/// What kind of malformed payload, without any of its content.
fn payload_error_kind(e: &payloads::PayloadError) -> &'static str {
    use serde_json::error::Category;
    match e {
        payloads::PayloadError::Form(_) => "form: unreadable or missing fields",
        payloads::PayloadError::Json(j) => match j.classify() {
            Category::Data => "JSON: unexpected fields or types",
            Category::Syntax | Category::Eof | Category::Io => "JSON: not valid JSON",
        },
        payloads::PayloadError::NoPayload => "no payload field",
    }
}

fn text(status: StatusCode, body: &'static str) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn text_owned(status: StatusCode, body: String) -> Resp {
    let mut resp = text(status, "");
    *resp.body_mut() = Full::new(Bytes::from(body));
    resp
}

fn json(value: &serde_json::Value) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(value.to_string())));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_payload_is_logged_by_kind_not_content() {
        let payload = r#"{"type":"block_actions","user":{"id":"U1"},"trigger_id":"t","actions":"ana@example.com"}"#;
        let body = serde_urlencoded::to_string([("payload", payload)]).expect("form");
        let e = payloads::interaction(body.as_bytes()).expect_err("actions is no list");
        assert!(
            e.to_string().contains("ana@example.com"),
            "serde's message quotes the value, which is why it is not logged: {e}"
        );
        assert_eq!(payload_error_kind(&e), "JSON: unexpected fields or types");

        let e = payloads::slash_command(b"text=refund+ana%40example.com")
            .expect_err("no user, channel or command");
        assert_eq!(payload_error_kind(&e), "form: unreadable or missing fields");
    }
}
