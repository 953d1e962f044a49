//! The operator in control (issue 9 parts 1 and 2): the shortcut's card in
//! the triaged message's thread, a card per customer a message names, and
//! context on every lookup. Signed Slack-shaped requests, localstripe, the
//! Slack stand-in, real Redis.

use crate::helpers::*;
use crate::localstripe;
use crate::lookup::{case_id_of, scenario, seeded};

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

/// The case cards (posts with blocks) among the calls.
fn cards(calls: &[SlackCall]) -> Vec<serde_json::Value> {
    calls
        .iter()
        .filter(|c| c.body["blocks"].as_array().is_some_and(|b| !b.is_empty()))
        .map(|c| c.body.clone())
        .collect()
}

#[tokio::test]
async fn the_shortcuts_card_draft_and_gap_note_go_in_the_messages_thread() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let product = scenario(&seeded, "product failure or broken trust");
    let app = spawn_app(&stripe.base_url()).await;
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
        location.ts, "1700000000.000200",
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
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let team = scenario(&seeded, "genuine multi-seat / team intent");
    let failed = scenario(&seeded, "failed payment / incomplete checkout");
    let app = spawn_app(&stripe.base_url()).await;
    // The email comes first in the text; the customer id is the more trusted.
    let text = format!(
        "Forwarding from {}: our colleague's account {} cannot pay either",
        failed.email, team.customer
    );
    let payload = shortcut(&app, &text, "1700000000.000200", None);
    assert_eq!(app.interact(&payload).await.status, 200);
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let card = cards(&posts).remove(0);
    let case = app
        .store
        .load_case(&case_id_of(&card))
        .await
        .expect("redis")
        .expect("stored");
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
        .find(|e| e["action_id"] == "look_up_named")
        .expect("a Look up button");
    assert_eq!(look_up["value"], failed.email.as_str());

    // Clicking it posts the other customer's card in the same thread.
    let click = serde_json::json!({
        "type": "block_actions", "user": {"id": REQUESTER}, "trigger_id": "9.9.9",
        "team": {"id": "T0001"}, "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": "1700000000.000900", "channel_id": CHANNEL},
        "message": {"type": "message", "ts": "1700000000.000900", "thread_ts": "1700000000.000200", "text": "case card"},
        "response_url": app.slack.response_url(),
        "actions": [{"type": "button", "action_id": "look_up_named", "block_id": "look_ups",
                     "value": look_up["value"], "action_ts": "1700000001.000001"}]
    });
    assert_eq!(app.interact(&click).await.status, 200);
    let posts = app.slack.wait_for("chat.postMessage", 4).await;
    let second = cards(&posts[2..]).remove(0);
    assert_eq!(second["thread_ts"], "1700000000.000200", "{second:#}");
    let other = app
        .store
        .load_case(&case_id_of(&second))
        .await
        .expect("redis")
        .expect("stored");
    assert_eq!(other.snapshot.customers[0].id, failed.customer);
}
