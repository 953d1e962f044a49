//! The command line (docs/CONTRACT.md "Binary and commands"), parsed by clap.
//! Each command reads its settings, runs one workflow and prints; errors are
//! `anyhow` chains printed once by `main`.

use crate::card::{self, CardView};
use crate::config::Config;
use crate::domain::trail::witness::WitnessTarget;
use crate::domain::{Actor, LookupQuery};
use crate::reports::Report;
use crate::startup::{self, App};
use crate::telemetry::{self, LogFormat};
use crate::workflow::{self, lookup};
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Triage customer-billing cases on Stripe from Slack or the terminal.
#[derive(Debug, Parser)]
#[command(name = "billing-triage", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot: HTTP endpoints, or Slack Socket Mode when SLACK_APP_TOKEN is set
    Serve,
    /// Look a customer up and triage the case, printed (read-only on Stripe; audited)
    Lookup {
        /// Email, or a Stripe id: cus_, sub_, in_, ch_, pi_, cs_
        query: String,
        /// The customer's message, for its signals (cancel, refund, outage...); may begin
        /// with '-', as a forwarded email's "---------- Forwarded message" does
        #[arg(long, allow_hyphen_values = true, conflicts_with = "message_file")]
        message: Option<String>,
        /// Read the customer's message from a file (a whole forwarded email, UTF-8); '-'
        /// reads standard input
        #[arg(long, value_name = "PATH")]
        message_file: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Read or check the audit trail
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Demo data in a Stripe test-mode account or a local stand-in
    Sandbox {
        #[command(subcommand)]
        command: SandboxCommand,
    },
    /// Plan analysis over every subscription: per price, subscriptions, seats, MRR;
    /// totals per currency (read-only on Stripe; audited)
    Plans {
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Churn triage: canceled (voluntary / involuntary), pending cancellations, at risk
    /// (soft / hard declines), recoverable first (read-only on Stripe; audited)
    Churn {
        /// The period, in days back from now
        #[arg(long, default_value_t = workflow::reports::DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Product-gap surfaces counted over the period's cases, with example case ids
    /// (from the case records the bot keeps for 30 days; audited)
    Gaps {
        /// The period, in days back from now (cases are kept 30 days)
        #[arg(long, default_value_t = workflow::reports::DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Exit 0 when the local server answers GET /healthz (for the container HEALTHCHECK)
    Healthcheck {
        /// Port to probe on 127.0.0.1; defaults to BIND_ADDR's port
        #[arg(long)]
        port: Option<u16>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print one case's audit trail
    Show {
        /// Case id, e.g. case_1a2b3c4d5e6f
        case_id: String,
    },
    /// Check the audit log's hash chain (from the anchor, after a trim) and the per-case indexes; exits non-zero on tampering
    Verify {
        /// Also check the chain against every head published outside Redis (AUDIT_WITNESS):
        /// slack:<channel id> (reads its history with SLACK_BOT_TOKEN) or file:<path>. With
        /// AUDIT_SIGNING_KEY set, a head without its valid signature is a finding
        #[arg(long, value_name = "slack:C…|file:PATH")]
        witness: Option<WitnessTarget>,
    },
    /// Write the audit stream as JSON lines (the stored entries, unchanged) on stdout, for a SIEM or an archive
    Export {
        /// Stop after the entry with this seq
        #[arg(long, value_name = "SEQ")]
        until: Option<u64>,
    },
    /// Remove exported entries up to SEQ; the last one removed stays as the anchor the chain is verified from
    Trim {
        /// The last entry to remove (export up to it first)
        #[arg(long, value_name = "SEQ")]
        until: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Create one demo customer per playbook category (refuses a live key)
    Seed,
    /// Seed, then print the case card of every seeded customer
    Demo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// `audit trim` keeps entries younger than this: two days covers an
/// action's 24 h approval window and its 23 h retry window, so no trail a
/// workflow may still read loses an entry.
const TRIM_KEEP_SECS: i64 = 48 * 3600;
/// How a report is printed on standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Csv,
}

/// What `main` does with a finished command.
pub enum Exit {
    Ok,
    /// A checked failure already explained on stdout/stderr (e.g. tampering).
    Failed(i32),
}

/// Runs one command.
///
/// # Errors
/// Settings, Redis, Stripe or Slack failures, as one chain.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Serve => serve().await,
        Command::Lookup {
            query,
            message,
            message_file,
            format,
        } => {
            let message = match message_file {
                Some(path) => Some(read_message(&path)?),
                None => message,
            };
            lookup_cmd(&query, message.as_deref(), format).await
        }
        Command::Audit { command } => audit_cmd(command).await,
        Command::Sandbox { command } => sandbox(command).await,
        Command::Plans { format } => plans_cmd(format).await,
        Command::Churn { days, format } => churn_cmd(days, format).await,
        Command::Gaps { days, format } => gaps_cmd(days, format).await,
        Command::Healthcheck { port } => healthcheck(port),
    }
}

/// Reads settings; a bad one is a one-line error naming it.
fn config(needs_slack: bool) -> anyhow::Result<Config> {
    Ok(Config::from_env(needs_slack)?)
}

async fn serve() -> anyhow::Result<Exit> {
    let config = config(true)?;
    telemetry::init(LogFormat::Json, std::io::stdout);
    let app = App::build(config).await?;
    app.run_until(shutdown_signal()).await;
    Ok(Exit::Ok)
}

/// Completes on SIGTERM (container stop) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutdown signal received");
}

/// The operator at the terminal, for the audit trail.
fn cli_actor() -> Actor {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    Actor::Cli(
        user.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(32)
            .collect(),
    )
}

async fn lookup_cmd(query: &str, message: Option<&str>, format: Format) -> anyhow::Result<Exit> {
    let query = LookupQuery::parse(query)?;
    let config = config(false)?;
    telemetry::init(LogFormat::Text, std::io::stderr);
    let deps = startup::deps(&config)?;
    let case_id = workflow::new_case_id();
    let case = lookup::open_case(&deps, case_id, cli_actor(), &query, message)
        .await
        .map_err(explain)?;
    let now = workflow::now();
    let statuses = lookup::initial_statuses(&case, now);
    let view = CardView {
        case: &case,
        statuses: &statuses,
        now,
    };
    match format {
        Format::Text => println!("{}", card::render_text(&view)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&card::render_json(&view))
                .context("encoding the case as JSON")?
        ),
    }
    Ok(Exit::Ok)
}

/// A forwarded email is a few tens of KB; more is a wrong file, not a message.
const MAX_MESSAGE_BYTES: u64 = 1024 * 1024;

/// The message behind `--message-file`: a UTF-8 file, or standard input for
/// `-`. Read before anything is looked up, so a wrong path costs no Stripe
/// call and no audit entry.
fn read_message(path: &Path) -> anyhow::Result<String> {
    let (source, mut reader): (String, Box<dyn Read>) = if path == Path::new("-") {
        (
            "standard input".to_owned(),
            Box::new(std::io::stdin().lock()),
        )
    } else {
        let shown = format!("message file {}", path.display());
        let file = std::fs::File::open(path).with_context(|| format!("cannot open the {shown}"))?;
        (shown, Box::new(file))
    };
    let mut bytes = Vec::new();
    reader
        .by_ref()
        .take(MAX_MESSAGE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the {source}"))?;
    if bytes.len() as u64 > MAX_MESSAGE_BYTES {
        anyhow::bail!(
            "the {source} is larger than 1 MiB; pass the customer's email, not an archive"
        );
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("the {source} is not UTF-8 text; save the email as UTF-8 and try again")
    })?;
    if text.trim().is_empty() {
        anyhow::bail!("the {source} is empty; it should hold the customer's message");
    }
    Ok(text)
}

async fn audit_cmd(command: AuditCommand) -> anyhow::Result<Exit> {
    let redis = crate::config::RedisConfig::from_env()?;
    telemetry::init(LogFormat::Text, std::io::stderr);
    let store = crate::store::Store::connect(&redis.url, &redis.prefix, &redis.tls)?;
    match command {
        AuditCommand::Show { case_id } => {
            let case_id = crate::domain::CaseId::parse(&case_id)?;
            let entries = store
                .audit_trail(&case_id)
                .await
                .context("reading the audit trail")?;
            println!("{}", card::trail::render_trail(&case_id, &entries));
            Ok(Exit::Ok)
        }
        AuditCommand::Verify { witness } => verify_cmd(&store, witness.as_ref()).await,
        AuditCommand::Export { until } => {
            use std::io::Write;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let covered = store
                .export_audit(until, &mut |line| writeln!(out, "{line}"))
                .await
                .context("exporting the audit log")?;
            out.flush().context("writing the export")?;
            match (covered.first_seq, &covered.last) {
                (Some(first), Some(last)) => eprintln!(
                    "exported {} entries, seq {first} to {}; the last hash is {}",
                    covered.entries, last.seq, last.hash
                ),
                _ => eprintln!(
                    "exported 0 entries: the audit log holds none{}",
                    until.map(|u| format!(" up to seq {u}")).unwrap_or_default()
                ),
            }
            Ok(Exit::Ok)
        }
        AuditCommand::Trim { until } => {
            let keep_from = workflow::now() - TRIM_KEEP_SECS;
            let covered = match store.trim_audit(until, keep_from).await {
                Ok(covered) => covered,
                Err(crate::store::archive::ArchiveError::Tampered(e)) => {
                    eprintln!("audit log tampered, nothing trimmed: {e}");
                    return Ok(Exit::Failed(1));
                }
                Err(e) => return Err(e).context("trimming the audit log"),
            };
            match (covered.first_seq, &covered.last) {
                (Some(first), Some(anchor)) => println!(
                    "trimmed {} entries, seq {first} to {}; the chain is now verified from the anchor seq {} hash {} (keep it with the export)",
                    covered.entries, anchor.seq, anchor.seq, anchor.hash
                ),
                _ => println!("nothing to trim up to seq {until}"),
            }
            if let Some(seq) = covered.held_back {
                println!(
                    "kept seq {seq} and after: entries less than {} hours old are never trimmed (actions in flight read them)",
                    TRIM_KEEP_SECS / 3600
                );
            }
            Ok(Exit::Ok)
        }
    }
}

/// `audit verify [--witness …]`: the chain, the witness when named, then
/// the case indexes; exits 1 when any of them finds something.
async fn verify_cmd(
    store: &crate::store::Store,
    witness: Option<&WitnessTarget>,
) -> anyhow::Result<Exit> {
    let (chain, witness_report) = match witness {
        None => (
            store
                .verify_audit()
                .await
                .context("reading the audit log")?,
            None,
        ),
        Some(target) => {
            let key = crate::config::signing_key_from_env()?;
            let slack = match target {
                WitnessTarget::Slack(_) => {
                    let reader =
                        crate::config::SlackReader::from_env("to read the witness channel")?;
                    Some(crate::slack::SlackApi::new(
                        &reader.bot_token,
                        &reader.api_url,
                    )?)
                }
                WitnessTarget::File(_) => None,
            };
            let witness = crate::witness::Witness::new(target, slack.as_ref())?;
            let verified = workflow::witness::verify(store, &witness, key.as_ref())
                .await
                .with_context(|| format!("checking the audit log against the witness {target}"))?;
            (verified.chain, verified.witness)
        }
    };
    match chain {
        Ok(n) => {
            // The walk has read the anchor already (an unreadable one is tampering).
            let anchor = store
                .audit_anchor()
                .await
                .context("reading the audit anchor")?;
            let from = anchor
                .map(|a| format!(" after the anchor at seq {}", a.seq))
                .unwrap_or_default();
            println!("audit log intact: {n} entries verified{from}");
        }
        Err(e) => {
            eprintln!("audit log tampered: {e}");
            return Ok(Exit::Failed(1));
        }
    }
    let mut failed = false;
    if let Some(report) = witness_report {
        if report.is_clean() {
            println!("{report}");
        } else {
            failed = true;
            eprintln!("{report}");
            if report.findings.len() > 1 {
                for finding in &report.findings {
                    eprintln!("  {finding}");
                }
            }
        }
    }
    let report = store
        .verify_case_indexes()
        .await
        .context("reading the case indexes")?;
    if report.is_clean() {
        println!("{report}");
    } else {
        failed = true;
        eprintln!(
            "{report}; find who wrote to Redis (`billing-triage audit show` reads these indexes):"
        );
        for problem in &report.problems {
            eprintln!("  {problem}");
        }
    }
    Ok(if failed { Exit::Failed(1) } else { Exit::Ok })
}

async fn sandbox(command: SandboxCommand) -> anyhow::Result<Exit> {
    let config = config(false)?;
    telemetry::init(LogFormat::Text, std::io::stderr);
    let deps = startup::deps(&config)?;
    let seeded = crate::stripe::sandbox::seed(&deps.stripe, &config.stripe.key)
        .await
        .context("seeding the sandbox")?;
    println!("Seeded {} demo customers:", seeded.len());
    for s in &seeded {
        println!("  {:<45} {:<22} {}", s.scenario, s.customer, s.email);
    }
    if matches!(command, SandboxCommand::Seed) {
        return Ok(Exit::Ok);
    }
    for s in &seeded {
        let query = LookupQuery::Customer(s.customer.clone());
        println!(
            "\n━━━ {} ━━━ billing-triage lookup {}{}",
            s.scenario,
            s.customer,
            s.message
                .map(|m| format!(" --message {m:?}"))
                .unwrap_or_default()
        );
        let case = lookup::open_case(
            &deps,
            workflow::new_case_id(),
            cli_actor(),
            &query,
            s.message,
        )
        .await
        .map_err(explain)?;
        let now = workflow::now();
        let statuses = lookup::initial_statuses(&case, now);
        println!(
            "{}",
            card::render_text(&CardView {
                case: &case,
                statuses: &statuses,
                now
            })
        );
    }
    Ok(Exit::Ok)
}

async fn plans_cmd(format: ReportFormat) -> anyhow::Result<Exit> {
    let config = config(false)?;
    telemetry::init(LogFormat::Text, std::io::stderr);
    let deps = startup::deps(&config)?;
    let bar = progress_bar();
    let finished = workflow::reports::plans(&deps, cli_actor(), |p| show_progress(&bar, p))
        .await
        .map_err(explain)?;
    bar.finish_and_clear();
    scan_summary(&finished.stats, config.stripe.read_rate);
    if let Some(line) = &finished.since_last {
        eprintln!("{line}");
    }
    print_report(&finished.report, format)
}

async fn churn_cmd(days: u32, format: ReportFormat) -> anyhow::Result<Exit> {
    let config = config(false)?;
    telemetry::init(LogFormat::Text, std::io::stderr);
    let deps = startup::deps(&config)?;
    let bar = progress_bar();
    let finished = workflow::reports::churn(&deps, cli_actor(), days, |p| show_progress(&bar, p))
        .await
        .map_err(explain)?;
    bar.finish_and_clear();
    scan_summary(&finished.stats, config.stripe.read_rate);
    if let Some(line) = &finished.since_last {
        eprintln!("{line}");
    }
    print_report(&finished.report, format)
}

async fn gaps_cmd(days: u32, format: ReportFormat) -> anyhow::Result<Exit> {
    let config = config(false)?;
    telemetry::init(LogFormat::Text, std::io::stderr);
    let deps = startup::deps(&config)?;
    let report = workflow::reports::gaps(&deps, cli_actor(), days)
        .await
        .map_err(explain)?;
    print_report(&report, format)
}

/// Prints a report on standard output in the chosen format.
fn print_report(report: &impl Report, format: ReportFormat) -> anyhow::Result<Exit> {
    match format {
        ReportFormat::Text => println!("{}", report.to_text()),
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).context("encoding the report")?
        ),
        ReportFormat::Csv => print!("{}", report.to_csv().context("encoding the report")?),
    }
    Ok(Exit::Ok)
}

/// A bar on standard error; hidden by indicatif when stderr is not a terminal.
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        None,
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} scanned {pos} of about {len} subscriptions [{elapsed}] {wide_bar}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn show_progress(bar: &indicatif::ProgressBar, p: workflow::reports::Progress) {
    if let Some(total) = p.estimated_total {
        bar.set_length(total);
    }
    bar.set_position(p.scanned);
}

fn scan_summary(stats: &crate::stripe::scan::ScanStats, rate: u32) {
    let payments = if stats.payments > 0 {
        format!(" and {} open invoice payments", stats.payments)
    } else {
        String::new()
    };
    eprintln!(
        "scanned {} subscriptions{payments} in {} pages: {} Stripe requests at up to {rate}/s (STRIPE_READ_RATE), {} answered 429 and retried",
        stats.subscriptions, stats.pages, stats.requests, stats.throttled
    );
}

/// Logs a workflow error's chain once and turns it into the operator's line.
fn explain(e: workflow::WorkflowError) -> anyhow::Error {
    anyhow::anyhow!(e.report("command failed"))
}

/// A plain HTTP/1.0 GET on loopback, so the distroless image (no shell, no
/// curl) can check itself.
fn healthcheck(port: Option<u16>) -> anyhow::Result<Exit> {
    use std::io::{Read, Write};
    let port = match port {
        Some(p) => p,
        None => std::env::var("BIND_ADDR")
            .ok()
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
            .map_or(3000, |a| a.port()),
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let timeout = std::time::Duration::from_secs(3);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut head = [0u8; 16];
    let n = stream.read(&mut head)?;
    let status_ok =
        head[..n].starts_with(b"HTTP/1.1 200") || head[..n].starts_with(b"HTTP/1.0 200");
    if status_ok {
        Ok(Exit::Ok)
    } else {
        eprintln!("billing-triage: /healthz on {addr} did not answer 200");
        Ok(Exit::Failed(1))
    }
}
