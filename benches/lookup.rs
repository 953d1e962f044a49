//! Speed figures of a lookup: runs the release server as a child process
//! against in-process Slack and Stripe stand-ins (Stripe delayed by 50 ms per
//! response) and a private Redis, then prints idle and peak RSS, lookup wall
//! time, and acknowledgement latency at a steady 500 requests/s. It prints
//! figures and goals only; it never fails on time, so a slow machine cannot
//! break a build.
//!
//! Run with `cargo bench --bench lookup`. Needs `redis-server` on the PATH,
//! or `REDIS_URL` pointing at a Redis it may write to (under a unique prefix).

use bytes::Bytes;
use hmac::Mac;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The delay every Stripe stand-in response waits, as a far-away Stripe would.
const STRIPE_DELAY: Duration = Duration::from_millis(50);
const CUSTOMER: &str = "cus_Bench1";
/// An email two customers share: the lookup reads both customers' lists.
const PAIR_EMAIL: &str = "pair@example.com";
const SIGNING_SECRET: &str = "bench-signing-secret-5d1c0a7e93f2";
const BOT_TOKEN: &str = "xoxb-bench";
const USER: &str = "U0BENCH001";
/// Cards of the load phase all go to this channel; the lookup phase uses one
/// channel per lookup so that each card can be told apart.
const LOAD_CHANNEL: &str = "C0BENCHLOAD";
const N_LOOKUPS: usize = 30;
const LOAD_RPS: u64 = 500;
const LOAD_SECS: u64 = 10;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Stripe objects in the pinned API version's shape, shared with the tests.
#[path = "../tests/it/pinned.rs"]
mod pinned;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    runtime.block_on(run());
}

async fn run() {
    println!("billing-triage speed bench: figures only, nothing is asserted");
    println!("command: cargo bench --bench lookup");

    let slack = SlackStandIn::start().await;
    let stripe = StripeStandIn::start().await;
    let redis = Redis::start();
    let prefix = format!("bt-bench:{}:", uuid::Uuid::new_v4().simple());
    let server = Server::start(&slack.base_url, &stripe.base_url, &redis.url, &prefix);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .pool_idle_timeout(Duration::from_secs(60))
        .build_http();
    server.wait_healthy(&client).await;

    // Let start-up allocations settle before reading the idle figure.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = proc_status_kb(server.pid(), "VmRSS:");
    println!();
    println!("idle RSS after start-up: {} (goal <= 30 MB)", mb(idle_rss));

    lookup_wall_time(
        &client,
        &server,
        &slack,
        &stripe,
        CUSTOMER,
        "one customer by id",
    )
    .await;
    lookup_wall_time(
        &client,
        &server,
        &slack,
        &stripe,
        PAIR_EMAIL,
        "an email two customers share",
    )
    .await;
    acknowledgement_latency(&client, &server, &slack).await;

    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled_rss = proc_status_kb(server.pid(), "VmRSS:");
    let peak_rss = proc_status_kb(server.pid(), "VmHWM:");
    println!(
        "peak RSS over the run (VmHWM): {} (goal <= 80 MB)",
        mb(peak_rss)
    );
    println!("RSS after the run, 1 s later: {}", mb(settled_rss));

    println!();
    println!(
        "Stripe requests served (path: count): {}",
        stripe.counts_line()
    );
    if stripe.unexpected.load(Ordering::Relaxed) > 0 {
        println!(
            "warning: {} unexpected Stripe request(s), answered 404",
            stripe.unexpected.load(Ordering::Relaxed)
        );
    }
    println!(
        "server log (RUST_LOG=warn): {} line(s) in {}",
        server.log_lines(),
        server.log_path.display()
    );
    println!("server command: {}", server.command_line);
    drop(server);
    drop(redis);
}

// ---------------------------------------------------------------- lookup

/// Sequential lookups: from sending the signed command to the card's
/// chat.postMessage reaching the Slack stand-in, with where the time went.
async fn lookup_wall_time(
    client: &HttpClient,
    server: &Server,
    slack: &SlackStandIn,
    stripe: &StripeStandIn,
    query: &str,
    label: &str,
) {
    let mut walls = Vec::new();
    let mut phases: Vec<Phases> = Vec::new();
    let mut depths: Vec<usize> = Vec::new();
    // One unmeasured lookup first: it opens the server's connections to
    // Redis, Stripe and Slack.
    for i in 0..=N_LOOKUPS {
        let channel = format!("C0LOOK{}{i:04}", label.len());
        let card = slack.expect_card(&channel);
        stripe.start_log();
        let started = Instant::now();
        let reply = post_command(
            client,
            &server.addr,
            &format!("lookup {query}"),
            &channel,
            &slack.response_url(),
        )
        .await;
        let acked = Instant::now();
        if !matches!(reply, Ok(200)) {
            println!("lookup {i}: the command was not acknowledged: {reply:?}");
            continue;
        }
        let Ok(Ok(posted)) = tokio::time::timeout(Duration::from_secs(15), card).await else {
            println!(
                "lookup {i}: no card within 15 s; last response_url answer: {:?}",
                slack.last_response()
            );
            continue;
        };
        let wall = posted.duration_since(started);
        if i == 0 {
            println!("first (cold) lookup wall time: {}", ms(wall));
            continue;
        }
        walls.push(wall);
        let log = stripe.take_log();
        depths.push(Phases::depth(&log));
        if let Some(p) = Phases::from_log(started, acked, posted, &log) {
            phases.push(p);
        }
    }
    let goal = STRIPE_DELAY.mul_f64(2.2);
    println!(
        "lookup wall time, {label} ({} sequential lookups of {query}, Stripe delayed {} per request): p50 {}, p90 {}, max {} (goal <= 2.2 x {} = {})",
        walls.len(),
        ms(STRIPE_DELAY),
        ms(pct(&walls, 0.5)),
        ms(pct(&walls, 0.9)),
        ms(pct(&walls, 1.0)),
        ms(STRIPE_DELAY),
        ms(goal),
    );
    depths.sort_unstable();
    if let (Some(min), Some(max)) = (depths.first(), depths.last()) {
        println!(
            "  Stripe round trips on the critical path (depth): median {}, min {min}, max {max} (goal 2)",
            depths[depths.len() / 2]
        );
    }
    if !phases.is_empty() {
        let median =
            |f: fn(&Phases) -> Duration| ms(pct(&phases.iter().map(f).collect::<Vec<_>>(), 0.5));
        println!(
            "  medians per phase: ack {}; command sent -> first Stripe request {}; round 1 (1 request) {}; \
             between rounds {}; round 2 ({} requests, first in -> last out) {}; last Stripe response -> card posted {}",
            median(|p| p.ack),
            median(|p| p.before_stripe),
            median(|p| p.round1),
            median(|p| p.between),
            phases[0].round2_requests,
            median(|p| p.round2),
            median(|p| p.after_stripe),
        );
    }
}

/// Where one lookup's time went, seen from outside the server.
struct Phases {
    ack: Duration,
    before_stripe: Duration,
    round1: Duration,
    between: Duration,
    round2: Duration,
    round2_requests: usize,
    after_stripe: Duration,
}

impl Phases {
    /// Stripe round trips one after another: requests that arrived while
    /// an earlier one was still unanswered run in the same round; one that
    /// arrived after an answer it may have waited for starts a new round.
    fn depth(log: &[StripeEvent]) -> usize {
        let mut depth = 0;
        let mut round_open = false;
        for event in log {
            match (event.out, round_open) {
                (false, false) => {
                    depth += 1;
                    round_open = true;
                }
                (true, true) => round_open = false,
                _ => {}
            }
        }
        depth
    }

    /// Splits a lookup by the Stripe stand-in's log: round 1 is the single
    /// resolve request; round 2 is every request that arrived after it.
    fn from_log(
        started: Instant,
        acked: Instant,
        posted: Instant,
        log: &[StripeEvent],
    ) -> Option<Self> {
        let first_in = log.iter().find(|e| !e.out)?.at;
        let first_out = log.iter().find(|e| e.out)?.at;
        let round2: Vec<&StripeEvent> = log.iter().filter(|e| e.at > first_out).collect();
        let r2_in = round2.iter().find(|e| !e.out)?.at;
        let r2_out = round2.iter().filter(|e| e.out).map(|e| e.at).max()?;
        Some(Self {
            ack: acked.duration_since(started),
            before_stripe: first_in.duration_since(started),
            round1: first_out.duration_since(first_in),
            between: r2_in.duration_since(first_out),
            round2: r2_out.duration_since(r2_in),
            round2_requests: round2.iter().filter(|e| !e.out).count(),
            after_stripe: posted.saturating_duration_since(r2_out),
        })
    }
}

// ---------------------------------------------------------------- load

/// Open loop: a request every 2 ms whatever the answers do, over a pool of
/// keep-alive connections; each command also starts a background lookup.
async fn acknowledgement_latency(client: &HttpClient, server: &Server, slack: &SlackStandIn) {
    let total = LOAD_RPS * LOAD_SECS;
    let latencies: Arc<Mutex<Vec<Duration>>> =
        Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let errors = Arc::new(AtomicU64::new(0));
    let cpu_before = (
        proc_cpu_secs(&server.pid().to_string()),
        proc_cpu_secs("self"),
    );
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / LOAD_RPS));
    let mut tasks = Vec::with_capacity(total as usize);
    let started = Instant::now();
    for _ in 0..total {
        tick.tick().await;
        let (client, addr, latencies, errors) = (
            client.clone(),
            server.addr.clone(),
            Arc::clone(&latencies),
            Arc::clone(&errors),
        );
        let response_url = slack.response_url();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let reply = post_command(
                &client,
                &addr,
                &format!("lookup {CUSTOMER}"),
                LOAD_CHANNEL,
                &response_url,
            )
            .await;
            let took = sent.elapsed();
            match reply {
                Ok(200) => latencies.lock().expect("latencies lock").push(took),
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let sending = started.elapsed();
    for task in tasks {
        let _ = task.await;
    }
    let answered = started.elapsed();
    let cpu_after = (
        proc_cpu_secs(&server.pid().to_string()),
        proc_cpu_secs("self"),
    );
    let latencies = latencies.lock().expect("latencies lock").clone();
    let n_errors = errors.load(Ordering::Relaxed);
    println!(
        "ack latency @{LOAD_RPS} rps: p50 {}, p99 {}, max {} ({} requests, {} errors; achieved {:.0} requests/s over {:.2} s) (goal p99 <= 10 ms)",
        ms(pct(&latencies, 0.5)),
        ms(pct(&latencies, 0.99)),
        ms(pct(&latencies, 1.0)),
        total,
        n_errors,
        total as f64 / sending.as_secs_f64(),
        sending.as_secs_f64(),
    );

    // The background lookups finish later; report how far they got.
    let deadline = Instant::now() + Duration::from_secs(60);
    let expected = latencies.len() as u64;
    while slack.load_cards.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = started.elapsed();
    println!(
        "  background lookups: {}/{} cards posted, {} answers on response_url (failures), all done {:.1} s after the first request; last ack at {:.2} s",
        slack.load_cards.load(Ordering::Relaxed),
        expected,
        slack.load_responses.load(Ordering::Relaxed),
        drained.as_secs_f64(),
        answered.as_secs_f64(),
    );
    if let (Some(s0), Some(s1)) = (cpu_before.0, cpu_after.0) {
        let b = cpu_before
            .1
            .zip(cpu_after.1)
            .map(|(b0, b1)| b1 - b0)
            .unwrap_or(0.0);
        println!(
            "  CPU used while sending: server {:.1} s, bench process (client + stand-ins) {:.1} s, over {:.1} s wall on {} cores",
            s1 - s0,
            b,
            answered.as_secs_f64(),
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        );
    }
    if let Some(text) = slack.last_response() {
        println!("  last response_url answer: {text}");
    }
}

// ---------------------------------------------------------------- requests

/// `/billing <text>` in the form Slack sends, signed as Slack signs it.
/// Returns the HTTP status.
async fn post_command(
    client: &HttpClient,
    addr: &str,
    text: &str,
    channel: &str,
    response_url: &str,
) -> Result<u16, String> {
    let body = serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", "T0001"),
        ("team_domain", "example"),
        ("channel_id", channel),
        ("channel_name", "billing-ops"),
        ("user_id", USER),
        ("user_name", "operator"),
        ("command", "/billing"),
        ("text", text),
        ("response_url", response_url),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
        ("api_app_id", "A123456"),
    ])
    .map_err(|e| e.to_string())?;
    let ts = unix_now().to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SIGNING_SECRET.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    let req = Request::post(format!("{addr}/slack/commands"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", signature)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = client.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    // Read the body so that the connection goes back to the pool.
    resp.into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(status)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------- Slack

/// A Slack Web API stand-in answering as Slack does, recording when each
/// card (a chat.postMessage outside a thread) arrives.
struct SlackStandIn {
    base_url: String,
    state: Arc<SlackState>,
    load_cards: Arc<AtomicU64>,
    load_responses: Arc<AtomicU64>,
}

#[derive(Default)]
struct SlackState {
    /// Channel → who waits for the card posted there.
    waiters: Mutex<HashMap<String, oneshot::Sender<Instant>>>,
    load_cards: Arc<AtomicU64>,
    load_responses: Arc<AtomicU64>,
    last_response: Mutex<Option<String>>,
    ts: AtomicU64,
}

impl SlackStandIn {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Slack stand-in");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let state = Arc::new(SlackState::default());
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: Request<hyper::body::Incoming>| {
                            let state = Arc::clone(&state);
                            async move { Ok::<_, std::convert::Infallible>(state.answer(req).await) }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            load_cards: Arc::clone(&state.load_cards),
            load_responses: Arc::clone(&state.load_responses),
            state,
        }
    }

    fn response_url(&self) -> String {
        format!(
            "{}/response/T0001/{}",
            self.base_url,
            uuid::Uuid::new_v4().simple()
        )
    }

    /// Resolves with the arrival time of the next card posted in `channel`.
    fn expect_card(&self, channel: &str) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        self.state
            .waiters
            .lock()
            .expect("waiters lock")
            .insert(channel.to_owned(), tx);
        rx
    }

    fn last_response(&self) -> Option<String> {
        self.state
            .last_response
            .lock()
            .expect("last response lock")
            .clone()
    }
}

impl SlackState {
    async fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let arrived = Instant::now();
        let path = req.uri().path().to_owned();
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        // slack-morphism posts JSON; a form body is read too, as Slack accepts both.
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_urlencoded::from_bytes::<HashMap<String, String>>(&bytes)
                .ok()
                .map(|f| json!(f))
                .unwrap_or(Value::Null)
        });
        let answer = if path.starts_with("/response/") {
            self.load_responses.fetch_add(1, Ordering::Relaxed);
            let text = body
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            *self.last_response.lock().expect("last response lock") = Some(text);
            json!({ "ok": true })
        } else {
            let method = path.trim_start_matches("/api/");
            let channel = body
                .get("channel")
                .and_then(Value::as_str)
                .unwrap_or("C0UNKNOWN")
                .to_owned();
            let n = self.ts.fetch_add(1, Ordering::Relaxed) + 1;
            let ts = format!("1700000000.{n:06}");
            if method == "chat.postMessage" && body.get("thread_ts").is_none() {
                if channel == LOAD_CHANNEL {
                    self.load_cards.fetch_add(1, Ordering::Relaxed);
                } else if let Some(waiter) =
                    self.waiters.lock().expect("waiters lock").remove(&channel)
                {
                    let _ = waiter.send(arrived);
                }
            }
            let text = body.get("text").cloned().unwrap_or(json!(""));
            match method {
                "chat.postEphemeral" => json!({ "ok": true, "message_ts": ts }),
                // The access check's reads: one workspace, full members,
                // internal channels.
                "auth.test" => json!({ "ok": true, "team_id": "T0001", "user_id": "U0BOT00001" }),
                "users.info" => {
                    json!({ "ok": true, "user": { "id": "U0LOAD0001", "team_id": "T0001" } })
                }
                "conversations.info" => {
                    json!({ "ok": true, "channel": { "id": channel, "is_channel": true } })
                }
                _ => json!({
                    "ok": true, "channel": channel, "ts": ts,
                    "message": { "type": "message", "text": text, "ts": ts, "user": "U0BOT00001", "bot_id": "B0BOT00001" }
                }),
            }
        };
        json_response(StatusCode::OK, answer.to_string())
    }
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

// ---------------------------------------------------------------- Stripe

/// A Stripe stand-in with one customer, every answer delayed by
/// `STRIPE_DELAY`. It serves exactly what `src/stripe/snapshot.rs` asks for a
/// `cus_…` lookup whose default card comes expanded: the customer, then its
/// subscriptions, invoices and charges, and the customers sharing its email.
struct StripeStandIn {
    base_url: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    unexpected: Arc<AtomicU64>,
    log_on: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<StripeEvent>>>,
}

/// A request arriving at (`out: false`) or answered by (`out: true`) Stripe.
#[derive(Clone, Copy)]
struct StripeEvent {
    at: Instant,
    out: bool,
}

impl StripeStandIn {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Stripe stand-in");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let canned = Arc::new(canned_stripe(unix_now()));
        let this = Self {
            base_url: format!("http://127.0.0.1:{port}/"),
            counts: Arc::default(),
            unexpected: Arc::default(),
            log_on: Arc::default(),
            log: Arc::default(),
        };
        let (counts, unexpected, log_on, log) = (
            Arc::clone(&this.counts),
            Arc::clone(&this.unexpected),
            Arc::clone(&this.log_on),
            Arc::clone(&this.log),
        );
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (canned, counts, unexpected, log_on, log) = (
                    Arc::clone(&canned),
                    Arc::clone(&counts),
                    Arc::clone(&unexpected),
                    Arc::clone(&log_on),
                    Arc::clone(&log),
                );
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: Request<hyper::body::Incoming>| {
                            let (canned, counts, unexpected, log_on, log) = (
                                Arc::clone(&canned),
                                Arc::clone(&counts),
                                Arc::clone(&unexpected),
                                Arc::clone(&log_on),
                                Arc::clone(&log),
                            );
                            async move {
                                let logging = log_on.load(Ordering::Relaxed);
                                if logging {
                                    log.lock().expect("log lock").push(StripeEvent {
                                        at: Instant::now(),
                                        out: false,
                                    });
                                }
                                let (method, mut path) =
                                    (req.method().clone(), req.uri().path().to_owned());
                                if path == "/v1/customers"
                                    && req.uri().query().unwrap_or_default().contains("pair%40")
                                {
                                    path.push_str("?pair");
                                }
                                *counts
                                    .lock()
                                    .expect("counts lock")
                                    .entry(format!("{method} {path}"))
                                    .or_default() += 1;
                                let body = if method == hyper::Method::GET {
                                    canned.get(path.as_str()).cloned()
                                } else {
                                    None
                                };
                                tokio::time::sleep(STRIPE_DELAY).await;
                                let resp = match body {
                                    Some(body) => json_response(StatusCode::OK, body),
                                    None => {
                                        if unexpected.fetch_add(1, Ordering::Relaxed) < 5 {
                                            eprintln!("warning: the Stripe stand-in got an unexpected request: {method} {path}");
                                        }
                                        let error = json!({ "error": { "type": "invalid_request_error", "code": "resource_missing",
                                        "message": format!("No such path: {path}") } });
                                        json_response(StatusCode::NOT_FOUND, error.to_string())
                                    }
                                };
                                if logging {
                                    log.lock().expect("log lock").push(StripeEvent {
                                        at: Instant::now(),
                                        out: true,
                                    });
                                }
                                Ok::<_, std::convert::Infallible>(resp)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        this
    }

    fn start_log(&self) {
        self.log.lock().expect("log lock").clear();
        self.log_on.store(true, Ordering::Relaxed);
    }

    fn take_log(&self) -> Vec<StripeEvent> {
        self.log_on.store(false, Ordering::Relaxed);
        std::mem::take(&mut *self.log.lock().expect("log lock"))
    }

    fn counts_line(&self) -> String {
        let counts = self.counts.lock().expect("counts lock");
        counts
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Path → JSON body, in the pinned API version's shape: one customer whose
/// renewal payment is failing (its invoices name their payments), and a
/// second customer sharing an email with the first (`?pair`).
fn canned_stripe(now: i64) -> HashMap<&'static str, String> {
    const DAY: i64 = 86_400;
    let mut customer = pinned::customer(CUSTOMER, Some("bench.customer@example.com"));
    customer["name"] = "Bench Customer".into();
    customer["created"] = (now - 400 * DAY).into();
    customer["address"] = json!({ "country": "DE", "city": null, "line1": null, "line2": null, "postal_code": null, "state": null });
    customer["preferred_locales"] = json!(["de"]);
    customer["metadata"] = json!({ "plan": "pro" });
    customer["invoice_settings"]["default_payment_method"] =
        pinned::card_payment_method("pm_Bench1", "4242");
    let mut twin = customer.clone();
    twin["id"] = "cus_Bench2".into();
    let sub = pinned::subscription_at(
        "sub_Bench1",
        CUSTOMER,
        "past_due",
        3900,
        "month",
        now - 300 * DAY,
    );
    let subscriptions = pinned::list("/v1/subscriptions", vec![sub], false);
    let mut open = pinned::invoice(
        "in_Bench2",
        CUSTOMER,
        Some("sub_Bench1"),
        3900,
        now - 5 * DAY,
        Some("pi_Bench2"),
    );
    open["status"] = "open".into();
    open["amount_paid"] = 0.into();
    open["amount_remaining"] = 3900.into();
    open["attempt_count"] = 2.into();
    open["payments"]["data"][0]["status"] = "open".into();
    open["payments"]["data"][0]["amount_paid"] = serde_json::Value::Null;
    let paid = pinned::invoice(
        "in_Bench1",
        CUSTOMER,
        Some("sub_Bench1"),
        3900,
        now - 35 * DAY,
        Some("pi_Bench1"),
    );
    let invoices = pinned::list("/v1/invoices", vec![open, paid], false);
    let mut failed = pinned::charge_at("ch_Bench2", CUSTOMER, 3900, now - 5 * DAY, "pi_Bench2");
    failed["status"] = "failed".into();
    failed["paid"] = false.into();
    failed["amount_captured"] = 0.into();
    failed["failure_message"] = "Your card was declined.".into();
    let succeeded = pinned::charge_at("ch_Bench1", CUSTOMER, 3900, now - 35 * DAY, "pi_Bench1");
    let charges = pinned::list("/v1/charges", vec![failed, succeeded], false);
    let customers = pinned::list("/v1/customers", vec![customer.clone()], false);
    let pair = pinned::list("/v1/customers", vec![customer.clone(), twin], false);
    HashMap::from([
        ("/v1/customers/cus_Bench1", customer.to_string()),
        ("/v1/customers", customers.to_string()),
        ("/v1/customers?pair", pair.to_string()),
        ("/v1/subscriptions", subscriptions.to_string()),
        ("/v1/invoices", invoices.to_string()),
        ("/v1/charges", charges.to_string()),
        // Only asked for when no card comes expanded; served in case.
        (
            "/v1/payment_methods",
            pinned::list("/v1/payment_methods", Vec::new(), false).to_string(),
        ),
    ])
}

// ---------------------------------------------------------------- processes

/// A child process killed when dropped, on panic too.
struct Guard {
    child: Child,
    what: &'static str,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.child.kill().is_ok() {
            let _ = self.child.wait();
            println!("stopped {} (pid {})", self.what, self.child.id());
        }
    }
}

/// The Redis for the run: `REDIS_URL` when set, else a private
/// `redis-server` on a free port, with no persistence.
struct Redis {
    url: String,
    _child: Option<Guard>,
}

impl Redis {
    fn start() -> Self {
        if let Ok(url) = std::env::var("REDIS_URL") {
            println!("Redis: REDIS_URL={url} (a unique REDIS_PREFIX keeps this run apart)");
            return Self { url, _child: None };
        }
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}). Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; \
                     macOS: `brew install redis`) or set REDIS_URL to a Redis this bench may write to"
                )
            });
        let guard = Guard {
            child,
            what: "redis-server",
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis_pings(port) {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {port} did not answer PING within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        println!(
            "Redis: redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no (pid {})",
            guard.child.id()
        );
        Self {
            url: format!("redis://127.0.0.1:{port}"),
            _child: Some(guard),
        }
    }
}

fn redis_pings(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut buf).is_ok()
        && &buf == b"+PONG\r\n"
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener
        .local_addr()
        .expect("a bound listener has an address")
        .port()
}

/// The release server, `billing-triage serve`, as a child process.
struct Server {
    addr: String,
    log_path: std::path::PathBuf,
    command_line: String,
    guard: Guard,
}

impl Server {
    fn start(slack_base: &str, stripe_base: &str, redis_url: &str, prefix: &str) -> Self {
        let exe = env!("CARGO_BIN_EXE_billing-triage");
        let bind = format!("127.0.0.1:{}", free_port());
        let env: Vec<(&str, String)> = vec![
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_owned()),
            ("SLACK_BOT_TOKEN", BOT_TOKEN.to_owned()),
            ("SLACK_API_URL", format!("{slack_base}/api/")),
            ("STRIPE_SECRET_KEY", "sk_test_bench".to_owned()),
            ("STRIPE_API_BASE", stripe_base.to_owned()),
            ("REDIS_URL", redis_url.to_owned()),
            ("REDIS_PREFIX", prefix.to_owned()),
            ("BIND_ADDR", bind.clone()),
            ("RUST_LOG", "warn".to_owned()),
        ];
        let log_path =
            std::env::temp_dir().join(format!("billing-triage-bench-{}.log", std::process::id()));
        let log =
            std::fs::File::create(&log_path).expect("create the server log file in the temp dir");
        let child = Command::new(exe)
            .arg("serve")
            .env_remove("SLACK_APP_TOKEN")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(log.try_clone().expect("clone the log file handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {exe} serve: {e}"));
        // Secrets are shown by name only.
        let shown: Vec<String> = env
            .iter()
            .map(|(k, v)| match *k {
                "SLACK_SIGNING_SECRET" | "SLACK_BOT_TOKEN" | "STRIPE_SECRET_KEY" => {
                    format!("{k}=<{} chars>", v.len())
                }
                _ => format!("{k}={v}"),
            })
            .collect();
        let command_line = format!("{} {exe} serve", shown.join(" "));
        Self {
            addr: format!("http://{bind}"),
            log_path,
            command_line,
            guard: Guard {
                child,
                what: "billing-triage serve",
            },
        }
    }

    fn pid(&self) -> u32 {
        self.guard.child.id()
    }

    async fn wait_healthy(&self, client: &HttpClient) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let req = Request::get(format!("{}/healthz", self.addr))
                .body(Full::new(Bytes::new()))
                .expect("a valid request");
            if let Ok(Ok(resp)) =
                tokio::time::timeout(Duration::from_secs(1), client.request(req)).await
            {
                if resp.status() == StatusCode::OK {
                    println!("server up at {} (pid {})", self.addr, self.pid());
                    return;
                }
            }
            let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "the server did not answer /healthz within 20 s; its log:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_lines(&self) -> usize {
        std::fs::read_to_string(&self.log_path)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}

// ---------------------------------------------------------------- figures

/// A `kB` field of /proc/<pid>/status.
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of a process (`self` or a pid), assuming the
/// usual 100 clock ticks per second.
fn proc_cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn pct(sorted_or_not: &[Duration], q: f64) -> Duration {
    let mut v = sorted_or_not.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return Duration::ZERO;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or_else(
        || "unknown (no /proc)".to_owned(),
        |kb| format!("{:.1} MB", kb as f64 / 1024.0),
    )
}
