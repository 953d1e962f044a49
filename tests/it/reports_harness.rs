//! A list proxy for the reports' scans, in front of localstripe. Asked
//! without a `Stripe-Version` (as the proxy asks), localstripe answers in
//! Stripe's pre-2022 shape, lists oldest first and knows no `created`
//! filter; Stripe answers in the pinned API version's shape, lists newest
//! first and filters on `created[gte|gt|lt|lte]`. The proxy reads
//! localstripe's whole (small) lists and answers as Stripe would: `GET /v1/subscriptions` filtered, newest first, cut at `limit`
//! after `starting_after`, each subscription rebuilt in the pinned shape
//! (`tests/it/pinned_reports.rs`: items with their price, `discounts`
//! instead of `discount`, expanded down to `source.coupon` and the customer
//! expanded when asked). localstripe has no invoice payments (API
//! 2025-03-31 on): the proxy makes `GET /v1/invoice_payments` from
//! localstripe's invoices (one default payment per invoice with a payment
//! intent; `status` open / paid / canceled from the invoice's), expanding
//! the payment intent and the invoice (with its customer) as asked.
//! `GET /v1/coupons[/{id}]` are localstripe's coupons in the pinned shape.
//! Other GETs (a lookup's) pass through, with their `Stripe-Version`.
//! [`start_canned`] serves the same lists from given objects instead (built in the pinned shape, fully expanded), for
//! the rules localstripe cannot produce (cancellation reasons, decline
//! codes, customers' own coupons, deleted customers), collapsing to ids
//! what the request did not expand, as Stripe does. Both refuse an
//! expansion deeper than Stripe's four levels (400), can answer every
//! `n`-th request with HTTP 429 (`Retry-After: 0`, `Stripe-Should-Retry:
//! true`), and count requests, 429s and requests that named no
//! `Stripe-Version`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::pinned_reports as pinned;

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
    /// Objects given in the pinned shape, fully expanded.
    Canned(Arc<Canned>),
}

/// The lists a canned stand-in serves, each item fully expanded.
#[derive(Debug, Default, Clone)]
pub struct Canned {
    pub subscriptions: Vec<Value>,
    pub payments: Vec<Value>,
    /// Served by `GET /v1/coupons/{id}`; listed by `GET /v1/coupons` unless
    /// in `unlisted` (as a coupon older than the first page).
    pub coupons: Vec<Value>,
    pub unlisted: Vec<String>,
}

/// Starts a proxy to localstripe at `direct` (its own URL, ending in `/`);
/// `throttle_every` = n answers every n-th request with 429 (0: never).
pub async fn start(direct: String, throttle_every: u64) -> ListProxy {
    serve(Backend::Local(direct), throttle_every).await
}

/// Starts a Stripe stand-in serving the `canned` lists, and 404 for
/// anything else.
pub async fn start_canned(canned: Canned, throttle_every: u64) -> ListProxy {
    serve(Backend::Canned(Arc::new(canned)), throttle_every).await
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
                        let (status, body, throttle) = if throttle_every > 0
                            && n % throttle_every == 0
                        {
                            thr_count.fetch_add(1, Ordering::SeqCst);
                            (
                                    429,
                                    r#"{"error":{"type":"rate_limit_error","message":"Too many requests"}}"#
                                        .to_owned(),
                                    true,
                                )
                        } else {
                            let uri = req.uri().clone();
                            let version = req
                                .headers()
                                .get("stripe-version")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            let (status, body) = respond(&backend, &uri, version).await;
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
type Collapse = fn(&mut Value, &[String]);

const NOT_FOUND: &str =
    r#"{"error":{"type":"invalid_request_error","message":"No such resource"}}"#;

/// One non-throttled answer; `version` is the request's `Stripe-Version`,
/// passed on with what is forwarded as is.
async fn respond(backend: &Backend, uri: &hyper::Uri, version: Option<String>) -> (u16, String) {
    let query = uri.query().unwrap_or("");
    let (pairs, expand) = parse_query(query);
    // Stripe's limit: four levels, `data` counted.
    if expand.iter().any(|e| e.split('.').count() > 4) {
        return (
            400,
            r#"{"error":{"type":"invalid_request_error","message":"You cannot expand more than 4 levels of a property"}}"#
                .to_owned(),
        );
    }
    let path = uri.path();
    match backend {
        Backend::Local(direct) => match path {
            "/v1/subscriptions" => (200, answer(direct, &pairs, &expand).await),
            "/v1/invoice_payments" => (200, answer_payments(direct, &pairs, &expand).await),
            "/v1/coupons" => {
                let all = read_all(direct, "v1/coupons")
                    .await
                    .iter()
                    .map(pin_coupon)
                    .collect();
                (200, stripe_page(all, &pairs, path).to_string())
            }
            p if p.starts_with("/v1/coupons/") => {
                let (status, body) =
                    forward(&format!("{direct}{}", p.trim_start_matches('/')), None).await;
                match serde_json::from_str::<Value>(&body) {
                    Ok(coupon) if status == 200 => (200, pin_coupon(&coupon).to_string()),
                    _ => (status, body),
                }
            }
            _ => {
                // Anything else (a lookup's reads) as the test's localstripe
                // answers it: behind the shape layer, in the version asked for.
                let path = uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .trim_start_matches('/')
                    .to_owned();
                forward(&format!("{direct}{path}"), version.as_deref()).await
            }
        },
        Backend::Canned(lists) => {
            let status = pairs
                .iter()
                .find(|(k, _)| k == "status")
                .map(|(_, v)| v.as_str());
            let (items, collapse): (Vec<&Value>, Collapse) = match path {
                "/v1/subscriptions" => {
                    (lists.subscriptions.iter().collect(), collapse_subscription)
                }
                "/v1/invoice_payments" => (lists.payments.iter().collect(), collapse_payment),
                "/v1/coupons" => (
                    lists
                        .coupons
                        .iter()
                        .filter(|c| !lists.unlisted.iter().any(|u| c["id"] == u.as_str()))
                        .collect(),
                    |_, _| {},
                ),
                p if p.starts_with("/v1/coupons/") => {
                    let id = p.trim_start_matches("/v1/coupons/");
                    return match lists.coupons.iter().find(|c| c["id"] == id) {
                        Some(coupon) => (200, coupon.to_string()),
                        None => (404, NOT_FOUND.to_owned()),
                    };
                }
                _ => return (404, NOT_FOUND.to_owned()),
            };
            let all: Vec<Value> = items
                .into_iter()
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
fn to_id(value: &mut Value) {
    if let Some(id) = value.get("id").cloned() {
        *value = id;
    }
}

/// A subscription as Stripe sends it without the expansions not asked for.
fn collapse_subscription(sub: &mut Value, expand: &[String]) {
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
    if !has("data.customer") {
        to_id(&mut sub["customer"]);
    } else if sub["customer"]["discount"].is_object() {
        // One level deeper than the expansion: the coupon is an id.
        to_id(&mut sub["customer"]["discount"]["source"]["coupon"]);
    }
}

/// An invoice payment as Stripe sends it without the expansions not asked for.
fn collapse_payment(payment: &mut Value, expand: &[String]) {
    let has = |p: &str| expand.iter().any(|e| e == p);
    for field in ["payment_intent", "charge"] {
        if !has(&format!("data.payment.{field}")) && !payment["payment"][field].is_null() {
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

/// The query's pairs and its expansions (`expand[]` or, as async-stripe's
/// builders send them, `expand[0]`, `expand[1]`…).
fn parse_query(query: &str) -> (Vec<(String, String)>, Vec<String>) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
    let expand = pairs
        .iter()
        .filter(|(k, _)| k.starts_with("expand[") && k.ends_with(']'))
        .map(|(_, v)| v.clone())
        .collect();
    (pairs, expand)
}

/// Every item of localstripe's list at `path` (a query may follow).
async fn read_all(direct: &str, path: &str) -> Vec<Value> {
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
fn stripe_page(mut all: Vec<Value>, pairs: &[(String, String)], url: &str) -> Value {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let num = |k: &str| get(k).map(|v| v.parse::<i64>().expect("numeric filter"));
    let created = |s: &Value| s["created"].as_i64().unwrap_or(0);
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
    pinned::list(url, page, has_more)
}

/// Stripe's answer to one subscription list request, computed from
/// localstripe's list: paged first, then each subscription of the page
/// rebuilt in the pinned shape.
async fn answer(direct: &str, pairs: &[(String, String)], expand: &[String]) -> String {
    let status = pairs
        .iter()
        .find(|(k, _)| k == "status")
        .map_or_else(|| "all".to_owned(), |(_, v)| v.clone());
    let all = read_all(direct, &format!("v1/subscriptions?status={status}")).await;
    let mut page = stripe_page(all, pairs, "/v1/subscriptions");
    if let Some(items) = page["data"].as_array_mut() {
        for sub in items.iter_mut() {
            *sub = pin_subscription(direct, sub, expand).await;
        }
    }
    page.to_string()
}

/// A localstripe coupon in the pinned shape.
fn pin_coupon(raw: &Value) -> Value {
    let amount_off = raw["amount_off"]
        .as_i64()
        .map(|a| (a, raw["currency"].as_str().unwrap_or("eur")));
    pinned::coupon(
        raw["id"].as_str().unwrap_or_default(),
        raw["duration"].as_str().unwrap_or("once"),
        raw["percent_off"].as_f64(),
        amount_off,
    )
}

/// A localstripe customer in the pinned shape (localstripe keeps no
/// discount on customers).
fn pin_customer(raw: &Value) -> Value {
    pinned::customer(
        raw["id"].as_str().unwrap_or_default(),
        raw["email"].as_str(),
        None,
    )
}

/// A localstripe subscription (its plans, `discount`, the period at the
/// top) in the pinned shape: items with price and plan and the period,
/// `discounts` as ids or as discounts (with the coupon expanded when
/// asked), and the customer expanded when asked.
async fn pin_subscription(direct: &str, raw: &Value, expand: &[String]) -> Value {
    let has = |p: &str| expand.iter().any(|e| e == p);
    let id = raw["id"].as_str().unwrap_or_default();
    let customer_id = raw["customer"].as_str().unwrap_or_default();
    let created = raw["created"].as_i64().unwrap_or_default();
    let period_end = raw["current_period_end"].as_i64().unwrap_or(created);
    let items = raw["items"]["data"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|item| {
            let plan = &item["plan"];
            let price = pinned::Price {
                id: plan["id"].as_str().unwrap_or_default().to_owned(),
                product: plan["product"]
                    .as_str()
                    .unwrap_or("prod_unknown")
                    .to_owned(),
                nickname: plan["nickname"].as_str().map(str::to_owned),
                unit_amount: plan["amount"].as_i64(),
                currency: plan["currency"].as_str().unwrap_or("eur").to_owned(),
                interval: plan["interval"].as_str().unwrap_or("month").to_owned(),
                interval_count: plan["interval_count"].as_u64().unwrap_or(1),
                usage_type: plan["usage_type"].as_str().unwrap_or("licensed").to_owned(),
            };
            pinned::item(id, &price, item["quantity"].as_u64(), period_end)
        })
        .collect();
    let discounts = raw
        .get("discount")
        .filter(|d| !d.is_null())
        .map(|d| {
            let discount_id = format!("di_{}", id.trim_start_matches("sub_"));
            let coupon = if has("data.discounts.source.coupon") {
                pin_coupon(&d["coupon"])
            } else {
                d["coupon"]["id"].clone()
            };
            if has("data.discounts") || has("data.discounts.source.coupon") {
                pinned::discount(&discount_id, coupon, Some(customer_id), Some(id))
            } else {
                json!(discount_id)
            }
        })
        .into_iter()
        .collect();
    let customer = if has("data.customer") {
        pin_customer(&get_json(&format!("{direct}v1/customers/{customer_id}")).await)
    } else {
        json!(customer_id)
    };
    let mut sub = pinned::subscription(
        id,
        customer,
        raw["status"].as_str().unwrap_or("active"),
        created,
        items,
        discounts,
    );
    for field in [
        "canceled_at",
        "ended_at",
        "cancel_at",
        "cancel_at_period_end",
        "trial_start",
        "trial_end",
        "latest_invoice",
    ] {
        if let Some(value) = raw.get(field).filter(|v| !v.is_null()) {
            sub[field] = value.clone();
        }
    }
    sub
}

/// Stripe's answer to one invoice payment list request, made from
/// localstripe's invoices, in the pinned shape.
async fn answer_payments(direct: &str, pairs: &[(String, String)], expand: &[String]) -> String {
    let status = pairs
        .iter()
        .find(|(k, _)| k == "status")
        .map(|(_, v)| v.clone());
    let invoices = read_all(direct, "v1/invoices").await;
    let all: Vec<Value> = invoices
        .iter()
        .filter_map(|inv| {
            let intent = inv["payment_intent"].as_str()?;
            let paid = match inv["status"].as_str()? {
                "open" => "open",
                "paid" => "paid",
                "void" => "canceled",
                _ => return None,
            };
            let id = inv["id"].as_str()?;
            let created = inv["created"].as_i64().or(inv["date"].as_i64())?;
            Some(pinned::invoice_payment(
                &format!("inpay_{}", id.trim_start_matches("in_")),
                created,
                paid,
                json!(id),
                json!(intent),
                inv["amount_due"].as_i64().unwrap_or_default(),
            ))
        })
        .filter(|p| status.as_deref().is_none_or(|s| p["status"] == s))
        .collect();
    let mut page = stripe_page(all, pairs, "/v1/invoice_payments");
    let has = |p: &str| expand.iter().any(|e| e == p);
    if let Some(items) = page["data"].as_array_mut() {
        for p in items {
            if has("data.payment.payment_intent") {
                let id = p["payment"]["payment_intent"].as_str().unwrap_or_default();
                let raw = get_json(&format!("{direct}v1/payment_intents/{id}")).await;
                let error = raw
                    .get("last_payment_error")
                    .filter(|e| !e.is_null())
                    .map_or(Value::Null, |e| {
                        pinned::card_error(
                            e["code"].as_str().unwrap_or("card_declined"),
                            e["decline_code"].as_str(),
                        )
                    });
                p["payment"]["payment_intent"] = pinned::payment_intent(
                    id,
                    raw["amount"].as_i64().unwrap_or_default(),
                    raw["currency"].as_str().unwrap_or("eur"),
                    error,
                );
            }
            if expand.iter().any(|e| e.starts_with("data.invoice")) {
                let id = p["invoice"].as_str().unwrap_or_default();
                let Some(raw) = invoices.iter().find(|i| i["id"] == id) else {
                    continue;
                };
                let customer_id = raw["customer"].as_str().unwrap_or_default();
                let customer = if has("data.invoice.customer") {
                    pin_customer(&get_json(&format!("{direct}v1/customers/{customer_id}")).await)
                } else {
                    json!(customer_id)
                };
                let mut invoice = pinned::open_invoice(
                    id,
                    customer,
                    raw["subscription"].as_str(),
                    raw["amount_due"].as_i64().unwrap_or_default(),
                    raw["attempt_count"].as_u64().unwrap_or_default(),
                    raw["next_payment_attempt"].as_i64(),
                    raw["customer_email"].as_str(),
                );
                invoice["status"] = raw["status"].clone();
                invoice["created"] = raw["created"].clone();
                p["invoice"] = invoice;
            }
        }
    }
    page.to_string()
}

async fn forward(url: &str, version: Option<&str>) -> (u16, String) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::get(url).header("authorization", "Bearer sk_test_harness");
    if let Some(version) = version {
        request = request.header("stripe-version", version);
    }
    let request = request.body(Full::new(Bytes::new())).expect("request");
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

async fn get_json(url: &str) -> Value {
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
