//! Fault-injecting stand-ins for the resilience tests: a Stripe that
//! throttles (429 with `Retry-After`, or above a request rate) and can be
//! slow; a proxy in front of the Slack stand-in that answers `ratelimited`; a
//! Redis proxy that hangs (accepts, never answers); and an app whose shutdown
//! the test triggers and waits for.

use crate::helpers::{akey, init_test_log, SlackStandIn, TestApp};
use crate::pinned;
use billing_triage::config::Config;
use billing_triage::startup::App;
use billing_triage::store::Store;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The email every stand-in customer shares.
pub const SHARED_EMAIL: &str = "shared@example.com";

/// How the throttling Stripe misbehaves.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// The first `n` requests whose `METHOD /path` starts with `.0` get 429.
    pub throttle_first: Option<(String, usize)>,
    /// `Retry-After` seconds on those 429s.
    pub retry_after: Option<u64>,
    /// At most this many requests answered per second (sliding window);
    /// the rest get 429, as Stripe's test mode does above 25.
    pub rate_per_sec: Option<usize>,
    /// Every answer waits this long.
    pub delay: Duration,
}

/// One request the throttling Stripe received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub at: Instant,
    pub status: u16,
}

/// What the throttling Stripe recorded.
#[derive(Default)]
pub struct StripeLog {
    pub seen: Mutex<Vec<Seen>>,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    admitted: Mutex<VecDeque<Instant>>,
    throttled_so_far: AtomicUsize,
}

impl StripeLog {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log lock").clone()
    }
}

/// A Stripe stand-in with `customers` customers sharing [`SHARED_EMAIL`]
/// (no subscriptions, invoices or charges), one charge `ch_Throttled1`
/// that can be refunded, and `faults`. Returns its base URL and log.
pub async fn throttling_stripe(customers: usize, faults: Faults) -> (String, Arc<StripeLog>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the throttling Stripe");
    let port = listener.local_addr().expect("local addr").port();
    let log = Arc::new(StripeLog::default());
    let shared = Arc::clone(&log);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (log, faults) = (Arc::clone(&shared), faults.clone());
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (log, faults) = (Arc::clone(&log), faults.clone());
                        async move {
                            Ok::<_, std::convert::Infallible>(
                                answer(&log, &faults, customers, req).await,
                            )
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://127.0.0.1:{port}/"), log)
}

async fn answer(
    log: &StripeLog,
    faults: &Faults,
    customers: usize,
    req: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let now = log.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    log.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    tokio::time::sleep(faults.delay).await;

    let label = format!("{method} {path}");
    let scripted_429 = faults.throttle_first.as_ref().is_some_and(|(prefix, n)| {
        label.starts_with(prefix.as_str())
            && log.throttled_so_far.fetch_add(1, Ordering::SeqCst) < *n
    });
    let over_rate = faults.rate_per_sec.is_some_and(|rate| {
        let mut admitted = log.admitted.lock().expect("rate lock");
        let now = Instant::now();
        while admitted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            admitted.pop_front();
        }
        if admitted.len() >= rate {
            true
        } else {
            admitted.push_back(now);
            false
        }
    });
    let (status, body) = if scripted_429 || over_rate {
        (429, r#"{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}"#.to_owned())
    } else {
        route(&method, &path, customers)
    };
    log.seen.lock().expect("log lock").push(Seen {
        method,
        path,
        idempotency_key: key,
        at: Instant::now(),
        status,
    });
    log.in_flight.fetch_sub(1, Ordering::SeqCst);

    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).expect("valid status");
    resp.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("static header"),
    );
    if status == 429 {
        if let Some(secs) = faults.retry_after.filter(|_| scripted_429) {
            resp.headers_mut().insert(
                "retry-after",
                secs.to_string().parse().expect("number header"),
            );
        }
    }
    resp
}

fn customer(i: usize) -> serde_json::Value {
    let mut customer = pinned::customer(&format!("cus_Shared{i:03}"), Some(SHARED_EMAIL));
    customer["name"] = format!("Customer {i}").into();
    customer["created"] = (1_700_000_000 + i as i64).into();
    customer
}

fn empty_list(url: &str) -> String {
    pinned::list(url, Vec::new(), false).to_string()
}

fn route(method: &str, path: &str, customers: usize) -> (u16, String) {
    match (method, path) {
        ("GET", "/v1/customers") => {
            let data: Vec<_> = (0..customers).map(customer).collect();
            (200, pinned::list("/v1/customers", data, false).to_string())
        }
        ("GET", "/v1/subscriptions" | "/v1/invoices" | "/v1/charges" | "/v1/payment_methods") => {
            (200, empty_list(path))
        }
        ("GET", "/v1/charges/ch_Throttled1") => (
            200,
            pinned::charge("ch_Throttled1", "cus_Shared000", 3900, Vec::new()).to_string(),
        ),
        ("POST", "/v1/refunds") => (
            200,
            pinned::refund(
                "re_Throttled1",
                "ch_Throttled1",
                3900,
                serde_json::json!({}),
            )
            .to_string(),
        ),
        _ => (
            404,
            r#"{"error":{"type":"invalid_request_error","message":"No such resource"}}"#.to_owned(),
        ),
    }
}

/// A proxy in front of the Slack stand-in that answers the first `times`
/// calls to `method` (e.g. `chat.postMessage`, or `response_url`) with
/// Slack's rate-limit answer: HTTP 429, `Retry-After`, `ratelimited`.
pub async fn rate_limiting_slack(
    upstream: &SlackStandIn,
    method: &str,
    times: usize,
    retry_after_secs: u64,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the Slack proxy");
    let port = listener.local_addr().expect("local addr").port();
    let (upstream, method) = (upstream.base_url.clone(), method.to_owned());
    let left = Arc::new(AtomicUsize::new(times));
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (upstream, method, left, client) = (
                upstream.clone(),
                method.clone(),
                Arc::clone(&left),
                client.clone(),
            );
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (upstream, method, left, client) = (
                            upstream.clone(),
                            method.clone(),
                            Arc::clone(&left),
                            client.clone(),
                        );
                        async move {
                            let path = req.uri().path().to_owned();
                            let called = if path.starts_with("/response/") {
                                "response_url"
                            } else {
                                path.trim_start_matches("/api/")
                            };
                            let limited = called == method
                                && left
                                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                        n.checked_sub(1)
                                    })
                                    .is_ok();
                            if limited {
                                let mut resp = Response::new(Full::new(Bytes::from_static(
                                    br#"{"ok":false,"error":"ratelimited"}"#,
                                )));
                                *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                                resp.headers_mut().insert(
                                    "content-type",
                                    "application/json".parse().expect("static header"),
                                );
                                resp.headers_mut().insert(
                                    "retry-after",
                                    retry_after_secs.to_string().parse().expect("number header"),
                                );
                                return Ok::<_, std::convert::Infallible>(resp);
                            }
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let mut forward = Request::builder()
                                .method(parts.method)
                                .uri(format!("{upstream}{}", parts.uri));
                            if let Some(ct) = parts.headers.get("content-type") {
                                forward = forward.header("content-type", ct);
                            }
                            let forward = forward.body(Full::new(body)).expect("valid request");
                            let answer = client
                                .request(forward)
                                .await
                                .expect("the Slack stand-in answers");
                            let status = answer.status();
                            let body = answer
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let mut resp = Response::new(Full::new(body));
                            *resp.status_mut() = status;
                            resp.headers_mut().insert(
                                "content-type",
                                "application/json".parse().expect("static header"),
                            );
                            Ok(resp)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// A TCP proxy in front of Redis that can hang: while hanging it accepts
/// connections and swallows every byte, answering nothing, and the
/// connections open when it started hanging stay dead for good (as after a
/// network partition). After `resume`, new connections work.
#[derive(Clone)]
pub struct HangingRedis {
    pub url: String,
    hanging: Arc<AtomicBool>,
    generation: Arc<AtomicU64>,
}

impl HangingRedis {
    pub async fn start() -> Self {
        let target = crate::helpers::redis_url()
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Redis proxy");
        let port = listener.local_addr().expect("local addr").port();
        let hanging = Arc::new(AtomicBool::new(false));
        let generation = Arc::new(AtomicU64::new(0));
        let (h, g) = (Arc::clone(&hanging), Arc::clone(&generation));
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                let (h, g, target) = (Arc::clone(&h), Arc::clone(&g), target.clone());
                tokio::spawn(async move {
                    let born = g.load(Ordering::SeqCst);
                    let dead_at_birth = h.load(Ordering::SeqCst);
                    let alive = move || !dead_at_birth && g.load(Ordering::SeqCst) == born;
                    let (mut in_read, mut in_write) = inbound.into_split();
                    if !alive() {
                        let mut sink = [0u8; 4096];
                        while matches!(in_read.read(&mut sink).await, Ok(n) if n > 0) {}
                        return;
                    }
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut out_read, mut out_write) = outbound.into_split();
                    let alive2 = alive.clone();
                    let up = async move {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = in_read.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            if alive() && out_write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    let down = async move {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = out_read.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            if alive2() && in_write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::join!(up, down);
                });
            }
        });
        Self {
            url: format!("redis://127.0.0.1:{port}"),
            hanging,
            generation,
        }
    }

    /// From now on nothing is answered, on old or new connections.
    pub fn hang(&self) {
        self.hanging.store(true, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// New connections work again; the hung ones stay hung.
    pub fn resume(&self) {
        self.hanging.store(false, Ordering::SeqCst);
    }
}

/// An app the test stops: send on the returned sender (what SIGTERM does in
/// `serve`), then await the handle, which ends when the app has drained.
pub async fn spawn_stoppable(
    config: Config,
    slack: SlackStandIn,
    store: Store,
) -> (
    TestApp,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    init_test_log();
    let app = App::build(config).await.expect("the app builds");
    let addr = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    (
        TestApp {
            addr,
            slack,
            store,
            shutdown: None,
        },
        tx,
        running,
    )
}

/// A case with one refund action (`a1`: EUR 39.00 of `ch_Throttled1`, the
/// throttling Stripe's charge), stored as the lookup leaves it.
pub async fn stored_refund_case(store: &Store) -> billing_triage::domain::Case {
    use billing_triage::domain::*;
    let now = crate::helpers::now_ts();
    let customer = CustomerId::parse("cus_Shared000").expect("id");
    let charge_id = ChargeId::parse("ch_Throttled1").expect("id");
    let amount = Money::new(3900, Currency::parse("eur").expect("eur"));
    let charge = Charge {
        id: charge_id.clone(),
        customer: Some(customer.clone()),
        amount,
        amount_refunded: 0,
        status: ChargeStatus::Succeeded,
        created: now - 3600,
        invoice: None,
        invoice_unknown: false,
        description: None,
        failure_message: None,
        decline_code: None,
        disputed: false,
        refunds: vec![],
    };
    let record = CustomerRecord {
        id: customer.clone(),
        name: Some("Customer 0".into()),
        email: Some(SHARED_EMAIL.into()),
        created: now - 86_400,
        country: None,
        preferred_locales: vec![],
        metadata: std::collections::BTreeMap::new(),
        default_payment_method: None,
        subscriptions: vec![],
        invoices: vec![],
        charges: vec![charge],
    };
    let case = Case {
        version: Case::VERSION,
        id: CaseId::from_random(uuid::Uuid::new_v4().as_u128() as u64),
        requested_by: Actor::Slack(SlackUserId::parse(crate::helpers::REQUESTER).expect("id")),
        message: Some("charged during the outage, please refund".into()),
        warnings: vec![],
        context: Default::default(),
        snapshot: BillingSnapshot {
            query: LookupQuery::Customer(customer),
            customers: vec![record],
            fetched_at: now,
        },
        triage: Triage::Classified {
            category: Category::ProductFailure,
            evidence: vec!["outage".into()],
        },
        actions: vec![ProposedAction {
            key: akey("a1"),
            kind: ActionKind::Refund(RefundTarget {
                charge: charge_id,
                amount,
            }),
            summary: "Refund ch_Throttled1 EUR 39.00".into(),
            rationale: "the outage day".into(),
            origin: Origin::Proposed,
        }],
        revenue: RevenueImpact::default(),
        followup: FollowUp {
            locale: "en".into(),
            text: "Hi".into(),
        },
        product_gap: None,
    };
    let statuses = vec![(
        akey("a1"),
        ActionStatus::Proposed {
            approvals: vec![],
            expires_at: now + 3600,
        },
    )];
    store.save_case(&case).await.expect("save case");
    store
        .init_actions(&case.id, &statuses)
        .await
        .expect("init actions");
    let location = billing_triage::store::cases::CardLocation {
        channel: billing_triage::domain::ChannelId::parse(crate::helpers::CHANNEL)
            .expect("channel id"),
        ts: billing_triage::domain::MessageTs::parse("1700000000.000001").expect("message ts"),
        thread_ts: None,
    };
    store
        .save_card_location(&case.id, &location)
        .await
        .expect("card location");
    case
}
