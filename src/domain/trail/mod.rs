//! The audit trail's record format: the chained [`AuditEntry`], its kinds,
//! the canonical bytes hashed, and the walk that verifies a log read in
//! order ([`Verifier`]). Pure data and pure checks, shared by the core (which
//! writes entries from typed events, `crate::audit`) and the store (which
//! appends and reads them). `crate::audit`'s module doc describes the format
//! and what verification proves.

use crate::domain::{Actor, CaseId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

pub mod index;
pub mod witness;

/// The format version written by [`chain`] and accepted by [`verify`].
pub const FORMAT_VERSION: u32 = 1;

/// `prev_hash` of the first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
    /// The event's payload as written (and scrubbed): [`AuditEntry::event`]
    /// reads it back. Kept as JSON, since the hash covers it as stored.
    pub detail: serde_json::Value,
    /// `hash` of the previous entry; [`GENESIS`] for the first.
    pub prev_hash: String,
    /// SHA-256 over the canonical encoding of every other field.
    pub hash: String,
}

/// What happened: an entry's `kind`, the name of its [`AuditEvent`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    LookupRequested,
    CaseOpened,
    LookupFailed,
    /// An operator chose an action from "More actions…" (not proposed by the bot).
    ActionChosen,
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
    /// Stripe's answer was unclear; the bot asks Stripe what happened.
    ExecutionVerifying,
    /// What Stripe said when asked: the step's object, or nothing.
    ExecutionConfirmed,
    PortalLinkCreated,
    FollowUpPosted,
    CaseClosed,
    /// Someone ran an account-wide report (`plans`, `churn`, `gaps`); read-only.
    ReportRun,
    /// An operator added the customer's message or a note to a case.
    ContextAdded,
    /// The case was triaged again with its context; names the actions added.
    CaseRetriaged,
    /// Someone who may not see billing there tried (`access`).
    AccessRefused,
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
    /// No entry follows the anchor (the last trimmed entry), yet the head
    /// names another entry, or no head is recorded.
    AnchorMismatch { anchor_seq: u64, head_present: bool },
}

/// Verifies a log read in order, one entry at a time, so that a large log
/// need not be held in memory. [`verify`] is the whole walk in one call.
#[derive(Debug, Clone)]
pub struct Verifier {
    expected_seq: u64,
    prev_hash: String,
    /// Seq of the anchor the walk started from, when the log was trimmed.
    anchor_seq: Option<u64>,
    /// Stream id, seq and hash of the last entry checked.
    last: Option<(String, u64, String)>,
    checked: u64,
}

/// Whether `text` is a hash as the chain writes them: 64 lower-case hex
/// digits.
pub fn is_hash(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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
impl AuditKind {
    /// Every kind, in the order of the enum (and of docs/AUDIT.md).
    pub const ALL: [AuditKind; 21] = [
        Self::LookupRequested,
        Self::CaseOpened,
        Self::LookupFailed,
        Self::ActionChosen,
        Self::ApprovalGranted,
        Self::ApprovalRefused,
        Self::ActionRejected,
        Self::ActionExpired,
        Self::ExecutionIntent,
        Self::ExecutionSucceeded,
        Self::ExecutionFailed,
        Self::ExecutionReconciled,
        Self::ExecutionVerifying,
        Self::ExecutionConfirmed,
        Self::PortalLinkCreated,
        Self::FollowUpPosted,
        Self::CaseClosed,
        Self::ReportRun,
        Self::ContextAdded,
        Self::CaseRetriaged,
        Self::AccessRefused,
    ];

    /// The name stored in `kind`, as serde writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::LookupRequested => "lookup_requested",
            Self::CaseOpened => "case_opened",
            Self::LookupFailed => "lookup_failed",
            Self::ActionChosen => "action_chosen",
            Self::ApprovalGranted => "approval_granted",
            Self::ApprovalRefused => "approval_refused",
            Self::ActionRejected => "action_rejected",
            Self::ActionExpired => "action_expired",
            Self::ExecutionIntent => "execution_intent",
            Self::ExecutionSucceeded => "execution_succeeded",
            Self::ExecutionFailed => "execution_failed",
            Self::ExecutionReconciled => "execution_reconciled",
            Self::ExecutionVerifying => "execution_verifying",
            Self::ExecutionConfirmed => "execution_confirmed",
            Self::PortalLinkCreated => "portal_link_created",
            Self::FollowUpPosted => "follow_up_posted",
            Self::CaseClosed => "case_closed",
            Self::ReportRun => "report_run",
            Self::ContextAdded => "context_added",
            Self::CaseRetriaged => "case_retriaged",
            Self::AccessRefused => "access_refused",
        }
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Verifier {
    pub fn new() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS.to_owned(),
            anchor_seq: None,
            last: None,
            checked: 0,
        }
    }

    /// A walk of a trimmed log: the first entry must be number `seq + 1`
    /// and link to `hash`, the last trimmed entry's (`audit trim` keeps them
    /// as the anchor). Removing entries right after the anchor, or moving
    /// the anchor without trimming, breaks the walk like any other gap.
    pub fn from_anchor(seq: u64, hash: &str) -> Self {
        Self {
            expected_seq: seq + 1,
            prev_hash: hash.to_owned(),
            anchor_seq: Some(seq),
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
        if let (None, Some(anchor_seq)) = (&self.last, self.anchor_seq) {
            // Everything up to the anchor was trimmed and nothing followed:
            // the head must still be the anchor's entry.
            return if head == Some(self.prev_hash.as_str()) {
                Ok(0)
            } else {
                Err(VerifyError::AnchorMismatch {
                    anchor_seq,
                    head_present: head.is_some(),
                })
            };
        }
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
            Self::AnchorMismatch { anchor_seq, head_present: true } => write!(
                f,
                "no audit entry follows the anchor (seq {anchor_seq}, the last trimmed entry), but the recorded head names another: entries after the anchor were removed; {ADVICE}"
            ),
            Self::AnchorMismatch { anchor_seq, head_present: false } => write!(
                f,
                "no audit entry follows the anchor (seq {anchor_seq}, the last trimmed entry) and no head is recorded: the head key was removed; {ADVICE}"
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

/// The bytes [`entry_hash`] hashes: every field but `hash`, keys sorted
/// (`action`, `actor`, `at`, `case_id`, `detail`, `kind`, `prev_hash`,
/// `seq`, `stripe_ids`, `v`), no whitespace. Written field by field rather
/// than through a `serde_json::Value` of the whole entry, which would cost a
/// map allocation per entry when verifying a long log.
pub(crate) fn canonical_bytes(entry: &AuditEntry) -> Vec<u8> {
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
pub(crate) fn write_value(out: &mut Vec<u8>, value: &serde_json::Value) {
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
