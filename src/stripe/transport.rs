//! The HTTP transport under the gateway: sends one request built with
//! async-stripe's `RequestBuilder` and returns the body, or a [`Failure`]
//! that keeps what the retry layer needs and async-stripe's own client drops:
//! the status, `Stripe-Should-Retry` and `Retry-After`. It sends exactly what
//! async-stripe's client sends (bearer key, pinned `Stripe-Version`, form
//! body, `Idempotency-Key`), and reports errors as async-stripe's
//! `StripeError`, so the mapping into ours (`classify`) is unchanged.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use hyper::Request;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use stripe_client_core::{IdempotencyKey, RequestBuilder, StripeMethod};

/// One failed attempt: the error as async-stripe reports it, plus the hints
/// the response carried.
#[derive(Debug)]
pub struct Failure {
    pub error: ::stripe::StripeError,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// `Stripe-Should-Retry`: Stripe's own word on whether a retry is safe.
    pub should_retry: Option<bool>,
    /// `Retry-After`, in whole seconds as Stripe sends it.
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// No answer came, for a reason a later attempt may not meet: a
    /// timeout or a connection error (not a request that cannot be built).
    pub fn is_transient(&self) -> bool {
        self.status.is_none()
            && matches!(
                self.error,
                ::stripe::StripeError::Timeout | ::stripe::StripeError::ClientError(_)
            )
    }

    fn local(error: ::stripe::StripeError) -> Self {
        Self {
            error,
            status: None,
            should_retry: None,
            retry_after: None,
        }
    }
}

/// A cloneable HTTP client for one Stripe base URL and key.
#[derive(Clone)]
pub struct Transport {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// Ends in `/`; the path (`/customers`) is appended after `v1`.
    base: String,
    /// `Bearer sk_…`, marked sensitive so no `Debug` prints it.
    auth: HeaderValue,
    timeout: Duration,
}

/// Idle connections a scan keeps for reuse: about the requests a scan has
/// in flight at a usual rate, so each page reuses one; more would keep
/// their read buffers (up to a page each) for nothing.
const KEPT_ALIVE: usize = 32;

/// The most a connection buffers of an answer before handing it on.
const READ_BUFFER: usize = 64 * 1024;

const USER_AGENT_VALUE: &str = concat!("billing-triage/", env!("CARGO_PKG_VERSION"));

impl Transport {
    /// # Errors
    /// When the key cannot be a header value (the error never holds it).
    pub fn new(key: &str, base: String, timeout: Duration) -> Result<Self, ::stripe::StripeError> {
        let mut auth = HeaderValue::try_from(format!("Bearer {key}")).map_err(|_| {
            ::stripe::StripeError::ConfigError("the key is not a valid header value".into())
        })?;
        auth.set_sensitive(true);
        // No idle keep-alive connections, as async-stripe's own client: a
        // stand-in (localstripe) may drop them under us.
        Ok(Self {
            http: client(0),
            base,
            auth,
            timeout,
        })
    }

    /// The same transport keeping idle connections open for reuse, for the
    /// report scans: thousands of pages at a steady rate, where a TLS
    /// handshake per page would cost a round trip each. A connection the
    /// server dropped meanwhile fails a read, which the retry policy
    /// repeats.
    #[must_use]
    pub fn keep_alive(&self) -> Self {
        Self {
            http: client(KEPT_ALIVE),
            ..self.clone()
        }
    }

    /// Sends `req` once, with `key` as its `Idempotency-Key` when given.
    ///
    /// # Errors
    /// A [`Failure`] for a non-2xx answer, a timeout or a connection error.
    pub async fn send(
        &self,
        req: &RequestBuilder,
        key: Option<&IdempotencyKey>,
    ) -> Result<Bytes, Failure> {
        let mut uri = format!("{}v1{}", self.base, req.path);
        if let Some(query) = &req.query {
            uri.push('?');
            uri.push_str(query);
        }
        let method = match req.method {
            StripeMethod::Get => hyper::Method::GET,
            StripeMethod::Post => hyper::Method::POST,
            StripeMethod::Delete => hyper::Method::DELETE,
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(AUTHORIZATION, self.auth.clone())
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header("stripe-version", stripe_shared::version::VERSION.as_str());
        if let Some(key) = key {
            builder = builder.header("idempotency-key", key.as_str());
        }
        if req.body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let body = Bytes::from(req.body.clone().unwrap_or_default());
        let request = builder.body(Full::new(body)).map_err(|_| {
            Failure::local(::stripe::StripeError::ConfigError(
                "the request could not be built: check STRIPE_API_BASE".into(),
            ))
        })?;

        let attempt = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| Failure::local(e.into()))?;
            let status = response.status();
            let headers = response.headers();
            let should_retry = headers
                .get("stripe-should-retry")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let retry_after = headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| Failure::local(e.into()))?
                .to_bytes();
            if status.is_success() {
                return Ok(bytes);
            }
            Err(Failure {
                error: api_error(&bytes, status.as_u16()),
                status: Some(status.as_u16()),
                should_retry,
                retry_after,
            })
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(Failure::local(::stripe::StripeError::Timeout)),
        }
    }
}

/// The HTTP client, keeping at most `idle` idle connections per host.
fn client(idle: usize) -> Client<HttpsConnector<HttpConnector>, Full<Bytes>> {
    // Stripe itself is only ever HTTPS; plain HTTP is for local stand-ins.
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(idle)
        // Stripe's pages are read whole anyway; a connection's read buffer
        // need not grow to hyper's 400 KB default for each of them.
        .http1_max_buf_size(READ_BUFFER)
        .build(connector)
}

/// Reads Stripe's `{"error": {...}}` body as async-stripe does.
fn api_error(body: &[u8], status: u16) -> ::stripe::StripeError {
    std::str::from_utf8(body)
        .ok()
        .and_then(|text| miniserde::json::from_str::<stripe_shared::Error>(text).ok())
        .map_or_else(
            || {
                ::stripe::StripeError::JSONDeserialize(format!(
                    "HTTP {status} without a Stripe error body"
                ))
            },
            |e| ::stripe::StripeError::Stripe(e.error, status),
        )
}
