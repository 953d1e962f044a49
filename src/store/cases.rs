//! Cases in Redis: the `Case` record (versioned JSON) and where its card was
//! posted, so that any replica can act on a button click. Records expire
//! after [`CASE_TTL_SECS`]; the audit stream keeps the history for good.

use super::{map_err, Store, StoreError};
use crate::domain::{Case, CaseId};
use redis::AsyncCommands;

/// Cases stay actionable and viewable for 30 days.
pub const CASE_TTL_SECS: u64 = 30 * 24 * 3600;

/// Where a case card lives in Slack.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CardLocation {
    pub channel: String,
    /// The card's own ts (for chat.update).
    pub ts: String,
    /// The thread the card was posted in, when it is a reply (the
    /// shortcut's card, in the triaged message's thread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
}

impl CardLocation {
    /// Where replies about the card go: its thread, or the one it starts
    /// (Slack asks for the parent's ts, never a reply's).
    pub fn thread(&self) -> &str {
        self.thread_ts.as_deref().unwrap_or(&self.ts)
    }
}

/// A case record's exact text when it was read (see [`Store::replace_case`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseVersion(String);

const REPLACE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
";

impl Store {
    /// # Errors
    /// Redis errors.
    pub async fn save_case(&self, case: &Case) -> Result<(), StoreError> {
        self.set_json(&format!("case:{}", case.id), case).await
    }

    /// # Errors
    /// Redis errors, or a record that no longer parses.
    pub async fn load_case(&self, id: &CaseId) -> Result<Option<Case>, StoreError> {
        self.get_json(&format!("case:{id}")).await
    }

    /// The case as stored, with the record's exact text: the version a
    /// [`Store::replace_case`] checks it still holds.
    ///
    /// # Errors
    /// Redis errors, or a record that no longer parses.
    pub async fn load_case_version(
        &self,
        id: &CaseId,
    ) -> Result<Option<(Case, CaseVersion)>, StoreError> {
        let mut conn = self.conn().await?;
        let json: Option<String> = conn
            .get(self.key(&format!("case:{id}")))
            .await
            .map_err(map_err)?;
        json.map(|j| {
            serde_json::from_str(&j)
                .map(|case| (case, CaseVersion(j)))
                .map_err(|e| StoreError::Corrupt(format!("case:{id}: {e}")))
        })
        .transpose()
    }

    /// Replaces the case record with `case` if it is still `version`
    /// (compare-and-set, so a concurrent change of the record is not lost).
    /// Returns whether this call replaced it.
    ///
    /// # Errors
    /// Redis errors: nothing was replaced.
    pub async fn replace_case(
        &self,
        version: &CaseVersion,
        case: &Case,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(case).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut conn = self.conn().await?;
        let replaced: i64 = redis::Script::new(REPLACE)
            .key(self.key(&format!("case:{}", case.id)))
            .arg(&version.0)
            .arg(json)
            .arg(CASE_TTL_SECS)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(replaced == 1)
    }

    /// # Errors
    /// Redis errors.
    pub async fn save_card_location(
        &self,
        id: &CaseId,
        location: &CardLocation,
    ) -> Result<(), StoreError> {
        self.set_json(&format!("case:{id}:card"), location).await
    }

    /// # Errors
    /// Redis errors, or a record that no longer parses.
    pub async fn card_location(&self, id: &CaseId) -> Result<Option<CardLocation>, StoreError> {
        self.get_json(&format!("case:{id}:card")).await
    }

    /// Stores `value` as JSON under `{prefix}{suffix}` for [`CASE_TTL_SECS`].
    async fn set_json<T: serde::Serialize>(
        &self,
        suffix: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut conn = self.conn().await?;
        conn.set_ex::<_, _, ()>(self.key(suffix), json, CASE_TTL_SECS)
            .await
            .map_err(map_err)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        suffix: &str,
    ) -> Result<Option<T>, StoreError> {
        let mut conn = self.conn().await?;
        let json: Option<String> = conn.get(self.key(suffix)).await.map_err(map_err)?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("{suffix}: {e}")))
        })
        .transpose()
    }
}
