//! Audit log speed against a real Redis (`REDIS_URL` or
//! `redis://127.0.0.1:6379`), printed as plain figures: append throughput
//! with one writer, with 8 writers on 8 connections (as 8 replicas would be)
//! and with 8 tasks sharing one connection; and the time `verify_audit` takes
//! over 100 000 entries. Each run uses its own key prefix and removes its
//! keys afterwards. No timing asserts.
//!
//! Run with `cargo bench --bench audit`.

use billing_triage::audit::{chain, ExecutionSucceeded, NewEntry, GENESIS};
use billing_triage::domain::{Actor, CaseId, SlackUserId};
use billing_triage::store::audit::{AuditHead, ENTRY_FIELD, HEAD_KEY, STREAM_KEY};
use billing_triage::store::Store;
use std::time::Instant;

const APPENDS_PER_CONFIG: u64 = 5_000;
const WRITERS: u64 = 8;
const VERIFY_ENTRIES: u64 = 100_000;
const PIPELINE_BATCH: u64 = 1_000;

fn new_entry(n: u64) -> NewEntry {
    let succeeded = ExecutionSucceeded {
        action: "refund".to_owned(),
        refunded_minor: Some(3900),
        note: None,
        confirmed: vec!["refund re_3NxAbCdEfGh of EUR 39.00".to_owned()],
    };
    let actor = Actor::Slack(SlackUserId::parse("U024BE7LH").expect("a valid Slack user id"));
    NewEntry::new(succeeded, actor, 1_700_000_000 + n as i64)
        .for_case(CaseId::from_random(n % 500))
        .on_action("a2")
        .with_stripe_ids(vec![
            "ch_3NxAbCdEfGh".to_owned(),
            "re_3NxAbCdEfGh".to_owned(),
        ])
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn store_on(prefix: &str) -> Store {
    Store::new(&redis_url(), prefix).expect("REDIS_URL is a Redis URL")
}

/// `writers` concurrent writers appending `APPENDS_PER_CONFIG` entries in
/// all, each on its own `Store` when `separate`, else sharing one.
async fn append_rate(base: &str, name: &str, writers: u64, separate: bool) -> f64 {
    let prefix = format!("{base}{name}:");
    let shared = store_on(&prefix);
    let per_writer = APPENDS_PER_CONFIG / writers;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let store = if separate {
            store_on(&prefix)
        } else {
            shared.clone()
        };
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                store
                    .append_audit(new_entry(writer * per_writer + i))
                    .await
                    .expect("append");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer ran");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let checked = shared
        .verify_audit()
        .await
        .expect("Redis answers")
        .expect("the log verifies");
    assert_eq!(checked, per_writer * writers);
    (per_writer * writers) as f64 / elapsed
}

/// Writes `VERIFY_ENTRIES` pre-chained entries with pipelines, then times
/// `verify_audit` over them.
async fn verify_time(base: &str) -> (u64, f64, f64) {
    let store = store_on(&format!("{base}verify:"));
    let mut conn = store.conn().await.expect("Redis answers");
    let stream_key = store.key(STREAM_KEY);
    let started = Instant::now();
    let mut prev = GENESIS.to_owned();
    let mut seq = 0;
    while seq < VERIFY_ENTRIES {
        let mut pipe = redis::pipe();
        for _ in 0..PIPELINE_BATCH.min(VERIFY_ENTRIES - seq) {
            seq += 1;
            let entry = chain(new_entry(seq), seq, &prev);
            let json = serde_json::to_string(&entry).expect("JSON");
            pipe.xadd(&stream_key, "*", &[(ENTRY_FIELD, json)]).ignore();
            prev = entry.hash;
        }
        let () = pipe.query_async(&mut conn).await.expect("pipeline");
    }
    let head = AuditHead { seq, hash: prev }.encode();
    let () = redis::cmd("SET")
        .arg(store.key(HEAD_KEY))
        .arg(head)
        .query_async(&mut conn)
        .await
        .expect("SET");
    let write_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let checked = store
        .verify_audit()
        .await
        .expect("Redis answers")
        .expect("the log verifies");
    (checked, started.elapsed().as_secs_f64(), write_secs)
}

/// Removes every key under `base`.
async fn clean_up(base: &str) {
    let store = store_on(base);
    let mut conn = store.conn().await.expect("Redis answers");
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{base}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .expect("SCAN");
        if !keys.is_empty() {
            let _: i64 = redis::cmd("UNLINK")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .expect("UNLINK");
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        if let Err(err) = store_on("bt-bench:").ping().await {
            panic!("Redis at {} does not answer ({err}); start one with `redis-server --daemonize yes`", redis_url());
        }
        let base = format!("bt-bench:{}:", uuid::Uuid::new_v4());
        let one = append_rate(&base, "one", 1, true).await;
        println!("audit append, 1 writer: {one:.0} entries/s");
        let separate = append_rate(&base, "separate", WRITERS, true).await;
        println!("audit append, {WRITERS} writers on {WRITERS} connections (replicas): {separate:.0} entries/s");
        let shared = append_rate(&base, "shared", WRITERS, false).await;
        println!("audit append, {WRITERS} writers sharing one Store: {shared:.0} entries/s");
        let (checked, verify_secs, write_secs) = verify_time(&base).await;
        println!("audit verify, {checked} entries: {:.0} ms", verify_secs * 1000.0);
        println!("(setup: {checked} pre-chained entries written by pipeline in {:.0} ms)", write_secs * 1000.0);
        clean_up(&base).await;
    });
}
