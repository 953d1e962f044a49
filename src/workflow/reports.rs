//! The report workflows (issue 10): audit who asked for which report, scan
//! Stripe at `STRIPE_READ_RATE`, fold the pages into the pure tally as they
//! arrive, and hand back the finished report. Progress goes to a callback
//! (the CLI's bar on standard error, the Slack message's updates). Nothing
//! here writes to Stripe.

use serde_json::json;
use tokio::sync::mpsc;

use super::{now, Deps, WorkflowError};
use crate::audit::{AuditKind, NewEntry};
use crate::domain::Actor;
use crate::reports::churn::{ChurnReport, ChurnTally};
use crate::reports::gaps::{GapsReport, GapsTally, ANSWERABLE_DAYS};
use crate::reports::plans::{PlansReport, PlansTally};
use crate::reports::ScannedSubscription;
use crate::stripe::scan::{ScanStats, ScanStatus};

/// Default period of the reports, in days (issue 10).
pub const DEFAULT_DAYS: u32 = 30;

/// How far a scan has come, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub scanned: u64,
    pub estimated_total: Option<u64>,
}

/// A finished report and what its scan cost.
#[derive(Debug, Clone)]
pub struct Finished<R> {
    pub report: R,
    pub stats: ScanStats,
}

/// The plan analysis over every subscription.
///
/// # Errors
/// Redis (the run could not be audited, so nothing was read) or Stripe.
#[tracing::instrument(skip_all, fields(report = "plans"))]
pub async fn plans(
    deps: &Deps,
    actor: Actor,
    progress: impl FnMut(Progress),
) -> Result<Finished<PlansReport>, WorkflowError> {
    audit_run(deps, actor, "plans", DEFAULT_DAYS).await?;
    let started = now();
    let mut tally = PlansTally::new(started - i64::from(DEFAULT_DAYS) * 86_400);
    let stats = scan(deps, started, progress, |s| tally.add(s)).await?;
    Ok(Finished {
        report: tally.finish(now(), DEFAULT_DAYS),
        stats,
    })
}

/// Churn triage over the last `days` days: one scan of every subscription,
/// then the failed-payment details of each at-risk one, read at the same
/// rate.
///
/// # Errors
/// Redis (the run could not be audited, so nothing was read) or Stripe.
#[tracing::instrument(skip_all, fields(report = "churn", days))]
pub async fn churn(
    deps: &Deps,
    actor: Actor,
    days: u32,
    progress: impl FnMut(Progress),
) -> Result<Finished<ChurnReport>, WorkflowError> {
    audit_run(deps, actor, "churn", days).await?;
    let started = now();
    let mut tally = ChurnTally::new(started - i64::from(days) * 86_400);
    let mut stats = scan(deps, started, progress, |s| tally.add(s)).await?;
    let detail_stats = std::sync::Mutex::new(ScanStats::default());
    let workers = deps.scanner.limiter().rate().clamp(1, 128) as usize;
    let details = {
        use futures::StreamExt;
        futures::stream::iter(tally.at_risk().iter().map(|c| {
            deps.scanner
                .failed_payment(&c.customer, c.latest_invoice.as_deref(), &detail_stats)
        }))
        .buffered(workers)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
    };
    let extra = *detail_stats
        .lock()
        .expect("detail stats lock is never poisoned");
    stats.requests += extra.requests;
    stats.throttled += extra.throttled;
    Ok(Finished {
        report: tally.finish(&details, now(), days),
        stats,
    })
}

/// Product-gap surfaces over the cases opened in the last `days` days, from
/// the case records in Redis (kept 30 days: a longer period counts 30).
///
/// # Errors
/// Redis.
#[tracing::instrument(skip_all, fields(report = "gaps", days))]
pub async fn gaps(deps: &Deps, actor: Actor, days: u32) -> Result<GapsReport, WorkflowError> {
    audit_run(deps, actor, "gaps", days).await?;
    let started = now();
    let counted = days.min(ANSWERABLE_DAYS);
    let mut tally = GapsTally::new(started - i64::from(counted) * 86_400);
    let unreadable = deps
        .store
        .for_each_case(|case| {
            tally.add(
                case.id.as_str(),
                case.snapshot.fetched_at,
                case.product_gap.as_ref(),
            );
        })
        .await?;
    if unreadable > 0 {
        tracing::warn!(
            unreadable,
            "stored cases skipped: not readable as this version's Case"
        );
    }
    Ok(tally.finish(now(), days))
}

/// Writes the `report_run` audit entry before anything is read.
async fn audit_run(
    deps: &Deps,
    actor: Actor,
    report: &str,
    days: u32,
) -> Result<(), WorkflowError> {
    deps.store
        .append_audit(NewEntry {
            case_id: None,
            action: None,
            kind: AuditKind::ReportRun,
            actor,
            at: now(),
            stripe_ids: Vec::new(),
            detail: json!({ "report": report, "days": days }),
        })
        .await?;
    Ok(())
}

/// Runs a scan of every subscription and feeds each one to `fold` as its
/// page arrives; the channel is bounded, so a slow fold slows the scan
/// instead of piling pages up in memory.
async fn scan(
    deps: &Deps,
    now: i64,
    mut progress: impl FnMut(Progress),
    mut fold: impl FnMut(&ScannedSubscription),
) -> Result<ScanStats, WorkflowError> {
    // Enough cursors to keep the rate busy while pages take up to a second.
    let workers = deps.scanner.limiter().rate().clamp(1, 128) as usize;
    let (tx, mut rx) = mpsc::channel(workers * 2);
    let scanning = deps
        .scanner
        .scan_subscriptions(ScanStatus::All, workers, now, tx);
    let folding = async {
        while let Some(page) = rx.recv().await {
            for sub in &page.subscriptions {
                fold(sub);
            }
            progress(Progress {
                scanned: page.scanned,
                estimated_total: page.estimated_total,
            });
        }
    };
    let (stats, ()) = tokio::join!(scanning, folding);
    Ok(stats?)
}
