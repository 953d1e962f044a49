//! "More actions…": an action an operator chose is stored on the case with
//! its first state in one compare-and-set, and then goes through the same
//! approvals, exactly-once execution and audit as a proposal.

use crate::fixtures::{
    audit_kinds, put_case, refund_case_for, refunds_in_localstripe, seeded_charge, stripe_script,
    twenty_approvals, value, wait_for_action,
};
use crate::helpers::*;
use crate::localstripe;
use billing_triage::actions::choose::{chosen_action, validate, Choice};
use billing_triage::audit::AuditKind;
use billing_triage::card::modals;
use billing_triage::domain::*;

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("eur").expect("eur"))
}

#[tokio::test]
async fn a_chosen_action_is_added_with_its_state_only_to_the_case_as_read() {
    let store = test_store().await;
    let (case, statuses) = refund_case_for("cus_Chosen1", "ch_Chosen1", eur(3900), 3600);
    put_case(&store, &case, &statuses).await;
    let chooser = SlackUserId::parse(APPROVER_1).expect("id");
    let read = store
        .load_case_stored(&case.id)
        .await
        .expect("redis")
        .expect("stored");
    let choice = Choice::Cancel {
        subscription: SubscriptionId::parse("sub_NotHere1").expect("id"),
        at_period_end: false,
    };
    assert!(
        validate(&read.case, &statuses, &choice, now_ts()).is_err(),
        "not this case's subscription"
    );
    // The bot's a2 already refunds this charge and is pending, so even a
    // partial refund of it is refused as a duplicate.
    let partial = Choice::Refund {
        charge: ChargeId::parse("ch_Chosen1").expect("id"),
        amount: Some(eur(1000)),
    };
    assert!(validate(&read.case, &statuses, &partial, now_ts()).is_err());

    let kind = ActionKind::CloseNoAction;
    let action = chosen_action(&read.case, kind, &chooser);
    let mut updated = read.case.clone();
    updated.actions.push(action.clone());
    let first = ActionStatus::Proposed {
        approvals: vec![],
        expires_at: now_ts() + 3600,
    };
    assert!(store
        .add_action(&read, &updated, &action.key, &first)
        .await
        .expect("redis"));
    // A second writer that read the case before the first one wrote loses.
    let mut other = read.case.clone();
    other.actions.push(chosen_action(
        &read.case,
        ActionKind::CloseNoAction,
        &chooser,
    ));
    assert!(!store
        .add_action(&read, &other, &akey("c1"), &first)
        .await
        .expect("redis"));
    let stored = store
        .load_case(&case.id)
        .await
        .expect("redis")
        .expect("case");
    assert_eq!(stored.actions.len(), 4);
    assert_eq!(stored.actions[3].origin, Origin::ChosenBy(chooser));
    assert_eq!(
        store
            .action_status(&case.id, &akey("c1"))
            .await
            .expect("redis"),
        Some(first)
    );
}

/// The case of `refund_case_for` without the bot's refund proposal: the
/// card offers a portal link and a close, and the charge only in "More actions…".
fn case_without_refund(
    customer: &str,
    charge: &str,
    amount: Money,
) -> (Case, Vec<(ActionKey, ActionStatus)>) {
    let (mut case, mut statuses) = refund_case_for(customer, charge, amount, 3600);
    case.actions.retain(|a| a.key != "a2");
    statuses.retain(|(k, _)| k != "a2");
    (case, statuses)
}

#[tokio::test]
async fn a_chosen_refund_the_bot_did_not_propose_needs_the_same_approvals_and_runs_once_under_20_concurrent_clicks(
) {
    let stripe = localstripe::start().await;
    let (customer, charge, amount) = seeded_charge(&stripe.base_url()).await;
    let first = spawn_app(&stripe.direct_url()).await;
    let slack = SlackStandIn::start().await;
    let config = test_config(&stripe.direct_url(), &slack, first.store.prefix());
    let second = spawn_with(config, slack, store_on(first.store.prefix()).await).await;
    let (case, statuses) = case_without_refund(&customer, &charge, amount);
    put_case(&first.store, &case, &statuses).await;

    // The menu: the refund asks for an amount in a modal.
    let (reply, _) = first
        .select(
            "more_actions",
            &format!("{}/refund:{charge}", case.id),
            APPROVER_1,
        )
        .await;
    assert_eq!(reply.status, 200);
    let opened = first.slack.wait_for("views.open", 1).await;
    let modal = &opened[0].body["view"];
    assert_eq!(modal["callback_id"], modals::CHOOSE_REFUND_CALLBACK);
    assert_eq!(
        modal["private_metadata"],
        format!("{}/refund:{charge}", case.id)
    );

    // Part of the charge, within the refund limit: one approver suffices.
    let chosen = amount.with_minor((amount.minor / 2).min(5000));
    let reply = first
        .submit_view(
            modals::CHOOSE_REFUND_CALLBACK,
            &format!("{}/refund:{charge}", case.id),
            modals::AMOUNT_BLOCK,
            modals::AMOUNT_INPUT,
            &chosen.major_text(),
            APPROVER_1,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty(), "the modal closes: {}", reply.body);
    let action = wait_for_action(&first.store, &case, "c1").await;
    assert_eq!(
        action.origin,
        Origin::ChosenBy(SlackUserId::parse(APPROVER_1).expect("id"))
    );
    assert_eq!(
        action.kind,
        ActionKind::Refund(RefundTarget {
            charge: ChargeId::parse(&charge).expect("id"),
            amount: chosen
        })
    );
    let updates = first.slack.wait_for("chat.update", 1).await;
    let card = updates.last().expect("an update").body.to_string();
    assert!(
        card.contains(&format!("chosen by <@{APPROVER_1}>")),
        "{card}"
    );
    assert!(
        card.contains(&format!("{}/c1", case.id)),
        "Approve / Reject: {card}"
    );

    // The chooser cannot approve it, nor can the case's requester.
    let (_, url) = first
        .click("approve_action", &value(&case, "c1"), APPROVER_1)
        .await;
    assert!(first
        .answer_at(&url)
        .await
        .contains("You chose this action"));
    let (_, url) = first
        .click("approve_action", &value(&case, "c1"), REQUESTER)
        .await;
    assert!(first.answer_at(&url).await.contains("another approver"));
    assert!(refunds_in_localstripe(&stripe, &charge).await.is_empty());

    // Another approver can; twenty clicks on two replicas make one refund.
    // (The chooser's clicks among them are refused.)
    let settled = twenty_approvals([&first, &second], &case, "c1", [APPROVER_2, APPROVER_1]).await;
    assert!(
        matches!(settled, ActionStatus::Succeeded { .. }),
        "{settled:?}"
    );
    let refunds = refunds_in_localstripe(&stripe, &charge).await;
    assert_eq!(refunds.len(), 1, "exactly one refund: {refunds:?}");
    assert_eq!(refunds[0]["amount"], chosen.minor);
    assert_eq!(refunds[0]["metadata"]["case_id"], case.id.as_str());
    assert_eq!(refunds[0]["metadata"]["action"], "c1");
    assert_eq!(refunds[0]["metadata"]["approved_by"], APPROVER_2);

    let kinds = audit_kinds(&first.store, &case).await;
    let count = |kind: AuditKind| kinds.iter().filter(|k| **k == kind).count();
    assert_eq!(count(AuditKind::ActionChosen), 1, "{kinds:?}");
    assert_eq!(count(AuditKind::ExecutionIntent), 1, "{kinds:?}");
    assert_eq!(count(AuditKind::ExecutionSucceeded), 1, "{kinds:?}");
    assert!(
        kinds.iter().position(|k| *k == AuditKind::ActionChosen)
            < kinds.iter().position(|k| *k == AuditKind::ExecutionIntent)
    );
    assert_eq!(
        first.store.verify_audit().await.expect("redis"),
        Ok(kinds.len() as u64)
    );
}

#[tokio::test]
async fn a_chosen_refund_above_what_is_left_or_of_a_disputed_charge_is_refused_with_the_reason() {
    let (base, calls) = scripted_stripe(stripe_script(false)).await;
    let app = spawn_app(&base).await;
    let (mut case, statuses) = case_without_refund("cus_Chosen2", "ch_Chosen2", eur(3900));
    let mut disputed = case.snapshot.customers[0].charges[0].clone();
    disputed.id = ChargeId::parse("ch_Disputed2").expect("id");
    disputed.disputed = true;
    case.snapshot.customers[0].charges.push(disputed);
    put_case(&app.store, &case, &statuses).await;

    // More than is left: refused under the amount, with the reason.
    let (_, _) = app
        .select(
            "more_actions",
            &format!("{}/refund:ch_Chosen2", case.id),
            APPROVER_1,
        )
        .await;
    app.slack.wait_for("views.open", 1).await;
    let reply = app
        .submit_view(
            modals::CHOOSE_REFUND_CALLBACK,
            &format!("{}/refund:ch_Chosen2", case.id),
            modals::AMOUNT_BLOCK,
            modals::AMOUNT_INPUT,
            "39.01",
            APPROVER_1,
        )
        .await;
    let json = reply.json();
    assert_eq!(json["response_action"], "errors");
    let reason = json["errors"][modals::AMOUNT_BLOCK]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("EUR 39.00 left to refund") && reason.contains("EUR 39.01"),
        "{reason}"
    );

    // A disputed charge: the menu does not offer it, and a crafted option is refused.
    let (_, url) = app
        .select(
            "more_actions",
            &format!("{}/refund:ch_Disputed2", case.id),
            APPROVER_1,
        )
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.contains("ch_Disputed2 is disputed"), "{answer}");
    assert_eq!(app.slack.calls_to("views.open").len(), 1, "no modal for it");

    for _ in 0..100 {
        let refused = audit_kinds(&app.store, &case)
            .await
            .into_iter()
            .filter(|k| *k == AuditKind::ApprovalRefused)
            .count();
        if refused == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let kinds = audit_kinds(&app.store, &case).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == AuditKind::ApprovalRefused)
            .count(),
        2,
        "both refusals audited: {kinds:?}"
    );
    assert!(!kinds.contains(&AuditKind::ActionChosen));
    let stored = app
        .store
        .load_case(&case.id)
        .await
        .expect("redis")
        .expect("case");
    assert_eq!(stored.actions.len(), case.actions.len(), "nothing added");
    assert!(
        calls.lock().expect("calls").is_empty(),
        "Stripe never called"
    );
}

#[tokio::test]
async fn a_chosen_cancellation_asks_now_or_at_period_end_and_lands_on_the_card() {
    let (base, calls) = scripted_stripe(stripe_script(false)).await;
    let app = spawn_app(&base).await;
    let (mut case, statuses) = case_without_refund("cus_Chosen3", "ch_Chosen3", eur(3900));
    let customer = case.snapshot.customers[0].id.clone();
    case.snapshot.customers[0].subscriptions.push(Subscription {
        id: SubscriptionId::parse("sub_Chosen3").expect("id"),
        customer,
        status: SubscriptionStatus::Active,
        created: now_ts() - 86_400,
        current_period_end: Some(now_ts() + 86_400),
        cancel_at_period_end: false,
        canceled_at: None,
        items: vec![],
        metadata: Default::default(),
        pause_collection: None,
    });
    put_case(&app.store, &case, &statuses).await;
    let metadata = format!("{}/cancel:sub_Chosen3", case.id);

    app.select("more_actions", &metadata, REQUESTER).await;
    let opened = app.slack.wait_for("views.open", 1).await;
    let radio = &opened[0].body["view"]["blocks"][1]["element"];
    assert_eq!(radio["type"], "radio_buttons");
    assert_eq!(radio["initial_option"]["value"], "period_end");

    let submit = |when: Option<&str>| {
        let state = match when {
            Some(when) => serde_json::json!({ modals::WHEN_BLOCK: { modals::WHEN_INPUT: {
                "type": "radio_buttons", "selected_option": {"text": {"type": "plain_text", "text": when}, "value": when}
            }}}),
            None => serde_json::json!({ modals::WHEN_BLOCK: { modals::WHEN_INPUT: {
                "type": "radio_buttons", "selected_option": null
            }}}),
        };
        view_submission(modals::CHOOSE_CANCEL_CALLBACK, &metadata, state, REQUESTER)
    };
    let reply = app.interact(&submit(None)).await;
    assert_eq!(
        reply.json()["errors"][modals::WHEN_BLOCK],
        "Pick now or at the end of the period"
    );
    let reply = app.interact(&submit(Some("period_end"))).await;
    assert_eq!(reply.status, 200);
    let action = wait_for_action(&app.store, &case, "c1").await;
    assert_eq!(
        action.kind,
        ActionKind::CancelSubscription {
            subscription: SubscriptionId::parse("sub_Chosen3").expect("id"),
            at_period_end: true
        }
    );
    assert_eq!(
        action.origin,
        Origin::ChosenBy(SlackUserId::parse(REQUESTER).expect("id"))
    );
    let told = app.slack.wait_for("chat.postEphemeral", 1).await;
    let text = told[0].body["text"].as_str().unwrap_or_default().to_owned();
    assert!(text.contains("Added to the card as c1"), "{text}");

    // The same cancellation again is a duplicate of the pending one.
    let (_, url) = app.select("more_actions", &metadata, APPROVER_1).await;
    let answer = app.answer_at(&url).await;
    assert!(answer.contains("c1 is already pending"), "{answer}");
    assert!(
        calls.lock().expect("calls").is_empty(),
        "nothing sent to Stripe"
    );
}
