//! Stripe for the load test: localstripe behind the pinned-shape layer
//! (`scripts/stripe_pinned.py --in-memory`, one per phase so that each
//! phase's store holds only its own objects), a latency proxy in front of
//! it that makes every call as slow as a far-away Stripe, the seeding of
//! customers with one charge each, and the refunds as Stripe holds them.

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

use crate::net::{self, free_port, http, Http};
use crate::verdict::Figures;

/// The API version the bot pins: lists then page as Stripe does.
fn pinned() -> &'static str {
    stripe_shared::version::VERSION.as_str()
}
const KEY: &str = "sk_test_load";

/// localstripe behind the layer, on a free port; killed when dropped.
pub struct Layer {
    child: Child,
    /// `http://127.0.0.1:PORT/`, without the latency proxy.
    pub direct: String,
}

impl Layer {
    pub async fn start(log: &Path) -> anyhow::Result<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let localstripe = std::env::var_os("LOCALSTRIPE")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv/bin/localstripe"));
        let python = localstripe.with_file_name("python");
        if !python.exists() {
            bail!(
                "no localstripe at {}: install it with `python3 -m venv .venv && .venv/bin/pip install localstripe==1.15.10` \
                 at the repository root (`bash scripts/dev load` does), or set LOCALSTRIPE to its path",
                localstripe.display()
            );
        }
        let port = free_port()?;
        let out = std::fs::File::create(log)
            .with_context(|| format!("creating the localstripe log {}", log.display()))?;
        let child = Command::new(&python)
            .arg(root.join("scripts/stripe_pinned.py"))
            .args(["--port", &port.to_string(), "--from-scratch", "--in-memory"])
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} scripts/stripe_pinned.py", python.display()))?;
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(&addr).await.is_err() {
            if Instant::now() > deadline {
                bail!(
                    "localstripe did not answer on {addr} within 20 s; its log: {}",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self {
            child,
            direct: format!("http://{addr}/"),
        })
    }

    /// CPU seconds localstripe used so far.
    pub fn cpu(&self) -> Option<f64> {
        crate::fleet::cpu_secs(&self.child.id()?.to_string())
    }
}

/// Forwards every request to the layer, waiting a uniformly drawn delay in
/// `latency` first, half on the way in and half on the way out (so Stripe
/// acts before a late answer, as a far-away Stripe does). Counts requests
/// by method and path (ids as `{id}`) and the layer's own time.
pub struct LatencyProxy {
    pub base_url: String,
    stats: Arc<ProxyStats>,
}

#[derive(Default)]
struct ProxyStats {
    counts: Mutex<BTreeMap<String, u64>>,
    /// Time the layer took per request (without the added delay).
    upstream: Mutex<Vec<Duration>>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    failed: AtomicU64,
}

impl LatencyProxy {
    pub async fn start(upstream: &str, latency: (u64, u64)) -> anyhow::Result<Self> {
        let stats = Arc::new(ProxyStats::default());
        let shared = Arc::clone(&stats);
        let upstream = upstream.trim_end_matches('/').to_owned();
        let client = http();
        let base = net::serve(move |req| {
            let (stats, upstream, client) = (Arc::clone(&shared), upstream.clone(), client.clone());
            async move { stats.forward(req, &upstream, &client, latency).await }
        })
        .await?;
        Ok(Self {
            base_url: format!("{base}/"),
            stats,
        })
    }

    /// What went through since the last call, and clears it.
    pub fn take_summary(&self) -> String {
        let counts = take(&self.stats.counts);
        let upstream = take(&self.stats.upstream);
        let total: u64 = counts.values().sum();
        let per_path = net::counts_line(&counts);
        format!(
            "{total} requests ({per_path}); localstripe's own time {}; at most {} in flight; {} not forwarded",
            Figures::of(&upstream).line(),
            self.stats.max_in_flight.swap(0, Ordering::Relaxed),
            self.stats.failed.swap(0, Ordering::Relaxed),
        )
    }
}

impl ProxyStats {
    async fn forward(
        &self,
        req: Request<hyper::body::Incoming>,
        upstream: &str,
        client: &Http,
        (lo, hi): (u64, u64),
    ) -> Response<Full<Bytes>> {
        let delay = Duration::from_millis(fastrand::u64(lo..=hi));
        let (parts, body) = req.into_parts();
        if let Ok(mut counts) = self.counts.lock() {
            *counts
                .entry(format!("{} {}", parts.method, path_shape(parts.uri.path())))
                .or_default() += 1;
        }
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
        tokio::time::sleep(delay / 2).await;
        let answer = async {
            let body = body.collect().await.ok()?.to_bytes();
            let uri = format!(
                "{upstream}{}",
                parts.uri.path_and_query().map_or("/", |p| p.as_str())
            );
            let mut out = Request::builder().method(parts.method).uri(uri);
            for (name, value) in &parts.headers {
                if name != "host" {
                    out = out.header(name, value);
                }
            }
            let started = Instant::now();
            let resp = client.request(out.body(Full::new(body)).ok()?).await.ok()?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp.into_body().collect().await.ok()?.to_bytes();
            if let Ok(mut upstream) = self.upstream.lock() {
                upstream.push(started.elapsed());
            }
            let mut answer = Response::new(Full::new(bytes));
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Some(answer)
        }
        .await;
        tokio::time::sleep(delay - delay / 2).await;
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        answer.unwrap_or_else(|| {
            self.failed.fetch_add(1, Ordering::Relaxed);
            net::json(
                hyper::StatusCode::BAD_GATEWAY,
                &br#"{"error":{"type":"api_error","message":"load proxy: localstripe unreachable"}}"#[..],
            )
        })
    }
}

/// What `m` holds, leaving it empty.
fn take<T: Default>(m: &Mutex<T>) -> T {
    m.lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
}

/// `/v1/charges/ch_123/refunds` → `/v1/charges/{id}/refunds`.
fn path_shape(path: &str) -> String {
    path.split('/')
        .map(|s| if s.contains('_') { "{id}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// A seeded customer: a unique email and one succeeded EUR 39.00 charge.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub customer: String,
    pub email: String,
    pub charge: String,
}

/// Seeds `n` customers straight into the layer (no latency), `in_flight` at
/// a time; emails carry `tag` so that each phase's are its own.
pub async fn seed(
    client: &Http,
    direct: &str,
    n: usize,
    tag: &str,
    in_flight: usize,
) -> anyhow::Result<Vec<Seeded>> {
    let gate = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let tasks = (0..n).map(|i| {
        let (client, gate) = (client.clone(), Arc::clone(&gate));
        let email = format!("load.{tag}.{i}@example.com");
        let name = format!("Load Customer {i}");
        let direct = direct.to_owned();
        async move {
            let _permit = gate.acquire().await?;
            let customer = post_form(
                &client,
                &format!("{direct}v1/customers"),
                &[("email", email.as_str()), ("name", name.as_str())],
            )
            .await
            .context("creating a customer")?;
            let customer = id_of(&customer)?;
            let charge = post_form(
                &client,
                &format!("{direct}v1/charges"),
                &[
                    ("customer", customer.as_str()),
                    ("amount", "3900"),
                    ("currency", "eur"),
                    ("source", "pm_card_visa"),
                    ("description", "Pro monthly"),
                ],
            )
            .await
            .context("creating a charge")?;
            Ok::<_, anyhow::Error>(Seeded {
                charge: id_of(&charge)?,
                customer,
                email,
            })
        }
    });
    futures::future::join_all(tasks).await.into_iter().collect()
}

fn id_of(object: &Value) -> anyhow::Result<String> {
    object["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no id in {object}"))
}

async fn post_form(client: &Http, url: &str, form: &[(&str, &str)]) -> anyhow::Result<Value> {
    let body = serde_urlencoded::to_string(form)?;
    let req = Request::post(url)
        .header("authorization", format!("Bearer {KEY}"))
        .header("stripe-version", pinned())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))?;
    send(client, req).await
}

async fn get_json(client: &Http, url: &str) -> anyhow::Result<Value> {
    let req = Request::get(url)
        .header("authorization", format!("Bearer {KEY}"))
        .header("stripe-version", pinned())
        .body(Full::new(Bytes::new()))?;
    send(client, req).await
}

async fn send(client: &Http, req: Request<Full<Bytes>>) -> anyhow::Result<Value> {
    let what = format!("{} {}", req.method(), req.uri());
    let resp = client
        .request(req)
        .await
        .with_context(|| format!("{what}: no answer from localstripe"))?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await?.to_bytes();
    let json: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{what}: answer is not JSON"))?;
    if !status.is_success() {
        bail!("{what}: {status}: {json}");
    }
    Ok(json)
}

/// A refund as Stripe holds it, with what its metadata says it is for.
#[derive(Debug, Clone)]
pub struct RefundSeen {
    pub charge: String,
    pub case_id: Option<String>,
    pub action: Option<String>,
}

/// Every refund in the layer, read straight from it (not through the bot),
/// newest first, 100 a page.
pub async fn refunds(client: &Http, direct: &str) -> anyhow::Result<Vec<RefundSeen>> {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{direct}v1/refunds?limit=100");
        if let Some(id) = &after {
            url.push_str(&format!("&starting_after={id}"));
        }
        let page = get_json(client, &url).await?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        for refund in &data {
            let meta = |k: &str| refund["metadata"][k].as_str().map(str::to_owned);
            seen.push(RefundSeen {
                charge: refund["charge"].as_str().unwrap_or_default().to_owned(),
                case_id: meta("case_id"),
                action: meta("action"),
            });
        }
        after = data
            .last()
            .and_then(|r| r["id"].as_str())
            .map(str::to_owned);
        if !page["has_more"].as_bool().unwrap_or(false) || after.is_none() {
            return Ok(seen);
        }
    }
}
