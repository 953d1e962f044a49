//! Redis adapter: the one place that speaks to Redis. Owns the connection,
//! the key prefix (`REDIS_PREFIX`, so deployments and test runs can share a
//! server) and the error type. What is stored lives in sibling files: the
//! audit stream (`audit.rs`), cases and action states.
//!
//! The connection is made on first use and remade after a failure, so that
//! `serve` starts and answers `/healthz` while Redis is down, and recovers
//! by itself when Redis comes back.
//!
//! Every Redis call is time-boxed: connecting, waiting for this replica's
//! turn to connect, and each command get [`CALL_TIMEOUT`] each, so a Redis
//! that hangs costs a caller about a second (and a Slack acknowledgement
//! stays inside its 3 s). A connection that timed out is dropped, not
//! reused: the next call connects afresh, so the first request after Redis
//! comes back succeeds. `rediss://` URLs use TLS (rustls, webpki roots).
//!
//! Behind Redis Sentinel (`redis+sentinel://`, see [`target`]) each new
//! connection asks the sentinels for the current primary. A connection that
//! breaks, times out or meets a primary demoted to replica (`READONLY`) is
//! dropped, so the next call follows a failover without a restart.

pub mod actions;
pub mod archive;
pub mod audit;
pub mod case_scan;
pub mod cases;
pub mod deliveries;
pub mod home;
pub mod report_figures;
pub mod target;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Cmd, ConnectionAddr, Pipeline, RedisError, RedisFuture, TlsMode, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
pub use target::RedisTarget;
use tokio::sync::Mutex;

/// Everything that can go wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `Display` names the cause: TLS, refused, credentials, timeout.
    #[error("{}", unavailable_text(.0))]
    Unavailable(#[source] redis::RedisError),
    #[error("a Redis command failed")]
    Command(#[source] redis::RedisError),
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("the audit log kept losing the race to other writers ({tries} tries); try again")]
    Contended { tries: u32 },
    /// `WAIT`: fewer replicas than asked acknowledged the writes in time.
    #[error(
        "Redis did not confirm the write on {wanted} replica(s) within {} ms ({got} did): a failover now could lose it",
        .timeout.as_millis()
    )]
    NotReplicated {
        wanted: u32,
        got: u32,
        timeout: Duration,
    },
}

/// How many replicas must acknowledge the writes before money moves
/// (`REDIS_WAIT_REPLICAS`, `REDIS_WAIT_TIMEOUT_MS`): see
/// [`Store::replicated`]. `replicas: 0` turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaWait {
    pub replicas: u32,
    pub timeout: Duration,
}

impl ReplicaWait {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
    pub const OFF: Self = Self {
        replicas: 0,
        timeout: Self::DEFAULT_TIMEOUT,
    };
}

/// After a `WAIT` came up short, later ones fail at once for this long
/// instead of each holding the shared connection for the whole timeout.
const WAIT_SHORT_FOR: Duration = Duration::from_secs(5);

/// What a `rediss://` connection trusts and shows beyond the public web
/// roots: a private CA (`REDIS_CA_CERT`), and a client certificate and key
/// (`REDIS_CLIENT_CERT`, `REDIS_CLIENT_KEY`), each PEM. `Debug` shows only
/// which are set: a key never reaches a log.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RedisTls {
    pub ca_cert: Option<Vec<u8>>,
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

impl RedisTls {
    pub fn is_empty(&self) -> bool {
        self.ca_cert.is_none() && self.client.is_none()
    }
}

impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTls")
            .field("ca_cert", &self.ca_cert.is_some())
            .field("client_cert", &self.client.is_some())
            .finish()
    }
}

/// Handle to Redis; cheap to clone, shared by all tasks of a replica.
#[derive(Clone)]
pub struct Store {
    source: Source,
    /// Prefix of every key, ending in `:`.
    prefix: String,
    /// The live connection, made lazily.
    conn: Arc<Slot>,
    /// The audit append lock of this replica, holding the head it last
    /// wrote (see `audit.rs`): clones share it, separate stores do not.
    audit_head: Arc<Mutex<Option<String>>>,
    wait: ReplicaWait,
    /// When a `WAIT` last came up short, and what it got.
    wait_short: Arc<std::sync::Mutex<Option<(std::time::Instant, u32)>>>,
}

/// Where connections come from: one server, or the primary the sentinels
/// name at the time of connecting.
#[derive(Clone)]
enum Source {
    Server(redis::Client),
    Sentinel(Arc<Mutex<SentinelClient>>),
}

impl Source {
    fn tls(&self) -> bool {
        match self {
            Self::Server(client) => matches!(
                client.get_connection_info().addr,
                ConnectionAddr::TcpTls { .. }
            ),
            Self::Sentinel(_) => false,
        }
    }

    /// The client of the server to connect to now: for Sentinel, the
    /// primary the sentinels name (and which says it is one).
    async fn client(&self) -> Result<redis::Client, RedisError> {
        match self {
            Self::Server(client) => Ok(client.clone()),
            Self::Sentinel(sentinel) => sentinel.lock().await.async_get_client().await,
        }
    }
}

/// The shared connection and who is making it.
#[derive(Default)]
struct Slot {
    /// The connection and its number; `None` until one succeeds, and again
    /// after it timed out. Never held across an await.
    current: std::sync::Mutex<Option<(u64, ConnectionManager)>>,
    /// One connection attempt at a time; the others wait (time-boxed).
    connecting: Mutex<()>,
    next_id: AtomicU64,
    /// The last failed attempt: when, its I/O kind, its text. Callers that
    /// waited for that attempt fail with it instead of trying again at once.
    last_failure: std::sync::Mutex<Option<(std::time::Instant, std::io::ErrorKind, String)>>,
}

impl Slot {
    fn get(self: &Arc<Self>) -> Option<Conn> {
        let current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        current.as_ref().map(|(id, manager)| Conn {
            inner: manager.clone(),
            id: *id,
            slot: Arc::clone(self),
        })
    }

    fn record_failure(&self, error: &RedisError) {
        let kind = if error.is_timeout() {
            std::io::ErrorKind::TimedOut
        } else if error.is_connection_refusal() {
            std::io::ErrorKind::ConnectionRefused
        } else {
            std::io::ErrorKind::Other
        };
        let mut last = self
            .last_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = Some((
            std::time::Instant::now(),
            kind,
            format!("{error} ({error:?})"),
        ));
    }

    /// The failure of an attempt that ended after `since` (one the caller
    /// waited for), with its kind and text, so its cause is still named.
    fn failure_since(&self, since: std::time::Instant) -> Option<RedisError> {
        let last = self
            .last_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, kind, text) = last.as_ref()?;
        (*at >= since).then(|| {
            RedisError::from(std::io::Error::new(
                *kind,
                format!("the connection attempt waited for failed: {text}"),
            ))
        })
    }

    /// Drops connection `id` if it is still the current one.
    fn forget(&self, id: u64) {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.as_ref().is_some_and(|(held, _)| *held == id) {
            *current = None;
        }
    }
}

/// How long one Redis step (connecting, a turn to connect, a command) may
/// take; "about a second" keeps two steps inside Slack's 3 s.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection whose every command is time-boxed by [`CALL_TIMEOUT`]; one
/// that times out or breaks is dropped from the store.
#[derive(Clone)]
pub struct Conn {
    inner: ConnectionManager,
    id: u64,
    slot: Arc<Slot>,
}

impl Conn {
    /// After a timeout or a broken connection, the next call reconnects.
    fn settle<T>(
        &self,
        result: Result<Result<T, RedisError>, tokio::time::error::Elapsed>,
    ) -> Result<T, RedisError> {
        let result = result.unwrap_or_else(|_| Err(timed_out("a command")));
        if let Err(e) = &result {
            // READONLY: the server was demoted to a replica by a failover.
            if e.is_timeout()
                || e.is_io_error()
                || e.is_connection_dropped()
                || e.kind() == redis::ErrorKind::ReadOnly
            {
                self.slot.forget(self.id);
            }
        }
        result
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let result =
                tokio::time::timeout(CALL_TIMEOUT, self.inner.req_packed_command(cmd)).await;
            self.settle(result)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let result = tokio::time::timeout(
                CALL_TIMEOUT,
                self.inner.req_packed_commands(cmd, offset, count),
            )
            .await;
            self.settle(result)
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

/// The error of a step that took longer than [`CALL_TIMEOUT`].
pub fn timed_out(step: &str) -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("{step} took longer than {} ms", CALL_TIMEOUT.as_millis()),
    ))
}

impl Store {
    /// Prepares a store; does not connect yet.
    ///
    /// # Errors
    /// When `url` is not a Redis URL.
    pub fn new(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Self::connect(url, prefix, &RedisTls::default())
    }

    /// [`Store::new`] for a `rediss://` Redis with its own CA and, when the
    /// server asks for one, a client certificate.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL or the certificates cannot
    /// be used.
    pub fn connect(url: &str, prefix: &str, tls: &RedisTls) -> Result<Self, StoreError> {
        let target = RedisTarget::parse(url).map_err(|e| {
            StoreError::Unavailable(RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "REDIS_URL cannot be used",
                e.to_string(),
            )))
        })?;
        let certificates = || redis::TlsCertificates {
            client_tls: tls
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: tls.ca_cert.clone(),
        };
        let source = match target {
            RedisTarget::Server(url) if tls.is_empty() => {
                redis::Client::open(url).map(Source::Server)
            }
            RedisTarget::Server(url) => {
                redis::Client::build_with_tls(url, certificates()).map(Source::Server)
            }
            RedisTarget::Sentinel(s) => {
                let addrs = s.sentinels.iter().map(|(host, port)| {
                    if s.tls {
                        ConnectionAddr::TcpTls {
                            host: host.clone(),
                            port: *port,
                            insecure: false,
                            tls_params: None,
                        }
                    } else {
                        ConnectionAddr::Tcp(host.clone(), *port)
                    }
                });
                SentinelClientBuilder::new(addrs, s.master.clone(), SentinelServerType::Master)
                    .map(|b| {
                        let mut b = b.set_client_to_redis_db(s.db);
                        if let Some(user) = &s.username {
                            b = b
                                .set_client_to_redis_username(user.clone())
                                .set_client_to_sentinel_username(user.clone());
                        }
                        if let Some(password) = &s.password {
                            b = b
                                .set_client_to_redis_password(password.clone())
                                .set_client_to_sentinel_password(password.clone());
                        }
                        if s.tls {
                            b = b
                                .set_client_to_redis_tls_mode(TlsMode::Secure)
                                .set_client_to_sentinel_tls_mode(TlsMode::Secure);
                            if !tls.is_empty() {
                                b = b
                                    .set_client_to_redis_certificates(certificates())
                                    .set_client_to_sentinel_certificates(certificates());
                            }
                        }
                        b
                    })
                    .and_then(SentinelClientBuilder::build)
                    .map(|client| Source::Sentinel(Arc::new(Mutex::new(client))))
            }
        }
        .map_err(StoreError::Unavailable)?;
        Ok(Self {
            source,
            prefix: prefix.to_owned(),
            conn: Arc::new(Slot::default()),
            audit_head: Arc::new(Mutex::new(None)),
            wait: ReplicaWait::OFF,
            wait_short: Arc::default(),
        })
    }

    /// This store with [`Store::replicated`] asking for `wait`.
    #[must_use]
    pub fn with_replica_wait(mut self, wait: ReplicaWait) -> Self {
        self.wait = wait;
        self
    }

    /// Waits until `REDIS_WAIT_REPLICAS` replicas hold every write made so
    /// far on this replica's connection (Redis `WAIT`), so that a failover
    /// cannot lose them. Called once per run, after the write-ahead intent
    /// and before the first Stripe write: the claim and the intent are what
    /// keeps a second approver, after a failover, from sending the money
    /// move again. Off (`Ok` at once) with `replicas: 0`.
    ///
    /// # Errors
    /// [`StoreError::NotReplicated`] when fewer replicas answered in time
    /// (and for [`WAIT_SHORT_FOR`] after that, without asking: a `WAIT`
    /// holds the shared connection for its whole timeout).
    pub async fn replicated(&self) -> Result<(), StoreError> {
        let ReplicaWait { replicas, timeout } = self.wait;
        if replicas == 0 {
            return Ok(());
        }
        let short = |got| StoreError::NotReplicated {
            wanted: replicas,
            got,
            timeout,
        };
        let recent = *self
            .wait_short
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, got)) = recent {
            if at.elapsed() < WAIT_SHORT_FOR {
                return Err(short(got));
            }
        }
        let mut conn = self.conn().await?;
        let got: u32 = redis::cmd("WAIT")
            .arg(replicas)
            .arg(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX))
            .query_async(&mut conn)
            .await
            .map_err(map_err)?;
        let mut recent = self
            .wait_short
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if got >= replicas {
            *recent = None;
            Ok(())
        } else {
            *recent = Some((std::time::Instant::now(), got));
            Err(short(got))
        }
    }

    /// `{prefix}{suffix}`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A connection, made now if there is none; at most [`CALL_TIMEOUT`]
    /// waiting for another caller's attempt plus [`CALL_TIMEOUT`] for ours.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached in time.
    pub async fn conn(&self) -> Result<Conn, StoreError> {
        if let Some(conn) = self.conn.get() {
            return Ok(conn);
        }
        let waited_from = std::time::Instant::now();
        let _turn = tokio::time::timeout(CALL_TIMEOUT, self.conn.connecting.lock())
            .await
            .map_err(|_| StoreError::Unavailable(timed_out("waiting for the Redis connection")))?;
        // Someone else may have connected, or failed to, while we waited.
        if let Some(conn) = self.conn.get() {
            return Ok(conn);
        }
        if let Some(error) = self.conn.failure_since(waited_from) {
            return Err(StoreError::Unavailable(error));
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CALL_TIMEOUT)
            .set_response_timeout(CALL_TIMEOUT)
            .set_number_of_retries(0);
        // A TLS handshake with a server that does not speak TLS does not
        // fail: it waits. Say so rather than "timed out".
        let tls = self.source.tls();
        let step = match (&self.source, tls) {
            (Source::Sentinel(_), _) => "asking the sentinels for the primary and connecting",
            (_, true) => "connecting over TLS (rediss://)",
            (_, false) => "connecting",
        };
        let manager = tokio::time::timeout(CALL_TIMEOUT, async {
            self.source
                .client()
                .await?
                .get_connection_manager_with_config(config)
                .await
        })
        .await
        .unwrap_or_else(|_| Err(timed_out(step)))
        .map_err(|e| {
            if tls && e.is_timeout() {
                timed_out(step)
            } else {
                e
            }
        })
        .map_err(|e| {
            self.conn.record_failure(&e);
            StoreError::Unavailable(e)
        })?;
        let id = self.conn.next_id.fetch_add(1, Ordering::Relaxed);
        *self
            .conn
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((id, manager.clone()));
        Ok(Conn {
            inner: manager,
            id,
            slot: Arc::clone(&self.conn),
        })
    }

    /// `PING`, for `/readyz`.
    ///
    /// # Errors
    /// When Redis does not answer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

/// Why Redis could not be used, for the operator: the real cause, and what
/// to check.
fn unavailable_text(error: &RedisError) -> String {
    let detail = format!("{error} {error:?}").to_ascii_lowercase();
    let tls_words = [
        "tls",
        "certificate",
        "corrupt message",
        "handshake",
        "peer is incompatible",
        "alert",
    ];
    if detail.contains("over tls") && error.is_timeout() {
        format!(
            "Redis TLS connection not completed within {} ms: check that the rediss:// REDIS_URL points at a port \
             that speaks TLS (a plain port never answers the handshake) and that the host is reachable",
            CALL_TIMEOUT.as_millis()
        )
    } else if tls_words.iter().any(|w| detail.contains(w)) {
        "Redis TLS failed (the TLS handshake did not complete): check that a rediss:// REDIS_URL points at a TLS port \
         and that the server's certificate is valid for its host and signed by a CA the bot trusts (a private CA: \
         REDIS_CA_CERT; a server that asks for a client certificate: REDIS_CLIENT_CERT and REDIS_CLIENT_KEY)"
            .to_owned()
    } else if matches!(
        error.kind(),
        redis::ErrorKind::MasterNameNotFoundBySentinel
            | redis::ErrorKind::NoValidReplicasFoundBySentinel
    ) || detail.contains("sentinel")
    {
        "Redis Sentinel named no reachable primary: check the sentinels' addresses and the master name in \
         REDIS_URL (redis+sentinel://host:port,…/master-name); during a failover this lasts seconds, retry shortly"
            .to_owned()
    } else if error.kind() == redis::ErrorKind::AuthenticationFailed
        || ["noauth", "wrongpass", "invalid password", "authentication"]
            .iter()
            .any(|w| detail.contains(w))
    {
        "Redis refused the credentials: check the user and password in REDIS_URL".to_owned()
    } else if error.is_connection_refusal() {
        "Redis refused the connection: check REDIS_URL's host and port, and that Redis is running"
            .to_owned()
    } else if error.is_timeout() {
        format!(
            "Redis did not answer within {} ms: it is overloaded or the network to it hangs; retry shortly",
            CALL_TIMEOUT.as_millis()
        )
    } else {
        "Redis is unreachable (the connection failed or dropped): check REDIS_URL and the network"
            .to_owned()
    }
}

/// Connection-level failures are "unavailable" (the user is told to retry);
/// the rest are command errors.
pub fn map_err(err: redis::RedisError) -> StoreError {
    if err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
    {
        StoreError::Unavailable(err)
    } else {
        StoreError::Command(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: std::io::ErrorKind, text: &str) -> RedisError {
        RedisError::from(std::io::Error::new(kind, text.to_owned()))
    }

    #[test]
    fn an_unavailable_redis_names_the_real_cause() {
        let text = |e: RedisError| StoreError::Unavailable(e).to_string();
        assert!(text(io(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused"
        ))
        .contains("refused the connection"));
        assert!(text(timed_out("a command")).contains("did not answer within 1000 ms"));
        assert!(text(timed_out("connecting over TLS (rediss://)")).contains("TLS"));
        assert!(text(io(
            std::io::ErrorKind::InvalidData,
            "received corrupt message of type InvalidContentType"
        ))
        .contains("TLS"));
        assert!(text(io(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer"
        ))
        .contains("TLS"));
        let auth = RedisError::from((
            redis::ErrorKind::AuthenticationFailed,
            "Password authentication failed",
        ));
        assert!(text(auth).contains("credentials"));
        let none = text(io(std::io::ErrorKind::ConnectionReset, "reset"));
        assert!(!none.contains("redis-server is running"), "{none}");
    }
}
