//! A list proxy for the reports' scan, in front of localstripe. localstripe
//! lists subscriptions oldest first and knows no `created` filter; Stripe
//! lists newest first and filters on `created[gte|gt|lt|lte]`. The proxy
//! reads localstripe's whole (small) list and answers each
//! `GET /v1/subscriptions` as Stripe would: filtered, newest first, cut at
//! `limit` after `starting_after`; other GETs pass through. It can also answer every `n`-th request
//! with HTTP 429 (`Retry-After: 0`, `Stripe-Should-Retry: true`), and counts
//! requests and 429s.

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
}

/// Starts a proxy to localstripe at `direct` (its own URL, ending in `/`);
/// `throttle_every` = n answers every n-th request with 429 (0: never).
pub async fn start(direct: String, throttle_every: u64) -> ListProxy {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the list proxy");
    let port = listener.local_addr().expect("local addr").port();
    let requests = Arc::new(AtomicU64::new(0));
    let throttled = Arc::new(AtomicU64::new(0));
    let (req_count, thr_count) = (Arc::clone(&requests), Arc::clone(&throttled));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (direct, req_count, thr_count) = (
                direct.clone(),
                Arc::clone(&req_count),
                Arc::clone(&thr_count),
            );
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (direct, req_count, thr_count) = (
                        direct.clone(),
                        Arc::clone(&req_count),
                        Arc::clone(&thr_count),
                    );
                    async move {
                        let n = req_count.fetch_add(1, Ordering::SeqCst) + 1;
                        let (status, body, throttle) =
                            if throttle_every > 0 && n % throttle_every == 0 {
                                thr_count.fetch_add(1, Ordering::SeqCst);
                                (
                                    429,
                                    r#"{"error":{"message":"Too many requests"}}"#.to_owned(),
                                    true,
                                )
                            } else if req.uri().path() == "/v1/subscriptions" {
                                let query = req.uri().query().unwrap_or("").to_owned();
                                (200, answer(&direct, &query).await, false)
                            } else {
                                // Anything else (invoices, charges, customers)
                                // as localstripe answers it.
                                let path = req
                                    .uri()
                                    .path_and_query()
                                    .map_or("/", |p| p.as_str())
                                    .trim_start_matches('/')
                                    .to_owned();
                                let (status, body) = forward(&format!("{direct}{path}")).await;
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
    }
}

/// Stripe's answer to one list request, computed from localstripe's list.
async fn answer(direct: &str, query: &str) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let num = |k: &str| get(k).map(|v| v.parse::<i64>().expect("numeric filter"));
    let status = get("status").unwrap_or_else(|| "all".into());
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("{direct}v1/subscriptions?status={status}&limit=100");
        if let Some(a) = &after {
            path.push_str(&format!("&starting_after={a}"));
        }
        let page = get_json(&path).await;
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
    serde_json::json!({"object": "list", "url": "/v1/subscriptions", "has_more": has_more, "data": page})
        .to_string()
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
