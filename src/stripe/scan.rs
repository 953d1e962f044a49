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
    Cancellation, CouponDuration, Discount, FailedPayment, OpenPayment, ScannedItem,
    ScannedSubscription,
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
    /// Open invoice payments read (the churn report's second list).
    pub payments: u64,
}

impl ScanStats {
    /// The cost of two scans together.
    #[must_use]
    pub fn plus(self, other: Self) -> Self {
        Self {
            requests: self.requests + other.requests,
            throttled: self.throttled + other.throttled,
            pages: self.pages + other.pages,
            subscriptions: self.subscriptions + other.subscriptions,
            payments: self.payments + other.payments,
        }
    }
}

/// One page's worth of a list, with how far the scan has come.
#[derive(Debug)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    /// Items sent so far, this page included.
    pub scanned: u64,
    /// An estimate of the list's total, from how much of the timeline
    /// has been read; `None` before the first page.
    pub estimated_total: Option<u64>,
}

/// A page of the subscription scan.
pub type ScanPage = ListPage<ScannedSubscription>;

/// The API version every scan request names: the one async-stripe (and so
/// the gateway) pins, so that the shapes read here do not follow the
/// account's default version.
fn api_version() -> &'static str {
    stripe_shared::version::VERSION.as_str()
}

/// What the subscription scan expands: subscription discounts are ids
/// unless expanded, and a discount's coupon (`source.coupon`) too; the
/// forever coupons reduce MRR. Four levels, Stripe's deepest.
const SUBSCRIPTION_EXPAND: &[&str] = &["data.discounts.source.coupon"];

/// What the open-payment scan expands: the payment intent (its
/// `last_payment_error` holds the decline code), a charge made without one
/// (its `failure_code`), and the invoice with its customer (attempts, next
/// retry, the subscription, an email to reach). At most three levels.
const OPEN_PAYMENT_EXPAND: &[&str] = &[
    "data.payment.payment_intent",
    "data.payment.charge",
    "data.invoice.customer",
];

/// One Stripe list a scan reads: where, with which fixed filters and
/// expansions, and what one item of it becomes.
trait Listed: serde::de::DeserializeOwned + Send {
    type Out: Send;
    const PATH: &'static str;
    /// Names the list in errors.
    const WHAT: &'static str;
    fn id(&self) -> &str;
    fn created(&self) -> i64;
    /// The report's record; `None` (logged) when it cannot be read.
    fn into_out(self) -> Option<Self::Out>;
    /// Counts `n` records read into `stats`.
    fn count(stats: &mut ScanStats, n: u64);
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
        let mut filters = vec![("status", status)];
        filters.extend(SUBSCRIPTION_EXPAND.iter().map(|e| ("expand[]", *e)));
        self.scan::<RawSubscription>(&filters, workers, now, pages)
            .await
    }

    /// Reads every open invoice payment (an invoice's payment not yet made;
    /// the failing ones of past_due and unpaid subscriptions among them),
    /// with its payment intent, invoice and customer expanded, so the churn
    /// report needs no read per at-risk subscription. Same pacing, cursors
    /// and errors as [`Self::scan_subscriptions`]. The list's `created`
    /// filter, which the ranges need, exists from API version
    /// 2025-11-17.clover on: one more reason every request names the
    /// pinned version.
    ///
    /// # Errors
    /// The first request that failed for good (after its retries).
    pub async fn scan_open_payments(
        &self,
        workers: usize,
        now: i64,
        pages: mpsc::Sender<ListPage<OpenPayment>>,
    ) -> Result<ScanStats, StripeError> {
        let mut filters = vec![("status", "open")];
        filters.extend(OPEN_PAYMENT_EXPAND.iter().map(|e| ("expand[]", *e)));
        self.scan::<RawInvoicePayment>(&filters, workers, now, pages)
            .await
    }

    /// Reads the whole list `L` (with `filters`) into `pages`.
    async fn scan<L: Listed>(
        &self,
        filters: &[(&str, &str)],
        workers: usize,
        now: i64,
        pages: mpsc::Sender<ListPage<L::Out>>,
    ) -> Result<ScanStats, StripeError> {
        let stats = Arc::new(Mutex::new(ScanStats::default()));
        let start = self.oldest_bound::<L>(filters, now, &stats).await?;
        let end = now + 1;
        let workers = workers.max(1);
        let plan = Arc::new(Mutex::new(Timeline::new(start, end, workers)));
        let runs = (0..workers).map(|_| {
            let (plan, stats, pages) = (Arc::clone(&plan), Arc::clone(&stats), pages.clone());
            async move { self.worker::<L>(filters, plan, stats, pages).await }
        });
        let results = futures::future::join_all(runs).await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        let stats = *stats.lock().expect("scan stats lock is never poisoned");
        tracing::info!(
            list = L::WHAT,
            requests = stats.requests,
            throttled = stats.throttled,
            pages = stats.pages,
            subscriptions = stats.subscriptions,
            payments = stats.payments,
            "list scan finished"
        );
        Ok(stats)
    }

    /// The start of the timeline: concurrent one-item probes "anything older
    /// than now − 2^k hours?" find the oldest item within a factor of two
    /// in one round trip.
    async fn oldest_bound<L: Listed>(
        &self,
        filters: &[(&str, &str)],
        now: i64,
        stats: &Mutex<ScanStats>,
    ) -> Result<i64, StripeError> {
        let mut cutoffs = Vec::new();
        let mut age = 3600i64;
        while now - age > STRIPE_EPOCH {
            cutoffs.push(now - age);
            age *= 2;
        }
        // The probes need the filters, not the expansions.
        let filters: Vec<(&str, &str)> = filters
            .iter()
            .filter(|(k, _)| *k != "expand[]")
            .copied()
            .collect();
        let probes = cutoffs.iter().map(|cutoff| {
            let lt = cutoff.to_string();
            let filters = &filters;
            async move {
                let mut query = filters.clone();
                query.extend([("limit", "1"), ("created[lt]", lt.as_str())]);
                let page: Page<serde::de::IgnoredAny> =
                    self.get(L::PATH, &query, L::WHAT, stats).await?;
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

    async fn worker<L: Listed>(
        &self,
        filters: &[(&str, &str)],
        plan: Arc<Mutex<Timeline>>,
        stats: Arc<Mutex<ScanStats>>,
        pages: mpsc::Sender<ListPage<L::Out>>,
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
                let mut query = filters.to_vec();
                query.extend([
                    ("limit", limit.as_str()),
                    ("created[gte]", lo_s.as_str()),
                    ("created[lt]", hi_s.as_str()),
                ]);
                if let Some(c) = cursor.as_deref() {
                    query.push(("starting_after", c));
                }
                let page: Page<L> = self.get(L::PATH, &query, L::WHAT, &stats).await?;
                let has_more = page.has_more;
                let raw = page.data;
                let (kept, scanned, estimate) = {
                    let mut plan = lock();
                    let lo_now = plan.ranges[range].lo;
                    let last = raw.last().map(|s| (s.id().to_owned(), s.created()));
                    let below = raw.iter().any(|s| s.created() < lo_now);
                    let kept: Vec<L::Out> = raw
                        .into_iter()
                        .filter(|s| s.created() >= lo_now && s.created() < hi)
                        .filter_map(Listed::into_out)
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
                    L::count(&mut s, kept.len() as u64);
                }
                let page = ListPage {
                    items: kept,
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
            .header("stripe-version", api_version())
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
struct Page<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    has_more: bool,
}

/// An invoice payment (`GET /v1/invoice_payments`), fields as in
/// https://docs.stripe.com/api/invoice-payment/object.
#[derive(Debug, Deserialize)]
struct RawInvoicePayment {
    id: String,
    #[serde(default)]
    created: i64,
    /// The invoice, expanded (an id when not).
    invoice: Option<serde_json::Value>,
    payment: Option<RawPaymentRef>,
}

#[derive(Debug, Deserialize)]
struct RawPaymentRef {
    /// Expanded: `last_payment_error`.
    payment_intent: Option<serde_json::Value>,
    /// Expanded: `failure_code` (a charge made without a payment intent).
    charge: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct RawInvoice {
    attempt_count: Option<u32>,
    next_payment_attempt: Option<i64>,
    /// Expanded: the customer's current email.
    customer: Option<serde_json::Value>,
    customer_email: Option<String>,
    /// Since 2025-03-31: `parent.subscription_details.subscription`.
    parent: Option<RawInvoiceParent>,
    /// Before: the subscription at the top.
    subscription: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct RawInvoiceParent {
    subscription_details: Option<RawSubscriptionDetails>,
}

#[derive(Debug, Deserialize)]
struct RawSubscriptionDetails {
    subscription: Option<serde_json::Value>,
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
struct RawCharge {
    failure_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawCustomer {
    email: Option<String>,
    #[serde(default)]
    deleted: bool,
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

/// A discount: `source.coupon` on the pinned API version, `coupon` on
/// older ones (and on localstripe).
#[derive(Debug, Deserialize)]
struct RawDiscount {
    coupon: Option<RawCoupon>,
    source: Option<RawDiscountSource>,
}

#[derive(Debug, Deserialize)]
struct RawDiscountSource {
    /// Expanded by [`SUBSCRIPTION_EXPAND`]; an id (unreadable) when not.
    coupon: Option<serde_json::Value>,
}

impl RawDiscount {
    fn into_discount(self) -> Option<Discount> {
        let coupon = self.coupon.or_else(|| {
            self.source
                .and_then(|s| s.coupon)
                .and_then(|c| serde_json::from_value::<RawCoupon>(c).ok())
        })?;
        coupon.into_discount()
    }
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
            .and_then(RawDiscount::into_discount)
            .into_iter()
            .collect();
        if discounts.is_empty() {
            // Newer API versions: `discounts`, objects only when expanded.
            discounts = self
                .discounts
                .into_iter()
                .filter_map(|v| serde_json::from_value::<RawDiscount>(v).ok())
                .filter_map(RawDiscount::into_discount)
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
            // Customers are not expanded yet: their own coupons are unknown.
            customer_discount: None,
        })
    }
}

impl Listed for RawSubscription {
    type Out = ScannedSubscription;
    const PATH: &'static str = "v1/subscriptions";
    const WHAT: &'static str = "the subscription list";
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created
    }
    fn into_out(self) -> Option<ScannedSubscription> {
        self.into_scanned()
    }
    fn count(stats: &mut ScanStats, n: u64) {
        stats.subscriptions += n;
    }
}

impl Listed for RawInvoicePayment {
    type Out = OpenPayment;
    const PATH: &'static str = "v1/invoice_payments";
    const WHAT: &'static str = "the invoice payment list";
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created
    }
    fn count(stats: &mut ScanStats, n: u64) {
        stats.payments += n;
    }

    /// What the payment says about its invoice's failure. Unexpanded
    /// objects (ids) leave their fields unknown; a payment whose invoice
    /// is not even an id is left out (logged).
    fn into_out(self) -> Option<OpenPayment> {
        let object = |v: Option<serde_json::Value>| v.filter(serde_json::Value::is_object);
        let invoice_ref = self.invoice?;
        let Some(invoice_id) = id_of(&invoice_ref) else {
            tracing::warn!(payment = %self.id, "invoice payment without an invoice; left out");
            return None;
        };
        let invoice: Option<RawInvoice> =
            object(Some(invoice_ref)).and_then(|v| serde_json::from_value(v).ok());
        let payment = self.payment;
        let intent: Option<RawIntent> =
            object(payment.as_ref().and_then(|p| p.payment_intent.clone()))
                .and_then(|v| serde_json::from_value(v).ok());
        let charge: Option<RawCharge> =
            object(payment.and_then(|p| p.charge)).and_then(|v| serde_json::from_value(v).ok());
        let decline_code = intent
            .and_then(|i| i.last_payment_error)
            .and_then(|e| e.decline_code.or(e.code))
            .or_else(|| charge.and_then(|c| c.failure_code));
        let mut details = FailedPayment {
            decline_code,
            ..FailedPayment::default()
        };
        let mut subscription = None;
        if let Some(inv) = invoice {
            details.attempts = inv.attempt_count.unwrap_or(0);
            details.next_retry = inv.next_payment_attempt;
            let email = match object(inv.customer) {
                Some(c) => serde_json::from_value::<RawCustomer>(c)
                    .ok()
                    .filter(|c| !c.deleted)
                    .and_then(|c| c.email),
                None => inv.customer_email,
            };
            details.reachable = email.is_some_and(|e| e.contains('@'));
            subscription = inv
                .parent
                .and_then(|p| p.subscription_details)
                .and_then(|d| d.subscription)
                .or(inv.subscription)
                .as_ref()
                .and_then(id_of);
        }
        Some(OpenPayment {
            invoice: invoice_id,
            subscription,
            created: self.created,
            details,
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

    /// The pinned version's shape, expanded as [`OPEN_PAYMENT_EXPAND`] asks.
    #[test]
    fn an_open_invoice_payment_reads_its_decline_attempts_retry_and_customer() {
        let raw: RawInvoicePayment = serde_json::from_value(serde_json::json!({
            "id": "inpay_1", "object": "invoice_payment", "created": 7, "status": "open",
            "is_default": true,
            "invoice": {"id": "in_1", "object": "invoice", "attempt_count": 3,
                        "next_payment_attempt": 99, "customer_email": null,
                        "customer": {"id": "cus_1", "object": "customer", "email": "a@example.com"},
                        "parent": {"type": "subscription_details",
                                   "subscription_details": {"subscription": "sub_1"}}},
            "payment": {"type": "payment_intent", "charge": null,
                        "payment_intent": {"id": "pi_1", "object": "payment_intent",
                            "last_payment_error": {"code": "card_declined",
                                                   "decline_code": "insufficient_funds"}}}
        }))
        .expect("endive shape");
        let p = raw.into_out().expect("readable");
        assert_eq!(p.invoice, "in_1");
        assert_eq!(p.subscription.as_deref(), Some("sub_1"));
        assert_eq!(
            p.details,
            FailedPayment {
                decline_code: Some("insufficient_funds".into()),
                attempts: 3,
                next_retry: Some(99),
                reachable: true,
            }
        );
        // Unexpanded, the ids alone: the invoice is known, nothing else.
        let bare: RawInvoicePayment = serde_json::from_value(serde_json::json!({
            "id": "inpay_2", "created": 8, "invoice": "in_2",
            "payment": {"type": "payment_intent", "payment_intent": "pi_2"}
        }))
        .expect("ids");
        let p = bare.into_out().expect("readable");
        assert_eq!((p.invoice.as_str(), p.subscription), ("in_2", None));
        assert_eq!(p.details, FailedPayment::default());
    }

    #[test]
    fn a_discount_reads_its_coupon_from_source_on_the_pinned_version() {
        let raw: RawSubscription = serde_json::from_value(serde_json::json!({
            "id": "sub_1", "customer": "cus_1", "status": "active", "created": 5,
            "items": {"data": [{"quantity": 1, "current_period_end": 50,
                "price": {"id": "price_1", "unit_amount": 1000, "currency": "eur",
                          "recurring": {"interval": "month", "interval_count": 1}}}]},
            "discounts": [{"id": "di_1", "object": "discount",
                "source": {"type": "coupon",
                           "coupon": {"id": "c1", "duration": "forever", "percent_off": 10.0}}},
                "di_unexpanded"]
        }))
        .expect("endive shape");
        let s = raw.into_scanned().expect("readable");
        assert_eq!(s.discounts.len(), 1);
        assert_eq!(s.discounts[0].duration, CouponDuration::Forever);
        assert_eq!(s.discounts[0].percent_off_bp, Some(1000));
        assert_eq!(s.current_period_end, Some(50));
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
