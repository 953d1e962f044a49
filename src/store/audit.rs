//! The audit log in Redis: appending chained entries, reading a case's
//! trail, and verifying the whole log. The entry format, hashing and the
//! checks themselves are `crate::audit`'s; this file only stores and reads.
//!
//! # Keys (all under the store's prefix)
//!
//! - `audit`: a Redis Stream, append-only; each stream entry has exactly one
//!   field, `entry`, holding the [`AuditEntry`] as JSON (format in
//!   `crate::audit`). Stream ids are Redis's own (`<ms>-<n>`).
//! - `audit:head`: `"<seq> <hash>"` of the last entry appended, so that
//!   removing the last stream entry is detected too.
//! - `audit:case:<case_id>`: a list of the stream ids of that case's
//!   entries, in order, so that `audit show` reads only them. It expires
//!   with its case ([`CASE_TTL_SECS`] after its last entry); the entries
//!   stay in the stream.
//!
//! # One chain, many writers
//!
//! Redis's Lua has no SHA-256, so the hash is computed here: read the head,
//! chain the entry on it, then a Lua script appends it (XADD, the case index
//! and the new head, atomically) only if the head is still the one read. If
//! another writer got there first, the script answers with the current head
//! and the entry is rechained on it and sent again, up to
//! [`MAX_APPEND_TRIES`] times. There is no backoff: a conflict means another
//! writer has just succeeded and the reply already carries the new head, so
//! the retry is one round trip that usually wins; waiting would only let
//! fresh appends overtake it.
//!
//! Within one `Store` (one replica), appends queue on a local lock and the
//! last head written is remembered, so one replica never races itself and an
//! append is one round trip unless another replica wrote in between. Across
//! replicas, the compare-and-append script alone keeps the chain whole.
//!
//! All keys must live on one Redis node (no Cluster slot tags are used).
//! Exclusive XRANGE starts (`(id`) need Redis 6.2 or newer.

use super::cases::CASE_TTL_SECS;
use super::{map_err, Store, StoreError};
use crate::domain::trail::witness::StoredChain;
use crate::domain::trail::{entry_hash, is_hash, AuditEntry, Verifier, VerifyError, GENESIS};
use crate::domain::CaseId;
use redis::streams::{StreamId, StreamRangeReply};
use redis::AsyncCommands;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// Key suffix of the stream.
pub const STREAM_KEY: &str = "audit";
/// Key suffix of the audit salt (never expires, like the trail).
pub const SALT_KEY: &str = "audit:salt";
/// Key suffix of the head, `"<seq> <hash>"`.
pub const HEAD_KEY: &str = "audit:head";
/// Key suffix of a case's index, followed by the case id.
pub const CASE_INDEX_KEY: &str = "audit:case:";
/// The one field of each stream entry.
pub const ENTRY_FIELD: &str = "entry";
/// Appends that lose the race this many times in a row give up. A race is
/// lost only when another writer has just appended, so the log as a whole
/// always progresses; but the order among racing writers is luck, and with
/// `n` writers appending flat out one append loses `k` races in a row with a
/// chance of about `((n-1)/n)^k`. The benchmark's 8 flat-out replicas made
/// 50 tries fail a few times per 5 000 appends; 500 puts it near 1e-29 (and
/// 1e-14 for 16 replicas), and costs nothing when there is no contention.
/// Each try is one round trip, so this also bounds the time lost to races.
pub const MAX_APPEND_TRIES: u32 = 500;
/// Entries read per XRANGE while verifying: large enough that round trips do
/// not dominate, small enough to keep memory flat.
pub(super) const VERIFY_PAGE: usize = 2000;

/// The head key's value: seq and hash of the last entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

impl AuditHead {
    /// Reads `"<seq> <hash>"`; `None` when it is not that.
    pub fn parse(raw: &str) -> Option<Self> {
        let (seq, hash) = raw.split_once(' ')?;
        is_hash(hash).then_some(())?;
        Some(Self {
            seq: seq.parse().ok()?,
            hash: hash.to_owned(),
        })
    }

    pub fn encode(&self) -> String {
        format!("{} {}", self.seq, self.hash)
    }
}

impl Store {
    /// The head key: seq and hash of the last entry appended; `None` before
    /// the first. What the witness publishes.
    ///
    /// # Errors
    /// Redis errors; [`StoreError::Corrupt`] when the head is not `<seq> <hash>`.
    pub async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        self.seq_and_hash(HEAD_KEY, "head").await
    }

    /// A `"<seq> <hash>"` key (`what`: head, anchor).
    pub(super) async fn seq_and_hash(
        &self,
        suffix: &str,
        what: &str,
    ) -> Result<Option<AuditHead>, StoreError> {
        let mut conn = self.conn().await?;
        let key = self.key(suffix);
        let raw: Option<String> = conn.get(&key).await.map_err(map_err)?;
        raw.map(|raw| {
            AuditHead::parse(&raw).ok_or_else(|| {
                StoreError::Corrupt(format!("the audit {what} {key} is not `<seq> <hash>`"))
            })
        })
        .transpose()
    }

    /// Whether the log can take appends: its head key is there whenever
    /// the stream has entries. With the head deleted every append is
    /// refused as corrupt, so `/readyz` asks this.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the head is missing but entries are
    /// not; [`StoreError::Unavailable`] when Redis cannot be reached.
    pub async fn audit_writable(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let head_key = self.key(HEAD_KEY);
        let (head, entries): (bool, u64) = redis::pipe()
            .exists(&head_key)
            .xlen(self.key(STREAM_KEY))
            .query_async(&mut conn)
            .await
            .map_err(map_err)?;
        if !head && entries > 0 {
            return Err(StoreError::Corrupt(format!(
                "the audit head {head_key} is missing while the log has {entries} entries, so every append is refused; run `billing-triage audit verify`"
            )));
        }
        Ok(())
    }

    /// The deployment's audit salt (`audit:salt`): made once, by whichever
    /// replica asks first, and shared by all; it keeps customer
    /// identifiers out of the trail in clear while letting an auditor
    /// match repeated attempts (`access_refused.subject`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached.
    pub async fn audit_salt(&self) -> Result<String, StoreError> {
        let mut conn = self.conn().await?;
        let key = self.key(SALT_KEY);
        let fresh = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let _: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&fresh)
            .arg("NX")
            .query_async(&mut conn)
            .await
            .map_err(map_err)?;
        let salt: Option<String> = conn.get(&key).await.map_err(map_err)?;
        salt.ok_or_else(|| StoreError::Corrupt(format!("{key} vanished right after it was set")))
    }

    /// Chains `entry` onto the log (its `seq`, `prev_hash` and `hash` are
    /// set here from the head) and appends it, as one consistent chain
    /// whatever the number of concurrent writers (module doc). The core
    /// writes the rest of the entry (`crate::audit`'s `NewEntry` converts).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached;
    /// [`StoreError::Corrupt`] when the head is unreadable, or missing while
    /// the stream has entries (the log was tampered with: appending would
    /// start a second chain); [`StoreError::Contended`]
    /// after [`MAX_APPEND_TRIES`] lost races.
    pub async fn append_audit(
        &self,
        entry: impl Into<AuditEntry>,
    ) -> Result<AuditEntry, StoreError> {
        let mut entry: AuditEntry = entry.into();
        let cache = std::sync::Arc::clone(&self.audit_head);
        // Time-boxed: while Redis hangs, appends must not queue up behind
        // each other (each would wait a full timeout in turn).
        let mut cached_head = tokio::time::timeout(super::CALL_TIMEOUT, cache.lock())
            .await
            .map_err(|_| {
                StoreError::Unavailable(super::timed_out("waiting for the audit append lock"))
            })?;
        let mut conn = self.conn().await?;
        let stream_key = self.key(STREAM_KEY);
        let head_key = self.key(HEAD_KEY);
        let index_key = entry
            .case_id
            .as_ref()
            .map(|case_id| self.key(&format!("{CASE_INDEX_KEY}{case_id}")));

        // Taken, not copied: after a failed round trip the head is unknown
        // (the script may have run) and is read again next time.
        let mut head = match cached_head.take() {
            Some(head) => Some(head),
            None => conn
                .get::<_, Option<String>>(&head_key)
                .await
                .map_err(map_err)?,
        };
        for _ in 0..MAX_APPEND_TRIES {
            let (seq, prev_hash) = match head.as_deref() {
                None => (1, GENESIS.to_owned()),
                Some(raw) => {
                    let parsed = AuditHead::parse(raw).ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "the audit head {head_key} is not `<seq> <hash>`; run `billing-triage audit verify`"
                        ))
                    })?;
                    (parsed.seq + 1, parsed.hash)
                }
            };
            entry.seq = seq;
            entry.prev_hash = prev_hash;
            entry.hash = entry_hash(&entry);
            let json =
                serde_json::to_string(&entry).expect("an AuditEntry always serialises to JSON");
            let new_head = AuditHead {
                seq,
                hash: entry.hash.clone(),
            }
            .encode();

            let mut invocation = APPEND_SCRIPT.key(&stream_key);
            invocation.key(&head_key);
            if let Some(index_key) = &index_key {
                invocation.key(index_key);
            }
            invocation
                .arg(head.as_deref().unwrap_or(""))
                .arg(&new_head)
                .arg(ENTRY_FIELD)
                .arg(&json)
                .arg(CASE_TTL_SECS);
            let (status, reply): (i64, String) =
                invocation.invoke_async(&mut conn).await.map_err(map_err)?;
            match status {
                APPENDED => {
                    *cached_head = Some(new_head);
                    return Ok(entry);
                }
                HEAD_MOVED => head = (!reply.is_empty()).then_some(reply),
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "the audit stream {stream_key} holds entries but its head {head_key} is missing; \
                         run `billing-triage audit verify` and restore the head before anything is appended"
                    )))
                }
            }
        }
        Err(StoreError::Contended {
            tries: MAX_APPEND_TRIES,
        })
    }

    /// A case's entries in order, each with its stream id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached;
    /// [`StoreError::Corrupt`] when an indexed entry is gone or unreadable
    /// (tampering: `audit verify` names it).
    pub async fn audit_trail(
        &self,
        case: &CaseId,
    ) -> Result<Vec<(String, AuditEntry)>, StoreError> {
        let mut conn = self.conn().await?;
        let stream_key = self.key(STREAM_KEY);
        let ids: Vec<String> = conn
            .lrange(self.key(&format!("{CASE_INDEX_KEY}{case}")), 0, -1)
            .await
            .map_err(map_err)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.xrange(&stream_key, id, id);
        }
        let replies: Vec<StreamRangeReply> = pipe.query_async(&mut conn).await.map_err(map_err)?;
        ids.into_iter()
            .zip(replies)
            .map(|(id, reply)| {
                let stream_entry = reply.ids.first().ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "audit entry {id} of {case} is missing from the stream; run `billing-triage audit verify`"
                    ))
                })?;
                let entry = parse_stream_entry(stream_entry).map_err(|reason| {
                    StoreError::Corrupt(format!("audit entry {id} of {case}: {reason}"))
                })?;
                Ok((id, entry))
            })
            .collect()
    }

    /// Verifies the whole log as it was when this call began: entries
    /// appended meanwhile are left for the next run. Reads the stream in
    /// pages, fetching the next page while checking the current one, so
    /// memory stays flat however long the log is.
    ///
    /// The outer `Result` is about Redis; the inner one is the verdict, with
    /// an unparseable stream entry reported as [`VerifyError::Unreadable`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached.
    pub async fn verify_audit(&self) -> Result<Result<u64, VerifyError>, StoreError> {
        let (verdict, _) = self.verify_audit_noting(&BTreeSet::new()).await?;
        Ok(verdict)
    }

    /// [`Store::verify_audit`], also noting in a [`StoredChain`] the anchor,
    /// the last seq and the entries at the seqs `wanted` (the heads a
    /// witness published), in the same walk. The chain is complete only
    /// when the verdict is `Ok`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached.
    pub async fn verify_audit_noting(
        &self,
        wanted: &BTreeSet<u64>,
    ) -> Result<(Result<u64, VerifyError>, StoredChain), StoreError> {
        let mut chain = StoredChain::default();
        let mut anchor = None;
        let verdict = self
            .walk_audit(&mut |entry| chain.note(entry, wanted), &mut anchor)
            .await?;
        chain.anchor = anchor;
        Ok((verdict, chain))
    }

    async fn walk_audit(
        &self,
        note: &mut (dyn FnMut(&AuditEntry) + Send),
        anchor_out: &mut Option<(u64, String)>,
    ) -> Result<Result<u64, VerifyError>, StoreError> {
        let mut conn = self.conn().await?;
        let stream_key = self.key(STREAM_KEY);
        let head_key = self.key(HEAD_KEY);

        // Head, anchor and last stream id read atomically: the append and
        // trim scripts write them in one step each, so at this instant they
        // must agree.
        let (head_raw, anchor_raw, last): (Option<String>, Option<String>, StreamRangeReply) =
            redis::pipe()
                .atomic()
                .get(&head_key)
                .get(self.key(super::archive::ANCHOR_KEY))
                .xrevrange_count(&stream_key, "+", "-", 1)
                .query_async(&mut conn)
                .await
                .map_err(map_err)?;
        let head_hash = match head_raw.as_deref().map(AuditHead::parse) {
            None => None,
            Some(Some(head)) => Some(head.hash),
            Some(None) => {
                return Ok(Err(VerifyError::Unreadable {
                    stream_id: head_key,
                    reason: "the head is not `<seq> <hash>`".to_owned(),
                }))
            }
        };
        // A trimmed log is walked from its anchor (`archive.rs`).
        let mut verifier = match anchor_raw.as_deref().map(AuditHead::parse) {
            None => Verifier::new(),
            Some(Some(anchor)) => {
                let verifier = Verifier::from_anchor(anchor.seq, &anchor.hash);
                *anchor_out = Some((anchor.seq, anchor.hash));
                verifier
            }
            Some(None) => {
                return Ok(Err(VerifyError::Unreadable {
                    stream_id: self.key(super::archive::ANCHOR_KEY),
                    reason: "the anchor is not `<seq> <hash>`".to_owned(),
                }))
            }
        };
        let Some(end_id) = last
            .ids
            .into_iter()
            .next()
            .map(|stream_entry| stream_entry.id)
        else {
            return Ok(verifier.finish(head_hash.as_deref()));
        };

        let mut next_page = tokio::spawn(fetch_page(
            conn.clone(),
            stream_key.clone(),
            "-".to_owned(),
            end_id.clone(),
        ));
        loop {
            let page = (&mut next_page).await.map_err(|_| {
                StoreError::Corrupt("the task reading the audit stream stopped".to_owned())
            })??;
            let page_last = page.ids.last().map(|stream_entry| stream_entry.id.clone());
            let done =
                page.ids.len() < VERIFY_PAGE || page_last.as_deref().is_none_or(|id| id == end_id);
            if let (false, Some(page_last)) = (done, &page_last) {
                next_page = tokio::spawn(fetch_page(
                    conn.clone(),
                    stream_key.clone(),
                    format!("({page_last}"),
                    end_id.clone(),
                ));
            }
            for stream_entry in &page.ids {
                let entry = match parse_stream_entry(stream_entry) {
                    Ok(entry) => entry,
                    Err(reason) => {
                        return Ok(Err(VerifyError::Unreadable {
                            stream_id: stream_entry.id.clone(),
                            reason,
                        }))
                    }
                };
                if let Err(err) = verifier.check(&stream_entry.id, &entry) {
                    return Ok(Err(err));
                }
                note(&entry);
            }
            if done {
                break;
            }
        }
        Ok(verifier.finish(head_hash.as_deref()))
    }
}

/// Replies of [`APPEND_SCRIPT`]: `{status, id or current head}`.
const APPENDED: i64 = 1;
const HEAD_MOVED: i64 = 0;

/// KEYS: stream, head, [case index]. ARGV: the head the entry was chained on
/// (`""` for none), the new head, the field name, the entry JSON, the case
/// index's time to live in seconds.
/// Returns `{1, stream id}`, `{0, current head}` when another writer moved
/// the head, or `{2, ""}` when the head is missing but the stream is not
/// empty.
static APPEND_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local current = redis.call('GET', KEYS[2])
if not current then
  if redis.call('XLEN', KEYS[1]) > 0 then
    return {2, ''}
  end
  current = ''
end
if current ~= ARGV[1] then
  return {0, current}
end
local id = redis.call('XADD', KEYS[1], '*', ARGV[3], ARGV[4])
redis.call('SET', KEYS[2], ARGV[2])
if #KEYS == 3 then
  redis.call('RPUSH', KEYS[3], id)
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
return {1, id}
",
    )
});

pub(super) async fn fetch_page(
    mut conn: super::Conn,
    stream_key: String,
    start: String,
    end_id: String,
) -> Result<StreamRangeReply, StoreError> {
    conn.xrange_count(&stream_key, &start, &end_id, VERIFY_PAGE)
        .await
        .map_err(map_err)
}

/// The entry in a stream entry; `Err` says why it is not one.
pub(super) fn parse_stream_entry(stream_entry: &StreamId) -> Result<AuditEntry, String> {
    if stream_entry.map.len() != 1 {
        return Err(format!(
            "expected only the `{ENTRY_FIELD}` field, found {} fields",
            stream_entry.map.len()
        ));
    }
    match stream_entry.map.get(ENTRY_FIELD) {
        Some(redis::Value::BulkString(bytes)) => {
            serde_json::from_slice(bytes).map_err(|err| format!("not an audit entry: {err}"))
        }
        Some(_) => Err(format!("the `{ENTRY_FIELD}` field is not a string")),
        None => Err(format!("no `{ENTRY_FIELD}` field")),
    }
}
