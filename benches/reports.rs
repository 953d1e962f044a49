//! Speed figures: the reports' subscription scan
//! against a Stripe list stand-in with 100 000 synthetic subscriptions,
//! 300 ms per page and HTTP 429 above 100 requests/s, at
//! `STRIPE_READ_RATE=90`. Prints wall time, requests, 429s, peak RSS and
//! the ratio to one sequential cursor; asserts nothing (a slow machine must
//! not break a build), but says whether the results were exact.
//!
//! The churn report reads a second list alongside the subscriptions: the
//! open invoice payments, whose expanded payment intent, invoice and
//! customer give each at-risk subscription its decline, attempts, next
//! retry and reachability. The stand-in serves both lists as Stripe does:
//! the pinned API version's shapes (`tests/it/pinned_reports.rs`, every
//! field its generated types require), rendered per request with the
//! expansions asked for and no deeper than Stripe's four levels, and the
//! churn rows are checked against what the synthetic account says. Some
//! customers carry their own coupon (one of them older than the coupon
//! list's first page, read by id), some subscriptions their own.
//!
//! The stand-in runs as a child process (this binary again, with
//! `BENCH_STANDIN` set), so the peak RSS printed is the scanner's alone.
//!
//! Run with `cargo bench --bench reports`. A `--profile dev` build is
//! quicker to make, but unoptimised its stand-in (rendering every page in
//! the pinned shape) and the scanner's parsing take the CPU the figures
//! are meant to leave to the network.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use billing_triage::domain::StripeKey;
use billing_triage::reports::churn::{ChurnReport, ChurnTally};
use billing_triage::reports::plans::PlansTally;
use billing_triage::stripe::retry::Limits;
use billing_triage::stripe::scan::{in_flight_for, ReadLimiter, ScanStats, StripeScanner};
use billing_triage::stripe::StripeGateway;
use billing_triage::workflow::reports::{scan_churn, scan_subscriptions, Progress};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

#[path = "../tests/it/pinned_reports.rs"]
mod pinned;

/// One list of the stand-in, newest first as (created, id, index), and each
/// id's position. The index is the item's in the synthetic account; the
/// item is rendered per request, with the expansions asked for.
struct Listing {
    items: Vec<(i64, String, usize)>,
    index: HashMap<String, usize>,
}

impl Listing {
    fn new(mut items: Vec<(i64, String, usize)>) -> Self {
        items.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
        let index = items
            .iter()
            .enumerate()
            .map(|(i, s)| (s.1.clone(), i))
            .collect();
        Self { items, index }
    }
}

/// The stand-in's lists: subscriptions, and invoice payments by status.
struct Account {
    /// Subscriptions in the synthetic account.
    n: usize,
    subscriptions: Listing,
    open_payments: Listing,
    paid_payments: Listing,
}

const N_SUBSCRIPTIONS: usize = 100_000;
const N_SEQUENTIAL: usize = 10_000;
const PAGE_DELAY: Duration = Duration::from_millis(300);
const STRIPE_LIMIT: usize = 100;
const READ_RATE: u32 = 90;
/// The synthetic account's clock: subscriptions over the three years before.
const NOW: i64 = 1_790_000_000;
const SPAN: i64 = 3 * 365 * 86_400;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    if let Ok(n) = std::env::var("BENCH_STANDIN") {
        let n = n.parse().expect("BENCH_STANDIN is a count");
        runtime.block_on(stand_in(n));
        return;
    }
    runtime.block_on(run());
}

/// One synthetic subscription: (created, id, status).
fn synthetic(i: usize, n: usize) -> (i64, String, &'static str) {
    // More subscriptions recently, as a growing business has.
    let share = ((i as f64 + 0.5) / n as f64).sqrt();
    let created = NOW - SPAN + (share * SPAN as f64) as i64;
    (created, format!("sub_{i:07}"), synthetic_status(i))
}

/// The coupons of the synthetic account: the first page of the coupon
/// list, and one older (served by id only).
fn coupons() -> (Vec<Value>, Value) {
    (
        vec![
            pinned::coupon("co_loyal", "forever", Some(10.0), None),
            pinned::coupon("co_once", "once", Some(20.0), None),
        ],
        pinned::coupon("co_old", "forever", Some(5.0), None),
    )
}

/// Customer `c`'s own coupon, for some customers (older accounts).
fn customer_coupon(c: usize) -> Option<&'static str> {
    match c % 10 {
        3 => Some("co_loyal"),
        7 => Some("co_old"),
        _ => None,
    }
}

/// Customer `c` as an expansion shows it.
fn customer_json(c: usize) -> Value {
    let id = format!("cus_{c:07}");
    let discount = customer_coupon(c)
        .map(|coupon| pinned::discount(&format!("di_c{c:07}"), json!(coupon), Some(&id), None));
    pinned::customer(&id, Some(&format!("c{c}@example.com")), discount)
}

/// Subscription `i` as Stripe renders it, with `expand`'s objects.
fn subscription_json(i: usize, n: usize, expand: &[String]) -> Value {
    let has = |p: &str| expand.iter().any(|e| e == p);
    let (created, id, status) = synthetic(i, n);
    let (price, amount, currency, interval) = match i % 7 {
        0 => ("price_team_m", 1500, "eur", "month"),
        1 => ("price_team_y", 15000, "eur", "year"),
        2 => ("price_personal_m", 900, "usd", "month"),
        3 => ("price_personal_y", 9000, "usd", "year"),
        4 => ("price_jp_m", 1200, "jpy", "month"),
        5 => ("price_week", 300, "eur", "week"),
        _ => ("price_pro_m", 4900, "usd", "month"),
    };
    let mut price = pinned::Price::new(price, amount, currency, interval);
    price.product = format!("prod_{}", &price.id[6..]);
    let item = pinned::item(
        &id,
        &price,
        Some(1 + (i % 4) as u64),
        NOW + 86_400 * (i as i64 % 30),
    );
    let c = i / 2;
    let customer = if has("data.customer") {
        customer_json(c)
    } else {
        json!(format!("cus_{c:07}"))
    };
    // Some subscriptions have their own once coupon; it replaces their
    // customer's.
    let discounts = if i % 11 == 0 {
        let coupon = if has("data.discounts.source.coupon") {
            coupons().0[1].clone()
        } else {
            json!("co_once")
        };
        vec![pinned::discount(
            &format!("di_{i:07}"),
            coupon,
            None,
            Some(&id),
        )]
    } else {
        Vec::new()
    };
    let mut sub = pinned::subscription(&id, customer, status, created, vec![item], discounts);
    if status == "canceled" {
        sub["ended_at"] = json!(NOW - (i as i64 % 40) * 86_400);
        sub["canceled_at"] = sub["ended_at"].clone();
    }
    sub["cancel_at_period_end"] = json!(i % 50 == 20);
    sub["latest_invoice"] = json!(format!("in_{i:07}"));
    sub["cancellation_details"]["reason"] = json!(if i % 2 == 0 {
        "cancellation_requested"
    } else {
        "payment_failed"
    });
    sub
}

/// What the synthetic account says about subscription `i`'s failing
/// payment: (decline code, attempts, next retry, reachable).
fn failure(i: usize) -> (&'static str, u32, Option<i64>, bool) {
    let code = [
        "insufficient_funds",
        "do_not_honor",
        "expired_card",
        "stolen_card",
        "card_declined",
        "try_again_later",
    ][i % 6];
    let unpaid = synthetic_status(i) == "unpaid";
    (
        code,
        1 + (i % 4) as u32,
        (!unpaid).then_some(NOW + 86_400 * (1 + (i % 3) as i64)),
        i % 5 != 0,
    )
}

fn synthetic_status(i: usize) -> &'static str {
    match i % 100 {
        0..=2 => "past_due",
        3..=7 => "canceled",
        8..=11 => "trialing",
        12..=13 => "unpaid",
        14 => "incomplete_expired",
        _ => "active",
    }
}

/// The invoice payments of the synthetic account: (created, id, status, i).
/// An open one per at-risk subscription, an open one without a failure for
/// a fresh invoice of some active ones, and paid ones the `status` filter
/// must leave out.
fn synthetic_payments(n: usize) -> Vec<(i64, String, &'static str, usize)> {
    (0..n)
        .filter_map(|i| {
            let status = match (synthetic_status(i), i % 100) {
                ("past_due" | "unpaid", _) => "open",
                (_, 15) => "open",
                (_, 16) => "paid",
                _ => return None,
            };
            // Unpaid ones failed long ago; the others within the month.
            let age = if synthetic_status(i) == "unpaid" {
                60 * 86_400 + (i as i64 * 7919) % (300 * 86_400)
            } else {
                (i as i64 * 7919) % (30 * 86_400)
            };
            Some((NOW - age, format!("inpay_{i:07}"), status, i))
        })
        .collect()
}

/// Invoice payment `i` as Stripe renders it, with `expand`'s objects.
fn payment_json(i: usize, created: i64, status: &str, expand: &[String]) -> Value {
    let has = |p: &str| expand.iter().any(|e| e == p);
    let failing = matches!(synthetic_status(i), "past_due" | "unpaid");
    let (code, attempts, next_retry, reachable) = failure(i);
    let customer_id = format!("cus_{:07}", i / 2);
    let email = reachable.then(|| format!("c{i}@example.com"));
    let intent_id = format!("pi_{i:07}");
    let intent = if has("data.payment.payment_intent") {
        // An expired card is Stripe's `code`, with no `decline_code`.
        let error = match (failing, code) {
            (false, _) => Value::Null,
            (true, "expired_card") => pinned::card_error("expired_card", None),
            (true, code) => pinned::card_error("card_declined", Some(code)),
        };
        pinned::payment_intent(&intent_id, 1000, "eur", error)
    } else {
        json!(intent_id)
    };
    let invoice_id = format!("in_{i:07}");
    let invoice = if expand.iter().any(|e| e.starts_with("data.invoice")) {
        let customer = if has("data.invoice.customer") {
            pinned::customer(&customer_id, email.as_deref(), None)
        } else {
            json!(customer_id)
        };
        pinned::open_invoice(
            &invoice_id,
            customer,
            Some(&format!("sub_{i:07}")),
            1000,
            if failing { u64::from(attempts) } else { 0 },
            if failing {
                next_retry
            } else {
                Some(NOW + 3600)
            },
            email.as_deref(),
        )
    } else {
        json!(invoice_id)
    };
    pinned::invoice_payment(
        &format!("inpay_{i:07}"),
        created,
        status,
        invoice,
        intent,
        1000,
    )
}

/// The stand-in: Stripe's list semantics (newest first, `created` filters,
/// `starting_after`, `limit`), a fixed delay per response, and 429 for any
/// request beyond 100 in the last second. Prints its port, then serves.
async fn stand_in(n: usize) {
    let subscriptions = Listing::new(
        (0..n)
            .map(|i| {
                let (c, id, _) = synthetic(i, n);
                (c, id, i)
            })
            .collect(),
    );
    let payments = synthetic_payments(n);
    let by_status = |status: &str| {
        Listing::new(
            payments
                .iter()
                .filter(|p| p.2 == status)
                .map(|(c, id, _, i)| (*c, id.clone(), *i))
                .collect(),
        )
    };
    let data = Arc::new(Account {
        n,
        subscriptions,
        open_payments: by_status("open"),
        paid_payments: by_status("paid"),
    });
    let window: Arc<Mutex<VecDeque<Instant>>> = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!("{}", listener.local_addr().expect("addr").port());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (data, window) = (Arc::clone(&data), Arc::clone(&window));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let (data, window) = (Arc::clone(&data), Arc::clone(&window));
                async move {
                    let throttled = {
                        let mut w = window.lock().expect("window");
                        let now = Instant::now();
                        while w
                            .front()
                            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
                        {
                            w.pop_front();
                        }
                        if w.len() >= STRIPE_LIMIT {
                            true
                        } else {
                            w.push_back(now);
                            false
                        }
                    };
                    let (status, body) = if throttled {
                        (429, r#"{"error":{"type":"rate_limit_error","message":"Too many requests"}}"#.to_owned())
                    } else {
                        tokio::time::sleep(PAGE_DELAY).await;
                        answer(&data, req.uri().path(), req.uri().query().unwrap_or(""))
                    };
                    let mut resp = Response::new(Full::new(Bytes::from(body)));
                    *resp.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                    if throttled {
                        resp.headers_mut()
                            .insert("stripe-should-retry", "true".parse().expect("header"));
                    }
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(data: &Account, path: &str, query: &str) -> (u16, String) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    // `expand[]`, or `expand[0]`, `expand[1]`… as async-stripe's builders send them.
    let expand: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k.starts_with("expand[") && k.ends_with(']'))
        .map(|(_, v)| v.clone())
        .collect();
    // Stripe's limit: four levels, `data` counted.
    if expand.iter().any(|e| e.split('.').count() > 4) {
        return (
            400,
            r#"{"error":{"type":"invalid_request_error","message":"You cannot expand more than 4 levels of a property"}}"#.into(),
        );
    }
    let (listed, old) = coupons();
    let (list, payments) = match (path, get("status")) {
        ("/v1/subscriptions", _) => (&data.subscriptions, false),
        ("/v1/invoice_payments", Some("open")) => (&data.open_payments, true),
        ("/v1/invoice_payments", Some("paid")) => (&data.paid_payments, true),
        ("/v1/coupons", _) => return (200, pinned::list(path, listed, false).to_string()),
        ("/v1/coupons/co_old", _) => return (200, old.to_string()),
        _ => {
            return (
                404,
                r#"{"error":{"type":"invalid_request_error","message":"the stand-in serves the scanned lists only"}}"#.into(),
            )
        }
    };
    let num = |k: &str| get(k).and_then(|v| v.parse::<i64>().ok());
    // Sorted newest first: the range [gte, lt) is a slice.
    let items = &list.items;
    let lt = num("created[lt]").unwrap_or(i64::MAX);
    let gte = num("created[gte]").unwrap_or(i64::MIN);
    let first = items.partition_point(|s| s.0 >= lt);
    let end = items.partition_point(|s| s.0 >= gte);
    let start = match get("starting_after").and_then(|id| list.index.get(id)) {
        Some(i) => (*i + 1).max(first),
        None => first,
    };
    let limit = num("limit").unwrap_or(10).clamp(1, 100) as usize;
    let stop = (start + limit).min(end.max(start));
    let page: Vec<Value> = items[start.min(stop)..stop]
        .iter()
        .map(|(created, _, i)| {
            if payments {
                let status = get("status").unwrap_or("open");
                payment_json(*i, *created, status, &expand)
            } else {
                subscription_json(*i, data.n, &expand)
            }
        })
        .collect();
    (200, pinned::list(path, page, stop < end).to_string())
}

struct StandIn {
    child: std::process::Child,
    base: String,
}

impl StandIn {
    fn start(n: usize) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .env("BENCH_STANDIN", n.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the stand-in starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the stand-in prints its port");
        Self {
            child,
            base: format!("http://127.0.0.1:{}/", line.trim()),
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// A scanner as `startup::deps` makes it: from a gateway under the
/// process's limits, paced at `rate`.
fn scanner_at(key: &StripeKey, base: &str, rate: u32) -> StripeScanner {
    let gateway = StripeGateway::new(key, base)
        .expect("gateway")
        .with_limits(Limits::new(in_flight_for(rate)));
    StripeScanner::new(gateway, Arc::new(ReadLimiter::new(rate)))
}

/// Scans every subscription with `workers` cursors, as `/billing plans`
/// does, folding into `fold`; returns stats and wall time.
async fn scan(
    scanner: &StripeScanner,
    workers: usize,
    mut fold: impl FnMut(&billing_triage::reports::ScannedSubscription) + Send,
) -> (ScanStats, Duration) {
    let started = Instant::now();
    let stats = scan_subscriptions(scanner, workers, NOW, &mut |_: Progress| {}, &mut fold)
        .await
        .expect("the scan finishes");
    (stats, started.elapsed())
}

/// Whether every at-risk row says what the synthetic account says.
fn churn_exact(churn: &ChurnReport, n: usize) -> bool {
    let at_risk = (0..n)
        .filter(|i| matches!(synthetic_status(*i), "past_due" | "unpaid"))
        .count();
    churn.at_risk.len() == at_risk
        && churn.at_risk.iter().all(|row| {
            let Some(i) = row
                .subscription
                .strip_prefix("sub_")
                .and_then(|d| d.parse::<usize>().ok())
            else {
                return false;
            };
            let (code, attempts, next_retry, reachable) = failure(i);
            row.decline_code.as_deref() == Some(code)
                && row.attempts == attempts
                && row.next_retry == next_retry
                && row.reachable == reachable
        })
}

async fn run() {
    println!("billing-triage reports bench: figures only, nothing is asserted");
    println!("command: cargo bench --bench reports");
    println!(
        "stand-in: {N_SUBSCRIPTIONS} subscriptions, {} ms per page, 429 above {STRIPE_LIMIT}/s; STRIPE_READ_RATE={READ_RATE}",
        PAGE_DELAY.as_millis()
    );
    let key = StripeKey::parse("sk_test_bench").expect("key");
    let expected_live = (0..N_SUBSCRIPTIONS)
        .filter(|i| matches!(synthetic_status(*i), "active" | "past_due"))
        .count() as u64;
    let stand_in = StandIn::start(N_SUBSCRIPTIONS);
    let scanner = scanner_at(&key, &stand_in.base, READ_RATE);
    let workers = READ_RATE as usize;
    let pages = N_SUBSCRIPTIONS.div_ceil(100);
    let ideal = pages as f64 / f64::from(READ_RATE);

    let mut plans = PlansTally::new(NOW - 30 * 86_400);
    let (stats, wall) = scan(&scanner, workers, |s| plans.add(s)).await;
    let report = plans.finish(NOW, 30);
    let in_mrr: u64 = report.totals.iter().map(|t| t.active_subscriptions).sum();
    println!(
        "plans: {:.1} s wall (goal <= {:.1} s = 1.2 x {pages} pages / {READ_RATE}/s), {} requests, {} pages, {} answered 429 (all retried), {} subscriptions scanned (exact: {}), {} in MRR (exact: {})",
        wall.as_secs_f64(),
        1.2 * ideal,
        stats.requests,
        stats.pages,
        stats.throttled,
        report.scanned_subscriptions,
        report.scanned_subscriptions == N_SUBSCRIPTIONS as u64,
        in_mrr,
        in_mrr == expected_live
    );
    let concurrent_per_page = wall.as_secs_f64() / stats.pages.max(1) as f64;
    println!(
        "peak RSS after plans (VmHWM, stand-in excluded): {:.1} MB",
        peak_rss_mb()
    );

    let mut churn = ChurnTally::new(NOW - 30 * 86_400);
    let started = Instant::now();
    let cstats = scan_churn(&scanner, workers, NOW, &mut |_: Progress| {}, &mut churn)
        .await
        .expect("the churn scans finish");
    let cwall = started.elapsed();
    let churn = churn.finish(NOW, 30);
    let cideal = (cstats.pages as f64) / f64::from(READ_RATE);
    println!(
        "churn: {:.1} s wall (goal <= {:.1} s = 1.2 x {} pages / {READ_RATE}/s; {} subscriptions and {} open invoice payments, both lists read at once, no read per row), {} requests, {} answered 429 (all retried); {} canceled, {} pending, {} at risk (decline, attempts, next retry, reachable exact: {})",
        cwall.as_secs_f64(),
        1.2 * cideal,
        cstats.pages,
        cstats.subscriptions,
        cstats.payments,
        cstats.requests,
        cstats.throttled,
        churn.canceled.len(),
        churn.pending_cancellations.len(),
        churn.at_risk.len(),
        churn_exact(&churn, N_SUBSCRIPTIONS)
    );
    println!(
        "peak RSS after churn (its report holds every row it lists): {:.1} MB",
        peak_rss_mb()
    );
    // Above the stand-in's limit on purpose: the 429 path, still exact.
    let fast = scanner_at(&key, &stand_in.base, 130);
    let mut over = PlansTally::new(NOW - 30 * 86_400);
    let (ostats, owall) = scan(&fast, 130, |s| over.add(s)).await;
    let over = over.finish(NOW, 30);
    println!(
        "plans at 130/s (above the stand-in's 100/s): {:.1} s wall, {} requests, {} answered 429 and retried, results identical to the 90/s run: {}",
        owall.as_secs_f64(),
        ostats.requests,
        ostats.throttled,
        over.plans == report.plans && over.totals == report.totals
    );
    println!(
        "peak RSS of the scanning process (VmHWM, stand-in excluded): {:.1} MB (goal <= 30 MB)",
        peak_rss_mb()
    );
    drop(stand_in);

    // One sequential cursor, on a tenth of the account (a full one would
    // take pages x 300 ms, about five minutes).
    let small = StandIn::start(N_SEQUENTIAL);
    let scanner = scanner_at(&key, &small.base, READ_RATE);
    let mut n = 0u64;
    let (sstats, swall) = scan(&scanner, 1, |_| n += 1).await;
    let sequential_per_page = swall.as_secs_f64() / sstats.pages.max(1) as f64;
    println!(
        "one sequential cursor on {N_SEQUENTIAL} subscriptions: {:.1} s for {} pages ({:.0} ms/page, {n} scanned); extrapolated to {pages} pages: {:.0} s, i.e. {:.1}x the concurrent scan",
        swall.as_secs_f64(),
        sstats.pages,
        sequential_per_page * 1000.0,
        sequential_per_page * pages as f64,
        sequential_per_page / concurrent_per_page
    );
}
