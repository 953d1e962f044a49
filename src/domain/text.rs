//! Free text typed by people (a reject reason, a customer's message given as
//! context), made safe once, at the edge, before it is shown on a card,
//! stored in Redis, logged or audited. The detectors are the audit's own
//! ([`super::redact::secret_spans`]), so what the audit would redact is exactly what
//! is redacted here; unlike [`super::redact::scrub`], which replaces a whole JSON
//! string, only the offending tokens are replaced, so a reason stays readable
//! ("card [redacted] declined twice"). Pure.

use super::redact::scrub_text;
use std::fmt;

/// The longest customer message kept as a case's context (the message a
/// shortcut is run on): Slack allows 40 000 characters in a message, and a
/// real customer's message, even a forwarded email, fits in half of that;
/// the bound keeps the Redis record and the card from growing without end.
pub const CUSTOMER_WORDS_MAX_CHARS: usize = 20_000;

/// Text from a person, trimmed, within a length limit and scrubbed. The only
/// ways in are [`OperatorText::parse`] (refuses over-long text) and
/// [`OperatorText::clipped`] (shortens it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorText(String);

/// Why typed text was refused; `Display` is what the operator reads, and
/// never repeats the text itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("Write something: this field cannot be empty")]
    Empty,
    #[error("This is {given} characters long; at most {max} are kept. Shorten it")]
    TooLong { given: usize, max: usize },
}

impl OperatorText {
    /// Trims `raw`, refuses it when empty or longer than `max` characters
    /// (counted before scrubbing, as the modal counts them), and scrubs it.
    ///
    /// # Errors
    /// See [`TextError`].
    pub fn parse(raw: &str, max: usize) -> Result<Self, TextError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        // Counting stops one past the limit: a 400 000-character paste is
        // refused without walking all of it.
        let given = text.chars().take(max + 1).count();
        if given > max {
            return Err(TextError::TooLong {
                given: text.chars().count(),
                max,
            });
        }
        Ok(Self(scrub_text(text)))
    }

    /// Trims `raw`, keeps at most `max` characters (ending in `…` when cut)
    /// and scrubs it; for text that is context rather than a decision, such
    /// as the customer's message a shortcut was run on. The cut comes first
    /// and is scrubbed after, so a secret cut in half is still recognised by
    /// its prefix; a card number cut below 13 digits is no longer a card
    /// number. `None` when nothing is left.
    pub fn clipped(raw: &str, max: usize) -> Option<Self> {
        let text = raw.trim();
        if text.is_empty() || max == 0 {
            return None;
        }
        let cut = match text.char_indices().nth(max) {
            None => text.to_owned(),
            Some(_) => {
                let mut kept: String = text.chars().take(max.saturating_sub(1)).collect();
                kept.push('…');
                kept
            }
        };
        Some(Self(scrub_text(&cut)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the (scrubbed) text, in hex: what an audit entry
    /// keeps of text that must not live in the audit stream itself (a
    /// customer's message), so that the copy in the case record can be
    /// matched to the entry.
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for OperatorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (typed, expected after scrubbing)
    const CASES: [(&str, &str); 9] = [
        ("customer keeps the plan", "customer keeps the plan"),
        (
            "card 4242 4242 4242 4242 declined",
            "card [redacted] declined",
        ),
        ("card 4242-4242-4242-4242", "card [redacted]"),
        ("key sk_live_51Habc was pasted", "key [redacted] was pasted"),
        ("token=xoxb-123-456-abc, then", "token=[redacted], then"),
        ("mysk_test_abc.", "[redacted]."),
        (
            "4242424242424242 and rk_live_x",
            "[redacted] and [redacted]",
        ),
        // Twelve digits are an order number, not a card.
        ("order 123456789012", "order 123456789012"),
        ("日本語 4000056655665556 ok", "日本語 [redacted] ok"),
    ];

    #[test]
    fn scrubs_only_the_secret_parts() {
        for (typed, expected) in CASES {
            assert_eq!(scrub_text(typed), expected, "scrubbing {typed:?}");
        }
    }

    /// The audit's whole-string scrubber and this one agree: text is changed
    /// exactly when the audit would redact it, and nothing the audit would
    /// redact is left afterwards.
    #[test]
    fn agrees_with_the_audit_scrubber() {
        for (typed, _) in CASES {
            let scrubbed = scrub_text(typed);
            let audit_redacts =
                crate::domain::redact::scrub(serde_json::json!(typed)) != serde_json::json!(typed);
            assert_eq!(scrubbed != typed, audit_redacts, "{typed:?}");
            assert_eq!(
                crate::domain::redact::scrub(serde_json::json!(scrubbed.clone())),
                serde_json::json!(scrubbed)
            );
        }
    }

    #[test]
    fn parse_refuses_empty_and_over_long_text_without_repeating_it() {
        assert_eq!(OperatorText::parse("  \n ", 500), Err(TextError::Empty));
        let long = "4".repeat(400_000);
        let err = OperatorText::parse(&long, 500).expect_err("too long");
        assert_eq!(
            err,
            TextError::TooLong {
                given: 400_000,
                max: 500
            }
        );
        assert!(!err.to_string().contains("4444"));
        let exact = "é".repeat(500);
        assert_eq!(
            OperatorText::parse(&exact, 500).map(|t| t.as_str().chars().count()),
            Ok(500)
        );
    }

    #[test]
    fn parse_trims_and_scrubs() {
        let text =
            OperatorText::parse("  refund 4242 4242 4242 4242 sk_live_x  ", 500).expect("fits");
        assert_eq!(text.as_str(), "refund [redacted] [redacted]");
    }

    #[test]
    fn the_hash_is_of_the_scrubbed_text() {
        let abc = OperatorText::parse("abc", 10).expect("fits");
        assert_eq!(
            abc.sha256(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let card = OperatorText::parse("card 4242 4242 4242 4242", 100).expect("fits");
        let scrubbed = OperatorText::parse("card [redacted]", 100).expect("fits");
        assert_eq!(card.sha256(), scrubbed.sha256());
    }

    #[test]
    fn clipped_cuts_then_scrubs() {
        assert_eq!(OperatorText::clipped("   ", 10), None);
        assert_eq!(
            OperatorText::clipped("short", 10).map(OperatorText::into_string),
            Some("short".to_owned())
        );
        let cut = OperatorText::clipped("abcdefghijkl", 5).expect("text");
        assert_eq!(cut.as_str(), "abcd…");
        let secret = OperatorText::clipped("pay sk_live_abcdefghijkl now", 12).expect("text");
        assert_eq!(secret.as_str(), "pay [redacted]…");
    }
}
