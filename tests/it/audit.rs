//! The audit log against a real Redis: appending and reading a trail,
//! concurrent writers on two connections, and tampering through raw Redis
//! commands, which `verify_audit` must name.

use crate::helpers::{closed_port_url, spawn_app, store_on, test_store};
use billing_triage::audit::{
    chain, ApprovalGranted, AuditEntry, AuditEvent, AuditKind, CaseClosed, CaseOpened,
    ExecutionReconciled, LookupRequested, NewEntry, PreviousOwner, TriageOutcome, VerifyError,
};
use billing_triage::domain::{Actor, CaseId, SlackUserId};
use billing_triage::store::audit::{ENTRY_FIELD, HEAD_KEY, STREAM_KEY};
use billing_triage::store::{Store, StoreError};
use redis::AsyncCommands;
use serde_json::json;

fn new_entry(case_id: Option<&CaseId>, kind: AuditKind, n: u64) -> NewEntry {
    let actor = Actor::Slack(SlackUserId::parse("U024BE7LH").expect("a valid Slack user id"));
    NewEntry {
        case_id: case_id.cloned(),
        ..NewEntry::new(event(kind, n), actor, 1_700_000_000)
            .on_action("a1")
            .with_stripe_ids(vec!["ch_3Nx".to_owned()])
    }
}

/// An event of `kind`, made distinct by `n`, for the kinds these tests write.
fn event(kind: AuditKind, n: u64) -> AuditEvent {
    let n = usize::try_from(n).expect("a small test number");
    match kind {
        AuditKind::LookupRequested => LookupRequested {
            identifier: format!("customer id {n}"),
        }
        .into(),
        AuditKind::CaseOpened => CaseOpened {
            triage: TriageOutcome::NeedsReview,
            n_actions: n,
        }
        .into(),
        AuditKind::ApprovalGranted => ApprovalGranted { still_needed: n }.into(),
        AuditKind::ExecutionReconciled => ExecutionReconciled::resumed(
            true,
            PreviousOwner {
                from_owner: Some(format!("inst_{n}")),
                owner_gone: true,
            },
        )
        .into(),
        AuditKind::CaseClosed => CaseClosed {}.into(),
        other => panic!("no test event of kind {other}"),
    }
}

/// A log of `n` entries on `store`, returning their stream ids in order.
async fn write_log(store: &Store, n: u64) -> Vec<String> {
    let case = CaseId::from_random(1);
    for i in 1..=n {
        store
            .append_audit(new_entry(Some(&case), AuditKind::ApprovalGranted, i))
            .await
            .expect("append");
    }
    store
        .audit_trail(&case)
        .await
        .expect("trail")
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

async fn verdict(store: &Store) -> Result<u64, VerifyError> {
    store.verify_audit().await.expect("Redis answers")
}

async fn raw_entry(store: &Store, id: &str) -> AuditEntry {
    let mut conn = store.conn().await.expect("connection");
    let reply: redis::streams::StreamRangeReply = conn
        .xrange(store.key(STREAM_KEY), id, id)
        .await
        .expect("XRANGE");
    let value = reply.ids[0].map.get(ENTRY_FIELD).expect("entry field");
    let redis::Value::BulkString(bytes) = value else {
        panic!("entry field is not a string")
    };
    serde_json::from_slice(bytes).expect("entry JSON")
}

async fn raw_xadd(store: &Store, json: &str) -> String {
    let mut conn = store.conn().await.expect("connection");
    conn.xadd(store.key(STREAM_KEY), "*", &[(ENTRY_FIELD, json)])
        .await
        .expect("XADD")
}

async fn raw_xdel(store: &Store, id: &str) {
    let mut conn = store.conn().await.expect("connection");
    let removed: i64 = conn.xdel(store.key(STREAM_KEY), &[id]).await.expect("XDEL");
    assert_eq!(removed, 1);
}

#[tokio::test]
async fn appended_entries_form_a_case_trail_and_verify() {
    let store = test_store().await;
    let case_a = CaseId::from_random(0xa);
    let case_b = CaseId::from_random(0xb);
    let first = store
        .append_audit(new_entry(Some(&case_a), AuditKind::LookupRequested, 1))
        .await
        .expect("append");
    store
        .append_audit(new_entry(Some(&case_b), AuditKind::LookupRequested, 2))
        .await
        .expect("append");
    store
        .append_audit(new_entry(None, AuditKind::ExecutionReconciled, 3))
        .await
        .expect("append");
    let last = store
        .append_audit(new_entry(Some(&case_a), AuditKind::CaseOpened, 4))
        .await
        .expect("append");
    assert_eq!((first.seq, last.seq), (1, 4));
    assert_eq!(last.prev_hash.len(), 64);

    let trail = store.audit_trail(&case_a).await.expect("trail");
    let kinds: Vec<_> = trail
        .iter()
        .map(|(_, entry)| (entry.seq, entry.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![(1, AuditKind::LookupRequested), (4, AuditKind::CaseOpened)]
    );
    assert_eq!(trail[1].1, last);
    assert_eq!(
        last.event().expect("the detail reads back"),
        event(AuditKind::CaseOpened, 4)
    );
    assert!(store
        .audit_trail(&CaseId::from_random(0xc))
        .await
        .expect("trail")
        .is_empty());

    assert_eq!(verdict(&store).await, Ok(4));
}

#[tokio::test]
async fn empty_log_verifies() {
    let store = test_store().await;
    assert_eq!(verdict(&store).await, Ok(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_from_two_stores_keep_one_chain() {
    let first = test_store().await;
    let second = store_on(first.prefix()).await;
    let case = CaseId::from_random(7);
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let store = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let case = case.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append_audit(new_entry(Some(&case), AuditKind::ApprovalGranted, i))
                .await
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.expect("task ran").expect("append").seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert_eq!(verdict(&first).await, Ok(20));
    assert_eq!(first.audit_trail(&case).await.expect("trail").len(), 20);
}

#[tokio::test]
async fn forged_appended_entry_is_named() {
    let store = test_store().await;
    let ids = write_log(&store, 3).await;
    let last = raw_entry(&store, &ids[2]).await;
    // A well-formed continuation of the chain, but the head was not moved.
    let forged = chain(
        new_entry(None, AuditKind::ApprovalGranted, 99),
        4,
        &last.hash,
    );
    let forged_id = raw_xadd(&store, &serde_json::to_string(&forged).expect("JSON")).await;
    assert_eq!(
        verdict(&store).await,
        Err(VerifyError::HeadMismatch {
            last: Some((forged_id, 4)),
            head_present: true
        })
    );
}

#[tokio::test]
async fn unparseable_entry_is_named_as_unreadable() {
    let store = test_store().await;
    write_log(&store, 2).await;
    let junk_id = raw_xadd(&store, "{not json").await;
    let Err(VerifyError::Unreadable { stream_id, .. }) = verdict(&store).await else {
        panic!("expected Unreadable")
    };
    assert_eq!(stream_id, junk_id);
}

#[tokio::test]
async fn deleted_middle_entry_is_named_at_the_next() {
    let store = test_store().await;
    let ids = write_log(&store, 4).await;
    raw_xdel(&store, &ids[1]).await;
    assert_eq!(
        verdict(&store).await,
        Err(VerifyError::SequenceGap {
            stream_id: ids[2].clone(),
            seq: 3,
            expected: 2
        })
    );
}

#[tokio::test]
async fn deleted_last_entry_is_named_by_the_head_check() {
    let store = test_store().await;
    let ids = write_log(&store, 3).await;
    raw_xdel(&store, &ids[2]).await;
    assert_eq!(
        verdict(&store).await,
        Err(VerifyError::HeadMismatch {
            last: Some((ids[1].clone(), 2)),
            head_present: true
        })
    );
}

#[tokio::test]
async fn rewritten_last_entry_is_named() {
    // Streams only append, so a rewrite is a delete and a re-add with the
    // edited JSON; done to the last entry, it keeps its place in the chain.
    let store = test_store().await;
    let ids = write_log(&store, 3).await;
    let mut entry = raw_entry(&store, &ids[2]).await;
    entry.detail = json!({"n": 1000});
    raw_xdel(&store, &ids[2]).await;
    let new_id = raw_xadd(&store, &serde_json::to_string(&entry).expect("JSON")).await;
    assert_eq!(
        verdict(&store).await,
        Err(VerifyError::HashMismatch {
            stream_id: new_id,
            seq: 3
        })
    );
}

#[tokio::test]
async fn rewritten_middle_entry_is_named() {
    let store = test_store().await;
    let ids = write_log(&store, 3).await;
    let mut entry = raw_entry(&store, &ids[1]).await;
    entry.detail = json!({"n": 1000});
    raw_xdel(&store, &ids[1]).await;
    raw_xadd(&store, &serde_json::to_string(&entry).expect("JSON")).await;
    assert_eq!(
        verdict(&store).await,
        Err(VerifyError::SequenceGap {
            stream_id: ids[2].clone(),
            seq: 3,
            expected: 2
        })
    );
}

#[tokio::test]
async fn append_refuses_to_start_a_second_chain_when_the_head_is_gone() {
    let store = test_store().await;
    write_log(&store, 2).await;
    let mut conn = store.conn().await.expect("connection");
    let _: i64 = conn.del(store.key(HEAD_KEY)).await.expect("DEL");
    // A fresh store, so no head is remembered from the appends above.
    let other = store_on(store.prefix()).await;
    let err = other
        .append_audit(new_entry(None, AuditKind::CaseClosed, 3))
        .await
        .expect_err("refused");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(matches!(
        verdict(&store).await,
        Err(VerifyError::HeadMismatch {
            head_present: false,
            ..
        })
    ));
}

#[tokio::test]
async fn readyz_is_503_while_the_head_is_gone_and_200_once_it_is_back() {
    let app = spawn_app(&closed_port_url()).await;
    assert_eq!(
        app.get("/readyz").await.status,
        200,
        "an empty log is writable"
    );
    write_log(&app.store, 2).await;
    assert_eq!(app.get("/readyz").await.status, 200);
    let mut conn = app.store.conn().await.expect("connection");
    let head: String = conn.get(app.store.key(HEAD_KEY)).await.expect("GET");
    let _: i64 = conn.del(app.store.key(HEAD_KEY)).await.expect("DEL");
    let gone = app.get("/readyz").await;
    assert_eq!(gone.status, 503);
    assert!(gone.body.contains("audit verify"), "{}", gone.body);
    let _: () = conn.set(app.store.key(HEAD_KEY), head).await.expect("SET");
    assert_eq!(app.get("/readyz").await.status, 200);
}

#[tokio::test]
async fn verify_walks_several_pages() {
    let store = test_store().await;
    let mut last = None;
    for _ in 0..4500u64 {
        last = Some(
            store
                .append_audit(new_entry(None, AuditKind::LookupRequested, 0))
                .await
                .expect("append"),
        );
    }
    assert_eq!(last.map(|entry| entry.seq), Some(4500));
    assert_eq!(verdict(&store).await, Ok(4500));
}
