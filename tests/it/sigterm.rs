//! A rollout, as an orchestrator does it: the real `billing-triage serve`
//! binary gets SIGTERM while a lookup waits on a slow Stripe. The process
//! stops accepting, finishes the lookup (the card reaches Slack) and exits 0
//! within the grace period. The in-process tests in `resilience.rs` cover the
//! drain itself; this one covers the signal path.

use crate::helpers::*;
use crate::resilience_harness::*;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// Starts `serve` on a free port and returns it with its address, read from
/// the "serving" log line (so no port is guessed and raced for).
async fn serve(
    stripe_base: &str,
    slack: &SlackStandIn,
    prefix: &str,
) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_billing-triage"))
        .arg("serve")
        .env_clear()
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .env("SLACK_BOT_TOKEN", "xoxb-test-token")
        .env("SLACK_API_URL", format!("{}/api/", slack.base_url))
        .env("STRIPE_SECRET_KEY", "sk_test_localstripe")
        .env("STRIPE_API_BASE", stripe_base)
        .env("REDIS_URL", redis_url())
        .env("REDIS_PREFIX", prefix)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("BILLING_APPROVERS", APPROVER_1)
        .env("SHUTDOWN_GRACE_SECS", "20")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let addr = serving_addr(&mut lines, |_| {}).await;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{addr}"))
}

#[tokio::test]
async fn sigterm_during_a_slow_lookup_posts_the_card_and_exits_cleanly() {
    let faults = Faults {
        delay: Duration::from_millis(700),
        ..Faults::default()
    };
    let (stripe_base, log) = throttling_stripe(1, faults).await;
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let (mut child, addr) = serve(&stripe_base, &slack, store.prefix()).await;
    let app = TestApp {
        addr,
        slack,
        store,
        shutdown: None,
    };

    let (reply, _) = app
        .slash(&format!("lookup {SHARED_EMAIL}"), REQUESTER)
        .await;
    assert_eq!(reply.status, 200, "acknowledged: {}", reply.body);
    for _ in 0..300 {
        if log.max_in_flight.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        log.max_in_flight.load(Ordering::SeqCst) > 0,
        "the lookup is waiting on Stripe"
    );
    assert!(
        app.slack.calls_to("chat.postMessage").is_empty(),
        "no card yet"
    );

    terminate(&mut child).await;
    let cards = app.slack.calls_to("chat.postMessage");
    assert!(
        cards
            .iter()
            .any(|c| c.body.get("thread_ts").is_none()
                && c.body.to_string().contains("cus_Shared000")),
        "the card was posted before the process exited: {cards:?}"
    );
    let refused = tokio::net::TcpStream::connect(app.addr.trim_start_matches("http://")).await;
    assert!(refused.is_err(), "nothing listens after the exit");
}
