//! Workflows: the only code that joins the pure core with the adapters.
//! `lookup` opens a case (Stripe → assess → card → Slack → Redis);
//! `commands` turns Slack requests into workflows and their immediate
//! acknowledgements. Every error here ends as either a user-facing message
//! (shown as is, ephemeral) or an internal one (a short line with a reference
//! id for the operator, the whole chain in the log).

pub mod access;
pub mod action_state;
pub mod approve;
pub mod case_card;
pub mod choose;
pub mod context;
pub mod execute;
pub mod home;
pub mod intent;
pub mod lapse;
pub mod lookup;
pub mod notify;
pub mod reconcile;
pub mod reports;
pub mod witness;

use crate::config::PolicyConfig;
use crate::domain::CaseId;
use crate::followup::FollowUpSettings;
use crate::metrics::Metrics;
use crate::slack::{SlackApi, SlackError};
use crate::store::{Store, StoreError};
use crate::stripe::scan::StripeScanner;
use crate::stripe::{StripeError, StripeGateway};

/// What the workflows need, built once at start-up and shared by all tasks.
pub struct Deps {
    pub stripe: StripeGateway,
    pub store: Store,
    /// Absent for command-line use.
    pub slack: Option<SlackApi>,
    pub followup: FollowUpSettings,
    pub metrics: Metrics,
    pub policy: PolicyConfig,
    /// This process's id, made at start-up ([`new_instance_id`]): it owns
    /// the actions it claims, and announces its exit under it.
    pub instance: String,
    /// Every background task (lookups, approvals, answers) is spawned here,
    /// so a shutdown can wait for them to finish.
    pub tasks: tokio_util::task::TaskTracker,
    /// Account-wide list scans for the reports, paced by `STRIPE_READ_RATE`.
    pub scanner: StripeScanner,
    /// Who may see billing, and where; what Slack said recently.
    pub access: access::AccessGate,
    /// How approvers are told that something waits on them.
    pub notify: crate::domain::ApprovalNotify,
    /// The App Homes to redraw after cases change (`home::redraw_forever`).
    pub homes: home::HomeRedraws,
}

/// How a workflow failed; `user_message` is what the operator reads.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("Stripe call failed")]
    Stripe(#[from] StripeError),
    #[error("Redis call failed")]
    Store(#[from] StoreError),
    #[error("Slack call failed")]
    Slack(#[from] SlackError),
    #[error("{0}")]
    User(String),
}

impl WorkflowError {
    /// Operator text: what failed and what to do, plus a reference id that
    /// finds the full error in the logs.
    pub fn user_message(&self, reference: &str) -> String {
        match self {
            Self::Stripe(e) => format!("Stripe did not answer as expected ({e}); nothing was changed. Try again in a minute (ref {reference})"),
            Self::Store(StoreError::Unavailable(_)) => format!(
                "Redis is unavailable, so the bot cannot record this in the audit trail and did nothing. Try again shortly (ref {reference})"
            ),
            Self::Store(StoreError::NotReplicated { .. }) => format!(
                "Redis could not confirm this approval on a replica in time, so nothing was sent to Stripe (a Redis failover now could have lost the approval). Approve again in a minute; if it keeps happening, Redis's replicas are down or lagging (ref {reference})"
            ),
            Self::Store(_) => format!("The bot's store failed; nothing was changed (ref {reference})"),
            Self::Slack(e) => format!("Slack refused to post the case card: {}; {} (ref {reference})", e, e.hint()),
            Self::User(text) => text.clone(),
        }
    }
}

impl WorkflowError {
    /// Handles the error where it ends: logs it once (a refusal as a warning,
    /// anything else with its whole chain) under a fresh reference id, and
    /// returns the operator's text, which carries that id.
    pub fn report(&self, what: &str) -> String {
        let reference = new_reference();
        match self {
            Self::User(_) => tracing::warn!(reference, "{what}: refused"),
            other => log_error(other, &reference, what),
        }
        self.user_message(&reference)
    }
}

/// Unix seconds now; the shell reads the clock, the core is handed it.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A fresh random case id.
pub fn new_case_id() -> CaseId {
    let bits = uuid::Uuid::new_v4().as_u128() as u64;
    CaseId::from_random(bits)
}

/// A fresh id for this process (`inst_…`), owner of the actions it runs.
pub fn new_instance_id() -> String {
    format!("inst_{}", uuid::Uuid::new_v4().simple())
}

/// A short id tying a user-facing error to its log line.
pub fn new_reference() -> String {
    let bits = uuid::Uuid::new_v4().as_u128() as u32;
    format!("{bits:08x}")
}

/// Logs an error chain once, where it is handled.
pub fn log_error(error: &(dyn std::error::Error + 'static), reference: &str, what: &str) {
    let mut chain = Vec::new();
    let mut source = error.source();
    while let Some(e) = source {
        chain.push(e.to_string());
        source = e.source();
    }
    tracing::error!(reference, error.message = %error, error.cause_chain = ?chain, "{what}");
}
