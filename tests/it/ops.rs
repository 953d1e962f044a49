//! Operations end to end: a request delivered twice runs once, a click counts
//! only from its card's channel, operator text is scrubbed and length-limited
//! everywhere it lands, the read-only warning, per-case index expiry, and the
//! audit export / trim / verify cycle.

use crate::helpers::*;
use crate::localstripe;
use billing_triage::audit::{
    ApprovalGranted, AuditEvent, AuditKind, CaseClosed, CaseOpened, NewEntry, RefusalCode,
    RefusalReason, TriageOutcome,
};
use billing_triage::domain::*;
use billing_triage::store::cases::{CardLocation, CASE_TTL_SECS};
use billing_triage::store::Store;
use redis::AsyncCommands;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A case with one refund (`a1`) and its card in [`CHANNEL`], stored as the
/// lookup leaves it.
async fn put_refund_case(store: &Store) -> Case {
    let now = now_ts();
    let customer = CustomerId::parse("cus_Ops1").expect("id");
    let charge = ChargeId::parse("ch_Ops1").expect("id");
    let amount = Money::new(3900, Currency::parse("eur").expect("eur"));
    let case = Case {
        version: Case::VERSION,
        id: CaseId::from_random(uuid::Uuid::new_v4().as_u128() as u64),
        requested_by: Actor::Slack(SlackUserId::parse(REQUESTER).expect("id")),
        message: None,
        warnings: vec![],
        context: Default::default(),
        snapshot: BillingSnapshot {
            query: LookupQuery::Customer(customer.clone()),
            customers: vec![CustomerRecord {
                id: customer,
                name: Some("Ana".into()),
                email: Some("ana@example.com".into()),
                created: now - 86_400,
                country: None,
                preferred_locales: vec![],
                metadata: BTreeMap::new(),
                default_payment_method: None,
                subscriptions: vec![],
                invoices: vec![],
                charges: vec![],
            }],
            fetched_at: now,
        },
        triage: Triage::Classified {
            category: Category::ProductFailure,
            evidence: vec!["outage".into()],
        },
        actions: vec![ProposedAction {
            key: akey("a1"),
            kind: ActionKind::Refund(RefundTarget { charge, amount }),
            summary: format!("Refund ch_Ops1 {amount}"),
            rationale: "the outage day".into(),
            origin: Origin::Proposed,
        }],
        revenue: RevenueImpact::default(),
        followup: FollowUp {
            locale: "en".into(),
            text: "Hi Ana".into(),
        },
        product_gap: None,
    };
    let statuses = vec![(
        akey("a1"),
        ActionStatus::Proposed {
            approvals: vec![],
            expires_at: now + 3600,
        },
    )];
    store.save_case(&case).await.expect("save case");
    store
        .init_actions(&case.id, &statuses)
        .await
        .expect("init actions");
    store
        .save_card_location(
            &case.id,
            &CardLocation {
                channel: billing_triage::domain::ChannelId::parse(CHANNEL).expect("channel id"),
                ts: billing_triage::domain::MessageTs::parse("1700000000.000001")
                    .expect("message ts"),
                thread_ts: None,
            },
        )
        .await
        .expect("card location");
    case
}

/// A Stripe stand-in that records calls and answers 404 to everything.
async fn recording_stripe() -> (String, Arc<std::sync::Mutex<Vec<StripeCall>>>) {
    scripted_stripe(Arc::new(|_: &str, _: &str| {
        (
            404,
            r#"{"error":{"type":"invalid_request_error","message":"No such resource"}}"#.to_owned(),
        )
    }))
    .await
}

/// A customer created straight in localstripe, to look up by id.
async fn localstripe_customer(stripe: &localstripe::LocalStripe) -> String {
    let reply = send(
        "POST",
        &format!("{}v1/customers", stripe.direct_url()),
        &[
            ("authorization", "Bearer sk_test_harness".to_owned()),
            (
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
        ],
        "email=replay%40example.com&name=Replay".to_owned(),
    )
    .await;
    reply.json()["id"]
        .as_str()
        .expect("localstripe made a customer")
        .to_owned()
}

/// A `/billing` form body as Slack sends it, with its own trigger id.
fn slash_body(text: &str, response_url: &str) -> String {
    serde_urlencoded::to_string([
        ("team_id", "T0001"),
        ("channel_id", CHANNEL),
        ("user_id", REQUESTER),
        ("command", "/billing"),
        ("text", text),
        ("response_url", response_url),
        (
            "trigger_id",
            &format!("1334.7384.{}", uuid::Uuid::new_v4().simple()),
        ),
    ])
    .expect("form encodes")
}

/// POSTs `body` signed with timestamp `ts`, plus `extra` headers.
async fn post_at(
    app: &TestApp,
    path: &str,
    body: &str,
    ts: i64,
    extra: &[(&str, String)],
) -> Reply {
    let ts = ts.to_string();
    let mut headers = vec![
        (
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("x-slack-signature", sign(SIGNING_SECRET, &ts, body)),
        ("x-slack-request-timestamp", ts),
    ];
    headers.extend(extra.iter().cloned());
    send(
        "POST",
        &format!("{}{path}", app.addr),
        &headers,
        body.to_owned(),
    )
    .await
}

/// Card posts (not thread replies) the Slack stand-in received.
fn cards(app: &TestApp) -> usize {
    app.slack
        .calls_to("chat.postMessage")
        .iter()
        .filter(|c| c.body.get("thread_ts").is_none())
        .count()
}

fn ack_text(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_replayed_signed_slash_command_posts_one_card() {
    let stripe = localstripe::start().await;
    let customer = localstripe_customer(&stripe).await;
    let app = spawn_app(&stripe.base_url()).await;
    let body = slash_body(&format!("lookup {customer}"), &app.slack.response_url());
    let ts = now_ts();

    let first = post_at(&app, "/slack/commands", &body, ts, &[]).await;
    assert!(ack_text(&first).starts_with("Looking up"), "{}", first.body);
    // The same signed bytes again, inside the five-minute window: answered
    // as the first was, naming the first's case, and not run.
    let replay = post_at(&app, "/slack/commands", &body, ts, &[]).await;
    assert_eq!(ack_text(&replay), ack_text(&first));

    app.slack.wait_for("chat.postMessage", 2).await; // the card and its thread
    assert_eq!(cards(&app), 1);
    assert_eq!(lookups_requested(&app).await, 1, "one lookup audited");
}

#[tokio::test]
async fn a_slack_retry_of_a_slash_command_posts_one_card() {
    let stripe = localstripe::start().await;
    let customer = localstripe_customer(&stripe).await;
    let app = spawn_app(&stripe.base_url()).await;
    let body = slash_body(&format!("lookup {customer}"), &app.slack.response_url());
    let ts = now_ts();

    let first = post_at(&app, "/slack/commands", &body, ts, &[]).await;
    assert!(ack_text(&first).starts_with("Looking up"));
    // Slack's retry: the same body, signed again later, with its retry headers.
    let retry_headers = [
        ("x-slack-retry-num", "1".to_owned()),
        ("x-slack-retry-reason", "http_timeout".to_owned()),
    ];
    let retry = post_at(&app, "/slack/commands", &body, ts + 1, &retry_headers).await;
    assert_eq!(ack_text(&retry), ack_text(&first), "the first's case");

    app.slack.wait_for("chat.postMessage", 2).await;
    assert_eq!(cards(&app), 1);
    // A new command (a new trigger id) still runs.
    let again = post_at(
        &app,
        "/slack/commands",
        &slash_body(&format!("lookup {customer}"), &app.slack.response_url()),
        ts,
        &[],
    )
    .await;
    assert!(ack_text(&again).starts_with("Looking up"));
    app.slack.wait_for("chat.postMessage", 4).await;
    assert_eq!(cards(&app), 2);
}

/// How many lookups the audit trail records.
async fn lookups_requested(app: &TestApp) -> usize {
    audit_kinds_of_all(&app.store)
        .await
        .iter()
        .filter(|k| **k == AuditKind::LookupRequested)
        .count()
}

/// Every audit entry's kind under the app's prefix, in order.
async fn audit_kinds_of_all(store: &Store) -> Vec<AuditKind> {
    audit_entries_of_all(store)
        .await
        .into_iter()
        .map(|entry| entry.kind)
        .collect()
}

/// A button click in the real `block_actions` shape, from `channel`.
async fn click_from(
    app: &TestApp,
    channel: &str,
    action_id: &str,
    value: &str,
    user: &str,
) -> String {
    let response_url = app.slack.response_url();
    let payload = serde_json::json!({
        "type": "block_actions",
        "user": {"id": user, "username": "op", "team_id": "T0001"},
        "api_app_id": "A123456",
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": channel, "is_ephemeral": false},
        "trigger_id": format!("1232.3336.{}", uuid::Uuid::new_v4().simple()),
        "team": {"id": "T0001", "domain": "example"},
        "channel": {"id": channel, "name": "elsewhere"},
        "message": {"type": "message", "ts": "1700000000.000001", "text": "case card"},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "buttons_x", "value": value, "action_ts": "1700000001.000001"}]
    });
    assert_eq!(app.interact(&payload).await.status, 200);
    response_url
}

#[tokio::test]
async fn a_click_from_another_channel_is_refused_audited_and_never_reaches_stripe() {
    let (base, stripe_calls) = recording_stripe().await;
    let app = spawn_app(&base).await;
    let case = put_refund_case(&app.store).await;
    let value = format!("{}/a1", case.id);

    for action_id in ["approve_action", "reject_action", "partial_refund"] {
        let url = click_from(&app, "C0ELSEWHERE", action_id, &value, APPROVER_1).await;
        let answer = app.answer_at(&url).await;
        assert!(
            answer.contains("only on the case card") && answer.contains(CHANNEL),
            "{action_id}: {answer}"
        );
    }
    let trail = app.store.audit_trail(&case.id).await.expect("trail");
    let refusals: Vec<_> = trail
        .iter()
        .filter(|(_, e)| e.kind == AuditKind::ApprovalRefused)
        .collect();
    assert_eq!(refusals.len(), 3, "{trail:#?}");
    let Ok(AuditEvent::ApprovalRefused(refused)) = refusals[0].1.event() else {
        panic!("a refusal: {:?}", refusals[0].1);
    };
    assert_eq!(
        refused.reason,
        RefusalReason::Code(RefusalCode::WrongChannel)
    );
    assert_eq!(refusals[0].1.detail["reason"], "wrong_channel");
    assert_eq!(
        refused.channel,
        Some(Some(ChannelId::parse("C0ELSEWHERE").expect("id")))
    );
    assert_eq!(refused.card_channel, Some(Some(CHANNEL.to_owned())));
    assert!(matches!(
        app.store.action_status(&case.id, &akey("a1")).await.expect("redis"),
        Some(ActionStatus::Proposed { approvals, .. }) if approvals.is_empty()
    ));
    assert!(
        app.slack.calls_to("views.open").is_empty(),
        "no modal opened for an outside click"
    );
    assert!(
        stripe_calls.lock().expect("calls").is_empty(),
        "Stripe never called"
    );

    // The same button on the card itself counts.
    click_from(&app, CHANNEL, "reject_action", &value, APPROVER_1).await;
    app.slack.wait_for("views.open", 1).await;
}

/// Every value stored under the app's prefix, as text: strings, hashes,
/// sorted sets (the App Home's indexes), lists and stream entries.
async fn everything_in_redis(store: &Store) -> String {
    let mut conn = store.conn().await.expect("connection");
    let keys: Vec<String> = conn
        .keys(format!("{}*", store.prefix()))
        .await
        .expect("KEYS");
    let mut all = String::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("TYPE");
        let text = match kind.as_str() {
            "string" => conn.get::<_, String>(&key).await.expect("GET"),
            "hash" => format!(
                "{:?}",
                conn.hgetall::<_, Vec<(String, String)>>(&key)
                    .await
                    .expect("HGETALL")
            ),
            "zset" => format!(
                "{:?}",
                conn.zrange::<_, Vec<String>>(&key, 0, -1)
                    .await
                    .expect("ZRANGE")
            ),
            "list" => format!(
                "{:?}",
                conn.lrange::<_, Vec<String>>(&key, 0, -1)
                    .await
                    .expect("LRANGE")
            ),
            "stream" => format!(
                "{:?}",
                conn.xrange_all::<_, redis::streams::StreamRangeReply>(&key)
                    .await
                    .expect("XRANGE")
            ),
            other => panic!("unexpected Redis type {other} at {key}"),
        };
        all.push_str(&text);
    }
    all
}

#[tokio::test]
async fn a_reject_reason_with_a_card_number_and_a_live_key_is_scrubbed_on_the_card_in_redis_and_in_the_audit(
) {
    let (base, _) = recording_stripe().await;
    let app = spawn_app(&base).await;
    let case = put_refund_case(&app.store).await;
    let value = format!("{}/a1", case.id);
    let typed = "customer pasted 4242 4242 4242 4242 and key sk_live_51HxYzSecret in chat";

    let reply = app
        .submit_view(
            "reject_reason",
            &value,
            "reason_block",
            "reason",
            typed,
            APPROVER_1,
        )
        .await;
    assert_eq!(reply.status, 200);
    let updates = app.slack.wait_for("chat.update", 1).await;
    let card = updates[0].body.to_string();
    assert!(
        card.contains("customer pasted [redacted] and key [redacted] in chat"),
        "{card}"
    );

    let expected = "customer pasted [redacted] and key [redacted] in chat";
    match app
        .store
        .action_status(&case.id, &akey("a1"))
        .await
        .expect("redis")
    {
        Some(ActionStatus::Rejected { reason, .. }) => assert_eq!(reason, expected),
        other => panic!("expected rejected, got {other:?}"),
    }
    let trail = app.store.audit_trail(&case.id).await.expect("trail");
    let rejected = trail
        .iter()
        .find(|(_, e)| e.kind == AuditKind::ActionRejected)
        .expect("rejection audited");
    assert_eq!(rejected.1.detail["reason"], expected);

    let seen = format!(
        "{card}{}{:?}",
        everything_in_redis(&app.store).await,
        app.slack.calls()
    );
    for secret in ["4242 4242", "4242424242424242", "sk_live", "51HxYzSecret"] {
        assert!(!seen.contains(secret), "{secret} leaked");
    }
}

#[tokio::test]
async fn an_over_long_reason_gets_a_modal_error_and_nothing_is_stored() {
    let (base, _) = recording_stripe().await;
    let app = spawn_app(&base).await;
    let case = put_refund_case(&app.store).await;
    let value = format!("{}/a1", case.id);

    let reply = app
        .submit_view(
            "reject_reason",
            &value,
            "reason_block",
            "reason",
            &"x".repeat(400_000),
            APPROVER_1,
        )
        .await;
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["response_action"], "errors");
    let error = json["errors"]["reason_block"]
        .as_str()
        .expect("an error under the reason");
    assert!(error.contains("400000") && error.contains("500"), "{error}");

    assert!(matches!(
        app.store
            .action_status(&case.id, &akey("a1"))
            .await
            .expect("redis"),
        Some(ActionStatus::Proposed { .. })
    ));
    assert!(app
        .store
        .audit_trail(&case.id)
        .await
        .expect("trail")
        .is_empty());
    assert!(!everything_in_redis(&app.store).await.contains("xxxxxxxxxx"));

    // The same refused submission again is checked again, not taken as a
    // duplicate (which would close the modal with nothing done).
    let payload = serde_json::json!({
        "type": "view_submission",
        "user": {"id": APPROVER_1},
        "trigger_id": "1.2.3",
        "view": {"id": "V1", "callback_id": "reject_reason", "private_metadata": value,
                 "state": {"values": {"reason_block": {"reason": {"type": "plain_text_input", "value": "z".repeat(501)}}}}}
    });
    for _ in 0..2 {
        assert_eq!(
            app.interact(&payload).await.json()["response_action"],
            "errors"
        );
    }

    // 500 characters are accepted.
    let reply = app
        .submit_view(
            "reject_reason",
            &value,
            "reason_block",
            "reason",
            &"y".repeat(500),
            APPROVER_1,
        )
        .await;
    assert_eq!(reply.body, "");
    app.slack.wait_for("chat.update", 1).await;
}

#[tokio::test]
async fn help_says_the_bot_is_read_only_when_nobody_can_approve() {
    let (base, _) = recording_stripe().await;
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let mut config = test_config(&base, &slack, store.prefix());
    config.policy.approvers.clear();
    let app = spawn_with(config, slack, store).await;
    let (reply, _) = app.slash("help", REQUESTER).await;
    let text = ack_text(&reply);
    assert!(
        text.contains("BILLING_APPROVERS is unset") && text.contains("read-only"),
        "{text}"
    );

    let configured = spawn_app(&base).await;
    let (reply, _) = configured.slash("help", REQUESTER).await;
    assert!(!ack_text(&reply).contains("read-only"));
}

#[tokio::test]
async fn case_index_keys_expire_with_their_case() {
    let (base, _) = recording_stripe().await;
    let app = spawn_app(&base).await;
    let case = put_refund_case(&app.store).await;
    let value = format!("{}/a1", case.id);
    let url = click_from(&app, CHANNEL, "approve_action", &value, APPROVER_1).await;
    app.answer_at(&url).await; // the click's entries are in the case index by now

    let mut conn = app.store.conn().await.expect("connection");
    let index_ttl: i64 = conn
        .ttl(app.store.key(&format!("audit:case:{}", case.id)))
        .await
        .expect("TTL");
    let case_ttl: i64 = conn
        .ttl(app.store.key(&format!("case:{}", case.id)))
        .await
        .expect("TTL");
    let ttl = i64::try_from(CASE_TTL_SECS).expect("fits");
    assert!(
        index_ttl > ttl - 60 && index_ttl <= ttl,
        "index TTL {index_ttl}"
    );
    assert!(
        (index_ttl - case_ttl).abs() < 60,
        "index {index_ttl} s, case {case_ttl} s"
    );
}

/// Runs `billing-triage` on `store`'s Redis prefix: (exit code, stdout, stderr).
fn cli(store: &Store, args: &[&str]) -> (Option<i32>, String, String) {
    cli_with(store, args, &[])
}

/// [`cli`] with more settings in its environment.
pub fn cli_with(
    store: &Store,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_billing-triage"))
        .args(args)
        .env("REDIS_URL", redis_url())
        .env("REDIS_PREFIX", store.prefix())
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Ten entries: seq 1..=10 alternate between cases A and B, seq 5 belongs to no case.
async fn ten_entries(store: &Store) -> (CaseId, CaseId) {
    let (a, b) = (CaseId::from_random(0xa11), CaseId::from_random(0xb22));
    for n in 1..=10u64 {
        let case_id = match n {
            5 => None,
            n if n % 2 == 1 => Some(a.clone()),
            _ => Some(b.clone()),
        };
        let opened = CaseOpened {
            triage: TriageOutcome::NeedsReview,
            n_actions: usize::try_from(n).expect("small"),
        };
        let entry = NewEntry {
            case_id,
            ..NewEntry::new(opened, Actor::System, 1_700_000_000 + n as i64)
        };
        store.append_audit(entry).await.expect("append");
    }
    (a, b)
}

/// The stored `entry` text of every stream entry, in order.
async fn stored_entries(store: &Store) -> Vec<(String, String)> {
    let mut conn = store.conn().await.expect("connection");
    let reply: redis::streams::StreamRangeReply =
        conn.xrange_all(store.key("audit")).await.expect("XRANGE");
    reply
        .ids
        .into_iter()
        .map(|id| {
            let redis::Value::BulkString(bytes) = &id.map["entry"] else {
                panic!("entry is not a string")
            };
            (
                id.id.clone(),
                String::from_utf8(bytes.clone()).expect("UTF-8"),
            )
        })
        .collect()
}

fn seq_and_hash(line: &str) -> (u64, String, String) {
    let entry: billing_triage::audit::AuditEntry =
        serde_json::from_str(line).expect("an exported line is an audit entry");
    (entry.seq, entry.hash, entry.prev_hash)
}

#[tokio::test]
async fn export_then_trim_then_verify_passes_and_export_resumes_at_the_anchor() {
    let store = test_store().await;
    let (a, b) = ten_entries(&store).await;
    let stored = stored_entries(&store).await;

    let (code, out, err) = cli(&store, &["audit", "export"]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        stored
            .iter()
            .map(|(_, json)| json.as_str())
            .collect::<Vec<_>>(),
        "the stored entries, unchanged"
    );
    assert!(err.contains("exported 10 entries, seq 1 to 10"), "{err}");

    let (code, out, _) = cli(&store, &["audit", "export", "--until", "6"]);
    assert_eq!(code, Some(0));
    let archived: Vec<&str> = out.lines().collect();
    assert_eq!(archived, lines[..6]);

    let (code, out, err) = cli(&store, &["audit", "trim", "--until", "6"]);
    assert_eq!(code, Some(0), "{err}");
    let (_, hash6, _) = seq_and_hash(archived[5]);
    assert!(
        out.contains("trimmed 6 entries, seq 1 to 6") && out.contains(&hash6),
        "{out}"
    );
    assert_eq!(stored_entries(&store).await.len(), 4);
    let mut conn = store.conn().await.expect("connection");
    let anchor: String = conn
        .get(store.key("audit:anchor"))
        .await
        .expect("the anchor is kept");
    assert_eq!(anchor, format!("6 {hash6}"));

    let (code, out, err) = cli(&store, &["audit", "verify"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("4 entries verified after the anchor at seq 6"),
        "{out}"
    );
    assert!(
        out.contains("case indexes intact: 2 indexes list 4 entries"),
        "{out}"
    );
    // The trails keep only what is left.
    let seqs = |trail: Vec<(String, billing_triage::audit::AuditEntry)>| {
        trail.into_iter().map(|(_, e)| e.seq).collect::<Vec<_>>()
    };
    assert_eq!(seqs(store.audit_trail(&a).await.expect("trail")), [7, 9]);
    assert_eq!(seqs(store.audit_trail(&b).await.expect("trail")), [8, 10]);

    // The next export starts right after the anchor and joins the archive.
    let (_, out, _) = cli(&store, &["audit", "export"]);
    let (first_seq, _, prev_hash) = seq_and_hash(out.lines().next().expect("entries left"));
    assert_eq!((first_seq, prev_hash), (7, hash6));

    // New entries chain on as before, and trimming everything still verifies.
    store
        .append_audit(
            NewEntry::new(CaseClosed {}, Actor::System, 1_700_000_100).for_case(a.clone()),
        )
        .await
        .expect("append after a trim");
    let (code, out, _) = cli(&store, &["audit", "trim", "--until", "11"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("trimmed 5 entries, seq 7 to 11"), "{out}");
    let (code, out, err) = cli(&store, &["audit", "verify"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("0 entries verified after the anchor at seq 11"),
        "{out}"
    );
    let (_, out, _) = cli(&store, &["audit", "trim", "--until", "11"]);
    assert!(out.contains("nothing to trim"), "{out}");
}

#[tokio::test]
async fn an_entry_removed_from_its_case_index_is_named_by_the_index_check() {
    let store = test_store().await;
    let (a, _b) = ten_entries(&store).await;
    let report = store.verify_case_indexes().await.expect("redis");
    assert!(report.is_clean(), "{report}");
    assert_eq!((report.indexes, report.ids), (2, 9));

    // Someone with Redis access drops an entry of `a` from its index: the
    // hash chain does not cover indexes, so only this check sees it.
    let key = store.key(&format!("audit:case:{a}"));
    let mut conn = store.conn().await.expect("connection");
    let ids: Vec<String> = conn.lrange(&key, 0, -1).await.expect("LRANGE");
    let _: i64 = conn.lrem(&key, 1, &ids[1]).await.expect("LREM");
    let report = store.verify_case_indexes().await.expect("redis");
    assert_eq!(report.problems.len(), 1, "{report}");
    let problem = &report.problems[0];
    assert_eq!(
        (problem.case_id.as_str(), problem.stream_id.as_str()),
        (a.as_str(), ids[1].as_str())
    );
    assert!(
        problem.to_string().contains("does not list it"),
        "{problem}"
    );
    let (code, out, err) = cli(&store, &["audit", "verify"]);
    assert_ne!(code, Some(0), "{out}");
    assert!(
        format!("{out}{err}").contains("does not list it"),
        "{out}{err}"
    );
}

#[tokio::test]
async fn after_a_trim_a_tampered_entry_or_a_removed_anchor_is_named() {
    let store = test_store().await;
    ten_entries(&store).await;
    assert_eq!(cli(&store, &["audit", "trim", "--until", "4"]).0, Some(0));
    let stored = stored_entries(&store).await;
    let mut conn = store.conn().await.expect("connection");

    // Rewrite seq 7: remove it and everything after, put them back with 7 edited.
    let ids: Vec<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    let _: i64 = conn
        .xdel(store.key("audit"), &ids[2..])
        .await
        .expect("XDEL");
    let mut new_ids = Vec::new();
    for (_, json) in &stored[2..] {
        let json = if json.contains("\"seq\":7,") {
            json.replace("\"n_actions\":7", "\"n_actions\":70")
        } else {
            json.clone()
        };
        let id: String = conn
            .xadd(store.key("audit"), "*", &[("entry", json)])
            .await
            .expect("XADD");
        new_ids.push(id);
    }
    let (code, _, err) = cli(&store, &["audit", "verify"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&new_ids[0]) && err.contains("seq 7") && err.contains("altered"),
        "{err}"
    );

    // Put the log back as it was (fresh ids), then remove the anchor: the
    // log now seems to start at seq 5.
    let _: i64 = conn.xdel(store.key("audit"), &new_ids).await.expect("XDEL");
    for (_, json) in &stored[2..] {
        let _: String = conn
            .xadd(store.key("audit"), "*", &[("entry", json)])
            .await
            .expect("XADD");
    }
    let (code, _, err) = cli(&store, &["audit", "verify"]);
    assert_eq!(
        code,
        Some(1),
        "the re-added entries have new ids, so the case indexes no longer match: {err}"
    );
    assert!(err.contains("not in the audit stream"), "{err}");
    let _: () = conn.del(store.key("audit:anchor")).await.expect("DEL");
    let (code, _, err) = cli(&store, &["audit", "verify"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("seq 5 where seq 1 was expected"), "{err}");
    let _: () = conn
        .set(store.key("audit:anchor"), "not an anchor")
        .await
        .expect("SET");
    let (code, _, err) = cli(&store, &["audit", "verify"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("audit:anchor") && err.contains("anchor is not"),
        "{err}"
    );
    // A tampered log is never trimmed.
    let (code, _, err) = cli(&store, &["audit", "trim", "--until", "8"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("nothing trimmed"), "{err}");
    assert_eq!(stored_entries(&store).await.len(), 6);
}

#[tokio::test]
async fn verify_names_an_index_that_points_at_another_case() {
    let store = test_store().await;
    let (a, b) = ten_entries(&store).await;
    let stored = stored_entries(&store).await;
    let mut conn = store.conn().await.expect("connection");
    // Entry 2 is B's; list it under A too.
    let _: i64 = conn
        .rpush(store.key(&format!("audit:case:{a}")), &stored[1].0)
        .await
        .expect("RPUSH");
    let (code, out, err) = cli(&store, &["audit", "verify"]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("10 entries verified"),
        "the chain itself is intact: {out}"
    );
    assert!(
        err.contains(&format!(
            "the index of {a} lists {}, an entry of {b}",
            stored[1].0
        )),
        "{err}"
    );
    assert!(err.contains("1 of 10 ids in 2 indexes"), "{err}"); // nine indexed entries (seq 5 has no case) and the extra one
}

#[tokio::test]
async fn serve_warns_at_start_up_when_nobody_can_approve() {
    use tokio::io::AsyncBufReadExt;
    let store = test_store().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_billing-triage"))
        .arg("serve")
        .env_clear()
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .env("SLACK_BOT_TOKEN", "xoxb-test-token")
        .env("STRIPE_SECRET_KEY", "sk_test_localstripe")
        .env("REDIS_URL", redis_url())
        .env("REDIS_PREFIX", store.prefix())
        .env("BIND_ADDR", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut seen = Vec::new();
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            let done = line.contains("\"serving\"");
            seen.push(line);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), read)
        .await
        .expect("serve logs `serving` at start-up");
    let warning = seen
        .iter()
        .find(|l| l.contains("read-only"))
        .unwrap_or_else(|| panic!("no read-only warning in {seen:#?}"));
    assert!(
        warning.contains("WARN") && warning.contains("BILLING_APPROVERS is unset"),
        "{warning}"
    );
    child.kill().await.expect("stop the server");
}

#[tokio::test]
async fn the_message_a_shortcut_runs_on_is_kept_scrubbed() {
    let stripe = localstripe::start().await;
    let customer = localstripe_customer(&stripe).await;
    let app = spawn_app(&stripe.base_url()).await;
    let payload = serde_json::json!({
        "type": "message_action",
        "callback_id": "triage_billing_case",
        "user": {"id": REQUESTER},
        "channel": {"id": CHANNEL},
        "message": {"ts": "1700000000.000100", "text": format!("{customer} says: charged twice on 4242 4242 4242 4242, my key is sk_live_51Zz")},
        "response_url": app.slack.response_url(),
        "trigger_id": format!("1.2.{}", uuid::Uuid::new_v4().simple()),
    });
    assert_eq!(app.interact(&payload).await.status, 200);
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    // The card (it has blocks) is in the message's thread, as its draft is.
    let card = posts
        .iter()
        .find(|c| c.body["blocks"].as_array().is_some_and(|b| !b.is_empty()))
        .expect("a card")
        .body
        .to_string();
    let at = card.find("case_").expect("the card names its case");
    let case_id = CaseId::parse(&card[at..at + 17]).expect("a case id");
    let case = app
        .store
        .load_case(&case_id)
        .await
        .expect("redis")
        .expect("the case is stored");
    assert_eq!(
        case.message.as_deref(),
        Some(
            format!("{customer} says: charged twice on [redacted], my key is [redacted]").as_str()
        )
    );
    let seen = format!(
        "{}{:?}",
        everything_in_redis(&app.store).await,
        app.slack.calls()
    );
    assert!(
        !seen.contains("4242 4242") && !seen.contains("sk_live"),
        "nothing unscrubbed stored or posted"
    );
}

#[tokio::test]
async fn with_redis_unreachable_commands_are_still_answered_and_replays_count_again_once_it_returns(
) {
    let (base, _) = recording_stripe().await;
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let proxy = RedisProxy::start().await;
    let mut config = test_config(&base, &slack, store.prefix());
    config.redis_url = proxy.url.clone();
    let app = spawn_with(config, slack, store).await;
    proxy.cut();

    // Nothing before the answer needs Redis, and the duplicate check after
    // it fails open: each delivery is answered and runs (a lost check must
    // not lose the request), here to say that Redis is unavailable.
    let case = CaseId::from_random(0xdead);
    let url = app.slack.response_url();
    let body = slash_body(&format!("audit {case}"), &url);
    let ts = now_ts();
    for _ in 0..2 {
        let text = ack_text(&post_at(&app, "/slack/commands", &body, ts, &[]).await);
        assert!(text.starts_with("Fetching the audit trail"), "{text}");
    }
    assert_eq!(answers_at(&app, &url, 2).await.len(), 2);

    // Once Redis is back, deliveries are counted again.
    proxy.restore();
    // Reconnecting is the store's business (and its own tests'); wait for it.
    wait_ready(&app).await;
    let url = app.slack.response_url();
    let body = slash_body(&format!("audit {case}"), &url);
    for _ in 0..2 {
        let text = ack_text(&post_at(&app, "/slack/commands", &body, ts, &[]).await);
        assert!(text.starts_with("Fetching the audit trail"), "{text}");
    }
    let answers = answers_at(&app, &url, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(answers_at(&app, &url, 1).await, answers, "one run of two");
}

#[tokio::test]
async fn the_answer_does_not_wait_for_redis_and_a_duplicate_still_runs_once() {
    let stripe = localstripe::start().await;
    let customer = localstripe_customer(&stripe).await;
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let proxy = RedisProxy::start().await;
    let mut config = test_config(&stripe.base_url(), &slack, store.prefix());
    config.redis_url = proxy.url.clone();
    let app = spawn_with(config, slack, store).await;
    wait_ready(&app).await;

    // Redis hears nothing from here on, so it answers nothing: the command
    // and its replay are answered all the same.
    proxy.hold();
    let body = slash_body(&format!("lookup {customer}"), &app.slack.response_url());
    let ts = now_ts();
    let first = ack_text(&post_at(&app, "/slack/commands", &body, ts, &[]).await);
    assert!(first.starts_with("Looking up"), "{first}");
    let replay = ack_text(&post_at(&app, "/slack/commands", &body, ts, &[]).await);
    assert_eq!(replay, first, "the same answer, naming the same case");

    // Both duplicate checks went out after the answers and wait on Redis.
    // Released well inside the store's 1 s per call, so neither check
    // times out (and fails open).
    let mut held = String::new();
    for _ in 0..100 {
        held = proxy.held_text();
        if held.matches("delivery:").count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    proxy.release();
    assert_eq!(
        held.matches("delivery:").count(),
        2,
        "both deliveries' checks were waiting on Redis after their answers: {held}"
    );

    app.slack.wait_for("chat.postMessage", 2).await; // the card and its thread
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(cards(&app), 1, "two deliveries, one lookup");
    assert_eq!(lookups_requested(&app).await, 1, "one lookup audited");
    let case = first
        .split('`')
        .find(|part| part.starts_with("case_"))
        .expect("the answer names the case");
    let card = app.slack.calls_to("chat.postMessage")[0].body.to_string();
    assert!(card.contains(case), "the card is the answer's case {case}");
}

/// Waits until `/readyz` is 200 (Redis answers through the proxy).
async fn wait_ready(app: &TestApp) {
    for _ in 0..300 {
        if app.get("/readyz").await.status == 200 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("Redis never answered through the proxy");
}

/// The answers posted to `url`, once at least `least` came (up to 15 s).
async fn answers_at(app: &TestApp, url: &str, least: usize) -> Vec<String> {
    let path = url
        .split_once("/response/")
        .map(|(_, p)| format!("/response/{p}"))
        .unwrap_or_default();
    let mut answers = Vec::new();
    for _ in 0..300 {
        answers = app
            .slack
            .calls_to("response_url")
            .into_iter()
            .filter(|c| c.path == path)
            .map(|c| c.body["text"].as_str().unwrap_or_default().to_owned())
            .collect();
        if answers.len() >= least {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    answers
}

#[tokio::test]
async fn trim_keeps_recent_entries_that_actions_in_flight_may_read() {
    let store = test_store().await;
    ten_entries(&store).await; // written "in 2023"
    let case = CaseId::from_random(0xc33);
    let approver = SlackUserId::parse(APPROVER_1).expect("id");
    let events: [AuditEvent; 2] = [
        ApprovalGranted { still_needed: 1 }.into(),
        crate::fixtures::bare_intent(&approver).into(),
    ];
    for event in events {
        let entry = NewEntry::new(event, Actor::System, now_ts())
            .for_case(case.clone())
            .on_action("a1");
        store.append_audit(entry).await.expect("append");
    }
    let (code, out, err) = cli(&store, &["audit", "trim", "--until", "12"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("trimmed 10 entries, seq 1 to 10"), "{out}");
    assert!(
        out.contains("kept seq 11 and after") && out.contains("48 hours"),
        "{out}"
    );
    let kinds: Vec<AuditKind> = store
        .audit_trail(&case)
        .await
        .expect("trail")
        .into_iter()
        .map(|(_, e)| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [AuditKind::ApprovalGranted, AuditKind::ExecutionIntent],
        "the intent is still there for the reconciler"
    );
    let (code, out, _) = cli(&store, &["audit", "verify"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("2 entries verified after the anchor at seq 10"),
        "{out}"
    );
}
