//! The App Home at size, against a real Redis (`REDIS_URL` or
//! `redis://127.0.0.1:6379`): 1 000 open cases with 3 000 actions awaiting
//! approval, opened by 20 requesters; then the Home of an approver and of a
//! requester is built the way `app_home_opened` builds it (the store's Home
//! indexes, `card::home`'s sort under the policy, the Block Kit view read
//! into slack-morphism's `SlackView`), without the `views.publish` call
//! itself. Prints p50/p99/max and the Redis commands per Home (each one a
//! round trip: none is pipelined). No timing asserts.
//!
//! Run with `cargo bench --bench home`.

use billing_triage::assess::{assess, Intake};
use billing_triage::config::Config;
use billing_triage::domain::{ActionKey, Actor, BillingSnapshot, CaseId, SlackUserId};
use billing_triage::followup::FollowUpSettings;
use billing_triage::store::Store;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const CASES: u64 = 1_000;
const ACTIONS_PER_CASE: usize = 3;
const REQUESTERS: u64 = 20;
const HOMES: usize = 200;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn user(n: u64) -> SlackUserId {
    SlackUserId::parse(&format!("U0REQ{n:05}")).expect("a Slack user id")
}

async fn commands_processed(client: &redis::Client) -> u64 {
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers (start it: redis-server --port 6379)");
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut conn)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let prefix = format!("bench-home-{}:", uuid::Uuid::new_v4().simple());
    let approver = "U0APPROVER";
    let vars: HashMap<&str, String> = HashMap::from([
        ("STRIPE_SECRET_KEY", "sk_test_bench".to_owned()),
        ("STRIPE_API_BASE", "http://127.0.0.1:1/".to_owned()),
        ("REDIS_URL", redis_url()),
        ("REDIS_PREFIX", prefix.clone()),
        ("BILLING_APPROVERS", format!("{approver},{}", user(1))),
    ]);
    let config = Config::from_lookup(|name| vars.get(name).cloned(), false).expect("config");
    let deps = billing_triage::startup::deps(&config).expect("deps");
    let store: &Store = &deps.store;

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshots/duplicate_same_customer.json"
    );
    let snapshot: BillingSnapshot =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture"))
            .expect("a BillingSnapshot");
    let now = billing_triage::workflow::now();
    let settings = FollowUpSettings {
        portal_login_url: None,
    };
    let seeding = Instant::now();
    for n in 0..CASES {
        let mut case = assess(
            Intake {
                id: CaseId::from_random(n),
                requested_by: Actor::Slack(user(n % REQUESTERS)),
                message: Some("I was charged twice, please refund the second one"),
                added: &[],
                now,
            },
            snapshot.clone(),
            &settings,
        );
        let template = case
            .actions
            .first()
            .cloned()
            .expect("the duplicate case proposes an action");
        case.actions = (1..=ACTIONS_PER_CASE)
            .map(|i| {
                let mut a = template.clone();
                a.key = ActionKey::parse(&format!("a{i}")).expect("key");
                a
            })
            .collect();
        let states: Vec<_> = case
            .actions
            .iter()
            .map(|a| (a.key.clone(), billing_triage::policy::fresh_state(now)))
            .collect();
        store.save_case(&case).await.expect("save");
        store.init_actions(&case.id, &states).await.expect("states");
    }
    println!(
        "home bench: {CASES} open cases, {} actions awaiting approval, {REQUESTERS} requesters (seeded in {:?})",
        CASES as usize * ACTIONS_PER_CASE,
        seeding.elapsed()
    );

    let client = redis::Client::open(redis_url()).expect("url");
    for (who, user) in [
        ("approver", SlackUserId::parse(approver).expect("id")),
        ("requester", user(1)),
    ] {
        let mut times: Vec<Duration> = Vec::with_capacity(HOMES);
        let before = commands_processed(&client).await;
        let mut blocks = 0;
        for _ in 0..HOMES {
            let start = Instant::now();
            let view = billing_triage::workflow::home::view_for(&deps, &user)
                .await
                .expect("home");
            let view: slack_morphism::prelude::SlackView =
                serde_json::from_value(view).expect("a Home view");
            times.push(start.elapsed());
            if let slack_morphism::prelude::SlackView::Home(home) = &view {
                blocks = home.blocks.len();
            }
        }
        // Each INFO counts itself once.
        let per_home = (commands_processed(&client).await - before - 1) as f64 / HOMES as f64;
        times.sort();
        println!(
            "  {who:<9} Home ({blocks} blocks): p50 {:?}, p99 {:?}, max {:?} over {HOMES}; {per_home:.1} Redis round trips per Home (target: published within 300 ms)",
            times[HOMES / 2],
            times[HOMES * 99 / 100],
            times[HOMES - 1],
        );
    }

    // Clean up this run's keys.
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    for chunk in keys.chunks(500) {
        let _: Result<(), _> = redis::cmd("DEL").arg(chunk).query_async(&mut conn).await;
    }
}
