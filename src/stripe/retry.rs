//! Throttling and retries, the layer every Stripe request passes through
//! (lookups, actions and the report scans alike): limits on requests in
//! flight, the scans' pacing, and one retry policy with exponential backoff
//! and jitter (`backon`).
//!
//! # The retry policy
//!
//! - `Stripe-Should-Retry` is Stripe's own word and wins: `false` is never
//!   retried, `true` always is (within the budget).
//! - A **read** (a GET, sent without an idempotency key) is retried on a
//!   429, a 5xx, a timeout and a connection error: asking again changes
//!   nothing on Stripe.
//! - A **write** (sent with its idempotency key) is retried on a 429 only
//!   (and when Stripe says `true`), with the same key, so Stripe acts at most
//!   once. Its 5xx, timeout or lost connection is not retried blindly:
//!   Stripe may have saved the attempt, and the workflow finds out what
//!   happened from Stripe's state (`Verifying`).
//! - Every other answer (4xx) is final.
//!
//! A retry waits what Stripe's `Retry-After` says when it sends one (at
//! least a quarter of the backoff's delay, so requests throttled together
//! do not return together), else the backoff's delay, and never past the
//! request's budget, counted from its first attempt: a
//! lookup's read has an operator waiting ([`READ_BUDGET`]), a write runs in
//! the background ([`WRITE_BUDGET`]), a report scan's page is one of
//! thousands and must not sink the report for a passing hiccup
//! ([`SCAN_BUDGET`]).
//!
//! # Limits
//!
//! The limiter is one type, [`Limits`]. A request takes its slot before the
//! first attempt and keeps it through its retries: a throttled request
//! keeps its place instead of starving behind newer ones, and while Stripe
//! throttles, everything behind the limit slows down with it. The report
//! scans' request rate (`STRIPE_READ_RATE`, a [`ReadLimiter`]) plugs in at
//! [`Limits::acquire`]: the scanner's copy of the limits ([`Limits::paced`])
//! waits for its turn at the rate before taking a slot, so a scan waiting
//! for its turn holds no slot a lookup could use; each retry of a paced
//! request, and a request a pause held back, waits for a new turn, so the
//! requests a pause held back go out at the rate, not together. Lookups
//! and actions are not paced: they have an operator waiting.
//!
//! Stripe's limit is per account, so a 429 pauses every request of the
//! process until its retry ([`Limits::pause`]), scans and lookups alike:
//! otherwise the requests not waiting would take all the capacity that
//! frees up, and the one waiting would be throttled again and again until
//! its budget ran out. After the pause the lookups retry together (a few
//! requests in flight always fit in Stripe's capacity) and the scans at
//! their rate. Other retries (a 5xx, a timeout) pause nothing: they say
//! nothing about the rate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use stripe_client_core::{IdempotencyKey, RequestBuilder};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::transport::{Failure, Transport};

/// Requests in flight across the process: a burst of lookups queues here
/// instead of tripping Stripe's rate limit (test mode allows 25 a second).
pub const PROCESS_IN_FLIGHT: usize = 16;
/// Requests in flight for one lookup: room for two customers' lists (up
/// to four requests each) in one round trip, so an email shared by two
/// customers is two round trips deep like one; an email shared by 30
/// customers is 120 requests, and they go eight at a time.
pub const LOOKUP_IN_FLIGHT: usize = 8;

/// How long a read keeps retrying: the operator is waiting for the card.
pub const READ_BUDGET: Duration = Duration::from_secs(6);
/// How long a write keeps retrying; it runs in the background, and stays
/// well inside the shutdown grace period.
pub const WRITE_BUDGET: Duration = Duration::from_secs(15);
/// How long one page of a report scan keeps retrying: the report is
/// thousands of pages, and one Stripe hiccup (or a minute of throttling by
/// another integration on the account) should cost a wait, not the report.
pub const SCAN_BUDGET: Duration = Duration::from_secs(60);
const FIRST_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(2);

/// The in-flight limits (and, for the scans, the pacing) a request is
/// subject to; cheap to clone.
#[derive(Clone, Debug)]
pub struct Limits {
    process: Arc<Semaphore>,
    /// Set on the gateway copy a lookup uses.
    lookup: Option<Arc<Semaphore>>,
    /// Set on the scanner's copy: every attempt waits for its turn.
    pace: Option<Arc<ReadLimiter>>,
    /// No attempt starts before this instant (process-wide).
    paused_until: Arc<std::sync::Mutex<Option<Instant>>>,
}

/// Held while one request (all its attempts) is in flight.
pub struct Permit {
    _lookup: Option<OwnedSemaphorePermit>,
    _process: Option<OwnedSemaphorePermit>,
}

/// Paces requests to at most `rate` per second, evenly spaced, so a scan
/// never bursts above the rate. Shared (`Arc`) by every scan in the process.
#[derive(Debug)]
pub struct ReadLimiter {
    spacing: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

/// What the attempts of some requests came to, for a caller that reports
/// its cost (the scans' footer and bench).
#[derive(Debug, Default)]
pub struct Tally {
    /// Attempts sent, retries included.
    pub attempts: AtomicU64,
    /// HTTP 429 answers among them.
    pub throttled: AtomicU64,
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(PROCESS_IN_FLIGHT)
    }
}

impl Limits {
    /// Limits allowing `in_flight` requests across the process (at least
    /// [`PROCESS_IN_FLIGHT`]). `startup::deps` builds one for the gateway,
    /// and the report scanner takes its copy from the gateway, so both
    /// share the slots and the pause.
    pub fn new(in_flight: usize) -> Self {
        Self {
            process: Arc::new(Semaphore::new(in_flight.max(PROCESS_IN_FLIGHT))),
            lookup: None,
            pace: None,
            paused_until: Arc::default(),
        }
    }

    /// The same process-wide limit plus a fresh per-lookup one.
    pub fn for_lookup(&self) -> Self {
        Self {
            process: Arc::clone(&self.process),
            lookup: Some(Arc::new(Semaphore::new(LOOKUP_IN_FLIGHT))),
            pace: None,
            paused_until: Arc::clone(&self.paused_until),
        }
    }

    /// The same limits, every attempt paced by `limiter` (the scans').
    #[must_use]
    pub fn paced(&self, limiter: Arc<ReadLimiter>) -> Self {
        Self {
            pace: Some(limiter),
            ..self.clone()
        }
    }

    /// Holds every attempt of the process back for `wait` from now (or
    /// longer, if another throttled request asked for longer).
    pub fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// Whether a pause is in force now (for diagnostics and tests).
    pub fn is_paused(&self) -> bool {
        self.paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|u| u > Instant::now())
    }

    /// Waits until no pause is in force.
    pub async fn wait_out_pause(&self) {
        let until = *self
            .paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(until) = until.filter(|u| *u > Instant::now()) {
            tokio::time::sleep_until(until.into()).await;
        }
    }

    /// Waits until an attempt may go: no pause in force and, for a paced
    /// copy, its turn at the rate taken after the pause. A pause that began
    /// while it waited for its turn holds it back again, and it takes a
    /// fresh turn afterwards: requests held back together by a pause go
    /// out at the rate after it, not all at once.
    async fn ready(&self) {
        loop {
            self.wait_out_pause().await;
            let Some(pace) = &self.pace else {
                return;
            };
            pace.acquire().await;
            if !self.is_paused() {
                return;
            }
        }
    }

    /// Waits for room for one request: for a paced copy, its turn at the
    /// rate first (holding no slot meanwhile, so a scan waiting for its turn
    /// keeps no slot from a lookup); then the slots, always lookup first,
    /// then process, so two waiters never hold each other's next permit.
    pub async fn acquire(&self) -> Permit {
        if self.pace.is_some() {
            self.ready().await;
        }
        // The semaphores are never closed, so acquiring cannot fail; a
        // closed one would only mean "no limit".
        let lookup = match &self.lookup {
            Some(sem) => Arc::clone(sem).acquire_owned().await.ok(),
            None => None,
        };
        let process = Arc::clone(&self.process).acquire_owned().await.ok();
        Permit {
            _lookup: lookup,
            _process: process,
        }
    }
}

impl ReadLimiter {
    /// `rate` requests per second (at least 1).
    pub fn new(rate: u32) -> Self {
        Self {
            spacing: Duration::from_secs(1) / rate.max(1),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Requests per second allowed.
    pub fn rate(&self) -> u32 {
        u32::try_from(Duration::from_secs(1).as_nanos() / self.spacing.as_nanos().max(1))
            .unwrap_or(u32::MAX)
    }

    /// Waits for the next free slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.spacing;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

impl Tally {
    /// (attempts, 429s) so far.
    pub fn read(&self) -> (u64, u64) {
        (
            self.attempts.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
        )
    }
}

/// Whether the policy in the module doc repeats this attempt; `write` when
/// the request carries an idempotency key.
pub fn retryable(failure: &Failure, write: bool) -> bool {
    if let Some(said) = failure.should_retry {
        return said;
    }
    match failure.status {
        Some(429) => true,
        Some(status) if status >= 500 => !write,
        Some(_) => false,
        // No answer: a timeout or a lost connection.
        None => !write && failure.is_transient(),
    }
}

/// The wait before the next attempt: `Retry-After` when Stripe sent one
/// (at least a quarter of the backoff's), else the backoff's; `None` (give
/// up) when the backoff is spent or the wait would end past `deadline`.
pub fn next_wait(
    failure: &Failure,
    backoff: Option<Duration>,
    now: Instant,
    deadline: Instant,
) -> Option<Duration> {
    let backoff = backoff?;
    let wait = match failure.retry_after {
        Some(after) => after.max(backoff / 4),
        None => backoff,
    };
    (now + wait <= deadline).then_some(wait)
}

/// Sends `req` in a slot of `limits`, retrying as the module doc says,
/// within `budget` from the first attempt; `key` makes it a write. Counts
/// its attempts in `tally` when given.
///
/// # Errors
/// The last attempt's [`Failure`].
pub async fn send(
    transport: &Transport,
    limits: &Limits,
    req: &RequestBuilder,
    key: Option<&IdempotencyKey>,
    budget: Duration,
    tally: Option<&Tally>,
) -> Result<Bytes, Failure> {
    use backon::Retryable;
    let _permit = limits.acquire().await;
    // The budget counts from the first attempt, not from the queue.
    let deadline = Instant::now() + budget;
    let backoff = ExponentialBuilder::default()
        .with_min_delay(FIRST_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    let sent = AtomicU64::new(0);
    let attempt = || async {
        // The first attempt had its turn in `acquire`; a retry (or a first
        // attempt a pause has since caught) waits for a new one.
        if sent.fetch_add(1, Ordering::Relaxed) > 0 || limits.is_paused() {
            limits.ready().await;
        }
        if let Some(tally) = tally {
            tally.attempts.fetch_add(1, Ordering::Relaxed);
        }
        let result = transport.send(req, key).await;
        if let (Some(tally), Err(failure)) = (tally, &result) {
            if failure.status == Some(429) {
                tally.throttled.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    };
    attempt
        .retry(backoff.build())
        .when(|failure| retryable(failure, key.is_some()))
        .adjust(|failure, backoff| next_wait(failure, backoff, Instant::now(), deadline))
        .notify(|failure, wait| {
            if failure.status == Some(429) {
                // Stripe's limit is the account's: everyone waits.
                limits.pause(wait);
            }
            tracing::info!(status = ?failure.status, wait_ms = wait.as_millis() as u64, path = %req.path, "Stripe request failed; retrying");
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, should_retry: Option<bool>, retry_after: Option<u64>) -> Failure {
        Failure {
            error: ::stripe::StripeError::Timeout,
            status: Some(status),
            should_retry,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    fn no_answer(error: ::stripe::StripeError) -> Failure {
        Failure {
            error,
            status: None,
            should_retry: None,
            retry_after: None,
        }
    }

    #[test]
    fn reads_retry_what_a_repeat_cannot_harm_and_writes_only_throttling() {
        let (read, write) = (false, true);
        for kind in [read, write] {
            assert!(retryable(&failure(429, None, None), kind));
            assert!(
                !retryable(&failure(429, Some(false), None), kind),
                "Stripe's no wins"
            );
            assert!(
                retryable(&failure(409, Some(true), None), kind),
                "Stripe's yes wins"
            );
            assert!(!retryable(&failure(400, None, None), kind));
            assert!(!retryable(&failure(404, None, None), kind));
        }
        assert!(retryable(&failure(500, None, None), read));
        assert!(retryable(&failure(503, None, None), read));
        assert!(
            !retryable(&failure(500, None, None), write),
            "a 5xx on a write may have been saved: the workflow asks Stripe instead"
        );
        assert!(!retryable(&failure(500, Some(false), None), read));
        let timeout = || no_answer(::stripe::StripeError::Timeout);
        let reset = || no_answer(::stripe::StripeError::ClientError("reset".into()));
        assert!(retryable(&timeout(), read) && retryable(&reset(), read));
        assert!(!retryable(&timeout(), write) && !retryable(&reset(), write));
        let unbuildable = no_answer(::stripe::StripeError::ConfigError("bad".into()));
        assert!(
            !retryable(&unbuildable, read),
            "a request that cannot be built stays so"
        );
    }

    #[test]
    fn the_wait_honours_retry_after_and_never_passes_the_deadline() {
        let now = Instant::now();
        let deadline = now + Duration::from_secs(5);
        let short = Some(Duration::from_millis(300));
        assert_eq!(
            next_wait(&failure(429, None, None), short, now, deadline),
            short
        );
        assert_eq!(
            next_wait(&failure(429, None, Some(2)), short, now, deadline),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            next_wait(&failure(429, None, Some(0)), short, now, deadline),
            Some(Duration::from_millis(75)),
            "`Retry-After: 0` is Stripe's word, spread by a quarter of the backoff"
        );
        assert_eq!(
            next_wait(&failure(429, None, Some(9)), short, now, deadline),
            None,
            "a wait past the budget gives up now"
        );
        assert_eq!(
            next_wait(&failure(429, None, None), None, now, deadline),
            None,
            "a spent backoff gives up"
        );
    }

    #[tokio::test]
    async fn a_pause_holds_back_every_lookup_of_the_process() {
        use futures::FutureExt;
        let process = Limits::default();
        let (one, other) = (process.for_lookup(), process.for_lookup());
        assert!(
            other.wait_out_pause().now_or_never().is_some(),
            "no pause: no wait"
        );
        one.pause(Duration::from_secs(60));
        assert!(
            other.wait_out_pause().now_or_never().is_none(),
            "another lookup waits too"
        );
        one.pause(Duration::from_millis(1));
        assert!(
            other.wait_out_pause().now_or_never().is_none(),
            "a shorter pause does not cut a longer one"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_copy_waits_for_its_turn_and_shares_the_pause() {
        use futures::FutureExt;
        let process = Limits::default();
        let paced = process.paced(Arc::new(ReadLimiter::new(10)));
        assert_eq!(paced.pace.as_ref().map(|p| p.rate()), Some(10));
        let first = paced.acquire().await;
        drop(first);
        assert!(
            paced.acquire().now_or_never().is_none(),
            "the next turn is 100 ms away"
        );
        assert!(
            process.acquire().now_or_never().is_some(),
            "an unpaced lookup does not wait for the rate"
        );
        paced.pause(Duration::from_secs(60));
        assert!(process.is_paused(), "a scan's 429 pauses the lookups too");
    }

    #[tokio::test]
    async fn a_lookup_never_has_more_than_its_share_in_flight() {
        use futures::FutureExt;
        let process = Limits::default();
        let lookup = process.for_lookup();
        let mut held = Vec::new();
        for _ in 0..LOOKUP_IN_FLIGHT {
            held.push(lookup.acquire().await);
        }
        assert!(
            lookup.acquire().now_or_never().is_none(),
            "the next request of the lookup waits for a slot"
        );
        assert!(
            process.acquire().now_or_never().is_some(),
            "other work still has room"
        );
        held.pop();
        assert!(lookup.acquire().now_or_never().is_some());
    }
}
