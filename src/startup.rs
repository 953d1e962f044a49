//! Builds the running application from a `Config` value: adapters, shared
//! dependencies, the listener. Tests call `App::build` with their own config
//! and stop it with `run_until`.

use crate::config::{Config, SlackMode};
use crate::followup::FollowUpSettings;
use crate::handlers::Handlers;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::slack::socket::SocketHealth;
use crate::slack::verify::Verifier;
use crate::slack::{SlackApi, SlackError};
use crate::store::{Store, StoreError};
use crate::stripe::retry::Limits;
use crate::stripe::scan::{in_flight_for, ReadLimiter, StripeScanner};
use crate::stripe::{StripeError, StripeGateway};
use crate::witness::{Witness, WitnessError};
use crate::workflow::witness::Publisher;
use crate::workflow::Deps;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Why the app could not start; `Display` is the start-up error line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("BIND_ADDR: cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("STRIPE_SECRET_KEY / STRIPE_API_BASE: {0}")]
    Stripe(#[from] StripeError),
    #[error("REDIS_URL: {0}")]
    Store(#[from] StoreError),
    #[error("Slack client: {0}")]
    Slack(#[from] SlackError),
    #[error("SLACK_BOT_TOKEN: required for `serve`")]
    NoSlack,
    #[error("AUDIT_WITNESS: {0}")]
    Witness(#[from] WitnessError),
}

/// A built, bound, not yet running app.
pub struct App {
    listener: TcpListener,
    deps: Arc<Deps>,
    state: Arc<AppState>,
    mode: Option<SlackMode>,
    shutdown_grace: Duration,
    /// Publishes the audit head outside Redis (`AUDIT_WITNESS`), and how often.
    witness: Option<(Arc<Publisher>, Duration)>,
}

/// The shortest time the last head publication on shutdown gets, even when
/// the grace period is spent: a file append takes milliseconds, a Slack
/// post well under a second.
const LAST_PUBLICATION: Duration = Duration::from_secs(3);

/// The shared dependencies, for `serve` and for command-line workflows.
///
/// # Errors
/// When an adapter cannot be set up.
pub fn deps(config: &Config) -> Result<Deps, StartupError> {
    // One limiter for the process: the report scanner is
    // made from the gateway, so both share the in-flight slots, the 429
    // pause and the retry policy; only the scans are also paced by
    // STRIPE_READ_RATE.
    let limits = Limits::new(in_flight_for(config.stripe.read_rate));
    let stripe =
        StripeGateway::new(&config.stripe.key, &config.stripe.api_base)?.with_limits(limits);
    let scanner = StripeScanner::new(
        stripe.clone(),
        Arc::new(ReadLimiter::new(config.stripe.read_rate)),
    );
    let store = Store::connect(&config.redis_url, &config.redis_prefix, &config.redis_tls)?
        .with_replica_wait(config.redis_wait);
    let metrics = Metrics::new();
    let slack = config
        .slack
        .as_ref()
        .map(|s| {
            SlackApi::new(&s.bot_token, &s.api_url).map(|api| api.with_metrics(metrics.clone()))
        })
        .transpose()?;
    Ok(Deps {
        stripe,
        store,
        slack,
        followup: FollowUpSettings {
            portal_login_url: config.portal_login_url.clone(),
        },
        metrics,
        policy: config.policy.clone(),
        instance: crate::workflow::new_instance_id(),
        tasks: tokio_util::task::TaskTracker::new(),
        scanner,
        access: crate::workflow::access::AccessGate::new(config.access.clone()),
        notify: config.approval_notify.clone(),
        homes: crate::workflow::home::HomeRedraws::default(),
    })
}

impl App {
    /// # Errors
    /// See [`StartupError`].
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let slack = config.slack.clone().ok_or(StartupError::NoSlack)?;
        if let Some(warning) = config.policy.read_only_warning() {
            tracing::warn!(setting = "BILLING_APPROVERS", "{warning}");
        }
        for warning in config.access.warnings() {
            tracing::warn!("{warning}");
        }
        for approver in config.access.approvers_outside(&config.policy.approvers) {
            tracing::warn!(approver = %approver, "this approver is not in BILLING_OPERATORS, so their clicks will be refused; approvers must be operators");
        }
        let deps = Arc::new(deps(&config)?);
        let witness = witness_publisher(&config, &deps).await?;
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: config.bind_addr,
                source,
            })?;
        let (verifier, socket) = match &slack.mode {
            SlackMode::Http { signing_secret } => (Some(Verifier::new(signing_secret)), None),
            SlackMode::Socket { .. } => (None, Some(SocketHealth::new())),
        };
        Ok(Self {
            listener,
            deps: Arc::clone(&deps),
            state: Arc::new(AppState {
                handler: Arc::new(Handlers::new(Arc::clone(&deps))),
                store: deps.store.clone(),
                metrics: deps.metrics.clone(),
                verifier,
                socket,
            }),
            mode: Some(slack.mode),
            shutdown_grace: config.shutdown_grace,
            witness,
        })
    }

    /// The port actually bound (tests bind port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn deps(&self) -> Arc<Deps> {
        Arc::clone(&self.deps)
    }

    /// Serves until `shutdown` completes, then shuts down gracefully: stops
    /// accepting (HTTP connections and Socket Mode events), lets requests in
    /// progress finish, and waits for every background task (lookups,
    /// approvals, their answers to operators) until the grace period
    /// (`SHUTDOWN_GRACE_SECS`, counted from the signal) runs out.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let addr = self
            .listener
            .local_addr()
            .map_or_else(|_| "unknown".to_owned(), |a| a.to_string());
        let socket_mode = matches!(self.mode, Some(SlackMode::Socket { .. }));
        tracing::info!(addr = %addr, socket_mode, "serving");
        let deps = Arc::clone(&self.deps);
        let reconciler = tokio::spawn(reconcile_forever(Arc::clone(&deps)));
        let homes = tokio::spawn(crate::workflow::home::redraw_forever(Arc::clone(&deps)));
        let witness = self.witness.map(|(publisher, every)| {
            let task = tokio::spawn(Arc::clone(&publisher).run(every));
            (publisher, task)
        });
        let signalled: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
        let shutdown = {
            let signalled = Arc::clone(&signalled);
            async move {
                shutdown.await;
                let _ = signalled.set(Instant::now());
            }
        };
        match self.mode {
            Some(SlackMode::Socket { app_token }) => {
                // Socket Mode still serves /healthz, /readyz (503 until
                // Slack's hello) and /metrics.
                let health = self.state.socket.clone().unwrap_or_default();
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                let http = tokio::spawn(http::serve(
                    self.listener,
                    Arc::clone(&self.state),
                    async move {
                        let _ = rx.await;
                    },
                ));
                // Returns once its close frames are written (at most
                // `socket::CLOSE_WAIT` after the signal).
                match &deps.slack {
                    Some(slack) => {
                        let handler = Arc::clone(&self.state.handler);
                        crate::slack::socket::run(slack, handler, &app_token, health, shutdown)
                            .await;
                    }
                    None => tracing::error!("Socket Mode needs SLACK_BOT_TOKEN; not started"),
                }
                let _ = tx.send(());
                let _ = http.await;
            }
            _ => http::serve(self.listener, self.state, shutdown).await,
        }
        let deadline = signalled.get().copied().unwrap_or_else(Instant::now) + self.shutdown_grace;
        drain(&deps, deadline).await;
        reconciler.abort();
        homes.abort();
        if let Some((publisher, task)) = witness {
            // After the drain, so the head published is the one this
            // replica leaves behind.
            task.abort();
            let _ = task.await;
            let until = deadline.max(Instant::now() + LAST_PUBLICATION);
            if tokio::time::timeout_at(until.into(), publisher.publish_logged("shutdown"))
                .await
                .is_err()
            {
                tracing::warn!("the last audit head publication did not finish in time");
            }
        }
        // Work still in flight after the drain is handed to the other
        // replicas' reconcilers at once, not after its lease runs out.
        if let Err(e) = crate::workflow::reconcile::hand_over(&deps).await {
            tracing::warn!(error = %e, "could not announce the exit; other replicas wait for the leases");
        }
        tracing::info!("stopped");
    }
}

/// The head's publisher when `AUDIT_WITNESS` names a place, its file
/// checked writable now; warns when a deployment that moves money has no
/// witness, or publishes unsigned heads.
async fn witness_publisher(
    config: &Config,
    deps: &Deps,
) -> Result<Option<(Arc<Publisher>, Duration)>, StartupError> {
    let settings = &config.witness;
    let Some(target) = &settings.target else {
        if config.policy.read_only_warning().is_none() {
            tracing::warn!(
                setting = "AUDIT_WITNESS",
                "AUDIT_WITNESS is off: the audit chain is only as strong as Redis's access control (anyone who can write Redis can rewrite it and `audit verify` passes); publish its head to a file or a Slack channel"
            );
        }
        if settings.key.is_some() {
            tracing::warn!(
                setting = "AUDIT_SIGNING_KEY",
                "AUDIT_SIGNING_KEY is set but AUDIT_WITNESS is off: nothing is signed"
            );
        }
        return Ok(None);
    };
    if settings.key.is_none() {
        tracing::warn!(
            setting = "AUDIT_SIGNING_KEY",
            "AUDIT_SIGNING_KEY is unset: audit heads are published unsigned, so anyone who can write to the witness can forge one"
        );
    }
    let witness = Witness::new(target, deps.slack.as_ref())?;
    witness.check().await?;
    tracing::info!(witness = %target, every_secs = settings.interval.as_secs(), signed = settings.key.is_some(), "publishing the audit head outside Redis");
    let publisher = Publisher::new(
        witness,
        settings.key.clone(),
        deps.store.clone(),
        deps.metrics.clone(),
        deps.instance.clone(),
    );
    Ok(Some((Arc::new(publisher), settings.interval)))
}

/// Waits for the background tasks until `deadline`; says how many did not
/// finish (their state stays in Redis for the reconciler).
async fn drain(deps: &Deps, deadline: Instant) {
    deps.tasks.close();
    let in_flight = deps.tasks.len();
    if in_flight > 0 {
        tracing::info!(in_flight, "waiting for work in flight to finish");
    }
    if tokio::time::timeout_at(deadline.into(), deps.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            unfinished = deps.tasks.len(),
            "grace period over with work still in flight"
        );
    }
}

/// How often a replica looks for actions another replica abandoned or handed
/// over: a handed-over action waits at most this long.
const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// Finishes interrupted actions at start-up, then every 15 s (a replica
/// that died mid-action may never start again), and marks the proposals
/// whose approval window closed as lapsed (so a lapse is told within 15 s).
async fn reconcile_forever(deps: Arc<Deps>) {
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    loop {
        tick.tick().await;
        match crate::workflow::reconcile::reconcile(&deps).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, "reconciled interrupted actions"),
            Err(e) => tracing::warn!(error = %e, "reconciler could not run; will retry"),
        }
        match crate::workflow::lapse::sweep(&deps).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, "marked lapsed actions"),
            Err(e) => tracing::warn!(error = %e, "could not look for lapsed actions; will retry"),
        }
    }
}
