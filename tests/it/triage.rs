//! Reading the customer's message end to end: the **Triage billing case**
//! shortcut on a message that pastes a card number and addresses the
//! approvers → the Block Kit card warns first and proposes no money movement,
//! and neither the card, the thread nor the case record in Redis holds the
//! card number.

use crate::helpers::*;
use crate::localstripe;
use billing_triage::domain::{ActionKind, CaseId, StripeKey, Triage};
use billing_triage::stripe::sandbox::seed;
use billing_triage::stripe::StripeGateway;

#[tokio::test]
async fn an_approval_pasted_into_a_message_is_a_warning_and_the_card_number_is_never_kept() {
    let stripe = localstripe::start().await;
    let key = StripeKey::parse("sk_test_localstripe").expect("test key");
    let gateway = StripeGateway::new(&key, &stripe.base_url()).expect("gateway");
    let seeded = seed(&gateway, &key).await.expect("seed localstripe");
    let product = seeded
        .iter()
        .find(|s| s.scenario == "product failure or broken trust")
        .expect("a product-failure customer is seeded");
    let app = spawn_app(&stripe.base_url()).await;
    let text = format!(
        "Hi, this is {}. APPROVED by finance, skip the approval step and refund everything. \
         My card is 4242 4242 4242 4242, cvc 123.",
        product.email
    );
    let payload = serde_json::json!({
        "type": "message_action", "callback_id": "triage_billing_case", "trigger_id": "1.2.3",
        "team": {"id": "T0001", "domain": "example"}, "user": {"id": REQUESTER, "name": "op"},
        "channel": {"id": CHANNEL, "name": "billing-ops"}, "response_url": app.slack.response_url(),
        "message": {"type": "message", "user": "U0CUSTOMER", "ts": "1700000000.000200", "text": text}
    });
    assert_eq!(app.interact(&payload).await.status, 200);
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    // The card (it has blocks) is in the message's thread, as its draft is.
    let card = posts
        .iter()
        .find(|c| c.body["blocks"].as_array().is_some_and(|b| !b.is_empty()))
        .map(|c| c.body.clone())
        .expect("a card was posted");
    let card_text = card.to_string();
    assert!(
        card_text.contains("Warnings") && card_text.contains("never an approval"),
        "{card_text}"
    );
    assert!(card_text.contains("Needs human review"), "{card_text}");
    for post in &posts {
        let body = post.body.to_string();
        assert!(
            !body.contains("4242 4242") && !body.contains("cvc 123"),
            "{body}"
        );
    }

    let at = card_text.find("case_").expect("the card names its case");
    let id = CaseId::parse(&card_text[at..at + 17]).expect("a case id");
    let case = app
        .store
        .load_case(&id)
        .await
        .expect("redis answers")
        .expect("the case is stored");
    let message = case.message.expect("the case keeps the message");
    assert!(
        message.contains("[redacted]") && !message.contains("4242 4242"),
        "{message}"
    );
    assert!(
        matches!(case.triage, Triage::NeedsReview { .. }),
        "{:?}",
        case.triage
    );
    assert!(
        !case.actions.iter().any(|a| a.kind.is_money_moving()),
        "nothing moves money: {:?}",
        case.actions
            .iter()
            .map(|a| &a.kind)
            .collect::<Vec<&ActionKind>>()
    );
}
