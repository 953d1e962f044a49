//! A Slack Web API stand-in for the load test. It answers as Slack does
//! (the access check's reads, posts, updates, `response_url` posts) and
//! keeps only what the checks read: every card posted (a
//! `chat.postMessage` outside a thread: its channel, `ts`, case and
//! customers), the first answer at each `response_url`, and a count per
//! method. Bodies are not kept: thousands of cards would be megabytes.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::net;

/// The stand-in's workspace.
pub const TEAM: &str = "T0001";

/// A card as the checks see it.
#[derive(Debug, Clone)]
pub struct Card {
    pub at: Instant,
    pub channel: String,
    pub ts: String,
    /// The first `case_…` id the card names.
    pub case_id: Option<String>,
}

/// The first answer posted at one `response_url`.
#[derive(Debug, Clone)]
pub struct Answer {
    pub at: Instant,
    /// Its first 300 characters.
    pub text: String,
}

#[derive(Default)]
struct State {
    ts: AtomicU64,
    /// (channel, customer id) → the cards naming that customer there.
    cards: Mutex<HashMap<(String, String), Vec<Card>>>,
    /// `response_url` path → its first answer.
    answers: Mutex<HashMap<String, Answer>>,
    methods: Mutex<BTreeMap<String, u64>>,
}

pub struct SlackStandIn {
    pub base_url: String,
    state: Arc<State>,
}

impl SlackStandIn {
    pub async fn start() -> anyhow::Result<Self> {
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        let base_url = net::serve(move |req| {
            let state = Arc::clone(&shared);
            async move { state.answer(req).await }
        })
        .await?;
        Ok(Self { base_url, state })
    }

    /// A fresh `response_url` that lands here.
    pub fn response_url(&self) -> String {
        format!(
            "{}/response/{TEAM}/{}",
            self.base_url,
            uuid::Uuid::new_v4().simple()
        )
    }

    /// The cards naming `customer` posted in `channel`, oldest first.
    pub fn cards_of(&self, channel: &str, customer: &str) -> Vec<Card> {
        self.state
            .cards
            .lock()
            .map(|cards| {
                cards
                    .get(&(channel.to_owned(), customer.to_owned()))
                    .cloned()
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// The first answer at `url` (a `response_url` of ours), if any came.
    pub fn answer(&self, url: &str) -> Option<Answer> {
        let path = url.split_once("/response/").map(|(_, p)| p)?;
        self.state
            .answers
            .lock()
            .ok()
            .and_then(|answers| answers.get(path).cloned())
    }

    /// `method: count` for every Web API method called, and `response_url`.
    pub fn methods_line(&self) -> String {
        self.state
            .methods
            .lock()
            .map(|m| net::counts_line(&m))
            .unwrap_or_default()
    }
}

impl State {
    async fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let arrived = Instant::now();
        let path = req.uri().path().to_owned();
        let body = arguments(req).await;
        let method = match path.strip_prefix("/response/") {
            Some(key) => {
                self.remember_answer(key, &body, arrived);
                "response_url".to_owned()
            }
            None => path.trim_start_matches("/api/").to_owned(),
        };
        if let Ok(mut methods) = self.methods.lock() {
            *methods.entry(method.clone()).or_default() += 1;
        }
        let channel = body["channel"].as_str().unwrap_or("C0UNKNOWN").to_owned();
        let ts = self.next_ts();
        // A card: a message in a channel, outside a thread (not a direct
        // message to a user).
        let direct = channel.starts_with('U');
        if method == "chat.postMessage" && body.get("thread_ts").is_none() && !direct {
            self.remember_card(&channel, &ts, &body, arrived);
        }
        let answer = match method.as_str() {
            "response_url" => json!({ "ok": true }),
            "auth.test" => json!({ "ok": true, "team_id": TEAM, "user_id": "U0BOT00001" }),
            "users.info" => {
                let id = body.get("user").cloned().unwrap_or(json!("U0UNKNOWN"));
                json!({ "ok": true, "user": { "id": id, "team_id": TEAM, "is_restricted": false, "is_ultra_restricted": false } })
            }
            "conversations.info" => json!({ "ok": true, "channel": {
                "id": channel, "is_channel": true, "is_im": false, "is_shared": false, "is_ext_shared": false } }),
            "chat.postEphemeral" => json!({ "ok": true, "message_ts": ts }),
            "chat.getPermalink" => {
                let at = body["message_ts"]
                    .as_str()
                    .unwrap_or_default()
                    .replace('.', "");
                json!({ "ok": true, "channel": channel,
                        "permalink": format!("https://load.slack.example/archives/{channel}/p{at}") })
            }
            _ => {
                // chat.update answers with the message's own ts.
                let ts = body.get("ts").cloned().unwrap_or(json!(ts));
                json!({ "ok": true, "channel": channel, "ts": ts,
                        "message": { "type": "message", "text": "", "ts": ts, "user": "U0BOT00001" } })
            }
        };
        net::json(StatusCode::OK, answer.to_string())
    }

    /// A message `ts` no other message has.
    fn next_ts(&self) -> String {
        let n = self.ts.fetch_add(1, Ordering::Relaxed) + 1;
        format!("1700000000.{n:06}")
    }

    fn remember_answer(&self, key: &str, body: &Value, at: Instant) {
        let text = body["text"].as_str().unwrap_or_default();
        let text = text.chars().take(300).collect();
        if let Ok(mut answers) = self.answers.lock() {
            answers.entry(key.to_owned()).or_insert(Answer { at, text });
        }
    }

    fn remember_card(&self, channel: &str, ts: &str, body: &Value, at: Instant) {
        let text = body.to_string();
        let card = Card {
            at,
            channel: channel.to_owned(),
            ts: ts.to_owned(),
            case_id: ids_in(&text, "case_").into_iter().next(),
        };
        let Ok(mut cards) = self.cards.lock() else {
            return;
        };
        for customer in ids_in(&text, "cus_") {
            cards
                .entry((channel.to_owned(), customer))
                .or_default()
                .push(card.clone());
        }
    }
}

/// A Web API call's arguments: the bot posts JSON, its reads send a form
/// or a query (GET).
async fn arguments(req: Request<hyper::body::Incoming>) -> Value {
    let query = req.uri().query().map(|q| Bytes::from(q.to_owned()));
    let posted = req.into_body().collect().await.map(|b| b.to_bytes());
    let raw = match posted {
        Ok(body) if !body.is_empty() => body,
        _ => query.unwrap_or_default(),
    };
    serde_json::from_slice(&raw)
        .or_else(|_| {
            serde_urlencoded::from_bytes::<HashMap<String, String>>(&raw).map(|f| json!(f))
        })
        .unwrap_or(Value::Null)
}

/// The distinct ids with `prefix` (`cus_`, `case_`) in `text`, in order.
pub fn ids_in(text: &str, prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (at, _) in text.match_indices(prefix) {
        // Not the tail of a longer word (`xcus_`).
        if text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            continue;
        }
        let rest = &text[at + prefix.len()..];
        let len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let id = format!("{prefix}{}", &rest[..len]);
        if len > 0 && !found.contains(&id) {
            found.push(id);
        }
    }
    found
}
