//! Stripe and Slack identifiers as distinct types. Each has a private field
//! and a `parse` that checks its prefix and alphabet once, at the edge, so that
//! a `ChargeId` can never be handed to code expecting a `SubscriptionId`.
//!
//! Stripe ids are `<prefix>_<alphanumeric>`; Slack user ids are `U…`/`W…`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not an id of the expected kind; `Display` is operator text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{given}` is not a {what} id: expected `{prefix}` followed by letters and digits")]
pub struct IdError {
    pub given: String,
    pub what: &'static str,
    pub prefix: &'static str,
}

/// Stripe ids are short ASCII tokens; anything longer is not one.
const MAX_ID_LEN: usize = 255;

fn check_stripe_id(raw: &str, prefix: &'static str, what: &'static str) -> Result<String, IdError> {
    let err = || IdError {
        given: raw.chars().take(40).collect(),
        what,
        prefix,
    };
    let rest = raw.strip_prefix(prefix).ok_or_else(err)?;
    if rest.is_empty()
        || raw.len() > MAX_ID_LEN
        || !rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(err());
    }
    Ok(raw.to_owned())
}

/// `as_str`, `TryFrom<String>` (through `parse`), `Into<String>` and
/// `Display` for a checked string id.
macro_rules! string_id {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(super) use string_id;

macro_rules! stripe_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// # Errors
            /// When `raw` lacks the prefix or holds other characters.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                check_stripe_id(raw, $prefix, $what).map(Self)
            }
        }
        string_id!($name);
    };
}

stripe_id!(/// `cus_…`
    CustomerId, "cus_", "Stripe customer");
stripe_id!(/// `sub_…`
    SubscriptionId, "sub_", "Stripe subscription");
stripe_id!(/// `in_…`
    InvoiceId, "in_", "Stripe invoice");
stripe_id!(/// `ch_…` (or `py_…` payments are not looked up)
    ChargeId, "ch_", "Stripe charge");
stripe_id!(/// `pi_…`
    PaymentIntentId, "pi_", "Stripe payment intent");
stripe_id!(/// `cs_…`
    CheckoutSessionId, "cs_", "Stripe checkout session");
stripe_id!(/// `re_…`
    RefundId, "re_", "Stripe refund");

/// A Slack user id (`U…` or `W…` for Enterprise Grid users).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SlackUserId(String);

impl SlackUserId {
    /// # Errors
    /// When `raw` is not an upper-case alphanumeric id starting with U or W.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let ok = (raw.starts_with('U') || raw.starts_with('W'))
            && (2..=32).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError {
                given: raw.chars().take(40).collect(),
                what: "Slack user",
                prefix: "U",
            })
        }
    }
}
string_id!(SlackUserId);

/// A case id, `case_` and 12 lower-case hex digits. The shell makes new ones
/// (randomness is I/O); the core only carries them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseId(String);

impl CaseId {
    pub const PREFIX: &'static str = "case_";

    /// # Errors
    /// When `raw` is not `case_` followed by 12 lower-case hex digits.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let ok = raw.strip_prefix(Self::PREFIX).is_some_and(|rest| {
            rest.len() == 12
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError {
                given: raw.chars().take(40).collect(),
                what: "case",
                prefix: Self::PREFIX,
            })
        }
    }

    /// Builds an id from 48 random bits supplied by the caller.
    pub fn from_random(bits: u64) -> Self {
        Self(format!("{}{:012x}", Self::PREFIX, bits & 0xffff_ffff_ffff))
    }
}
string_id!(CaseId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_ids_check_prefix_and_alphabet() {
        assert!(CustomerId::parse("cus_ABC123").is_ok());
        assert!(CustomerId::parse("sub_ABC123").is_err());
        assert!(CustomerId::parse("cus_").is_err());
        assert!(CustomerId::parse("cus_a b").is_err());
        assert!(ChargeId::parse("ch_3Nx").is_ok());
    }

    #[test]
    fn case_ids_round_trip() {
        let id = CaseId::from_random(0xdead_beef);
        assert_eq!(id.as_str(), "case_0000deadbeef");
        assert_eq!(CaseId::parse(id.as_str()), Ok(id));
        assert!(CaseId::parse("case_XYZ").is_err());
    }

    #[test]
    fn slack_user_ids() {
        assert!(SlackUserId::parse("U024BE7LH").is_ok());
        assert!(SlackUserId::parse("u024").is_err());
        assert!(SlackUserId::parse("U").is_err());
    }
}
