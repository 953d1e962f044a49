//! Socket Mode end to end: `apps.connections.open` answered by the Web API
//! stand-in (through `SLACK_API_URL`), a websocket stand-in playing Slack's
//! side of the socket (`hello`, envelopes, acks, close frames). Slash
//! commands and button clicks through the socket reach the same workflows
//! as over HTTP; `/readyz` follows the connection; nothing of an envelope
//! reaches the log.

use crate::fixtures::{put_case, refund_case_for, scenario, seeded, status, stripe_script, value};
use crate::helpers::*;
use crate::localstripe;
use billing_triage::config::SlackMode;
use billing_triage::domain::{ActionStatus, Currency, Money, SlackAppToken};
use futures::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const APP_TOKEN: &str = "xapp-1-A0TEST-1-0123456789abcdef";

/// Slack's side of the websocket: every connection the bot opens is
/// recorded; the test says `hello`, sends envelopes, reads the acks.
#[derive(Clone)]
struct SocketStandIn {
    url: String,
    /// Frames for the bot's newest connection.
    to_bot: Arc<Mutex<Option<mpsc::UnboundedSender<Message>>>>,
    /// Text frames the bot sent (its acks), as JSON.
    from_bot: Arc<Mutex<Vec<serde_json::Value>>>,
    connections: Arc<AtomicUsize>,
    close_frames: Arc<AtomicUsize>,
}

impl SocketStandIn {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the socket stand-in");
        let port = listener.local_addr().expect("local addr").port();
        let me = Self {
            url: format!("ws://127.0.0.1:{port}/link/?ticket=test-ticket"),
            to_bot: Arc::new(Mutex::new(None)),
            from_bot: Arc::new(Mutex::new(Vec::new())),
            connections: Arc::new(AtomicUsize::new(0)),
            close_frames: Arc::new(AtomicUsize::new(0)),
        };
        let shared = me.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                    continue;
                };
                let (mut sink, mut stream) = ws.split();
                let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
                *shared.to_bot.lock().expect("to_bot lock") = Some(tx);
                shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    while let Some(frame) = rx.recv().await {
                        if sink.send(frame).await.is_err() {
                            break;
                        }
                    }
                });
                let shared = shared.clone();
                tokio::spawn(async move {
                    while let Some(Ok(frame)) = stream.next().await {
                        match frame {
                            Message::Text(text) => {
                                let json = serde_json::from_str(text.as_str())
                                    .unwrap_or(serde_json::Value::String(text.to_string()));
                                shared.from_bot.lock().expect("from_bot lock").push(json);
                            }
                            Message::Close(_) => {
                                shared.close_frames.fetch_add(1, Ordering::SeqCst);
                            }
                            _ => {}
                        }
                    }
                });
            }
        });
        me
    }

    fn send(&self, frame: Message) {
        self.to_bot
            .lock()
            .expect("to_bot lock")
            .as_ref()
            .expect("the bot is connected")
            .send(frame)
            .expect("the connection is open");
    }

    fn send_json(&self, frame: &serde_json::Value) {
        self.send(Message::text(frame.to_string()));
    }

    fn hello(&self) {
        self.send_json(&serde_json::json!({
            "type": "hello", "num_connections": 1,
            "debug_info": {"host": "applink-test", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A123456"}
        }));
    }

    /// Waits until the bot opened `n` connections; panics after 15 s.
    async fn wait_connections(&self, n: usize) {
        for _ in 0..300 {
            if self.connections.load(Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the bot opened fewer than {n} websocket(s)");
    }

    /// Waits for the bot's ack of `envelope_id`; panics after 15 s.
    async fn ack_of(&self, envelope_id: &str) -> serde_json::Value {
        for _ in 0..300 {
            let found = self
                .from_bot
                .lock()
                .expect("from_bot lock")
                .iter()
                .find(|f| f["envelope_id"] == envelope_id)
                .cloned();
            if let Some(ack) = found {
                return ack;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no ack of {envelope_id}; the bot sent {:?}",
            self.from_bot.lock().expect("from_bot lock")
        );
    }

    fn acks_of(&self, envelope_id: &str) -> usize {
        self.from_bot
            .lock()
            .expect("from_bot lock")
            .iter()
            .filter(|f| f["envelope_id"] == envelope_id)
            .count()
    }
}

/// The test app in Socket Mode; `slack` hands out `socket`'s URL.
async fn spawn_socket_app_with(
    stripe_base: &str,
    slack: SlackStandIn,
    socket: &SocketStandIn,
) -> TestApp {
    slack.serve_socket_at(&socket.url);
    let store = test_store().await;
    let mut config = test_config(stripe_base, &slack, store.prefix());
    if let Some(s) = config.slack.as_mut() {
        s.mode = SlackMode::Socket {
            app_token: SlackAppToken::parse(APP_TOKEN).expect("an app token"),
        };
    }
    spawn_with(config, slack, store).await
}

async fn spawn_socket_app(stripe_base: &str, socket: &SocketStandIn) -> TestApp {
    spawn_socket_app_with(stripe_base, SlackStandIn::start().await, socket).await
}

/// Polls `/readyz` until it answers `status`; returns the last body.
async fn readyz_becomes(app: &TestApp, status: u16) -> String {
    let mut last = app.get("/readyz").await;
    for _ in 0..300 {
        if last.status == status {
            return last.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        last = app.get("/readyz").await;
    }
    panic!(
        "/readyz stayed {} ({}), expected {status}",
        last.status, last.body
    );
}

/// A `slash_commands` envelope as Slack sends it over the socket.
fn slash_envelope(envelope_id: &str, text: &str, user: &str, response_url: &str) -> Message {
    Message::text(
        serde_json::json!({
            "envelope_id": envelope_id, "type": "slash_commands",
            "accepts_response_payload": true, "retry_attempt": 0, "retry_reason": "",
            "payload": {
                "token": "gIkuvaNzQIHg97ATvDxqgjtO", "team_id": "T0001", "team_domain": "example",
                "channel_id": CHANNEL, "channel_name": "billing-ops", "user_id": user,
                "user_name": "operator", "command": "/billing", "text": text,
                "api_app_id": "A123456", "is_enterprise_install": "false",
                "response_url": response_url,
                "trigger_id": format!("13345224609.738474920.{}", uuid::Uuid::new_v4().simple())
            }
        })
        .to_string(),
    )
}

#[tokio::test]
async fn ready_only_after_hello_and_a_lookup_through_the_socket_posts_the_card() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let dup = scenario(&seeded, "duplicate personal subscription");
    let socket = SocketStandIn::start().await;
    let app = spawn_socket_app(&stripe.base_url(), &socket).await;

    socket.wait_connections(1).await;
    let opens = app.slack.calls_to("apps.connections.open");
    assert_eq!(opens.len(), 1, "the socket URL came from SLACK_API_URL");
    let before = app.get("/readyz").await;
    assert_eq!(before.status, 503, "no hello yet: {}", before.body);
    assert!(before.body.contains("hello"), "{}", before.body);
    assert_eq!(app.get("/healthz").await.status, 200);

    socket.hello();
    readyz_becomes(&app, 200).await;

    let response_url = app.slack.response_url();
    socket.send(slash_envelope(
        "env-lookup-1",
        &format!("lookup {}", dup.email),
        REQUESTER,
        &response_url,
    ));
    let ack = socket.ack_of("env-lookup-1").await;
    assert_eq!(ack["payload"]["response_type"], "ephemeral", "{ack}");
    assert!(
        ack["payload"]["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Looking up"),
        "the command's answer rides in the ack: {ack}"
    );

    let posts = app.slack.wait_for("chat.postMessage", 1).await;
    let card = posts
        .iter()
        .find(|c| c.body.get("thread_ts").is_none())
        .expect("a card was posted");
    assert_eq!(card.body["channel"], CHANNEL);
    let shown = card.body.to_string();
    assert!(shown.contains(dup.customer.as_str()), "{shown}");
    assert!(shown.contains("approve_action"), "{shown}");
}

#[tokio::test]
async fn a_guest_is_refused_through_the_socket_too_with_nothing_fetched_or_posted() {
    let (base, calls) = scripted_stripe(Arc::new(|_, _| (500, "{}".to_owned()))).await;
    let socket = SocketStandIn::start().await;
    let slack = SlackStandIn::start().await;
    slack.set_user(
        "U0AGUEST01",
        serde_json::json!({"is_ultra_restricted": true}),
    );
    let app = spawn_socket_app_with(&base, slack, &socket).await;
    socket.wait_connections(1).await;
    socket.hello();
    readyz_becomes(&app, 200).await;

    let response_url = app.slack.response_url();
    socket.send(slash_envelope(
        "env-guest-1",
        "lookup ana@example.com",
        "U0AGUEST01",
        &response_url,
    ));
    let ack = socket.ack_of("env-guest-1").await;
    assert_eq!(ack["payload"]["response_type"], "ephemeral", "{ack}");
    // Acked before the check; the refusal follows through the response_url.
    let text = app.answer_at(&response_url).await;
    assert!(
        text.starts_with("Not shown") && text.contains("guests"),
        "{text}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.slack.calls_to("chat.postMessage").is_empty());
    assert!(
        calls.lock().expect("calls").is_empty(),
        "Stripe never called"
    );
    let kinds: Vec<_> = audit_entries_of_all(&app.store)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, [billing_triage::audit::AuditKind::AccessRefused]);
}

#[tokio::test]
async fn an_envelope_of_a_type_slack_added_later_is_acked_so_it_is_not_redelivered() {
    let (base, calls) = scripted_stripe(Arc::new(|_, _| (500, "{}".to_owned()))).await;
    let socket = SocketStandIn::start().await;
    let app = spawn_socket_app(&base, &socket).await;
    socket.wait_connections(1).await;
    socket.hello();
    readyz_becomes(&app, 200).await;
    socket.send_json(&serde_json::json!({
        "envelope_id": "env-new-type-1", "type": "shiny_new_thing",
        "accepts_response_payload": false, "payload": {"anything": [1, 2, 3]}
    }));
    let ack = socket.ack_of("env-new-type-1").await;
    assert!(ack.get("payload").is_none(), "a bare ack: {ack}");
    // A frame without an id (not an envelope) is not acked: nothing to ack.
    socket.send_json(&serde_json::json!({"type": "shiny_new_notice"}));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(socket.acks_of("env-new-type-1"), 1, "acked once");
    assert!(calls.lock().expect("calls").is_empty());
}

#[tokio::test]
async fn a_click_through_the_socket_approves_and_a_redelivery_runs_nothing_again() {
    let (base, calls) = scripted_stripe(stripe_script(false)).await;
    let socket = SocketStandIn::start().await;
    let app = spawn_socket_app(&base, &socket).await;
    let amount = Money::new(3900, Currency::parse("eur").expect("eur"));
    let (case, statuses) = refund_case_for("cus_Approve1", "ch_Approve1", amount, 3600);
    put_case(&app.store, &case, &statuses).await;
    socket.wait_connections(1).await;
    socket.hello();
    readyz_becomes(&app, 200).await;

    let response_url = app.slack.response_url();
    let click = serde_json::json!({
        "envelope_id": "env-click-1", "type": "interactive", "accepts_response_payload": false,
        "retry_attempt": 0, "retry_reason": "",
        "payload": click_payload("approve_action", &value(&case, "a2"), APPROVER_1, &response_url)
    });
    socket.send_json(&click);
    let ack = socket.ack_of("env-click-1").await;
    assert!(ack.get("payload").is_none(), "a bare ack: {ack}");
    assert!(
        app.answer_at(&response_url).await.contains("Done"),
        "the approver hears the refund ran"
    );
    assert!(matches!(
        status(&app.store, &case, "a2").await,
        ActionStatus::Succeeded { .. }
    ));
    app.slack.wait_for("chat.update", 1).await;

    // Slack redelivers an envelope it thinks unacked: acked again, run once.
    let mut again = click.clone();
    again["retry_attempt"] = serde_json::json!(1);
    again["retry_reason"] = serde_json::json!("timeout");
    socket.send_json(&again);
    for _ in 0..300 {
        if socket.acks_of("env-click-1") >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(socket.acks_of("env-click-1"), 2, "the redelivery is acked");
    let refunds = calls
        .lock()
        .expect("calls")
        .iter()
        .filter(|c| c.method == "POST")
        .count();
    assert_eq!(refunds, 1, "one refund for two deliveries");
}

#[tokio::test]
async fn a_refused_app_token_keeps_readyz_at_503_and_healthz_at_200() {
    let socket = SocketStandIn::start().await;
    let slack = SlackStandIn::start().await;
    slack.fail("apps.connections.open", "invalid_auth");
    let app = spawn_socket_app_with(&closed_port_url(), slack, &socket).await;

    // It keeps trying (the token may be replaced), and stays not ready.
    app.slack.wait_for("apps.connections.open", 2).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 503);
    assert!(
        ready
            .body
            .contains("app token refused by apps.connections.open: invalid_auth"),
        "{}",
        ready.body
    );
    assert_eq!(app.get("/healthz").await.status, 200, "alive all the same");
    assert_eq!(
        socket.connections.load(Ordering::SeqCst),
        0,
        "no websocket without a URL"
    );
}

#[tokio::test]
async fn a_lost_connection_is_not_ready_until_the_new_one_says_hello() {
    let socket = SocketStandIn::start().await;
    let app = spawn_socket_app(&closed_port_url(), &socket).await;
    socket.wait_connections(1).await;
    socket.hello();
    readyz_becomes(&app, 200).await;

    socket.send(Message::Close(None));
    let down = readyz_becomes(&app, 503).await;
    assert!(down.contains("reconnecting"), "{down}");
    socket.wait_connections(2).await;
    assert_eq!(
        app.get("/readyz").await.status,
        503,
        "no hello on the new one yet"
    );
    socket.hello();
    readyz_becomes(&app, 200).await;
    assert_eq!(app.slack.calls_to("apps.connections.open").len(), 2);
}

/// The real binary in Socket Mode, logging everything (`RUST_LOG=trace`)
/// as JSON; returns the child, its address and the readers of every line it
/// writes (stdout and stderr), which end when the child has exited.
async fn serve_socket_mode(
    slack: &SlackStandIn,
    prefix: &str,
) -> (tokio::process::Child, String, Readers) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_billing-triage"))
        .arg("serve")
        .env_clear()
        .env("SLACK_APP_TOKEN", APP_TOKEN)
        .env("SLACK_BOT_TOKEN", "xoxb-test-token")
        .env("SLACK_API_URL", format!("{}/api/", slack.base_url))
        .env("STRIPE_SECRET_KEY", "sk_test_localstripe")
        .env("STRIPE_API_BASE", closed_port_url())
        .env("REDIS_URL", redis_url())
        .env("REDIS_PREFIX", prefix)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("BILLING_APPROVERS", APPROVER_1)
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let log = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("piped stderr");
    let err_log = Arc::clone(&log);
    let err_reader = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            err_log.lock().expect("log lock").push(line);
        }
    });
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let addr = serving_addr(&mut lines, |line| {
        log.lock().expect("log lock").push(line.to_owned());
    })
    .await;
    let out_log = Arc::clone(&log);
    let out_reader = tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            out_log.lock().expect("log lock").push(line);
        }
    });
    let readers = Readers {
        log,
        tasks: vec![err_reader, out_reader],
    };
    (child, format!("http://{addr}"), readers)
}

struct Readers {
    log: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Readers {
    /// Everything the child wrote, once it has exited.
    async fn all(self) -> String {
        for task in self.tasks {
            task.await.expect("the log reader ends at EOF");
        }
        self.log.lock().expect("log lock").join("\n")
    }
}

#[tokio::test]
async fn a_malformed_envelope_is_acked_by_id_and_none_of_it_is_logged_and_sigterm_closes_the_socket(
) {
    const EMAIL: &str = "jane.doe.socket@example.org";
    const HOOK: &str = "hooks.slack.com/commands/T0001/5550001/SeCrEtHoOk";
    let socket = SocketStandIn::start().await;
    let slack = SlackStandIn::start().await;
    slack.serve_socket_at(&socket.url);
    let store = test_store().await;
    let (mut child, addr, readers) = serve_socket_mode(&slack, store.prefix()).await;
    let app = TestApp {
        addr,
        slack,
        store,
        shutdown: None,
    };
    socket.wait_connections(1).await;
    socket.hello();
    readyz_becomes(&app, 200).await;

    // No user, channel or command: not a slash command we can read.
    socket.send_json(&serde_json::json!({
        "envelope_id": "env-bad-1", "type": "slash_commands", "accepts_response_payload": true,
        "payload": {"text": format!("refund me, I am {EMAIL}"), "response_url": format!("https://{HOOK}")}
    }));
    // Not even JSON to its end.
    socket.send(Message::text(format!(
        r#"{{"envelope_id":"env-bad-2","type":"interactive","payload":{{"user":{{"email":"{EMAIL}"}},"response_url":"https://{HOOK}""#
    )));
    let ack = socket.ack_of("env-bad-1").await;
    assert!(ack.get("payload").is_none(), "a bare ack: {ack}");
    // A well-formed command after them still runs.
    let response_url = app.slack.response_url();
    socket.send(slash_envelope(
        "env-help-1",
        "help",
        REQUESTER,
        &response_url,
    ));
    socket.ack_of("env-help-1").await;

    terminate(&mut child).await;
    let log = readers.all().await;
    assert_eq!(
        socket.close_frames.load(Ordering::SeqCst),
        1,
        "the bot wrote its close frame before exiting: {log}"
    );
    assert!(
        log.contains("unreadable Socket Mode envelope") && log.contains("env-bad-1"),
        "the bad envelope is logged by its id: {log}"
    );
    assert!(log.contains("Socket Mode websocket closed"), "{log}");
    for secret in [
        EMAIL,
        "hooks.slack.com",
        "SeCrEtHoOk",
        "refund me",
        "test-ticket",
        APP_TOKEN,
        "xoxb-test-token",
    ] {
        assert!(!log.contains(secret), "{secret:?} reached the log:\n{log}");
    }
}

#[tokio::test]
async fn slacks_disconnect_closes_the_old_socket_and_opens_a_new_one() {
    let socket = SocketStandIn::start().await;
    let app = spawn_socket_app(&closed_port_url(), &socket).await;
    socket.wait_connections(1).await;
    socket.hello();
    readyz_becomes(&app, 200).await;

    socket.send_json(&serde_json::json!({
        "type": "disconnect", "reason": "refresh_requested",
        "debug_info": {"host": "applink-test"}
    }));
    socket.wait_connections(2).await;
    assert_eq!(
        socket.close_frames.load(Ordering::SeqCst),
        1,
        "the old socket was closed with a close frame"
    );
    assert_eq!(app.slack.calls_to("apps.connections.open").len(), 2);
    let between = app.get("/readyz").await;
    assert_eq!(between.status, 503, "{}", between.body);
    socket.hello();
    readyz_becomes(&app, 200).await;
}

#[tokio::test]
async fn a_duplicates_approve_through_the_socket_cancels_it_and_refunds_exactly_its_own_charge() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let dup = scenario(&seeded, "duplicate personal subscription");
    let socket = SocketStandIn::start().await;
    let app = spawn_socket_app(&stripe.base_url(), &socket).await;
    socket.wait_connections(1).await;
    socket.hello();
    readyz_becomes(&app, 200).await;

    let response_url = app.slack.response_url();
    socket.send(slash_envelope(
        "env-dup-1",
        &format!("lookup {}", dup.customer),
        REQUESTER,
        &response_url,
    ));
    socket.ack_of("env-dup-1").await;
    let posts = app.slack.wait_for("chat.postMessage", 1).await;
    let card = posts
        .iter()
        .find(|c| c.body.get("thread_ts").is_none())
        .expect("a card was posted");
    let case = app
        .store
        .load_case(&crate::fixtures::case_id_of(&card.body))
        .await
        .expect("redis")
        .expect("the case is stored");
    let (key, refunds) = case
        .actions
        .iter()
        .find_map(|a| match &a.kind {
            billing_triage::domain::ActionKind::CancelDuplicate { refunds, .. } => {
                Some((a.key.clone(), refunds.clone()))
            }
            _ => None,
        })
        .expect("a cancel-duplicate proposal");
    assert_eq!(refunds.len(), 1, "the duplicate's own charge: {refunds:?}");
    let own = refunds[0].charge.to_string();

    let click = serde_json::json!({
        "envelope_id": "env-dup-click", "type": "interactive", "accepts_response_payload": false,
        "retry_attempt": 0, "retry_reason": "",
        "payload": click_payload("approve_action", &value(&case, &key), APPROVER_1, &response_url)
    });
    socket.send_json(&click);
    socket.ack_of("env-dup-click").await;
    assert!(
        app.answer_at(&response_url).await.contains("Done"),
        "the approver hears it ran"
    );
    let refunded = crate::fixtures::refunds_in_localstripe(&stripe, &own).await;
    assert_eq!(refunded.len(), 1, "{refunded:?}");
    assert_eq!(refunded[0]["amount"], refunds[0].amount.minor);
    for other in case.snapshot.charges().filter(|c| c.id.as_str() != own) {
        assert!(
            crate::fixtures::refunds_in_localstripe(&stripe, other.id.as_str())
                .await
                .is_empty(),
            "{} is not refunded",
            other.id
        );
    }
}

#[tokio::test]
async fn app_home_opened_through_the_socket_publishes_the_home_once_per_event() {
    let (base, _calls) = scripted_stripe(Arc::new(|_, _| (500, "{}".to_owned()))).await;
    let socket = SocketStandIn::start().await;
    let app = spawn_socket_app(&base, &socket).await;
    socket.wait_connections(1).await;
    socket.hello();
    readyz_becomes(&app, 200).await;
    let event = serde_json::json!({
        "type": "event_callback", "event_id": "Ev0SOCKHOME", "event_time": 1,
        "event": {"type": "app_home_opened", "user": APPROVER_1, "tab": "home", "event_ts": "1.2"}
    });
    // Slack redelivers an unacknowledged envelope with a new envelope id.
    for envelope in ["env-home-1", "env-home-2"] {
        socket.send_json(&serde_json::json!({
            "envelope_id": envelope, "type": "events_api", "accepts_response_payload": false,
            "retry_attempt": 0, "retry_reason": "", "payload": event
        }));
        socket.ack_of(envelope).await;
    }
    let published = app.slack.wait_for("views.publish", 1).await;
    assert_eq!(published[0].body["user_id"], APPROVER_1);
    assert_eq!(published[0].body["view"]["type"], "home");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        app.slack.calls_to("views.publish").len(),
        1,
        "one event, one Home"
    );
}
