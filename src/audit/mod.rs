//! Audit entries, chain hashing and verification (docs/CONTRACT.md "The audit
//! log"). Pure: no I/O, no clock. Where entries are stored (the Redis Stream,
//! its head key and the per-case index) is `store::audit`'s business; when
//! something happened is the caller's `at`.
//!
//! # Entry format (version 1)
//!
//! Each entry is one JSON object, [`AuditEntry`]: the envelope (`v`, `seq`,
//! `case_id`, `action`, `kind`, `actor`, `at`, `stripe_ids`, `prev_hash`,
//! `hash`) and a `detail` whose fields depend on the `kind`, written from a
//! typed [`AuditEvent`] (`event`), scrubbed of secrets and card numbers by
//! [`scrub`]. `docs/AUDIT.md` is the schema: every field of the envelope
//! and of each kind's detail, the canonical encoding hashed, and how to add
//! a kind; a unit test keeps it equal to the code.
//!
//! # Canonical encoding
//!
//! The bytes hashed are the entry as JSON **without the `hash` field**,
//! written so that any reader can reproduce them:
//! - objects (the entry itself, `actor`, and every object inside `detail`)
//!   have their keys sorted by their UTF-8 bytes, at every depth;
//! - no whitespace anywhere;
//! - strings are UTF-8 with only `"`, `\` and control characters escaped
//!   (`\n`, `\t`, … or `\u00XX`), as `serde_json` writes them; non-ASCII
//!   characters and `/` are written as they are;
//! - integers in plain decimal; other numbers as `serde_json` writes them;
//! - `null`, `true`, `false`; arrays keep their order.
//!
//! So the first entry of a log hashes the bytes
//! `{"action":null,"actor":{"kind":"system"},"at":…,"case_id":null,"detail":…,"kind":"…","prev_hash":"000…","seq":1,"stripe_ids":[],"v":1}`.
//!
//! # What verification proves
//!
//! [`verify`] recomputes every hash and link and compares the last hash with
//! the separately stored head, so an entry edited, removed (also the last
//! one) or inserted without rewriting everything after it is named. The
//! chain has no secret key: someone who can write to Redis and recomputes
//! the whole chain and the head is not caught by the chain alone; exporting
//! the head elsewhere now and then anchors it.

use crate::domain::{Actor, CaseId};

pub mod event;
#[cfg(test)]
mod examples;

pub use crate::domain::redact::{looks_secret, scrub, scrub_text, secret_spans, REDACTED};
pub use crate::domain::text;
#[cfg(test)]
use crate::domain::trail::{canonical_bytes, write_value};
pub use crate::domain::trail::{
    entry_hash, index, verify, AuditEntry, AuditKind, Verifier, VerifyError, FORMAT_VERSION,
    GENESIS,
};
pub use event::*;
#[cfg(test)]
use sha2::{Digest, Sha256};

#[cfg(test)]
mod tests;
/// The fields of an entry before it is chained: its `kind` and `detail` are
/// written from `event`, never by hand.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEntry {
    pub case_id: Option<CaseId>,
    pub action: Option<String>,
    pub actor: Actor,
    pub at: i64,
    pub stripe_ids: Vec<String>,
    pub event: AuditEvent,
}

/// Chains `new` after the entry with `prev_hash` as number `seq`, writing
/// its event as `kind` and scrubbed `detail`.
pub fn chain(new: NewEntry, seq: u64, prev_hash: &str) -> AuditEntry {
    let stripe_ids = new
        .stripe_ids
        .into_iter()
        .map(|id| {
            if looks_secret(&id) {
                REDACTED.to_owned()
            } else {
                id
            }
        })
        .collect();
    let mut entry = AuditEntry {
        v: FORMAT_VERSION,
        seq,
        case_id: new.case_id,
        action: new.action,
        kind: new.event.kind(),
        actor: new.actor,
        at: new.at,
        stripe_ids,
        detail: scrub(new.event.detail()),
        prev_hash: prev_hash.to_owned(),
        hash: String::new(),
    };
    entry.hash = entry_hash(&entry);
    entry
}

impl AuditEntry {
    /// The entry's `kind` and `detail` read back as the typed event.
    ///
    /// # Errors
    /// [`EventError`] naming the kind when the detail does not read as one.
    pub fn event(&self) -> Result<AuditEvent, EventError> {
        AuditEvent::read(self.kind, &self.detail)
    }
}

/// An entry written from its event, scrubbed, not yet chained: the store
/// chains it on the head it reads when appending.
impl From<NewEntry> for AuditEntry {
    fn from(new: NewEntry) -> Self {
        chain(new, 0, "")
    }
}

impl NewEntry {
    /// An entry of no case, no action and no Stripe object; the builders
    /// below add those.
    pub fn new(event: impl Into<AuditEvent>, actor: Actor, at: i64) -> Self {
        Self {
            case_id: None,
            action: None,
            actor,
            at,
            stripe_ids: Vec::new(),
            event: event.into(),
        }
    }

    /// The entry belongs to `case_id`.
    pub fn for_case(self, case_id: CaseId) -> Self {
        Self {
            case_id: Some(case_id),
            ..self
        }
    }

    /// The entry concerns the case's action `key`.
    pub fn on_action(self, key: impl Into<String>) -> Self {
        Self {
            action: Some(key.into()),
            ..self
        }
    }

    /// The Stripe objects involved.
    pub fn with_stripe_ids(self, stripe_ids: Vec<String>) -> Self {
        Self { stripe_ids, ..self }
    }

    pub fn kind(&self) -> AuditKind {
        self.event.kind()
    }
}
