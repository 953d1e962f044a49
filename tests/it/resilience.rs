//! The bot under injected faults: Stripe throttling (429 with `Retry-After`,
//! a 25 requests/s limit), Slack `ratelimited`, a shutdown during a slow
//! lookup, a trickling HTTP client, a hanging Redis, and `rediss://` against
//! a plain port. Stand-ins live in `resilience_harness`.

use crate::helpers::*;
use crate::resilience_harness::*;
use billing_triage::domain::{
    ChannelId, ChargeId, Currency, MessageTs, Money, ResponseUrl, SlackBotToken, StripeKey,
};
use billing_triage::slack::api::Message;
use billing_triage::slack::SlackApi;
use billing_triage::store::Store;
use billing_triage::stripe::retry::LOOKUP_IN_FLIGHT;
use billing_triage::stripe::StripeGateway;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn lookup_text() -> String {
    format!("lookup {SHARED_EMAIL}")
}

/// The card (the top-level post, not a thread reply) once it is posted.
async fn card_posted(app: &TestApp) -> serde_json::Value {
    let posts = app.slack.wait_for("chat.postMessage", 1).await;
    posts
        .into_iter()
        .find(|c| c.body.get("thread_ts").is_none())
        .expect("a top-level card")
        .body
}

#[tokio::test]
async fn a_lookup_throttled_with_retry_after_waits_and_posts_its_card() {
    let faults = Faults {
        throttle_first: Some(("GET /v1/customers".into(), 1)),
        retry_after: Some(1),
        ..Faults::default()
    };
    let (base, log) = throttling_stripe(1, faults).await;
    let app = spawn_app(&base).await;

    let (reply, _) = app.slash(&lookup_text(), REQUESTER).await;
    assert_eq!(reply.status, 200);
    let card = card_posted(&app).await;
    assert!(
        card.to_string().contains("cus_Shared000"),
        "the card shows the customer: {card}"
    );

    let searches: Vec<Seen> = log
        .seen()
        .into_iter()
        .filter(|s| s.path == "/v1/customers")
        .collect();
    assert_eq!(
        searches.iter().map(|s| s.status).collect::<Vec<_>>(),
        vec![429, 200],
        "{searches:?}"
    );
    let waited = searches[1].at.duration_since(searches[0].at);
    assert!(
        waited >= Duration::from_secs(1),
        "the retry came after Retry-After (1 s), not {waited:?}"
    );
}

#[tokio::test]
async fn thirty_customers_sharing_an_email_are_fetched_under_a_25_per_second_limit() {
    let faults = Faults {
        rate_per_sec: Some(25),
        ..Faults::default()
    };
    let (base, log) = throttling_stripe(30, faults).await;
    let app = spawn_app(&base).await;
    let started = Instant::now();

    let (reply, response_url) = app.slash(&lookup_text(), REQUESTER).await;
    assert_eq!(reply.status, 200);
    let card = card_posted(&app).await.to_string();
    println!(
        "30-customer lookup under 25 req/s: card after {:?}",
        started.elapsed()
    );
    assert!(
        card.contains("cus_Shared000") && card.contains("cus_Shared029"),
        "every customer is on the card"
    );
    assert!(
        !app.slack
            .calls_to("response_url")
            .iter()
            .any(|c| response_url.ends_with(&c.path)),
        "no error was sent to the operator"
    );

    let seen = log.seen();
    let answered = seen.iter().filter(|s| s.status == 200).count();
    let throttled = seen.iter().filter(|s| s.status == 429).count();
    println!("requests answered {answered}, throttled {throttled}");
    assert_eq!(
        answered,
        1 + 30 * 4,
        "a search and four lists per customer, each answered once"
    );
    assert!(
        throttled > 0,
        "the stand-in did throttle, so the retries were exercised"
    );
    let max = log.max_in_flight.load(Ordering::SeqCst);
    assert!(
        max <= LOOKUP_IN_FLIGHT,
        "at most {LOOKUP_IN_FLIGHT} requests in flight for one lookup, saw {max}"
    );
}

#[tokio::test]
async fn a_refund_that_meets_a_429_is_retried_with_the_same_idempotency_key() {
    let faults = Faults {
        throttle_first: Some(("POST /v1/refunds".into(), 2)),
        retry_after: Some(1),
        ..Faults::default()
    };
    let (base, log) = throttling_stripe(1, faults).await;
    let gateway = StripeGateway::new(&StripeKey::parse("sk_test_throttle").expect("key"), &base)
        .expect("gateway");
    let amount = Money::new(3900, Currency::parse("eur").expect("eur"));
    let charge = ChargeId::parse("ch_Throttled1").expect("id");

    let refund = gateway
        .refund(
            &charge,
            amount,
            "case_0123456789ab-a2-refund",
            &[("case_id", "case_0123456789ab")],
        )
        .await;
    assert_eq!(
        refund
            .expect("the refund succeeds after the throttling")
            .as_str(),
        "re_Throttled1"
    );

    let posts: Vec<Seen> = log
        .seen()
        .into_iter()
        .filter(|s| s.method == "POST")
        .collect();
    assert_eq!(
        posts.iter().map(|s| s.status).collect::<Vec<_>>(),
        vec![429, 429, 200],
        "{posts:?}"
    );
    assert!(
        posts
            .iter()
            .all(|p| p.idempotency_key.as_deref() == Some("case_0123456789ab-a2-refund")),
        "every attempt carries the one key: {posts:?}"
    );
}

#[tokio::test]
async fn a_card_post_slack_rate_limits_is_posted_after_the_wait() {
    let (base, _log) = throttling_stripe(1, Faults::default()).await;
    let slack = SlackStandIn::start().await;
    let proxy = rate_limiting_slack(&slack, "chat.postMessage", 1, 1).await;
    let store = test_store().await;
    let mut config = test_config(&base, &slack, store.prefix());
    config.slack.as_mut().expect("slack settings").api_url = format!("{proxy}/api");
    let app = spawn_with(config, slack, store).await;

    let (reply, _) = app.slash(&lookup_text(), REQUESTER).await;
    assert_eq!(reply.status, 200);
    let card = card_posted(&app).await;
    assert!(card.to_string().contains("cus_Shared000"), "{card}");
    let metrics = app.get("/metrics").await.body;
    assert!(
        metrics.contains(
            r#"billing_triage_slack_posts_total{method="chat.postMessage",outcome="posted"}"#
        ),
        "{metrics}"
    );
    assert!(
        !metrics.contains(r#"method="chat.postMessage",outcome="failed""#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_card_post_or_update_that_meets_one_5xx_is_sent_once_more_and_two_are_reported() {
    let slack = SlackStandIn::start().await;
    let token = SlackBotToken::parse("xoxb-test-token").expect("token");
    let api = SlackApi::new(&token, &format!("{}/api", slack.base_url)).expect("client");
    let channel = ChannelId::parse(CHANNEL).expect("channel");

    slack.fail_http("chat.postMessage", 503, 1);
    let ts = api
        .post_message(&channel, &Message::text("card"), None)
        .await
        .expect("the second try goes through");
    assert_eq!(slack.calls_to("chat.postMessage").len(), 2);
    slack.fail_http("chat.update", 500, 1);
    api.update_message(&channel, &ts, &Message::text("card, updated"))
        .await
        .expect("the second try goes through");
    assert_eq!(slack.calls_to("chat.update").len(), 2);

    slack.fail_http("chat.postMessage", 502, 2);
    let e = api
        .post_message(&channel, &Message::text("card"), None)
        .await
        .expect_err("two 5xx in a row are reported");
    assert!(
        matches!(
            e,
            billing_triage::slack::SlackError::ServerError { status: 502 }
        ),
        "{e:?}"
    );
    assert_eq!(
        slack.calls_to("chat.postMessage").len(),
        4,
        "once more, not more"
    );
    // A refusal is not a server error: sent once.
    slack.fail("chat.postMessage", "not_in_channel");
    assert!(api
        .post_message(&channel, &Message::text("card"), None)
        .await
        .is_err());
    assert_eq!(slack.calls_to("chat.postMessage").len(), 5);
}

#[tokio::test]
async fn chat_update_and_response_url_posts_wait_out_rate_limits() {
    let slack = SlackStandIn::start().await;
    let token = SlackBotToken::parse("xoxb-test-token").expect("token");

    let proxy = rate_limiting_slack(&slack, "chat.update", 2, 1).await;
    let api = SlackApi::new(&token, &format!("{proxy}/api")).expect("client");
    let channel = ChannelId::parse(CHANNEL).expect("channel");
    let ts = MessageTs::parse("1700000000.000001").expect("ts");
    api.update_message(&channel, &ts, &Message::text("updated"))
        .await
        .expect("the update goes through");
    assert_eq!(
        slack.calls_to("chat.update").len(),
        1,
        "one update reached Slack, after two rate limits"
    );

    let proxy = rate_limiting_slack(&slack, "response_url", 1, 1).await;
    let api = SlackApi::new(&token, &format!("{proxy}/api")).expect("client");
    let url = ResponseUrl::parse(&format!("{proxy}/response/T1/abc")).expect("url");
    api.respond(&url, &Message::text("answer"))
        .await
        .expect("the answer goes through");
    assert_eq!(slack.calls_to("response_url").len(), 1);
}

#[tokio::test]
async fn a_card_lost_to_rate_limits_is_counted_failed_and_the_operator_told() {
    let (base, _log) = throttling_stripe(1, Faults::default()).await;
    let slack = SlackStandIn::start().await;
    // Retry-After past the bot's budget: waiting is pointless, so the post is lost at once.
    let proxy = rate_limiting_slack(&slack, "chat.postMessage", 100, 120).await;
    let store = test_store().await;
    let mut config = test_config(&base, &slack, store.prefix());
    config.slack.as_mut().expect("slack settings").api_url = format!("{proxy}/api");
    let app = spawn_with(config, slack, store).await;

    let (_, url) = app.slash(&lookup_text(), REQUESTER).await;
    let answer = app.answer_at(&url).await;
    assert!(
        answer.contains("rate-limit"),
        "the operator learns why there is no card: {answer}"
    );
    let metrics = app.get("/metrics").await.body;
    assert!(
        metrics.contains(
            r#"billing_triage_slack_posts_total{method="chat.postMessage",outcome="failed"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        !metrics.contains(r#"method="chat.postMessage",outcome="posted""#),
        "a lost card is not counted as posted: {metrics}"
    );
}

#[tokio::test]
async fn a_shutdown_during_a_slow_lookup_still_posts_the_card() {
    let faults = Faults {
        delay: Duration::from_millis(400),
        ..Faults::default()
    };
    let (base, log) = throttling_stripe(1, faults).await;
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let config = test_config(&base, &slack, store.prefix());
    let (app, stop, running) = spawn_stoppable(config, slack, store).await;

    let (reply, _) = app.slash(&lookup_text(), REQUESTER).await;
    assert_eq!(reply.status, 200);
    for _ in 0..200 {
        if !log.seen.lock().expect("log").is_empty() || log.max_in_flight.load(Ordering::SeqCst) > 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        log.max_in_flight.load(Ordering::SeqCst) > 0,
        "the lookup is talking to Stripe"
    );
    assert!(
        app.slack.calls_to("chat.postMessage").is_empty(),
        "the card is not posted yet"
    );

    stop.send(()).expect("the app is running");
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the app stops")
        .expect("no panic");
    let card = app.slack.calls_to("chat.postMessage");
    assert!(
        card.iter()
            .any(|c| c.body.to_string().contains("cus_Shared000")),
        "the card was posted before exit: {card:?}"
    );
    let refused = tokio::net::TcpStream::connect(app.addr.trim_start_matches("http://")).await;
    assert!(refused.is_err(), "no new connections after the shutdown");
}

#[tokio::test]
async fn a_shutdown_during_a_slow_refund_records_it_and_tells_the_approver() {
    let faults = Faults {
        delay: Duration::from_millis(400),
        ..Faults::default()
    };
    let (base, log) = throttling_stripe(1, faults).await;
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let case = stored_refund_case(&store).await;
    let config = test_config(&base, &slack, store.prefix());
    let (app, stop, running) = spawn_stoppable(config, slack, store).await;

    let (reply, url) = app
        .click("approve_action", &format!("{}/a1", case.id), APPROVER_1)
        .await;
    assert_eq!(reply.status, 200);
    for _ in 0..200 {
        if log.max_in_flight.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        log.max_in_flight.load(Ordering::SeqCst) > 0,
        "the approval is talking to Stripe"
    );

    stop.send(()).expect("the app is running");
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the app stops")
        .expect("no panic");
    let status = app
        .store
        .action_status(&case.id, &akey("a1"))
        .await
        .expect("redis")
        .expect("a state");
    assert!(
        matches!(
            status,
            billing_triage::domain::ActionStatus::Succeeded { .. }
        ),
        "recorded before exit: {status:?}"
    );
    let told = app
        .slack
        .calls_to("response_url")
        .into_iter()
        .find(|c| url.ends_with(&c.path))
        .expect("the approver was told");
    assert!(
        told.body["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Done"),
        "{told:?}"
    );
    let posts = log
        .seen()
        .into_iter()
        .filter(|s| s.method == "POST")
        .count();
    assert_eq!(posts, 1, "one refund");
}

#[tokio::test]
async fn a_client_trickling_its_body_is_answered_408_and_closed() {
    let app = spawn_app(&closed_port_url()).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr.trim_start_matches("http://"))
        .await
        .expect("connect");
    let head = "POST /slack/commands HTTP/1.1\r\nhost: bot\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\ntext=";
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the head");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(40), async {
        let mut buf = [0u8; 1024];
        loop {
            // A byte now and then, as a slow-loris client does.
            let _ = stream.write_all(b"a").await;
            match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
    })
    .await;
    println!("trickling client closed after {:?}", started.elapsed());
    assert!(read.is_ok(), "the server closed the connection");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "answered 408 before closing: {answer}"
    );
}

/// Slow-loris clients, trickling their head or their body to any route
/// (also one that never reads the body, or after a first answered request
/// on a kept connection): every connection is closed within `READ_TIMEOUT`
/// of its first byte, however slowly the bytes come.
#[tokio::test]
async fn twenty_clients_trickling_a_request_to_any_route_are_all_closed_at_the_deadline() {
    let app = spawn_app(&closed_port_url()).await;
    let addr = app.addr.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for i in 0..20 {
        let addr = addr.clone();
        let head = match i % 4 {
            0 => "POST /healthz HTTP/1.1\r\nhost: bot\r\ncontent-length: 100000\r\n\r\n",
            // A request answered, then the connection kept and trickled into.
            3 => "GET /healthz HTTP/1.1\r\nhost: bot\r\n\r\nGET /healthz HTTP/1.1\r\nx-slow: ",
            1 => "POST /slack/commands HTTP/1.1\r\nhost: bot\r\ncontent-length: 100000\r\n\r\n",
            // The head itself never ends: one more header byte at a time.
            _ => "POST /slack/commands HTTP/1.1\r\nhost: bot\r\nx-slow: ",
        };
        clients.spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect");
            stream.write_all(head.as_bytes()).await.expect("head");
            let mut buf = [0u8; 1024];
            loop {
                // One byte every 2 s, for as long as the server listens.
                if stream.write_all(b"a").await.is_err() {
                    return;
                }
                match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return,
                    Ok(Ok(_)) | Err(_) => {}
                }
            }
        });
    }
    let all_closed = tokio::time::timeout(Duration::from_secs(40), async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    println!("20 trickling clients closed after {:?}", started.elapsed());
    assert!(all_closed.is_ok(), "every trickling connection was closed");
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "and the server still serves"
    );
}

#[tokio::test]
async fn while_redis_hangs_every_ack_is_prompt_and_the_first_request_after_it_returns_works() {
    let (base, _log) = throttling_stripe(1, Faults::default()).await;
    let redis = HangingRedis::start().await;
    let slack = SlackStandIn::start().await;
    let prefix = unique_prefix();
    let mut config = test_config(&base, &slack, &prefix);
    config.redis_url = redis.url.clone();
    let app = spawn_with(config, slack, store_on(&prefix).await).await;
    assert_eq!(
        app.get("/readyz").await.status,
        200,
        "connected through the proxy"
    );

    redis.hang();
    let started = Instant::now();
    let text = lookup_text();
    let lookups = (0..10).map(|_| app.slash(&text, REQUESTER));
    let replies = futures::future::join_all(lookups).await;
    for (reply, _) in &replies {
        assert_eq!(reply.status, 200);
        assert!(reply.body.contains("Looking up"), "{}", reply.body);
    }
    let modal_sent = Instant::now();
    let reply = app
        .submit_view(
            "refund_amount",
            "case_0123456789ab/a2",
            "amount_block",
            "amount",
            "10.00",
            APPROVER_1,
        )
        .await;
    println!(
        "partial-refund modal answered after {:?} while Redis hangs",
        modal_sent.elapsed()
    );
    assert_eq!(reply.status, 200);
    let errors = reply.json();
    assert_eq!(
        errors["response_action"], "errors",
        "the modal stays open with the reason: {errors}"
    );
    assert!(
        errors["errors"]["amount_block"]
            .as_str()
            .unwrap_or_default()
            .contains("Redis"),
        "{errors}"
    );
    for (_, url) in &replies {
        let answer = app.answer_at(url).await;
        assert!(
            answer.contains("Redis"),
            "each operator is told Redis is the problem: {answer}"
        );
    }
    println!(
        "10 lookups during a Redis hang: all told after {:?}",
        started.elapsed()
    );

    redis.resume();
    let (_, url) = app.slash(&lookup_text(), REQUESTER).await;
    let card = card_posted(&app).await;
    assert!(
        card.to_string().contains("cus_Shared000"),
        "the first lookup after Redis returned posts its card: {card}"
    );
    assert!(
        !app.slack
            .calls_to("response_url")
            .iter()
            .any(|c| url.ends_with(&c.path)),
        "and no error for it"
    );
}

#[tokio::test]
async fn rediss_against_a_plain_port_says_tls() {
    let plain = redis_url();
    let tls = plain.replacen("redis://", "rediss://", 1);
    let store = Store::new(&tls, "x:").expect("rediss:// is accepted: TLS is compiled in");
    let error = store
        .ping()
        .await
        .expect_err("a plain port does not speak TLS")
        .to_string();
    assert!(error.contains("TLS"), "the error names TLS: {error}");
    assert!(!error.contains("redis-server is running"), "{error}");
}
