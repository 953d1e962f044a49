//! The audit witness against a real Redis: heads published by `serve` to a
//! file and to the Slack stand-in, at an interval and on shutdown; `audit
//! verify --witness` passing on an intact chain, and naming what a rewrite
//! by someone with Redis access, lost entries (as after a failover) or a
//! forged head leave behind.

use crate::helpers::*;
use crate::ops::cli_with;
use billing_triage::audit::{entry_hash, NewEntry, ReportRun};
use billing_triage::config::Config;
use billing_triage::domain::trail::witness::WitnessHead;
use billing_triage::domain::{Actor, AuditSigningKey};
use billing_triage::metrics::Metrics;
use billing_triage::store::Store;
use billing_triage::witness::Witness;
use billing_triage::workflow::witness::Publisher;
use redis::AsyncCommands;
use std::path::{Path, PathBuf};
use std::time::Duration;

const KEY: &str = "it-witness-key-0123456789abcdef0123456789";
const AUDIT_CHANNEL: &str = "C0AUDIT01";

fn key() -> AuditSigningKey {
    AuditSigningKey::parse(KEY).expect("a long enough key")
}

/// A witness file in a fresh directory of its own, removed when dropped.
struct WitnessFile {
    path: PathBuf,
}

impl WitnessFile {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("bt-witness-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self {
            path: dir.join("heads.jsonl"),
        }
    }

    /// `file:<path>`, as `AUDIT_WITNESS` and `--witness` name it.
    fn target(&self) -> String {
        format!("file:{}", self.path.display())
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(&self.path)
    }
}

impl Drop for WitnessFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.dir());
    }
}

/// The app's settings on `store`'s prefix, `AUDIT_WITNESS` set to
/// `witness` and published every `every` seconds, signed when `signed`.
fn witness_config(
    store: &Store,
    slack: &SlackStandIn,
    witness: &str,
    every: &str,
    signed: bool,
) -> Config {
    let mut vars = test_env(slack);
    vars.insert("REDIS_PREFIX", store.prefix().to_owned());
    vars.insert("AUDIT_WITNESS", witness.to_owned());
    vars.insert("AUDIT_WITNESS_INTERVAL", every.to_owned());
    if signed {
        vars.insert("AUDIT_SIGNING_KEY", KEY.to_owned());
    }
    Config::from_lookup(|name| vars.get(name).cloned(), true).expect("test config is valid")
}

/// `serve` on `store`'s prefix (see [`witness_config`]), with its own
/// Slack stand-in.
async fn serve_witnessed(store: &Store, witness: &str, every: &str, signed: bool) -> TestApp {
    let slack = SlackStandIn::start().await;
    let config = witness_config(store, &slack, witness, every, signed);
    spawn_with(config, slack, store.clone()).await
}

/// Appends one entry of no case (so no index), numbered `n`, dated `at`.
async fn append(store: &Store, n: u32, at: i64) {
    let run = ReportRun {
        report: "plans".to_owned(),
        days: n,
    };
    store
        .append_audit(NewEntry::new(run, Actor::System, at))
        .await
        .expect("append");
}

async fn append_n(store: &Store, from: u32, to: u32) {
    for n in from..=to {
        append(store, n, 1_700_000_000 + i64::from(n)).await;
    }
}

/// The seqs of the heads in a witness file, in the order written.
fn file_seqs(path: &Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| WitnessHead::parse_line(line).expect("a head record").seq)
        .collect()
}

/// Waits up to `secs` for `done`; panics with `what` after.
async fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..secs * 20 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited {secs} s for {what}");
}

/// A publisher of `store`'s head into the file at `path`, as a replica has.
fn publisher(store: &Store, path: &Path, signed: bool) -> Publisher {
    Publisher::new(
        Witness::File(path.to_owned()),
        signed.then(key),
        store.clone(),
        Metrics::new(),
        "inst_test0001".to_owned(),
    )
}

/// Ten entries, with heads published at seqs 3, 6 and 10.
async fn witnessed_log(store: &Store, path: &Path) {
    let publisher = publisher(store, path, true);
    append_n(store, 1, 3).await;
    assert_eq!(
        publisher.publish_if_moved().await.expect("publish"),
        Some(3)
    );
    assert_eq!(
        publisher.publish_if_moved().await.expect("publish"),
        None,
        "an unmoved head is not published again"
    );
    append_n(store, 4, 6).await;
    publisher.publish_if_moved().await.expect("publish");
    append_n(store, 7, 10).await;
    publisher.publish_if_moved().await.expect("publish");
    assert_eq!(file_seqs(path), [3, 6, 10]);
}

fn verify(store: &Store, witness: &str) -> (Option<i32>, String, String) {
    cli_with(
        store,
        &["audit", "verify", "--witness", witness],
        &[("AUDIT_SIGNING_KEY", KEY)],
    )
}

/// What someone with write access to Redis can do: rewrite entry `from`
/// and recompute the chain from it to the head, head key included, so that
/// every hash and link checks out.
async fn rewrite_from(store: &Store, from: u64) {
    let entries = audit_entries_with_ids(store).await;
    let mut conn = store.conn().await.expect("connection");
    let ids: Vec<&str> = entries
        .iter()
        .filter(|(_, e)| e.seq >= from)
        .map(|(id, _)| id.as_str())
        .collect();
    let _: i64 = conn.xdel(store.key("audit"), &ids).await.expect("XDEL");
    let mut prev = entries
        .iter()
        .find(|(_, e)| e.seq == from - 1)
        .map(|(_, e)| e.hash.clone())
        .expect("the entry before");
    for (_, entry) in entries.iter().filter(|(_, e)| e.seq >= from) {
        let mut entry = entry.clone();
        if entry.seq == from {
            entry.detail["days"] = serde_json::json!(9999);
        }
        entry.prev_hash = std::mem::take(&mut prev);
        entry.hash = entry_hash(&entry);
        prev.clone_from(&entry.hash);
        let json = serde_json::to_string(&entry).expect("JSON");
        let _: String = conn
            .xadd(store.key("audit"), "*", &[("entry", json)])
            .await
            .expect("XADD");
        let _: () = conn
            .set(
                store.key("audit:head"),
                format!("{} {}", entry.seq, entry.hash),
            )
            .await
            .expect("SET head");
    }
}

/// What a failover does when the replica promoted had not received the
/// last writes: the entries after `keep` are gone, and the head (written in
/// the same script as each entry) is the last one it had.
async fn lose_after(store: &Store, keep: u64) {
    let entries = audit_entries_with_ids(store).await;
    let mut conn = store.conn().await.expect("connection");
    let ids: Vec<&str> = entries
        .iter()
        .filter(|(_, e)| e.seq > keep)
        .map(|(id, _)| id.as_str())
        .collect();
    let _: i64 = conn.xdel(store.key("audit"), &ids).await.expect("XDEL");
    let last = &entries
        .iter()
        .find(|(_, e)| e.seq == keep)
        .expect("the entry kept")
        .1;
    let _: () = conn
        .set(
            store.key("audit:head"),
            format!("{} {}", last.seq, last.hash),
        )
        .await
        .expect("SET head");
}

#[tokio::test]
async fn serve_publishes_the_head_to_a_file_at_its_interval_only_when_it_moved() {
    let file = WitnessFile::new();
    let path = &file.path;
    let store = test_store().await;
    append_n(&store, 1, 2).await;
    let app = serve_witnessed(&store, &file.target(), "1", true).await;
    wait_until(5, "the head at start-up", || file_seqs(path) == [2]).await;
    append_n(&store, 3, 5).await;
    wait_until(5, "the moved head", || file_seqs(path).last() == Some(&5)).await;
    let published = file_seqs(path).len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        file_seqs(path).len(),
        published,
        "an unmoved head is not published again"
    );

    let text = std::fs::read_to_string(path).expect("the witness file");
    let head = WitnessHead::parse_line(text.lines().last().expect("lines")).expect("record");
    let stored_head: String = store
        .conn()
        .await
        .expect("connection")
        .get(store.key("audit:head"))
        .await
        .expect("GET head");
    assert_eq!(format!("{} {}", head.seq, head.hash), stored_head);
    assert!(head.by.starts_with("inst_"), "{}", head.by);
    assert_eq!(
        head.signature(Some(&key())),
        billing_triage::domain::trail::witness::Signature::Valid
    );
    assert!(!text.contains(KEY), "the key is never published");
    let metrics = app.get("/metrics").await.body;
    assert!(
        metrics.contains(&format!(
            "billing_triage_audit_witness_heads_total{{outcome=\"published\"}} {published}"
        )),
        "{metrics}"
    );

    let (code, out, err) = verify(&store, &file.target());
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!(
            "audit log agrees with its witness: {published} published heads checked, the newest for seq 5"
        )),
        "{out}"
    );
}

#[tokio::test]
async fn serve_publishes_the_head_it_leaves_behind_on_shutdown() {
    let file = WitnessFile::new();
    let path = &file.path;
    let store = test_store().await;
    append_n(&store, 1, 1).await;
    let mut app = serve_witnessed(&store, &file.target(), "3600", false).await;
    wait_until(5, "the head at start-up", || file_seqs(path) == [1]).await;
    append_n(&store, 2, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(file_seqs(path), [1], "no tick within the hour");
    let _ = app.shutdown.take().expect("running").send(());
    wait_until(10, "the head on shutdown", || file_seqs(path) == [1, 4]).await;
}

#[tokio::test]
async fn a_witness_that_cannot_be_written_is_counted_and_the_bot_keeps_serving() {
    let file = WitnessFile::new();
    let store = test_store().await;
    let app = serve_witnessed(&store, &file.target(), "1", false).await;
    std::fs::remove_dir_all(file.dir()).expect("remove the directory");
    append_n(&store, 1, 1).await;
    for _ in 0..60 {
        if app
            .get("/metrics")
            .await
            .body
            .contains("billing_triage_audit_witness_heads_total{outcome=\"failed\"}")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = app.get("/metrics").await.body;
    assert!(
        metrics.contains("billing_triage_audit_witness_heads_total{outcome=\"failed\"}"),
        "{metrics}"
    );
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(app.get("/readyz").await.status, 200);
}

#[tokio::test]
async fn serve_refuses_to_start_with_a_witness_file_it_cannot_write() {
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let config = witness_config(
        &store,
        &slack,
        "file:/nonexistent-dir/heads.jsonl",
        "60",
        false,
    );
    let err = billing_triage::startup::App::build(config)
        .await
        .err()
        .expect("refused at start-up");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "AUDIT_WITNESS: cannot append to the witness file /nonexistent-dir/heads.jsonl"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn serve_publishes_to_a_slack_channel_and_verify_reads_every_page_back() {
    let store = test_store().await;
    let mut app = serve_witnessed(&store, &format!("slack:{AUDIT_CHANNEL}"), "1", true).await;
    let slack = app.slack.clone();
    for n in 1..=4u32 {
        append(&store, n, 1_700_000_000).await;
        slack.wait_for("chat.postMessage", n as usize).await;
    }
    append(&store, 5, 1_700_000_000).await;
    let _ = app.shutdown.take().expect("running").send(());
    let posts = slack.wait_for("chat.postMessage", 5).await;
    assert!(posts.iter().all(|p| p.body["channel"] == AUDIT_CHANNEL));
    let last = posts[4].body["text"].as_str().unwrap_or_default();
    assert!(
        last.starts_with("Audit log head: entry 5 (hash ") && last.contains("(signed).\n```\n{"),
        "{last}"
    );
    slack.someone_posts(AUDIT_CHANNEL, "who moved the standup?");

    let (code, out, err) = verify_with_slack(&store, &slack).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(
            "audit log agrees with its witness: 5 published heads checked, the newest for seq 5"
        ),
        "{out}"
    );
    let cursors: Vec<String> = slack
        .calls_to("conversations.history")
        .iter()
        .map(|c| c.body["cursor"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(cursors, ["", "3"], "two pages of at most three messages");

    // A head posted by someone without the key.
    let forged = WitnessHead::new(
        5,
        &"0".repeat(64),
        1_700_000_100,
        "inst_forger",
        Some(&AuditSigningKey::parse("not-the-key-0123456789abcdef0123456789").expect("key")),
    );
    slack.someone_posts(AUDIT_CHANNEL, &forged.to_slack_text());
    let (code, _, err) = verify_with_slack(&store, &slack).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("the audit witness does not hold up (1 finding)")
            && err.contains("the head for seq 5 published 2023-11-14 22:15:00 UTC by inst_forger (message 1700000000.")
            && err.contains("has a signature AUDIT_SIGNING_KEY does not make"),
        "{err}"
    );
}

/// `audit verify --witness slack:…` reading the stand-in's channel; run
/// off the test's runtime, which serves the stand-in meanwhile.
async fn verify_with_slack(store: &Store, slack: &SlackStandIn) -> (Option<i32>, String, String) {
    let (store, api_url) = (store.clone(), format!("{}/api/", slack.base_url));
    tokio::task::spawn_blocking(move || {
        cli_with(
            &store,
            &[
                "audit",
                "verify",
                "--witness",
                &format!("slack:{AUDIT_CHANNEL}"),
            ],
            &[
                ("AUDIT_SIGNING_KEY", KEY),
                ("SLACK_BOT_TOKEN", "xoxb-test-token"),
                ("SLACK_API_URL", &api_url),
            ],
        )
    })
    .await
    .expect("the command ran")
}

#[tokio::test]
async fn a_rewrite_to_the_head_passes_plain_verify_but_not_the_witness() {
    let file = WitnessFile::new();
    let path = &file.path;
    let store = test_store().await;
    witnessed_log(&store, path).await;
    let witness = file.target();
    let (code, out, err) = verify(&store, &witness);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("3 published heads checked"), "{out}");

    rewrite_from(&store, 5).await;
    let (code, out, err) = cli_with(&store, &["audit", "verify"], &[]);
    assert_eq!(
        code,
        Some(0),
        "the rewritten chain checks out on its own: {out}{err}"
    );
    assert!(
        out.contains("audit log intact: 10 entries verified"),
        "{out}"
    );

    let (code, out, err) = verify(&store, &witness);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("audit log intact"), "{out}");
    assert!(
        err.contains("the audit log contradicts its witness (2 findings); the first: the head for seq 6 published")
            && err.contains(&format!("by inst_test0001 (line 2 of {})", path.display()))
            && err.contains("the log was rewritten after this head was published, from an entry after seq 3"),
        "{err}"
    );
    assert!(
        err.contains("  the head for seq 10 published"),
        "every finding listed: {err}"
    );
}

#[tokio::test]
async fn entries_lost_as_in_a_failover_are_named_as_loss_not_an_intact_log() {
    let file = WitnessFile::new();
    let path = &file.path;
    let store = test_store().await;
    witnessed_log(&store, path).await;
    lose_after(&store, 8).await;
    let (code, out, _) = cli_with(&store, &["audit", "verify"], &[]);
    assert_eq!(
        code,
        Some(0),
        "on its own the shorter chain checks out: {out}"
    );

    let witness = file.target();
    let (code, out, err) = verify(&store, &witness);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("the head for seq 10 published")
            && err.contains(
                "is beyond the stored log: the stored log ends at seq 8, so entries up to seq 10"
            )
            && err.contains("Redis failover"),
        "{err}"
    );

    // The bot carries on after the failover: new entries take seq 9 on,
    // written after the head for seq 10 was published.
    let later = now_ts() + 60;
    for n in 9..=11 {
        append(&store, n, later).await;
    }
    let (code, _, err) = verify(&store, &witness);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("the head for seq 10 published")
            && err.contains(
                "the stored entry is dated after that publication, as when entries were lost"
            ),
        "{err}"
    );
}

#[tokio::test]
async fn a_forged_or_unsigned_witness_line_fails_with_the_key_set() {
    let file = WitnessFile::new();
    let path = &file.path;
    let store = test_store().await;
    witnessed_log(&store, path).await;
    let witness = file.target();
    let entries = audit_entries_with_ids(&store).await;
    // A correct head, but written by hand without the key.
    let unsigned = WitnessHead::new(7, &entries[6].1.hash, now_ts(), "inst_test0001", None);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open");
    std::io::Write::write_all(&mut file, format!("{}\n", unsigned.to_line()).as_bytes())
        .expect("write");
    let (code, _, err) = verify(&store, &witness);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "the head for seq 7 published {} by inst_test0001 (line 4 of",
            billing_triage::domain::trail::witness::when(unsigned.at)
        )) && err.contains("has no signature although AUDIT_SIGNING_KEY is set"),
        "{err}"
    );
    // Without the key, the same line is compared like any head, and agrees.
    let (code, out, err) = cli_with(&store, &["audit", "verify", "--witness", &witness], &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("4 published heads checked") && out.contains("signatures not checked"),
        "{out}"
    );

    std::io::Write::write_all(&mut file, b"{\"seq\": 11}\n").expect("write");
    let (code, _, err) = verify(&store, &witness);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("(2 findings)") && err.contains("line 5 of"),
        "{err}"
    );

    let (code, _, err) = verify(&store, "file:/nonexistent-dir/heads.jsonl");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cannot read the witness file /nonexistent-dir/heads.jsonl"),
        "{err}"
    );
}
