//! The access check of every Slack interaction (`access` decides): what
//! Slack says of the user and the channel is looked up through the Web API
//! (`users.info`, `conversations.info`, `usergroups.users.list`,
//! `auth.test`) and kept for a few minutes, never taken from text a user
//! typed. When Slack cannot say in time, the answer is no: a check that
//! did not run lets nobody through.
//!
//! A refusal is audited as `access_refused` (actor, channel, what was
//! tried, and the customer identifier only as a salted hash).

use super::{now, Deps, WorkflowError};
use crate::access::{self, AccessConfig, AccessRefusal, ChannelFacts, UserFacts};
use crate::audit::{AccessRefused, NewEntry};
use crate::domain::{Actor, ChannelId, SlackUserId, UserGroupId};
use crate::slack::SlackApi;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// How long what Slack said of a user or a channel is trusted: a guest
/// made a member (or the reverse) is seen within this.
pub const FACTS_TTL: Duration = Duration::from_secs(300);
/// How long a user group's members are trusted.
pub const GROUPS_TTL: Duration = Duration::from_secs(120);

/// Why an interaction may not go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    Refused(AccessRefusal),
    /// Slack could not say who or where (an error, a timeout): refused.
    Unchecked(String),
}

impl Denied {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused(refusal) => refusal.code(),
            Self::Unchecked(_) => "unchecked",
        }
    }

    /// The private answer.
    pub fn text(&self, config: &AccessConfig) -> String {
        match self {
            Self::Refused(refusal) => config.refusal_text(refusal),
            Self::Unchecked(_) => "Not shown: Slack could not say in time whether you may see billing here, so nothing was looked up. Try again in a moment".to_owned(),
        }
    }
}

/// A small map whose entries are trusted for `ttl`.
struct Recent<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Recent<K, V> {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: K, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            // Bounded by the workspace's users and channels; old entries go
            // when the map grows large.
            if entries.len() > 10_000 {
                let ttl = self.ttl;
                entries.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            entries.insert(key, (Instant::now(), value));
        }
    }
}

/// The deployment's scope and what Slack said recently.
pub struct AccessGate {
    pub config: AccessConfig,
    users: Recent<SlackUserId, UserFacts>,
    channels: Recent<ChannelId, ChannelFacts>,
    groups: Recent<UserGroupId, Vec<SlackUserId>>,
    team: OnceCell<String>,
    salt: OnceCell<String>,
}

impl AccessGate {
    pub fn new(config: AccessConfig) -> Self {
        Self {
            config,
            users: Recent::new(FACTS_TTL),
            channels: Recent::new(FACTS_TTL),
            groups: Recent::new(GROUPS_TTL),
            team: OnceCell::new(),
            salt: OnceCell::new(),
        }
    }

    async fn user(&self, slack: &SlackApi, user: &SlackUserId) -> Result<UserFacts, String> {
        if let Some(facts) = self.users.get(user) {
            return Ok(facts);
        }
        let team = self
            .team
            .get_or_try_init(|| slack.team_id())
            .await
            .map_err(|e| format!("auth.test: {e}"))?;
        let info = slack
            .user_info(user)
            .await
            .map_err(|e| format!("users.info: {e}"))?;
        let facts = UserFacts {
            guest: info.is_restricted || info.is_ultra_restricted,
            other_org: info.is_stranger
                || info.deleted
                || info.team_id.as_ref().is_some_and(|t| t != team),
        };
        self.users.put(user.clone(), facts);
        Ok(facts)
    }

    async fn channel(&self, slack: &SlackApi, channel: &ChannelId) -> Result<ChannelFacts, String> {
        if let Some(facts) = self.channels.get(channel) {
            return Ok(facts);
        }
        let info = slack
            .channel_info(channel)
            .await
            .map_err(|e| format!("conversations.info: {e}"))?;
        let facts = ChannelFacts {
            shared: info.is_shared || info.is_ext_shared || info.is_pending_ext_shared,
            direct: info.is_im,
        };
        self.channels.put(channel.clone(), facts);
        Ok(facts)
    }

    async fn in_group(&self, slack: &SlackApi, user: &SlackUserId) -> Result<bool, String> {
        let Some(operators) = &self.config.operators else {
            return Ok(false);
        };
        if operators.users.contains(user) {
            return Ok(false);
        }
        for group in &operators.groups {
            let members = match self.groups.get(group) {
                Some(members) => members,
                None => {
                    let members = slack
                        .group_members(group)
                        .await
                        .map_err(|e| format!("usergroups.users.list: {e}"))?;
                    self.groups.put(group.clone(), members.clone());
                    members
                }
            };
            if members.contains(user) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The customer identifier as it may be audited: a salted SHA-256.
    async fn subject(&self, deps: &Deps, identifier: &str) -> Option<String> {
        let salt = self
            .salt
            .get_or_try_init(|| deps.store.audit_salt())
            .await
            .ok()?;
        let mut hash = Sha256::new();
        hash.update(salt.as_bytes());
        hash.update([0]);
        hash.update(identifier.trim().to_lowercase().as_bytes());
        Some(hex::encode(hash.finalize()))
    }
}

/// Whether `user` may see billing in `channel` (`None`: a modal, whose card
/// was checked when it was opened). Without Slack (the CLI) there is no one
/// to check.
///
/// # Errors
/// [`Denied`]: a refusal, or Slack could not say.
pub async fn check(
    deps: &Deps,
    user: &SlackUserId,
    channel: Option<&ChannelId>,
) -> Result<(), Denied> {
    let Some(slack) = &deps.slack else {
        return Ok(());
    };
    let gate = &deps.access;
    let facts = gate.user(slack, user).await.map_err(Denied::Unchecked)?;
    let in_group = gate
        .in_group(slack, user)
        .await
        .map_err(Denied::Unchecked)?;
    let place = match channel {
        Some(channel) => Some((
            channel,
            gate.channel(slack, channel)
                .await
                .map_err(Denied::Unchecked)?,
        )),
        None => None,
    };
    access::check(&gate.config, user, facts, in_group, place).map_err(Denied::Refused)
}

/// Audits a refusal: who, where, what, why, and whom they asked about (as
/// a salted hash).
///
/// # Errors
/// When the audit trail cannot be written.
pub async fn audit_refusal(
    deps: &Deps,
    user: &SlackUserId,
    channel: Option<&ChannelId>,
    on: &str,
    identifier: Option<&str>,
    denied: &Denied,
) -> Result<(), WorkflowError> {
    let subject = match identifier {
        Some(identifier) => deps.access.subject(deps, identifier).await,
        None => None,
    };
    let event = AccessRefused {
        on: on.to_owned(),
        channel: channel.map(ToString::to_string),
        reason: denied.code().to_owned(),
        subject,
    };
    deps.store
        .append_audit(NewEntry::new(event, Actor::Slack(user.clone()), now()))
        .await?;
    Ok(())
}
