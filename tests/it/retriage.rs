//! Add context's money-critical path: a proposal that an operator's added
//! context led to is approved by someone else; a re-triage never proposes a
//! refund of a charge that a refund on the card already acts on (chosen,
//! executing or done), and leaves that refund's state as it was; the record
//! and the new actions' states are written together, and the record keeps its
//! expiry.

use crate::fixtures::{
    context_submission, lookup_case, put_case, refund_case_for, refunds_in_localstripe, start,
    value, wait_until_settled, OUTAGE,
};
use crate::helpers::*;
use billing_triage::actions::choose::{targets, Target};
use billing_triage::assess::{assess, Intake};
use billing_triage::audit::{AuditEvent, RefusalCode};
use billing_triage::card::modals;
use billing_triage::domain::*;
use billing_triage::followup::FollowUpSettings;
use billing_triage::store::StoreError;

/// Submits the Add context modal as `user` and waits for the card update.
async fn add_context(app: &TestApp, case: &CaseId, kind: &str, text: &str, user: &str) -> Case {
    let updates = app.slack.calls_to("chat.update").len();
    let mut submission = context_submission(case, kind, text);
    submission["user"]["id"] = serde_json::json!(user);
    let reply = app.interact(&submission).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, ""));
    app.slack.wait_for("chat.update", updates + 1).await;
    stored(app, case).await
}

async fn stored(app: &TestApp, case: &CaseId) -> Case {
    app.store
        .load_case(case)
        .await
        .expect("redis")
        .expect("stored")
}

/// The charges `actions` refund.
fn refunded(actions: &[ProposedAction]) -> Vec<Target> {
    actions
        .iter()
        .flat_map(|a| targets(&a.kind))
        .filter(|t| matches!(t, Target::RefundOf(_)))
        .collect()
}

/// What the bot would propose for `case`'s words over its (fresh) snapshot
/// on its own: shows that a refund left out was left out by the re-triage.
fn proposed_alone(case: &Case) -> Vec<Target> {
    let fresh = assess(
        Intake {
            id: case.id.clone(),
            requested_by: case.requested_by.clone(),
            message: case.message.as_deref(),
            added: &case.context.messages,
            now: now_ts(),
        },
        case.snapshot.clone(),
        &FollowUpSettings::default(),
    );
    refunded(&fresh.actions)
}

fn slack_user(id: &str) -> SlackUserId {
    SlackUserId::parse(id).expect("user")
}

#[tokio::test]
async fn a_refund_proposed_from_an_approvers_added_context_needs_another_approver() {
    let (stripe, seeded, app) = start().await;
    let product = crate::fixtures::scenario(&seeded, "product failure or broken trust");
    let before = lookup_case(&app, &format!("lookup {}", product.customer), 0).await;
    assert!(refunded(&before.actions).is_empty(), "{:?}", before.actions);

    // An approver, not the case's requester, pastes the customer's words.
    let after = add_context(&app, &before.id, "customer_message", OUTAGE, APPROVER_1).await;
    let refund = after.actions[before.actions.len()..]
        .iter()
        .find(|a| matches!(a.kind, ActionKind::Refund(_)))
        .expect("the words add a refund")
        .clone();
    assert_eq!(
        refund.origin,
        Origin::PromptedBy(Actor::Slack(slack_user(APPROVER_1)))
    );
    let ActionKind::Refund(target) = &refund.kind else {
        unreachable!("found as a refund")
    };
    assert!(
        target.amount.minor <= 10_000,
        "one approver suffices: {target:?}"
    );
    let card = app
        .slack
        .calls_to("chat.update")
        .last()
        .expect("the card")
        .body
        .to_string();
    assert!(
        card.contains(&format!("proposed from context added by <@{APPROVER_1}>")),
        "{card}"
    );
    let told = app.slack.wait_for("chat.postEphemeral", 1).await;
    assert_eq!(told[0].body["user"], APPROVER_1);
    assert!(
        told[0].body["text"]
            .as_str()
            .is_some_and(|t| t.contains("another approver approves")),
        "{:#}",
        told[0].body
    );

    // They cannot approve it alone…
    let (_, url) = app
        .click("approve_action", &value(&after, &refund.key), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.contains("context you added"), "{answer}");
    let status = app
        .store
        .action_status(&after.id, &refund.key)
        .await
        .expect("redis");
    assert!(
        matches!(&status, Some(ActionStatus::Proposed { approvals, .. }) if approvals.is_empty()),
        "{status:?}"
    );
    let charge = target.charge.to_string();
    assert!(refunds_in_localstripe(&stripe, &charge).await.is_empty());
    let trail = app.store.audit_trail(&after.id).await.expect("redis");
    assert!(
        trail.iter().any(|(_, e)| matches!(
            e.event(),
            Ok(AuditEvent::ApprovalRefused(refused))
                if refused.reason.code() == Some(RefusalCode::PromptedIt)
        ) && e.actor == Actor::Slack(slack_user(APPROVER_1))),
        "the refusal is audited: {trail:?}"
    );

    // …another approver can.
    app.click("approve_action", &value(&after, &refund.key), APPROVER_2)
        .await;
    let settled = wait_until_settled(&app.store, &after, &refund.key).await;
    assert!(
        matches!(&settled, ActionStatus::Succeeded { approved_by, .. } if approved_by == &[slack_user(APPROVER_2)]),
        "{settled:?}"
    );
    let refunds = refunds_in_localstripe(&stripe, &charge).await;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["metadata"]["approved_by"], APPROVER_2);
}

/// Checks that Add context on `case` added no refund of `charge` and left
/// `key`'s action and state exactly as they were. `bot_alone`: whether the
/// bot, over Stripe's state now, would propose that refund by itself (so
/// only the re-triage's check keeps it off the card).
async fn adds_no_refund_of(
    app: &TestApp,
    before: &Case,
    key: &billing_triage::domain::ActionKey,
    charge: &ChargeId,
    bot_alone: bool,
) {
    let state = app
        .store
        .action_status(&before.id, key)
        .await
        .expect("redis")
        .expect("tracked");
    let after = add_context(
        app,
        &before.id,
        "customer_message",
        "Still no refund for the nine days of outage. Thanks,",
        REQUESTER,
    )
    .await;
    let of_charge = Target::RefundOf(charge.clone());
    assert_eq!(
        proposed_alone(&after).contains(&of_charge),
        bot_alone,
        "{:?}",
        after.actions
    );
    assert_eq!(after.actions[..before.actions.len()], before.actions[..]);
    assert!(
        !refunded(&after.actions[before.actions.len()..]).contains(&of_charge),
        "no second refund of {charge}: {:?}",
        after.actions
    );
    assert_eq!(
        app.store
            .action_status(&before.id, key)
            .await
            .expect("redis"),
        Some(state),
        "{key}'s state is untouched"
    );
}

#[tokio::test]
async fn add_context_proposes_no_refund_of_a_charge_a_chosen_executing_or_done_refund_acts_on() {
    let (stripe, seeded, app) = start().await;
    let product = crate::fixtures::scenario(&seeded, "product failure or broken trust");

    // A refund an operator chose (c1), awaiting approval.
    let bare = lookup_case(&app, &format!("lookup {}", product.customer), 0).await;
    let charge = bare
        .snapshot
        .charges()
        .find(|c| c.status == ChargeStatus::Succeeded)
        .expect("a paid charge")
        .clone();
    let code = format!("{}/refund:{}", bare.id, charge.id);
    let updates = app.slack.calls_to("chat.update").len();
    app.select("more_actions", &code, APPROVER_1).await;
    app.slack.wait_for("views.open", 1).await;
    let reply = app
        .submit_view(
            modals::CHOOSE_REFUND_CALLBACK,
            &code,
            modals::AMOUNT_BLOCK,
            modals::AMOUNT_INPUT,
            &charge.amount.major_text(),
            APPROVER_1,
        )
        .await;
    assert_eq!(reply.status, 200);
    app.slack.wait_for("chat.update", updates + 1).await;
    let chosen = stored(&app, &bare.id).await;
    assert_eq!(chosen.actions.last().map(|a| a.key.as_str()), Some("c1"));
    adds_no_refund_of(&app, &chosen, &akey("c1"), &charge.id, true).await;

    // A proposed refund another replica is running.
    let (case, key, proposed) = with_proposed_refund(&app, product, &charge.id).await;
    let executing = ActionStatus::Executing {
        approved_by: vec![slack_user(APPROVER_2)],
        at: now_ts(),
        owner: Some("another-replica".to_owned()),
    };
    assert!(app
        .store
        .transition(&case.id, &key, &proposed, &executing)
        .await
        .expect("redis"));
    adds_no_refund_of(&app, &case, &key, &charge.id, true).await;

    // A proposed refund recorded as done while the snapshot does not show it
    // (Stripe's lists lag, or it is another replica's a moment ago): the
    // re-triage's check alone keeps a second one off the card.
    let (case, key, proposed) = with_proposed_refund(&app, product, &charge.id).await;
    let done = ActionStatus::Succeeded {
        approved_by: vec![slack_user(APPROVER_2)],
        at: now_ts(),
        stripe_ids: vec!["re_Elsewhere1".to_owned()],
        notes: vec![],
    };
    for (from, to) in [(&proposed, &executing), (&executing, &done)] {
        assert!(app
            .store
            .transition(&case.id, &key, from, to)
            .await
            .expect("redis"));
    }
    adds_no_refund_of(&app, &case, &key, &charge.id, true).await;

    // A proposed refund that really ran, for part of the charge: some is
    // left, and still no second refund of it is proposed.
    let (case, key, _) = with_proposed_refund(&app, product, &charge.id).await;
    let part = charge.amount.with_minor(100);
    let reply = app
        .submit_view(
            "refund_amount",
            &value(&case, &key),
            "amount_block",
            "amount",
            &part.major_text(),
            APPROVER_1,
        )
        .await;
    assert_eq!(reply.status, 200);
    let settled = wait_until_settled(&app.store, &case, &key).await;
    assert!(
        matches!(settled, ActionStatus::Succeeded { .. }),
        "{settled:?}"
    );
    let refunds = refunds_in_localstripe(&stripe, charge.id.as_str()).await;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    // (The bot proposes no refund of a charge refunded in part by itself.)
    adds_no_refund_of(&app, &case, &key, &charge.id, false).await;
}

/// A case looked up with the outage complaint, the key of its proposed
/// refund of `charge`, and that refund's state.
async fn with_proposed_refund(
    app: &TestApp,
    product: &billing_triage::stripe::sandbox::SeededCustomer,
    charge: &ChargeId,
) -> (Case, billing_triage::domain::ActionKey, ActionStatus) {
    let posts = app.slack.calls_to("chat.postMessage").len();
    let case = lookup_case(app, &format!("lookup {} {OUTAGE}", product.customer), posts).await;
    let key = case
        .actions
        .iter()
        .find(|a| targets(&a.kind).contains(&Target::RefundOf(charge.clone())))
        .expect("the refund is proposed")
        .key
        .clone();
    let status = app
        .store
        .action_status(&case.id, &key)
        .await
        .expect("redis")
        .expect("tracked");
    (case, key, status)
}

#[tokio::test]
async fn the_record_and_the_added_states_are_written_together_and_the_record_keeps_its_expiry() {
    let store = test_store().await;
    let (case, statuses) = refund_case_for("cus_Replace1", "ch_Replace1", eur(3900), 3600);
    put_case(&store, &case, &statuses).await;
    let mut conn = store.conn().await.expect("redis");
    let case_key = store.key(&format!("case:{}", case.id));
    let _: () = redis::AsyncCommands::expire(&mut conn, &case_key, 1000)
        .await
        .expect("EXPIRE");
    let first = ActionStatus::Proposed {
        approvals: vec![],
        expires_at: now_ts() + 3600,
    };
    let with = |read: &Case, key: &str| {
        let mut case = read.clone();
        case.actions.push(ProposedAction {
            key: akey(key),
            kind: ActionKind::ClarifyBillingModel,
            summary: "Explain".into(),
            rationale: "asked".into(),
            origin: Origin::PromptedBy(Actor::Slack(slack_user(APPROVER_1))),
        });
        case
    };

    let read = store
        .load_case_stored(&case.id)
        .await
        .expect("redis")
        .expect("stored");
    let updated = with(&read.case, "a4");
    assert!(store
        .replace_case(&read, &updated, &[(akey("a4"), first.clone())])
        .await
        .expect("redis"));
    assert_eq!(
        store
            .action_status(&case.id, &akey("a4"))
            .await
            .expect("redis"),
        Some(first.clone())
    );
    let record_ttl: i64 = redis::AsyncCommands::ttl(&mut conn, &case_key)
        .await
        .expect("TTL");
    assert!((1..=1000).contains(&record_ttl), "KEEPTTL: {record_ttl}");
    let state_ttl: i64 =
        redis::AsyncCommands::ttl(&mut conn, store.key(&format!("action:{}:a4", case.id)))
            .await
            .expect("TTL");
    assert!(
        (1..=1000).contains(&state_ttl),
        "the new state expires with its case: {state_ttl}"
    );

    // A writer that read the record before that change writes nothing:
    // neither the record nor its added state.
    let stale = with(&read.case, "a5");
    assert!(!store
        .replace_case(&read, &stale, &[(akey("a5"), first.clone())])
        .await
        .expect("redis"));
    assert_eq!(
        store
            .action_status(&case.id, &akey("a5"))
            .await
            .expect("redis"),
        None
    );
    assert_eq!(
        store.load_case(&case.id).await.expect("redis"),
        Some(updated.clone())
    );

    // An added key that already has a state: nothing is written.
    let read = store
        .load_case_stored(&case.id)
        .await
        .expect("redis")
        .expect("stored");
    let leftover = ActionStatus::Expired { at: now_ts() };
    store
        .init_actions(&case.id, &[(akey("a5"), leftover.clone())])
        .await
        .expect("redis");
    let result = store
        .replace_case(&read, &with(&read.case, "a5"), &[(akey("a5"), first)])
        .await;
    assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
    assert_eq!(
        store
            .action_status(&case.id, &akey("a5"))
            .await
            .expect("redis"),
        Some(leftover)
    );
    assert_eq!(
        store.load_case(&case.id).await.expect("redis"),
        Some(updated)
    );
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("eur").expect("eur"))
}
