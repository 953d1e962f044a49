//! A fault-injecting proxy in front of localstripe. It owns what happens
//! between the bot and Stripe: the next request matching a method and path
//! can lose its answer after localstripe committed it, get a 500, have its
//! connection reset, hang, or run a hook (to cut Redis at that moment) before
//! or after it is forwarded.
//!
//! localstripe ignores `Idempotency-Key`, so the proxy emulates Stripe's
//! documented semantics (docs.stripe.com/api/idempotent_requests): the first
//! answer for a key is saved, including a 500, and replayed for the same key
//! with the same parameters; the same key with other parameters gets
//! `400 idempotency_error`. Tests that depend on it say so.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// Something a test runs at a chosen moment (e.g. cutting Redis).
pub type Hook = Arc<dyn Fn() + Send + Sync>;

/// What happens to one matching request.
#[derive(Clone)]
pub enum Fault {
    /// Forwarded and answered normally (to let earlier matching requests by).
    Pass,
    /// Forwarded and committed upstream (its answer saved for its key); the
    /// connection is then closed without an answer.
    DropAnswer,
    /// Answered 500 without reaching localstripe; the 500 is saved for the
    /// key and replayed, as Stripe does.
    ServerError,
    /// The connection is closed before anything is forwarded.
    Reset,
    /// Never answered, never forwarded.
    Hang,
    /// `hook` runs before the request is forwarded; it is answered normally.
    Before(Hook),
    /// `hook` runs after localstripe committed, before the answer is sent.
    AfterCommit(Hook),
}

/// One request the proxy received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    /// The form body, decoded (`metadata[case_id]=case_…&…`).
    pub body: String,
    /// `forwarded`, `replayed`, `idempotency_error` or the fault's name.
    pub outcome: &'static str,
}

#[derive(Default)]
struct State {
    /// (method, path prefix, fault) for the next matching requests, in order.
    planned: VecDeque<(String, String, Fault)>,
    /// (method, path prefix, fault) for every matching request nothing is
    /// planned for, until lifted.
    standing: Vec<(String, String, Fault)>,
    /// Idempotency key → (method, path and body it was first used with,
    /// status, answer).
    saved: HashMap<String, (String, u16, Bytes)>,
    seen: Vec<Seen>,
}

/// The proxy; `url` is what `STRIPE_API_BASE` should be.
#[derive(Clone)]
pub struct StripeFaults {
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// Why a request got no answer; hyper then closes the connection.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

impl StripeFaults {
    /// A proxy forwarding to `upstream` (localstripe's own URL).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Stripe fault proxy");
        let port = listener.local_addr().expect("local addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let upstream = upstream.trim_end_matches('/').to_owned();
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (state, upstream, client) =
                    (Arc::clone(&shared), upstream.clone(), client.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (state, upstream, client) =
                            (Arc::clone(&state), upstream.clone(), client.clone());
                        async move { handle(req, &state, &upstream, &client).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}/"),
            state,
        }
    }

    /// The next request `method` on a path starting with `path` meets `fault`.
    pub fn next(&self, method: &str, path: &str, fault: Fault) {
        self.state.lock().expect("state lock").planned.push_back((
            method.to_owned(),
            path.to_owned(),
            fault,
        ));
    }

    /// Every request `method` on a path starting with `path` meets `fault`
    /// (after the ones planned with [`Self::next`]) until [`Self::lift`]:
    /// a Stripe that stays down however often it is asked again.
    pub fn always(&self, method: &str, path: &str, fault: Fault) {
        self.state.lock().expect("state lock").standing.push((
            method.to_owned(),
            path.to_owned(),
            fault,
        ));
    }

    /// Ends the standing faults on `method` and `path`.
    pub fn lift(&self, method: &str, path: &str) {
        self.state
            .lock()
            .expect("state lock")
            .standing
            .retain(|(m, p, _)| !(m == method && p == path));
    }

    /// Requests `method` on paths starting with `path`, oldest first.
    pub fn seen(&self, method: &str, path: &str) -> Vec<Seen> {
        let state = self.state.lock().expect("state lock");
        state
            .seen
            .iter()
            .filter(|s| s.method == method && s.path.starts_with(path))
            .cloned()
            .collect()
    }
}

async fn handle(
    req: Request<Incoming>,
    state: &Mutex<State>,
    upstream: &str,
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let key = parts
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|_| method != "GET");
    let fingerprint = format!("{method} {path} {}", String::from_utf8_lossy(&body));
    let decoded: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let decoded = decoded
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let record = |outcome: &'static str| {
        state.lock().expect("state lock").seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            idempotency_key: key.clone(),
            body: decoded.clone(),
            outcome,
        });
    };

    // Stripe's idempotency: a key seen before replays its first answer.
    if let Some(key) = &key {
        let saved = state.lock().expect("state lock").saved.get(key).cloned();
        if let Some((first, status, answer)) = saved {
            if first == fingerprint {
                record("replayed");
                return Ok(json(status, answer));
            }
            record("idempotency_error");
            let error = r#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with"}}"#;
            return Ok(json(400, Bytes::from_static(error.as_bytes())));
        }
    }
    let fault = {
        let mut state = state.lock().expect("state lock");
        let at = state
            .planned
            .iter()
            .position(|(m, p, _)| *m == method && path.starts_with(p.as_str()));
        at.and_then(|i| state.planned.remove(i))
            .map(|(_, _, f)| f)
            .or_else(|| {
                state
                    .standing
                    .iter()
                    .find(|(m, p, _)| *m == method && path.starts_with(p.as_str()))
                    .map(|(_, _, f)| f.clone())
            })
    };
    let save = |status: u16, answer: &Bytes| {
        if let Some(key) = &key {
            state
                .lock()
                .expect("state lock")
                .saved
                .insert(key.clone(), (fingerprint.clone(), status, answer.clone()));
        }
    };
    match &fault {
        Some(Fault::Reset) => {
            record("reset");
            return Err(Dropped);
        }
        Some(Fault::Hang) => {
            record("hang");
            futures::future::pending::<()>().await;
        }
        Some(Fault::ServerError) => {
            record("server_error");
            let answer = Bytes::from_static(br#"{"error":{"type":"api_error","message":"Something went wrong on Stripe's end"}}"#);
            save(500, &answer);
            return Ok(json(500, answer));
        }
        Some(Fault::Before(hook)) => {
            hook();
            settle().await;
        }
        Some(Fault::Pass | Fault::DropAnswer | Fault::AfterCommit(_)) | None => {}
    }
    let uri = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut forward = Request::builder().method(parts.method.clone()).uri(uri);
    for (name, value) in &parts.headers {
        if name != "host" {
            forward = forward.header(name, value);
        }
    }
    let forward = forward
        .body(Full::new(body.clone()))
        .expect("a copied request is valid");
    let response = client.request(forward).await.map_err(|_| Dropped)?;
    let status = response.status().as_u16();
    let answer = response
        .into_body()
        .collect()
        .await
        .map_err(|_| Dropped)?
        .to_bytes();
    save(status, &answer);
    match fault {
        Some(Fault::DropAnswer) => {
            record("drop_answer");
            Err(Dropped)
        }
        Some(Fault::AfterCommit(hook)) => {
            record("forwarded");
            hook();
            settle().await;
            Ok(json(status, answer))
        }
        _ => {
            record("forwarded");
            Ok(json(status, answer))
        }
    }
}

/// Lets a hook's effect land (the Redis proxy drops its connections
/// within 10 ms) before the bot goes on.
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

fn json(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("a valid response")
}
