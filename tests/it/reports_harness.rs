//! A list proxy for the reports' scans, in front of localstripe. localstripe
//! lists subscriptions oldest first and knows no `created` filter; Stripe
//! lists newest first and filters on `created[gte|gt|lt|lte]`. The proxy
//! reads localstripe's whole (small) list and answers each
//! `GET /v1/subscriptions` as Stripe would: filtered, newest first, cut at
//! `limit` after `starting_after`, in the pinned API version's shape
//! (`discounts`, expanded down to `source.coupon` when asked, instead of
//! localstripe's older `discount`). localstripe has no invoice payments
//! (API 2025-03-31 on): the proxy makes `GET /v1/invoice_payments` from
//! localstripe's invoices (one default payment per invoice with a payment
//! intent; `status` open / paid / canceled from the invoice's), expanding
//! the payment intent and the invoice (with its customer) as asked. Other
//! GETs pass through. [`start_canned`] serves the same two lists from
//! given objects instead, for the rules localstripe cannot produce
//! (cancellation reasons, decline codes, coupons on the pinned version),
//! collapsing to ids what the request did not expand, as Stripe does.
//! Either can also answer every `n`-th request with HTTP 429
//! (`Retry-After: 0`, `Stripe-Should-Retry: true`), and counts requests,
//! 429s and requests that named no `Stripe-Version`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// A running list proxy.
pub struct ListProxy {
    pub base_url: String,
    pub requests: Arc<AtomicU64>,
    pub throttled: Arc<AtomicU64>,
    /// Requests without a `Stripe-Version` header.
    pub unpinned: Arc<AtomicU64>,
    /// Requests per path (`/v1/subscriptions`, `/v1/invoice_payments`…).
    pub paths: Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>,
}

/// What answers behind the proxy.
#[derive(Clone)]
enum Backend {
    /// localstripe's own URL, ending in `/`.
    Local(String),
    /// Fully expanded subscriptions and invoice payments.
    Canned(Arc<(Vec<serde_json::Value>, Vec<serde_json::Value>)>),
}

/// Starts a proxy to localstripe at `direct` (its own URL, ending in `/`);
/// `throttle_every` = n answers every n-th request with 429 (0: never).
pub async fn start(direct: String, throttle_every: u64) -> ListProxy {
    serve(Backend::Local(direct), throttle_every).await
}

/// Starts a Stripe stand-in serving `subscriptions` and invoice `payments`
/// (written fully expanded) as the two lists, and 404 for anything else.
pub async fn start_canned(
    subscriptions: Vec<serde_json::Value>,
    payments: Vec<serde_json::Value>,
    throttle_every: u64,
) -> ListProxy {
    serve(
        Backend::Canned(Arc::new((subscriptions, payments))),
        throttle_every,
    )
    .await
}

async fn serve(backend: Backend, throttle_every: u64) -> ListProxy {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the list proxy");
    let port = listener.local_addr().expect("local addr").port();
    let requests = Arc::new(AtomicU64::new(0));
    let throttled = Arc::new(AtomicU64::new(0));
    let unpinned = Arc::new(AtomicU64::new(0));
    let paths: Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>> = Arc::default();
    let (req_count, thr_count) = (Arc::clone(&requests), Arc::clone(&throttled));
    let (unpinned_count, path_count) = (Arc::clone(&unpinned), Arc::clone(&paths));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (backend, req_count, thr_count, unpinned_count, path_count) = (
                backend.clone(),
                Arc::clone(&req_count),
                Arc::clone(&thr_count),
                Arc::clone(&unpinned_count),
                Arc::clone(&path_count),
            );
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (backend, req_count, thr_count, unpinned_count, path_count) = (
                        backend.clone(),
                        Arc::clone(&req_count),
                        Arc::clone(&thr_count),
                        Arc::clone(&unpinned_count),
                        Arc::clone(&path_count),
                    );
                    async move {
                        let n = req_count.fetch_add(1, Ordering::SeqCst) + 1;
                        if !req.headers().contains_key("stripe-version") {
                            unpinned_count.fetch_add(1, Ordering::SeqCst);
                        }
                        *path_count
                            .lock()
                            .expect("path counts")
                            .entry(req.uri().path().to_owned())
                            .or_default() += 1;
                        let (status, body, throttle) =
                            if throttle_every > 0 && n % throttle_every == 0 {
                                thr_count.fetch_add(1, Ordering::SeqCst);
                                (
                                    429,
                                    r#"{"error":{"message":"Too many requests"}}"#.to_owned(),
                                    true,
                                )
                            } else {
                                let uri = req.uri().clone();
                                let (status, body) = respond(&backend, &uri).await;
                                (status, body, false)
                            };
                        let mut resp = Response::new(Full::new(Bytes::from(body)));
                        *resp.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                        let h = resp.headers_mut();
                        h.insert("content-type", "application/json".parse().expect("header"));
                        if throttle {
                            h.insert("retry-after", "0".parse().expect("header"));
                            h.insert("stripe-should-retry", "true".parse().expect("header"));
                        }
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    ListProxy {
        base_url: format!("http://127.0.0.1:{port}/"),
        requests,
        throttled,
        unpinned,
        paths,
    }
}

/// Takes out of an item the expansions a request did not ask for.
type Collapse = fn(&mut serde_json::Value, &[String]);

/// One non-throttled answer.
async fn respond(backend: &Backend, uri: &hyper::Uri) -> (u16, String) {
    let query = uri.query().unwrap_or("");
    match (backend, uri.path()) {
        (Backend::Local(direct), "/v1/subscriptions") => (200, answer(direct, query).await),
        (Backend::Local(direct), "/v1/invoice_payments") => {
            (200, answer_payments(direct, query).await)
        }
        (Backend::Local(direct), _) => {
            // Anything else (invoices, customers…) as localstripe answers it.
            let path = uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .trim_start_matches('/')
                .to_owned();
            forward(&format!("{direct}{path}")).await
        }
        (Backend::Canned(lists), path) => {
            let (pairs, expand) = parse_query(query);
            let status = pairs
                .iter()
                .find(|(k, _)| k == "status")
                .map(|(_, v)| v.as_str());
            let (items, collapse): (&Vec<serde_json::Value>, Collapse) = match path {
                "/v1/subscriptions" => (&lists.0, collapse_subscription),
                "/v1/invoice_payments" => (&lists.1, collapse_payment),
                _ => return (404, r#"{"error":{"message":"no such list"}}"#.to_owned()),
            };
            let all: Vec<serde_json::Value> = items
                .iter()
                .filter(|i| match (path, status) {
                    ("/v1/subscriptions", Some("all")) | (_, None) => true,
                    (_, Some(s)) => i["status"] == s,
                })
                .cloned()
                .map(|mut i| {
                    collapse(&mut i, &expand);
                    i
                })
                .collect();
            (200, stripe_page(all, &pairs, path).to_string())
        }
    }
}

/// `value` replaced by its id (an expandable field not expanded).
fn to_id(value: &mut serde_json::Value) {
    if let Some(id) = value.get("id").cloned() {
        *value = id;
    }
}

/// A subscription as Stripe sends it without the expansions not asked for.
fn collapse_subscription(sub: &mut serde_json::Value, expand: &[String]) {
    let has = |p: &str| expand.iter().any(|e| e == p);
    if let Some(discounts) = sub["discounts"].as_array_mut() {
        for d in discounts {
            if !has("data.discounts.source.coupon") {
                to_id(&mut d["source"]["coupon"]);
            }
            if !has("data.discounts") && !has("data.discounts.source.coupon") {
                to_id(d);
            }
        }
    }
}

/// An invoice payment as Stripe sends it without the expansions not asked for.
fn collapse_payment(payment: &mut serde_json::Value, expand: &[String]) {
    let has = |p: &str| expand.iter().any(|e| e == p);
    for field in ["payment_intent", "charge"] {
        if !has(&format!("data.payment.{field}")) {
            to_id(&mut payment["payment"][field]);
        }
    }
    if !has("data.invoice.customer") {
        to_id(&mut payment["invoice"]["customer"]);
    }
    if !expand.iter().any(|e| e.starts_with("data.invoice")) {
        to_id(&mut payment["invoice"]);
    }
}

/// The query's pairs and its `expand[]` entries.
fn parse_query(query: &str) -> (Vec<(String, String)>, Vec<String>) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
    let expand = pairs
        .iter()
        .filter(|(k, _)| k == "expand[]")
        .map(|(_, v)| v.clone())
        .collect();
    (pairs, expand)
}

/// Every item of localstripe's list at `path` (a query may follow).
async fn read_all(direct: &str, path: &str) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    loop {
        let mut url = format!("{direct}{path}{sep}limit=100");
        if let Some(a) = &after {
            url.push_str(&format!("&starting_after={a}"));
        }
        let page = get_json(&url).await;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        after = data
            .last()
            .and_then(|s| s["id"].as_str())
            .map(str::to_owned);
        all.extend(data);
        if !page["has_more"].as_bool().unwrap_or(false) {
            break;
        }
    }
    all
}

/// `all` as Stripe pages it: `created` filters, newest first, `limit`
/// after `starting_after`.
fn stripe_page(
    mut all: Vec<serde_json::Value>,
    pairs: &[(String, String)],
    url: &str,
) -> serde_json::Value {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let num = |k: &str| get(k).map(|v| v.parse::<i64>().expect("numeric filter"));
    let created = |s: &serde_json::Value| s["created"].as_i64().unwrap_or(0);
    all.retain(|s| {
        let c = created(s);
        num("created[gte]").is_none_or(|v| c >= v)
            && num("created[gt]").is_none_or(|v| c > v)
            && num("created[lt]").is_none_or(|v| c < v)
            && num("created[lte]").is_none_or(|v| c <= v)
    });
    all.sort_by(|a, b| {
        (created(b), b["id"].as_str().unwrap_or(""))
            .cmp(&(created(a), a["id"].as_str().unwrap_or("")))
    });
    let start = match get("starting_after") {
        Some(id) => all
            .iter()
            .position(|s| s["id"].as_str() == Some(id.as_str()))
            .map_or(all.len(), |i| i + 1),
        None => 0,
    };
    let limit = num("limit").unwrap_or(10).max(1) as usize;
    let page: Vec<_> = all.iter().skip(start).take(limit).cloned().collect();
    let has_more = all.len() > start + limit;
    serde_json::json!({"object": "list", "url": url, "has_more": has_more, "data": page})
}

/// Stripe's answer to one subscription list request, computed from
/// localstripe's list.
async fn answer(direct: &str, query: &str) -> String {
    let (pairs, expand) = parse_query(query);
    let status = pairs
        .iter()
        .find(|(k, _)| k == "status")
        .map_or_else(|| "all".to_owned(), |(_, v)| v.clone());
    let all = read_all(direct, &format!("v1/subscriptions?status={status}"))
        .await
        .into_iter()
        .map(|s| pinned_discounts(s, &expand))
        .collect();
    stripe_page(all, &pairs, "/v1/subscriptions").to_string()
}

/// localstripe's `discount` as the pinned version's `discounts`: ids, or
/// discounts (with `source.coupon` an id, or the coupon) when expanded.
fn pinned_discounts(mut sub: serde_json::Value, expand: &[String]) -> serde_json::Value {
    let discount = sub
        .as_object_mut()
        .and_then(|o| o.remove("discount"))
        .filter(|d| !d.is_null());
    let discounts: Vec<serde_json::Value> = discount
        .map(|d| {
            let id = format!("di_{}", sub["id"].as_str().unwrap_or_default());
            let coupon = &d["coupon"];
            if expand.iter().any(|e| e == "data.discounts.source.coupon") {
                serde_json::json!({"id": id, "object": "discount",
                    "source": {"type": "coupon", "coupon": coupon}})
            } else if expand.iter().any(|e| e == "data.discounts") {
                serde_json::json!({"id": id, "object": "discount",
                    "source": {"type": "coupon", "coupon": coupon["id"]}})
            } else {
                serde_json::json!(id)
            }
        })
        .into_iter()
        .collect();
    sub["discounts"] = serde_json::json!(discounts);
    sub
}

/// Stripe's answer to one invoice payment list request, made from
/// localstripe's invoices.
async fn answer_payments(direct: &str, query: &str) -> String {
    let (pairs, expand) = parse_query(query);
    let status = pairs
        .iter()
        .find(|(k, _)| k == "status")
        .map(|(_, v)| v.clone());
    let all: Vec<serde_json::Value> = read_all(direct, "v1/invoices")
        .await
        .into_iter()
        .filter_map(|inv| {
            let intent = inv["payment_intent"].as_str()?.to_owned();
            let paid = match inv["status"].as_str()? {
                "open" => "open",
                "paid" => "paid",
                "void" => "canceled",
                _ => return None,
            };
            let id = inv["id"].as_str()?.to_owned();
            let created = inv["created"].as_i64().or(inv["date"].as_i64())?;
            Some(serde_json::json!({
                "id": format!("inpay_{}", id.trim_start_matches("in_")),
                "object": "invoice_payment", "created": created, "status": paid,
                "is_default": true, "invoice": id,
                "payment": {"type": "payment_intent", "payment_intent": intent, "charge": null}
            }))
        })
        .filter(|p| status.as_deref().is_none_or(|s| p["status"] == s))
        .collect();
    let mut page = stripe_page(all, &pairs, "/v1/invoice_payments");
    let has = |p: &str| expand.iter().any(|e| e == p);
    if let Some(items) = page["data"].as_array_mut() {
        for p in items {
            if has("data.payment.payment_intent") {
                let id = p["payment"]["payment_intent"].as_str().unwrap_or_default();
                p["payment"]["payment_intent"] =
                    get_json(&format!("{direct}v1/payment_intents/{id}")).await;
            }
            if expand.iter().any(|e| e.starts_with("data.invoice")) {
                let id = p["invoice"].as_str().unwrap_or_default();
                let customer = if has("data.invoice.customer") {
                    "?expand%5B%5D=customer"
                } else {
                    ""
                };
                p["invoice"] = get_json(&format!("{direct}v1/invoices/{id}{customer}")).await;
            }
        }
    }
    page.to_string()
}

async fn forward(url: &str) -> (u16, String) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = Request::get(url)
        .header("authorization", "Bearer sk_test_harness")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = client.request(request).await.expect("localstripe answers");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get_json(url: &str) -> serde_json::Value {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = Request::get(url)
        .header("authorization", "Bearer sk_test_harness")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = client.request(request).await.expect("localstripe answers");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&body).expect("localstripe answers JSON")
}
