//! What the App Home reads, kept indexed so that a Home is built from a few
//! round trips, not a scan of every case:
//!
//! - `{prefix}home:recent`: every case by its last change (Unix seconds);
//!   the cases changed within the approval window are where anything can
//!   wait for an approval.
//! - `{prefix}home:user:{U…}`: the cases a user opened or acted on, by their
//!   last change.
//!
//! Both are hints: the Home re-reads each case and its states, and a case
//! that expired is dropped from them when met. Entries older than
//! [`KEEP_SECS`] are trimmed on every write.

use super::cases::CASE_TTL_SECS;
use super::{map_err, Store, StoreError};
use crate::domain::{ActionKey, ActionStatus, Actor, Case, CaseId, SlackUserId};
use redis::AsyncCommands;

/// How long a case stays in the indexes: as long as the case itself.
pub const KEEP_SECS: i64 = CASE_TTL_SECS as i64;

/// How long after opening their Home a user's Home is kept up to date.
pub const VIEWER_SECS: i64 = 7 * 86_400;

/// A case as the Home reads it: the record and its actions' states.
pub type CaseWithStates = (Case, Vec<(ActionKey, ActionStatus)>);

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Store {
    fn recent_key(&self) -> String {
        self.key("home:recent")
    }

    fn user_key(&self, user: &SlackUserId) -> String {
        self.key(&format!("home:user:{user}"))
    }

    /// Notes that `case` changed now, for everyone in `users`. Best effort:
    /// the write it follows has happened; a failure here is logged, and the
    /// Home misses the case until its next change.
    pub(super) async fn touch_home(&self, case: &CaseId, users: &[&SlackUserId]) {
        let at = unix_now();
        if let Err(e) = self.try_touch_home(case, users, at).await {
            tracing::warn!(case_id = %case, error = %e, "could not index the case for the App Home");
        }
    }

    async fn try_touch_home(
        &self,
        case: &CaseId,
        users: &[&SlackUserId],
        at: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        let mut keys = vec![self.recent_key()];
        keys.extend(users.iter().map(|u| self.user_key(u)));
        for key in keys {
            pipe.zadd(&key, case.as_str(), at)
                .ignore()
                .zrembyscore(&key, "-inf", at - KEEP_SECS)
                .ignore()
                .expire(&key, CASE_TTL_SECS as i64)
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await.map_err(map_err)
    }

    /// Notes that `user` opened their Home: it is refreshed when cases
    /// change, for [`VIEWER_SECS`].
    ///
    /// # Errors
    /// Redis errors.
    pub async fn note_home_viewer(&self, user: &SlackUserId) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let at = unix_now();
        let key = self.key("home:viewers");
        redis::pipe()
            .zadd(&key, user.as_str(), at)
            .ignore()
            .zrembyscore(&key, "-inf", at - VIEWER_SECS)
            .ignore()
            .expire(&key, VIEWER_SECS)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(map_err)
    }

    /// The users who opened their Home within [`VIEWER_SECS`], most recent
    /// first, at most `limit`.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn home_viewers(&self, limit: usize) -> Result<Vec<SlackUserId>, StoreError> {
        let users = self
            .newest_members(&self.key("home:viewers"), unix_now() - VIEWER_SECS, limit)
            .await?;
        Ok(users
            .iter()
            .filter_map(|u| SlackUserId::parse(u).ok())
            .collect())
    }

    fn showing_key(&self, user: &SlackUserId) -> String {
        self.key(&format!("home:showing:{user}"))
    }

    /// Notes that `user`'s Home now shows `cases` (replacing what it
    /// showed), for [`VIEWER_SECS`]: a change to any of them redraws it.
    /// One command.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn note_home_shown(
        &self,
        user: &SlackUserId,
        cases: &[CaseId],
    ) -> Result<(), StoreError> {
        let ids = cases
            .iter()
            .map(CaseId::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let mut conn = self.conn().await?;
        conn.set_ex::<_, _, ()>(self.showing_key(user), ids, VIEWER_SECS as u64)
            .await
            .map_err(map_err)
    }

    /// The cases each of `users`' Homes showed when last drawn, in order
    /// (empty when unknown). One round trip.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn homes_showing(
        &self,
        users: &[SlackUserId],
    ) -> Result<Vec<Vec<CaseId>>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = users.iter().map(|u| self.showing_key(u)).collect();
        let mut conn = self.conn().await?;
        let raw: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(raw
            .into_iter()
            .map(|ids| {
                ids.unwrap_or_default()
                    .split(' ')
                    .filter_map(|id| CaseId::parse(id).ok())
                    .collect()
            })
            .collect())
    }

    fn link_key(&self, case: &CaseId) -> String {
        self.key(&format!("case:{case}:link"))
    }

    /// The cards' links (`chat.getPermalink`) of `cases`, in order, where
    /// known. One round trip.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn card_links(&self, cases: &[CaseId]) -> Result<Vec<Option<String>>, StoreError> {
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = cases.iter().map(|c| self.link_key(c)).collect();
        let mut conn = self.conn().await?;
        redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .map_err(map_err)
    }

    /// Keeps `case`'s card link as long as the case.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn save_card_link(&self, case: &CaseId, url: &str) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.set_ex::<_, _, ()>(self.link_key(case), url, CASE_TTL_SECS)
            .await
            .map_err(map_err)
    }

    /// The users a state names: who approved, or who rejected.
    pub(super) fn named_in(status: &ActionStatus) -> Vec<&SlackUserId> {
        match status {
            ActionStatus::Proposed { approvals, .. } => approvals.iter().collect(),
            ActionStatus::Executing { approved_by, .. }
            | ActionStatus::Verifying { approved_by, .. }
            | ActionStatus::Succeeded { approved_by, .. }
            | ActionStatus::Failed { approved_by, .. } => approved_by.iter().collect(),
            ActionStatus::Rejected { by, .. } => vec![by],
            ActionStatus::Expired { .. } => Vec::new(),
        }
    }

    /// Notes a saved case for the Home: its requester's cases, and the
    /// recent ones.
    pub(super) async fn touch_home_case(&self, case: &Case) {
        let requester = match &case.requested_by {
            Actor::Slack(user) => vec![user],
            _ => Vec::new(),
        };
        self.touch_home(&case.id, &requester).await;
    }

    /// The cases changed since `since`, newest first, at most `limit`.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn recent_cases(&self, since: i64, limit: usize) -> Result<Vec<CaseId>, StoreError> {
        self.newest(&self.recent_key(), since, limit).await
    }

    /// The cases `user` opened or acted on since `since`, newest first.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn cases_of(
        &self,
        user: &SlackUserId,
        since: i64,
        limit: usize,
    ) -> Result<Vec<CaseId>, StoreError> {
        self.newest(&self.user_key(user), since, limit).await
    }

    async fn newest(&self, key: &str, since: i64, limit: usize) -> Result<Vec<CaseId>, StoreError> {
        let ids = self.newest_members(key, since, limit).await?;
        Ok(ids.iter().filter_map(|id| CaseId::parse(id).ok()).collect())
    }

    /// The members of the sorted set `key` scored `since` or later, highest
    /// first, at most `limit`.
    async fn newest_members(
        &self,
        key: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn().await?;
        redis::cmd("ZRANGE")
            .arg(key)
            .arg("+inf")
            .arg(since)
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await
            .map_err(map_err)
    }

    /// The cases `ids` with their actions' states, in order, in two round
    /// trips; a case that expired is left out (and dropped from the index).
    ///
    /// # Errors
    /// Redis errors, or a record that no longer parses.
    pub async fn cases_with_states(
        &self,
        ids: &[CaseId],
    ) -> Result<Vec<CaseWithStates>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let keys: Vec<String> = ids
            .iter()
            .map(|id| self.key(&format!("case:{id}")))
            .collect();
        let raw: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .map_err(map_err)?;
        let mut cases = Vec::new();
        let mut gone = Vec::new();
        for (id, json) in ids.iter().zip(raw) {
            match json {
                Some(json) => cases.push(
                    serde_json::from_str::<Case>(&json)
                        .map_err(|e| StoreError::Corrupt(format!("case:{id}: {e}")))?,
                ),
                None => gone.push(id.as_str().to_owned()),
            }
        }
        if !gone.is_empty() {
            redis::cmd("ZREM")
                .arg(self.recent_key())
                .arg(&gone)
                .query_async::<()>(&mut conn)
                .await
                .map_err(map_err)?;
        }
        let state_keys: Vec<String> = cases
            .iter()
            .flat_map(|c| c.actions.iter().map(|a| self.action_key(&c.id, &a.key)))
            .collect();
        let states: Vec<Option<String>> = if state_keys.is_empty() {
            Vec::new()
        } else {
            redis::cmd("MGET")
                .arg(&state_keys)
                .query_async(&mut conn)
                .await
                .map_err(map_err)?
        };
        let mut states = states.into_iter();
        let mut out = Vec::with_capacity(cases.len());
        for case in cases {
            let mut of_case = Vec::new();
            for action in &case.actions {
                if let Some(json) = states.next().flatten() {
                    let status = serde_json::from_str(&json).map_err(|e| {
                        StoreError::Corrupt(format!("action {}/{}: {e}", case.id, action.key))
                    })?;
                    of_case.push((action.key.clone(), status));
                }
            }
            out.push((case, of_case));
        }
        Ok(out)
    }
}
