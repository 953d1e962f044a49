//! Stripe adapter: the only code that talks to Stripe. Owns the gateway (one
//! async-stripe client, one code path for production and the local stand-in),
//! the error enum every Stripe failure is mapped into, and the lenient models
//! responses are read into. Deciding what to do with the data is left to the
//! core; checking whether an action is allowed is left to the caller.
//!
//! Requests go through async-stripe's client but are built by hand and read
//! into our own [`models`], because its typed models follow the newest API
//! while localstripe (and older pinned accounts) answer in an older shape
//! (plans, not prices; refunds embedded in charges).

mod models;
mod mutations;
pub mod retry;
pub mod sandbox;
pub mod scan;
mod snapshot;
mod transport;

use std::time::Duration;

use serde::de::DeserializeOwned;
use stripe_client_core::{IdempotencyKey, RequestBuilder, StripeMethod};

use crate::domain::StripeKey;

pub use sandbox::{seed, SeededCustomer};

/// A cloneable handle on Stripe (or a stand-in at another base URL). Every
/// request goes through [`retry`]: in-flight limits and throttling retries.
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

    /// The same gateway under `limits`, shared with the report scans
    /// ([`scan::StripeScanner::with_limits`]), so a 429 met by either
    /// pauses both.
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

    /// GET `path` with `query`, read into `T`. `what` names the object for
    /// error messages (an id, never an email).
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<T, StripeError> {
        let mut req = RequestBuilder::new(StripeMethod::Get, path);
        req.query = encode(query)?;
        self.send(req, None, what).await
    }

    /// POST a form with `key`: every retry (throttling) sends the same key,
    /// so Stripe replays instead of acting twice.
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        key: &str,
        what: &str,
    ) -> Result<T, StripeError> {
        let mut req = RequestBuilder::new(StripeMethod::Post, path);
        req.body = Some(encode(form)?.unwrap_or_default());
        self.send(req, Some(idempotent(key)?), what).await
    }

    async fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        key: &str,
        what: &str,
    ) -> Result<T, StripeError> {
        let mut req = RequestBuilder::new(StripeMethod::Delete, path);
        req.query = encode(query)?;
        self.send(req, Some(idempotent(key)?), what).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        key: Option<IdempotencyKey>,
        what: &str,
    ) -> Result<T, StripeError> {
        let budget = if key.is_some() {
            retry::WRITE_BUDGET
        } else {
            retry::READ_BUDGET
        };
        let body = retry::send(&self.transport, &self.limits, &req, key.as_ref(), budget)
            .await
            .map_err(|failure| classify(failure.error, what))?;
        serde_json::from_slice(&body).map_err(|e| StripeError::Unreadable {
            what: what.to_owned(),
            detail: "unexpected shape".into(),
            source: Some(e),
        })
    }
}

/// Form-encodes repeated pairs (`expand[]` twice, `metadata[k]`) as Stripe
/// expects; async-stripe's own encoder wants a struct, not a pair list.
fn encode(pairs: &[(&str, &str)]) -> Result<Option<String>, StripeError> {
    if pairs.is_empty() {
        return Ok(None);
    }
    serde_urlencoded::to_string(pairs)
        .map(Some)
        .map_err(|e| StripeError::Config {
            detail: format!("a request could not be encoded: {e}"),
        })
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
