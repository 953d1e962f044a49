//! Audit entries, chain hashing and verification (CONTRACT.md "The audit
//! log"; issue 3 part 4). Pure: no I/O, no clock. Where entries are stored
//! (the Redis Stream, its head key and the per-case index) is
//! `store::audit`'s business; when something happened is the caller's `at`.
//!
//! # Entry format (version 1)
//!
//! Each entry is one JSON object, [`AuditEntry`]:
//!
//! | field | meaning |
//! |---|---|
//! | `v` | format version, `1` |
//! | `seq` | position in the log, `1` for the first entry, no gaps |
//! | `case_id` | `case_…`, or `null` for system events |
//! | `action` | the action key (e.g. `"a2"`) or `null` |
//! | `kind` | what happened, [`AuditKind`] in snake_case (`"execution_intent"`) |
//! | `actor` | `{"kind":"slack","id":"U…"}`, `{"kind":"cli","id":"user"}` or `{"kind":"system"}` |
//! | `at` | unix seconds |
//! | `stripe_ids` | Stripe object ids involved (`cus_…`, `ch_…`, `re_…`) |
//! | `detail` | free JSON, scrubbed of secrets and card numbers by [`scrub`] |
//! | `prev_hash` | `hash` of the entry before, [`GENESIS`] for the first |
//! | `hash` | SHA-256 of the canonical encoding below, lower-case hex |
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
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

#[cfg(test)]
mod tests;

/// The format version written by [`chain`] and accepted by [`verify`].
pub const FORMAT_VERSION: u32 = 1;

/// `prev_hash` of the first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What replaces a secret or a card number in `detail`.
pub const REDACTED: &str = "[redacted]";

/// One chained entry of the audit log, as stored and as hashed (see the
/// module doc for the format). Unknown fields are refused when reading, so
/// that an added field cannot hide from the hash.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// Format version, [`FORMAT_VERSION`].
    pub v: u32,
    /// Position in the log, from 1, without gaps: a removed entry shows as a gap.
    pub seq: u64,
    /// `None` for system events that belong to no case.
    pub case_id: Option<CaseId>,
    /// The action key (e.g. `"a2"`) when the event concerns one action.
    pub action: Option<String>,
    pub kind: AuditKind,
    pub actor: Actor,
    /// Unix seconds, given by the caller.
    pub at: i64,
    pub stripe_ids: Vec<String>,
    /// Free-form detail, already scrubbed.
    pub detail: serde_json::Value,
    /// `hash` of the previous entry; [`GENESIS`] for the first.
    pub prev_hash: String,
    /// SHA-256 over the canonical encoding of every other field.
    pub hash: String,
}

/// What happened.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    LookupRequested,
    CaseOpened,
    LookupFailed,
    ApprovalGranted,
    ApprovalRefused,
    ActionRejected,
    ActionExpired,
    /// Written before Stripe is called (write-ahead).
    ExecutionIntent,
    ExecutionSucceeded,
    ExecutionFailed,
    /// The start-up reconciler finished an action left executing.
    ExecutionReconciled,
    PortalLinkCreated,
    FollowUpPosted,
    CaseClosed,
    /// Someone ran an account-wide report (`plans`, `churn`, `gaps`); read-only.
    ReportRun,
}

/// The fields of an entry before it is chained.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEntry {
    pub case_id: Option<CaseId>,
    pub action: Option<String>,
    pub kind: AuditKind,
    pub actor: Actor,
    pub at: i64,
    pub stripe_ids: Vec<String>,
    pub detail: serde_json::Value,
}

/// The first thing wrong in the log. `Display` names the entry (stream id
/// and seq) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The entry's content does not hash to its `hash`: it was edited.
    HashMismatch { stream_id: String, seq: u64 },
    /// The entry's `prev_hash` is not the previous entry's `hash`.
    BrokenLink { stream_id: String, seq: u64 },
    /// The entry's `seq` is not one more than the previous entry's.
    SequenceGap {
        stream_id: String,
        seq: u64,
        expected: u64,
    },
    /// The last entry is not the one the head key records.
    HeadMismatch {
        /// The last entry read (stream id, seq); `None` when the log is empty.
        last: Option<(String, u64)>,
        /// Whether a head was recorded at all.
        head_present: bool,
    },
    /// The entry cannot be read as an audit entry of a known version.
    Unreadable { stream_id: String, reason: String },
}

/// Verifies a log read in order, one entry at a time, so that a large log
/// need not be held in memory. [`verify`] is the whole walk in one call.
#[derive(Debug, Clone)]
pub struct Verifier {
    expected_seq: u64,
    prev_hash: String,
    /// Stream id, seq and hash of the last entry checked.
    last: Option<(String, u64, String)>,
    checked: u64,
}

/// Chains `new` after the entry with `prev_hash` as number `seq`, scrubbing
/// its detail first.
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
        kind: new.kind,
        actor: new.actor,
        at: new.at,
        stripe_ids,
        detail: scrub(new.detail),
        prev_hash: prev_hash.to_owned(),
        hash: String::new(),
    };
    entry.hash = entry_hash(&entry);
    entry
}

/// SHA-256, lower-case hex, of the canonical encoding of every field but
/// `hash` (module doc).
pub fn entry_hash(entry: &AuditEntry) -> String {
    hex::encode(Sha256::digest(canonical_bytes(entry)))
}

/// Walks `entries` in order (each with its stream id), recomputing hashes,
/// sequence numbers and links, then checks that the last hash is `head`, the
/// separately stored latest hash, so that removing the last entry is caught
/// too. Returns how many entries were checked.
///
/// # Errors
/// The first bad entry, as a [`VerifyError`].
pub fn verify<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a AuditEntry)>,
    head: Option<&str>,
) -> Result<u64, VerifyError> {
    let mut verifier = Verifier::new();
    for (stream_id, entry) in entries {
        verifier.check(stream_id, entry)?;
    }
    verifier.finish(head)
}

/// Replaces every string in `detail` (at any depth) that holds a secret
/// (`xoxb-`, `xoxp-`, `xapp-`, `sk_live`/`sk_test`, `rk_live`/`rk_test`,
/// `whsec_`) or a card-number-looking run (13 or more digits, possibly
/// grouped by single spaces or dashes) with [`REDACTED`]. Integers of 13 or
/// more digits are replaced too, since a card number fits in one. Keys are
/// kept: they are the code's own names, not data.
pub fn scrub(detail: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match detail {
        Value::String(text) if looks_secret(&text) => Value::String(REDACTED.to_owned()),
        Value::Number(number)
            if number
                .as_u64()
                .is_some_and(|n| digit_count(n) >= CARD_DIGITS_MIN) =>
        {
            Value::String(REDACTED.to_owned())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(scrub).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, scrub(value)))
                .collect(),
        ),
        other => other,
    }
}

impl Verifier {
    pub fn new() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS.to_owned(),
            last: None,
            checked: 0,
        }
    }

    /// Checks the next entry of the log.
    ///
    /// # Errors
    /// When this entry is the first bad one.
    pub fn check(&mut self, stream_id: &str, entry: &AuditEntry) -> Result<(), VerifyError> {
        if entry.v != FORMAT_VERSION {
            return Err(VerifyError::Unreadable {
                stream_id: stream_id.to_owned(),
                reason: format!("format version {} is unknown", entry.v),
            });
        }
        if entry_hash(entry) != entry.hash {
            return Err(VerifyError::HashMismatch {
                stream_id: stream_id.to_owned(),
                seq: entry.seq,
            });
        }
        // The sequence is checked before the link: a removed entry breaks
        // both, and "expected seq 5" says more than "bad link".
        if entry.seq != self.expected_seq {
            return Err(VerifyError::SequenceGap {
                stream_id: stream_id.to_owned(),
                seq: entry.seq,
                expected: self.expected_seq,
            });
        }
        if entry.prev_hash != self.prev_hash {
            return Err(VerifyError::BrokenLink {
                stream_id: stream_id.to_owned(),
                seq: entry.seq,
            });
        }
        self.expected_seq = entry.seq + 1;
        self.prev_hash.clone_from(&entry.hash);
        self.last = Some((stream_id.to_owned(), entry.seq, entry.hash.clone()));
        self.checked += 1;
        Ok(())
    }

    /// Ends the walk: the last entry checked must be the one `head` (its
    /// hash) records; an empty log must have no head.
    ///
    /// # Errors
    /// [`VerifyError::HeadMismatch`] naming the last entry read.
    pub fn finish(self, head: Option<&str>) -> Result<u64, VerifyError> {
        let last_hash = self.last.as_ref().map(|(_, _, hash)| hash.as_str());
        if last_hash == head {
            return Ok(self.checked);
        }
        Err(VerifyError::HeadMismatch {
            last: self.last.map(|(stream_id, seq, _)| (stream_id, seq)),
            head_present: head.is_some(),
        })
    }

    /// Entries checked so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ADVICE: &str = "find who wrote to Redis and restore the log from a backup";
        match self {
            Self::HashMismatch { stream_id, seq } => write!(
                f,
                "audit entry {stream_id} (seq {seq}) was altered: its content does not match its hash; {ADVICE}"
            ),
            Self::BrokenLink { stream_id, seq } => write!(
                f,
                "audit entry {stream_id} (seq {seq}) does not link to the entry before it: an entry was inserted, removed or rewritten there; {ADVICE}"
            ),
            Self::SequenceGap { stream_id, seq, expected } => write!(
                f,
                "audit entry {stream_id} has seq {seq} where seq {expected} was expected: entries before it were removed or inserted; {ADVICE}"
            ),
            Self::HeadMismatch { last: Some((stream_id, seq)), head_present: true } => write!(
                f,
                "audit entry {stream_id} (seq {seq}) is the last one, but the recorded head names another: entries after it were removed, or it was appended without the head; {ADVICE}"
            ),
            Self::HeadMismatch { last: Some((stream_id, seq)), head_present: false } => write!(
                f,
                "audit entry {stream_id} (seq {seq}) is the last one, but no head is recorded: the head key was removed; {ADVICE}"
            ),
            Self::HeadMismatch { last: None, head_present: true } => write!(
                f,
                "the audit log is empty but its head records an entry: the entries were removed; {ADVICE}"
            ),
            Self::HeadMismatch { last: None, head_present: false } => {
                f.write_str("the audit log is empty and consistent")
            }
            Self::Unreadable { stream_id, reason } => {
                write!(f, "audit entry {stream_id} is unreadable ({reason}); {ADVICE}")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

/// The bytes [`entry_hash`] hashes: every field but `hash`, keys sorted
/// (`action`, `actor`, `at`, `case_id`, `detail`, `kind`, `prev_hash`,
/// `seq`, `stripe_ids`, `v`), no whitespace. Written field by field rather
/// than through a `serde_json::Value` of the whole entry, which would cost a
/// map allocation per entry when verifying a long log.
fn canonical_bytes(entry: &AuditEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"action\":");
    match &entry.action {
        Some(action) => write_str(&mut out, action),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"actor\":");
    write_value(
        &mut out,
        &serde_json::to_value(&entry.actor).expect("an Actor always serialises to JSON"),
    );
    out.extend_from_slice(b",\"at\":");
    out.extend_from_slice(entry.at.to_string().as_bytes());
    out.extend_from_slice(b",\"case_id\":");
    match &entry.case_id {
        Some(case_id) => write_str(&mut out, case_id.as_str()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"detail\":");
    write_value(&mut out, &entry.detail);
    out.extend_from_slice(b",\"kind\":");
    write_value(
        &mut out,
        &serde_json::to_value(entry.kind).expect("an AuditKind always serialises to JSON"),
    );
    out.extend_from_slice(b",\"prev_hash\":");
    write_str(&mut out, &entry.prev_hash);
    out.extend_from_slice(b",\"seq\":");
    out.extend_from_slice(entry.seq.to_string().as_bytes());
    out.extend_from_slice(b",\"stripe_ids\":[");
    for (i, id) in entry.stripe_ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(&mut out, id);
    }
    out.extend_from_slice(b"],\"v\":");
    out.extend_from_slice(entry.v.to_string().as_bytes());
    out.push(b'}');
    out
}

/// Canonical JSON of any value: object keys sorted by their bytes at every
/// depth, whatever order the map keeps them in.
fn write_value(out: &mut Vec<u8>, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => out.extend_from_slice(number.to_string().as_bytes()),
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_value(out, &map[key]);
            }
            out.push(b'}');
        }
    }
}

fn write_str(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(&mut *out, text).expect("writing a str into a Vec cannot fail");
}

/// Prefixes of tokens and keys that must never be written (CONTRACT.md).
const SECRET_MARKERS: [&str; 8] = [
    "xoxb-", "xoxp-", "xapp-", "sk_live", "sk_test", "rk_live", "rk_test", "whsec_",
];

fn looks_secret(text: &str) -> bool {
    SECRET_MARKERS.iter().any(|marker| text.contains(marker)) || has_card_number_run(text)
}

/// Card numbers have 13 to 19 digits; longer runs are redacted as well,
/// since one may hide inside.
const CARD_DIGITS_MIN: usize = 13;

/// A run of 13 or more digits, where single spaces or dashes between digits
/// (`4242 4242 4242 4242`, `4242-4242-…`) do not end the run. No Luhn
/// check: a mistyped card number is still one, and a redacted non-card
/// number costs little in an audit log.
fn has_card_number_run(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut digits = 0usize;
    for (i, &byte) in bytes.iter().enumerate() {
        if byte.is_ascii_digit() {
            digits += 1;
            continue;
        }
        let joins_digits = (byte == b' ' || byte == b'-')
            && digits > 0
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if joins_digits {
            continue;
        }
        if digits >= CARD_DIGITS_MIN {
            return true;
        }
        digits = 0;
    }
    digits >= CARD_DIGITS_MIN
}

fn digit_count(mut n: u64) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}
