//! Secrets as types: Stripe keys, Slack tokens, the signing secret and the
//! audit witness's signing key. Each
//! is checked once when configuration is read; `Debug` shows only the kind
//! and length, never the value, and there is no `Display`, so a secret cannot
//! reach a log line, an error or a Slack message by accident.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::fmt;

/// Why a secret setting is unusable; names what was expected, never the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("expected {expected}")]
pub struct SecretError {
    pub expected: &'static str,
}

/// A Stripe `sk_…` secret key or `rk_…` restricted key.
#[derive(Clone)]
pub struct StripeKey(SecretString);

/// A Slack bot token, `xoxb-…`.
#[derive(Clone)]
pub struct SlackBotToken(SecretString);

/// A Slack app-level token, `xapp-…`, for Socket Mode.
#[derive(Clone)]
pub struct SlackAppToken(SecretString);

/// The Slack app's signing secret.
#[derive(Clone)]
pub struct SigningSecret(SecretString);

fn checked(
    raw: &str,
    prefixes: &[&str],
    expected: &'static str,
) -> Result<SecretString, SecretError> {
    let raw = raw.trim();
    let ok = prefixes
        .iter()
        .any(|p| raw.starts_with(p) && raw.len() > p.len())
        && raw.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(SecretString::from(raw.to_owned()))
    } else {
        Err(SecretError { expected })
    }
}

impl StripeKey {
    /// # Errors
    /// When `raw` does not start with `sk_` or `rk_`.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        checked(
            raw,
            &["sk_", "rk_"],
            "a Stripe secret key (sk_...) or restricted key (rk_...)",
        )
        .map(Self)
    }

    /// Live-mode keys move real money; the sandbox refuses them.
    pub fn is_live(&self) -> bool {
        let k = self.0.expose_secret();
        k.starts_with("sk_live_") || k.starts_with("rk_live_")
    }

    /// For the HTTP client only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl SlackBotToken {
    /// # Errors
    /// When `raw` does not start with `xoxb-`.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        checked(raw, &["xoxb-"], "a Slack bot token (xoxb-...)").map(Self)
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl SlackAppToken {
    /// # Errors
    /// When `raw` does not start with `xapp-`.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        checked(raw, &["xapp-"], "a Slack app-level token (xapp-...)").map(Self)
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl SigningSecret {
    /// # Errors
    /// When `raw` is empty or has spaces or control characters.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        let raw = raw.trim();
        if raw.len() >= 8 && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(SecretString::from(raw.to_owned())))
        } else {
            Err(SecretError {
                expected: "the Slack app's signing secret (Basic Information > App Credentials)",
            })
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// `AUDIT_SIGNING_KEY`: signs each audit head published to the witness
/// (HMAC-SHA-256). It lives in the deployment's secrets, never in Redis, so
/// someone who can rewrite Redis cannot sign a head. At least 32 characters
/// (`openssl rand -hex 32` makes one); the key is the string's bytes.
#[derive(Clone)]
pub struct AuditSigningKey(SecretString);

/// A new HMAC-SHA-256 over `key`.
fn hmac_of(key: &AuditSigningKey) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key.0.expose_secret().as_bytes())
        .expect("HMAC takes a key of any length")
}

impl AuditSigningKey {
    /// The shortest key accepted: 32 characters, 256 bits of a hex key.
    pub const MIN_LEN: usize = 32;

    /// # Errors
    /// When `raw` is shorter than [`Self::MIN_LEN`] or has spaces or control
    /// characters.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        let raw = raw.trim();
        if raw.len() >= Self::MIN_LEN && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(SecretString::from(raw.to_owned())))
        } else {
            Err(SecretError {
                expected: "at least 32 printable characters without spaces (openssl rand -hex 32)",
            })
        }
    }

    /// HMAC-SHA-256 of `bytes`, lower-case hex.
    pub fn sign(&self, bytes: &[u8]) -> String {
        let mut mac = hmac_of(self);
        mac.update(bytes);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` (hex) is this key's HMAC of `bytes`, compared in
    /// constant time.
    pub fn verifies(&self, bytes: &[u8], signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature) else {
            return false;
        };
        let mut mac = hmac_of(self);
        mac.update(bytes);
        mac.verify_slice(&signature).is_ok()
    }
}

/// A billing-portal session URL: it logs whoever holds it into the
/// customer's portal, so it is a credential. Shown only to the approver who
/// asked for it, through [`PortalSessionUrl::expose`]; never logged, audited
/// or posted in a channel.
#[derive(Clone)]
pub struct PortalSessionUrl(SecretString);

impl PortalSessionUrl {
    /// Wraps what Stripe answered.
    pub fn new(url: String) -> Self {
        Self(SecretString::from(url))
    }

    /// For the private message to the approver only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

macro_rules! redacted_debug {
    ($($name:ident),*) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted; {} chars])"), self.0.expose_secret().len())
            }
        }
    )*};
}
redacted_debug!(
    StripeKey,
    SlackBotToken,
    SlackAppToken,
    SigningSecret,
    PortalSessionUrl,
    AuditSigningKey
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let key = StripeKey::parse("sk_test_abcdef123456").expect("valid test key");
        let shown = format!("{key:?}");
        assert!(!shown.contains("abcdef"), "{shown}");
        assert!(!shown.contains("sk_"), "{shown}");
    }

    #[test]
    fn a_portal_session_url_shows_only_its_length() {
        let url = PortalSessionUrl::new("https://billing.stripe.com/p/session/test_secret".into());
        let shown = format!("{url:?}");
        assert!(!shown.contains("billing.stripe.com"), "{shown}");
        assert!(shown.contains("48 chars"), "{shown}");
        assert_eq!(
            url.expose(),
            "https://billing.stripe.com/p/session/test_secret"
        );
    }

    #[test]
    fn an_audit_signing_key_signs_verifies_and_hides() {
        let key = AuditSigningKey::parse("0123456789abcdef0123456789abcdef").expect("32 chars");
        let shown = format!("{key:?}");
        assert!(!shown.contains("0123"), "{shown}");
        let sig = key.sign(b"head");
        assert_eq!(sig.len(), 64);
        assert!(key.verifies(b"head", &sig));
        assert!(!key.verifies(b"head 2", &sig));
        assert!(!key.verifies(b"head", "not hex"));
        let other = AuditSigningKey::parse("fedcba9876543210fedcba9876543210").expect("key");
        assert!(!other.verifies(b"head", &sig));
        assert!(AuditSigningKey::parse("short").is_err());
        assert!(AuditSigningKey::parse("0123456789abcdef 0123456789abcdef").is_err());
    }

    #[test]
    fn live_keys_are_recognised() {
        assert!(StripeKey::parse("sk_live_x1").expect("key").is_live());
        assert!(StripeKey::parse("rk_live_x1").expect("key").is_live());
        assert!(!StripeKey::parse("sk_test_x1").expect("key").is_live());
        assert!(StripeKey::parse("pk_test_x1").is_err());
        assert!(SlackBotToken::parse("xapp-1").is_err());
    }
}
