//! Cases in Redis: the `Case` record (versioned JSON) and where its card was
//! posted, so that any replica can act on a button click. Records expire
//! after [`CASE_TTL_SECS`]; the audit stream keeps the history for good.

use super::{map_err, Store, StoreError};
use crate::domain::ActionKey;
use crate::domain::{ActionStatus, Case, CaseId, ChannelId, MessageTs};
use redis::AsyncCommands;

/// Cases stay actionable and viewable for 30 days.
pub const CASE_TTL_SECS: u64 = 30 * 24 * 3600;

/// Adds an action to a case record and its first state, together: KEYS[1]
/// (the case) is swapped from ARGV[1] to ARGV[2] only if it is still
/// ARGV[1] and KEYS[2] (the new action's state) does not exist yet; then
/// KEYS[2] is set to ARGV[3] for ARGV[4] seconds.
const ADD_ACTION: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return 1
";

/// A case as stored: the record, and its JSON exactly as read, which
/// [`Store::add_action`] compares against.
#[derive(Debug, Clone)]
pub struct StoredCase {
    pub case: Case,
    pub raw: String,
}

/// Where a case card lives in Slack.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CardLocation {
    pub channel: ChannelId,
    /// The card's own ts (for chat.update).
    pub ts: MessageTs,
    /// The thread the card was posted in, when it is a reply (the
    /// shortcut's card, in the triaged message's thread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<MessageTs>,
}

impl CardLocation {
    /// Where replies about the card go: its thread, or the one it starts
    /// (Slack asks for the parent's ts, never a reply's).
    pub fn thread(&self) -> &MessageTs {
        self.thread_ts.as_ref().unwrap_or(&self.ts)
    }
}

/// Replaces a case record and adds the first states of its new actions,
/// together: KEYS[1] (the case) is swapped from ARGV[1] to ARGV[2] only if
/// it is still ARGV[1] (else 0) and none of KEYS[2..] (the new actions'
/// states) exists yet (else -1). The record keeps its expiry; the new states
/// get the record's (ARGV[3] seconds if it has none), so a case and its
/// actions expire together and a replacement never extends a case's life.
const REPLACE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return -1 end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = tonumber(ARGV[3]) * 1000 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 2], 'PX', ttl)
end
return 1
";

impl Store {
    /// # Errors
    /// Redis errors.
    pub async fn save_case(&self, case: &Case) -> Result<(), StoreError> {
        self.set_json(&format!("case:{}", case.id), case).await?;
        self.touch_home_case(case).await;
        Ok(())
    }

    /// # Errors
    /// Redis errors, or a record that no longer parses.
    pub async fn load_case(&self, id: &CaseId) -> Result<Option<Case>, StoreError> {
        self.get_json(&format!("case:{id}")).await
    }

    /// The case with its stored JSON, for a compare-and-set of the record.
    ///
    /// # Errors
    /// Redis errors, or a record that no longer parses.
    pub async fn load_case_stored(&self, id: &CaseId) -> Result<Option<StoredCase>, StoreError> {
        let mut conn = self.conn().await?;
        let raw: Option<String> = conn
            .get(self.key(&format!("case:{id}")))
            .await
            .map_err(map_err)?;
        raw.map(|raw| {
            serde_json::from_str(&raw)
                .map(|case| StoredCase { case, raw })
                .map_err(|e| StoreError::Corrupt(format!("case:{id}: {e}")))
        })
        .transpose()
    }

    /// Stores `updated` (the read case plus one action, `key`) with that
    /// action's first state, atomically, if the case is still as read and
    /// `key` has no state yet. Returns whether this call made the change.
    ///
    /// # Errors
    /// Redis errors: nothing was changed.
    pub async fn add_action(
        &self,
        read: &StoredCase,
        updated: &Case,
        key: &ActionKey,
        status: &ActionStatus,
    ) -> Result<bool, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        let case_json = serde_json::to_string(updated).map_err(corrupt)?;
        let status_json = serde_json::to_string(status).map_err(corrupt)?;
        let mut conn = self.conn().await?;
        let added: i64 = redis::Script::new(ADD_ACTION)
            .key(self.key(&format!("case:{}", updated.id)))
            .key(self.action_key(&updated.id, key))
            .arg(&read.raw)
            .arg(case_json)
            .arg(status_json)
            .arg(CASE_TTL_SECS)
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        if added == 1 {
            self.touch_home_case(updated).await;
            self.note_due(&updated.id, &[(key.clone(), status.clone())])
                .await;
        }
        Ok(added == 1)
    }

    /// Replaces the case record with `case` if it is still as `read`
    /// (compare-and-set, so a concurrent change of the record, such as an
    /// action chosen meanwhile, is not lost), and records the first state of
    /// each action in `added` (actions `case` has and `read` had not), in
    /// one Lua script: either the record and every added state are written,
    /// or nothing. The record keeps its expiry (a re-triage does not make a
    /// case live longer than its actions' states) and the added states get
    /// the same. Returns whether this call replaced it.
    ///
    /// # Errors
    /// Redis errors: nothing was replaced. [`StoreError::Corrupt`] when an
    /// added action already has a state (a key the record does not know):
    /// nothing was replaced either.
    pub async fn replace_case(
        &self,
        read: &StoredCase,
        case: &Case,
        added: &[(ActionKey, ActionStatus)],
    ) -> Result<bool, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        let json = serde_json::to_string(case).map_err(corrupt)?;
        let lua = redis::Script::new(REPLACE);
        let mut script = lua.prepare_invoke();
        script
            .key(self.key(&format!("case:{}", case.id)))
            .arg(&read.raw)
            .arg(json)
            .arg(CASE_TTL_SECS);
        for (key, status) in added {
            script
                .key(self.action_key(&case.id, key))
                .arg(serde_json::to_string(status).map_err(corrupt)?);
        }
        let mut conn = self.conn().await?;
        let replaced: i64 = script.invoke_async(&mut conn).await.map_err(map_err)?;
        match replaced {
            1 => {
                self.touch_home_case(case).await;
                self.note_due(&case.id, added).await;
                Ok(true)
            }
            0 => Ok(false),
            _ => Err(StoreError::Corrupt(format!(
                "case:{}: an action being added already has a state; run the lookup again for a fresh case",
                case.id
            ))),
        }
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
