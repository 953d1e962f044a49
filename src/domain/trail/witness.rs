//! The audit log's witness: the chain's head (seq and hash of the last
//! entry) published outside Redis, and the check of the stored chain against
//! every head published. Someone who can write Redis can recompute the
//! whole chain from any entry and pass `audit verify`; a head already in an
//! append-only file or a Slack channel they cannot rewrite, signed with a key
//! Redis never holds, tells that log apart from the one that was.
//!
//! A published head is one [`WitnessHead`] record, one line of JSON
//! (`docs/AUDIT.md`, "The witness"); in Slack it follows a short sentence in
//! a code block. Pure: the shell reads the heads and the stored entries they
//! name and hands them to [`check`].

use super::{is_hash, write_str, AuditEntry};
use crate::domain::{AuditSigningKey, ChannelId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The record's `type`, which also marks a witness message among others in
/// a Slack channel.
pub const RECORD_TYPE: &str = "billing-triage.audit-head";
/// The record's format version, `v`.
pub const RECORD_VERSION: u32 = 1;
/// Longest publisher id accepted (`inst_` and 32 hex digits today).
const MAX_BY_LEN: usize = 64;

/// Where heads are published and read back: `AUDIT_WITNESS` and
/// `audit verify --witness`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessTarget {
    /// A message per head in this channel (`slack:C…`).
    Slack(ChannelId),
    /// A line per head appended to this file (`file:PATH`).
    File(PathBuf),
}

/// Why a witness setting is not one; `Display` says what is expected.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct TargetError(&'static str);

impl WitnessTarget {
    /// `AUDIT_WITNESS`: `off` (any case) is `None`.
    ///
    /// # Errors
    /// A value that is none of `slack:<channel id>`, `file:<path>`, `off`.
    pub fn setting(raw: &str) -> Result<Option<Self>, TargetError> {
        if raw.trim().eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        raw.parse().map(Some)
    }
}

impl FromStr for WitnessTarget {
    type Err = TargetError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") {
            return Err(TargetError(
                "off names no witness: expected slack:<channel id> or file:<path>",
            ));
        }
        if let Some(channel) = raw.strip_prefix("slack:") {
            return ChannelId::parse(channel.trim()).map(Self::Slack).map_err(|_| {
                TargetError(
                    "slack: needs a channel id such as slack:C0123ABCD (channel details, the id at the bottom)",
                )
            });
        }
        if let Some(path) = raw.strip_prefix("file:") {
            return if path.trim().is_empty() {
                Err(TargetError(
                    "file: needs a path, such as file:/var/lib/billing-triage/audit-heads.jsonl",
                ))
            } else {
                Ok(Self::File(PathBuf::from(path)))
            };
        }
        Err(TargetError(
            "expected slack:<channel id>, file:<path> or off",
        ))
    }
}

impl fmt::Display for WitnessTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Slack(channel) => write!(f, "slack:{channel}"),
            Self::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

/// One published head: the chain's last entry (`seq`, `hash`) as Redis held
/// it at `at`, published by replica `by`, signed when a key is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessHead {
    pub seq: u64,
    pub hash: String,
    /// Unix seconds when it was published.
    pub at: i64,
    /// The publishing replica's instance id (`inst_…`).
    pub by: String,
    /// HMAC-SHA-256, hex, of [`WitnessHead::signed_bytes`].
    pub sig: Option<String>,
}

/// A head record as written: field order is the line's.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    v: u32,
    seq: u64,
    hash: String,
    at: i64,
    by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sig: Option<String>,
}

/// Why a published record cannot be read; names the fault, and echoes no
/// more of the record than its field names.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct RecordError(String);

/// What a head's signature says, given the key (or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// The key makes this signature.
    Valid,
    /// A key is set but the head carries no signature.
    Missing,
    /// The key does not make this signature.
    Bad,
    /// No key to check with.
    Unchecked,
}

impl WitnessHead {
    /// The head `seq`/`hash` published at `at` by `by`, signed with `key`
    /// when there is one.
    pub fn new(seq: u64, hash: &str, at: i64, by: &str, key: Option<&AuditSigningKey>) -> Self {
        let mut head = Self {
            seq,
            hash: hash.to_owned(),
            at,
            by: by.to_owned(),
            sig: None,
        };
        head.sig = key.map(|key| key.sign(&head.signed_bytes()));
        head
    }

    /// The bytes signed: the record without `sig`, keys sorted, no
    /// whitespace: `{"at":…,"by":"…","hash":"…","seq":…,"type":"…","v":1}`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(192);
        out.extend_from_slice(b"{\"at\":");
        out.extend_from_slice(self.at.to_string().as_bytes());
        out.extend_from_slice(b",\"by\":");
        write_str(&mut out, &self.by);
        out.extend_from_slice(b",\"hash\":");
        write_str(&mut out, &self.hash);
        out.extend_from_slice(b",\"seq\":");
        out.extend_from_slice(self.seq.to_string().as_bytes());
        out.extend_from_slice(b",\"type\":");
        write_str(&mut out, RECORD_TYPE);
        out.extend_from_slice(b",\"v\":");
        out.extend_from_slice(RECORD_VERSION.to_string().as_bytes());
        out.push(b'}');
        out
    }

    pub fn signature(&self, key: Option<&AuditSigningKey>) -> Signature {
        match (key, &self.sig) {
            (None, _) => Signature::Unchecked,
            (Some(_), None) => Signature::Missing,
            (Some(key), Some(sig)) if key.verifies(&self.signed_bytes(), sig) => Signature::Valid,
            (Some(_), Some(_)) => Signature::Bad,
        }
    }

    /// The record as one line of JSON (no newline).
    pub fn to_line(&self) -> String {
        let wire = Wire {
            kind: RECORD_TYPE.to_owned(),
            v: RECORD_VERSION,
            seq: self.seq,
            hash: self.hash.clone(),
            at: self.at,
            by: self.by.clone(),
            sig: self.sig.clone(),
        };
        serde_json::to_string(&wire).expect("a head record always serialises to JSON")
    }

    /// Reads one line written by [`WitnessHead::to_line`].
    ///
    /// # Errors
    /// Not JSON, another type or version, or a field that is not what the
    /// bot writes.
    pub fn parse_line(line: &str) -> Result<Self, RecordError> {
        let wire: Wire = serde_json::from_str(line.trim()).map_err(|e| {
            RecordError(format!(
                "not a head record (JSON {:?} error at column {})",
                e.classify(),
                e.column()
            ))
        })?;
        let fault = if wire.kind != RECORD_TYPE {
            Some("its type is not billing-triage.audit-head".to_owned())
        } else if wire.v != RECORD_VERSION {
            Some(format!("record version {} is unknown", wire.v))
        } else if wire.seq == 0 {
            Some("seq 0 names no entry".to_owned())
        } else if !is_hash(&wire.hash) {
            Some("hash is not 64 lower-case hex digits".to_owned())
        } else if !is_publisher(&wire.by) {
            Some("by is not an instance id".to_owned())
        } else if wire.sig.as_deref().is_some_and(|sig| !is_hash(sig)) {
            Some("sig is not 64 lower-case hex digits".to_owned())
        } else {
            None
        };
        match fault {
            Some(fault) => Err(RecordError(fault)),
            None => Ok(Self {
                seq: wire.seq,
                hash: wire.hash,
                at: wire.at,
                by: wire.by,
                sig: wire.sig,
            }),
        }
    }

    /// The Slack message: a sentence for people, then the record in a code
    /// block for `audit verify`.
    pub fn to_slack_text(&self) -> String {
        let signed = if self.sig.is_some() {
            "signed"
        } else {
            "unsigned"
        };
        format!(
            "Audit log head: entry {} (hash {}…) as of {}, published by {} ({signed}).\n```\n{}\n```",
            self.seq,
            &self.hash[..16.min(self.hash.len())],
            when(self.at),
            self.by,
            self.to_line()
        )
    }

    /// The record in a Slack message's text; `None` when the message holds
    /// none (other messages in the channel are not the witness's).
    pub fn from_slack_text(text: &str) -> Option<Result<Self, RecordError>> {
        if !text.contains(RECORD_TYPE) {
            return None;
        }
        // Slack escapes these three in message text.
        let text = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        let line = text
            .lines()
            .map(|line| line.trim().trim_matches('`').trim())
            .find(|line| line.starts_with('{') && line.contains(RECORD_TYPE));
        Some(match line {
            Some(line) => Self::parse_line(line),
            None => Err(RecordError(
                "the message names a head record but holds none on a line of its own".to_owned(),
            )),
        })
    }
}

/// `inst_…`: letters, digits, `_` and `-`, at most [`MAX_BY_LEN`].
fn is_publisher(by: &str) -> bool {
    !by.is_empty()
        && by.len() <= MAX_BY_LEN
        && by
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `2026-11-25 10:00:00 UTC`, or `@<unix>` for a time out of range.
pub fn when(unix: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_else(|| format!("@{unix}"))
}

/// One record read from the witness, with where it was read
/// (`line 4 of /var/…`, `message 1700000000.000100 in C…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub source: String,
    pub record: Result<WitnessHead, RecordError>,
}

/// The seqs the published heads name: the stored entries [`check`] needs.
pub fn seqs_named(published: &[Published]) -> BTreeSet<u64> {
    published
        .iter()
        .filter_map(|p| p.record.as_ref().ok().map(|head| head.seq))
        .collect()
}

/// A stored entry's hash and time, as the check needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub hash: String,
    pub at: i64,
}

/// What the stored log holds where the heads point: its anchor (after a
/// trim), its last seq, and the entries at the seqs named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredChain {
    /// Seq and hash of the last trimmed entry.
    pub anchor: Option<(u64, String)>,
    /// Seq of the last stored entry; `None` when no entry follows the anchor.
    pub last_seq: Option<u64>,
    pub entries: BTreeMap<u64, StoredEntry>,
}

impl StoredChain {
    /// Notes `entry`, read in order by the verifier's walk, keeping it when
    /// its seq is `wanted`.
    pub fn note(&mut self, entry: &AuditEntry, wanted: &BTreeSet<u64>) {
        self.last_seq = Some(entry.seq);
        if wanted.contains(&entry.seq) {
            self.entries.insert(
                entry.seq,
                StoredEntry {
                    hash: entry.hash.clone(),
                    at: entry.at,
                },
            );
        }
    }

    /// The seq of the chain's last entry, trimmed or not; `None` for a log
    /// that never had one.
    pub fn end(&self) -> Option<u64> {
        self.last_seq.or(self.anchor.as_ref().map(|(seq, _)| *seq))
    }
}

/// A head and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub head: WitnessHead,
    pub source: String,
}

/// Something the witness says that the stored log, or the witness itself,
/// contradicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The head's seq is past the stored chain's end: entries it covered
    /// are gone.
    Lost {
        at: Sighting,
        /// The stored chain's last seq; `None` for an empty log.
        chain_end: Option<u64>,
    },
    /// The stored entry at the head's seq has another hash.
    Rewritten {
        at: Sighting,
        stored_hash: String,
        /// When the stored entry says it was written (`None`: the anchor).
        stored_at: Option<i64>,
        /// The highest seq below this one of a head the log agrees with.
        agrees_up_to: Option<u64>,
    },
    /// A key is set and this head has no signature.
    Unsigned(Sighting),
    /// A key is set and does not make this head's signature.
    BadSignature(Sighting),
    /// A record that cannot be read.
    Unreadable { source: String, reason: String },
    /// The log has entries and the witness no head at all.
    NoHeads { chain_end: u64 },
}

impl Finding {
    /// Whether the stored chain contradicts a head (rather than the
    /// witness being wrong in itself).
    pub fn is_contradiction(&self) -> bool {
        matches!(self, Self::Lost { .. } | Self::Rewritten { .. })
    }
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitnessReport {
    /// Records read from the witness.
    pub records: usize,
    /// Heads the stored log agrees with.
    pub agreed: usize,
    /// Heads older than the anchor: their entries were trimmed, so only the
    /// archive can be checked against them.
    pub before_anchor: usize,
    /// The anchor's seq, when the log was trimmed.
    pub anchor_seq: Option<u64>,
    /// Whether signatures went unchecked (no key).
    pub unsigned_check: bool,
    /// The newest head (by seq) the log agrees with.
    pub newest_agreed: Option<WitnessHead>,
    /// The stored chain's last seq.
    pub chain_end: Option<u64>,
    /// Contradictions first, by seq; then the witness's own faults, in the
    /// order read.
    pub findings: Vec<Finding>,
}

impl WitnessReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Checks `chain` against every head `published`: each head must be in the
/// chain at its seq with its hash. With `key`, a head without a valid
/// signature is a finding and is not compared (a forged head proves
/// nothing, either way).
pub fn check(
    published: &[Published],
    chain: &StoredChain,
    key: Option<&AuditSigningKey>,
) -> WitnessReport {
    let mut report = WitnessReport {
        records: published.len(),
        anchor_seq: chain.anchor.as_ref().map(|(seq, _)| *seq),
        unsigned_check: key.is_none(),
        chain_end: chain.end(),
        ..WitnessReport::default()
    };
    let mut faults = Vec::new();
    let mut heads = Vec::new();
    for p in published {
        let head = match &p.record {
            Ok(head) => head,
            Err(e) => {
                faults.push(Finding::Unreadable {
                    source: p.source.clone(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let sighting = Sighting {
            head: head.clone(),
            source: p.source.clone(),
        };
        match head.signature(key) {
            Signature::Valid | Signature::Unchecked => heads.push(sighting),
            Signature::Missing => faults.push(Finding::Unsigned(sighting)),
            Signature::Bad => faults.push(Finding::BadSignature(sighting)),
        }
    }
    heads.sort_by_key(|s| (s.head.seq, s.head.at));

    let mut agreed_seqs: Vec<u64> = Vec::new();
    for sighting in heads {
        let seq = sighting.head.seq;
        let stored = match &chain.anchor {
            Some((anchor_seq, _)) if seq < *anchor_seq => {
                report.before_anchor += 1;
                continue;
            }
            Some((anchor_seq, anchor_hash)) if seq == *anchor_seq => Some((anchor_hash, None)),
            _ => chain.entries.get(&seq).map(|e| (&e.hash, Some(e.at))),
        };
        match stored {
            Some((hash, _)) if *hash == sighting.head.hash => {
                report.agreed += 1;
                agreed_seqs.push(seq);
                report.newest_agreed = Some(sighting.head);
            }
            Some((hash, stored_at)) => report.findings.push(Finding::Rewritten {
                stored_hash: hash.clone(),
                stored_at,
                agrees_up_to: agreed_seqs.iter().rev().find(|s| **s < seq).copied(),
                at: sighting,
            }),
            None => report.findings.push(Finding::Lost {
                at: sighting,
                chain_end: chain.end(),
            }),
        }
    }
    if let (true, Some(chain_end)) = (published.is_empty(), chain.end()) {
        report.findings.push(Finding::NoHeads { chain_end });
    }
    report.findings.extend(faults);
    report
}

const ADVICE: &str = "find who wrote to Redis, and restore the log from the export or a backup";

impl fmt::Display for Sighting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the head for seq {} published {} by {} ({})",
            self.head.seq,
            when(self.head.at),
            self.head.by,
            self.source
        )
    }
}

fn short(hash: &str) -> &str {
    &hash[..16.min(hash.len())]
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lost { at, chain_end } => {
                let end = match chain_end {
                    Some(end) => format!("the stored log ends at seq {end}"),
                    None => "the stored log is empty".to_owned(),
                };
                write!(
                    f,
                    "{at} is beyond the stored log: {end}, so entries up to seq {} that were in the log then are gone. \
                     A Redis failover loses the last writes its replica had not received (replication is asynchronous); \
                     otherwise someone removed them. Check Stripe and the case cards of that time for what they recorded",
                    at.head.seq
                )
            }
            Self::Rewritten {
                at,
                stored_hash,
                stored_at,
                agrees_up_to,
            } => {
                write!(
                    f,
                    "{at} says hash {}…, but the stored entry {} has hash {}…: the log was rewritten after this head was published",
                    short(&at.head.hash),
                    at.head.seq,
                    short(stored_hash)
                )?;
                match agrees_up_to {
                    Some(good) => write!(
                        f,
                        ", from an entry after seq {good} (the last published head it still agrees with)"
                    )?,
                    None => write!(f, ", from an entry at or before seq {}", at.head.seq)?,
                }
                if stored_at.is_some_and(|stored_at| stored_at > at.head.at) {
                    write!(
                        f,
                        "; the stored entry is dated after that publication, as when entries were lost \
                         (a Redis failover) and later ones took their numbers"
                    )?;
                }
                write!(f, "; {ADVICE}")
            }
            Self::Unsigned(at) => write!(
                f,
                "{at} has no signature although AUDIT_SIGNING_KEY is set: the bot signs every head it publishes \
                 with the key, so this one was written by someone else (forged), or before the key was set"
            ),
            Self::BadSignature(at) => write!(
                f,
                "{at} has a signature AUDIT_SIGNING_KEY does not make: the head was forged or altered \
                 (or the key is not the one the bot signs with)"
            ),
            Self::Unreadable { source, reason } => write!(
                f,
                "{source} is not a readable head record ({reason}): the witness was edited, or something else wrote to it"
            ),
            Self::NoHeads { chain_end } => write!(
                f,
                "the witness holds no published head while the log has entries up to seq {chain_end}, so it proves nothing: \
                 check the path or channel, and that the bot runs with AUDIT_WITNESS set to it"
            ),
        }
    }
}

impl fmt::Display for WitnessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(first) = self.findings.first() {
            let what = if first.is_contradiction() {
                "the audit log contradicts its witness"
            } else {
                "the audit witness does not hold up"
            };
            return write!(
                f,
                "{what} ({} finding{}); the first: {first}",
                self.findings.len(),
                if self.findings.len() == 1 { "" } else { "s" }
            );
        }
        write!(
            f,
            "audit log agrees with its witness: {} published head{} checked",
            self.agreed,
            if self.agreed == 1 { "" } else { "s" }
        )?;
        if let Some(newest) = &self.newest_agreed {
            write!(
                f,
                ", the newest for seq {} published {} by {}",
                newest.seq,
                when(newest.at),
                newest.by
            )?;
            if let Some(end) = self.chain_end.filter(|end| *end > newest.seq) {
                write!(
                    f,
                    "; entries {} to {end} are newer than any published head",
                    newest.seq + 1
                )?;
            }
        }
        if let (true, Some(anchor)) = (self.before_anchor > 0, self.anchor_seq) {
            write!(
                f,
                "; {} head{} from before the anchor (seq {anchor}) left to check against the export",
                self.before_anchor,
                if self.before_anchor == 1 { "" } else { "s" }
            )?;
        }
        if self.unsigned_check {
            write!(f, "; signatures not checked (AUDIT_SIGNING_KEY is not set)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
