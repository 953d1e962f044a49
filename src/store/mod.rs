//! Redis adapter: the one place that speaks to Redis. Owns the connection,
//! the key prefix (`REDIS_PREFIX`, so deployments and test runs can share a
//! server) and the error type. What is stored lives in sibling files: the
//! audit stream (`audit.rs`), cases and action states.
//!
//! The connection is made on first use and remade after a failure, so that
//! `serve` starts and answers `/healthz` while Redis is down, and recovers
//! by itself when Redis comes back.

pub mod actions;
pub mod audit;
pub mod case_scan;
pub mod cases;
pub mod report_figures;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;
use tokio::sync::Mutex;

/// Everything that can go wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Redis is unreachable; check REDIS_URL and that redis-server is running")]
    Unavailable(#[source] redis::RedisError),
    #[error("a Redis command failed")]
    Command(#[source] redis::RedisError),
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("the audit log kept losing the race to other writers ({tries} tries); try again")]
    Contended { tries: u32 },
}

/// Handle to Redis; cheap to clone, shared by all tasks of a replica.
#[derive(Clone)]
pub struct Store {
    client: redis::Client,
    /// Prefix of every key, ending in `:`.
    prefix: String,
    /// The live connection, made lazily; `None` until the first success.
    conn: std::sync::Arc<Mutex<Option<ConnectionManager>>>,
    /// The audit append lock of this replica, holding the head it last
    /// wrote (see `audit.rs`): clones share it, separate stores do not.
    audit_head: std::sync::Arc<Mutex<Option<String>>>,
}

/// Bounds on one Redis round trip: a slow Redis must not hold a Slack
/// acknowledgement or an approval forever.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

impl Store {
    /// Prepares a store; does not connect yet.
    ///
    /// # Errors
    /// When `url` is not a Redis URL.
    pub fn new(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::Unavailable)?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            conn: std::sync::Arc::new(Mutex::new(None)),
            audit_head: std::sync::Arc::new(Mutex::new(None)),
        })
    }

    /// `{prefix}{suffix}`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A connection, made now if there is none yet.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached.
    pub async fn conn(&self) -> Result<ConnectionManager, StoreError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(1);
        let conn = self
            .client
            .get_connection_manager_with_config(config)
            .await
            .map_err(StoreError::Unavailable)?;
        *slot = Some(conn.clone());
        Ok(conn)
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
