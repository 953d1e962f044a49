//! Stripe adapter: the only code that talks to Stripe. Owns the gateway (one
//! async-stripe client, one code path for production and the local stand-in),
//! the error enum every Stripe failure is mapped into, and the lenient models
//! responses are read into. Deciding what to do with the data is left to the
//! core; checking whether an action is allowed is left to the caller.
//!
//! One API version: every request names the version async-stripe pins
//! (`stripe_shared::version::VERSION`, sent by `transport` whatever the
//! account's default), is built with async-stripe's request builders where
//! its crates have them, and its answer is read into the generated type of
//! that version ([`models`]). Moving to a newer version is one change: the
//! async-stripe crates' version in `Cargo.toml`, then what no longer
//! compiles, then the test shape layer's changelog list
//! (`scripts/stripe_pinned.py`).

mod models;
mod mutations;
pub mod retry;
pub mod sandbox;
pub mod scan;
mod snapshot;
mod transport;

#[cfg(test)]
mod fuzz_tests;

use std::time::Duration;

use stripe_client_core::{IdempotencyKey, RequestBuilder, StripeMethod, StripeRequest};

use crate::domain::StripeKey;

pub use sandbox::{seed, SeededCustomer};

/// A cloneable handle on Stripe (or a stand-in at another base URL). Every
/// request, the report scans' included ([`scan::StripeScanner`] is built
/// from a gateway), goes through [`retry`]: in-flight limits, pacing and
/// one retry policy.
#[derive(Clone)]
pub struct StripeGateway {
    transport: transport::Transport,
    limits: retry::Limits,
}

/// What failed when talking to Stripe. `Display` is operator text and never
/// holds the API key.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    #[error(
        "Stripe could not be reached ({detail}): check STRIPE_API_BASE and the network, then retry"
    )]
    Unreachable {
        detail: String,
        #[source]
        source: ::stripe::StripeError,
    },
    #[error("Stripe did not answer in time: retry in a moment")]
    TimedOut {
        #[source]
        source: ::stripe::StripeError,
    },
    #[error(
        "Stripe refused the API key (HTTP {status}): check STRIPE_SECRET_KEY and its permissions"
    )]
    KeyRefused {
        status: u16,
        #[source]
        source: ::stripe::StripeError,
    },
    #[error("Stripe has no {what}: check the id")]
    NotFound {
        what: String,
        #[source]
        source: ::stripe::StripeError,
    },
    #[error("Stripe rejected the request for {what} (HTTP {status}): {message}")]
    Rejected {
        what: String,
        status: u16,
        message: String,
        #[source]
        source: ::stripe::StripeError,
    },
    #[error("Stripe's answer for {what} could not be read ({detail}): check that STRIPE_API_BASE points at Stripe")]
    Unreadable {
        what: String,
        detail: String,
        #[source]
        source: Option<serde_json::Error>,
    },
    #[error("this Stripe account has no billing portal configured: send the hosted invoice link instead, or configure the portal in the Stripe dashboard")]
    PortalNotConfigured {
        #[source]
        source: Box<StripeError>,
    },
    #[error("the sandbox refuses a live Stripe key: use a test-mode key (sk_test_...) or a local stand-in")]
    LiveKeyRefused,
    #[error("the Stripe client could not be configured ({detail}): check STRIPE_API_BASE")]
    Config { detail: String },
    #[error("idempotency key `{key}` is unusable ({detail}): it must be 1 to 255 characters")]
    BadIdempotencyKey { key: String, detail: String },
}

/// How long one attempt of a Stripe request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

impl StripeGateway {
    /// A gateway on `api_base` (e.g. `https://api.stripe.com/`); a missing
    /// trailing `/` is added, because the client appends `v1/...` directly.
    ///
    /// # Errors
    /// [`StripeError::Config`] when the base URL or key cannot be used.
    pub fn new(key: &StripeKey, api_base: &str) -> Result<Self, StripeError> {
        let trimmed = api_base.trim();
        if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
            return Err(StripeError::Config {
                detail: format!(
                    "`{}` is not an http(s) URL",
                    trimmed.chars().take(80).collect::<String>()
                ),
            });
        }
        let base = if trimmed.ends_with('/') {
            trimmed.to_owned()
        } else {
            format!("{trimmed}/")
        };
        let transport = transport::Transport::new(key.expose(), base, REQUEST_TIMEOUT)
            // Keep only the kind: an error text could echo the key header.
            .map_err(|_| StripeError::Config {
                detail: "invalid key or base URL".into(),
            })?;
        Ok(Self {
            transport,
            limits: retry::Limits::default(),
        })
    }

    /// The same gateway under `limits` (`startup::deps` builds them for
    /// the process); the report scanner made from it shares them, so a 429
    /// met by a scan or a lookup pauses both.
    #[must_use]
    pub fn with_limits(mut self, limits: retry::Limits) -> Self {
        self.limits = limits;
        self
    }

    /// A copy for one lookup: its requests share the process-wide limit
    /// and have a few slots of their own, so one wide fan-out cannot
    /// trip Stripe's rate limit or starve other lookups.
    pub fn for_lookup(&self) -> Self {
        Self {
            transport: self.transport.clone(),
            limits: self.limits.for_lookup(),
        }
    }

    /// Sends one request built by async-stripe's request builders (or by
    /// hand where its crates have none) and reads the answer into its
    /// generated type. `key` makes it a write: every retry sends the same
    /// key, so Stripe replays instead of acting twice.
    async fn call<T: miniserde::Deserialize>(
        &self,
        req: RequestBuilder,
        key: Option<&str>,
        what: &str,
    ) -> Result<T, StripeError> {
        let key = key.map(idempotent).transpose()?;
        let body = self.send(canonical(req)?, key, what).await?;
        read(&body, what)
    }

    /// [`Self::call`] for a request of async-stripe's builders: the answer
    /// is read into the builder's own output type.
    async fn request<R>(
        &self,
        req: &R,
        key: Option<&str>,
        what: &str,
    ) -> Result<R::Output, StripeError>
    where
        R: StripeRequest,
        R::Output: miniserde::Deserialize,
    {
        self.call(req.build(), key, what).await
    }

    /// POSTs a hand-built form (the sandbox's seeding calls) with `key`.
    async fn post_form<T: miniserde::Deserialize>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        key: &str,
        what: &str,
    ) -> Result<T, StripeError> {
        let req = hand_built(StripeMethod::Post, path, form)?;
        self.call(req, Some(key), what).await
    }

    async fn send(
        &self,
        req: RequestBuilder,
        key: Option<IdempotencyKey>,
        what: &str,
    ) -> Result<bytes::Bytes, StripeError> {
        let budget = if key.is_some() {
            retry::WRITE_BUDGET
        } else {
            retry::READ_BUDGET
        };
        retry::send(
            &self.transport,
            &self.limits,
            &req,
            key.as_ref(),
            budget,
            None,
        )
        .await
        .map_err(|failure| classify(failure.error, what))
    }

    /// The same gateway for the report scans: every request paced by
    /// `limiter` (`STRIPE_READ_RATE`), still under the process's limits,
    /// its connections kept open between pages.
    fn paced(&self, limiter: std::sync::Arc<retry::ReadLimiter>) -> Self {
        Self {
            transport: self.transport.keep_alive(),
            limits: self.limits.paced(limiter),
        }
    }

    /// One read of a report scan: the scan's budget ([`retry::SCAN_BUDGET`]),
    /// its attempts and 429s counted in `tally`; the body, for the scan to
    /// read.
    async fn scan_read(
        &self,
        req: &RequestBuilder,
        what: &str,
        tally: &retry::Tally,
    ) -> Result<bytes::Bytes, StripeError> {
        retry::send(
            &self.transport,
            &self.limits,
            req,
            None,
            retry::SCAN_BUDGET,
            Some(tally),
        )
        .await
        .map_err(|failure| classify(failure.error, what))
    }
}

/// Reads an answer into the pinned version's generated type.
fn read<T: miniserde::Deserialize>(body: &[u8], what: &str) -> Result<T, StripeError> {
    let unreadable = |detail: &str| StripeError::Unreadable {
        what: what.to_owned(),
        detail: detail.to_owned(),
        source: None,
    };
    let text = std::str::from_utf8(body).map_err(|_| unreadable("not UTF-8"))?;
    miniserde::json::from_str(text)
        .map_err(|_| unreadable("not the shape of the pinned API version"))
}

/// The request with its form pairs (query and body) in one fixed order, so
/// the same request is the same bytes every time: the builders take
/// metadata as a `HashMap`, whose order changes from process to process,
/// and a retry under a new key must send exactly what the first attempt did.
fn canonical(mut req: RequestBuilder) -> Result<RequestBuilder, StripeError> {
    let sort = |encoded: &str| -> Result<String, StripeError> {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(encoded).map_err(not_encodable)?;
        // Stable: repeated keys (`expand[]`) keep their order.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        serde_urlencoded::to_string(&pairs).map_err(not_encodable)
    };
    req.query = req.query.as_deref().map(sort).transpose()?;
    req.body = req.body.as_deref().map(sort).transpose()?;
    Ok(req)
}

/// A hand-built request: `method` on `path` with form-encoded `pairs`
/// (as the query of a GET or DELETE, the body of a POST).
fn hand_built(
    method: StripeMethod,
    path: &str,
    pairs: &[(&str, &str)],
) -> Result<RequestBuilder, StripeError> {
    let mut req = RequestBuilder::new(method, path);
    let encoded = encode(pairs)?;
    match method {
        StripeMethod::Post => req.body = Some(encoded.unwrap_or_default()),
        StripeMethod::Get | StripeMethod::Delete => req.query = encoded,
    }
    Ok(req)
}

/// Form-encodes repeated pairs (`expand[]` twice, `metadata[k]`) as Stripe
/// expects; async-stripe's own encoder wants a struct, not a pair list.
fn encode(pairs: &[(&str, &str)]) -> Result<Option<String>, StripeError> {
    if pairs.is_empty() {
        return Ok(None);
    }
    serde_urlencoded::to_string(pairs)
        .map(Some)
        .map_err(not_encodable)
}

fn not_encodable(e: impl std::fmt::Display) -> StripeError {
    StripeError::Config {
        detail: format!("a request could not be encoded: {e}"),
    }
}

fn idempotent(key: &str) -> Result<IdempotencyKey, StripeError> {
    IdempotencyKey::new(key).map_err(|e| StripeError::BadIdempotencyKey {
        key: key.chars().take(40).collect(),
        detail: e.to_string(),
    })
}

/// Maps async-stripe's error into ours, by what failed.
fn classify(error: ::stripe::StripeError, what: &str) -> StripeError {
    use ::stripe::StripeError as E;
    match &error {
        E::Stripe(api, status) => {
            let status = *status;
            let message = redact(api.message.as_deref().unwrap_or("no message"));
            match status {
                401 | 403 => StripeError::KeyRefused {
                    status,
                    source: error,
                },
                404 => StripeError::NotFound {
                    what: what.to_owned(),
                    source: error,
                },
                _ => StripeError::Rejected {
                    what: what.to_owned(),
                    status,
                    message,
                    source: error,
                },
            }
        }
        E::ClientError(detail) => StripeError::Unreachable {
            detail: redact(detail),
            source: error,
        },
        E::Timeout => StripeError::TimedOut { source: error },
        E::JSONDeserialize(detail) => StripeError::Unreadable {
            what: what.to_owned(),
            detail: redact(detail),
            source: None,
        },
        E::ConfigError(detail) => StripeError::Config {
            detail: redact(detail),
        },
    }
}

/// Stripe's own messages can quote part of a key ("Invalid API Key provided:
/// sk_test_****1234"); drop any word that looks like one.
fn redact(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let bare = word.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
            if ["sk_", "rk_", "pk_", "whsec_"]
                .iter()
                .any(|p| bare.starts_with(p))
            {
                "[redacted key]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl StripeError {
    /// The error means the object does not exist (or is not visible to the key).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Stripe's answer does not say whether a write happened: no answer
    /// (timeout, reset, refused), an unreadable one, a 5xx (Stripe may have
    /// acted), 429 (left after the retries), 409 (the same key is still in
    /// flight) or an `idempotency_error` (the key was used before, with other
    /// parameters). Only Stripe's state can tell; every other error is a
    /// clear refusal of the request.
    pub fn is_unclear(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::TimedOut { .. } | Self::Unreadable { .. } => true,
            Self::Rejected { status, source, .. } => {
                let idempotency = matches!(source, ::stripe::StripeError::Stripe(api, _) if api.type_ == ::stripe::ApiErrorsType::IdempotencyError);
                *status >= 500 || *status == 429 || *status == 409 || idempotency
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_answer_that_says_what_happened_is_clear() {
        let source = || ::stripe::StripeError::Timeout;
        let rejected = |status| StripeError::Rejected {
            what: "refund".into(),
            status,
            message: "x".into(),
            source: source(),
        };
        assert!(StripeError::TimedOut { source: source() }.is_unclear());
        assert!(
            rejected(500).is_unclear()
                && rejected(503).is_unclear()
                && rejected(429).is_unclear()
                && rejected(409).is_unclear()
        );
        assert!(!rejected(400).is_unclear() && !rejected(402).is_unclear());
        assert!(!StripeError::NotFound {
            what: "ch_1".into(),
            source: source()
        }
        .is_unclear());
    }

    #[test]
    fn redact_drops_words_that_look_like_keys() {
        assert_eq!(
            redact("Invalid API Key provided: sk_test_****1234"),
            "Invalid API Key provided: [redacted key]"
        );
        assert_eq!(redact("No such charge: 'ch_1'"), "No such charge: 'ch_1'");
    }

    #[test]
    fn new_adds_the_trailing_slash_and_refuses_other_schemes() {
        let key = StripeKey::parse("sk_test_x1").expect("test key");
        assert!(StripeGateway::new(&key, "http://127.0.0.1:1").is_ok());
        assert!(matches!(
            StripeGateway::new(&key, "localhost:1"),
            Err(StripeError::Config { .. })
        ));
    }
}
