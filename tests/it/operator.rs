//! The operator in control: the shortcut's card in the triaged message's
//! thread, a card per customer a message names, and context on every lookup.
//! Signed Slack-shaped requests, localstripe, the Slack stand-in, real Redis.

use crate::fixtures::*;
use crate::helpers::*;
use billing_triage::audit::AuditKind;
use billing_triage::domain::{ActionKind, ActionStatus, Actor, Category, SlackUserId, Triage};

/// The "Triage billing case" shortcut on a message, in Slack's shape.
fn shortcut(app: &TestApp, text: &str, ts: &str, thread_ts: Option<&str>) -> serde_json::Value {
    let mut message =
        serde_json::json!({"type": "message", "user": "U0CUSTOMER", "ts": ts, "text": text});
    if let Some(thread_ts) = thread_ts {
        message["thread_ts"] = serde_json::json!(thread_ts);
    }
    serde_json::json!({
        "type": "message_action", "callback_id": "triage_billing_case", "trigger_id": "1.2.3",
        "team": {"id": "T0001", "domain": "example"}, "user": {"id": REQUESTER, "name": "op"},
        "channel": {"id": CHANNEL, "name": "billing-ops"}, "response_url": app.slack.response_url(),
        "message": message
    })
}

#[tokio::test]
async fn the_shortcuts_card_draft_and_gap_note_go_in_the_messages_thread() {
    let (_stripe, seeded, app) = start().await;
    let product = scenario(&seeded, "product failure or broken trust");
    let text = format!(
        "Hi, this is {}. Your service was down for nine days and I want my money back",
        product.email
    );

    // A message at the top of the channel: its own thread.
    let payload = shortcut(&app, &text, "1700000000.000200", None);
    assert_eq!(app.interact(&payload).await.status, 200);
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    assert_eq!(cards(&posts).len(), 1, "{posts:#?}");
    for post in &posts {
        assert_eq!(
            post.body["thread_ts"], "1700000000.000200",
            "card, draft and gap note in the message's thread: {:#}",
            post.body
        );
    }
    let case_id = case_id_of(&cards(&posts)[0]);
    let case = app
        .store
        .load_case(&case_id)
        .await
        .expect("redis")
        .expect("stored");
    let thread_text: String = posts
        .iter()
        .map(|p| p.body["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(thread_text.contains("follow-up"), "{thread_text}");
    if let Some(gap) = &case.product_gap {
        assert!(thread_text.contains(&gap.surface), "{thread_text}");
    }
    let location = app
        .store
        .card_location(&case_id)
        .await
        .expect("redis")
        .expect("the card's place");
    assert_ne!(
        location.ts.as_str(),
        "1700000000.000200",
        "the card's own ts is kept, for chat.update"
    );

    // A reply inside a thread: the card joins that thread.
    let payload = shortcut(&app, &text, "1700000000.000400", Some("1700000000.000300"));
    assert_eq!(app.interact(&payload).await.status, 200);
    let posts = app.slack.wait_for("chat.postMessage", 4).await;
    for post in &posts[2..] {
        assert_eq!(
            post.body["thread_ts"], "1700000000.000300",
            "{:#}",
            post.body
        );
    }
}

#[tokio::test]
async fn a_message_naming_several_customers_gets_a_card_for_the_most_trusted_and_look_up_buttons() {
    let (_stripe, seeded, app) = start().await;
    let team = scenario(&seeded, "genuine multi-seat / team intent");
    let failed = scenario(&seeded, "failed payment / incomplete checkout");
    // The email comes first in the text; the customer id is the more trusted.
    let text = format!(
        "Forwarding from {}: our colleague's account {} cannot pay either",
        failed.email, team.customer
    );
    let payload = shortcut(&app, &text, "1700000000.000200", None);
    assert_eq!(app.interact(&payload).await.status, 200);
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let (card, case) = card_and_case(&app, &posts).await;
    assert_eq!(
        case.snapshot.customers[0].id, team.customer,
        "the card is for the cus_ id, not the email"
    );
    let shown = card.to_string();
    assert!(shown.contains(&failed.email), "the other is named: {shown}");
    let look_up = card["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| {
            e["action_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("look_up_named:"))
        })
        .expect("a Look up button");
    assert_eq!(look_up["value"], failed.email.as_str());

    // Clicking it posts the other customer's card in the same thread.
    let click = serde_json::json!({
        "type": "block_actions", "user": {"id": REQUESTER}, "trigger_id": "9.9.9",
        "team": {"id": "T0001"}, "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": "1700000000.000900", "channel_id": CHANNEL},
        "message": {"type": "message", "ts": "1700000000.000900", "thread_ts": "1700000000.000200", "text": "case card"},
        "response_url": app.slack.response_url(),
        "actions": [{"type": "button", "action_id": look_up["action_id"], "block_id": "look_ups",
                     "value": look_up["value"], "action_ts": "1700000001.000001"}]
    });
    assert_eq!(app.interact(&click).await.status, 200);
    let posts = app.slack.wait_for("chat.postMessage", 4).await;
    let (second, other) = card_and_case(&app, &posts[2..]).await;
    assert_eq!(second["thread_ts"], "1700000000.000200", "{second:#}");
    assert_eq!(other.snapshot.customers[0].id, failed.customer);
}

#[tokio::test]
async fn a_lookup_with_the_customers_words_is_triaged_with_them() {
    let (_stripe, seeded, app) = start().await;
    let product = scenario(&seeded, "product failure or broken trust");

    let bare = lookup_case(&app, &format!("lookup {}", product.customer), 0).await;
    assert!(
        matches!(bare.triage, Triage::NeedsReview { .. }),
        "{:?}",
        bare.triage
    );
    assert!(refunds(&bare).is_empty());

    let (reply, _) = app
        .slash(&format!("lookup {} {OUTAGE}", product.customer), REQUESTER)
        .await;
    assert!(
        reply.json()["text"]
            .as_str()
            .is_some_and(|t| t.contains("with the customer's message")),
        "{:?}",
        reply.json()
    );
    let posts = app.slack.wait_for("chat.postMessage", 4).await;
    let (card, case) = card_and_case(&app, &posts[2..]).await;
    assert!(
        matches!(
            case.triage,
            Triage::Classified {
                category: Category::ProductFailure,
                ..
            }
        ),
        "{:?}",
        case.triage
    );
    let refund = refunds(&case);
    let ActionKind::Refund(target) = &refund.first().expect("a refund is proposed").kind else {
        unreachable!("filtered on refunds");
    };
    assert!(
        case.snapshot.charges().any(|c| c.id == target.charge),
        "the refund is of a charge the state holds"
    );
    assert_eq!(case.message.as_deref(), Some(OUTAGE));
    assert_eq!(
        case.context.message_given_by,
        Some(Actor::Slack(SlackUserId::parse(REQUESTER).expect("user")))
    );
    let shown = card.to_string();
    assert!(
        shown.contains("Context given by") && shown.contains("nine days"),
        "{shown}"
    );
}

#[tokio::test]
async fn add_context_triages_again_in_place_and_keeps_an_action_already_run() {
    let (_stripe, seeded, app) = start().await;
    let product = scenario(&seeded, "product failure or broken trust");
    let before = lookup_case(&app, &format!("lookup {}", product.customer), 0).await;
    let close = before
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::CloseNoAction)
        .expect("a close proposal")
        .key
        .clone();
    let keys: Vec<billing_triage::domain::ActionKey> =
        before.actions.iter().map(|a| a.key.clone()).collect();

    // Someone runs an action first.
    app.click(
        "approve_action",
        &format!("{}/{close}", before.id),
        APPROVER_1,
    )
    .await;
    let mut run = None;
    for _ in 0..300 {
        let status = app
            .store
            .action_status(&before.id, &close)
            .await
            .expect("redis");
        if matches!(status, Some(ActionStatus::Succeeded { .. })) {
            run = status;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let run = run.expect("the close ran");
    let statuses_before = app
        .store
        .action_statuses(&before.id, &keys)
        .await
        .expect("redis");

    // Add context opens the modal…
    let (reply, _) = app
        .click("add_context", before.id.as_str(), REQUESTER)
        .await;
    assert_eq!(reply.status, 200);
    let opened = app.slack.wait_for("views.open", 1).await;
    assert_eq!(opened[0].body["view"]["callback_id"], "add_context");
    // …and its submission triages the case again.
    let updates_before = app.slack.calls_to("chat.update").len();
    let submission = context_submission(
        &before.id,
        "customer_message",
        &format!("{OUTAGE} Card 4242 4242 4242 4242"),
    );
    let reply = app.interact(&submission).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, ""));
    let updates = app.slack.wait_for("chat.update", updates_before + 1).await;
    let card = updates.last().expect("the card updated").body.clone();
    assert_eq!(card["channel"], CHANNEL);

    let after = app
        .store
        .load_case(&before.id)
        .await
        .expect("redis")
        .expect("stored");
    assert!(
        matches!(
            after.triage,
            Triage::Classified {
                category: Category::ProductFailure,
                ..
            }
        ),
        "{:?}",
        after.triage
    );
    assert_eq!(
        after.actions[..before.actions.len()],
        before.actions[..],
        "every action already on the card is kept as it was"
    );
    let added = &after.actions[before.actions.len()..];
    assert!(
        added
            .iter()
            .any(|a| matches!(a.kind, ActionKind::Refund(_))),
        "a refund is proposed now: {added:?}"
    );
    assert_eq!(
        app.store
            .action_statuses(&before.id, &keys)
            .await
            .expect("redis"),
        statuses_before,
        "the states of the actions already there are untouched"
    );
    assert_eq!(
        app.store
            .action_status(&before.id, &close)
            .await
            .expect("redis"),
        Some(run)
    );
    let added_keys: Vec<billing_triage::domain::ActionKey> =
        added.iter().map(|a| a.key.clone()).collect();
    let added_statuses = app
        .store
        .action_statuses(&before.id, &added_keys)
        .await
        .expect("redis");
    assert_eq!(
        added_statuses.len(),
        added_keys.len(),
        "each new one is tracked"
    );
    for (_, status) in added_statuses {
        assert!(
            matches!(status, ActionStatus::Proposed { .. }),
            "{status:?}"
        );
    }
    let shown = card.to_string();
    assert!(!shown.contains("4242 4242"), "scrubbed: {shown}");
    assert!(shown.contains("Context given by"), "{shown}");
    assert!(
        added_keys
            .iter()
            .all(|k| shown.contains(&format!("{}/{k}", before.id))),
        "the new proposals have buttons: {shown}"
    );

    let trail = app.store.audit_trail(&before.id).await.expect("redis");
    let kinds: Vec<AuditKind> = trail.iter().map(|(_, e)| e.kind).collect();
    assert!(kinds.contains(&AuditKind::ContextAdded), "{kinds:?}");
    assert!(kinds.contains(&AuditKind::CaseRetriaged), "{kinds:?}");
    let added_entry = trail
        .iter()
        .find(|(_, e)| e.kind == AuditKind::ContextAdded)
        .expect("the addition is audited");
    assert_eq!(
        added_entry.1.actor,
        Actor::Slack(SlackUserId::parse(REQUESTER).expect("user"))
    );
    assert!(!added_entry.1.detail.to_string().contains("4242 4242"));
}

#[tokio::test]
async fn notes_added_at_once_are_all_kept() {
    let (_stripe, seeded, app) = start().await;
    let product = scenario(&seeded, "product failure or broken trust");
    let case = lookup_case(&app, &format!("lookup {}", product.customer), 0).await;
    let notes: Vec<String> = (1..=4).map(|n| format!("note {n}")).collect();
    let replies = futures::future::join_all(notes.iter().map(|note| {
        let payload = context_submission(&case.id, "operator_note", note);
        let app = &app;
        async move { app.interact(&payload).await }
    }))
    .await;
    assert!(replies.iter().all(|r| r.status == 200));
    let mut kept = Vec::new();
    for _ in 0..300 {
        let stored = app
            .store
            .load_case(&case.id)
            .await
            .expect("redis")
            .expect("stored");
        kept = stored
            .context
            .notes
            .iter()
            .map(|n| n.text.clone())
            .collect();
        if kept.len() == notes.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    kept.sort();
    assert_eq!(kept, notes, "no addition overwrote another");
}
