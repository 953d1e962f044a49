//! Test harness for localstripe, the Stripe stand-in (PyPI `localstripe`):
//! starts it behind the layer that answers in the pinned API version's shape
//! (`scripts/stripe_pinned.py`) on a free port, waits until it answers, kills it on drop. In
//! front of it sits a small proxy that does what localstripe does not:
//! replay a POST/DELETE's first answer when the same `Idempotency-Key` comes
//! again, as Stripe does. The proxy also counts requests, so a test can tell
//! that no request was sent. Missing localstripe fails the test loudly.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// A running localstripe behind the idempotency proxy.
pub struct LocalStripe {
    _child: Child,
    proxy: SocketAddr,
    direct: SocketAddr,
    requests: Arc<AtomicUsize>,
    log: Log,
    _proxy_task: tokio::task::JoinHandle<()>,
}

/// Replayed answers by idempotency key: (status, body).
type Replays = Arc<Mutex<HashMap<String, (u16, Bytes)>>>;

/// Every request that reached localstripe: method, path, form body.
type Log = Arc<Mutex<Vec<(String, String, String)>>>;

/// Starts localstripe behind the pinned-shape layer (`scripts/stripe_pinned.py`,
/// run by the Python of localstripe's virtualenv: `LOCALSTRIPE`, or
/// `./.venv/bin/localstripe`) on a free port, and the proxy on another.
/// Every request the bot sends names the pinned API version, so every
/// answer it reads has that version's shape.
///
/// # Panics
/// When localstripe is missing or does not answer within 20 s: the tests need it.
pub async fn start() -> LocalStripe {
    let binary = std::env::var_os("LOCALSTRIPE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/localstripe"));
    assert!(
        binary.exists(),
        "localstripe not found at {}: install it with `python3 -m venv .venv && .venv/bin/pip install localstripe` \
         at the repository root, or set LOCALSTRIPE to its path",
        binary.display()
    );
    let python = binary.with_file_name("python");
    let layer = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/stripe_pinned.py");
    let port = free_port();
    let mut child = Command::new(&python)
        .arg(&layer)
        .args(["--port", &port.to_string(), "--from-scratch"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "could not start {} {}: {e}",
                python.display(),
                layer.display()
            )
        });
    let direct = SocketAddr::from(([127, 0, 0, 1], port));
    wait_until_answering(direct, &mut child).await;

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding the proxy on loopback");
    let proxy = listener
        .local_addr()
        .expect("bound listener has an address");
    let requests = Arc::new(AtomicUsize::new(0));
    let log = Log::default();
    let proxy_task = tokio::spawn(serve_proxy(listener, direct, requests.clone(), log.clone()));
    LocalStripe {
        _child: child,
        proxy,
        direct,
        requests,
        log,
        _proxy_task: proxy_task,
    }
}

impl LocalStripe {
    /// What `STRIPE_API_BASE` should be: `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.proxy)
    }

    /// The shape layer, bypassing the idempotency proxy (for state checks):
    /// a request without `Stripe-Version` gets localstripe's own shape.
    pub fn direct_url(&self) -> String {
        format!("http://{}/", self.direct)
    }

    /// Requests that reached the proxy so far.
    pub fn requests_seen(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Decoded form bodies of the `method` requests to `path` that reached
    /// localstripe (replays excluded), oldest first.
    pub fn bodies_sent(&self, method: &str, path: &str) -> Vec<String> {
        let log = self.log.lock().expect("request log lock");
        log.iter()
            .filter(|(m, p, _)| m == method && p == path)
            .map(|(_, _, body)| body.clone())
            .collect()
    }

    /// GET `path` (e.g. `v1/refunds?charge=ch_1`) straight from localstripe,
    /// without the code under test, as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.get_json_as(path, None).await
    }

    /// [`Self::get_json`] naming the API version the bot pins, as it does.
    pub async fn get_json_pinned(&self, path: &str) -> serde_json::Value {
        self.get_json_as(path, Some(stripe_shared::version::VERSION.as_str()))
            .await
    }

    async fn get_json_as(&self, path: &str, version: Option<&str>) -> serde_json::Value {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let mut request = Request::get(format!(
            "{}{}",
            self.direct_url(),
            path.trim_start_matches('/')
        ))
        .header("authorization", "Bearer sk_test_harness");
        if let Some(version) = version {
            request = request.header("stripe-version", version);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .expect("a valid request");
        let response = client.request(request).await.expect("localstripe answers");
        let body = response
            .into_body()
            .collect()
            .await
            .expect("localstripe sends a body")
            .to_bytes();
        serde_json::from_slice(&body).expect("localstripe answers JSON")
    }
}

/// A port nothing listens on right now, below Linux's ephemeral range
/// (32768–60999). The tests' own listeners bind port 0 and so get
/// ephemeral ports: none of them can take this one between this check and
/// localstripe's bind, which would leave localstripe dead and the test
/// talking to another test's server.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let port = fastrand::u16(20_000..32_000);
        if StdListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in 20000-31999 after 200 tries");
}

async fn wait_until_answering(addr: SocketAddr, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("localstripe exited ({status}) before answering on {addr}: run it by hand to see why");
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("localstripe did not answer on {addr} within 20 s: run it by hand to see why");
}

async fn serve_proxy(
    listener: TcpListener,
    upstream: SocketAddr,
    requests: Arc<AtomicUsize>,
    log: Log,
) {
    let replays: Replays = Arc::default();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (replays, client, requests, log) = (
            replays.clone(),
            client.clone(),
            requests.clone(),
            log.clone(),
        );
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let (replays, client, log) = (replays.clone(), client.clone(), log.clone());
                requests.fetch_add(1, Ordering::SeqCst);
                async move { forward(req, upstream, replays, client, log).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn forward(
    req: Request<Incoming>,
    upstream: SocketAddr,
    replays: Replays,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    log: Log,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|_| req.method() != hyper::Method::GET)
        .map(str::to_owned);
    if let Some(key) = &key {
        let cached = replays.lock().expect("replay map lock").get(key).cloned();
        if let Some((status, body)) = cached {
            return Ok(json_response(status, body));
        }
    }
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let decoded = form_urlencoded_decode(&body);
    log.lock().expect("request log lock").push((
        parts.method.to_string(),
        parts.uri.path().to_owned(),
        decoded,
    ));
    let uri = format!(
        "http://{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut upstream_req = Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        if name != "host" {
            upstream_req = upstream_req.header(name, value);
        }
    }
    let upstream_req = upstream_req
        .body(Full::new(body))
        .expect("a copied request is valid");
    let Ok(response) = client.request(upstream_req).await else {
        return Ok(json_response(
            502,
            Bytes::from_static(b"proxy: localstripe unreachable"),
        ));
    };
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").cloned();
    let body = response.into_body().collect().await?.to_bytes();
    // Stripe replays any answer but 5xx for the same key.
    if let (Some(key), true) = (key, status < 500) {
        replays
            .lock()
            .expect("replay map lock")
            .insert(key, (status, body.clone()));
    }
    let mut out = json_response(status, body);
    if let Some(ct) = content_type {
        out.headers_mut().insert("content-type", ct);
    }
    Ok(out)
}

fn json_response(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("a response with a valid status")
}

/// `a%5Bb%5D=c+d` -> `a[b]=c d`, for readable assertions.
fn form_urlencoded_decode(body: &[u8]) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}
