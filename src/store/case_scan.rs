//! Reading every stored case, for the gaps report: a cursor `SCAN` over the
//! case keys and `MGET` per batch, each case handed to the caller and then
//! dropped, so memory holds one batch. Case records expire after
//! [`super::cases::CASE_TTL_SECS`], so this sees the last 30 days at most.

use redis::AsyncCommands;

use super::{map_err, Store, StoreError};
use crate::domain::Case;

/// Keys read per round trip.
const BATCH: usize = 500;

impl Store {
    /// Calls `f` with every stored case; returns how many records could not
    /// be read (an older format, or corrupt) and were skipped.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn for_each_case(&self, mut f: impl FnMut(Case)) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let pattern = self.key("case:*");
        let mut cursor: u64 = 0;
        let mut unreadable = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(BATCH)
                .query_async(&mut conn)
                .await
                .map_err(map_err)?;
            // `case:<id>` holds the case; `case:<id>:card` its card location.
            let cases: Vec<String> = keys.into_iter().filter(|k| !k.ends_with(":card")).collect();
            if !cases.is_empty() {
                let values: Vec<Option<String>> = conn.mget(&cases).await.map_err(map_err)?;
                for json in values.into_iter().flatten() {
                    match serde_json::from_str::<Case>(&json) {
                        Ok(case) => f(case),
                        Err(_) => unreadable += 1,
                    }
                }
            }
            cursor = next;
            if cursor == 0 {
                return Ok(unreadable);
            }
        }
    }
}
