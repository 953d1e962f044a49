//! Reading every subscription of the account at the rate the bot allows
//! itself (`STRIPE_READ_RATE`, issue 10 part 6). A Stripe list is a cursor,
//! one page per round trip, so one cursor cannot use the rate: the scan
//! splits the `created` timeline into ranges read concurrently, and a worker
//! whose range is done takes the older half of the widest range still being
//! read (the owner keeps reading the newer half, and drops anything an
//! in-flight page brings from below its new bound, so nothing is counted
//! twice). Pages go into a bounded channel as [`ScannedSubscription`]s; the
//! caller folds them, so memory does not grow with the account.
//!
//! Every request waits for a slot from a [`ReadLimiter`]; an HTTP 429 (or a
//! 5xx Stripe says may be retried) waits and sends the same request again,
//! honouring `Stripe-Should-Retry` and `Retry-After`, with exponential
//! backoff and full jitter. These list calls use a plain hyper client rather
//! than async-stripe's, because retrying needs the response headers. The
//! pacing is one value shared by every scan of the process. On top of it,
//! the scans go through the gateway's process-wide [`Limits`] (built
//! together in `startup::deps`): a request holds one of the process's
//! in-flight slots for its round trip, and a 429 met by a scan pauses the
//! lookups as well, and a lookup's 429 pauses the scans. Lookups are not
//! paced by the rate: they have an operator waiting.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::retry::Limits;
use super::StripeError;
use crate::domain::{Currency, Interval, StripeKey};
use crate::reports::{
    Cancellation, CouponDuration, Discount, FailedPayment, ScannedItem, ScannedSubscription,
};

/// Stripe's largest page.
const PAGE_SIZE: u32 = 100;
/// A range is split only when about this many pages are left in it.
const MIN_SPLIT_PAGES: u32 = 4;
/// How many times one request is retried after a 429 or a retryable failure.
const MAX_RETRIES: u32 = 8;
/// First backoff; doubled per attempt up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// No Stripe subscription is older than this (2011-01-01).
const STRIPE_EPOCH: i64 = 1_293_840_000;

/// Paces requests to at most `rate` per second, evenly spaced, so a scan
/// never bursts above the rate. Shared (`Arc`) by every scan in the process.
#[derive(Debug)]
pub struct ReadLimiter {
    spacing: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl ReadLimiter {
    /// `rate` requests per second (at least 1).
    pub fn new(rate: u32) -> Self {
        Self {
            spacing: Duration::from_secs(1) / rate.max(1),
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    /// Requests per second allowed.
    pub fn rate(&self) -> u32 {
        (Duration::from_secs(1).as_nanos() / self.spacing.as_nanos().max(1)) as u32
    }

    /// Waits for the next free slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + self.spacing;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// Requests in flight the process allows when scans run at `rate` per
/// second: a second's worth of scan pages (so pages up to a second long do
/// not hold a scan under its rate) plus the gateway's own limit, so a scan
/// at full rate leaves the lookups their slots.
pub fn in_flight_for(rate: u32) -> usize {
    (rate as usize).saturating_add(super::retry::PROCESS_IN_FLIGHT)
}

/// The list-scanning client: base URL, key, and the shared limiter.
#[derive(Clone)]
pub struct StripeScanner {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
    base: String,
    auth: String,
    limiter: Arc<ReadLimiter>,
    /// The process-wide in-flight slots and 429 pause.
    limits: Limits,
}

impl std::fmt::Debug for StripeScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeScanner")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What a scan did, for the report's footer and the bench.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    pub requests: u64,
    /// HTTP 429 answers met (each was waited out and retried).
    pub throttled: u64,
    pub pages: u64,
    pub subscriptions: u64,
}

/// One page's worth of subscriptions, with how far the scan has come.
#[derive(Debug)]
pub struct ScanPage {
    pub subscriptions: Vec<ScannedSubscription>,
    /// Subscriptions sent so far, this page included.
    pub scanned: u64,
    /// An estimate of the account's total, from how much of the timeline
    /// has been read; `None` before the first page.
    pub estimated_total: Option<u64>,
}

/// Which subscriptions a scan reads (Stripe's `status` filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStatus {
    /// Every status, canceled included.
    All,
}

impl StripeScanner {
    /// # Errors
    /// [`StripeError::Config`] when the TLS roots cannot be loaded.
    pub fn new(
        key: &StripeKey,
        api_base: &str,
        limiter: Arc<ReadLimiter>,
    ) -> Result<Self, StripeError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| StripeError::Config {
                detail: format!("TLS roots: {e}"),
            })?
            .https_or_http()
            .enable_http1()
            .build();
        let base = format!("{}/", api_base.trim().trim_end_matches('/'));
        Ok(Self {
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(256)
                .build(https),
            base,
            auth: format!("Bearer {}", key.expose()),
            limits: Limits::new(in_flight_for(limiter.rate())),
            limiter,
        })
    }

    /// The same scanner under the process's `limits`, shared with the
    /// gateway ([`super::StripeGateway::with_limits`]).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The shared limiter.
    pub fn limiter(&self) -> &ReadLimiter {
        &self.limiter
    }

    /// Reads every subscription (`status`) into `pages`, with `workers`
    /// cursors at most, and returns what it took. Stops early, without
    /// error, when the receiver is dropped.
    ///
    /// # Errors
    /// The first request that failed for good (after its retries).
    pub async fn scan_subscriptions(
        &self,
        status: ScanStatus,
        workers: usize,
        now: i64,
        pages: mpsc::Sender<ScanPage>,
    ) -> Result<ScanStats, StripeError> {
        let status = match status {
            ScanStatus::All => "all",
        };
        let stats = Arc::new(Mutex::new(ScanStats::default()));
        let start = self.oldest_bound(status, now, &stats).await?;
        let end = now + 1;
        let workers = workers.max(1);
        let plan = Arc::new(Mutex::new(Timeline::new(start, end, workers)));
        let runs = (0..workers).map(|_| {
            let (plan, stats, pages) = (Arc::clone(&plan), Arc::clone(&stats), pages.clone());
            async move { self.worker(status, plan, stats, pages).await }
        });
        let results = futures::future::join_all(runs).await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        let stats = *stats.lock().expect("scan stats lock is never poisoned");
        tracing::info!(
            requests = stats.requests,
            throttled = stats.throttled,
            pages = stats.pages,
            subscriptions = stats.subscriptions,
            "subscription scan finished"
        );
        Ok(stats)
    }

    /// The start of the timeline: concurrent one-item probes "anything older
    /// than now − 2^k hours?" find the oldest subscription within a factor
    /// of two in one round trip.
    async fn oldest_bound(
        &self,
        status: &str,
        now: i64,
        stats: &Mutex<ScanStats>,
    ) -> Result<i64, StripeError> {
        let mut cutoffs = Vec::new();
        let mut age = 3600i64;
        while now - age > STRIPE_EPOCH {
            cutoffs.push(now - age);
            age *= 2;
        }
        let probes = cutoffs.iter().map(|cutoff| {
            let lt = cutoff.to_string();
            async move {
                let page = self
                    .list(
                        &[
                            ("status", status),
                            ("limit", "1"),
                            ("created[lt]", lt.as_str()),
                        ],
                        stats,
                    )
                    .await?;
                Ok::<bool, StripeError>(!page.data.is_empty())
            }
        });
        let found = futures::future::try_join_all(probes).await?;
        // The oldest cutoff with something older, doubled again.
        Ok(match found.iter().rposition(|f| *f) {
            None => cutoffs.first().map_or(STRIPE_EPOCH, |c| *c),
            Some(i) => cutoffs.get(i + 1).copied().unwrap_or(STRIPE_EPOCH),
        })
    }

    async fn worker(
        &self,
        status: &str,
        plan: Arc<Mutex<Timeline>>,
        stats: Arc<Mutex<ScanStats>>,
        pages: mpsc::Sender<ScanPage>,
    ) -> Result<(), StripeError> {
        let lock = || plan.lock().expect("scan plan lock is never poisoned");
        loop {
            // Claimed in its own statement: a guard in a `while let`
            // condition would be held through the whole body.
            let claimed = lock().claim();
            let Some(range) = claimed else {
                break;
            };
            loop {
                let (lo, hi, cursor) = lock().request_of(range);
                let (lo_s, hi_s) = (lo.to_string(), hi.to_string());
                let limit = PAGE_SIZE.to_string();
                let mut query = vec![
                    ("status", status),
                    ("limit", limit.as_str()),
                    ("created[gte]", lo_s.as_str()),
                    ("created[lt]", hi_s.as_str()),
                ];
                if let Some(c) = cursor.as_deref() {
                    query.push(("starting_after", c));
                }
                let page = self.list(&query, &stats).await?;
                let has_more = page.has_more;
                let raw = page.data;
                let (kept, scanned, estimate) = {
                    let mut plan = lock();
                    let lo_now = plan.ranges[range].lo;
                    let last = raw.last().map(|s| (s.id.clone(), s.created));
                    let below = raw.iter().any(|s| s.created < lo_now);
                    let kept: Vec<ScannedSubscription> = raw
                        .into_iter()
                        .filter(|s| s.created >= lo_now && s.created < hi)
                        .filter_map(|s| s.into_scanned())
                        .collect();
                    plan.scanned += kept.len() as u64;
                    plan.ranges[range].read += kept.len() as u64;
                    match last {
                        Some((id, created)) if has_more && !below => {
                            plan.advance(range, id, created)
                        }
                        _ => plan.finish(range),
                    }
                    (kept, plan.scanned, plan.estimate())
                };
                let done = lock().ranges[range].done;
                {
                    let mut s = stats.lock().expect("scan stats lock is never poisoned");
                    s.pages += 1;
                    s.subscriptions += kept.len() as u64;
                }
                let page = ScanPage {
                    subscriptions: kept,
                    scanned,
                    estimated_total: estimate,
                };
                if pages.send(page).await.is_err() {
                    return Ok(());
                }
                if done {
                    break;
                }
            }
        }
        Ok(())
    }

    /// One GET of `/v1/subscriptions`, paced and retried.
    async fn list(
        &self,
        query: &[(&str, &str)],
        stats: &Mutex<ScanStats>,
    ) -> Result<Page, StripeError> {
        self.get("v1/subscriptions", query, "the subscription list", stats)
            .await
    }

    /// One paced, retried GET of `path`, read into `T`. `what` names the
    /// object for errors (an id, never an email).
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
        stats: &Mutex<ScanStats>,
    ) -> Result<T, StripeError> {
        let encoded = serde_urlencoded::to_string(query).map_err(|e| StripeError::Config {
            detail: format!("a request could not be encoded: {e}"),
        })?;
        let uri = format!("{}{path}?{encoded}", self.base);
        let what = what.to_owned();
        let mut attempt = 0u32;
        loop {
            self.limits.wait_out_pause().await;
            self.limiter.acquire().await;
            // The process's slot is taken after the pacing and held for
            // the round trip only: a worker waiting for its turn at the
            // rate must not keep a slot a lookup could use.
            let permit = self.limits.acquire().await;
            stats
                .lock()
                .expect("scan stats lock is never poisoned")
                .requests += 1;
            let outcome = self.get_once(&uri, &what).await;
            drop(permit);
            let retry_after = match outcome {
                Ok(Answer::Body(body)) => {
                    return serde_json::from_slice::<T>(&body).map_err(|e| {
                        StripeError::Unreadable {
                            what,
                            detail: "unexpected shape".into(),
                            source: Some(e),
                        }
                    })
                }
                Ok(Answer::Retry {
                    status,
                    retry_after,
                    should_retry,
                    message,
                }) => {
                    if status == 429 {
                        stats
                            .lock()
                            .expect("scan stats lock is never poisoned")
                            .throttled += 1;
                    }
                    // Stripe's own verdict wins: "false" means the same
                    // request would fail again.
                    if should_retry == Some(false) || attempt >= MAX_RETRIES {
                        return Err(StripeError::Rejected {
                            what,
                            status,
                            message,
                            source: ::stripe::StripeError::ClientError(format!(
                                "HTTP {status} after {} attempts",
                                attempt + 1
                            )),
                        });
                    }
                    retry_after
                }
                Ok(Answer::Final(e)) => return Err(e),
                Err(e) if attempt < MAX_RETRIES => {
                    tracing::warn!(attempt, error = %e, "subscription page failed, retrying");
                    None
                }
                Err(e) => return Err(e),
            };
            let wait = backoff(attempt, retry_after, fastrand::f64());
            // Stripe's limit is per account: hold back every request of the
            // process, lookups too, until this one retries.
            self.limits.pause(wait);
            tracing::debug!(
                attempt,
                wait_ms = wait.as_millis() as u64,
                "waiting to retry"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn get_once(&self, uri: &str, what: &str) -> Result<Answer, StripeError> {
        let request = hyper::Request::get(uri)
            .header("authorization", &self.auth)
            .header("accept", "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|_| StripeError::Config {
                detail: "STRIPE_API_BASE does not make a valid request URL".into(),
            })?;
        let sent = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((parts, body))
        })
        .await;
        let (parts, body) = match sent {
            Err(_) => {
                return Err(StripeError::Unreachable {
                    detail: "no answer within 30 s".into(),
                    source: ::stripe::StripeError::Timeout,
                })
            }
            Ok(Err(e)) => {
                return Err(StripeError::Unreachable {
                    detail: super::redact(&e.to_string()),
                    source: ::stripe::StripeError::ClientError(super::redact(&e.to_string())),
                })
            }
            Ok(Ok(answer)) => answer,
        };
        let status = parts.status.as_u16();
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if status == 200 {
            return Ok(Answer::Body(body));
        }
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .and_then(|b| b.error.message)
            .map(|m| super::redact(&m))
            .unwrap_or_else(|| "no message".into());
        let should_retry = header("stripe-should-retry").map(|v| v == "true");
        let retryable = status == 429 || status >= 500 || should_retry == Some(true);
        if retryable {
            return Ok(Answer::Retry {
                status,
                retry_after: header("retry-after")
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| Duration::from_secs_f64(s.min(60.0))),
                should_retry,
                message,
            });
        }
        let source = ::stripe::StripeError::ClientError(format!("HTTP {status}"));
        Ok(Answer::Final(match status {
            401 | 403 => StripeError::KeyRefused { status, source },
            404 => StripeError::NotFound {
                what: what.to_owned(),
                source,
            },
            _ => StripeError::Rejected {
                what: what.to_owned(),
                status,
                message,
                source,
            },
        }))
    }
}

impl StripeScanner {
    /// What the latest failed payment of an at-risk subscription says: the
    /// decline code (the payment intent's `last_payment_error.decline_code`,
    /// else the charge's `failure_code`), the invoice's attempts and next
    /// retry, and whether the customer has an email to be reached at. Each
    /// read is paced and retried like the scan's; a missing object is an
    /// unknown field, not an error.
    ///
    /// # Errors
    /// A request that failed for good.
    pub async fn failed_payment(
        &self,
        customer: &str,
        latest_invoice: Option<&str>,
        stats: &Mutex<ScanStats>,
    ) -> Result<FailedPayment, StripeError> {
        let mut found = FailedPayment::default();
        if let Some(invoice) = latest_invoice {
            let path = format!("v1/invoices/{invoice}");
            if let Some(inv) = soft_404(self.get::<RawInvoice>(&path, &[], invoice, stats).await)? {
                found.attempts = inv.attempt_count.unwrap_or(0);
                found.next_retry = inv.next_payment_attempt;
            }
        }
        let charges: Option<ChargeList> = soft_404(
            self.get(
                "v1/charges",
                &[("customer", customer), ("limit", "10")],
                customer,
                stats,
            )
            .await,
        )?;
        let failed = charges.and_then(|l| {
            l.data
                .into_iter()
                .find(|c| c.status.as_deref() == Some("failed"))
        });
        if let Some(charge) = failed {
            found.decline_code = charge.failure_code.clone();
            if let Some(pi) = charge.payment_intent.as_ref().and_then(id_of) {
                let path = format!("v1/payment_intents/{pi}");
                let intent: Option<RawIntent> = soft_404(self.get(&path, &[], &pi, stats).await)?;
                if let Some(code) = intent
                    .and_then(|i| i.last_payment_error)
                    .and_then(|e| e.decline_code.or(e.code))
                {
                    found.decline_code = Some(code);
                }
            }
        }
        // Reachability decides only whether an expired card is recoverable,
        // so the customer is read only then.
        if found.decline_code.as_deref() == Some("expired_card") {
            let path = format!("v1/customers/{customer}");
            let person: Option<RawCustomer> =
                soft_404(self.get(&path, &[], customer, stats).await)?;
            found.reachable = person
                .and_then(|c| c.email)
                .is_some_and(|e| e.contains('@'));
        }
        Ok(found)
    }
}

/// "Not found" as `None`: an object deleted since the scan is unknown data.
fn soft_404<T>(result: Result<T, StripeError>) -> Result<Option<T>, StripeError> {
    match result {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// How long to wait before retry number `attempt + 1`: Stripe's
/// `Retry-After` when it sent one, else exponential backoff with full
/// jitter (`jitter` in 0..1), so throttled workers do not return together.
pub fn backoff(attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF);
    let jittered = ceiling.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0);
    match retry_after {
        Some(after) => after.max(jittered / 4),
        None => jittered,
    }
}

enum Answer {
    Body(Bytes),
    Retry {
        status: u16,
        retry_after: Option<Duration>,
        should_retry: Option<bool>,
        message: String,
    },
    Final(StripeError),
}

/// The scan's plan of the `created` timeline: ranges, each read newest
/// first by one worker at a time.
#[derive(Debug)]
struct Timeline {
    ranges: Vec<Range>,
    start: i64,
    end: i64,
    scanned: u64,
}

#[derive(Debug)]
struct Range {
    /// Inclusive lower bound; raised when a thief takes the older half.
    lo: i64,
    /// Exclusive upper bound.
    hi: i64,
    /// `created` of the last subscription read (the cursor's position).
    pos: i64,
    /// Subscriptions read from this range, to estimate what is left.
    read: u64,
    cursor: Option<String>,
    claimed: bool,
    done: bool,
}

impl Timeline {
    /// `[start, end)` cut into `n` equal ranges.
    fn new(start: i64, end: i64, n: usize) -> Self {
        let span = (end - start).max(1);
        let n = (n as i64).clamp(1, span);
        let ranges = (0..n)
            .map(|i| {
                let lo = start + span * i / n;
                let hi = start + span * (i + 1) / n;
                Range {
                    lo,
                    hi,
                    pos: hi,
                    read: 0,
                    cursor: None,
                    claimed: false,
                    done: false,
                }
            })
            .collect();
        Self {
            ranges,
            start,
            end,
            scanned: 0,
        }
    }

    /// A range for an idle worker: an unclaimed one, or else the older half
    /// of the widest range still being read. `None` when nothing is left.
    fn claim(&mut self) -> Option<usize> {
        if let Some(i) = self.ranges.iter().position(|r| !r.claimed && !r.done) {
            self.ranges[i].claimed = true;
            return Some(i);
        }
        // What is left in a range, estimated from the density read so far
        // in it (else in the whole scan): a split only pays when several
        // pages are left, since every range ends on a partial page.
        let covered: i64 = self.ranges.iter().map(|r| r.hi - r.pos).sum();
        let global = self.scanned as f64 / covered.max(1) as f64;
        let (victim, width, left) = self
            .ranges
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.done)
            .map(|(i, r)| {
                let seen = r.hi - r.pos;
                let density = if r.read > 0 && seen > 0 {
                    r.read as f64 / seen as f64
                } else {
                    global
                };
                (i, r.pos - r.lo, density * (r.pos - r.lo) as f64)
            })
            .max_by(|a, b| a.2.total_cmp(&b.2).then(a.1.cmp(&b.1)))?;
        let worth = self.scanned == 0 || left >= f64::from(MIN_SPLIT_PAGES * PAGE_SIZE);
        if width < 2 || !worth {
            return None;
        }
        let lo = self.ranges[victim].lo;
        let mid = lo + width / 2;
        self.ranges[victim].lo = mid;
        self.ranges.push(Range {
            lo,
            hi: mid,
            pos: mid,
            read: 0,
            cursor: None,
            claimed: true,
            done: false,
        });
        Some(self.ranges.len() - 1)
    }

    fn request_of(&self, i: usize) -> (i64, i64, Option<String>) {
        let r = &self.ranges[i];
        (r.lo, r.hi, r.cursor.clone())
    }

    fn advance(&mut self, i: usize, cursor: String, created: i64) {
        let r = &mut self.ranges[i];
        r.cursor = Some(cursor);
        r.pos = created.clamp(r.lo, r.hi);
    }

    fn finish(&mut self, i: usize) {
        let r = &mut self.ranges[i];
        r.done = true;
        r.pos = r.lo;
    }

    /// Subscriptions read so far, scaled by the share of the timeline read.
    fn estimate(&self) -> Option<u64> {
        let covered: i64 = self.ranges.iter().map(|r| r.hi - r.pos).sum();
        estimate_total(self.scanned, covered, self.end - self.start)
    }
}

/// `scanned` ÷ (covered ÷ span), never less than `scanned`.
pub fn estimate_total(scanned: u64, covered_secs: i64, span_secs: i64) -> Option<u64> {
    if covered_secs <= 0 || span_secs <= 0 {
        return None;
    }
    let est = (scanned as f64) * (span_secs as f64) / (covered_secs.min(span_secs) as f64);
    Some((est.round() as u64).max(scanned))
}

// ---- lenient reading of the list (fields as in https://docs.stripe.com/api/subscriptions/object)

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    data: Vec<RawSubscription>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Debug, Deserialize)]
struct RawInvoice {
    attempt_count: Option<u32>,
    next_payment_attempt: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct ChargeList {
    #[serde(default)]
    data: Vec<RawCharge>,
}

#[derive(Debug, Deserialize)]
struct RawCharge {
    status: Option<String>,
    failure_code: Option<String>,
    payment_intent: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct RawIntent {
    last_payment_error: Option<RawPaymentError>,
}

#[derive(Debug, Deserialize)]
struct RawPaymentError {
    decline_code: Option<String>,
    code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawCustomer {
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawSubscription {
    id: String,
    customer: serde_json::Value,
    status: String,
    #[serde(default)]
    created: i64,
    canceled_at: Option<i64>,
    ended_at: Option<i64>,
    cancel_at_period_end: Option<bool>,
    cancel_at: Option<i64>,
    current_period_end: Option<i64>,
    cancellation_details: Option<RawCancellation>,
    latest_invoice: Option<serde_json::Value>,
    items: Option<RawItems>,
    plan: Option<RawPrice>,
    quantity: Option<u64>,
    discount: Option<RawDiscount>,
    #[serde(default)]
    discounts: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct RawCancellation {
    reason: Option<String>,
    feedback: Option<String>,
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawItems {
    #[serde(default)]
    data: Vec<RawItem>,
}

#[derive(Debug, Deserialize)]
struct RawItem {
    price: Option<RawPrice>,
    plan: Option<RawPrice>,
    quantity: Option<u64>,
    current_period_end: Option<i64>,
}

/// A price, or a plan on older API versions (`amount`, and `interval` at
/// the top instead of under `recurring`).
#[derive(Debug, Deserialize)]
struct RawPrice {
    id: String,
    product: Option<serde_json::Value>,
    nickname: Option<String>,
    unit_amount: Option<i64>,
    amount: Option<i64>,
    currency: String,
    recurring: Option<RawRecurring>,
    interval: Option<Interval>,
    interval_count: Option<u32>,
    usage_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawRecurring {
    interval: Interval,
    interval_count: Option<u32>,
    usage_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawDiscount {
    coupon: Option<RawCoupon>,
}

#[derive(Debug, Deserialize)]
struct RawCoupon {
    duration: Option<String>,
    percent_off: Option<f64>,
    amount_off: Option<i64>,
    currency: Option<String>,
}

/// An id, or the expanded object's id.
fn id_of(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("id").and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    }
}

impl RawSubscription {
    /// The report's record; `None` (logged) for a subscription whose items
    /// cannot be read, so one odd object does not sink a whole scan.
    fn into_scanned(self) -> Option<ScannedSubscription> {
        let id = self.id.clone();
        let sub_quantity = self.quantity;
        let period_from_items = self
            .items
            .as_ref()
            .and_then(|l| l.data.iter().filter_map(|i| i.current_period_end).max());
        let mut raw_items: Vec<(RawPrice, Option<u64>)> = self
            .items
            .map(|l| l.data)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|i| i.price.or(i.plan).map(|p| (p, i.quantity)))
            .collect();
        if raw_items.is_empty() {
            if let Some(plan) = self.plan {
                raw_items.push((plan, sub_quantity));
            }
        }
        let items: Option<Vec<ScannedItem>> = raw_items
            .into_iter()
            .map(|(p, q)| p.into_item(q.or(sub_quantity).unwrap_or(1)))
            .collect();
        let Some(items) = items else {
            tracing::warn!(subscription = %id, "subscription item unreadable; left out of the report");
            return None;
        };
        let mut discounts: Vec<Discount> = self
            .discount
            .and_then(|d| d.coupon)
            .and_then(RawCoupon::into_discount)
            .into_iter()
            .collect();
        if discounts.is_empty() {
            // Newer API versions: `discounts`, objects only when expanded.
            discounts = self
                .discounts
                .into_iter()
                .filter_map(|v| serde_json::from_value::<RawDiscount>(v).ok())
                .filter_map(|d| d.coupon.and_then(RawCoupon::into_discount))
                .collect();
        }
        Some(ScannedSubscription {
            id: self.id,
            customer: id_of(&self.customer).unwrap_or_default(),
            status: self.status,
            created: self.created,
            canceled_at: self.canceled_at,
            ended_at: self.ended_at,
            cancel_at_period_end: self.cancel_at_period_end.unwrap_or(false),
            cancel_at: self.cancel_at,
            current_period_end: self.current_period_end.or(period_from_items),
            cancellation: self.cancellation_details.map(|c| Cancellation {
                reason: c.reason,
                feedback: c.feedback,
                comment: c.comment,
            }),
            latest_invoice: self.latest_invoice.as_ref().and_then(id_of),
            items,
            discounts,
        })
    }
}

impl RawPrice {
    fn into_item(self, quantity: u64) -> Option<ScannedItem> {
        let (interval, interval_count, usage) = match self.recurring {
            Some(r) => (r.interval, r.interval_count, r.usage_type),
            None => (self.interval?, self.interval_count, self.usage_type),
        };
        Some(ScannedItem {
            price: self.id,
            product: self.product.as_ref().and_then(id_of),
            nickname: self.nickname,
            unit_amount: self.unit_amount.or(self.amount),
            currency: Currency::parse(&self.currency).ok()?,
            interval,
            interval_count: interval_count.unwrap_or(1).max(1),
            quantity,
            metered: usage.as_deref() == Some("metered"),
        })
    }
}

impl RawCoupon {
    fn into_discount(self) -> Option<Discount> {
        let duration = match self.duration.as_deref()? {
            "forever" => CouponDuration::Forever,
            "once" => CouponDuration::Once,
            "repeating" => CouponDuration::Repeating,
            _ => return None,
        };
        Some(Discount {
            duration,
            percent_off_bp: self
                .percent_off
                .filter(|p| p.is_finite() && *p >= 0.0)
                .map(|p| (p * 100.0).round().min(10_000.0) as u32),
            amount_off: self.amount_off,
            currency: self
                .currency
                .as_deref()
                .and_then(|c| Currency::parse(c).ok()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scan that meets a 429 pauses the process's shared limits, so the
    /// gateway's lookups (which share them) hold back too.
    #[tokio::test]
    async fn a_throttled_scan_pauses_the_lookups_sharing_its_limits() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (seen_tx, mut seen) = mpsc::channel(4);
        let server = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 60\r\n\
                          content-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
                    )
                    .await;
                let _ = seen_tx.send(()).await;
            }
        });
        let limits = Limits::new(4);
        let lookup = limits.for_lookup();
        assert!(!lookup.is_paused());
        let key = StripeKey::parse("sk_test_abcdef123456").expect("key");
        let scanner = StripeScanner::new(&key, &base, Arc::new(ReadLimiter::new(10)))
            .expect("scanner")
            .with_limits(limits);
        let stats = Mutex::new(ScanStats::default());
        let scan = tokio::spawn(async move {
            let _ = scanner
                .get::<serde_json::Value>("v1/subscriptions", &[], "subscriptions", &stats)
                .await;
        });
        seen.recv().await.expect("the scan sent its request");
        // The pause is set when the 429 is read; give the scan its turn.
        // (Bounded: without the pause the scan would sleep out its backoff.)
        for _ in 0..100_000 {
            if lookup.is_paused() || scan.is_finished() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(lookup.is_paused(), "the lookup's limits were not paused");
        scan.abort();
        server.abort();
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        assert!(backoff(0, None, 1.0) <= Duration::from_millis(250));
        assert!(backoff(0, None, 0.0) >= Duration::from_millis(125));
        assert_eq!(backoff(20, None, 1.0), MAX_BACKOFF);
        assert_eq!(
            backoff(0, Some(Duration::from_secs(3)), 0.5),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn stealing_splits_the_widest_range_until_nothing_is_left() {
        let mut t = Timeline::new(0, 100, 2);
        assert_eq!(t.claim(), Some(0));
        assert_eq!(t.claim(), Some(1));
        // Range 1 is [50, 100); its cursor has reached 90.
        t.advance(1, "sub_x".into(), 90);
        t.finish(0);
        let thief = t.claim().expect("range 1 still has [50, 90) to read");
        assert_eq!((t.ranges[thief].lo, t.ranges[thief].hi), (50, 70));
        assert_eq!(t.ranges[1].lo, 70);
        t.finish(thief);
        t.finish(1);
        assert_eq!(t.claim(), None);
    }

    #[test]
    fn estimate_scales_by_the_share_of_the_timeline_read() {
        assert_eq!(estimate_total(120, 10, 100), Some(1200));
        assert_eq!(estimate_total(5, 0, 100), None);
        assert_eq!(estimate_total(50, 100, 100), Some(50));
    }

    #[test]
    fn a_plan_on_an_old_api_version_reads_as_one_item() {
        let raw: RawSubscription = serde_json::from_value(serde_json::json!({
            "id": "sub_1", "customer": "cus_1", "status": "active", "created": 5,
            "plan": {"id": "plan_y", "amount": 12000, "currency": "eur", "interval": "year",
                     "interval_count": 1, "usage_type": "licensed", "product": "prod_1"},
            "quantity": 3,
            "discount": {"coupon": {"duration": "forever", "percent_off": 12.5}}
        }))
        .expect("old shape");
        let s = raw.into_scanned().expect("readable");
        assert_eq!(s.items[0].quantity, 3);
        assert_eq!(s.items[0].unit_amount, Some(12000));
        assert_eq!(s.items[0].product.as_deref(), Some("prod_1"));
        assert_eq!(s.discounts[0].percent_off_bp, Some(1250));
    }
}
