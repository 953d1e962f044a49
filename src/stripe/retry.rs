//! Throttling, the layer every gateway request passes through: a limit on
//! requests in flight (one process-wide, one per lookup) and retries of
//! throttled answers with exponential backoff and jitter (`backon`).
//!
//! What is retried: a 429, unless Stripe says `Stripe-Should-Retry: false`,
//! and anything Stripe marks `Stripe-Should-Retry: true`. Nothing else: a
//! 5xx on a write may be saved under its idempotency key and replayed, so
//! whether it ran is for the caller to find out, not for a blind retry. A
//! retry waits at least `Retry-After`, and never past the request's budget:
//! a lookup has an operator waiting, a write runs in the background. A write
//! is retried with the same `Idempotency-Key`, so Stripe acts at most once.
//!
//! The limiter is one type, [`Limits`]. A request takes its slot before the
//! first attempt and keeps it through its retries: a throttled request
//! keeps its place instead of starving behind newer ones, and while Stripe
//! throttles, everything behind the limit slows down with it. A later
//! request-rate setting plugs in at [`Limits::acquire`] without touching
//! callers.
//!
//! Stripe's limit is per account, so a throttled request pauses every
//! request of the process until its retry ([`Limits::pause`]): otherwise
//! the requests not waiting would take all the capacity that frees up, and
//! the one waiting would be throttled again and again until its budget ran
//! out. After the pause all retry together, and a few requests in flight
//! always fit in Stripe's capacity.

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
const FIRST_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(2);

/// The in-flight limits a request is subject to; cheap to clone.
#[derive(Clone, Debug)]
pub struct Limits {
    process: Arc<Semaphore>,
    /// Set on the gateway copy a lookup uses.
    lookup: Option<Arc<Semaphore>>,
    /// No attempt starts before this instant (process-wide).
    paused_until: Arc<std::sync::Mutex<Option<Instant>>>,
}

/// Held while one request (all its attempts) is in flight.
pub struct Permit {
    _lookup: Option<OwnedSemaphorePermit>,
    _process: Option<OwnedSemaphorePermit>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            process: Arc::new(Semaphore::new(PROCESS_IN_FLIGHT)),
            lookup: None,
            paused_until: Arc::default(),
        }
    }
}

impl Limits {
    /// Limits allowing `in_flight` requests across the process (at least
    /// [`PROCESS_IN_FLIGHT`]). `startup::deps` builds one for the gateway and
    /// the report scans together, so both share the slots and the pause.
    pub fn new(in_flight: usize) -> Self {
        Self {
            process: Arc::new(Semaphore::new(in_flight.max(PROCESS_IN_FLIGHT))),
            lookup: None,
            paused_until: Arc::default(),
        }
    }

    /// The same process-wide limit plus a fresh per-lookup one.
    pub fn for_lookup(&self) -> Self {
        Self {
            process: Arc::clone(&self.process),
            lookup: Some(Arc::new(Semaphore::new(LOOKUP_IN_FLIGHT))),
            paused_until: Arc::clone(&self.paused_until),
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

    /// Waits for room for one request. Always lookup first, then process,
    /// so two waiters never hold each other's next permit.
    pub async fn acquire(&self) -> Permit {
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

/// Whether Stripe would have this attempt repeated.
pub fn retryable(failure: &Failure) -> bool {
    match (failure.should_retry, failure.status) {
        (Some(false), _) => false,
        (Some(true), _) => true,
        (None, Some(429)) => true,
        _ => false,
    }
}

/// The wait before the next attempt: the backoff's, or `Retry-After` when
/// longer; `None` (give up) when the backoff is spent or the wait would end
/// past `deadline`.
pub fn next_wait(
    failure: &Failure,
    backoff: Option<Duration>,
    now: Instant,
    deadline: Instant,
) -> Option<Duration> {
    let wait = backoff?.max(failure.retry_after.unwrap_or_default());
    (now + wait <= deadline).then_some(wait)
}

/// Sends `req` in a slot of `limits`, retrying as the module doc says,
/// within `budget` from the first attempt.
///
/// # Errors
/// The last attempt's [`Failure`].
pub async fn send(
    transport: &Transport,
    limits: &Limits,
    req: &RequestBuilder,
    key: Option<&IdempotencyKey>,
    budget: Duration,
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
    let attempt = || async {
        limits.wait_out_pause().await;
        transport.send(req, key).await
    };
    attempt
        .retry(backoff.build())
        .when(retryable)
        .adjust(|failure, backoff| next_wait(failure, backoff, Instant::now(), deadline))
        .notify(|failure, wait| {
            limits.pause(wait);
            tracing::info!(status = ?failure.status, wait_ms = wait.as_millis() as u64, path = %req.path, "Stripe throttled the request; retrying");
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

    #[test]
    fn throttling_is_retried_unless_stripe_says_no() {
        assert!(retryable(&failure(429, None, None)));
        assert!(!retryable(&failure(429, Some(false), None)));
        assert!(
            retryable(&failure(409, Some(true), None)),
            "Stripe's word wins"
        );
        assert!(
            !retryable(&failure(500, None, None)),
            "a 5xx on a write may be replayed: not retried blindly"
        );
        assert!(!retryable(&failure(400, None, None)));
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
