//! `/billing lookup` end to end: signed slash command → acknowledgement →
//! localstripe snapshot → case card posted through the Slack stand-in, its
//! thread, the Redis records and the audit trail. Also the card's headings in
//! the playbook's order, in Slack and in the CLI's text.

use crate::fixtures::{card_of, case_id_of, scenario, seeded};
use crate::helpers::*;
use crate::localstripe;
use billing_triage::domain::ActionStatus;
use std::process::Stdio;

#[tokio::test]
async fn an_email_lookup_posts_a_duplicate_card_with_every_customer_and_a_threaded_draft() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let dup = scenario(&seeded, "duplicate personal subscription");
    let twin = scenario(&seeded, "second customer sharing the duplicate email");
    let app = spawn_app(&stripe.base_url()).await;

    let (reply, _) = app.slash(&format!("lookup {}", dup.email), REQUESTER).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["response_type"], "ephemeral");
    assert!(reply.json()["text"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Looking up"));

    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let card = card_of(&posts);
    assert_eq!(card["channel"], CHANNEL);
    assert!(
        card["text"].as_str().is_some_and(|t| !t.is_empty()),
        "a text fallback"
    );
    let blocks = card["blocks"].as_array().expect("Block Kit blocks");
    assert!(blocks.len() <= 50);
    assert_eq!(blocks[0]["type"], "header");
    let shown = card.to_string();
    assert!(shown.contains("Duplicate personal subscription"), "{shown}");
    assert!(
        shown.contains(dup.customer.as_str()) && shown.contains(twin.customer.as_str()),
        "every customer sharing the email"
    );
    assert!(
        shown.contains("approve_action") && shown.contains("reject_action"),
        "Approve / Reject buttons"
    );
    assert!(!shown.contains("4242424242424242"), "no card numbers");

    let case_id = case_id_of(&card);
    let thread = posts
        .iter()
        .find(|c| c.body.get("thread_ts").is_some())
        .expect("a thread reply");
    assert!(
        thread.body["text"]
            .as_str()
            .unwrap_or_default()
            .contains("follow-up"),
        "the draft goes in the thread"
    );

    let case = app
        .store
        .load_case(&case_id)
        .await
        .expect("redis")
        .expect("the case is stored");
    assert_eq!(case.snapshot.customers.len(), 2);
    let keys: Vec<billing_triage::domain::ActionKey> =
        case.actions.iter().map(|a| a.key.clone()).collect();
    let statuses = app
        .store
        .action_statuses(&case_id, &keys)
        .await
        .expect("redis");
    assert_eq!(statuses.len(), keys.len(), "every action has a state");
    assert!(statuses
        .iter()
        .all(|(_, s)| matches!(s, ActionStatus::Proposed { .. })));
}

#[tokio::test]
async fn each_exact_identifier_finds_its_customer() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let failed = scenario(&seeded, "failed payment / incomplete checkout");
    let app = spawn_app(&stripe.base_url()).await;

    let (reply, _) = app
        .slash(&format!("lookup {}", failed.customer), REQUESTER)
        .await;
    assert_eq!(reply.status, 200);
    let card = card_of(&app.slack.wait_for("chat.postMessage", 1).await);
    assert!(card.to_string().contains("Failed payment"), "{card}");
}

#[tokio::test]
async fn an_unknown_customer_gets_a_clear_ephemeral_message() {
    let stripe = localstripe::start().await;
    let app = spawn_app(&stripe.base_url()).await;
    let (_, url) = app.slash("lookup cus_DoesNotExist9", REQUESTER).await;
    let text = app.answer_at(&url).await;
    assert!(
        text.contains("No Stripe customer matches `cus_DoesNotExist9`"),
        "{text}"
    );
    let (_, url) = app.slash("lookup nobody@example.com", REQUESTER).await;
    assert!(app
        .answer_at(&url)
        .await
        .contains("No Stripe customer matches"));
    assert!(
        app.slack.calls_to("chat.postMessage").is_empty(),
        "no card for nobody"
    );
}

#[tokio::test]
async fn the_shortcut_triages_the_customer_named_in_a_message() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let product = scenario(&seeded, "product failure or broken trust");
    let app = spawn_app(&stripe.base_url()).await;
    let text = format!(
        "Hi, this is {}. {}",
        product.email,
        product
            .message
            .unwrap_or("Your service was down all day and I want a refund")
    );
    let payload = serde_json::json!({
        "type": "message_action", "callback_id": "triage_billing_case", "trigger_id": "1.2.3",
        "team": {"id": "T0001", "domain": "example"}, "user": {"id": REQUESTER, "name": "op"},
        "channel": {"id": CHANNEL, "name": "billing-ops"}, "response_url": app.slack.response_url(),
        "message": {"type": "message", "user": "U0CUSTOMER", "ts": "1700000000.000200", "text": text}
    });
    assert_eq!(app.interact(&payload).await.status, 200);
    let card = app.slack.wait_for("chat.postMessage", 1).await[0]
        .body
        .clone();
    assert!(card.to_string().contains("Product failure"), "{card}");
}

#[tokio::test]
async fn a_card_slack_refuses_to_post_is_explained_to_the_operator() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let team = scenario(&seeded, "genuine multi-seat / team intent");
    let app = spawn_app(&stripe.base_url()).await;
    app.slack.fail("chat.postMessage", "not_in_channel");
    let (_, url) = app
        .slash(&format!("lookup {}", team.customer), REQUESTER)
        .await;
    let text = app.answer_at(&url).await;
    assert!(
        text.contains("not_in_channel") && text.contains("/invite"),
        "{text}"
    );
}

/// The playbook's headings (docs/PLAYBOOK.md §5), in the card's order.
const PLAYBOOK_ORDER: [&str; 6] = [
    "Customer",
    "Billing state",
    "Decision",
    "Actions",
    "Follow-up",
    "Product gap",
];

#[tokio::test]
async fn the_card_in_slack_and_in_the_cli_text_reads_the_playbooks_headings_in_order() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let dup = scenario(&seeded, "duplicate personal subscription");
    let app = spawn_app(&stripe.base_url()).await;

    app.slash(&format!("lookup {}", dup.email), REQUESTER).await;
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let card = card_of(&posts);
    let sections: Vec<&str> = card["blocks"]
        .as_array()
        .expect("Block Kit blocks")
        .iter()
        .filter(|b| b["type"] == "section")
        .filter_map(|b| b["text"]["text"].as_str())
        .collect();
    // A heading is a section's first line in bold alone; an action's first
    // line is its bold key followed by its summary.
    let headings: Vec<&str> = sections
        .iter()
        .filter_map(|t| t.lines().next())
        .filter_map(|l| l.strip_prefix('*')?.strip_suffix('*'))
        .filter(|h| !h.contains('*'))
        .collect();
    assert_eq!(headings, PLAYBOOK_ORDER, "{card}");
    let billing = sections
        .iter()
        .position(|t| t.starts_with("*Billing state*\n_Subscriptions_\n"))
        .expect("subscriptions under Billing state");
    let decision = sections
        .iter()
        .position(|t| t.starts_with("*Decision*"))
        .expect("a Decision part");
    for part in ["_Invoices_", "_Charges_"] {
        let at = sections
            .iter()
            .position(|t| t.starts_with(part))
            .unwrap_or_else(|| panic!("no {part} on the card"));
        assert!(billing < at && at < decision, "{part} under Billing state");
    }
    let followup = sections
        .iter()
        .find(|t| t.starts_with("*Follow-up*"))
        .expect("a Follow-up part");
    assert!(
        followup.contains("safe to send now") && followup.contains("Full draft in the thread"),
        "{followup}"
    );
    let thread = posts
        .iter()
        .find(|c| c.body.get("thread_ts").is_some())
        .and_then(|c| c.body["text"].as_str())
        .expect("the draft in the thread");
    let case = app
        .store
        .load_case(&case_id_of(&card))
        .await
        .expect("redis")
        .expect("the case is stored");
    assert!(
        thread.contains(&case.followup.text),
        "the whole draft is in the thread"
    );
    assert!(
        !followup.contains(&case.followup.text),
        "and not on the card: {followup}"
    );

    // The CLI prints the same parts in the same order, the draft under Follow-up.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_billing-triage"))
        .args(["lookup", dup.email.as_str(), "--format", "text"])
        .env("STRIPE_SECRET_KEY", "sk_test_localstripe")
        .env("STRIPE_API_BASE", stripe.base_url())
        .env("REDIS_URL", redis_url())
        .env("REDIS_PREFIX", unique_prefix())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8 text");
    let headings: Vec<&str> = text
        .lines()
        .skip(2)
        .filter(|l| !l.is_empty() && !l.starts_with(' '))
        .collect();
    assert_eq!(headings, PLAYBOOK_ORDER, "{text}");
    assert!(text.contains("Billing state\n  Subscriptions\n"), "{text}");
    let draft_at = text.find("Full draft:").expect("the draft in the text");
    assert!(
        text.find("Follow-up").is_some_and(|f| f < draft_at)
            && draft_at < text.find("Product gap").unwrap_or(0),
        "{text}"
    );
}
