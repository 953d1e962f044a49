//! Archiving the audit log: `export` reads the stream's entries as stored,
//! for a SIEM or an archive; `trim` removes the oldest ones once exported,
//! keeping the chain verifiable; and the check of the per-case indexes. The
//! chain format and checks are `crate::audit`'s; appending and the chain walk
//! are `audit.rs`'s.
//!
//! # The anchor
//!
//! `audit:anchor` holds `"<seq> <hash>"` of the last entry trimmed, in the
//! head's format. `verify` starts from it: the first entry left must be
//! number `seq + 1` and link to `hash`. Each batch of a trim removes its
//! entries (`XTRIM MINID`), drops their ids from the case indexes and moves
//! the anchor in one Lua script, so an interrupted trim leaves a log that
//! verifies. The anchor is as strong as the rest of Redis: keep the hash a
//! trim prints next to the exported file, so that the archive and what is
//! left in Redis can be joined and checked together.

use super::audit::{
    fetch_page, parse_stream_entry, AuditHead, CASE_INDEX_KEY, ENTRY_FIELD, STREAM_KEY, VERIFY_PAGE,
};
use super::{map_err, Store, StoreError};
use crate::domain::trail::index::IndexReport;
use crate::domain::trail::VerifyError;
use redis::streams::{StreamId, StreamRangeReply};
use redis::AsyncCommands;
use std::sync::LazyLock;

/// Key suffix of the anchor, `"<seq> <hash>"` of the last trimmed entry.
pub const ANCHOR_KEY: &str = "audit:anchor";
/// Entries removed per trim script: few enough that one script never holds
/// Redis for long, many enough that a large trim takes few round trips.
const TRIM_BATCH: usize = 500;
/// Case indexes read per pipeline when checking them.
const INDEX_BATCH: usize = 200;

/// Why an export or a trim stopped.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the export failed")]
    Write(#[source] std::io::Error),
    #[error("audit entry {stream_id} is unreadable ({reason}); run `billing-triage audit verify`")]
    Unreadable { stream_id: String, reason: String },
    #[error("nothing was trimmed, because the audit log does not verify (trimming would destroy the evidence): {0}")]
    Tampered(VerifyError),
    #[error(
        "another trim moved the anchor meanwhile; nothing more was trimmed, run the trim again"
    )]
    AnchorMoved,
}

/// What an export or a trim covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Covered {
    pub entries: u64,
    pub first_seq: Option<u64>,
    /// Seq and hash of the last entry covered (for a trim, the new anchor).
    pub last: Option<AuditHead>,
    /// For a trim that stopped short of its `until`: the seq of the first
    /// entry kept because it is too recent to trim.
    pub held_back: Option<u64>,
}

impl Covered {
    fn add(&mut self, seq: u64, hash: &str) {
        self.entries += 1;
        self.first_seq.get_or_insert(seq);
        self.last = Some(AuditHead {
            seq,
            hash: hash.to_owned(),
        });
    }
}

/// The fields of a stored entry that export and trim need; the entry
/// itself is passed on unchanged.
#[derive(serde::Deserialize)]
struct Keys {
    seq: u64,
    hash: String,
    case_id: Option<String>,
    at: i64,
}

impl Store {
    /// The anchor left by the last trim; `None` when the log was never trimmed.
    ///
    /// # Errors
    /// Redis errors; [`StoreError::Corrupt`] when the anchor is not `<seq> <hash>`.
    pub async fn audit_anchor(&self) -> Result<Option<AuditHead>, StoreError> {
        self.seq_and_hash(ANCHOR_KEY, "anchor").await
    }

    /// Hands every stored entry, oldest first (from the anchor on, after a
    /// trim), as the JSON text stored, to `emit`, up to and including seq
    /// `until` when given. Entries appended once the export began are left
    /// for the next one.
    ///
    /// # Errors
    /// Redis errors, `emit`'s error, or an entry without a readable seq.
    pub async fn export_audit(
        &self,
        until: Option<u64>,
        emit: &mut dyn FnMut(&str) -> std::io::Result<()>,
    ) -> Result<Covered, ArchiveError> {
        let mut conn = self.conn().await?;
        let stream_key = self.key(STREAM_KEY);
        let mut covered = Covered::default();
        let last: StreamRangeReply = conn
            .xrevrange_count(&stream_key, "+", "-", 1)
            .await
            .map_err(map_err)?;
        let Some(end_id) = last
            .ids
            .into_iter()
            .next()
            .map(|stream_entry| stream_entry.id)
        else {
            return Ok(covered);
        };
        let mut start = "-".to_owned();
        loop {
            let page = fetch_page(conn.clone(), stream_key.clone(), start, end_id.clone()).await?;
            for stream_entry in &page.ids {
                let (raw, keys) = read_keys(stream_entry)?;
                if until.is_some_and(|until| keys.seq > until) {
                    return Ok(covered);
                }
                emit(raw).map_err(ArchiveError::Write)?;
                covered.add(keys.seq, &keys.hash);
            }
            match page.ids.last() {
                Some(last) if page.ids.len() == VERIFY_PAGE && last.id != end_id => {
                    start = format!("({}", last.id)
                }
                _ => return Ok(covered),
            }
        }
    }

    /// Removes the entries up to and including seq `until`, oldest first,
    /// in batches; each batch also drops its ids from the case indexes and
    /// makes its last entry the anchor (module doc). Refuses a log that does
    /// not verify. Trimming what is already trimmed removes nothing.
    ///
    /// Entries written at or after `keep_from` (unix seconds) are never
    /// removed, and the trim stops at the first one: the workflows read
    /// recent trails (an action whose write-ahead intent is gone would be
    /// taken for one that never reached Stripe), so only entries older than
    /// any action still in flight may go.
    ///
    /// # Errors
    /// Redis errors; [`ArchiveError::Tampered`] before anything is removed;
    /// [`ArchiveError::AnchorMoved`] when another trim ran at the same time.
    pub async fn trim_audit(&self, until: u64, keep_from: i64) -> Result<Covered, ArchiveError> {
        if let Err(e) = self.verify_audit().await? {
            return Err(ArchiveError::Tampered(e));
        }
        let mut conn = self.conn().await?;
        let stream_key = self.key(STREAM_KEY);
        let anchor_key = self.key(ANCHOR_KEY);
        let mut anchor: Option<String> = conn.get(&anchor_key).await.map_err(map_err)?;
        let mut covered = Covered::default();
        loop {
            let page: StreamRangeReply = conn
                .xrange_count(&stream_key, "-", "+", TRIM_BATCH)
                .await
                .map_err(map_err)?;
            let mut batch: Vec<(&str, Keys)> = Vec::with_capacity(page.ids.len());
            for stream_entry in &page.ids {
                let (_, keys) = read_keys(stream_entry)?;
                if keys.seq > until {
                    break;
                }
                if keys.at >= keep_from {
                    covered.held_back = Some(keys.seq);
                    break;
                }
                batch.push((stream_entry.id.as_str(), keys));
            }
            let Some((last_id, last)) = batch.last() else {
                return Ok(covered);
            };
            let new_anchor = AuditHead {
                seq: last.seq,
                hash: last.hash.clone(),
            }
            .encode();
            let min_id = id_after(last_id).ok_or_else(|| ArchiveError::Unreadable {
                stream_id: (*last_id).to_owned(),
                reason: "not a stream id".to_owned(),
            })?;
            let mut invocation = TRIM_SCRIPT.key(&stream_key);
            invocation.key(&anchor_key);
            invocation
                .arg(anchor.as_deref().unwrap_or(""))
                .arg(&new_anchor)
                .arg(&min_id);
            for (stream_id, keys) in &batch {
                if let Some(case_id) = &keys.case_id {
                    invocation.key(self.key(&format!("{CASE_INDEX_KEY}{case_id}")));
                    invocation.arg(*stream_id);
                }
            }
            let trimmed: i64 = invocation.invoke_async(&mut conn).await.map_err(map_err)?;
            if trimmed != 1 {
                return Err(ArchiveError::AnchorMoved);
            }
            for (_, keys) in &batch {
                covered.add(keys.seq, &keys.hash);
            }
            anchor = Some(new_anchor);
            if batch.len() < page.ids.len() || page.ids.len() < TRIM_BATCH {
                return Ok(covered);
            }
        }
    }

    /// Checks every per-case index both ways: each id it lists must be a
    /// stream entry of that case, and each stream entry of a case that still
    /// has an index must be listed in it (`crate::audit::index`). The stream
    /// is walked first and the indexes read after, so an entry appended
    /// meanwhile is not taken for an unlisted one (an entry and its index id
    /// are written in one step).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn verify_case_indexes(&self) -> Result<IndexReport, StoreError> {
        let mut conn = self.conn().await?;
        let stream_key = self.key(STREAM_KEY);
        let index_prefix = self.key(CASE_INDEX_KEY);
        let pattern = format!("{}*", glob_escape(&index_prefix));
        let mut keys = std::collections::BTreeSet::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(map_err)?;
            keys.extend(found);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let keys: Vec<String> = keys.into_iter().collect();
        let indexed: std::collections::HashSet<&str> = keys
            .iter()
            .map(|key| key.strip_prefix(&index_prefix).unwrap_or(key))
            .collect();
        let mut in_stream = self
            .entries_of_cases(&mut conn, &stream_key, &indexed)
            .await?;
        let mut listed_cases = std::collections::HashSet::new();
        let mut report = IndexReport {
            indexes: keys.len() as u64,
            ..IndexReport::default()
        };
        for chunk in keys.chunks(INDEX_BATCH) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.lrange(key, 0, -1);
            }
            let lists: Vec<Vec<String>> = pipe.query_async(&mut conn).await.map_err(map_err)?;
            for (key, ids) in chunk.iter().zip(&lists) {
                if !ids.is_empty() {
                    let case_id = key.strip_prefix(&index_prefix).unwrap_or(key);
                    listed_cases.insert(case_id.to_owned());
                }
            }
            let listed: Vec<(&str, String)> = chunk
                .iter()
                .zip(lists)
                .flat_map(|(key, ids)| {
                    let case_id = key.strip_prefix(&index_prefix).unwrap_or(key);
                    ids.into_iter().map(move |id| (case_id, id))
                })
                .collect();
            let mut pipe = redis::pipe();
            for (_, id) in listed.iter().filter(|(_, id)| is_stream_id(id)) {
                pipe.xrange(&stream_key, id, id);
            }
            let replies: Vec<StreamRangeReply> =
                pipe.query_async(&mut conn).await.map_err(map_err)?;
            let mut replies = replies.into_iter();
            for (case_id, id) in &listed {
                if let Some(ids) = in_stream.get_mut(*case_id) {
                    ids.remove(id);
                }
                if !is_stream_id(id) {
                    report.check(case_id, id, Some(Err("not a stream id".to_owned())));
                    continue;
                }
                let reply = replies.next().unwrap_or_default();
                let entry = reply.ids.first().map(parse_stream_entry);
                report.check(
                    case_id,
                    id,
                    entry.as_ref().map(|e| e.as_ref().map_err(Clone::clone)),
                );
            }
        }
        // What is left was never listed; an index that expired meanwhile
        // (read empty) names nothing.
        for (case_id, ids) in in_stream {
            if listed_cases.contains(&case_id) {
                for id in ids {
                    report.unlisted(&case_id, &id);
                }
            }
        }
        Ok(report)
    }

    /// The stream ids of every entry of the cases in `cases`, by case: one
    /// walk of the stream in pages.
    async fn entries_of_cases(
        &self,
        conn: &mut super::Conn,
        stream_key: &str,
        cases: &std::collections::HashSet<&str>,
    ) -> Result<std::collections::HashMap<String, std::collections::BTreeSet<String>>, StoreError>
    {
        let mut out: std::collections::HashMap<String, std::collections::BTreeSet<String>> =
            std::collections::HashMap::new();
        let last: StreamRangeReply = conn
            .xrevrange_count(stream_key, "+", "-", 1)
            .await
            .map_err(map_err)?;
        let Some(end_id) = last.ids.into_iter().next().map(|e| e.id) else {
            return Ok(out);
        };
        let mut start = "-".to_owned();
        loop {
            let page =
                fetch_page(conn.clone(), stream_key.to_owned(), start, end_id.clone()).await?;
            for stream_entry in &page.ids {
                // Unreadable entries are `audit verify`'s to report.
                let Ok(entry) = parse_stream_entry(stream_entry) else {
                    continue;
                };
                if let Some(case) = entry.case_id.as_ref().map(|c| c.as_str()) {
                    if cases.contains(case) {
                        out.entry(case.to_owned())
                            .or_default()
                            .insert(stream_entry.id.clone());
                    }
                }
            }
            match page.ids.last() {
                Some(last) if page.ids.len() == VERIFY_PAGE && last.id != end_id => {
                    start = format!("({}", last.id);
                }
                _ => return Ok(out),
            }
        }
    }
}

/// The stored JSON text of a stream entry and the fields export and trim read.
fn read_keys(stream_entry: &StreamId) -> Result<(&str, Keys), ArchiveError> {
    let unreadable = |reason: String| ArchiveError::Unreadable {
        stream_id: stream_entry.id.clone(),
        reason,
    };
    let Some(redis::Value::BulkString(bytes)) = stream_entry.map.get(ENTRY_FIELD) else {
        return Err(unreadable(format!("no `{ENTRY_FIELD}` string")));
    };
    let raw = std::str::from_utf8(bytes).map_err(|_| unreadable("not UTF-8".to_owned()))?;
    let keys =
        serde_json::from_str(raw).map_err(|e| unreadable(format!("not an audit entry: {e}")))?;
    Ok((raw, keys))
}

/// `<ms>-<n>` → `<ms>-<n+1>`: the smallest id after `id`, for `XTRIM MINID`
/// (which keeps ids from the one given on).
fn id_after(id: &str) -> Option<String> {
    let (ms, n) = id.split_once('-')?;
    let (ms, n) = (ms.parse::<u64>().ok()?, n.parse::<u64>().ok()?);
    Some(format!("{ms}-{}", n.checked_add(1)?))
}

fn is_stream_id(id: &str) -> bool {
    id.split_once('-')
        .is_some_and(|(ms, n)| ms.parse::<u64>().is_ok() && n.parse::<u64>().is_ok())
}

/// `text` with Redis glob characters escaped, for `SCAN MATCH`.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// KEYS: stream, anchor, then one case index per trimmed entry of a case.
/// ARGV: the anchor the batch was read after (`""` for none), the new
/// anchor, the first stream id to keep, then the stream id of each indexed
/// entry, in KEYS order. Returns 1 when trimmed, 0 when the anchor moved.
static TRIM_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] then
  return 0
end
for i = 3, #KEYS do
  redis.call('LREM', KEYS[i], 1, ARGV[i + 1])
end
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
return 1
",
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_after_a_stream_id_is_its_successor() {
        assert_eq!(
            id_after("1700000000000-0").as_deref(),
            Some("1700000000000-1")
        );
        assert_eq!(id_after("5-41").as_deref(), Some("5-42"));
        assert_eq!(id_after("nope"), None);
        assert!(is_stream_id("1-0") && !is_stream_id("1") && !is_stream_id("a-b"));
    }

    #[test]
    fn glob_characters_in_the_prefix_are_escaped() {
        assert_eq!(glob_escape("bt:[x]*?\\:"), "bt:\\[x\\]\\*\\?\\\\:");
    }
}
