//! Slack deliveries already handled, so that a request delivered twice (a
//! Slack retry, a replayed signed request) runs once. One key per delivery,
//! `delivery:<digest>`, set only if absent and expiring on its own; what a
//! digest is and how long it is kept are the caller's.

use super::{map_err, Store, StoreError};

/// Key suffix of a delivery marker, followed by its digest.
pub const DELIVERY_KEY: &str = "delivery:";

impl Store {
    /// Records the delivery `digest` for `ttl_secs`; `true` when this is its
    /// first delivery, `false` when it was recorded already. Atomic across
    /// replicas (`SET NX EX`).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn claim_delivery(&self, digest: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(&format!("{DELIVERY_KEY}{digest}")))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl_secs)
            .query_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(set.is_some())
    }
}
