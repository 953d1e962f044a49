//! Exactly-once refunds, and the hand-over of an action between replicas:
//! under every fault between the bot and Stripe or Redis, the records match
//! what Stripe did. Stripe is localstripe behind the fault proxy
//! (`stripe_faults`), which also emulates Stripe's idempotency keys since
//! localstripe ignores them; Redis is cut at each step of an approval through
//! `redis_faults` (before the intent, with the intent's answer lost, at the
//! charge check, after the Stripe call, before the record; `approvals` covers
//! a cut before the click). Each test ends by checking that exactly the
//! refunds Stripe made for the case are recorded as made, on the action's
//! state, the audit and the card, and that `audit verify` passes.

use crate::fixtures::{
    audit_kinds, put_case, refund_case_for, refunds_in_localstripe, seeded_charge, status,
    stripe_script, value,
};
use crate::helpers::*;
use crate::localstripe::{self, LocalStripe};
use crate::stripe_faults::{Fault, StripeFaults};
use billing_triage::audit::{AuditEvent, AuditKind};
use billing_triage::domain::*;
use billing_triage::store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Waits until the action is `Succeeded` or `Failed`.
pub(crate) async fn settled(store: &Store, case: &Case, key: &str) -> ActionStatus {
    for _ in 0..400 {
        let s = status(store, case, key).await;
        if matches!(
            s,
            ActionStatus::Succeeded { .. } | ActionStatus::Failed { .. }
        ) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "action {key} never settled: {:?}",
        status(store, case, key).await
    );
}

/// The refunds localstripe holds that name `case` in their metadata.
pub(crate) async fn refunds_of_case(
    stripe: &LocalStripe,
    charge: &str,
    case: &Case,
) -> Vec<String> {
    refunds_in_localstripe(stripe, charge)
        .await
        .iter()
        .filter(|r| r["metadata"]["case_id"] == case.id.as_str())
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect()
}

/// The records say what Stripe did: exactly the case's refunds on Stripe
/// are recorded as made (state, audit, card), and the audit chain verifies.
pub(crate) async fn assert_records_match_stripe(
    store: &Store,
    slack: &SlackStandIn,
    stripe: &LocalStripe,
    charge: &str,
    case: &Case,
) {
    let made = refunds_of_case(stripe, charge, case).await;
    let state = settled(store, case, "a2").await;
    let trail = store.audit_trail(&case.id).await.expect("trail");
    let results: Vec<_> = trail
        .iter()
        .filter(|(_, e)| {
            e.action.as_deref() == Some("a2")
                && matches!(
                    e.kind,
                    AuditKind::ExecutionSucceeded | AuditKind::ExecutionFailed
                )
        })
        .collect();
    let last = results.last().expect("a recorded result").1.clone();
    match (&state, made.as_slice()) {
        (ActionStatus::Succeeded { stripe_ids, .. }, [refund]) => {
            assert_eq!(
                stripe_ids,
                &vec![refund.clone()],
                "the state names the refund Stripe made"
            );
            assert_eq!(last.kind, AuditKind::ExecutionSucceeded);
            assert_eq!(
                last.stripe_ids,
                vec![refund.clone()],
                "the audit names the refund Stripe made"
            );
            let card = card_showing(slack, refund).await;
            assert!(card.contains("Done"), "the card says it is done: {card}");
        }
        (ActionStatus::Failed { .. }, []) => {
            assert_eq!(last.kind, AuditKind::ExecutionFailed);
            card_showing(slack, "Failed").await;
        }
        (state, made) => {
            panic!("records and Stripe disagree: state {state:?}, refunds on Stripe {made:?}")
        }
    }
    assert_eq!(
        results
            .iter()
            .filter(|(_, e)| e.kind == AuditKind::ExecutionSucceeded)
            .count(),
        made.len(),
        "one success per refund made"
    );
    let n = store.verify_audit().await.expect("redis");
    assert!(n.is_ok(), "audit verify: {n:?}");
}

/// The newest card once it shows `text` (the card is redrawn after the
/// state is recorded); panics after 10 s with the last card.
pub(crate) async fn card_showing(slack: &SlackStandIn, text: &str) -> String {
    let mut card = String::new();
    for _ in 0..200 {
        card = slack
            .calls_to("chat.update")
            .last()
            .map(|c| c.body.to_string())
            .unwrap_or_default();
        if card.contains(text) {
            return card;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the card never showed {text:?}: {card}");
}

/// A message in the card's thread containing `text`; panics after 10 s.
pub(crate) async fn thread_message_containing(slack: &SlackStandIn, text: &str) -> String {
    for _ in 0..200 {
        let found = slack
            .calls_to("chat.postMessage")
            .into_iter()
            .filter(|m| m.body.get("thread_ts").is_some())
            .filter_map(|m| m.body["text"].as_str().map(str::to_owned))
            .find(|t| t.contains(text));
        if let Some(found) = found {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no thread message with {text:?}: {:#?}",
        slack.calls_to("chat.postMessage")
    );
}

/// localstripe with a seeded paid charge, the fault proxy in front, and a
/// refund case on that charge stored for `app`.
pub(crate) async fn refund_setup() -> (LocalStripe, StripeFaults, String, String, Money) {
    let stripe = localstripe::start().await;
    let (customer, charge, amount) = seeded_charge(&stripe.base_url()).await;
    let faults = StripeFaults::start(&stripe.direct_url()).await;
    (stripe, faults, customer, charge, amount)
}

#[tokio::test]
async fn a_lost_answer_after_stripe_refunded_is_confirmed_with_stripe_not_called_failed() {
    let (stripe, faults, customer, charge, amount) = refund_setup().await;
    let app = spawn_app(&faults.url).await;
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&app.store, &case, &statuses).await;
    faults.next("POST", "/v1/refunds", Fault::DropAnswer);

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    let made = refunds_of_case(&stripe, &charge, &case).await;
    assert_eq!(made.len(), 1, "Stripe refunded once");
    assert!(
        answer.contains(&made[0]) && answer.contains("confirmed with Stripe"),
        "{answer}"
    );
    assert!(!answer.to_lowercase().contains("failed"), "{answer}");
    let kinds = audit_kinds(&app.store, &case).await;
    for kind in [
        AuditKind::ExecutionVerifying,
        AuditKind::ExecutionConfirmed,
        AuditKind::ExecutionSucceeded,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} in {kinds:?}");
    }
    assert!(!kinds.contains(&AuditKind::ExecutionFailed), "{kinds:?}");
    assert_eq!(faults.seen("POST", "/v1/refunds")[0].outcome, "drop_answer");
    assert_records_match_stripe(&app.store, &app.slack, &stripe, &charge, &case).await;
    card_showing(&app.slack, "confirmed with Stripe").await;
}

#[tokio::test]
async fn after_a_500_stripe_is_asked_and_a_retry_by_another_approver_sends_the_same_request_under_a_new_key(
) {
    // Depends on the proxy's emulation of Stripe's idempotency: the saved 500
    // would be replayed for the first key, so only a new key can succeed.
    let (stripe, faults, customer, charge, amount) = refund_setup().await;
    let app = spawn_app(&faults.url).await;
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&app.store, &case, &statuses).await;
    faults.next("POST", "/v1/refunds", Fault::ServerError);

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(
        answer.contains("nothing happened") && answer.contains("Approve again"),
        "{answer}"
    );
    assert!(refunds_of_case(&stripe, &charge, &case).await.is_empty());
    assert_records_match_stripe(&app.store, &app.slack, &stripe, &charge, &case).await;

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_2)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.starts_with("Done"), "{answer}");
    let posts = faults.seen("POST", "/v1/refunds");
    assert_eq!(posts.len(), 2, "{posts:?}");
    let (first, second) = (&posts[0], &posts[1]);
    assert_eq!(
        (first.outcome, second.outcome),
        ("server_error", "forwarded")
    );
    assert_eq!(
        first.body, second.body,
        "the retry sends the identical request"
    );
    assert!(
        second
            .body
            .contains(&format!("metadata[approved_by]={APPROVER_1}")),
        "approvers fixed at the intent: {}",
        second.body
    );
    assert!(
        second
            .body
            .contains(&format!("metadata[case_id]={}", case.id))
            && second.body.contains("metadata[step]=refund:"),
        "{}",
        second.body
    );
    let first_key = first.idempotency_key.clone().expect("a key");
    assert_eq!(
        second.idempotency_key,
        Some(format!("{first_key}:attempt2")),
        "a new key only after Stripe confirmed nothing happened"
    );
    let trail = app.store.audit_trail(&case.id).await.expect("trail");
    let intents: Vec<_> = trail
        .iter()
        .filter(|(_, e)| e.kind == AuditKind::ExecutionIntent)
        .collect();
    assert_eq!(intents.len(), 2);
    assert_eq!(
        intents[1].1.actor,
        Actor::Slack(SlackUserId::parse(APPROVER_2).expect("id")),
        "who retried is in the audit"
    );
    let Ok(AuditEvent::ExecutionIntent(intent)) = intents[1].1.event() else {
        panic!("an intent: {:?}", intents[1].1);
    };
    assert_eq!(intent.attempt, 2);
    assert_records_match_stripe(&app.store, &app.slack, &stripe, &charge, &case).await;
}

#[tokio::test]
async fn a_reset_connection_is_checked_with_stripe_and_the_next_approval_refunds_once() {
    let (stripe, faults, customer, charge, amount) = refund_setup().await;
    let app = spawn_app(&faults.url).await;
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&app.store, &case, &statuses).await;
    faults.next("POST", "/v1/refunds", Fault::Reset);

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.contains("nothing happened"), "{answer}");
    assert_records_match_stripe(&app.store, &app.slack, &stripe, &charge, &case).await;

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    assert!(app.answer_at(&url).await.starts_with("Done"));
    assert_records_match_stripe(&app.store, &app.slack, &stripe, &charge, &case).await;
}

#[tokio::test]
async fn a_hung_request_is_timed_out_checked_with_stripe_and_reported_as_nothing_happened() {
    let (stripe, faults, customer, charge, amount) = refund_setup().await;
    let app = spawn_app(&faults.url).await;
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&app.store, &case, &statuses).await;
    faults.next("POST", "/v1/refunds", Fault::Hang);

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    // The bot's own Stripe timeout (20 s) ends the wait; answer_at waits 15 s.
    let mut answer = None;
    for _ in 0..4 {
        let found = app
            .slack
            .calls_to("response_url")
            .into_iter()
            .find(|c| url.ends_with(&c.path));
        if let Some(call) = found {
            answer = call.body["text"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let answer = answer.expect("the approver is told");
    assert!(answer.contains("nothing happened"), "{answer}");
    assert!(audit_kinds(&app.store, &case)
        .await
        .contains(&AuditKind::ExecutionVerifying));
    assert_records_match_stripe(&app.store, &app.slack, &stripe, &charge, &case).await;
}

/// Where Redis is cut during an approval (see also `redis_cut_at_the_intent`).
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// After the intent, when the bot reads the charge before refunding.
    AtTheChargeCheck,
    /// After Stripe committed the refund, before its answer arrives.
    AfterStripeCall,
    /// Stripe answered; the step's record is the command that is cut.
    BeforeTheRecord,
}

/// Cuts Redis at `cut`; the approver is told what Stripe did; this replica
/// stops (announcing its exit) and the next one finishes the record at once
/// from what Stripe says.
async fn redis_cut_is_finished_by_the_next_replica(cut: Cut) {
    let (stripe, faults, customer, charge, amount) = refund_setup().await;
    let proxy = crate::redis_faults::RedisTrip::start().await;
    let slack = SlackStandIn::start().await;
    let prefix = unique_prefix();
    let mut config = test_config(&faults.url, &slack, &prefix);
    config.redis_url = proxy.url.clone();
    let direct = Store::new(&redis_url(), &prefix).expect("url");
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&direct, &case, &statuses).await;
    let first = spawn_with(config, slack, direct.clone()).await;
    let cutter = proxy.clone();
    let hook: crate::stripe_faults::Hook = Arc::new(move || cutter.cut());
    match cut {
        Cut::AtTheChargeCheck => faults.next("GET", "/v1/charges/", Fault::Before(hook)),
        Cut::AfterStripeCall => faults.next("POST", "/v1/refunds", Fault::AfterCommit(hook)),
        // The step's record is the first HSET (the plan and states use SET).
        Cut::BeforeTheRecord => proxy.arm("HSET", crate::redis_faults::Trip::Before),
    }

    let (_, url) = first
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = first.answer_at(&url).await;
    let made = refunds_of_case(&stripe, &charge, &case).await;
    assert_eq!(made.len(), 1, "{cut:?}: Stripe refunded once");
    assert!(
        answer.contains(&made[0]) && answer.contains("Do not redo it by hand"),
        "{cut:?}: the approver is told what Stripe did: {answer}"
    );
    assert!(!answer.to_lowercase().contains("failed"), "{answer}");
    let owner = match status(&direct, &case, "a2").await {
        ActionStatus::Executing {
            owner: Some(owner), ..
        } => owner,
        other => panic!("{cut:?}: expected executing with an owner, got {other:?}"),
    };

    // Redis returns; the replica stops and announces its exit.
    proxy.restore();
    drop(first);
    for _ in 0..200 {
        if direct.is_gone(&owner).await.expect("redis") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        direct.is_gone(&owner).await.expect("redis"),
        "the stopped replica announced its exit"
    );

    // The next replica takes it over at once (no lease wait) from Stripe's state.
    let slack = SlackStandIn::start().await;
    let second = spawn_with(
        test_config(&faults.url, &slack, &prefix),
        slack,
        direct.clone(),
    )
    .await;
    let state = settled(&direct, &case, "a2").await;
    assert!(
        matches!(state, ActionStatus::Succeeded { .. }),
        "{cut:?}: {state:?}"
    );
    assert_records_match_stripe(&direct, &second.slack, &stripe, &charge, &case).await;
    assert_eq!(
        faults.seen("POST", "/v1/refunds").len(),
        1,
        "{cut:?}: the refund was not sent again"
    );
    thread_message_containing(&second.slack, &format!("refunded {}", made[0])).await;
    assert!(audit_kinds(&direct, &case)
        .await
        .contains(&AuditKind::ExecutionReconciled));
}

#[tokio::test]
async fn redis_cut_at_the_charge_check_is_finished_from_stripe_by_the_next_replica() {
    redis_cut_is_finished_by_the_next_replica(Cut::AtTheChargeCheck).await;
}

#[tokio::test]
async fn redis_cut_before_the_record_is_finished_from_stripe_by_the_next_replica() {
    redis_cut_is_finished_by_the_next_replica(Cut::BeforeTheRecord).await;
}

#[tokio::test]
async fn redis_cut_after_the_stripe_call_is_finished_from_stripe_by_the_next_replica() {
    redis_cut_is_finished_by_the_next_replica(Cut::AfterStripeCall).await;
}

#[tokio::test]
async fn two_cases_on_one_charge_do_not_claim_each_others_refund() {
    let (stripe, faults, customer, charge, amount) = refund_setup().await;
    let app = spawn_app(&faults.url).await;
    let (first, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&app.store, &first, &statuses).await;
    let (second, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&app.store, &second, &statuses).await;

    let (_, url) = app
        .click("approve_action", &value(&first, "a2"), APPROVER_1)
        .await;
    assert!(app.answer_at(&url).await.starts_with("Done"));
    let theirs = refunds_of_case(&stripe, &charge, &first).await;
    assert_eq!(theirs.len(), 1);

    let (_, url) = app
        .click("approve_action", &value(&second, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(
        answer.contains("failed")
            && answer.contains(&theirs[0])
            && answer.contains("outside this action"),
        "{answer}"
    );
    assert!(matches!(
        status(&app.store, &second, "a2").await,
        ActionStatus::Failed { .. }
    ));
    assert!(
        !audit_kinds(&app.store, &second)
            .await
            .contains(&AuditKind::ExecutionSucceeded),
        "the second case claims nothing"
    );
    assert_eq!(
        refunds_in_localstripe(&stripe, &charge).await.len(),
        1,
        "one refund in all"
    );
    assert_records_match_stripe(&app.store, &app.slack, &stripe, &charge, &second).await;
}

#[tokio::test]
async fn a_dashboard_refund_is_shown_as_someone_elses_and_what_is_left_comes_from_stripe() {
    let (stripe, faults, customer, charge, amount) = refund_setup().await;
    // Someone refunds part of the charge in the dashboard (straight on localstripe).
    let key = StripeKey::parse("sk_test_localstripe").expect("key");
    let dashboard =
        billing_triage::stripe::StripeGateway::new(&key, &stripe.direct_url()).expect("gateway");
    let part = amount.with_minor(1000);
    let theirs = dashboard
        .refund(
            &ChargeId::parse(&charge).expect("id"),
            part,
            "dashboard-refund-1",
            &[],
        )
        .await
        .expect("dashboard refund");

    let app = spawn_app(&faults.url).await;
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&app.store, &case, &statuses).await;
    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    let left = amount.with_minor(amount.minor - 1000);
    assert!(
        answer.contains(&format!("only {left} is left")),
        "what is left comes from Stripe: {answer}"
    );
    assert!(
        answer.contains(&format!("{theirs} ({part})")) && answer.contains("outside this action"),
        "{answer}"
    );
    assert!(
        refunds_of_case(&stripe, &charge, &case).await.is_empty(),
        "the dashboard refund is not the case's"
    );
    assert_records_match_stripe(&app.store, &app.slack, &stripe, &charge, &case).await;
    let card = card_showing(&app.slack, "outside this action").await;
    assert!(
        card.contains(theirs.as_str()),
        "the card shows it as someone else's: {card}"
    );

    // The approver refunds what is left (a new attempt may change the amount).
    let reply = app
        .submit_view(
            "refund_amount",
            &value(&case, "a2"),
            "amount_block",
            "amount",
            &left.major_text(),
            APPROVER_2,
        )
        .await;
    assert_eq!(reply.status, 200);
    let state = settled_after(&app.store, &case, |s| {
        matches!(s, ActionStatus::Succeeded { .. })
    })
    .await;
    let shown = serde_json::to_string(&state).expect("state serialises");
    assert!(
        shown.contains(theirs.as_str()),
        "the dashboard refund is still shown: {shown}"
    );
    assert_eq!(refunds_in_localstripe(&stripe, &charge).await.len(), 2);
    assert_records_match_stripe(&app.store, &app.slack, &stripe, &charge, &case).await;
}

/// Waits until the action's state satisfies `done`.
async fn settled_after(
    store: &Store,
    case: &Case,
    done: impl Fn(&ActionStatus) -> bool,
) -> ActionStatus {
    for _ in 0..400 {
        let s = status(store, case, "a2").await;
        if done(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "never reached the expected state: {:?}",
        status(store, case, "a2").await
    );
}

#[tokio::test]
async fn an_outcome_stripe_cannot_be_asked_about_stays_verifying_until_the_next_replica_confirms_it(
) {
    let (stripe, faults, customer, charge, amount) = refund_setup().await;
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let first = spawn_with(
        test_config(&faults.url, &slack, store.prefix()),
        slack,
        store.clone(),
    )
    .await;
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&store, &case, &statuses).await;
    // The check before the refund passes; the refund's answer is lost; every
    // question to Stripe afterwards fails, however often it is asked (a
    // read's 5xx is retried within its budget).
    faults.next("GET", "/v1/charges/", Fault::Pass);
    faults.next("POST", "/v1/refunds", Fault::DropAnswer);
    faults.always("GET", "/v1/charges/", Fault::ServerError);

    let (_, url) = first
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    // Each of the three questions retries the 500s for a read's budget (6 s).
    let answer = first.answer_within(&url, Duration::from_secs(40)).await;
    assert!(
        answer.contains("did not answer clearly") && answer.contains("Do not redo it by hand"),
        "{answer}"
    );
    assert!(
        !answer.to_lowercase().contains("failed"),
        "nothing is called failed before Stripe says so: {answer}"
    );
    let ActionStatus::Verifying {
        owner: Some(owner), ..
    } = status(&store, &case, "a2").await
    else {
        panic!(
            "expected verifying: {:?}",
            status(&store, &case, "a2").await
        );
    };
    card_showing(&first.slack, "Checking with Stripe").await;

    drop(first);
    faults.lift("GET", "/v1/charges/");
    for _ in 0..200 {
        if store.is_gone(&owner).await.expect("redis") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let slack = SlackStandIn::start().await;
    let second = spawn_with(
        test_config(&faults.url, &slack, store.prefix()),
        slack,
        store.clone(),
    )
    .await;
    let state = settled(&store, &case, "a2").await;
    assert!(matches!(state, ActionStatus::Succeeded { .. }), "{state:?}");
    assert_records_match_stripe(&store, &second.slack, &stripe, &charge, &case).await;
    card_showing(&second.slack, "confirmed with Stripe").await;
    assert_eq!(
        faults.seen("POST", "/v1/refunds").len(),
        1,
        "verifying sends nothing"
    );
    let told = thread_message_containing(
        &second.slack,
        "finished after the replica running it stopped",
    )
    .await;
    assert!(told.contains("confirmed with Stripe"), "{told}");
}

/// A subscription as Stripe shows it: `status`, and metadata naming
/// `case`'s cancel step when `ours`.
fn subscription_json(status: &str, ours: Option<&Case>) -> String {
    let metadata = match ours {
        Some(case) => {
            serde_json::json!({ "case_id": case.id.as_str(), "action": "a2", "step": "cancel", "approved_by": APPROVER_1 })
        }
        None => serde_json::json!({}),
    };
    let mut sub = crate::pinned::subscription("sub_Cancel1", "cus_Approve1", status, 3900);
    sub["metadata"] = metadata;
    sub.to_string()
}

/// A refund case whose `a2` cancels `sub_Cancel1` now.
fn cancel_case() -> (Case, Vec<(ActionKey, ActionStatus)>) {
    let (mut case, statuses) = refund_case_for(
        "cus_Approve1",
        "ch_Unused1",
        Money::new(100, Currency::parse("eur").expect("eur")),
        3600,
    );
    let subscription = SubscriptionId::parse("sub_Cancel1").expect("id");
    case.actions[1].kind = ActionKind::CancelSubscription {
        subscription,
        at_period_end: false,
    };
    (case, statuses)
}

// localstripe drops metadata on subscription updates, so a cancellation's
// metadata can only be shown with a scripted Stripe.
#[tokio::test]
async fn a_cancellation_answered_500_but_done_on_stripe_is_confirmed_by_its_metadata() {
    let (case, statuses) = cancel_case();
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (script_case, script_reads) = (case.clone(), Arc::clone(&reads));
    let script: StripeScript = Arc::new(move |method: &str, path: &str| match (method, path) {
        // Active before the cancel; canceled with our metadata afterwards:
        // Stripe acted although it answered 500.
        ("GET", "/v1/subscriptions/sub_Cancel1") => {
            match script_reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => (200, subscription_json("active", None)),
                _ => (200, subscription_json("canceled", Some(&script_case))),
            }
        }
        ("POST", "/v1/subscriptions/sub_Cancel1") => {
            (200, subscription_json("active", Some(&script_case)))
        }
        ("DELETE", "/v1/subscriptions/sub_Cancel1") => (
            500,
            r#"{"error":{"type":"api_error","message":"Something went wrong"}}"#.to_owned(),
        ),
        _ => (
            404,
            r#"{"error":{"type":"invalid_request_error","message":"No such resource"}}"#.to_owned(),
        ),
    });
    let (base, calls) = scripted_stripe(script).await;
    let app = spawn_app(&base).await;
    put_case(&app.store, &case, &statuses).await;

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(
        answer.contains("sub_Cancel1 canceled (confirmed with Stripe after HTTP 500)"),
        "{answer}"
    );
    match settled(&app.store, &case, "a2").await {
        ActionStatus::Succeeded { stripe_ids, .. } => {
            assert_eq!(stripe_ids, vec!["sub_Cancel1".to_owned()])
        }
        other => panic!("{other:?}"),
    }
    let kinds = audit_kinds(&app.store, &case).await;
    assert!(
        kinds.contains(&AuditKind::ExecutionConfirmed)
            && !kinds.contains(&AuditKind::ExecutionFailed),
        "{kinds:?}"
    );
    let deletes = calls
        .lock()
        .expect("calls")
        .iter()
        .filter(|c| c.method == "DELETE" && c.path.contains("sub_Cancel1"))
        .count();
    assert_eq!(deletes, 1, "sent once");
    card_showing(&app.slack, "confirmed with Stripe").await;
    assert!(app.store.verify_audit().await.expect("redis").is_ok());
}

#[tokio::test]
async fn a_subscription_someone_else_canceled_is_not_claimed_nor_canceled_again() {
    let (case, statuses) = cancel_case();
    let script: StripeScript = Arc::new(move |method: &str, path: &str| match (method, path) {
        ("GET", "/v1/subscriptions/sub_Cancel1") => (200, subscription_json("canceled", None)),
        _ => (
            500,
            r#"{"error":{"type":"api_error","message":"not expected"}}"#.to_owned(),
        ),
    });
    let (base, calls) = scripted_stripe(script).await;
    let app = spawn_app(&base).await;
    put_case(&app.store, &case, &statuses).await;

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(
        answer.contains("sub_Cancel1 is canceled on Stripe, but not with this action's metadata"),
        "{answer}"
    );
    assert!(
        !answer.contains("sub_Cancel1 canceled"),
        "not claimed as ours: {answer}"
    );
    // Only this subscription's requests count: another test's "closed" port
    // may be this stand-in's (helpers::closed_port_url frees its port).
    let calls = calls.lock().expect("calls").clone();
    let writes: Vec<_> = calls
        .iter()
        .filter(|c| c.method != "GET" && c.path.contains("sub_Cancel1"))
        .collect();
    assert!(writes.is_empty(), "nothing sent to Stripe: {calls:?}");
    card_showing(&app.slack, "canceled elsewhere").await;
}

#[tokio::test]
async fn a_live_owners_action_waits_for_its_lease_and_a_gone_owners_is_taken_over_at_once() {
    let (base, calls) = scripted_stripe(stripe_script(false)).await;
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let (case, statuses) = refund_case_for(
        "cus_Approve1",
        "ch_Approve1",
        Money::new(3900, Currency::parse("eur").expect("eur")),
        3600,
    );
    put_case(&store, &case, &statuses).await;
    let approver = SlackUserId::parse(APPROVER_1).expect("id");
    let proposed = statuses
        .iter()
        .find(|(k, _)| k == "a2")
        .map(|(_, s)| s.clone())
        .expect("a2");
    let executing = ActionStatus::Executing {
        approved_by: vec![approver.clone()],
        at: now_ts(),
        owner: Some("inst_other".to_owned()),
    };
    assert!(store
        .transition(&case.id, &akey("a2"), &proposed, &executing)
        .await
        .expect("redis"));
    store
        .append_audit(
            billing_triage::audit::NewEntry::new(
                crate::fixtures::bare_intent(&approver),
                Actor::Slack(approver),
                now_ts(),
            )
            .for_case(case.id.clone())
            .on_action("a2")
            .with_stripe_ids(vec!["ch_Approve1".into()]),
        )
        .await
        .expect("audit");
    // The reconciler of another replica, called directly (no timing involved).
    let deps =
        billing_triage::startup::deps(&test_config(&base, &slack, store.prefix())).expect("deps");

    let n = billing_triage::workflow::reconcile::reconcile(&deps)
        .await
        .expect("reconcile");
    assert_eq!(n, 0, "the owner is alive and its lease runs");
    assert_eq!(status(&store, &case, "a2").await, executing);
    assert!(calls.lock().expect("calls").is_empty(), "Stripe untouched");

    store.announce_gone("inst_other").await.expect("redis");
    let n = billing_triage::workflow::reconcile::reconcile(&deps)
        .await
        .expect("reconcile");
    assert_eq!(n, 1, "taken over at once");
    match status(&store, &case, "a2").await {
        ActionStatus::Succeeded { stripe_ids, .. } => {
            assert_eq!(stripe_ids, vec!["re_Scripted1".to_owned()])
        }
        other => panic!("{other:?}"),
    }
    let posts = calls
        .lock()
        .expect("calls")
        .iter()
        .filter(|c| c.method == "POST")
        .count();
    assert_eq!(posts, 1);
    let trail = store.audit_trail(&case.id).await.expect("trail");
    let reconciled = trail
        .iter()
        .find(|(_, e)| e.kind == AuditKind::ExecutionReconciled)
        .expect("reconciled entry");
    let Ok(AuditEvent::ExecutionReconciled(reconciled)) = reconciled.1.event() else {
        panic!("a takeover: {:?}", reconciled.1);
    };
    assert_eq!(reconciled.owner.from_owner.as_deref(), Some("inst_other"));
    assert!(reconciled.owner.owner_gone);
    assert_eq!(reconciled.resumed, Some(true));
}

#[tokio::test]
async fn an_idempotency_error_is_not_taken_as_a_refusal_but_checked_with_stripe() {
    // Stripe's `idempotency_error` means the key was used before: that
    // earlier request may have refunded, so only the charge can tell.
    let (case, statuses) = refund_case_for(
        "cus_Approve1",
        "ch_Approve1",
        Money::new(3900, Currency::parse("eur").expect("eur")),
        3600,
    );
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (case_id, script_reads) = (case.id.to_string(), Arc::clone(&reads));
    let script: StripeScript = Arc::new(move |method: &str, path: &str| {
        match (method, path) {
        ("GET", "/v1/charges/ch_Approve1") => {
            let refunds = match script_reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Vec::new(),
                _ => {
                    let mut refund = crate::pinned::refund("re_Earlier1", "ch_Approve1", 3900,
                        serde_json::json!({ "case_id": case_id, "action": "a2", "step": "refund:ch_Approve1" }));
                    refund["created"] = 1_700_000_100.into();
                    vec![refund]
                }
            };
            (200, crate::pinned::charge("ch_Approve1", "cus_Approve1", 3900, refunds).to_string())
        }
        ("POST", "/v1/refunds") => (400, r#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with"}}"#.to_owned()),
        _ => (404, r#"{"error":{"type":"invalid_request_error","message":"No such resource"}}"#.to_owned()),
    }
    });
    let (base, _) = scripted_stripe(script).await;
    let app = spawn_app(&base).await;
    put_case(&app.store, &case, &statuses).await;

    let (_, url) = app
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(
        answer.contains("refunded re_Earlier1")
            && answer.contains("confirmed with Stripe after HTTP 400"),
        "{answer}"
    );
    assert!(matches!(
        settled(&app.store, &case, "a2").await,
        ActionStatus::Succeeded { .. }
    ));
}

/// Cuts Redis at the intent's audit append (before it reaches Redis, or
/// with its answer lost); the replica stops, and the next one settles it
/// from the audit and Stripe.
async fn redis_cut_at_the_intent(trip: crate::redis_faults::Trip) {
    let (stripe, faults, customer, charge, amount) = refund_setup().await;
    let proxy = crate::redis_faults::RedisTrip::start().await;
    let slack = SlackStandIn::start().await;
    let prefix = unique_prefix();
    let mut config = test_config(&faults.url, &slack, &prefix);
    config.redis_url = proxy.url.clone();
    let direct = Store::new(&redis_url(), &prefix).expect("url");
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&direct, &case, &statuses).await;
    let first = spawn_with(config, slack, direct.clone()).await;
    proxy.arm("execution_intent", trip);

    let (_, url) = first
        .click("approve_action", &value(&case, "a2"), APPROVER_1)
        .await;
    let answer = first.answer_at(&url).await;
    assert!(
        proxy.tripped(),
        "{trip:?}: Redis was cut at the intent: {answer}"
    );
    assert!(
        answer.contains("nothing has been sent to Stripe yet"),
        "{trip:?}: {answer}"
    );
    assert!(
        faults.seen("POST", "/v1/refunds").is_empty(),
        "{trip:?}: no refund without a recorded intent"
    );
    let ActionStatus::Executing {
        owner: Some(owner), ..
    } = status(&direct, &case, "a2").await
    else {
        panic!(
            "{trip:?}: expected executing: {:?}",
            status(&direct, &case, "a2").await
        );
    };

    proxy.restore();
    drop(first);
    for _ in 0..200 {
        if direct.is_gone(&owner).await.expect("redis") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let slack = SlackStandIn::start().await;
    let second = spawn_with(
        test_config(&faults.url, &slack, &prefix),
        slack,
        direct.clone(),
    )
    .await;
    let state = settled(&direct, &case, "a2").await;
    match trip {
        // No intent in the audit: Stripe was never called; approve again.
        crate::redis_faults::Trip::Before => {
            assert!(
                matches!(&state, ActionStatus::Failed { error, .. } if error.contains("interrupted before Stripe")),
                "{state:?}"
            )
        }
        // The intent is in the audit: the approved refund is carried out once.
        crate::redis_faults::Trip::After => {
            assert!(matches!(state, ActionStatus::Succeeded { .. }), "{state:?}")
        }
    }
    assert_records_match_stripe(&direct, &second.slack, &stripe, &charge, &case).await;
    assert!(faults.seen("POST", "/v1/refunds").len() <= 1);
}

#[tokio::test]
async fn redis_cut_before_the_intent_is_written_fails_the_action_without_a_stripe_call() {
    redis_cut_at_the_intent(crate::redis_faults::Trip::Before).await;
}

#[tokio::test]
async fn redis_cut_after_the_intent_is_written_but_its_answer_lost_runs_the_refund_once() {
    redis_cut_at_the_intent(crate::redis_faults::Trip::After).await;
}
