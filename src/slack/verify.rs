//! Checks that a request came from Slack: HMAC-SHA256 of
//! `v0:{X-Slack-Request-Timestamp}:{raw body}` with the signing secret,
//! compared in constant time, and a timestamp within five minutes
//! (<https://api.slack.com/authentication/verifying-requests-from-slack>).
//! The crypto is slack-morphism's `SlackEventSignatureVerifier`; this file
//! only pulls the headers out and names what was wrong, for the log.

use crate::domain::SigningSecret;
use slack_morphism::prelude::SlackSigningSecret;
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;

pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// Seconds since 1970 fit in 11 digits until the year 5138.
const MAX_TIMESTAMP_DIGITS: usize = 11;

/// Why a request was refused; never echoed to the caller (it gets a bare 401).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the request has no {0} header")]
    MissingHeader(&'static str),
    #[error("the body is not UTF-8: {0}")]
    NotText(#[source] std::str::Utf8Error),
    #[error("the signature does not match")]
    BadSignature,
    #[error("the timestamp is malformed or more than five minutes off")]
    StaleTimestamp,
}

/// Holds the verifier built once from the secret.
#[derive(Clone)]
pub struct Verifier(SlackEventSignatureVerifier);

impl Verifier {
    pub fn new(secret: &SigningSecret) -> Self {
        Self(SlackEventSignatureVerifier::new(&SlackSigningSecret::new(
            secret.expose().to_owned(),
        )))
    }

    /// # Errors
    /// See [`VerifyError`].
    pub fn verify(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        let signature = signature.ok_or(VerifyError::MissingHeader(SIGNATURE_HEADER))?;
        let timestamp = timestamp.ok_or(VerifyError::MissingHeader(TIMESTAMP_HEADER))?;
        let body = std::str::from_utf8(body).map_err(VerifyError::NotText)?;
        // Slack's timestamp is a count of seconds. Anything else is refused
        // here, before slack-morphism's age check subtracts it from the
        // clock: `-9223372036854775808`, signed, overflowed that
        // subtraction (a panic in a debug build).
        if timestamp.is_empty()
            || timestamp.len() > MAX_TIMESTAMP_DIGITS
            || !timestamp.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(VerifyError::StaleTimestamp);
        }
        self.0.verify(signature, body, timestamp).map_err(|e| {
            use slack_morphism::signature_verifier::SlackEventSignatureVerifierError as E;
            match e {
                E::IncorrectOrExpiredTimestampError(_) => VerifyError::StaleTimestamp,
                _ => VerifyError::BadSignature,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signs as Slack does, with the `hmac` crate rather than the code under test.
    fn sign(secret: &str, ts: &str, body: &str) -> String {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(format!("v0:{ts}:{body}").as_bytes());
        format!("v0={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn now() -> String {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn accepts_a_fresh_correct_signature() {
        let secret = SigningSecret::parse("8f742231b10e8888abcd99yyyzzz85a5").expect("secret");
        let ts = now();
        let sig = sign(secret.expose(), &ts, "text=help");
        assert_eq!(
            Verifier::new(&secret).verify(Some(&sig), Some(&ts), b"text=help"),
            Ok(())
        );
    }

    #[test]
    fn refuses_forged_stale_and_unsigned() {
        let secret = SigningSecret::parse("8f742231b10e8888abcd99yyyzzz85a5").expect("secret");
        let v = Verifier::new(&secret);
        let ts = now();
        let forged = sign("another-secret-123", &ts, "text=help");
        assert_eq!(
            v.verify(Some(&forged), Some(&ts), b"text=help"),
            Err(VerifyError::BadSignature)
        );
        let old = "1500000000";
        let stale = sign(secret.expose(), old, "text=help");
        assert_eq!(
            v.verify(Some(&stale), Some(old), b"text=help"),
            Err(VerifyError::StaleTimestamp)
        );
        assert_eq!(
            v.verify(None, Some(&ts), b"x"),
            Err(VerifyError::MissingHeader(SIGNATURE_HEADER))
        );
        let sig = sign(secret.expose(), &ts, "text=help");
        assert_eq!(
            v.verify(Some(&sig), Some(&ts), b"text=refund"),
            Err(VerifyError::BadSignature)
        );
    }
}
