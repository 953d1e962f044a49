//! Slack's identifiers as types, checked once where a request is read
//! (`slack::request`): the channel, a message's timestamp, the
//! `response_url`, a modal's `trigger_id`, and the key of an action on a
//! case card (what a button's value names after its case id).

use serde::{Deserialize, Serialize};
use std::fmt;

use super::ids::{string_id, IdError};

fn refuse(raw: &str, what: &'static str, prefix: &'static str) -> IdError {
    IdError {
        given: raw.chars().take(40).collect(),
        what,
        prefix,
    }
}

/// One of Slack's ids: one of `prefixes`, then upper-case letters and
/// digits, 2 to 32 characters in all.
fn is_slack_id(raw: &str, prefixes: &[char]) -> bool {
    raw.starts_with(prefixes)
        && (2..=32).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A Slack conversation id: `C…` (channel), `G…` (private channel or group
/// DM) or `D…` (direct message), upper-case letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChannelId(String);

impl ChannelId {
    /// # Errors
    /// When `raw` is not `C`, `G` or `D` followed by upper-case letters and digits.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if is_slack_id(raw, &['C', 'G', 'D']) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(refuse(raw, "Slack channel", "C"))
        }
    }
}
string_id!(ChannelId);

/// A Slack user group id (`S…`), as `BILLING_OPERATORS` names one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserGroupId(String);

impl UserGroupId {
    /// # Errors
    /// When `raw` is not `S` followed by upper-case letters and digits.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if is_slack_id(raw, &['S']) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(refuse(raw, "Slack user group", "S"))
        }
    }
}
string_id!(UserGroupId);

/// A message's timestamp, Slack's id of a message within its channel
/// (`1700000000.000100`), and what `thread_ts` names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageTs(String);

impl MessageTs {
    /// # Errors
    /// When `raw` is not digits, a dot and digits.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit());
        match raw.split_once('.') {
            Some((secs, micros)) if digits(secs) && digits(micros) => Ok(Self(raw.to_owned())),
            _ => Err(refuse(raw, "Slack message timestamp", "1700000000.")),
        }
    }
}
string_id!(MessageTs);

/// Where to answer the person who acted (ephemeral, for 30 minutes). It
/// lets anyone holding it post into the conversation, so its `Debug` shows
/// only the host, and it has no `Display`: it reaches no log or message.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseUrl(url::Url);

impl ResponseUrl {
    /// # Errors
    /// When `raw` is not an absolute `http(s)` URL with a host.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        match url::Url::parse(raw) {
            Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => {
                Ok(Self(url))
            }
            // Not echoed back: a malformed one may still be a credential.
            _ => Err(refuse("", "Slack response_url", "https://")),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ResponseUrl({}/…)",
            self.0.host_str().unwrap_or_default()
        )
    }
}

/// What lets a request open a modal, for three seconds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TriggerId(String);

impl TriggerId {
    /// # Errors
    /// When `raw` is empty, longer than 255 or holds spaces or control characters.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if !raw.is_empty() && raw.len() <= 255 && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(refuse(raw, "Slack trigger", ""))
        }
    }
}
string_id!(TriggerId);

/// The key of one action of a case (`a1`, `refund_ch_…`): 1 to 32 ASCII
/// letters, digits, `_` or `-`. A button's value is `{case_id}/{key}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ActionKey(String);

impl ActionKey {
    /// The longest key: a button value is `case_` + 12 + `/` + key.
    pub const MAX_LEN: usize = 32;

    /// # Errors
    /// When `raw` is empty, too long or holds other characters.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(refuse(raw, "case action", "a"))
        }
    }
}
string_id!(ActionKey);

impl ActionKey {
    /// `a{n}`: the bot's n-th proposal on a case.
    pub fn proposed(n: usize) -> Self {
        Self(format!("a{n}"))
    }

    /// `c{n}`: the n-th action an operator chose from "More actions…".
    pub fn chosen(n: usize) -> Self {
        Self(format!("c{n}"))
    }
}

/// An action key written in a test (`"a2"`).
#[cfg(test)]
pub(crate) fn test_key(raw: &str) -> ActionKey {
    ActionKey::parse(raw).expect("a valid test action key")
}

impl AsRef<str> for ActionKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for ActionKey {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<str> for ActionKey {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<String> for ActionKey {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

/// A case and one of its actions, as a button value or a modal's
/// `private_metadata` names them (`{case_id}/{key}`): a name to look up,
/// never the truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseAction {
    pub case_id: super::CaseId,
    pub key: ActionKey,
}

impl CaseAction {
    /// Reads `{case_id}/{key}`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        let (case, key) = value.split_once('/')?;
        Some(Self {
            case_id: super::CaseId::parse(case).ok()?,
            key: ActionKey::parse(key).ok()?,
        })
    }
}

impl fmt::Display for CaseAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.case_id, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_and_timestamps() {
        assert!(ChannelId::parse("C0123ABC").is_ok());
        assert!(ChannelId::parse("D01").is_ok());
        assert!(ChannelId::parse("U0123").is_err());
        assert!(ChannelId::parse("c0123").is_err());
        assert!(ChannelId::parse("").is_err());
        assert!(MessageTs::parse("1700000000.000100").is_ok());
        assert!(MessageTs::parse("1700000000").is_err());
        assert!(MessageTs::parse("17.x").is_err());
    }

    #[test]
    fn a_response_url_is_a_url_and_never_shown_whole() {
        let url = ResponseUrl::parse("https://hooks.slack.com/commands/T1/2/secret3").expect("url");
        assert_eq!(
            url.as_str(),
            "https://hooks.slack.com/commands/T1/2/secret3"
        );
        let shown = format!("{url:?}");
        assert!(!shown.contains("secret3"), "{shown}");
        assert!(ResponseUrl::parse("not a url").is_err());
        assert!(ResponseUrl::parse("ftp://hooks.slack.com/x").is_err());
        let refused = ResponseUrl::parse("javascript:secret4").expect_err("refused");
        assert!(!refused.to_string().contains("secret4"));
    }

    #[test]
    fn action_keys() {
        assert!(ActionKey::parse("a1").is_ok());
        assert!(ActionKey::parse("refund_ch_1-x").is_ok());
        assert!(ActionKey::parse("").is_err());
        assert!(ActionKey::parse("a/b").is_err());
        assert!(ActionKey::parse(&"a".repeat(33)).is_err());
        assert!(TriggerId::parse("1.2.abc").is_ok());
        assert!(TriggerId::parse("a b").is_err());
    }
}

/// Where approvers are told that something waits on them
/// (`BILLING_APPROVAL_NOTIFY`): a direct message each, one message in a
/// channel naming them, or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ApprovalNotify {
    #[default]
    DirectMessage,
    Channel(ChannelId),
    Off,
}

impl ApprovalNotify {
    /// `dm`, `channel:C…` or `off`.
    ///
    /// # Errors
    /// Anything else, or a channel that is not a Slack channel id.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        match raw.trim() {
            "dm" => Ok(Self::DirectMessage),
            "off" => Ok(Self::Off),
            other => match other.strip_prefix("channel:") {
                Some(channel) => ChannelId::parse(channel.trim()).map(Self::Channel),
                None => Err(refuse(
                    other,
                    "approval notification (dm, channel:C…, off)",
                    "dm",
                )),
            },
        }
    }
}
