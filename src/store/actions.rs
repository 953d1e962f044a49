//! Action states in Redis: the approval state machine's single source of
//! truth, shared by every replica. A state moves only by compare-and-set (a
//! Lua script that swaps the stored JSON only if it is still the one the
//! caller decided on), so double clicks, Slack retries and concurrent
//! replicas produce exactly one transition into `Executing`, hence one
//! Stripe call. Executed steps of multi-step actions are recorded so a
//! retry skips what is already done.
//!
//! Keys: `{prefix}action:{case}:{key}` (state JSON),
//! `{prefix}action:{case}:{key}:steps` (hash step → Stripe id),
//! `{prefix}action:{case}:{key}:plan` (the execution plan fixed at the intent),
//! `{prefix}actions:executing` (set of `{case}/{key}` executing or being
//! verified, for the reconciler), `{prefix}instance:{id}:gone` (a replica
//! announced its exit: its work may be taken over at once).

use super::cases::CASE_TTL_SECS;
use super::{map_err, Store, StoreError};
use crate::domain::plan::{Plan, StepName};
use crate::domain::ActionKey;
use crate::domain::{ActionStatus, CaseId};
use redis::AsyncCommands;
use std::collections::HashMap;

/// Reads a `{case}/{key}` member of the action indexes.
fn parse_member(member: &str) -> Option<(CaseId, ActionKey)> {
    let (case, key) = member.split_once('/')?;
    Some((CaseId::parse(case).ok()?, ActionKey::parse(key).ok()?))
}

/// How long a "gone" marker is kept: longer than any lease.
const GONE_TTL_SECS: u64 = 86_400;

/// Swap KEYS[1] from ARGV[1] to ARGV[2]; keep KEYS[2] (the executing set)
/// in step: ARGV[3] is the member, ARGV[4] "1" to add it, "0" to remove.
const CAS: &str = r"
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
if ARGV[4] == '1' then redis.call('SADD', KEYS[2], ARGV[3]) else redis.call('SREM', KEYS[2], ARGV[3]) end
return 1
";

fn encode(status: &ActionStatus) -> Result<String, StoreError> {
    serde_json::to_string(status).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    pub(super) fn action_key(&self, case: &CaseId, key: &ActionKey) -> String {
        self.key(&format!("action:{case}:{key}"))
    }

    /// Records the first state of each action; an existing state is kept.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn init_actions(
        &self,
        case: &CaseId,
        statuses: &[(ActionKey, ActionStatus)],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        for (key, status) in statuses {
            pipe.cmd("SET")
                .arg(self.action_key(case, key))
                .arg(encode(status)?)
                .arg("NX")
                .arg("EX")
                .arg(CASE_TTL_SECS)
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await.map_err(map_err)?;
        self.note_due(case, statuses).await;
        Ok(())
    }

    /// # Errors
    /// Redis errors, or a state that no longer parses.
    pub async fn action_status(
        &self,
        case: &CaseId,
        key: &ActionKey,
    ) -> Result<Option<ActionStatus>, StoreError> {
        let mut conn = self.conn().await?;
        let json: Option<String> = conn
            .get(self.action_key(case, key))
            .await
            .map_err(map_err)?;
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|e| StoreError::Corrupt(format!("action {case}/{key}: {e}")))
        })
        .transpose()
    }

    /// The states of `keys`, in order; a missing one is left out.
    ///
    /// # Errors
    /// Redis errors, or a state that no longer parses.
    pub async fn action_statuses(
        &self,
        case: &CaseId,
        keys: &[ActionKey],
    ) -> Result<Vec<(ActionKey, ActionStatus)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let redis_keys: Vec<String> = keys.iter().map(|k| self.action_key(case, k)).collect();
        let values: Vec<Option<String>> = conn.mget(redis_keys).await.map_err(map_err)?;
        let mut out = Vec::new();
        for (key, json) in keys.iter().zip(values) {
            if let Some(json) = json {
                let status = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("action {case}/{key}: {e}")))?;
                out.push((key.clone(), status));
            }
        }
        Ok(out)
    }

    /// Moves an action from `from` to `to` if it is still in `from`.
    /// Returns whether this call made the move.
    ///
    /// # Errors
    /// Redis errors: the move did not happen.
    pub async fn transition(
        &self,
        case: &CaseId,
        key: &ActionKey,
        from: &ActionStatus,
        to: &ActionStatus,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let executing = matches!(
            to,
            ActionStatus::Executing { .. } | ActionStatus::Verifying { .. }
        );
        let moved: i64 = redis::Script::new(CAS)
            .key(self.action_key(case, key))
            .key(self.key("actions:executing"))
            .arg(encode(from)?)
            .arg(encode(to)?)
            .arg(format!("{case}/{key}"))
            .arg(if executing { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .map_err(map_err)?;
        if moved == 1 {
            self.touch_home(case, &Self::named_in(to)).await;
            self.note_due(case, &[(key.clone(), to.clone())]).await;
        }
        Ok(moved == 1)
    }

    fn due_key(&self) -> String {
        self.key("actions:due")
    }

    /// Notes when each proposed action of `statuses` lapses, for
    /// [`Self::due_actions`]. Best effort: the state is written; a failure
    /// is logged, and that action is marked lapsed at the next click on it.
    pub(super) async fn note_due(&self, case: &CaseId, statuses: &[(ActionKey, ActionStatus)]) {
        let due: Vec<(i64, String)> = statuses
            .iter()
            .filter_map(|(key, status)| match status {
                ActionStatus::Proposed { expires_at, .. } => {
                    Some((*expires_at, format!("{case}/{key}")))
                }
                _ => None,
            })
            .collect();
        if due.is_empty() {
            return;
        }
        let result = async {
            let mut conn = self.conn().await?;
            conn.zadd_multiple::<_, _, _, ()>(self.due_key(), &due)
                .await
                .map_err(map_err)
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(case_id = %case, error = %e, "could not note when the actions lapse");
        }
    }

    /// Proposed actions whose approval window closed by `now`, oldest
    /// first, at most `limit`: what the lapse sweep looks at.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn due_actions(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<Vec<(CaseId, ActionKey)>, StoreError> {
        let mut conn = self.conn().await?;
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.due_key())
            .arg("-inf")
            .arg(now)
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(members.iter().filter_map(|m| parse_member(m)).collect())
    }

    /// Takes an action off the lapse index (it lapsed, or left `Proposed`).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn forget_due(&self, case: &CaseId, key: &ActionKey) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.zrem::<_, _, ()>(self.due_key(), format!("{case}/{key}"))
            .await
            .map_err(map_err)
    }

    /// Actions some replica moved to `Executing` or `Verifying` and has not
    /// finished.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn executing_actions(&self) -> Result<Vec<(CaseId, ActionKey)>, StoreError> {
        let mut conn = self.conn().await?;
        let members: Vec<String> = conn
            .smembers(self.key("actions:executing"))
            .await
            .map_err(map_err)?;
        Ok(members.iter().filter_map(|m| parse_member(m)).collect())
    }

    /// Records that `step` of an action ran, with what Stripe returned.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn record_step(
        &self,
        case: &CaseId,
        key: &ActionKey,
        step: &StepName,
        result: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let steps_key = format!("{}:steps", self.action_key(case, key));
        redis::pipe()
            .hset(&steps_key, step.to_string(), result)
            .ignore()
            .expire(&steps_key, CASE_TTL_SECS as i64)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(map_err)
    }

    /// The steps of an action recorded as done, with what Stripe returned.
    ///
    /// # Errors
    /// Redis errors, or a step name this code never writes.
    pub async fn steps(
        &self,
        case: &CaseId,
        key: &ActionKey,
    ) -> Result<HashMap<StepName, String>, StoreError> {
        let mut conn = self.conn().await?;
        let raw: HashMap<String, String> = conn
            .hgetall(format!("{}:steps", self.action_key(case, key)))
            .await
            .map_err(map_err)?;
        raw.into_iter()
            .map(|(name, id)| {
                StepName::parse(&name)
                    .map(|name| (name, id))
                    .map_err(|e| StoreError::Corrupt(format!("steps of {case}/{key}: {e}")))
            })
            .collect()
    }

    /// Records the plan of an action's current attempt (before its intent).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn save_plan(
        &self,
        case: &CaseId,
        key: &ActionKey,
        plan: &Plan,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let json = serde_json::to_string(plan).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let plan_key = format!("{}:plan", self.action_key(case, key));
        conn.set_ex::<_, _, ()>(plan_key, json, CASE_TTL_SECS)
            .await
            .map_err(map_err)
    }

    /// The plan fixed at the action's intent, if it got that far.
    ///
    /// # Errors
    /// Redis errors, or a plan that no longer parses.
    pub async fn plan(&self, case: &CaseId, key: &ActionKey) -> Result<Option<Plan>, StoreError> {
        let mut conn = self.conn().await?;
        let json: Option<String> = conn
            .get(format!("{}:plan", self.action_key(case, key)))
            .await
            .map_err(map_err)?;
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|e| StoreError::Corrupt(format!("plan {case}/{key}: {e}")))
        })
        .transpose()
    }

    /// Announces that replica `instance` is gone: the actions it owns may
    /// be taken over at once instead of after their lease.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn announce_gone(&self, instance: &str) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.set_ex::<_, _, ()>(
            self.key(&format!("instance:{instance}:gone")),
            "1",
            GONE_TTL_SECS,
        )
        .await
        .map_err(map_err)
    }

    /// Whether replica `instance` announced that it is gone.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn is_gone(&self, instance: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        conn.exists(self.key(&format!("instance:{instance}:gone")))
            .await
            .map_err(map_err)
    }
}
