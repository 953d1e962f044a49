//! Reading every subscription of the account at the rate the bot allows
//! itself (`STRIPE_READ_RATE`). A Stripe list is a cursor,
//! one page per round trip, so one cursor cannot use the rate: the scan
//! splits the `created` timeline into ranges read concurrently, and a worker
//! whose range is done takes the older half of the widest range still being
//! read (the owner keeps reading the newer half, and drops anything an
//! in-flight page brings from below its new bound, so nothing is counted
//! twice; [`timeline`]). Pages go into a bounded channel as
//! [`ScannedSubscription`]s; the caller folds them, so memory does not grow
//! with the account.
//!
//! The scanner owns the range splitting, the paging and the pacing; nothing
//! else. It is made from the [`StripeGateway`] and sends through it: the
//! same transport (pinned `Stripe-Version`, key; its connections kept open
//! between pages), the same retry policy
//! (`retry.rs`: a read is retried on 429, 5xx, timeouts and lost
//! connections, never when Stripe says `Stripe-Should-Retry: false`,
//! waiting what `Retry-After` says, within [`retry::SCAN_BUDGET`] per page),
//! and the process's [`retry::Limits`]: one in-flight limit shared with the
//! lookups, and a 429 met by a scan pauses the lookups as well (and a
//! lookup's the scans). On top, the scanner's copy of the limits is paced
//! by one [`ReadLimiter`] shared by every scan of the process: each attempt
//! waits for its turn at the rate. Lookups are not paced: they have an
//! operator waiting.
//!
//! Requests are async-stripe's builders (`ListSubscription`,
//! `ListInvoicePayment`, `ListCoupon`, `RetrieveCoupon`) and pages are read
//! into the pinned version's generated types (`stripe_types::List` of
//! `stripe_shared::Subscription`, `InvoicePayment`, `Coupon`); [`records`]
//! turns an item into the report's record.
//!
//! # Discounts and what they cost
//!
//! A subscription's own discounts are expanded down to their coupon
//! (`data.discounts.source.coupon`, four levels, Stripe's deepest). A
//! customer's own discount (`Customer.discount`, which older accounts use;
//! it applies to the customer's subscriptions that have no discounts of
//! their own) sits one level deeper than Stripe expands
//! (`data.customer.discount.source.coupon` is five levels, a 400), so the
//! scan expands `data.customer` (its discount then names its coupon by id)
//! and resolves the ids itself: the first page of `GET /v1/coupons` (the
//! account's newest 100 coupons) is read alongside the scan's first probes,
//! and a coupon id not among them is read once with `GET /v1/coupons/{id}`
//! and kept for the rest of the scan. The cost: one request per scan, plus
//! one per distinct customer coupon older than the newest 100; no page is
//! added, each page only grows by its customers. A coupon Stripe no longer
//! has (deleted: it still discounts the customers who had it) cannot be
//! read; that customer's discount is left out and logged.
//!
//! An expanded customer that was deleted (a canceled subscription's) comes
//! as `{"id", "deleted": true}`, not a `Customer`; such an object is read
//! as its id.

mod records;
mod timeline;

use std::sync::{Arc, Mutex};

use stripe_billing::invoice_payment::{ListInvoicePayment, ListInvoicePaymentStatus};
use stripe_billing::subscription::{ListSubscription, ListSubscriptionStatus};
use stripe_client_core::{RequestBuilder, StripeRequest};
use stripe_product::coupon::{ListCoupon, RetrieveCoupon};
use stripe_shared as ss;
use stripe_types::{List, RangeBoundsTs, RangeQueryTs};
use tokio::sync::mpsc;

use super::retry::{self, Tally};
use super::{StripeError, StripeGateway};
use crate::domain::scanned::{OpenPayment, ScannedSubscription};
use records::CouponBook;
use timeline::Timeline;

pub use super::retry::ReadLimiter;

/// Stripe's largest page.
const PAGE_SIZE: u32 = 100;
/// A range is split only when about this many pages are left in it.
const MIN_SPLIT_PAGES: u32 = 4;
/// No Stripe subscription is older than this (2011-01-01).
const STRIPE_EPOCH: i64 = 1_293_840_000;

/// Requests in flight the process allows when scans run at `rate` per
/// second: a second's worth of scan pages (so pages up to a second long do
/// not hold a scan under its rate) plus the gateway's own limit, so a scan
/// at full rate leaves the lookups their slots.
pub fn in_flight_for(rate: u32) -> usize {
    (rate as usize).saturating_add(retry::PROCESS_IN_FLIGHT)
}

/// The list-scanning client: the gateway (paced), and the shared limiter.
#[derive(Clone)]
pub struct StripeScanner {
    /// The process's gateway, its limits paced by `limiter`.
    gateway: StripeGateway,
    limiter: Arc<ReadLimiter>,
}

impl std::fmt::Debug for StripeScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeScanner")
            .field("rate", &self.limiter.rate())
            .finish_non_exhaustive()
    }
}

/// What a scan did, for the report's footer and the bench.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    /// Stripe requests sent (every attempt, retries and coupon reads included).
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

/// Which subscriptions a scan reads (Stripe's `status` filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStatus {
    /// Every status, canceled included.
    All,
}

/// What the subscription scan expands: the discounts down to their coupon
/// (forever coupons reduce MRR; four levels, Stripe's deepest) and the
/// customer, whose own discount names its coupon (see the module doc).
const SUBSCRIPTION_EXPAND: [&str; 2] = ["data.discounts.source.coupon", "data.customer"];

/// What the open-payment scan expands: the payment intent (its
/// `last_payment_error` holds the decline code), a charge made without one
/// (its `failure_code`), and the invoice with its customer (attempts, next
/// retry, the subscription, an email to reach). At most three levels.
const OPEN_PAYMENT_EXPAND: [&str; 3] = [
    "data.payment.payment_intent",
    "data.payment.charge",
    "data.invoice.customer",
];

/// One page's request: `created` in `[gte, lt)`, after `cursor`.
#[derive(Debug, Clone, Copy)]
struct PageQuery<'a> {
    gte: Option<i64>,
    lt: i64,
    cursor: Option<&'a str>,
    limit: u32,
    /// Expansions are for the items read; the probes only count.
    expand: bool,
}

impl PageQuery<'_> {
    fn created(&self) -> RangeQueryTs {
        RangeQueryTs::Bounds(RangeBoundsTs {
            gte: self.gte,
            lt: Some(self.lt),
            ..RangeBoundsTs::default()
        })
    }
}

/// One Stripe list a scan reads: its request, the generated type of its
/// items, and what one item becomes.
trait Listed: Sync {
    type Item: miniserde::Deserialize + Send;
    type Out: Send;
    /// Names the list in errors.
    const WHAT: &'static str;
    fn request(&self, page: PageQuery<'_>) -> RequestBuilder;
    fn id(item: &Self::Item) -> &str;
    fn created(item: &Self::Item) -> i64;
    /// Coupon ids `items` name that the scan has not read yet.
    fn unknown_coupons(&self, _items: &[Self::Item]) -> Vec<String> {
        Vec::new()
    }
    /// Keeps a coupon read for [`Self::unknown_coupons`].
    fn learn_coupon(&self, _id: String, _coupon: Option<crate::domain::scanned::Discount>) {}
    /// Held while a worker reads the coupons its page names, so workers
    /// meeting the same unknown coupon read it once.
    fn coupon_reads(&self) -> Option<&tokio::sync::Mutex<()>> {
        None
    }
    /// The report's record; `None` (logged) when it cannot be read.
    fn convert(&self, item: Self::Item) -> Option<Self::Out>;
    /// Counts `n` records read into `stats`.
    fn count(stats: &mut ScanStats, n: u64);
}

/// Every subscription of a status, with the coupons its customers'
/// discounts name.
struct Subscriptions {
    status: ScanStatus,
    coupons: Mutex<CouponBook>,
    coupon_reads: tokio::sync::Mutex<()>,
}

/// The open invoice payments.
struct OpenPayments;

impl Subscriptions {
    fn new(status: ScanStatus) -> Self {
        Self {
            status,
            coupons: Mutex::default(),
            coupon_reads: tokio::sync::Mutex::new(()),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, CouponBook> {
        self.coupons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Listed for Subscriptions {
    type Item = ss::Subscription;
    type Out = ScannedSubscription;
    const WHAT: &'static str = "the subscription list";

    fn request(&self, page: PageQuery<'_>) -> RequestBuilder {
        let status = match self.status {
            ScanStatus::All => ListSubscriptionStatus::All,
        };
        let mut req = ListSubscription::new()
            .status(status)
            .created(page.created())
            .limit(i64::from(page.limit));
        if let Some(cursor) = page.cursor {
            req = req.starting_after(cursor);
        }
        if page.expand {
            req = req.expand(SUBSCRIPTION_EXPAND.map(String::from).to_vec());
        }
        req.build()
    }
    fn id(item: &ss::Subscription) -> &str {
        item.id.as_str()
    }
    fn created(item: &ss::Subscription) -> i64 {
        item.created
    }
    fn unknown_coupons(&self, items: &[ss::Subscription]) -> Vec<String> {
        let book = self.book();
        let mut unknown: Vec<String> = items
            .iter()
            .filter_map(records::customer_coupon_id)
            .filter(|id| !book.contains_key(*id))
            .map(str::to_owned)
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        unknown
    }
    fn learn_coupon(&self, id: String, coupon: Option<crate::domain::scanned::Discount>) {
        self.book().insert(id, coupon);
    }
    fn coupon_reads(&self) -> Option<&tokio::sync::Mutex<()>> {
        Some(&self.coupon_reads)
    }
    fn convert(&self, item: ss::Subscription) -> Option<ScannedSubscription> {
        records::subscription(item, &self.book())
    }
    fn count(stats: &mut ScanStats, n: u64) {
        stats.subscriptions += n;
    }
}

impl Listed for OpenPayments {
    type Item = ss::InvoicePayment;
    type Out = OpenPayment;
    const WHAT: &'static str = "the invoice payment list";

    fn request(&self, page: PageQuery<'_>) -> RequestBuilder {
        let mut req = ListInvoicePayment::new()
            .status(ListInvoicePaymentStatus::Open)
            .created(page.created())
            .limit(i64::from(page.limit));
        if let Some(cursor) = page.cursor {
            req = req.starting_after(cursor);
        }
        if page.expand {
            req = req.expand(OPEN_PAYMENT_EXPAND.map(String::from).to_vec());
        }
        req.build()
    }
    fn id(item: &ss::InvoicePayment) -> &str {
        item.id.as_str()
    }
    fn created(item: &ss::InvoicePayment) -> i64 {
        item.created
    }
    fn convert(&self, item: ss::InvoicePayment) -> Option<OpenPayment> {
        records::open_payment(item)
    }
    fn count(stats: &mut ScanStats, n: u64) {
        stats.payments += n;
    }
}

impl StripeScanner {
    /// The scanner of the process: `gateway`'s transport, retry policy and
    /// limits (so in-flight slots and 429 pauses are shared with the
    /// lookups), every request paced by `limiter`.
    pub fn new(gateway: StripeGateway, limiter: Arc<ReadLimiter>) -> Self {
        Self {
            gateway: gateway.paced(Arc::clone(&limiter)),
            limiter,
        }
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
        let list = Subscriptions::new(status);
        let tally = Tally::default();
        // The newest coupons come in the same round trip as the probes.
        let (start, coupons) = futures::try_join!(
            self.oldest_bound(&list, now, &tally),
            self.newest_coupons(&tally)
        )?;
        list.book().extend(coupons);
        self.scan_from(&list, start, workers, now, pages, &tally)
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
        let tally = Tally::default();
        let start = self.oldest_bound(&OpenPayments, now, &tally).await?;
        self.scan_from(&OpenPayments, start, workers, now, pages, &tally)
            .await
    }

    /// Reads the list `L` from `start` up to `now` into `pages`.
    async fn scan_from<L: Listed>(
        &self,
        list: &L,
        start: i64,
        workers: usize,
        now: i64,
        pages: mpsc::Sender<ListPage<L::Out>>,
        tally: &Tally,
    ) -> Result<ScanStats, StripeError> {
        let stats = Mutex::new(ScanStats::default());
        let workers = workers.max(1);
        let plan = Mutex::new(Timeline::new(start, now + 1, workers));
        let runs = (0..workers).map(|_| self.worker(list, &plan, &stats, pages.clone(), tally));
        futures::future::try_join_all(runs).await?;
        let mut stats = *stats.lock().expect("scan stats lock is never poisoned");
        (stats.requests, stats.throttled) = tally.read();
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
        list: &L,
        now: i64,
        tally: &Tally,
    ) -> Result<i64, StripeError> {
        /// A page read only for whether it holds anything.
        #[derive(miniserde::Deserialize)]
        struct Probe {
            data: Vec<miniserde::json::Value>,
        }
        let mut cutoffs = Vec::new();
        let mut age = 3600i64;
        while now - age > STRIPE_EPOCH {
            cutoffs.push(now - age);
            age *= 2;
        }
        let probes = cutoffs.iter().map(|cutoff| async move {
            let req = list.request(PageQuery {
                gte: None,
                lt: *cutoff,
                cursor: None,
                limit: 1,
                expand: false,
            });
            let body = self.gateway.scan_read(&req, L::WHAT, tally).await?;
            let probe: Probe = super::read(&body, L::WHAT)?;
            Ok::<bool, StripeError>(!probe.data.is_empty())
        });
        let found = futures::future::try_join_all(probes).await?;
        // The oldest cutoff with something older, doubled again.
        Ok(match found.iter().rposition(|f| *f) {
            None => cutoffs.first().map_or(STRIPE_EPOCH, |c| *c),
            Some(i) => cutoffs.get(i + 1).copied().unwrap_or(STRIPE_EPOCH),
        })
    }

    /// The account's newest coupons (one page), by id.
    async fn newest_coupons(&self, tally: &Tally) -> Result<CouponBook, StripeError> {
        let what = "the coupon list";
        let req = ListCoupon::new().limit(i64::from(PAGE_SIZE)).build();
        let body = self.gateway.scan_read(&req, what, tally).await?;
        let list: List<ss::Coupon> = super::read(&body, what)?;
        Ok(list
            .data
            .iter()
            .map(|c| (c.id.as_str().to_owned(), records::discount(c)))
            .collect())
    }

    /// One coupon by id; `None` when Stripe has it no more (deleted).
    async fn coupon(
        &self,
        id: &str,
        tally: &Tally,
    ) -> Result<Option<crate::domain::scanned::Discount>, StripeError> {
        let what = format!("coupon {id}");
        let req = RetrieveCoupon::new(id).build();
        let body = match self.gateway.scan_read(&req, &what, tally).await {
            Ok(body) => body,
            Err(e) if e.is_not_found() => {
                tracing::warn!(coupon = %id, "a customer's coupon is gone from Stripe; its discount is left out of MRR");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let coupon: ss::Coupon = super::read(&body, &what)?;
        Ok(records::discount(&coupon))
    }

    /// Reads the coupons `items` name that the scan does not know yet,
    /// one worker at a time (the others then find them known).
    async fn read_coupons<L: Listed>(
        &self,
        list: &L,
        items: &[L::Item],
        tally: &Tally,
    ) -> Result<(), StripeError> {
        let Some(reads) = list.coupon_reads() else {
            return Ok(());
        };
        if list.unknown_coupons(items).is_empty() {
            return Ok(());
        }
        let _turn = reads.lock().await;
        let unknown = list.unknown_coupons(items);
        let read = unknown.iter().map(|id| self.coupon(id, tally));
        let coupons = futures::future::try_join_all(read).await?;
        for (id, coupon) in unknown.into_iter().zip(coupons) {
            list.learn_coupon(id, coupon);
        }
        Ok(())
    }

    async fn worker<L: Listed>(
        &self,
        list: &L,
        plan: &Mutex<Timeline>,
        stats: &Mutex<ScanStats>,
        pages: mpsc::Sender<ListPage<L::Out>>,
        tally: &Tally,
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
                let req = list.request(PageQuery {
                    gte: Some(lo),
                    lt: hi,
                    cursor: cursor.as_deref(),
                    limit: PAGE_SIZE,
                    expand: true,
                });
                let body = self.gateway.scan_read(&req, L::WHAT, tally).await?;
                let page: List<L::Item> = read_page(&body, L::WHAT)?;
                drop(body);
                self.read_coupons(list, &page.data, tally).await?;
                let has_more = page.has_more;
                let raw = page.data;
                let (kept, scanned, estimate, done) = {
                    let mut plan = lock();
                    let lo_now = plan.ranges[range].lo;
                    let last = raw.last().map(|s| (L::id(s).to_owned(), L::created(s)));
                    let below = raw.iter().any(|s| L::created(s) < lo_now);
                    let kept: Vec<L::Out> = raw
                        .into_iter()
                        .filter(|s| L::created(s) >= lo_now && L::created(s) < hi)
                        .filter_map(|s| list.convert(s))
                        .collect();
                    plan.scanned += kept.len() as u64;
                    plan.ranges[range].read += kept.len() as u64;
                    match last {
                        Some((id, created)) if has_more && !below => {
                            plan.advance(range, id, created);
                        }
                        _ => plan.finish(range),
                    }
                    let done = plan.ranges[range].done;
                    (kept, plan.scanned, plan.estimate(), done)
                };
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
}

/// A page of the pinned version's generated type. An expanded object that
/// was deleted (`{"id", "object", "deleted": true}`: a canceled
/// subscription's customer) is not the object's type; such pages are read
/// again with each deleted object as its id, as if not expanded.
fn read_page<T: miniserde::Deserialize>(body: &[u8], what: &str) -> Result<List<T>, StripeError> {
    let first = super::read(body, what);
    if first.is_ok() || !body.windows(9).any(|w| w == b"\"deleted\"") {
        return first;
    }
    let Ok(mut page) = serde_json::from_slice::<serde_json::Value>(body) else {
        return first;
    };
    if let Some(items) = page
        .get_mut("data")
        .and_then(serde_json::Value::as_array_mut)
    {
        for item in items
            .iter_mut()
            .filter_map(serde_json::Value::as_object_mut)
        {
            item.values_mut().for_each(deleted_as_id);
        }
    }
    super::read(page.to_string().as_bytes(), what)
}

/// Replaces every deleted object within `value` by its id.
fn deleted_as_id(value: &mut serde_json::Value) {
    use serde_json::Value;
    if let Value::Object(object) = value {
        if object.get("deleted") == Some(&Value::Bool(true)) {
            if let Some(id) = object.get("id").filter(|id| id.is_string()).cloned() {
                *value = id;
                return;
            }
        }
    }
    match value {
        Value::Object(object) => object.values_mut().for_each(deleted_as_id),
        Value::Array(items) => items.iter_mut().for_each(deleted_as_id),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::StripeKey;
    use crate::stripe::retry::Limits;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const EMPTY_LIST: &str = r#"{"object":"list","data":[],"has_more":false,"url":"/v1/x"}"#;

    /// A Stripe stand-in answering each request with the next of `answers`
    /// (status, extra headers, body), then with an empty list; counts
    /// requests.
    async fn stand_in(answers: Vec<(u16, &'static str, &'static str)>) -> (String, Arc<AtomicU64>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}/", listener.local_addr().expect("addr"));
        let seen = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&seen);
        let answers = Arc::new(Mutex::new(std::collections::VecDeque::from(answers)));
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (answers, count) = (Arc::clone(&answers), Arc::clone(&count));
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    let _ = stream.read(&mut buf).await;
                    count.fetch_add(1, Ordering::SeqCst);
                    let next = answers.lock().expect("answers").pop_front();
                    let (status, headers, body) = next.unwrap_or((200, "", EMPTY_LIST));
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{headers}\
                         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        (base, seen)
    }

    fn gateway(base: &str, limits: &Limits) -> StripeGateway {
        let key = StripeKey::parse("sk_test_abcdef123456").expect("key");
        StripeGateway::new(&key, base)
            .expect("gateway")
            .with_limits(limits.clone())
    }

    fn probe() -> RequestBuilder {
        Subscriptions::new(ScanStatus::All).request(PageQuery {
            gte: None,
            lt: 10,
            cursor: None,
            limit: 1,
            expand: false,
        })
    }

    const THROTTLED: (u16, &str, &str) = (
        429,
        "retry-after: 30\r\n",
        r#"{"error":{"type":"rate_limit_error","message":"slow down"}}"#,
    );

    /// A scan that meets a 429 pauses the process's shared limits, so the
    /// gateway's lookups (which share them) hold back too.
    #[tokio::test]
    async fn a_throttled_scan_pauses_the_lookups_sharing_its_limits() {
        let (base, seen) = stand_in(vec![THROTTLED]).await;
        let limits = Limits::new(4);
        let lookup = limits.for_lookup();
        let scanner = StripeScanner::new(gateway(&base, &limits), Arc::new(ReadLimiter::new(10)));
        let scan = tokio::spawn(async move {
            let tally = Tally::default();
            let _ = scanner.gateway.scan_read(&probe(), "probe", &tally).await;
        });
        // The pause is set when the 429 is read; give the scan its turn.
        for _ in 0..1000 {
            if lookup.is_paused() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        assert!(lookup.is_paused(), "the lookup's limits were not paused");
        scan.abort();
    }

    #[tokio::test]
    async fn a_scan_read_retries_a_5xx_and_counts_its_attempts_but_never_what_stripe_refuses() {
        let (base, seen) = stand_in(vec![
            (
                503,
                "",
                r#"{"error":{"type":"api_error","message":"try again"}}"#,
            ),
            (200, "", EMPTY_LIST),
        ])
        .await;
        let limits = Limits::default();
        let scanner = StripeScanner::new(gateway(&base, &limits), Arc::new(ReadLimiter::new(50)));
        let tally = Tally::default();
        let body = scanner
            .gateway
            .scan_read(&probe(), "probe", &tally)
            .await
            .expect("the 503 was retried");
        assert_eq!(body.as_ref(), EMPTY_LIST.as_bytes());
        assert_eq!((tally.read(), seen.load(Ordering::SeqCst)), ((2, 0), 2));

        let (base, seen) = stand_in(vec![(
            429,
            "stripe-should-retry: false\r\n",
            r#"{"error":{"type":"rate_limit_error","message":"no"}}"#,
        )])
        .await;
        let scanner = StripeScanner::new(gateway(&base, &limits), Arc::new(ReadLimiter::new(50)));
        let tally = Tally::default();
        let error = scanner
            .gateway
            .scan_read(&probe(), "probe", &tally)
            .await
            .expect_err("Stripe said not to retry");
        assert!(
            matches!(error, StripeError::Rejected { status: 429, .. }),
            "{error:?}"
        );
        assert_eq!((tally.read(), seen.load(Ordering::SeqCst)), ((1, 1), 1));
    }

    #[test]
    fn a_deleted_customer_reads_as_its_id() {
        let page = serde_json::json!({"object": "list", "has_more": false, "url": "/v1/x",
            "data": [{"id": "x", "customer": {"id": "cus_gone", "object": "customer", "deleted": true},
                      "nested": [{"id": "y", "deleted": true}], "kept": {"id": "z", "deleted": false}}]});
        /// Items whose `customer` must be an id, as a generated type's would.
        #[derive(miniserde::Deserialize)]
        struct Item {
            customer: String,
            nested: Vec<String>,
            kept: miniserde::json::Value,
        }
        let list: List<Item> = read_page(page.to_string().as_bytes(), "test").expect("read as ids");
        assert_eq!(list.data[0].customer, "cus_gone");
        assert_eq!(list.data[0].nested, vec!["y".to_owned()]);
        assert!(matches!(
            list.data[0].kept,
            miniserde::json::Value::Object(_)
        ));
    }

    #[test]
    fn requests_are_the_builders_with_the_range_cursor_and_expansions() {
        let req = Subscriptions::new(ScanStatus::All).request(PageQuery {
            gte: Some(5),
            lt: 10,
            cursor: Some("sub_9"),
            limit: 100,
            expand: true,
        });
        let query = req.query.unwrap_or_default();
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&query).expect("a form query");
        let has = |k: &str, v: &str| pairs.iter().any(|(a, b)| a == k && b == v);
        assert_eq!(req.path, "/subscriptions");
        assert!(has("status", "all") && has("limit", "100") && has("starting_after", "sub_9"));
        assert!(
            has("created[gte]", "5") && has("created[lt]", "10"),
            "{pairs:?}"
        );
        assert!(pairs
            .iter()
            .any(|(k, v)| k.starts_with("expand[") && v == "data.customer"));
        let payments = OpenPayments.request(PageQuery {
            gte: None,
            lt: 10,
            cursor: None,
            limit: 1,
            expand: false,
        });
        let query = payments.query.unwrap_or_default();
        assert_eq!(payments.path, "/invoice_payments");
        assert!(
            query.contains("status=open") && !query.contains("expand"),
            "{query}"
        );
    }
}
