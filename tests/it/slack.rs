//! The bot as Slack sees it: signed requests in, acknowledgements and Web
//! API calls out. These need no Stripe data, only Redis.

use crate::helpers::*;

#[tokio::test]
async fn url_verification_echoes_the_challenge() {
    let app = spawn_app(&closed_port_url()).await;
    let body = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let reply = app
        .post_signed("/slack/events", "application/json", body.to_owned())
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
}

#[tokio::test]
async fn forged_unsigned_and_stale_requests_get_401_and_reach_no_handler() {
    let app = spawn_app(&closed_port_url()).await;
    let body = "command=%2Fbilling&text=help&user_id=U0REQUEST1&channel_id=C1&response_url=http%3A%2F%2F127.0.0.1%3A1%2Fr".to_owned();
    let url = format!("{}/slack/commands", app.addr);
    let now = now_ts().to_string();

    let forged = sign("not-the-secret-at-all", &now, &body);
    let r = send(
        "POST",
        &url,
        &[
            ("x-slack-request-timestamp", now.clone()),
            ("x-slack-signature", forged),
        ],
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 401);

    let r = send("POST", &url, &[], body.clone()).await;
    assert_eq!(r.status, 401);

    let old = (now_ts() - 6 * 60).to_string();
    let stale = sign(SIGNING_SECRET, &old, &body);
    let r = send(
        "POST",
        &url,
        &[
            ("x-slack-request-timestamp", old),
            ("x-slack-signature", stale),
        ],
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 401);

    // A valid signature over another body is a forgery too.
    let sig = sign(SIGNING_SECRET, &now, "text=help");
    let r = send(
        "POST",
        &url,
        &[
            ("x-slack-request-timestamp", now),
            ("x-slack-signature", sig),
        ],
        body,
    )
    .await;
    assert_eq!(r.status, 401);

    for path in ["/slack/interactions", "/slack/events"] {
        let r = send(
            "POST",
            &format!("{}{path}", app.addr),
            &[],
            "payload=%7B%7D".to_owned(),
        )
        .await;
        assert_eq!(r.status, 401, "{path}");
    }
    assert!(
        app.slack.calls().is_empty(),
        "no handler may run: {:?}",
        app.slack.calls()
    );
}

#[tokio::test]
async fn help_and_odd_text_get_an_ephemeral_usage_message() {
    let app = spawn_app(&closed_port_url()).await;
    for text in [
        "help",
        "",
        "refund everything now",
        "lookup",
        "lookup Ana from Acme",
        "lookup cus_",
        "💥\u{0}",
    ] {
        let (reply, _) = app.slash(text, REQUESTER).await;
        assert_eq!(reply.status, 200, "{text:?}");
        let json = reply.json();
        assert_eq!(json["response_type"], "ephemeral", "{text:?}");
        let shown = json["text"].as_str().unwrap_or_default();
        assert!(shown.contains("/billing lookup"), "{text:?} got {shown}");
    }
    let (reply, _) = app.slash("lookup Ana from Acme", REQUESTER).await;
    assert!(
        reply.json()["text"]
            .as_str()
            .unwrap_or_default()
            .contains("too weak"),
        "free text is refused with why"
    );
}

#[tokio::test]
async fn slacks_certificate_check_gets_an_empty_200() {
    let app = spawn_app(&closed_port_url()).await;
    let reply = app
        .post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            "ssl_check=1&token=x".to_owned(),
        )
        .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, ""));
}

#[tokio::test]
async fn malformed_bodies_get_400_without_a_panic() {
    let app = spawn_app(&closed_port_url()).await;
    let r = app
        .post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            "text=help".to_owned(),
        )
        .await;
    assert_eq!(r.status, 400, "a command without user or response_url");
    let r = app
        .post_signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            "payload=%7Bnot-json".to_owned(),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post_signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            "nothing=here".to_owned(),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post_signed("/slack/events", "application/json", "{\"no\":".to_owned())
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "the server still serves"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app(&closed_port_url()).await;
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(app.get("/readyz").await.status, 200);
    let _ = app.slash("help", REQUESTER).await;
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("billing_triage_http_requests_total"),
        "{}",
        metrics.body
    );
    assert_eq!(app.get("/nope").await.status, 404);
}

#[tokio::test]
async fn readiness_fails_when_redis_does_not_answer() {
    let slack = SlackStandIn::start().await;
    let mut config = test_config(&closed_port_url(), &slack, &unique_prefix());
    config.redis_url = closed_port_url()
        .replace("http://", "redis://")
        .trim_end_matches('/')
        .to_owned();
    let store = billing_triage::store::Store::new(&config.redis_url, "x:").expect("url");
    let app = spawn_with(config, slack, store).await;
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "alive even without Redis"
    );
    assert_eq!(app.get("/readyz").await.status, 503);
}

#[tokio::test]
async fn stripe_unreachable_is_told_to_the_operator() {
    let app = spawn_app(&closed_port_url()).await;
    let (reply, response_url) = app.slash("lookup cus_Unreachable1", REQUESTER).await;
    assert_eq!(reply.status, 200);
    assert!(reply.json()["text"]
        .as_str()
        .unwrap_or_default()
        .contains("Looking up"));
    let calls = app.slack.wait_for("response_url", 1).await;
    let text = calls[0].body["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(text.contains("Stripe"), "{text}");
    assert!(text.contains("ref "), "carries a reference id: {text}");
    assert!(!text.contains("sk_"), "no secret in the message: {text}");
    assert!(app.slack.calls_to("chat.postMessage").is_empty());
    let _ = response_url;
}

#[tokio::test]
async fn stripe_500_is_told_to_the_operator() {
    let base = failing_stripe(
        500,
        r#"{"error":{"type":"api_error","message":"Something went wrong"}}"#,
    )
    .await;
    let app = spawn_app(&base).await;
    let (reply, _) = app.slash("lookup ana@example.com", REQUESTER).await;
    assert_eq!(reply.status, 200);
    let calls = app.slack.wait_for("response_url", 1).await;
    let text = calls[0].body["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Stripe") && text.contains("nothing was changed"),
        "{text}"
    );
    assert!(app.slack.calls_to("chat.postMessage").is_empty());
}

#[tokio::test]
async fn shortcut_on_a_message_without_identifier_says_what_to_do() {
    let app = spawn_app(&closed_port_url()).await;
    let payload = serde_json::json!({
        "type": "message_action", "callback_id": "triage_billing_case", "trigger_id": "1.2.3",
        "team": {"id": "T1", "domain": "example"}, "user": {"id": REQUESTER, "name": "op"},
        "channel": {"id": CHANNEL, "name": "billing"}, "response_url": app.slack.response_url(),
        "message": {"type": "message", "user": "U0CUSTOMER", "ts": "1700000000.000200", "text": "I want my money back!"}
    });
    let reply = app.interact(&payload).await;
    assert_eq!(reply.status, 200);
    let calls = app.slack.wait_for("response_url", 1).await;
    assert!(calls[0].body["text"]
        .as_str()
        .unwrap_or_default()
        .contains("/billing lookup"));
}
