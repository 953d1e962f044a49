//! Approve / reject on a case card: policy refusals, write-ahead execution,
//! failures and retries, Redis outages, modal validation. The case is put
//! in Redis as the lookup would leave it; Stripe is a scripted stand-in
//! that records every request, so "no Stripe call" is checked, not assumed.

use crate::fixtures::*;
use crate::helpers::*;
use crate::localstripe;
use billing_triage::audit::{AuditEvent, AuditKind};
use billing_triage::domain::*;
use billing_triage::store::Store;

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("eur").expect("eur"))
}

/// A product-failure case with a portal link, a refund and a close.
fn refund_case(expires_in: i64) -> (Case, Vec<(ActionKey, ActionStatus)>) {
    refund_case_for("cus_Approve1", CHARGE, eur(3900), expires_in)
}

#[tokio::test]
async fn refusals_are_answered_audited_and_never_reach_stripe() {
    let (base, calls) = scripted_stripe(stripe_script(false)).await;
    let app = spawn_app(&base).await;
    let (case, statuses) = refund_case(3600);
    put_case(&app.store, &case, &statuses).await;

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), REQUESTER)
        .await;
    assert!(
        app.answer_at(&url).await.contains("another approver"),
        "self-approval refused"
    );

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), "U0OUTSIDE1")
        .await;
    assert!(
        app.answer_at(&url).await.contains("BILLING_APPROVERS"),
        "non-approver refused"
    );

    // Already resolved: the close ran; approving it again is refused.
    let (_, url) = app
        .click("approve_action", &value(&case, "a3"), APPROVER_1)
        .await;
    assert!(app.answer_at(&url).await.contains("Case closed"));
    let (_, url) = app
        .click("approve_action", &value(&case, "a3"), APPROVER_2)
        .await;
    assert!(
        app.answer_at(&url).await.contains("already done"),
        "resolved action refused"
    );

    // Expired: a case whose actions expired a minute ago.
    let (old, old_statuses) = refund_case(-60);
    put_case(&app.store, &old, &old_statuses).await;
    let (_, url) = app
        .click("approve_action", &value(&old, "a2"), APPROVER_1)
        .await;
    assert!(
        app.answer_at(&url).await.contains("expired"),
        "expired action refused"
    );
    assert!(matches!(
        status(&app.store, &old, "a2").await,
        ActionStatus::Expired { .. }
    ));

    let refusals = audit_kinds(&app.store, &case)
        .await
        .into_iter()
        .filter(|k| *k == AuditKind::ApprovalRefused)
        .count();
    assert_eq!(refusals, 3, "each refusal is audited");
    assert!(audit_kinds(&app.store, &old)
        .await
        .contains(&AuditKind::ApprovalRefused));
    assert!(
        calls.lock().expect("calls").is_empty(),
        "no Stripe call: {:?}",
        calls.lock().expect("calls")
    );
    assert!(matches!(
        status(&app.store, &case, "a2").await,
        ActionStatus::Proposed { .. }
    ));
}

#[tokio::test]
async fn a_stripe_500_is_checked_with_stripe_and_the_retry_runs_under_a_new_key() {
    // Stripe replays a saved 500 for the same key, so after Stripe confirms
    // that nothing happened the retry must use a new key.
    let (base, calls) = scripted_stripe(stripe_script(true)).await;
    let app = spawn_app(&base).await;
    let (case, statuses) = refund_case(3600);
    put_case(&app.store, &case, &statuses).await;

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(
        answer.contains("nothing happened") && answer.contains("Approve again"),
        "{answer}"
    );
    assert!(matches!(
        status(&app.store, &case, "a2").await,
        ActionStatus::Failed { .. }
    ));
    let updates = app.slack.wait_for("chat.update", 2).await;
    let card = updates.last().expect("an update").body.to_string();
    assert!(
        card.contains("nothing happened on Stripe") && card.contains("Retry"),
        "the card shows the failure and a retry: {card}"
    );
    let kinds = audit_kinds(&app.store, &case).await;
    for kind in [
        AuditKind::ExecutionIntent,
        AuditKind::ExecutionVerifying,
        AuditKind::ExecutionConfirmed,
        AuditKind::ExecutionFailed,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} in {kinds:?}");
    }

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_2)
        .await;
    let _ = app.answer_at(&url).await;
    let posts: Vec<StripeCall> = calls
        .lock()
        .expect("calls")
        .iter()
        .filter(|c| c.method == "POST")
        .cloned()
        .collect();
    assert_eq!(posts.len(), 2, "one refund attempt per approval: {posts:?}");
    assert!(posts.iter().all(|p| p.path == "/v1/refunds"), "{posts:?}");
    let first = posts[0]
        .idempotency_key
        .clone()
        .expect("mutations carry an idempotency key");
    let second = posts[1]
        .idempotency_key
        .clone()
        .expect("mutations carry an idempotency key");
    assert_eq!(
        second,
        format!("{first}:attempt2"),
        "the retry uses the next attempt's key"
    );
    let trail = app.store.audit_trail(&case.id).await.expect("trail");
    let intents: Vec<_> = trail
        .iter()
        .filter(|(_, e)| e.kind == AuditKind::ExecutionIntent)
        .collect();
    let Ok(AuditEvent::ExecutionIntent(intent)) = intents[1].1.event() else {
        panic!("an intent: {:?}", intents[1].1);
    };
    assert_eq!(
        (intent.attempt, intent.new_keys),
        (2, true),
        "the audit records the new key"
    );
    assert_eq!(intent.steps[0].idempotency_key, second);
}

#[tokio::test]
async fn redis_down_at_approval_means_no_stripe_call_and_the_next_click_works() {
    let (base, calls) = scripted_stripe(stripe_script(false)).await;
    let proxy = RedisProxy::start().await;
    let slack = SlackStandIn::start().await;
    let prefix = unique_prefix();
    let mut config = test_config(&base, &slack, &prefix);
    config.redis_url = proxy.url.clone();
    let direct = Store::new(&redis_url(), &prefix).expect("url");
    let (case, statuses) = refund_case(3600);
    put_case(&direct, &case, &statuses).await;
    let app = spawn_with(config, slack, direct.clone()).await;

    proxy.cut();
    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.contains("Redis"), "{answer}");
    assert!(
        calls.lock().expect("calls").is_empty(),
        "no Stripe call while Redis is down"
    );
    assert!(matches!(
        status(&direct, &case, "a2").await,
        ActionStatus::Proposed { .. }
    ));

    proxy.restore();
    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.contains("Done"), "{answer}");
    assert!(matches!(
        status(&direct, &case, "a2").await,
        ActionStatus::Succeeded { .. }
    ));
    let posts = calls
        .lock()
        .expect("calls")
        .iter()
        .filter(|c| c.method == "POST")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn partial_refund_over_what_is_left_and_empty_reasons_are_refused() {
    let (base, calls) = scripted_stripe(stripe_script(false)).await;
    let app = spawn_app(&base).await;
    let (case, statuses) = refund_case(3600);
    put_case(&app.store, &case, &statuses).await;
    let meta = value(&case, "a2");

    let reply = app
        .submit_view(
            "refund_amount",
            &meta,
            "amount_block",
            "amount",
            "100.00",
            APPROVER_1,
        )
        .await;
    let json = reply.json();
    assert_eq!(json["response_action"], "errors");
    assert!(
        json["errors"]["amount_block"]
            .as_str()
            .unwrap_or_default()
            .contains("EUR 39.00"),
        "{json}"
    );
    let reply = app
        .submit_view(
            "refund_amount",
            &meta,
            "amount_block",
            "amount",
            "abc",
            APPROVER_1,
        )
        .await;
    assert_eq!(reply.json()["response_action"], "errors");

    let reply = app
        .submit_view(
            "reject_reason",
            &meta,
            "reason_block",
            "reason",
            "   ",
            APPROVER_1,
        )
        .await;
    let json = reply.json();
    assert_eq!(json["response_action"], "errors");
    assert!(json["errors"]["reason_block"].is_string());
    assert!(calls.lock().expect("calls").is_empty());
    assert!(matches!(
        status(&app.store, &case, "a2").await,
        ActionStatus::Proposed { .. }
    ));

    // A partial refund within what is left runs for that amount.
    let reply = app
        .submit_view(
            "refund_amount",
            &meta,
            "amount_block",
            "amount",
            "10.00",
            APPROVER_1,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "", "an empty answer closes the modal");
    for _ in 0..200 {
        if matches!(
            status(&app.store, &case, "a2").await,
            ActionStatus::Succeeded { .. }
        ) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(matches!(
        status(&app.store, &case, "a2").await,
        ActionStatus::Succeeded { .. }
    ));
    let trail = app.store.audit_trail(&case.id).await.expect("trail");
    let intent = trail
        .iter()
        .find(|(_, e)| e.kind == AuditKind::ExecutionIntent)
        .expect("intent entry");
    let Ok(AuditEvent::ExecutionIntent(intent)) = intent.1.event() else {
        panic!("an intent: {:?}", intent.1);
    };
    assert_eq!(intent.amount_minor, Some(1000));
}

#[tokio::test]
async fn a_rejection_with_a_reason_is_recorded_and_shown() {
    let (base, calls) = scripted_stripe(stripe_script(false)).await;
    let app = spawn_app(&base).await;
    let (case, statuses) = refund_case(3600);
    put_case(&app.store, &case, &statuses).await;

    // The Reject button opens the reason modal.
    let _ = app
        .click("reject_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let opened = app.slack.wait_for("views.open", 1).await;
    assert_eq!(opened[0].body["view"]["callback_id"], "reject_reason");
    assert_eq!(
        opened[0].body["view"]["private_metadata"],
        value(&case, "a2")
    );

    let reply = app
        .submit_view(
            "reject_reason",
            &value(&case, "a2"),
            "reason_block",
            "reason",
            "customer keeps the plan",
            APPROVER_1,
        )
        .await;
    assert_eq!(reply.status, 200);
    let _ = app.slack.wait_for("chat.update", 1).await;
    match status(&app.store, &case, "a2").await {
        ActionStatus::Rejected { reason, .. } => assert_eq!(reason, "customer keeps the plan"),
        other => panic!("expected rejected, got {other:?}"),
    }
    assert!(audit_kinds(&app.store, &case)
        .await
        .contains(&AuditKind::ActionRejected));
    let ephemeral = app.slack.wait_for("chat.postEphemeral", 1).await;
    assert!(ephemeral[0].body["text"]
        .as_str()
        .unwrap_or_default()
        .contains("Rejected"));
    assert!(calls.lock().expect("calls").is_empty());
}

#[tokio::test]
async fn an_approved_refund_runs_once_updates_the_card_and_audits_intent_and_result() {
    let stripe = localstripe::start().await;
    let (customer, charge, amount) = seeded_charge(&stripe.base_url()).await;
    // Straight to localstripe, without the harness's idempotency replay: a
    // second refund would show.
    let app = spawn_app(&stripe.direct_url()).await;
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&app.store, &case, &statuses).await;

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.starts_with("Done"), "{answer}");

    let refunds = refunds_in_localstripe(&stripe, &charge).await;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"], amount.minor);
    let refund_id = refunds[0]["id"].as_str().expect("refund id").to_owned();
    assert_eq!(
        refunds[0]["metadata"]["case_id"],
        case.id.as_str(),
        "the refund names its case in Stripe"
    );
    assert_eq!(refunds[0]["metadata"]["approved_by"], APPROVER_1);

    let updates = app.slack.wait_for("chat.update", 1).await;
    let card = updates.last().expect("update").body.clone();
    let shown = card.to_string();
    assert!(
        shown.contains(&refund_id),
        "the card shows the Stripe refund id: {shown}"
    );
    assert!(
        !shown.contains(&format!("{}/a2", case.id)),
        "no buttons left on the done action"
    );

    let thread = app.slack.wait_for("chat.postMessage", 1).await;
    let draft = thread
        .iter()
        .find(|c| c.body.get("thread_ts").is_some())
        .expect("updated draft in the thread");
    assert!(
        draft.body["text"]
            .as_str()
            .unwrap_or_default()
            .contains(&amount.major_text()),
        "the draft states the amount refunded"
    );

    let kinds = audit_kinds(&app.store, &case).await;
    let intent = kinds
        .iter()
        .position(|k| *k == AuditKind::ExecutionIntent)
        .expect("intent");
    let done = kinds
        .iter()
        .position(|k| *k == AuditKind::ExecutionSucceeded)
        .expect("result");
    assert!(
        intent < done,
        "the intent is written before the result: {kinds:?}"
    );
    assert_eq!(
        app.store.verify_audit().await.expect("redis"),
        Ok(kinds.len() as u64)
    );
}

#[tokio::test]
async fn twenty_concurrent_approvals_on_two_replicas_make_one_refund() {
    let stripe = localstripe::start().await;
    let (customer, charge, amount) = seeded_charge(&stripe.base_url()).await;
    let first = spawn_app(&stripe.direct_url()).await;
    let slack = SlackStandIn::start().await;
    let config = test_config(&stripe.direct_url(), &slack, first.store.prefix());
    let second = spawn_with(config, slack, store_on(first.store.prefix()).await).await;
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&first.store, &case, &statuses).await;

    let settled = twenty_approvals([&first, &second], &case, "a2", [APPROVER_1, APPROVER_2]).await;
    assert!(matches!(settled, ActionStatus::Succeeded { .. }));
    assert_eq!(
        refunds_in_localstripe(&stripe, &charge).await.len(),
        1,
        "exactly one refund"
    );
    let kinds = audit_kinds(&first.store, &case).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == AuditKind::ExecutionSucceeded)
            .count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == AuditKind::ExecutionIntent)
            .count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        first.store.verify_audit().await.expect("redis"),
        Ok(kinds.len() as u64)
    );
}

#[tokio::test]
async fn the_audit_commands_show_a_trail_and_name_a_tampered_entry() {
    let (base, _) = scripted_stripe(stripe_script(false)).await;
    let app = spawn_app(&base).await;
    let (case, statuses) = refund_case(3600);
    put_case(&app.store, &case, &statuses).await;
    let (_, url) = app
        .click("approve_action", &value(&case, "a3"), APPROVER_1)
        .await;
    let _ = app.answer_at(&url).await;

    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_billing-triage"))
            .args(args)
            .env("REDIS_URL", redis_url())
            .env("REDIS_PREFIX", app.store.prefix())
            .output()
            .expect("the binary runs")
    };
    let out = run(&["audit", "show", case.id.as_str()]);
    assert!(out.status.success());
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("execution_intent") && shown.contains("execution_succeeded"),
        "{shown}"
    );

    let out = run(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Remove one entry from the middle of the stream.
    let trail = app.store.audit_trail(&case.id).await.expect("trail");
    let (victim, entry) = &trail[1];
    let mut conn = app.store.conn().await.expect("redis");
    let removed: i64 = redis::AsyncCommands::xdel(&mut conn, app.store.key("audit"), &[victim])
        .await
        .expect("XDEL");
    assert_eq!(removed, 1);
    let out = run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&(entry.seq + 1).to_string()),
        "names the first bad entry: {said}"
    );
}

#[tokio::test]
async fn the_reconciler_finishes_an_interrupted_action_and_fails_one_that_never_reached_stripe() {
    let (base, calls) = scripted_stripe(stripe_script(false)).await;
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let (case, statuses) = refund_case(3600);
    put_case(&store, &case, &statuses).await;
    let approver = SlackUserId::parse(APPROVER_1).expect("id");
    let stale = now_ts() - 200;
    for key in ["a2", "a3"] {
        let from = statuses
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, s)| s.clone())
            .expect("status");
        let to = ActionStatus::Executing {
            approved_by: vec![approver.clone()],
            at: stale,
            owner: None,
        };
        assert!(store
            .transition(&case.id, &akey(key), &from, &to)
            .await
            .expect("redis"));
    }
    // a2 got as far as its write-ahead intent; a3 did not.
    store
        .append_audit(
            billing_triage::audit::NewEntry::new(
                bare_intent(&approver),
                Actor::Slack(approver.clone()),
                stale,
            )
            .for_case(case.id.clone())
            .on_action("a2")
            .with_stripe_ids(vec![CHARGE.into()]),
        )
        .await
        .expect("audit");

    let config = test_config(&base, &slack, store.prefix());
    let app = spawn_with(config, slack, store.clone()).await;
    let a2 = wait_until_settled(&app.store, &case, "a2").await;
    assert!(matches!(a2, ActionStatus::Succeeded { .. }), "{a2:?}");
    let a3 = wait_until_settled(&app.store, &case, "a3").await;
    assert!(
        matches!(&a3, ActionStatus::Failed { error, .. } if error.contains("interrupted")),
        "{a3:?}"
    );
    let posts = calls
        .lock()
        .expect("calls")
        .iter()
        .filter(|c| c.method == "POST")
        .count();
    assert_eq!(posts, 1, "only the action with an intent reaches Stripe");
    assert!(audit_kinds(&app.store, &case)
        .await
        .contains(&AuditKind::ExecutionReconciled));
}
