//! Test harness: `spawn_app` starts the real server in-process on a random
//! port, with its own Redis key prefix, a local Slack Web API stand-in
//! (`SlackStandIn`) behind `SLACK_API_URL`, and a Stripe base URL of the
//! test's choosing (localstripe, or a stand-in that fails on purpose).
//! Requests are signed exactly as Slack signs them.

use billing_triage::config::Config;
use billing_triage::startup::App;
use billing_triage::store::Store;
use bytes::Bytes;
use hmac::Mac;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

pub const SIGNING_SECRET: &str = "test-signing-secret-8f742231b10e";
pub const REQUESTER: &str = "U0REQUEST1";
pub const APPROVER_1: &str = "U0APPROVE1";
pub const APPROVER_2: &str = "U0APPROVE2";
pub const CHANNEL: &str = "C0BILLING1";

/// The Redis every test uses, each under its own prefix.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A fresh, unique key prefix.
pub fn unique_prefix() -> String {
    format!("bt-test:{}:", uuid::Uuid::new_v4().simple())
}

/// A store on a fresh prefix; panics with how to start Redis if it is down.
pub async fn test_store() -> Store {
    store_on(&unique_prefix()).await
}

/// Another store (its own connection, like another replica) on `prefix`.
pub async fn store_on(prefix: &str) -> Store {
    let store = Store::new(&redis_url(), prefix).expect("REDIS_URL is a redis:// URL");
    if let Err(e) = store.ping().await {
        panic!(
            "Redis at {} does not answer ({e}). Start one with `redis-server --daemonize yes --port 6379 --save ''` \
             or point REDIS_URL at one; `bash scripts/dev test` does this for you",
            redis_url()
        );
    }
    store
}

/// One call the bot made to the Slack stand-in.
#[derive(Debug, Clone)]
pub struct SlackCall {
    /// `chat.postMessage`, `chat.update`, … or `response_url` for webhooks.
    pub method: String,
    /// The request path (tells `response_url`s apart).
    pub path: String,
    pub body: serde_json::Value,
}

/// A local Slack Web API: records every call and answers like Slack.
#[derive(Clone)]
pub struct SlackStandIn {
    pub base_url: String,
    calls: Arc<Mutex<Vec<SlackCall>>>,
    /// Method name → Slack error code to answer with instead of ok.
    failures: Arc<Mutex<HashMap<String, String>>>,
    /// What `apps.connections.open` answers (a Socket Mode stand-in's URL).
    socket_url: Arc<Mutex<String>>,
    /// What `users.info`, `conversations.info` and `usergroups.users.list`
    /// answer, by id; unnamed users are full members of this workspace and
    /// unnamed channels its own.
    facts: Facts,
}

/// The Web API's facts about users, channels and user groups.
#[derive(Clone, Default)]
pub struct Facts {
    users: Arc<Mutex<HashMap<String, serde_json::Value>>>,
    channels: Arc<Mutex<HashMap<String, serde_json::Value>>>,
    groups: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

/// The stand-in's workspace.
pub const TEAM: &str = "T0001";

impl Facts {
    fn answer(&self, method: &str, body: &serde_json::Value) -> Option<serde_json::Value> {
        let arg = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
        Some(match method {
            "auth.test" => {
                serde_json::json!({"ok": true, "team_id": TEAM, "user_id": "U0BOT00001"})
            }
            "users.info" => {
                let id = arg("user");
                let user = self.users.lock().expect("facts").get(&id).cloned().unwrap_or_else(
                    || serde_json::json!({"id": id, "team_id": TEAM, "is_restricted": false, "is_ultra_restricted": false}),
                );
                serde_json::json!({"ok": true, "user": user})
            }
            "conversations.info" => {
                let id = arg("channel");
                let channel = self.channels.lock().expect("facts").get(&id).cloned().unwrap_or_else(
                    || serde_json::json!({"id": id, "is_channel": !id.starts_with('D'), "is_im": id.starts_with('D'), "is_shared": false, "is_ext_shared": false}),
                );
                serde_json::json!({"ok": true, "channel": channel})
            }
            "usergroups.users.list" => {
                let users = self
                    .groups
                    .lock()
                    .expect("facts")
                    .get(&arg("usergroup"))
                    .cloned()
                    .unwrap_or_default();
                serde_json::json!({"ok": true, "users": users})
            }
            _ => return None,
        })
    }
}

impl SlackStandIn {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Slack stand-in");
        let port = listener.local_addr().expect("local addr").port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let failures: Arc<Mutex<HashMap<String, String>>> = Arc::new(Mutex::new(HashMap::new()));
        let socket_url = Arc::new(Mutex::new(String::new()));
        let facts = Facts::default();
        let (c, f, s, facts_in) = (
            Arc::clone(&calls),
            Arc::clone(&failures),
            Arc::clone(&socket_url),
            facts.clone(),
        );
        tokio::spawn(async move {
            let mut ts_counter = 0u64;
            let ts_counter = Arc::new(Mutex::new(std::mem::take(&mut ts_counter)));
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (c, f, s, counter, facts) = (
                    Arc::clone(&c),
                    Arc::clone(&f),
                    Arc::clone(&s),
                    Arc::clone(&ts_counter),
                    facts_in.clone(),
                );
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: Request<hyper::body::Incoming>| {
                            let (c, f, s, counter, facts) = (
                                Arc::clone(&c),
                                Arc::clone(&f),
                                Arc::clone(&s),
                                Arc::clone(&counter),
                                facts.clone(),
                            );
                            async move {
                                let path = req.uri().path().to_owned();
                                let query = req.uri().query().unwrap_or_default().to_owned();
                                let is_json = req
                                    .headers()
                                    .get("content-type")
                                    .and_then(|v| v.to_str().ok())
                                    .is_some_and(|v| v.starts_with("application/json"));
                                let body = req
                                    .into_body()
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let body: serde_json::Value = if is_json {
                                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)
                                } else {
                                    // A read's arguments are in the query (GET).
                                    let raw: &[u8] = if body.is_empty() {
                                        query.as_bytes()
                                    } else {
                                        &body
                                    };
                                    let form: HashMap<String, String> =
                                        serde_urlencoded::from_bytes(raw).unwrap_or_default();
                                    serde_json::to_value(form).unwrap_or(serde_json::Value::Null)
                                };
                                let method = if path.starts_with("/response/") {
                                    "response_url".to_owned()
                                } else {
                                    path.trim_start_matches("/api/").to_owned()
                                };
                                c.lock().expect("calls lock").push(SlackCall {
                                    method: method.clone(),
                                    path: path.clone(),
                                    body: body.clone(),
                                });
                                let refused = {
                                    let f = f.lock().expect("failures lock");
                                    f.get(&method).cloned().or_else(|| {
                                        body["blocks"]
                                            .as_array()
                                            .into_iter()
                                            .flatten()
                                            .filter_map(|b| b["type"].as_str())
                                            .find_map(|t| f.get(&format!("{method}:{t}")).cloned())
                                    })
                                };
                                // `http:<status>x<times>`: an HTTP error, `times` times.
                                if let Some((status, times)) = refused
                                    .as_deref()
                                    .and_then(|r| r.strip_prefix("http:"))
                                    .and_then(|r| r.split_once('x'))
                                    .and_then(|(s, t)| {
                                        Some((s.parse::<u16>().ok()?, t.parse::<u32>().ok()?))
                                    })
                                {
                                    let mut f = f.lock().expect("failures lock");
                                    if times <= 1 {
                                        f.remove(&method);
                                    } else {
                                        f.insert(
                                            method.clone(),
                                            format!("http:{status}x{}", times - 1),
                                        );
                                    }
                                    let mut resp = Response::new(Full::new(Bytes::from_static(
                                        b"upstream error",
                                    )));
                                    *resp.status_mut() =
                                        hyper::StatusCode::from_u16(status).expect("status");
                                    return Ok::<_, std::convert::Infallible>(resp);
                                }
                                let answer = match refused {
                                    Some(code) => serde_json::json!({ "ok": false, "error": code }),
                                    None => {
                                        let mut n = counter.lock().expect("counter lock");
                                        *n += 1;
                                        let channel = body
                                            .get("channel")
                                            .cloned()
                                            .unwrap_or(serde_json::json!(CHANNEL));
                                        let ts = body.get("ts").cloned().unwrap_or(
                                            serde_json::json!(format!("1700000000.{:06}", *n)),
                                        );
                                        let text = body
                                            .get("text")
                                            .cloned()
                                            .unwrap_or(serde_json::json!(""));
                                        // The shapes Slack answers with, as far as clients read them.
                                        if let Some(answer) = facts.answer(&method, &body) {
                                            answer
                                        } else {
                                            match method.as_str() {
                                                "views.open" | "views.publish" => {
                                                    serde_json::json!({ "ok": true, "view": body.get("view").cloned().unwrap_or_default() })
                                                }
                                                "chat.getPermalink" => {
                                                    serde_json::json!({ "ok": true, "channel": channel, "permalink": format!("https://example.slack.com/archives/{}/p1700000000000001", channel.as_str().unwrap_or(CHANNEL)) })
                                                }
                                                "chat.postEphemeral" => {
                                                    serde_json::json!({ "ok": true, "message_ts": ts })
                                                }
                                                "conversations.history" => channel_history(
                                                    &c.lock().expect("calls lock"),
                                                    &body,
                                                ),
                                                "apps.connections.open" => {
                                                    let url =
                                                        s.lock().expect("socket url lock").clone();
                                                    serde_json::json!({ "ok": true, "url": url })
                                                }
                                                _ => serde_json::json!({
                                                    "ok": true, "channel": channel, "ts": ts, "text": text,
                                                    "message": { "type": "message", "text": text, "ts": ts, "user": "U0BOT00001" }
                                                }),
                                            }
                                        }
                                    }
                                };
                                let mut resp =
                                    Response::new(Full::new(Bytes::from(answer.to_string())));
                                resp.headers_mut().insert(
                                    "content-type",
                                    "application/json".parse().expect("static header"),
                                );
                                Ok::<_, std::convert::Infallible>(resp)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            calls,
            failures,
            socket_url,
            facts,
        }
    }

    /// `users.info` answers this for `user` (merged over a full member).
    pub fn set_user(&self, user: &str, fields: serde_json::Value) {
        let mut facts = serde_json::json!({"id": user, "team_id": TEAM});
        if let (Some(into), Some(from)) = (facts.as_object_mut(), fields.as_object()) {
            into.extend(from.clone());
        }
        self.facts
            .users
            .lock()
            .expect("facts")
            .insert(user.to_owned(), facts);
    }

    /// `conversations.info` answers this for `channel` (merged over an
    /// internal channel).
    pub fn set_channel(&self, channel: &str, fields: serde_json::Value) {
        let mut facts = serde_json::json!({"id": channel, "is_channel": true, "is_im": false});
        if let (Some(into), Some(from)) = (facts.as_object_mut(), fields.as_object()) {
            into.extend(from.clone());
        }
        self.facts
            .channels
            .lock()
            .expect("facts")
            .insert(channel.to_owned(), facts);
    }

    /// `usergroups.users.list` answers these members for `group`.
    pub fn set_group(&self, group: &str, members: &[&str]) {
        self.facts.groups.lock().expect("facts").insert(
            group.to_owned(),
            members.iter().map(|m| (*m).to_owned()).collect(),
        );
    }

    /// Makes `apps.connections.open` hand out `url` (Socket Mode tests).
    pub fn serve_socket_at(&self, url: &str) {
        *self.socket_url.lock().expect("socket url lock") = url.to_owned();
    }

    /// A `response_url` that lands in this stand-in.
    pub fn response_url(&self) -> String {
        format!(
            "{}/response/T1/{}",
            self.base_url,
            uuid::Uuid::new_v4().simple()
        )
    }

    /// Makes the stand-in refuse `method` with `code`; `method:block_type`
    /// (e.g. `chat.update:data_visualization`) refuses only the calls whose
    /// blocks hold that type, as a workspace without the block does.
    /// `method` answers HTTP `status` the next `times` times.
    pub fn fail_http(&self, method: &str, status: u16, times: u32) {
        self.fail(method, &format!("http:{status}x{times}"));
    }

    pub fn fail(&self, method: &str, code: &str) {
        self.failures
            .lock()
            .expect("failures lock")
            .insert(method.to_owned(), code.to_owned());
    }

    /// A message someone else posts in `channel` (a person, another app).
    pub fn someone_posts(&self, channel: &str, text: &str) {
        self.calls.lock().expect("calls lock").push(SlackCall {
            method: "chat.postMessage".to_owned(),
            path: "/api/chat.postMessage".to_owned(),
            body: serde_json::json!({"channel": channel, "text": text}),
        });
    }

    pub fn calls(&self) -> Vec<SlackCall> {
        self.calls.lock().expect("calls lock").clone()
    }

    pub fn calls_to(&self, method: &str) -> Vec<SlackCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// Waits until `n` calls to `method` arrived (the bot works in the
    /// background after acknowledging); panics after 15 s.
    pub async fn wait_for(&self, method: &str, n: usize) -> Vec<SlackCall> {
        for _ in 0..300 {
            let calls = self.calls_to(method);
            if calls.len() >= n {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} call(s) to {method}; the bot made these: {:#?}",
            self.calls()
        );
    }
}

/// Messages per `conversations.history` page in the stand-in, whatever
/// `limit` asks (Slack may answer fewer): reading a witness channel then
/// takes several pages, as it does in a real one.
const HISTORY_PAGE: usize = 3;

/// What `conversations.history` answers: the top-level messages posted in
/// the channel, newest first, in pages; the cursor is an offset.
fn channel_history(calls: &[SlackCall], body: &serde_json::Value) -> serde_json::Value {
    let channel = body["channel"].as_str().unwrap_or_default();
    let posted: Vec<serde_json::Value> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.method == "chat.postMessage"
                && c.body["channel"] == channel
                && c.body.get("thread_ts").is_none()
        })
        .map(|(i, c)| {
            serde_json::json!({"type": "message", "ts": format!("1700000000.{:06}", i + 1), "text": c.body["text"]})
        })
        .rev()
        .collect();
    let from: usize = body["cursor"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let page: Vec<serde_json::Value> = posted
        .iter()
        .skip(from)
        .take(HISTORY_PAGE)
        .cloned()
        .collect();
    let next = from + page.len();
    let cursor = if next < posted.len() {
        next.to_string()
    } else {
        String::new()
    };
    serde_json::json!({"ok": true, "messages": page, "has_more": !cursor.is_empty(), "response_metadata": {"next_cursor": cursor}})
}

/// A stand-in Stripe that answers every request with one status and body.
pub async fn failing_stripe(status: u16, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the failing Stripe");
    let port = listener.local_addr().expect("local addr").port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |_req: Request<hyper::body::Incoming>| async move {
                        let mut resp =
                            Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                        *resp.status_mut() = StatusCode::from_u16(status).expect("valid status");
                        Ok::<_, std::convert::Infallible>(resp)
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/")
}

/// A base URL where nothing listens (a port below the ephemeral range, so
/// no test listener can take it meanwhile; see `localstripe::free_port`).
pub fn closed_port_url() -> String {
    format!("http://127.0.0.1:{}/", crate::localstripe::free_port())
}

/// The settings a test app runs with; tests change fields, not the env.
pub fn test_config(stripe_base: &str, slack: &SlackStandIn, prefix: &str) -> Config {
    let mut vars = test_env(slack);
    vars.insert("STRIPE_API_BASE", stripe_base.to_owned());
    vars.insert("REDIS_PREFIX", prefix.to_owned());
    Config::from_lookup(|name| vars.get(name).cloned(), true).expect("test config is valid")
}

/// The settings the tests run with, as environment variables.
pub fn test_env(slack: &SlackStandIn) -> HashMap<&'static str, String> {
    HashMap::from([
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_owned()),
        ("SLACK_BOT_TOKEN", "xoxb-test-token".to_owned()),
        ("SLACK_API_URL", format!("{}/api/", slack.base_url)),
        ("STRIPE_SECRET_KEY", "sk_test_localstripe".to_owned()),
        ("STRIPE_API_BASE", "http://127.0.0.1:1/".to_owned()),
        ("REDIS_URL", redis_url()),
        ("REDIS_PREFIX", "test:".to_owned()),
        ("BIND_ADDR", "127.0.0.1:0".to_owned()),
        (
            "BILLING_APPROVERS",
            format!("{APPROVER_1},{APPROVER_2},{REQUESTER}"),
        ),
        ("BILLING_REFUND_LIMIT", "10000".to_owned()),
        // Tests that count posts are not about the approvers' DMs; the
        // App Home tests turn them on.
        ("BILLING_APPROVAL_NOTIFY", "off".to_owned()),
    ])
}

pub struct TestApp {
    pub addr: String,
    pub slack: SlackStandIn,
    pub store: Store,
    pub shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the bot against `stripe_base` with a fresh Redis prefix.
pub async fn spawn_app(stripe_base: &str) -> TestApp {
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let config = test_config(stripe_base, &slack, store.prefix());
    spawn_with(config, slack, store).await
}

/// Starts the bot with a given config (e.g. a second replica on the same prefix).
pub async fn spawn_with(config: Config, slack: SlackStandIn, store: Store) -> TestApp {
    init_test_log();
    let app = App::build(config).await.expect("the app builds");
    let addr = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        slack,
        store,
        shutdown: Some(tx),
    }
}

/// Logs only when TEST_LOG is set.
pub fn init_test_log() {
    if std::env::var("TEST_LOG").is_ok() {
        billing_triage::telemetry::init(
            billing_triage::telemetry::LogFormat::Text,
            std::io::stderr,
        );
    } else {
        billing_triage::telemetry::init(billing_triage::telemetry::LogFormat::Text, std::io::sink);
    }
}

/// An action key written in a test (`"a2"`).
pub fn akey(raw: &str) -> billing_triage::domain::ActionKey {
    billing_triage::domain::ActionKey::parse(raw).expect("a valid test action key")
}

pub fn now_ts() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `v0=` HMAC-SHA256 as Slack computes it.
pub fn sign(secret: &str, ts: &str, body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {}", self.body))
    }
}

/// Sends one HTTP request; `headers` are added as given.
pub async fn send(method: &str, url: &str, headers: &[(&str, String)], body: String) -> Reply {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .expect("valid request");
    let resp = client.request(req).await.expect("the server answers");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

impl TestApp {
    /// POSTs a body to a Slack route, signed now with the right secret.
    pub async fn post_signed(&self, path: &str, content_type: &str, body: String) -> Reply {
        let ts = now_ts().to_string();
        let sig = sign(SIGNING_SECRET, &ts, &body);
        send(
            "POST",
            &format!("{}{path}", self.addr),
            &[
                ("content-type", content_type.to_owned()),
                ("x-slack-request-timestamp", ts),
                ("x-slack-signature", sig),
            ],
            body,
        )
        .await
    }

    /// `/billing <text>` as `user`, in the real form shape Slack sends.
    pub async fn slash(&self, text: &str, user: &str) -> (Reply, String) {
        self.slash_in(text, user, CHANNEL).await
    }

    /// [`Self::slash`] typed in `channel`.
    pub async fn slash_in(&self, text: &str, user: &str, channel: &str) -> (Reply, String) {
        let response_url = self.slack.response_url();
        let body = serde_urlencoded::to_string([
            ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
            ("team_id", "T0001"),
            ("team_domain", "example"),
            ("enterprise_id", "E0001"),
            ("enterprise_name", "Globular%20Construct%20Inc"),
            ("channel_id", channel),
            ("channel_name", "billing-ops"),
            ("user_id", user),
            ("user_name", "operator"),
            ("command", "/billing"),
            ("text", text),
            ("response_url", response_url.as_str()),
            ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
            ("api_app_id", "A123456"),
        ])
        .expect("form encodes");
        (
            self.post_signed("/slack/commands", "application/x-www-form-urlencoded", body)
                .await,
            response_url,
        )
    }

    /// An interaction payload (`payload=<json>`), signed.
    pub async fn interact(&self, payload: &serde_json::Value) -> Reply {
        let body =
            serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form encodes");
        self.post_signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            body,
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        send("GET", &format!("{}{path}", self.addr), &[], String::new()).await
    }
}

/// One request a recording Stripe stand-in received.
#[derive(Debug, Clone)]
pub struct StripeCall {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    /// The form body (POST) or query (GET, DELETE), as sent.
    pub form: String,
}

/// How a scripted Stripe stand-in answers: (method, path) → (status, JSON body).
pub type StripeScript = Arc<dyn Fn(&str, &str) -> (u16, String) + Send + Sync>;

/// A Stripe stand-in that answers by `script` and records what it was sent
/// (to check that no call happened, or that retries reuse their key).
pub async fn scripted_stripe(script: StripeScript) -> (String, Arc<Mutex<Vec<StripeCall>>>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the scripted Stripe");
    let port = listener.local_addr().expect("local addr").port();
    let calls: Arc<Mutex<Vec<StripeCall>>> = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&calls);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (recorded, script) = (Arc::clone(&recorded), Arc::clone(&script));
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (recorded, script) = (Arc::clone(&recorded), Arc::clone(&script));
                        async move {
                            let (method, path) =
                                (req.method().to_string(), req.uri().path().to_owned());
                            let query = req.uri().query().unwrap_or_default().to_owned();
                            let idempotency_key = req
                                .headers()
                                .get("idempotency-key")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let form = if body.is_empty() {
                                query
                            } else {
                                String::from_utf8_lossy(&body).into_owned()
                            };
                            recorded.lock().expect("calls lock").push(StripeCall {
                                method: method.clone(),
                                path: path.clone(),
                                idempotency_key,
                                form,
                            });
                            let (status, body) = script(&method, &path);
                            let mut resp = Response::new(Full::new(Bytes::from(body)));
                            *resp.status_mut() =
                                StatusCode::from_u16(status).expect("valid status");
                            resp.headers_mut().insert(
                                "content-type",
                                "application/json".parse().expect("static header"),
                            );
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://127.0.0.1:{port}/"), calls)
}

/// A TCP proxy in front of Redis that a test can cut and restore, to see
/// the bot with Redis unreachable and then back, or hold (Redis hears
/// nothing, so answers nothing, until released).
#[derive(Clone)]
pub struct RedisProxy {
    pub url: String,
    up: Arc<std::sync::atomic::AtomicBool>,
    generation: Arc<std::sync::atomic::AtomicU64>,
    hold: Arc<tokio::sync::watch::Sender<bool>>,
    /// What reached the proxy while it held, not yet forwarded.
    held: Arc<Mutex<Vec<u8>>>,
}

impl RedisProxy {
    pub async fn start() -> Self {
        let target = redis_url()
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Redis proxy");
        let port = listener.local_addr().expect("local addr").port();
        let proxy = Self {
            url: format!("redis://127.0.0.1:{port}"),
            up: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            generation: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            hold: Arc::new(tokio::sync::watch::channel(false).0),
            held: Arc::new(Mutex::new(Vec::new())),
        };
        let shared = proxy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !shared.up.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                tokio::spawn(shared.clone().pipe(inbound, target.clone()));
            }
        });
        proxy
    }

    /// One connection, until either side ends or the proxy is cut.
    async fn pipe(self, inbound: tokio::net::TcpStream, target: String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
            return;
        };
        let born = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let (mut from_bot, mut to_bot) = inbound.into_split();
        let (mut from_redis, mut to_redis) = outbound.into_split();
        // Read on while held (so everything the bot sent shows in `held`);
        // forward only once released.
        let (chunks, mut to_forward) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let read = async {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match from_bot.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if *self.hold.borrow() {
                    self.held.lock().expect("held").extend_from_slice(&buf[..n]);
                }
                if chunks.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        };
        let forward = async {
            let mut hold = self.hold.subscribe();
            while let Some(chunk) = to_forward.recv().await {
                let _ = hold.wait_for(|held| !*held).await;
                if to_redis.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        };
        let commands = async {
            tokio::join!(read, forward);
        };
        let answers = tokio::io::copy(&mut from_redis, &mut to_bot);
        let cut = async {
            while self.generation.load(std::sync::atomic::Ordering::SeqCst) == born {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::select! { () = commands => {}, _ = answers => {}, () = cut => {} }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Keeps every command from Redis (so no answer comes) until
    /// [`Self::release`]; the connections stay open.
    pub fn hold(&self) {
        self.hold.send_replace(true);
    }

    /// Forwards what was held, and everything after it.
    pub fn release(&self) {
        self.held.lock().expect("held").clear();
        self.hold.send_replace(false);
    }

    /// What the bot sent Redis while held, as text (RESP is text enough).
    pub fn held_text(&self) -> String {
        String::from_utf8_lossy(&self.held.lock().expect("held")).into_owned()
    }
}

/// A button click on a case card as Slack sends it (the `payload` of
/// `/slack/interactions`, or of a Socket Mode `interactive` envelope).
pub fn click_payload(
    action_id: &str,
    value: &str,
    user: &str,
    response_url: &str,
) -> serde_json::Value {
    let action = serde_json::json!({"type": "button", "action_id": action_id, "block_id": "buttons_x", "value": value,
                 "text": {"type": "plain_text", "text": "Approve"}, "action_ts": "1700000001.000001"});
    block_actions_payload(action, user, response_url)
}

/// A `block_actions` interaction on the case card in [`CHANNEL`] carrying
/// one action (a button, a select…), in the shape Slack sends.
pub fn block_actions_payload(
    action: serde_json::Value,
    user: &str,
    response_url: &str,
) -> serde_json::Value {
    serde_json::json!({
        "type": "block_actions",
        "user": {"id": user, "username": "op", "team_id": "T0001"},
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": CHANNEL, "is_ephemeral": false},
        "trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
        "team": {"id": "T0001", "domain": "example"},
        "channel": {"id": CHANNEL, "name": "billing-ops"},
        "message": {"type": "message", "ts": "1700000000.000001", "text": "case card"},
        "response_url": response_url,
        "actions": [action]
    })
}

/// Reads a `billing-triage serve` child's JSON log lines until its
/// "serving" line and returns the address it names (so no port is guessed
/// and raced for); `seen` gets every line read.
pub async fn serving_addr(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    mut seen: impl FnMut(&str),
) -> String {
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen(&line);
            if !line.contains("\"serving\"") {
                continue;
            }
            let json: serde_json::Value = serde_json::from_str(&line).expect("JSON log line");
            return json["addr"]
                .as_str()
                .expect("the serving line names its address")
                .to_owned();
        }
        panic!("serve exited before it was serving");
    })
    .await
    .expect("serve starts within 30 s")
}

/// Sends SIGTERM to a `serve` child, as an orchestrator does, and waits
/// (25 s at most) for a clean exit.
pub async fn terminate(child: &mut tokio::process::Child) {
    let pid = child.id().expect("the child runs").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "SIGTERM delivered");
    let status = tokio::time::timeout(Duration::from_secs(25), child.wait())
        .await
        .expect("the process exits within the grace period")
        .expect("wait works");
    assert!(status.success(), "a clean exit after SIGTERM: {status:?}");
}

impl TestApp {
    /// A button click on a case card, in the real `block_actions` shape.
    pub async fn click(&self, action_id: &str, value: &str, user: &str) -> (Reply, String) {
        let action = serde_json::json!({"type": "button", "action_id": action_id, "block_id": "buttons_x", "value": value,
                     "text": {"type": "plain_text", "text": "Approve"}, "action_ts": "1700000001.000001"});
        self.block_action(action, user).await
    }

    /// An option chosen in a card's "More actions…" menu (a static select).
    pub async fn select(&self, action_id: &str, value: &str, user: &str) -> (Reply, String) {
        let action = serde_json::json!({"type": "static_select", "action_id": action_id, "block_id": action_id,
                     "selected_option": {"text": {"type": "plain_text", "text": "More actions…"}, "value": value},
                     "action_ts": "1700000001.000001"});
        self.block_action(action, user).await
    }

    /// One `block_actions` delivery on a case card; returns its `response_url`.
    async fn block_action(&self, action: serde_json::Value, user: &str) -> (Reply, String) {
        let response_url = self.slack.response_url();
        let payload = block_actions_payload(action, user, &response_url);
        (self.interact(&payload).await, response_url)
    }

    /// A modal submission, in the real `view_submission` shape.
    pub async fn submit_view(
        &self,
        callback_id: &str,
        private_metadata: &str,
        block: &str,
        input: &str,
        value: &str,
        user: &str,
    ) -> Reply {
        let values =
            serde_json::json!({block: {input: {"type": "plain_text_input", "value": value}}});
        self.interact(&view_submission(
            callback_id,
            private_metadata,
            values,
            user,
        ))
        .await
    }

    /// Waits until an answer arrived at this `response_url`; returns its text.
    pub async fn answer_at(&self, url: &str) -> String {
        self.answer_within(url, Duration::from_secs(15)).await
    }

    /// [`Self::answer_at`], waiting up to `wait`.
    pub async fn answer_within(&self, url: &str, wait: Duration) -> String {
        let path = url
            .split_once("/response/")
            .map(|(_, p)| format!("/response/{p}"))
            .unwrap_or_default();
        for _ in 0..wait.as_millis().div_ceil(50) {
            let found = self
                .slack
                .calls_to("response_url")
                .into_iter()
                .find(|c| c.path == path);
            if let Some(call) = found {
                return call.body["text"].as_str().unwrap_or_default().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no answer at {url}; the bot made these calls: {:#?}",
            self.slack.calls()
        );
    }
}

/// A modal submission in the real `view_submission` shape, with its
/// `state.values`.
pub fn view_submission(
    callback_id: &str,
    private_metadata: &str,
    values: serde_json::Value,
    user: &str,
) -> serde_json::Value {
    serde_json::json!({
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": user, "username": "op", "team_id": "T0001"},
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        // Slack gives every submission its own trigger id; the bot runs a
        // delivery once, so two equal submissions must differ here too.
        "trigger_id": format!("12321423423.333649436676.{}", uuid::Uuid::new_v4().simple()),
        "view": {
            "id": "V0001", "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
            "state": {"values": values}, "hash": "156772938.1827394"
        }
    })
}

/// Every audit entry under the store's prefix, in order.
pub async fn audit_entries_of_all(store: &Store) -> Vec<billing_triage::audit::AuditEntry> {
    audit_entries_with_ids(store)
        .await
        .into_iter()
        .map(|(_, entry)| entry)
        .collect()
}

/// [`audit_entries_of_all`], each with its stream id.
pub async fn audit_entries_with_ids(
    store: &Store,
) -> Vec<(String, billing_triage::audit::AuditEntry)> {
    let mut conn = store.conn().await.expect("connection");
    let reply: redis::streams::StreamRangeReply =
        redis::AsyncCommands::xrange_all(&mut conn, store.key("audit"))
            .await
            .expect("XRANGE");
    reply
        .ids
        .iter()
        .map(|id| {
            let redis::Value::BulkString(bytes) = &id.map["entry"] else {
                panic!("entry is not a string")
            };
            (id.id.clone(), serde_json::from_slice(bytes).expect("entry"))
        })
        .collect()
}
