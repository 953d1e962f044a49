//! An email address as an identifier for Stripe's customer list filter.
//! Parsing is deliberately shallow (one `@`, a dotted domain, no spaces):
//! Stripe matches the string exactly, so we only reject what cannot be one.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an email address: expected name@domain.tld")]
pub struct EmailError(String);

impl Email {
    /// # Errors
    /// When `raw` has no single `@` with text on both sides, a domain without
    /// a dot, whitespace, or more than 254 characters.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let raw = raw.trim();
        let err = || EmailError(raw.chars().take(60).collect());
        // Slack wraps addresses as `<mailto:a@b.c|a@b.c>`; take the visible part.
        let raw = unwrap_slack_mailto(raw);
        let (local, domain) = raw.split_once('@').ok_or_else(err)?;
        let ok = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && raw.len() <= 254
            && !raw
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(err())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn unwrap_slack_mailto(raw: &str) -> &str {
    raw.strip_prefix("<mailto:")
        .and_then(|rest| rest.strip_suffix('>'))
        .map(|inner| inner.split_once('|').map_or(inner, |(_, shown)| shown))
        .unwrap_or(raw)
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_and_slack_wrapped_addresses() {
        assert_eq!(
            Email::parse("ana@example.com").map(|e| e.0),
            Ok("ana@example.com".into())
        );
        assert_eq!(
            Email::parse("<mailto:ana@example.com|ana@example.com>").map(|e| e.0),
            Ok("ana@example.com".into())
        );
    }

    #[test]
    fn rejects_what_cannot_be_an_address() {
        for bad in [
            "ana",
            "ana@",
            "@example.com",
            "ana@localhost",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
