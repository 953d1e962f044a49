//! Driving the replicas as Slack does: signed slash commands and Approve
//! clicks, spread round-robin over the replicas. A request that a replica
//! does not take (connection refused or reset, no answer within Slack's
//! 3 s, a 5xx) goes to the next replica with the same signed body, as a
//! load balancer in front of the replicas does and as Slack does when it
//! redelivers; the bot runs one body once. Open loop: a request leaves at
//! its time whatever the answers before it do.

use anyhow::Context;
use billing_triage::domain::{ActionKind, CaseId};
use billing_triage::store::Store;
use bytes::Bytes;
use hmac::Mac;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fleet::Fleet;
use crate::net::Http;
use crate::slack::SlackStandIn;
use crate::stripe::Seeded;
use crate::verdict::{Attempt, Kill};

pub const SIGNING_SECRET: &str = "load-signing-secret-3e9b1f0c77a2";
/// Opens the cases (`/billing lookup cus_… <message>`); another approver approves.
pub const REQUESTER: &str = "U0LOADREQ1";
pub const APPROVER: &str = "U0LOADAPP1";
/// The cases to approve are opened here.
pub const PREP_CHANNEL: &str = "C0LOADPREP";
/// The lookups of the load go here.
pub const RUN_CHANNEL: &str = "C0LOADRUN";
/// A message that makes the latest charge's refund the proposal.
pub const OUTAGE: &str =
    "The service was down for two days during the outage and I want a refund for this month.";
/// Slack's wait for an acknowledgement.
const SLACK_WAIT: Duration = Duration::from_secs(3);

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lookup,
    Approval,
}

/// One request as delivered: where it went, and its acknowledgement.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub attempts: Vec<Attempt>,
    /// From the first attempt to the 200.
    pub ack: Option<Duration>,
    /// The last non-200 status or transport error, when none was acked.
    pub failure: Option<String>,
}

/// Sends signed bodies to the replicas, round-robin, with redelivery.
pub struct Sender {
    client: Http,
    addrs: Vec<String>,
    /// Attempt times are measured from here (the phase's load start).
    pub t0: Instant,
    next: AtomicUsize,
}

impl Sender {
    pub fn new(client: Http, addrs: Vec<String>, t0: Instant) -> Self {
        Self {
            client,
            addrs,
            t0,
            next: AtomicUsize::new(0),
        }
    }

    /// Delivers `body` to `path` on the next replica in turn; on a refusal,
    /// to the one after, three rounds over all replicas at most.
    pub async fn deliver(&self, path: &str, body: &str) -> Delivery {
        let n = self.addrs.len();
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let mut attempts = Vec::new();
        let mut failure = None;
        for round in 0..3 {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            for k in 0..n {
                let replica = (first + k) % n;
                attempts.push(Attempt {
                    replica,
                    sent: self.t0.elapsed(),
                });
                match self.post(&self.addrs[replica], path, body).await {
                    Ok(200) => {
                        return Delivery {
                            attempts,
                            ack: Some(started.elapsed()),
                            failure: None,
                        }
                    }
                    Ok(status) if status < 500 => {
                        return Delivery {
                            attempts,
                            ack: None,
                            failure: Some(format!("HTTP {status}")),
                        }
                    }
                    Ok(status) => failure = Some(format!("HTTP {status}")),
                    Err(e) => failure = Some(e),
                }
            }
        }
        Delivery {
            attempts,
            ack: None,
            failure,
        }
    }

    async fn post(&self, addr: &str, path: &str, body: &str) -> Result<u16, String> {
        let ts = unix_now().to_string();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SIGNING_SECRET.as_bytes())
            .map_err(|e| e.to_string())?;
        mac.update(format!("v0:{ts}:{body}").as_bytes());
        let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
        let req = Request::post(format!("{addr}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", signature)
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| e.to_string())?;
        let answer = async {
            let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            // Drained, so that the connection goes back to the pool.
            let drained = resp.into_body().collect().await;
            drained.map(|_| status).map_err(|e| e.to_string())
        };
        tokio::time::timeout(SLACK_WAIT, answer)
            .await
            .unwrap_or_else(|_| Err("no answer within 3 s".to_owned()))
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `/billing lookup <text>` as Slack posts it, answering at `response_url`.
pub fn slash_body(text: &str, channel: &str, response_url: &str) -> String {
    let trigger = format!("13345224609.738474920.{}", uuid::Uuid::new_v4().simple());
    serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", crate::slack::TEAM),
        ("team_domain", "example"),
        ("channel_id", channel),
        ("channel_name", "billing-ops"),
        ("user_id", REQUESTER),
        ("user_name", "operator"),
        ("command", "/billing"),
        ("text", text),
        ("response_url", response_url),
        ("trigger_id", trigger.as_str()),
        ("api_app_id", "A123456"),
    ])
    .unwrap_or_default()
}

/// A case to approve: its refund's key and charge, and where its card is.
#[derive(Debug, Clone)]
pub struct ToApprove {
    pub case_id: String,
    pub key: String,
    pub charge: String,
    pub channel: String,
    pub ts: String,
}

/// The Approve click on `case`'s refund, by [`APPROVER`], on its card.
pub fn approve_body(case: &ToApprove, response_url: &str) -> String {
    let at = format!("{}.{:06}", unix_now(), fastrand::u32(0..1_000_000));
    let payload = json!({
        "type": "block_actions",
        "team": {"id": crate::slack::TEAM, "domain": "example"},
        "user": {"id": APPROVER, "username": "approver", "team_id": crate::slack::TEAM},
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": format!("12321423423.333649436676.{}", uuid::Uuid::new_v4().simple()),
        "channel": {"id": case.channel, "name": "billing-ops"},
        "container": {"type": "message", "message_ts": case.ts, "channel_id": case.channel, "is_ephemeral": false},
        "message": {"type": "message", "ts": case.ts, "text": "case card"},
        "response_url": response_url,
        "actions": [{
            "type": "button", "action_id": billing_triage::card::APPROVE_ACTION_ID, "block_id": "actions",
            "value": format!("{}/{}", case.case_id, case.key),
            "text": {"type": "plain_text", "text": "Approve"}, "action_ts": at
        }]
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap_or_default()
}

/// What one request of the load acts on.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The Approve click on a case's refund.
    Approve(&'a ToApprove),
    /// `/billing lookup <email>` in [`RUN_CHANNEL`].
    Lookup(&'a Seeded),
}

impl Target<'_> {
    pub fn kind(&self) -> Kind {
        match self {
            Target::Approve(_) => Kind::Approval,
            Target::Lookup(_) => Kind::Lookup,
        }
    }

    /// Its route and body, answered at `response_url`.
    fn request(&self, response_url: &str) -> (&'static str, String) {
        match self {
            Target::Approve(case) => ("/slack/interactions", approve_body(case, response_url)),
            Target::Lookup(customer) => (
                "/slack/commands",
                slash_body(
                    &format!("lookup {}", customer.email),
                    RUN_CHANNEL,
                    response_url,
                ),
            ),
        }
    }
}

/// Opens one case per customer as an operator would, `/billing lookup
/// cus_… <an outage, a refund asked for>`, `in_flight` at a time, and
/// reads each card's case from Redis: its proposed refund of the
/// customer's charge. Returns the cases and what went wrong with others.
pub async fn open_cases(
    sender: Arc<Sender>,
    slack: Arc<SlackStandIn>,
    store: Store,
    customers: &[Seeded],
    in_flight: usize,
) -> (Vec<ToApprove>, Vec<String>) {
    let gate = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let tasks = customers.iter().cloned().map(|customer| {
        let (sender, slack, store, gate) = (
            Arc::clone(&sender),
            Arc::clone(&slack),
            store.clone(),
            Arc::clone(&gate),
        );
        tokio::spawn(async move {
            let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
            open_case(&sender, &slack, &store, &customer).await
        })
    });
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for task in futures::future::join_all(tasks).await {
        match task {
            Ok(Ok(case)) => cases.push(case),
            Ok(Err(problem)) => problems.push(problem),
            Err(e) => problems.push(e.to_string()),
        }
    }
    (cases, problems)
}

async fn open_case(
    sender: &Sender,
    slack: &SlackStandIn,
    store: &Store,
    customer: &Seeded,
) -> Result<ToApprove, String> {
    let url = slack.response_url();
    let body = slash_body(
        &format!("lookup {} {OUTAGE}", customer.customer),
        PREP_CHANNEL,
        &url,
    );
    let delivery = sender.deliver("/slack/commands", &body).await;
    if delivery.ack.is_none() {
        return Err(format!(
            "lookup of {} not acknowledged: {:?}",
            customer.customer, delivery.failure
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let card = loop {
        if let Some(card) = slack.cards_of(PREP_CHANNEL, &customer.customer).pop() {
            break card;
        }
        if let Some(answer) = slack.answer(&url) {
            return Err(format!("lookup of {}: {}", customer.customer, answer.text));
        }
        if Instant::now() > deadline {
            return Err(format!("no card for {} within 60 s", customer.customer));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let case_id = card
        .case_id
        .clone()
        .ok_or_else(|| format!("the card of {} names no case", customer.customer))?;
    let id = CaseId::parse(&case_id).map_err(|e| format!("{case_id}: {e}"))?;
    // The card is posted before the case is stored.
    let deadline = Instant::now() + Duration::from_secs(10);
    let case = loop {
        match store.load_case(&id).await {
            Ok(Some(case)) => break case,
            Ok(None) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(None) => return Err(format!("{case_id} was never stored")),
            Err(e) => return Err(format!("reading {case_id}: {e}")),
        }
    };
    let refund = case
        .actions
        .iter()
        .find_map(|a| match &a.kind {
            ActionKind::Refund(target) => Some((a.key.to_string(), target.charge.to_string())),
            _ => None,
        })
        .ok_or_else(|| format!("{case_id} proposes no refund"))?;
    if refund.1 != customer.charge {
        return Err(format!(
            "{case_id} refunds {} instead of {}",
            refund.1, customer.charge
        ));
    }
    Ok(ToApprove {
        case_id,
        key: refund.0,
        charge: refund.1,
        channel: card.channel,
        ts: card.ts,
    })
}

/// One request of the load: what, which case or customer, its answer URL.
#[derive(Debug, Clone)]
pub struct Sent {
    pub kind: Kind,
    /// Index into the cases (approvals) or the lookup customers.
    pub index: usize,
    pub response_url: String,
    pub delivery: Delivery,
}

/// The load's rates, per second.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub approvals: f64,
    pub lookups: f64,
}

/// A replica killed during the load, and how long it took to be ready again.
#[derive(Debug, Clone, Copy)]
pub struct KillDone {
    pub kill: Kill,
    pub back_after: Duration,
}

/// What the load did.
pub struct Load {
    pub sent: Vec<Sent>,
    pub kills: Vec<KillDone>,
    /// When the last request left, since the start.
    pub sending: Duration,
    pub fleet: Fleet,
    pub kill_errors: Vec<String>,
}

/// Everything the load needs to send.
pub struct Plan<'a> {
    pub cases: &'a [ToApprove],
    pub lookups: &'a [Seeded],
    pub rates: Rates,
    pub duration: Duration,
    /// SIGKILL one replica (in turn) every this long, and start it again.
    pub kill_every: Option<Duration>,
}

/// Open loop: approvals and lookups at their rates for the duration (as
/// many as there are cases and customers), and the kills, at once.
pub async fn load(
    sender: Arc<Sender>,
    slack: Arc<SlackStandIn>,
    plan: Plan<'_>,
    mut fleet: Fleet,
    client: &Http,
) -> Load {
    let t0 = sender.t0;
    let sent = Arc::new(Mutex::new(Vec::new()));
    let count = |rate: f64, have: usize| ((rate * plan.duration.as_secs_f64()) as usize).min(have);
    let approvals: Vec<Target<'_>> = plan.cases[..count(plan.rates.approvals, plan.cases.len())]
        .iter()
        .map(Target::Approve)
        .collect();
    let lookups: Vec<Target<'_>> = plan.lookups[..count(plan.rates.lookups, plan.lookups.len())]
        .iter()
        .map(Target::Lookup)
        .collect();
    let approvals = stream(&sender, &slack, &sent, approvals, plan.rates.approvals);
    let lookups = stream(&sender, &slack, &sent, lookups, plan.rates.lookups);
    let kills = async {
        let mut done = Vec::new();
        let mut errors = Vec::new();
        let Some(every) = plan.kill_every else {
            return (done, errors);
        };
        let n = fleet.addrs().len();
        let mut k = 1u32;
        while every * k < plan.duration {
            tokio::time::sleep_until((t0 + every * k).into()).await;
            let replica = (k as usize - 1) % n;
            let at = t0.elapsed();
            match fleet.kill_and_restart(replica, client).await {
                Ok(back_after) => done.push(KillDone {
                    kill: Kill { replica, at },
                    back_after,
                }),
                Err(e) => errors.push(format!("replica {replica} at {at:?}: {e:#}")),
            }
            k += 1;
        }
        (done, errors)
    };
    let (a_last, l_last, (kills, kill_errors)) = tokio::join!(approvals, lookups, kills);
    let sent = std::mem::take(&mut *sent.lock().unwrap_or_else(|p| p.into_inner()));
    Load {
        sent,
        kills,
        sending: a_last.max(l_last),
        fleet,
        kill_errors,
    }
}

/// Sends a request for each target at `rate` per second from the
/// sender's start, each in its own task; returns when the last was
/// answered, with when it left.
async fn stream(
    sender: &Arc<Sender>,
    slack: &SlackStandIn,
    sent: &Arc<Mutex<Vec<Sent>>>,
    targets: Vec<Target<'_>>,
    rate: f64,
) -> Duration {
    let t0 = sender.t0;
    let mut tasks = Vec::with_capacity(targets.len());
    let mut last = Duration::ZERO;
    for (n, target) in targets.into_iter().enumerate() {
        tokio::time::sleep_until((t0 + Duration::from_secs_f64(n as f64 / rate)).into()).await;
        last = t0.elapsed();
        let response_url = slack.response_url();
        let (path, body) = target.request(&response_url);
        let kind = target.kind();
        let (sender, sent) = (Arc::clone(sender), Arc::clone(sent));
        tasks.push(tokio::spawn(async move {
            let delivery = sender.deliver(path, &body).await;
            sent.lock().unwrap_or_else(|p| p.into_inner()).push(Sent {
                kind,
                index: n,
                response_url,
                delivery,
            });
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    last
}

/// Sends one request again as a person would after seeing nothing happen
/// (a new delivery: a new `response_url` and trigger); returns its answer URL.
pub async fn again(
    sender: &Sender,
    slack: &SlackStandIn,
    target: Target<'_>,
) -> anyhow::Result<String> {
    let url = slack.response_url();
    let (path, body) = target.request(&url);
    let delivery = sender.deliver(path, &body).await;
    delivery
        .ack
        .context("the request sent again was not acknowledged")?;
    Ok(url)
}
