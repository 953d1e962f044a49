//! Redis the way it is run for high availability: a real primary, a replica
//! and three sentinels on loopback (`redis-server --sentinel`, which is what
//! Debian's `redis-sentinel` runs), the bot on a `redis+sentinel://` URL.
//! The primary is killed (SIGKILL) at each step of an approval; afterwards
//! Stripe's refunds, the action's state, the card and the audit agree, and
//! approving again never refunds twice.
//!
//! The primary sits behind a proxy (`Front`) that the sentinels monitor it
//! through, so that it can be killed when a chosen command passes, and so
//! that the replica's link can be held (`freeze_replication`): writes made
//! while it is held are on the primary only, as Redis's asynchronous
//! replication allows, and a failover then loses them.

use crate::fixtures::{put_case, refund_case_for, status, value};
use crate::helpers::*;
use crate::relay::{relay, Answer, Request};
use crate::stripe_faults::{Fault, Hook, StripeFaults};
use crate::stripe_outcomes::{assert_records_match_stripe, refund_setup, refunds_of_case, settled};
use billing_triage::audit::{AuditEvent, AuditKind};
use billing_triage::config::ReplicaWait;
use billing_triage::domain::*;
use billing_triage::store::Store;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

const MASTER: &str = "billing";

/// A process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    crate::localstripe::free_port()
}

/// A Redis that keeps nothing on disk, on loopback.
fn common_args(port: u16) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn redis_server(args: &[String]) -> Child {
    Command::new("redis-server")
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server starts (bash scripts/dev test installs it: apt-get install -y redis-server)")
}

async fn wait_listening(port: u16, what: &str) {
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not listen on {port} within 5 s");
}

/// What the front proxy shares with its connections.
#[derive(Default)]
struct FrontState {
    /// The primary's process; `None` once killed.
    primary: Mutex<Option<Proc>>,
    killed: AtomicBool,
    /// Replication links (a connection that sent `PSYNC`/`SYNC`) get
    /// nothing from the primary while set.
    frozen: AtomicBool,
    /// Kill the primary when a command containing this passes, before it
    /// reaches the primary.
    armed: Mutex<Option<Vec<u8>>>,
}

/// The proxy in front of the primary.
#[derive(Clone)]
struct Front {
    port: u16,
    primary_port: u16,
    state: Arc<FrontState>,
}

impl Front {
    async fn start(primary: Proc, primary_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the front proxy");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(FrontState::default());
        *state.primary.lock().expect("lock") = Some(primary);
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", primary_port)).await else {
                    continue; // the primary is dead: the caller sees a closed connection
                };
                tokio::spawn(pipe(Arc::clone(&shared), inbound, outbound));
            }
        });
        Self {
            port,
            primary_port,
            state,
        }
    }

    /// SIGKILLs the primary now (from a Stripe hook, or the armed marker).
    fn kill_primary(&self) {
        kill(&self.state);
    }

    fn arm(&self, marker: &str) {
        *self.state.armed.lock().expect("lock") = Some(marker.as_bytes().to_vec());
    }

    fn freeze_replication(&self, frozen: bool) {
        self.state.frozen.store(frozen, Ordering::SeqCst);
    }

    fn killed(&self) -> bool {
        self.state.killed.load(Ordering::SeqCst)
    }
}

fn kill(state: &FrontState) {
    if let Some(mut primary) = state.primary.lock().expect("lock").take() {
        let _ = primary.0.kill();
        let _ = primary.0.wait();
    }
    state.killed.store(true, Ordering::SeqCst);
}

async fn pipe(state: Arc<FrontState>, inbound: TcpStream, outbound: TcpStream) {
    let replication = AtomicBool::new(false);
    let killed = || state.killed.load(Ordering::SeqCst);
    let on_request = |chunk: &[u8]| {
        let has = |m: &[u8]| chunk.windows(m.len()).any(|w| w == m);
        if has(b"PSYNC") || has(b"SYNC") {
            replication.store(true, Ordering::SeqCst);
        }
        let hit = {
            let mut armed = state.armed.lock().expect("lock");
            let hit = armed.as_deref().is_some_and(has);
            if hit {
                *armed = None;
            }
            hit
        };
        if hit {
            kill(&state);
            Request::End
        } else {
            Request::Forward
        }
    };
    // A held replication link reads nothing: what the primary sends stays
    // in its buffers and dies with it.
    let on_answer = || {
        if killed() {
            Answer::End
        } else if replication.load(Ordering::SeqCst) && state.frozen.load(Ordering::SeqCst) {
            Answer::Hold
        } else {
            Answer::Pass
        }
    };
    relay(inbound, outbound, on_request, on_answer, killed).await;
}

/// A primary (behind `front`), a replica and three sentinels.
struct Cluster {
    front: Front,
    replica_port: u16,
    sentinel_ports: Vec<u16>,
    _replica: Proc,
    _sentinels: Vec<Proc>,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.front.kill_primary();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Cluster {
    async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("failover-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let common = common_args;
        let primary_port = free_port();
        let primary = Proc(redis_server(&common(primary_port)));
        wait_listening(primary_port, "the primary").await;
        let front = Front::start(primary, primary_port).await;

        let replica_port = free_port();
        let mut args = common(replica_port);
        args.extend([
            "--replicaof".to_owned(),
            "127.0.0.1".to_owned(),
            front.port.to_string(),
        ]);
        let replica = Proc(redis_server(&args));
        wait_listening(replica_port, "the replica").await;

        let mut sentinel_ports = Vec::new();
        let mut sentinels = Vec::new();
        for i in 0..3 {
            let port = free_port();
            let conf = dir.join(format!("sentinel-{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                     sentinel monitor {MASTER} 127.0.0.1 {front} 2\n\
                     sentinel down-after-milliseconds {MASTER} 400\n\
                     sentinel failover-timeout {MASTER} 2000\n\
                     sentinel parallel-syncs {MASTER} 1\n",
                    dir = dir.display(),
                    front = front.port,
                ),
            )
            .expect("sentinel config");
            sentinels.push(Proc(redis_server(&[
                conf.display().to_string(),
                "--sentinel".to_owned(),
            ])));
            wait_listening(port, "a sentinel").await;
            sentinel_ports.push(port);
        }
        let cluster = Self {
            front,
            replica_port,
            sentinel_ports,
            _replica: replica,
            _sentinels: sentinels,
            dir,
        };
        cluster.wait_ready().await;
        cluster
    }

    /// Starts the killed primary again, empty; the sentinels make it a
    /// replica of the new primary. Returns once the new primary has it in
    /// sync (`WAIT` can be answered again).
    async fn restart_old_primary(&self) {
        let port = self.front.primary_port;
        let primary = Proc(redis_server(&common_args(port)));
        wait_listening(port, "the restarted primary").await;
        *self.front.state.primary.lock().expect("lock") = Some(primary);
        self.front.state.killed.store(false, Ordering::SeqCst);
        for _ in 0..300 {
            let info = Self::ask::<String>(self.replica_port, &["INFO", "replication"])
                .await
                .unwrap_or_default();
            if info.contains("role:master") && info.contains("state=online") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the restarted primary never became the new primary's replica within 30 s");
    }

    /// The bot's `REDIS_URL`.
    fn url(&self) -> String {
        let hosts = self
            .sentinel_ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        format!("redis+sentinel://{hosts}/{MASTER}")
    }

    async fn ask<T: redis::FromRedisValue>(port: u16, args: &[&str]) -> redis::RedisResult<T> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query_async(&mut conn).await
    }

    /// The primary's port as the sentinels name it.
    async fn named_primary(&self) -> Vec<u16> {
        let mut named = Vec::new();
        for port in &self.sentinel_ports {
            if let Ok((_, p)) =
                Self::ask::<(String, u16)>(*port, &["SENTINEL", "get-master-addr-by-name", MASTER])
                    .await
            {
                named.push(p);
            }
        }
        named
    }

    /// Until the replica is in sync and every sentinel knows the replica
    /// and the two other sentinels (a failover needs their votes).
    async fn wait_ready(&self) {
        for _ in 0..300 {
            let mut ready = Self::ask::<String>(self.replica_port, &["INFO", "replication"])
                .await
                .is_ok_and(|info| info.contains("master_link_status:up"));
            for port in &self.sentinel_ports {
                let count =
                    |v: redis::RedisResult<Vec<redis::Value>>| v.map_or(0, |items| items.len());
                ready &= count(Self::ask(*port, &["SENTINEL", "replicas", MASTER]).await) == 1;
                ready &= count(Self::ask(*port, &["SENTINEL", "sentinels", MASTER]).await) == 2;
            }
            if ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the sentinels never saw the replica and each other within 30 s");
    }

    /// Until every sentinel names the replica as the primary.
    /// Also until `store` answers: its connection to the old primary broke,
    /// so its first call after the failover fails and the next one asks the
    /// sentinels.
    async fn wait_failed_over(&self, store: &Store) {
        for _ in 0..300 {
            let named = self.named_primary().await;
            if named.len() == self.sentinel_ports.len()
                && named.iter().all(|p| *p == self.replica_port)
                && store.ping().await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no failover within 30 s: the sentinels name {:?}, the replica is {}",
            self.named_primary().await,
            self.replica_port
        );
    }
}

/// One replica of the bot on the cluster, `REDIS_WAIT_REPLICAS=wait`.
async fn replica(
    cluster: &Cluster,
    faults: &StripeFaults,
    prefix: &str,
    store: Store,
    wait: u32,
) -> TestApp {
    let slack = SlackStandIn::start().await;
    let mut config = test_config(&faults.url, &slack, prefix);
    config.redis_url = cluster.url();
    // The longest WAIT allowed: a loaded CI machine is slow to ack.
    config.redis_wait = ReplicaWait {
        replicas: wait,
        timeout: Duration::from_millis(900),
    };
    spawn_with(config, slack, store).await
}

/// localstripe with a paid charge behind the fault proxy, the cluster, and
/// a refund case on that charge stored through a Sentinel-following store
/// whose writes so far a replica holds.
struct Scene {
    stripe: crate::localstripe::LocalStripe,
    faults: StripeFaults,
    charge: String,
    cluster: Cluster,
    prefix: String,
    store: Store,
    case: Case,
}

impl Scene {
    async fn start() -> Self {
        let (stripe, faults, customer, charge, amount) = refund_setup().await;
        let cluster = Cluster::start().await;
        let prefix = unique_prefix();
        let store = Store::new(&cluster.url(), &prefix)
            .expect("a Sentinel URL is accepted")
            .with_replica_wait(ReplicaWait {
                replicas: 1,
                timeout: Duration::from_millis(900),
            });
        let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
        put_case(&store, &case, &statuses).await;
        store
            .replicated()
            .await
            .expect("the case is on the replica");
        Self {
            stripe,
            faults,
            charge,
            cluster,
            prefix,
            store,
            case,
        }
    }

    /// A replica of the bot with `REDIS_WAIT_REPLICAS=wait`.
    async fn replica(&self, wait: u32) -> TestApp {
        replica(
            &self.cluster,
            &self.faults,
            &self.prefix,
            self.store.clone(),
            wait,
        )
        .await
    }
}

/// Where in an approval the primary dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    /// The claim is written; the next command (reading the plan) never
    /// reaches the primary.
    AfterTheClaim,
    /// The intent is written (and, with `WAIT`, on the replica); the refund
    /// request is on its way to Stripe.
    AfterTheIntent,
    /// Stripe made the refund; its answer is on its way back.
    AfterStripeAnswered,
    /// Stripe answered; the step's record (the first `HSET`) never reaches
    /// the primary.
    BeforeTheRecord,
}

/// Kills the primary at `kill` during an approval (`REDIS_WAIT_REPLICAS=1`),
/// waits for the sentinels' failover, rolls the replica (it announces its
/// exit on the new primary; the next one takes over) and checks that Stripe,
/// the state, the card and the audit agree, and that approving again never
/// refunds twice.
async fn primary_killed_during_an_approval(kill: Kill) {
    let scene = Scene::start().await;
    let Scene {
        stripe,
        faults,
        charge,
        cluster,
        prefix,
        store,
        case,
    } = &scene;
    let first = scene.replica(1).await;
    let front = cluster.front.clone();
    let hook: Hook = Arc::new(move || front.kill_primary());
    match kill {
        Kill::AfterTheClaim => cluster.front.arm(":plan"),
        Kill::AfterTheIntent => faults.next("POST", "/v1/refunds", Fault::Before(hook)),
        Kill::AfterStripeAnswered => faults.next("POST", "/v1/refunds", Fault::AfterCommit(hook)),
        Kill::BeforeTheRecord => cluster.front.arm("HSET"),
    }

    let (_, url) = first
        .click("approve_action", &value(case, "a2"), APPROVER_1)
        .await;
    let answer = first.answer_at(&url).await;
    assert!(cluster.front.killed(), "{kill:?}: the primary was killed");
    let made = refunds_of_case(stripe, charge, case).await;
    if kill == Kill::AfterTheClaim {
        assert!(
            made.is_empty(),
            "{kill:?}: nothing reached Stripe: {made:?}"
        );
        assert!(
            answer.contains("nothing has been sent to Stripe"),
            "{kill:?}: {answer}"
        );
    } else {
        assert_eq!(made.len(), 1, "{kill:?}: Stripe refunded once");
        assert!(
            answer.contains(&made[0]) && answer.contains("Do not redo it by hand"),
            "{kill:?}: the approver is told what Stripe did: {answer}"
        );
    }

    cluster.wait_failed_over(store).await;
    // The replica is rolled: it announces its exit on the new primary (its
    // store follows the sentinels), and the next one takes its actions over.
    let owner = match status(store, case, "a2").await {
        ActionStatus::Executing {
            owner: Some(owner), ..
        } => Some(owner),
        ActionStatus::Proposed { .. } if kill == Kill::AfterTheClaim => None,
        other => panic!("{kill:?}: after the failover: {other:?}"),
    };
    drop(first);
    if let Some(owner) = &owner {
        for _ in 0..200 {
            if store.is_gone(owner).await.unwrap_or(false) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            store.is_gone(owner).await.expect("the new primary answers"),
            "{kill:?}: the rolled replica announced its exit"
        );
    }
    let second = replica(cluster, faults, prefix, store.clone(), 1).await;
    if kill == Kill::AfterTheClaim {
        // An interrupted claim with no intent never reached Stripe: marked
        // failed by the next replica (or lost with the primary), then
        // approved again.
        cluster.restart_old_primary().await;
        // Until a replica acknowledges writes again (WAIT, as the bot asks).
        for _ in 0..20 {
            if store.replicated().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        store
            .replicated()
            .await
            .expect("the restarted primary acknowledges as a replica");
        if owner.is_some() {
            let state = settled(store, case, "a2").await;
            assert!(matches!(state, ActionStatus::Failed { .. }), "{state:?}");
        }
        let (_, url) = second
            .click("approve_action", &value(case, "a2"), APPROVER_1)
            .await;
        let again = second.answer_at(&url).await;
        assert!(again.starts_with("Done"), "{again}");
    }
    let state = settled(store, case, "a2").await;
    assert!(
        matches!(state, ActionStatus::Succeeded { .. }),
        "{kill:?}: {state:?}"
    );
    assert_records_match_stripe(store, &second.slack, stripe, charge, case).await;

    // Approving once more (someone else, from the old card) refunds nothing.
    let (_, url) = second
        .click("approve_action", &value(case, "a2"), APPROVER_2)
        .await;
    let once_more = second.answer_at(&url).await;
    assert!(!once_more.starts_with("Done"), "{kill:?}: {once_more}");
    assert_eq!(
        refunds_of_case(stripe, charge, case).await.len(),
        1,
        "{kill:?}: one refund in all"
    );
    assert_eq!(
        faults.seen("POST", "/v1/refunds").len(),
        1,
        "{kill:?}: the refund was sent once"
    );
}

#[tokio::test]
async fn a_failover_after_the_claim_sends_nothing_and_the_approval_can_be_given_again() {
    primary_killed_during_an_approval(Kill::AfterTheClaim).await;
}

#[tokio::test]
async fn a_failover_after_the_intent_is_finished_from_stripe_by_the_next_replica() {
    primary_killed_during_an_approval(Kill::AfterTheIntent).await;
}

#[tokio::test]
async fn a_failover_after_stripe_answered_is_finished_from_stripe_by_the_next_replica() {
    primary_killed_during_an_approval(Kill::AfterStripeAnswered).await;
}

#[tokio::test]
async fn a_failover_before_the_record_is_finished_from_stripe_by_the_next_replica() {
    primary_killed_during_an_approval(Kill::BeforeTheRecord).await;
}

/// Without `WAIT` (`REDIS_WAIT_REPLICAS=0`) and with the replica behind,
/// the failover loses the claim and the intent; Stripe made the refund.
/// The same replica follows the new primary without a restart; approving
/// again (by someone else) finds the refund by its Stripe metadata and
/// records it as made under the first approver, sending nothing.
#[tokio::test]
async fn an_approval_lost_in_a_failover_is_recovered_from_stripes_metadata() {
    let scene = Scene::start().await;
    let Scene {
        stripe,
        faults,
        charge,
        cluster,
        store,
        case,
        ..
    } = &scene;
    let app = scene.replica(0).await;
    cluster.front.freeze_replication(true);
    let front = cluster.front.clone();
    faults.next(
        "POST",
        "/v1/refunds",
        Fault::AfterCommit(Arc::new(move || front.kill_primary())),
    );

    let (_, url) = app
        .click("approve_action", &value(case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    let made = refunds_of_case(stripe, charge, case).await;
    assert_eq!(made.len(), 1);
    assert!(answer.contains(&made[0]), "{answer}");
    cluster.wait_failed_over(store).await;
    let lost = status(store, case, "a2").await;
    assert!(
        matches!(lost, ActionStatus::Proposed { .. }),
        "the failover lost the claim: {lost:?}"
    );

    let (_, url) = app
        .click("approve_action", &value(case, "a2"), APPROVER_2)
        .await;
    let again = app.answer_at(&url).await;
    assert!(
        again.contains(&made[0])
            && again.contains(&format!("under the approval of <@{APPROVER_1}>")),
        "the record names Stripe's approver: {again}"
    );
    match settled(store, case, "a2").await {
        ActionStatus::Succeeded { approved_by, .. } => assert_eq!(
            approved_by
                .iter()
                .map(SlackUserId::as_str)
                .collect::<Vec<_>>(),
            vec![APPROVER_1]
        ),
        other => panic!("{other:?}"),
    }
    let found = store
        .audit_trail(&case.id)
        .await
        .expect("trail")
        .into_iter()
        .filter(|(_, e)| e.kind == AuditKind::ExecutionConfirmed)
        .filter_map(|(_, e)| match e.event() {
            Ok(AuditEvent::ExecutionConfirmed(c)) => Some(c),
            _ => None,
        })
        .find(|c| !c.approved_on_stripe.is_empty())
        .expect("the find is audited");
    assert_eq!(found.found.as_deref(), Some(made[0].as_str()));
    assert_eq!(found.approved_on_stripe[0].as_str(), APPROVER_1);
    assert_records_match_stripe(store, &app.slack, stripe, charge, case).await;
    assert_eq!(
        faults.seen("POST", "/v1/refunds").len(),
        1,
        "nothing sent again"
    );
}

/// With `REDIS_WAIT_REPLICAS=1`, an approval the replica has not confirmed
/// moves no money: the approver is told, the action can be approved again,
/// and once the replica is back it runs once.
#[tokio::test]
async fn with_replica_wait_no_money_moves_while_the_replica_lags() {
    let scene = Scene::start().await;
    let Scene {
        stripe,
        faults,
        charge,
        cluster,
        store,
        case,
        ..
    } = &scene;
    let app = scene.replica(1).await;
    cluster.front.freeze_replication(true);

    let (_, url) = app
        .click("approve_action", &value(case, "a2"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(
        answer.contains("could not confirm this approval on a replica")
            && answer.contains("nothing was sent to Stripe"),
        "{answer}"
    );
    assert!(
        faults.seen("POST", "/v1/refunds").is_empty(),
        "no money moved"
    );
    let state = status(store, case, "a2").await;
    assert!(matches!(state, ActionStatus::Proposed { .. }), "{state:?}");

    cluster.front.freeze_replication(false);
    // Short WAITs fail at once for 5 s (they would hold the connection).
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    let (_, url) = app
        .click("approve_action", &value(case, "a2"), APPROVER_1)
        .await;
    let done = app.answer_at(&url).await;
    assert!(done.starts_with("Done"), "{done}");
    assert_records_match_stripe(store, &app.slack, stripe, charge, case).await;
    assert_eq!(faults.seen("POST", "/v1/refunds").len(), 1);
}
