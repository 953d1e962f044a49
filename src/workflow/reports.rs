//! The report workflows: audit who asked for which report, scan Stripe at
//! `STRIPE_READ_RATE`, fold the pages into the pure tally as they arrive, and
//! hand back the finished report. Progress goes to a callback (the CLI's bar
//! on standard error, the Slack message's updates). Nothing here writes to
//! Stripe.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::{now, Deps, WorkflowError};
use crate::audit::{NewEntry, ReportRun};
use crate::card::report::{layout as report_layout, Page};
use crate::domain::{Actor, ReportRequest};
use crate::reports::change::{since_last, Figures};
use crate::reports::charts;
use crate::reports::churn::{ChurnReport, ChurnTally};
use crate::reports::gaps::{GapsReport, GapsTally, ANSWERABLE_DAYS};
use crate::reports::plans::{PlansReport, PlansTally};
use crate::reports::Report;
use crate::reports::ScannedSubscription;
use crate::slack::api::{Message, SlackError};
use crate::stripe::scan::{ScanStats, ScanStatus, StripeScanner};
use crate::stripe::StripeError;

/// Default period of the reports, in days.
pub use crate::domain::surface::TRIAGE_ACTION_ID;

pub const DEFAULT_DAYS: u32 = crate::domain::DEFAULT_REPORT_DAYS;

/// A report asked for in Slack.
#[derive(Debug, Clone)]
pub struct SlackReport {
    pub actor: Actor,
    pub channel: crate::domain::ChannelId,
    pub response_url: crate::domain::ResponseUrl,
    pub request: ReportRequest,
}

/// How often the progress message is edited (Slack allows about one
/// `chat.update` per second per channel).
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The report's name, as the command spells it.
pub fn name(request: ReportRequest) -> &'static str {
    match request {
        ReportRequest::Plans => "plans",
        ReportRequest::Churn { .. } => "churn",
        ReportRequest::Gaps { .. } => "gaps",
    }
}

/// Runs a report for Slack in its own task: a progress message in the
/// channel, edited as pages arrive, then replaced by the report as a text
/// table under a native chart (MRR by plan, churn reasons), posted without
/// the chart when the workspace refuses it; a report longer than one
/// message goes on in the thread, never cut. Failures are told to the requester alone (ephemeral).
pub fn spawn_slack_report(deps: Arc<Deps>, job: SlackReport) {
    let span = tracing::info_span!("slack_report", report = name(job.request));
    // On `Deps::tasks`, so a shutdown lets a running report finish (it only reads).
    deps.tasks.clone().spawn(
        async move {
            if let Err(e) = run_slack_report(&deps, &job).await {
                let text = e.report("report failed");
                if let Some(slack) = &deps.slack {
                    if let Err(e) = slack.respond(&job.response_url, &Message::text(text)).await {
                        tracing::warn!(error = %e, "could not answer through response_url");
                    }
                }
            }
        }
        .instrument(span),
    );
}

async fn run_slack_report(deps: &Arc<Deps>, job: &SlackReport) -> Result<(), WorkflowError> {
    let slack = deps
        .slack
        .as_ref()
        .ok_or_else(|| WorkflowError::User("Slack is not configured".into()))?;
    let title = match job.request {
        ReportRequest::Plans => "Plans report".to_owned(),
        ReportRequest::Churn { days } => format!("Churn report, last {days} days"),
        ReportRequest::Gaps { days } => format!("Product gaps, last {days} days"),
    };
    let ts = slack
        .post_message(
            &job.channel,
            &Message::text(format!("{title}: starting the scan…")),
            None,
        )
        .await?;
    let (tx, mut rx) = watch::channel(None::<Progress>);
    let updater = {
        let (deps, channel, ts, title) = (
            Arc::clone(deps),
            job.channel.clone(),
            ts.clone(),
            title.clone(),
        );
        deps.tasks.clone().spawn(async move {
            while rx.changed().await.is_ok() {
                let progress = *rx.borrow_and_update();
                if let (Some(p), Some(slack)) = (progress, &deps.slack) {
                    let text = progress_text(&title, p);
                    if let Err(e) = slack
                        .update_message(&channel, &ts, &Message::text(text))
                        .await
                    {
                        tracing::warn!(error = %e, "progress update failed");
                    }
                }
                tokio::time::sleep(PROGRESS_EVERY).await;
            }
        })
    };
    let report = move |p: Progress| {
        let _ = tx.send(Some(p));
    };
    let result = match job.request {
        ReportRequest::Plans => plans(deps, job.actor.clone(), report).await.map(|f| {
            let chart = charts::mrr_by_plan(&f.report);
            (
                with_change(f.report.to_text(), f.since_last),
                Vec::new(),
                chart,
            )
        }),
        ReportRequest::Churn { days } => {
            churn(deps, job.actor.clone(), days, report).await.map(|f| {
                let rows = f.report.triage_rows();
                let chart = charts::churn_reasons(&f.report);
                (with_change(f.report.to_text(), f.since_last), rows, chart)
            })
        }
        ReportRequest::Gaps { days } => gaps(deps, job.actor.clone(), days)
            .await
            .map(|r| (r.to_text(), Vec::new(), None)),
    };
    updater.abort();
    let (text, triage_rows, chart) = match result {
        Ok(text) => text,
        Err(e) => {
            let failed = format!("{title}: failed, nothing was changed");
            let _ = slack
                .update_message(&job.channel, &ts, &Message::text(failed))
                .await;
            return Err(e);
        }
    };
    let layout = report_layout(&title, &text, &triage_rows);
    let (first, thread): (Message, Vec<Message>) = (
        page(layout.first),
        layout.thread.into_iter().map(page).collect(),
    );
    match &chart {
        None => slack.update_message(&job.channel, &ts, &first).await?,
        Some(chart) => {
            // The chart goes above the text table it pictures; the table
            // stays, as the fallback a workspace without charts shows.
            let mut with_chart = first.clone();
            with_chart.blocks.insert(1, chart.clone().into());
            match slack.update_message(&job.channel, &ts, &with_chart).await {
                Err(SlackError::Api { code }) if refuses_blocks(&code) => {
                    tracing::warn!(
                        code = %code,
                        "Slack refused the chart block: the report goes out as text alone"
                    );
                    slack.update_message(&job.channel, &ts, &first).await?;
                }
                other => other?,
            }
        }
    }
    for message in &thread {
        slack.post_message(&job.channel, message, Some(&ts)).await?;
    }
    Ok(())
}

/// The progress message's text.
pub fn progress_text(title: &str, p: Progress) -> String {
    let about = p
        .estimated_total
        .map(|t| format!(" of about {t}"))
        .unwrap_or_default();
    format!("{title}: scanned {}{about} subscriptions…", p.scanned)
}

/// A laid-out page as the Web API's message.
fn page(page: Page) -> Message {
    Message {
        text: page.text,
        blocks: page.blocks,
    }
}

/// Slack's answers to a message whose blocks it cannot take, as a workspace
/// without the `data_visualization` block answers the chart.
fn refuses_blocks(code: &str) -> bool {
    matches!(code, "invalid_blocks" | "invalid_arguments")
}

/// The report's text with the period-over-period line first.
fn with_change(text: String, since_last: Option<String>) -> String {
    match since_last {
        Some(line) => format!("{line}\n\n{text}"),
        None => text,
    }
}

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
    /// What changed since the previous run of the same report, if any.
    pub since_last: Option<String>,
}

/// Keeps this run's figures and says what changed since the last run.
/// Best effort: the report stands without it.
async fn compare(deps: &Deps, name: &str, figures: &Figures, label: &str) -> Option<String> {
    let json = serde_json::to_string(figures).ok()?;
    match deps.store.swap_report_figures(name, &json).await {
        Ok(previous) => {
            let previous: Option<Figures> = previous.and_then(|p| serde_json::from_str(&p).ok());
            since_last(previous.as_ref(), figures, label)
        }
        Err(e) => {
            tracing::warn!(error = %e, "report figures not kept: no period-over-period line");
            None
        }
    }
}

/// The plan analysis over every subscription.
///
/// # Errors
/// Redis (the run could not be audited, so nothing was read) or Stripe.
#[tracing::instrument(skip_all, fields(report = "plans"))]
pub async fn plans(
    deps: &Deps,
    actor: Actor,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<Finished<PlansReport>, WorkflowError> {
    audit_run(deps, actor, "plans", DEFAULT_DAYS).await?;
    let started = now();
    let mut tally = PlansTally::new(started - i64::from(DEFAULT_DAYS) * 86_400);
    let stats = scan_subscriptions(
        &deps.scanner,
        workers_for(&deps.scanner),
        started,
        &mut progress,
        &mut |s| tally.add(s),
    )
    .await?;
    let report = tally.finish(now(), DEFAULT_DAYS);
    let since_last = compare(deps, "plans", &Figures::of_plans(&report), "MRR").await;
    Ok(Finished {
        report,
        stats,
        since_last,
    })
}

/// Churn triage over the last `days` days: one scan of every subscription
/// and, alongside it at the same rate, one of the open invoice payments
/// (each at-risk subscription's decline, attempts and next retry), so no
/// subscription costs a read of its own.
///
/// # Errors
/// Redis (the run could not be audited, so nothing was read) or Stripe.
#[tracing::instrument(skip_all, fields(report = "churn", days))]
pub async fn churn(
    deps: &Deps,
    actor: Actor,
    days: u32,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<Finished<ChurnReport>, WorkflowError> {
    audit_run(deps, actor, "churn", days).await?;
    let started = now();
    let mut tally = ChurnTally::new(started - i64::from(days) * 86_400);
    let workers = workers_for(&deps.scanner);
    let stats = scan_churn(&deps.scanner, workers, started, &mut progress, &mut tally).await?;
    let report = tally.finish(now(), days);
    let since_last = compare(
        deps,
        &format!("churn:{days}"),
        &Figures::of_churn(&report),
        "MRR at risk",
    )
    .await;
    Ok(Finished {
        report,
        stats,
        since_last,
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
        .append_audit(NewEntry::new(
            ReportRun {
                report: report.to_owned(),
                days,
            },
            actor,
            now(),
        ))
        .await?;
    Ok(())
}

/// Cursors per scan: enough to keep the rate busy while pages take up to
/// a second.
pub fn workers_for(scanner: &StripeScanner) -> usize {
    scanner.limiter().rate().clamp(1, 128) as usize
}

/// Runs a scan of every subscription and feeds each one to `fold` as its
/// page arrives; the channel is bounded, so a slow fold slows the scan
/// instead of piling pages up in memory.
///
/// # Errors
/// The scan's first request that failed for good.
pub async fn scan_subscriptions(
    scanner: &StripeScanner,
    workers: usize,
    now: i64,
    progress: &mut (dyn FnMut(Progress) + Send),
    fold: &mut (dyn FnMut(&ScannedSubscription) + Send),
) -> Result<ScanStats, StripeError> {
    let (tx, mut rx) = mpsc::channel(workers.max(1) * 2);
    let scanning = scanner.scan_subscriptions(ScanStatus::All, workers, now, tx);
    let folding = async {
        while let Some(page) = rx.recv().await {
            for sub in &page.items {
                fold(sub);
            }
            progress(Progress {
                scanned: page.scanned,
                estimated_total: page.estimated_total,
            });
        }
    };
    let (stats, ()) = tokio::join!(scanning, folding);
    stats
}

/// Cursors for the open-payment scan beside `workers` for the subscriptions.
fn payment_workers(workers: usize) -> usize {
    (workers / 8).max(2)
}

/// The churn report's two scans at once, sharing the rate: every
/// subscription, and the open invoice payments, both folded into `tally`
/// as their pages arrive. Progress counts subscriptions.
///
/// # Errors
/// The first request of either scan that failed for good.
pub async fn scan_churn(
    scanner: &StripeScanner,
    workers: usize,
    now: i64,
    progress: &mut (dyn FnMut(Progress) + Send),
    tally: &mut ChurnTally,
) -> Result<ScanStats, StripeError> {
    let (tx, mut subs) = mpsc::channel(workers.max(1) * 2);
    let (ptx, mut payments) = mpsc::channel(workers.max(1) * 2);
    let scanning = scanner.scan_subscriptions(ScanStatus::All, workers, now, tx);
    // The open payments are a small list read alongside a large one: a
    // few cursors finish it within the subscription scan, and fewer
    // ranges mean fewer part-filled pages.
    let paying = scanner.scan_open_payments(payment_workers(workers), now, ptx);
    let folding = async {
        let (mut subs_open, mut payments_open) = (true, true);
        while subs_open || payments_open {
            tokio::select! {
                page = subs.recv(), if subs_open => match page {
                    Some(page) => {
                        for sub in &page.items {
                            tally.add(sub);
                        }
                        progress(Progress {
                            scanned: page.scanned,
                            estimated_total: page.estimated_total,
                        });
                    }
                    None => subs_open = false,
                },
                page = payments.recv(), if payments_open => match page {
                    Some(page) => page.items.into_iter().for_each(|p| tally.add_open_payment(p)),
                    None => payments_open = false,
                },
            }
        }
    };
    let (subs_stats, payment_stats, ()) = tokio::join!(scanning, paying, folding);
    Ok(subs_stats?.plus(payment_stats?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_says_how_far() {
        let p = Progress {
            scanned: 12_000,
            estimated_total: Some(100_000),
        };
        assert_eq!(
            progress_text("Churn report, last 30 days", p),
            "Churn report, last 30 days: scanned 12000 of about 100000 subscriptions…"
        );
        let first = Progress {
            scanned: 0,
            estimated_total: None,
        };
        assert_eq!(
            progress_text("Plans report", first),
            "Plans report: scanned 0 subscriptions…"
        );
    }
}
