//! Three replicas under load (issue 17, part 6). Starts one Redis, and per
//! phase a fresh localstripe (pinned-shape layer, `--in-memory`) behind a
//! latency proxy (every Stripe call 50–150 ms slower), a Slack stand-in,
//! and three `billing-triage serve` replicas sharing the Redis. It seeds
//! one customer with one charge per approval and per lookup, opens a case
//! with a proposed refund for each approval (`/billing lookup cus_… <an
//! outage, a refund asked for>`, not timed), then sends Approve clicks and
//! lookups (by email) round-robin over the replicas, open loop, at the
//! asked rates. Phase `steady` runs it as is; phase `kill` SIGKILLs one
//! replica (in turn) every `--kill-every` seconds and starts it again.
//!
//! Afterwards, per phase, a table of checks and a verdict: every approved
//! action is `Succeeded` in Redis with exactly one refund on Stripe that
//! names it (read from localstripe, not through the bot), no other refund
//! exists, every lookup's card was posted, nothing is left executing,
//! `audit verify` passes. Ack latency is printed against its goal (p99 <
//! 100 ms), never failed on. Exits 1 when a check fails.
//!
//! First, unless `--asked-rates`, it measures what localstripe sustains
//! without the bot: the same Stripe requests (the bot's own gateway:
//! `snapshot` for a lookup, `charge` + `refund` for an approval) at the
//! asked rates; when Stripe alone falls behind, the phases run at the
//! share it sustained (less a tenth for the bot), and both are printed.
//!
//! `cargo bench --bench load` (release), `-- --smoke` for CI's short run
//! (`bash scripts/dev load [--smoke]`). Needs `redis-server` or
//! `REDIS_URL`, and localstripe in `.venv` or `LOCALSTRIPE`.

mod drive;
mod fleet;
mod net;
mod slack;
mod stripe;
mod verdict;

use anyhow::Context;
use billing_triage::domain::{
    ActionKey, ActionStatus, CaseId, ChargeId, Currency, Email, LookupQuery, Money, StripeKey,
};
use billing_triage::store::Store;
use billing_triage::stripe::StripeGateway;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};
use drive::{Kind, Load, Plan, Rates, Sender, Target, ToApprove};
use net::Http;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stripe::Seeded;
use verdict::{hit_by_kill, ApprovalEnd, Check, Figures, State};

/// Replicas under test.
const REPLICAS: usize = 3;
/// Lookups that open the cases, in flight at once.
const OPENING_IN_FLIGHT: usize = 24;
/// How long answers may take once the load is over, before a request is
/// counted as lost.
const SETTLE_WAIT: Duration = Duration::from_secs(60);

#[derive(Parser, Debug, Clone)]
#[command(
    name = "load",
    about = "Three billing-triage replicas under load, with and without SIGKILLs"
)]
struct Args {
    /// Seconds of load per phase.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Approve clicks per second.
    #[arg(long, default_value_t = 50.0)]
    approvals: f64,
    /// Lookups (`/billing lookup <email>`) per second.
    #[arg(long, default_value_t = 20.0)]
    lookups: f64,
    /// In the kill phase, SIGKILL one replica (in turn) this often and start it again.
    #[arg(long, default_value_t = 15)]
    kill_every: u64,
    /// Which phases to run.
    #[arg(long, value_enum, default_value = "both")]
    phases: Phases,
    /// CI's short run on the debug build: 12 s per phase at 10 approvals/s
    /// + 4 lookups/s, a kill every 5 s (flags given still win).
    #[arg(long)]
    smoke: bool,
    /// Extra time each Stripe call takes, drawn uniformly: `MIN-MAX` milliseconds.
    #[arg(long, default_value = "50-150", value_parser = parse_range)]
    stripe_latency: (u64, u64),
    /// Skip the measure of localstripe alone and run at the asked rates.
    #[arg(long)]
    asked_rates: bool,
    /// How long the reconciler may take to finish what the kills interrupted
    /// (its lease is 120 s, its tick 15 s).
    #[arg(long, default_value_t = 200)]
    recovery_timeout: u64,
    /// The `billing-triage` binary to run (default: the one built with this bench).
    #[arg(long)]
    serve_bin: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Phases {
    Steady,
    Kill,
    Both,
}

fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = text
        .split_once('-')
        .ok_or_else(|| format!("`{text}`: expected MIN-MAX milliseconds, e.g. 50-150"))?;
    let lo: u64 = lo.trim().parse().map_err(|e| format!("`{lo}`: {e}"))?;
    let hi: u64 = hi.trim().parse().map_err(|e| format!("`{hi}`: {e}"))?;
    if lo > hi {
        return Err(format!("`{text}`: MIN is above MAX"));
    }
    Ok((lo, hi))
}

impl Args {
    /// The command line, with `--smoke`'s settings where no flag was given.
    fn read() -> Self {
        let matches = Self::command().get_matches();
        let mut args = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let given = |id: &str| matches.value_source(id) != Some(ValueSource::DefaultValue);
        if args.smoke {
            if !given("duration") {
                args.duration = 12;
            }
            if !given("kill_every") {
                args.kill_every = 5;
            }
            if !given("approvals") {
                args.approvals = 10.0;
            }
            if !given("lookups") {
                args.lookups = 4.0;
            }
        }
        args
    }
}

/// What every phase shares.
struct Ctx {
    args: Args,
    client: Http,
    redis: fleet::Redis,
    slack: Arc<slack::SlackStandIn>,
    bin: PathBuf,
    logs: PathBuf,
    run_id: String,
}

fn main() -> ExitCode {
    let args = Args::read();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("load: no tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("load: could not run: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let bin = fleet::serve_bin(args.serve_bin.as_deref());
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("load-{run_id}"));
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    println!("billing-triage: three replicas under load");
    println!("{}", load_average());
    println!(
        "machine: {} cores; replicas: {}; Stripe: localstripe (pinned layer, --in-memory) + {}-{} ms per call",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        bin.display(),
        args.stripe_latency.0,
        args.stripe_latency.1,
    );
    let ctx = Ctx {
        client: net::http(),
        redis: fleet::Redis::start().await?,
        slack: Arc::new(slack::SlackStandIn::start().await?),
        bin,
        logs,
        run_id,
        args,
    };
    let asked = Rates {
        approvals: ctx.args.approvals,
        lookups: ctx.args.lookups,
    };
    let share = if ctx.args.asked_rates {
        1.0
    } else {
        stripe_alone(&ctx, asked).await?
    };
    let rates = Rates {
        approvals: asked.approvals * share,
        lookups: asked.lookups * share,
    };
    if share < 1.0 {
        println!(
            "localstripe alone fell behind: the phases run at {:.0}% of the asked rates, {:.1} approvals/s + {:.1} lookups/s (asked {:.1} + {:.1})",
            share * 100.0,
            rates.approvals,
            rates.lookups,
            asked.approvals,
            asked.lookups
        );
    }
    let mut all = true;
    if ctx.args.phases != Phases::Kill {
        all &= phase(&ctx, "steady", rates, None).await?;
    }
    if ctx.args.phases != Phases::Steady {
        let every = Duration::from_secs(ctx.args.kill_every);
        all &= phase(&ctx, "kill", rates, Some(every)).await?;
    }
    println!();
    println!("overall verdict: {}", if all { "PASS" } else { "FAIL" });
    println!("logs: {}", ctx.logs.display());
    Ok(all)
}

/// The machine's load average: other work on it slows every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "load average: unknown (no /proc)".to_owned(),
        |l| {
            let avg: Vec<&str> = l.split_whitespace().take(3).collect();
            format!("machine load average (1, 5, 15 min): {}", avg.join(" "))
        },
    )
}

/// How many customers a phase needs at `rate` per second.
fn needed(rate: f64, duration: Duration) -> usize {
    (rate * duration.as_secs_f64()).floor() as usize
}

/// How long one operation took, and when it was done (since the start).
type Timed = Result<(Duration, Duration), String>;

/// Runs `op` in its own task `at` seconds after `t0`: how long it took,
/// and when it was done.
fn timed(
    t0: Instant,
    at: f64,
    op: impl std::future::Future<Output = Result<(), String>> + Send + 'static,
) -> tokio::task::JoinHandle<Timed> {
    tokio::spawn(async move {
        tokio::time::sleep_until((t0 + Duration::from_secs_f64(at)).into()).await;
        let started = Instant::now();
        op.await?;
        Ok((started.elapsed(), t0.elapsed()))
    })
}

/// The bot's own Stripe requests at `asked`, without the bot: returns the
/// share of the asked rates that Stripe sustains.
async fn stripe_alone(ctx: &Ctx, asked: Rates) -> anyhow::Result<f64> {
    let duration = Duration::from_secs(ctx.args.duration);
    println!();
    println!(
        "== localstripe alone: the Stripe requests of {:.1} approvals/s + {:.1} lookups/s for {} s, no bot",
        asked.approvals, asked.lookups, ctx.args.duration
    );
    let layer = stripe::Layer::start(&ctx.logs.join("alone-localstripe.log")).await?;
    let proxy = stripe::LatencyProxy::start(&layer.direct, ctx.args.stripe_latency).await?;
    let (n_a, n_l) = (
        needed(asked.approvals, duration),
        needed(asked.lookups, duration),
    );
    let seeded = seed(ctx, &layer, n_a + n_l, "alone").await?;
    let key = StripeKey::parse("sk_test_load").context("the test key")?;
    // One gateway per replica, as three processes would have.
    let gateways: Vec<Arc<StripeGateway>> = (0..REPLICAS)
        .map(|_| StripeGateway::new(&key, &proxy.base_url).map(Arc::new))
        .collect::<Result<_, _>>()?;
    let eur = Currency::parse("eur").context("eur")?;
    let t0 = Instant::now();
    let approvals = seeded[..n_a].iter().enumerate().map(|(i, s)| {
        let gateway = Arc::clone(&gateways[i % REPLICAS]);
        let charge = s.charge.clone();
        timed(t0, i as f64 / asked.approvals, async move {
            let charge = ChargeId::parse(&charge).map_err(|e| e.to_string())?;
            gateway.charge(&charge).await.map_err(|e| e.to_string())?;
            let key = format!("load-alone-{charge}");
            let refund = gateway.refund(&charge, Money::new(3900, eur), &key, &[("load", "alone")]);
            refund.await.map(drop).map_err(|e| e.to_string())
        })
    });
    let lookups = seeded[n_a..].iter().enumerate().map(|(i, s)| {
        let gateway = Arc::clone(&gateways[i % REPLICAS]);
        let email = s.email.clone();
        timed(t0, i as f64 / asked.lookups, async move {
            let query = LookupQuery::Email(Email::parse(&email).map_err(|e| e.to_string())?);
            let snapshot = gateway.snapshot(&query, 0).await;
            snapshot.map(drop).map_err(|e| e.to_string())
        })
    });
    let (approvals, lookups) = futures::join!(
        futures::future::join_all(approvals),
        futures::future::join_all(lookups)
    );
    let mut last_done = Duration::ZERO;
    let mut errors = Vec::new();
    let mut figures = |results: Vec<Result<Timed, tokio::task::JoinError>>| {
        let mut took = Vec::new();
        for result in results {
            match result {
                Ok(Ok((t, done))) => {
                    took.push(t);
                    last_done = last_done.max(done);
                }
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Figures::of(&took)
    };
    let (fa, fl) = (figures(approvals), figures(lookups));
    println!("  approval's requests (charge, refund): {}", fa.line());
    println!("  lookup's requests (snapshot by email): {}", fl.line());
    println!(
        "  last one done {:.1} s after the first left (the load lasted {} s); {} errors{}",
        last_done.as_secs_f64(),
        ctx.args.duration,
        errors.len(),
        errors
            .first()
            .map_or(String::new(), |e| format!(", first: {e}"))
    );
    println!("  Stripe: {}", proxy.take_summary());
    let share = verdict::sustained_share(n_a + n_l, duration, last_done);
    if share >= 1.0 {
        println!("  localstripe keeps up with the asked rates");
    }
    Ok(share)
}

async fn seed(
    ctx: &Ctx,
    layer: &stripe::Layer,
    n: usize,
    phase: &str,
) -> anyhow::Result<Vec<Seeded>> {
    let started = Instant::now();
    let tag = format!("{}{phase}", ctx.run_id);
    let seeded = stripe::seed(&ctx.client, &layer.direct, n, &tag, 16).await?;
    println!(
        "  seeded {n} customers with one EUR 39.00 charge each in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(seeded)
}

/// The replicas' settings: every Slack and Stripe call to the stand-ins.
fn replica_env(ctx: &Ctx, stripe_base: &str, prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SLACK_SIGNING_SECRET", drive::SIGNING_SECRET.to_owned()),
        ("SLACK_BOT_TOKEN", "xoxb-load".to_owned()),
        ("SLACK_API_URL", format!("{}/api/", ctx.slack.base_url)),
        ("STRIPE_SECRET_KEY", "sk_test_load".to_owned()),
        ("STRIPE_API_BASE", stripe_base.to_owned()),
        ("REDIS_URL", ctx.redis.url.clone()),
        ("REDIS_PREFIX", prefix.to_owned()),
        ("BILLING_APPROVERS", drive::APPROVER.to_owned()),
        // Scoped as a deployment is: the access check runs in full.
        (
            "BILLING_OPERATORS",
            format!("{},{}", drive::REQUESTER, drive::APPROVER),
        ),
        (
            "BILLING_CHANNELS",
            format!("{},{}", drive::PREP_CHANNEL, drive::RUN_CHANNEL),
        ),
        // EUR 1 000: one approval runs a EUR 39.00 refund.
        ("BILLING_REFUND_LIMIT", "100000".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]
}

/// One phase: seed, start the replicas, open the cases, load, settle, check.
async fn phase(
    ctx: &Ctx,
    name: &'static str,
    rates: Rates,
    kill_every: Option<Duration>,
) -> anyhow::Result<bool> {
    let duration = Duration::from_secs(ctx.args.duration);
    println!();
    match kill_every {
        None => println!("== phase {name}: {REPLICAS} replicas, {} s, no kills", ctx.args.duration),
        Some(every) => println!(
            "== phase {name}: {REPLICAS} replicas, {} s, one SIGKILLed and started again every {} s",
            ctx.args.duration,
            every.as_secs()
        ),
    }
    println!("  {}", load_average());
    let layer = stripe::Layer::start(&ctx.logs.join(format!("{name}-localstripe.log"))).await?;
    let proxy = stripe::LatencyProxy::start(&layer.direct, ctx.args.stripe_latency).await?;
    let (n_a, n_l) = (
        needed(rates.approvals, duration),
        needed(rates.lookups, duration),
    );
    let seeded = seed(ctx, &layer, n_a + n_l, name).await?;
    let (for_cases, for_lookups) = seeded.split_at(n_a);
    let prefix = format!("bt-load:{}:{name}:", ctx.run_id);
    let recipe = fleet::Recipe {
        bin: ctx.bin.clone(),
        env: replica_env(ctx, &proxy.base_url, &prefix),
        logs: ctx.logs.clone(),
        phase: name,
    };
    let fleet = fleet::Fleet::start(recipe, REPLICAS, &ctx.client).await?;
    let store = Store::new(&ctx.redis.url, &prefix).context("the phase's store")?;

    let started = Instant::now();
    let opener = Arc::new(Sender::new(
        ctx.client.clone(),
        fleet.addrs(),
        Instant::now(),
    ));
    let (cases, problems) = drive::open_cases(
        opener,
        Arc::clone(&ctx.slack),
        store.clone(),
        for_cases,
        OPENING_IN_FLIGHT,
    )
    .await;
    let took = started.elapsed().as_secs_f64();
    println!(
        "  opened {}/{n_a} cases with a proposed refund in {took:.1} s ({:.1} lookups/s, {OPENING_IN_FLIGHT} in flight; not timed)",
        cases.len(),
        cases.len() as f64 / took
    );
    for problem in problems.iter().take(3) {
        println!("    {problem}");
    }
    println!("  Stripe while opening: {}", proxy.take_summary());

    let cpu_before = Cpu::read(ctx, &fleet, &layer);
    let sender = Arc::new(Sender::new(
        ctx.client.clone(),
        fleet.addrs(),
        Instant::now(),
    ));
    let plan = Plan {
        cases: &cases,
        lookups: for_lookups,
        rates,
        duration,
        kill_every,
    };
    let load = drive::load(
        Arc::clone(&sender),
        Arc::clone(&ctx.slack),
        plan,
        fleet,
        &ctx.client,
    )
    .await;
    let load_end = sender.t0.elapsed();
    let cpu = Cpu::read(ctx, &load.fleet, &layer).since(&cpu_before, load_end);
    let settled = settle(ctx, &sender, &store, &load, &cases, for_lookups).await?;
    let refunds = stripe::refunds(&ctx.client, &layer.direct).await?;
    let (verified, said) = load.fleet.audit_verify().await?;

    report(&Report {
        rates,
        duration,
        load: &load,
        load_end,
        settled: &settled,
        slack: &ctx.slack,
        stripe: proxy.take_summary(),
        cpu,
    });
    let checks = checks(&load, &settled, &cases, &refunds, n_a, (verified, &said));
    print!("{}", verdict::table(&checks));
    let pass = verdict::passed(&checks);
    println!("  verdict ({name}): {}", if pass { "PASS" } else { "FAIL" });
    println!("  replicas: {}", load.fleet.log_summary());
    load.fleet.stop().await;
    Ok(pass)
}

/// What became of the load once answers came and the reconciler ran.
struct Settled {
    /// Per approval sent: its end, by case index.
    ends: HashMap<usize, ApprovalEnd>,
    /// Lookups sent (by customer index) whose card was posted.
    cards: usize,
    lookups: usize,
    run_again: usize,
    click_to_answer: Vec<Duration>,
    /// When the last of those answers came, since the load began.
    last_answer: Duration,
    /// Done without an answer to the click: a kill took the replica
    /// running it, and the reconciler of another finished it.
    unanswered_done: usize,
    lookup_to_card: Vec<Duration>,
    /// Executing / Verifying actions left, and how long the wait for the
    /// reconciler took (from the end of the load).
    left: usize,
    recovered_after: Option<Duration>,
    waited: Duration,
    errors: Vec<String>,
}

/// When a request's work showed: its card (a lookup) or its answer.
fn shown_at(ctx: &Ctx, sent: &drive::Sent, lookups: &[Seeded], t0: Instant) -> Option<Duration> {
    let answer = ctx.slack.answer(&sent.response_url).map(|a| a.at);
    let at = match sent.kind {
        Kind::Approval => answer,
        Kind::Lookup => ctx
            .slack
            .cards_of(drive::RUN_CHANNEL, &lookups[sent.index].customer)
            .first()
            .map(|c| c.at)
            .or(answer),
    };
    at.map(|at| at.saturating_duration_since(t0))
}

async fn settle(
    ctx: &Ctx,
    sender: &Sender,
    store: &Store,
    load: &Load,
    cases: &[ToApprove],
    lookups: &[Seeded],
) -> anyhow::Result<Settled> {
    let t0 = sender.t0;
    let kills: Vec<verdict::Kill> = load.kills.iter().map(|k| k.kill).collect();
    let hit = |s: &drive::Sent| hit_by_kill(&s.delivery.attempts, &kills);
    let pending = |s: &drive::Sent| shown_at(ctx, s, lookups, t0).is_none();
    let acked: Vec<&drive::Sent> = load
        .sent
        .iter()
        .filter(|s| s.delivery.ack.is_some())
        .collect();
    // 1. Answers still coming; a request a kill hit may never answer.
    let deadline = Instant::now() + SETTLE_WAIT;
    while Instant::now() < deadline && acked.iter().any(|s| pending(s) && !hit(s)) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // 2. What the kills lost is sent again, as its person would: a lookup
    // that never showed its card, a click whose action is still proposed.
    let mut again = Vec::new();
    for s in acked.iter().filter(|s| pending(s) && hit(s)) {
        let proposed = || async {
            let status = status_of(store, &cases[s.index]).await?;
            Ok::<_, anyhow::Error>(matches!(status, Some(ActionStatus::Proposed { .. })))
        };
        if s.kind == Kind::Lookup || proposed().await? {
            again.push((s.kind, s.index));
        }
    }
    let mut resent = Resent::default();
    resent.send(ctx, sender, cases, lookups, &again).await;
    // 3. The reconciler finishes what a kill interrupted (after the lease).
    let load_end = t0.elapsed();
    let recovery = Instant::now();
    let limit = Duration::from_secs(ctx.args.recovery_timeout);
    let mut recovered_after = None;
    let mut left = 0;
    while recovery.elapsed() < limit {
        left = store.executing_actions().await?.len();
        if left == 0 && resent.answered(ctx, lookups) {
            recovered_after = Some(t0.elapsed().saturating_sub(load_end));
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let waited = recovery.elapsed();
    // 4. An action the reconciler found never sent ("interrupted before
    // Stripe was called; approve again") is approved again, as its card says.
    let mut failed = Vec::new();
    for s in acked.iter().filter(|s| s.kind == Kind::Approval && hit(s)) {
        let status = status_of(store, &cases[s.index]).await?;
        if matches!(status, Some(ActionStatus::Failed { .. })) {
            failed.push((Kind::Approval, s.index));
        }
    }
    resent.send(ctx, sender, cases, lookups, &failed).await;
    let deadline = Instant::now() + SETTLE_WAIT;
    while Instant::now() < deadline && !resent.answered(ctx, lookups) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // 5. Where everything ended.
    let mut settled = Settled {
        ends: HashMap::new(),
        cards: 0,
        lookups: 0,
        run_again: resent.run.len(),
        click_to_answer: Vec::new(),
        last_answer: Duration::ZERO,
        unanswered_done: 0,
        lookup_to_card: Vec::new(),
        left,
        recovered_after,
        waited,
        errors: resent.errors,
    };
    for s in &load.sent {
        let first = s
            .delivery
            .attempts
            .first()
            .map_or(Duration::ZERO, |a| a.sent);
        let shown = shown_at(ctx, s, lookups, t0).and_then(|at| at.checked_sub(first));
        match s.kind {
            Kind::Approval => {
                let state = state_of(status_of(store, &cases[s.index]).await?);
                if state == State::Succeeded && shown.is_none() {
                    settled.unanswered_done += 1;
                }
                if state == State::Succeeded && !resent.clicked.contains(&s.index) {
                    settled.click_to_answer.extend(shown);
                    if let Some(at) = shown_at(ctx, s, lookups, t0) {
                        settled.last_answer = settled.last_answer.max(at);
                    }
                }
                settled.ends.insert(
                    s.index,
                    ApprovalEnd {
                        state,
                        refunds: 0,
                        clicked_again: resent.clicked.contains(&s.index),
                    },
                );
            }
            Kind::Lookup => {
                settled.lookups += 1;
                let customer = &lookups[s.index];
                if let Some(card) = ctx
                    .slack
                    .cards_of(drive::RUN_CHANNEL, &customer.customer)
                    .first()
                {
                    settled.cards += 1;
                    if !resent.run.contains(&s.index) {
                        let posted = card.at.saturating_duration_since(t0);
                        settled.lookup_to_card.extend(posted.checked_sub(first));
                    }
                } else if let Some(answer) = ctx.slack.answer(&s.response_url) {
                    settled
                        .errors
                        .push(format!("lookup of {}: {}", customer.email, answer.text));
                }
            }
        }
    }
    Ok(settled)
}

/// Requests sent again after a kill lost them, and what is awaited of them.
#[derive(Default)]
struct Resent {
    /// Case indexes clicked again.
    clicked: HashSet<usize>,
    /// Lookup indexes run again.
    run: HashSet<usize>,
    /// (kind, index, response_url) of each.
    due: Vec<(Kind, usize, String)>,
    errors: Vec<String>,
}

impl Resent {
    async fn send(
        &mut self,
        ctx: &Ctx,
        sender: &Sender,
        cases: &[ToApprove],
        lookups: &[Seeded],
        what: &[(Kind, usize)],
    ) {
        for &(kind, index) in what {
            let target = match kind {
                Kind::Approval => Target::Approve(&cases[index]),
                Kind::Lookup => Target::Lookup(&lookups[index]),
            };
            match drive::again(sender, &ctx.slack, target).await {
                Ok(url) => {
                    match kind {
                        Kind::Approval => self.clicked.insert(index),
                        Kind::Lookup => self.run.insert(index),
                    };
                    self.due.push((kind, index, url));
                }
                Err(e) => self.errors.push(format!("sending again: {e:#}")),
            }
        }
    }

    /// Every click sent again was answered, every lookup showed its card.
    fn answered(&self, ctx: &Ctx, lookups: &[Seeded]) -> bool {
        self.due.iter().all(|(kind, index, url)| match kind {
            Kind::Approval => ctx.slack.answer(url).is_some(),
            Kind::Lookup => !ctx
                .slack
                .cards_of(drive::RUN_CHANNEL, &lookups[*index].customer)
                .is_empty(),
        })
    }
}

async fn status_of(store: &Store, case: &ToApprove) -> anyhow::Result<Option<ActionStatus>> {
    let id = CaseId::parse(&case.case_id).context("a case id the bot made")?;
    let key = ActionKey::parse(&case.key).context("an action key the bot made")?;
    Ok(store.action_status(&id, &key).await?)
}

fn state_of(status: Option<ActionStatus>) -> State {
    match status {
        Some(ActionStatus::Succeeded { .. }) => State::Succeeded,
        Some(ActionStatus::Proposed { .. }) => State::Open("proposed"),
        Some(ActionStatus::Executing { .. }) => State::Open("executing"),
        Some(ActionStatus::Verifying { .. }) => State::Open("verifying"),
        Some(ActionStatus::Failed { error, .. }) => State::Failed(error),
        Some(ActionStatus::Rejected { .. }) => State::Other("rejected".into()),
        Some(ActionStatus::Expired { .. }) => State::Other("expired".into()),
        None => State::Other("no state".into()),
    }
}

fn checks(
    load: &Load,
    settled: &Settled,
    cases: &[ToApprove],
    refunds: &[stripe::RefundSeen],
    n_cases: usize,
    (verified, said): (bool, &str),
) -> Vec<Check> {
    let acked = load
        .sent
        .iter()
        .filter(|s| s.delivery.ack.is_some())
        .count();
    let retried = load
        .sent
        .iter()
        .filter(|s| s.delivery.attempts.len() > 1)
        .count();
    // Refunds by the (case, action) their metadata names.
    let index: HashMap<(&str, &str), usize> = settled
        .ends
        .keys()
        .map(|&i| ((cases[i].case_id.as_str(), cases[i].key.as_str()), i))
        .collect();
    let mut per_action: HashMap<usize, usize> = HashMap::new();
    let mut others = 0;
    for refund in refunds {
        let named = refund
            .case_id
            .as_deref()
            .zip(refund.action.as_deref())
            .and_then(|k| index.get(&k))
            .filter(|&&i| cases[i].charge == refund.charge);
        match named {
            Some(&i) => *per_action.entry(i).or_default() += 1,
            None => others += 1,
        }
    }
    let ends: Vec<ApprovalEnd> = settled
        .ends
        .iter()
        .map(|(i, end)| ApprovalEnd {
            refunds: per_action.get(i).copied().unwrap_or(0),
            ..end.clone()
        })
        .collect();
    let mut checks = vec![
        verdict::cases_opened(n_cases, cases.len()),
        verdict::acknowledged(load.sent.len(), acked, retried),
        verdict::exactly_once(&ends),
        verdict::no_stray_refunds(refunds.len() - others, others),
        verdict::cards_posted(settled.lookups, settled.cards, settled.run_again),
        verdict::settled(settled.left, settled.waited),
        verdict::audit_verifies(verified, said),
    ];
    if !load.kill_errors.is_empty() {
        checks.push(Check {
            name: "every kill restarted",
            pass: false,
            detail: load.kill_errors.join("; "),
        });
    }
    checks
}

struct Report<'a> {
    rates: Rates,
    duration: Duration,
    load: &'a Load,
    load_end: Duration,
    settled: &'a Settled,
    slack: &'a slack::SlackStandIn,
    stripe: String,
    cpu: String,
}

/// CPU seconds used so far by each part of the test.
struct Cpu {
    replicas: f64,
    localstripe: Option<f64>,
    redis: Option<f64>,
    driver: Option<f64>,
}

impl Cpu {
    fn read(ctx: &Ctx, fleet: &fleet::Fleet, layer: &stripe::Layer) -> Self {
        Self {
            replicas: fleet.cpu(),
            localstripe: layer.cpu(),
            redis: ctx.redis.cpu(),
            driver: fleet::cpu_secs("self"),
        }
    }

    /// Cores used on average between `before` and now, over `wall`.
    fn since(&self, before: &Cpu, wall: Duration) -> String {
        let wall = wall.as_secs_f64().max(f64::EPSILON);
        let share = |now: Option<f64>, then: Option<f64>| {
            now.zip(then).map_or("unknown".to_owned(), |(n, t)| {
                format!("{:.2}", (n - t) / wall)
            })
        };
        format!(
            "replicas {}, localstripe {}, redis {}, this driver with its stand-ins and proxy {} (cores busy on average over {wall:.1} s)",
            share(Some(self.replicas), Some(before.replicas)),
            share(self.localstripe, before.localstripe),
            share(self.redis, before.redis),
            share(self.driver, before.driver),
        )
    }
}

fn report(r: &Report<'_>) {
    let of = |kind| {
        r.load
            .sent
            .iter()
            .filter(move |s: &&drive::Sent| s.kind == kind)
    };
    let sending = r.load.sending.as_secs_f64().max(f64::EPSILON);
    let (n_a, n_l) = (of(Kind::Approval).count(), of(Kind::Lookup).count());
    println!(
        "  rates: asked {:.1} approvals/s + {:.1} lookups/s for {} s; sent {n_a} + {n_l} over {sending:.1} s ({:.1}/s + {:.1}/s), round-robin over {REPLICAS} replicas",
        r.rates.approvals,
        r.rates.lookups,
        r.duration.as_secs(),
        n_a as f64 / sending,
        n_l as f64 / sending,
    );
    let acks = |kind| Figures::of(&of(kind).filter_map(|s| s.delivery.ack).collect::<Vec<_>>());
    println!(
        "  ack latency, {}",
        verdict::ack_goal("approvals", &acks(Kind::Approval))
    );
    println!(
        "  ack latency, {}",
        verdict::ack_goal("lookups", &acks(Kind::Lookup))
    );
    let done = r
        .settled
        .ends
        .values()
        .filter(|e| e.state == State::Succeeded)
        .count();
    let answered = Figures::of(&r.settled.click_to_answer);
    println!(
        "  click -> answer (refund done): {}; {done} approvals done; the last answer {:.1} s after the first click ({:.1} refunds/s end to end)",
        answered.line(),
        r.settled.last_answer.as_secs_f64(),
        answered.n as f64 / r.settled.last_answer.as_secs_f64().max(f64::EPSILON),
    );
    println!(
        "  lookup -> card posted: {} (not counting those run again)",
        Figures::of(&r.settled.lookup_to_card).line()
    );
    for k in &r.load.kills {
        println!(
            "  kill: replica {} SIGKILLed at {:.1} s, ready again {:.2} s later",
            k.kill.replica,
            k.kill.at.as_secs_f64(),
            k.back_after.as_secs_f64()
        );
    }
    if !r.load.kills.is_empty() {
        match r.settled.recovered_after {
            Some(after) => println!(
                "  recovery: {} approvals a kill interrupted were finished by the reconciler; nothing left executing {:.1} s after the load ended ({:.1} s after the last kill)",
                r.settled.unanswered_done,
                after.as_secs_f64(),
                (r.load_end + after)
                    .saturating_sub(r.load.kills.last().map_or(Duration::ZERO, |k| k.kill.at))
                    .as_secs_f64()
            ),
            None => println!(
                "  recovery: actions still executing after {:.1} s",
                r.settled.waited.as_secs_f64()
            ),
        }
    }
    for e in r.settled.errors.iter().take(5) {
        println!("  problem: {e}");
    }
    println!("  CPU during the load: {}", r.cpu);
    println!("  Stripe during the load: {}", r.stripe);
    println!(
        "  Slack calls (all phases so far): {}",
        r.slack.methods_line()
    );
}
