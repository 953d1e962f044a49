//! Slack's native chart block (`data_visualization`) for the reports (issue
//! 10 part 5): MRR by plan for `/billing plans` and churn reasons for
//! `/billing churn`. Pure builders over a finished report; the text table
//! stays in the same message as the fallback, and the workflow drops the
//! chart when a workspace refuses it.

use std::collections::{BTreeMap, HashSet};

use slack_morphism::blocks::{
    SlackChart, SlackChartAxisConfig, SlackChartDataPoint, SlackChartDataSeries, SlackChartSegment,
    SlackDataVisualizationBlock, SlackPieChart, SlackSeriesChart,
};

use super::churn::ChurnReport;
use super::plans::PlansReport;
use crate::domain::Currency;

/// Slack's limit on a chart's title.
pub const MAX_TITLE_CHARS: usize = 50;
/// Slack's limit on a chart's segments (pie) or categories per series.
pub const MAX_SEGMENTS: usize = 12;
/// The label of the bucket that sums whatever does not fit.
pub const OTHER: &str = "other";

/// MRR per plan, as a bar chart, for the one currency with the largest MRR
/// (amounts in different currencies cannot share an axis): the 11 largest
/// plans and "other". `None` when no plan has MRR.
pub fn mrr_by_plan(report: &PlansReport) -> Option<SlackDataVisualizationBlock> {
    // Compared in major units: 1 000 JPY is not more than 100 EUR.
    let total = report
        .totals
        .iter()
        .filter(|t| t.mrr_minor > 0)
        .max_by(|a, b| major(a.mrr_minor, a.currency).total_cmp(&major(b.mrr_minor, b.currency)))?;
    let currency = total.currency;
    let mut plans: Vec<(String, i64)> = report
        .plans
        .iter()
        .filter(|p| p.currency == currency && p.mrr_minor > 0)
        .map(|p| {
            let label = p
                .nickname
                .clone()
                .or_else(|| p.product.clone())
                .unwrap_or_else(|| p.price.clone());
            (label, p.mrr_minor)
        })
        .collect();
    plans.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let buckets = top_and_other(plans);
    let categories: Vec<String> = buckets.iter().map(|(label, _)| label.clone()).collect();
    let data = buckets
        .into_iter()
        .map(|(label, minor)| SlackChartDataPoint {
            label,
            value: major_number(minor, currency),
        })
        .collect();
    let others = if report.totals.iter().any(|t| t.currency != currency) {
        ", other currencies in the table"
    } else {
        ""
    };
    Some(SlackDataVisualizationBlock {
        title: title(&format!("MRR by plan, {currency}{others}")),
        chart: SlackChart::Bar(SlackSeriesChart {
            series: vec![SlackChartDataSeries {
                name: format!("MRR ({currency})"),
                data,
            }],
            axis_config: SlackChartAxisConfig {
                categories,
                x_label: Some("plan".into()),
                y_label: Some(format!("{currency} per month")),
            },
        }),
        block_id: None,
    })
}

/// Why subscriptions ended in the period, as a pie of counts: the
/// customer's own pick (`too_expensive`…) where Stripe has it, otherwise
/// Stripe's reason, split voluntary / involuntary. `None` when nothing
/// was canceled.
pub fn churn_reasons(report: &ChurnReport) -> Option<SlackDataVisualizationBlock> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for row in &report.canceled {
        // A customer's pick says why they left; a failed payment says
        // why Stripe ended it.
        let label = if row.voluntary {
            row.feedback.as_ref().map_or_else(
                || "voluntary, no reason given".to_owned(),
                |f| format!("voluntary: {f}"),
            )
        } else {
            match row.reason.as_deref() {
                Some(r @ ("payment_failed" | "payment_disputed")) => format!("involuntary: {r}"),
                _ => "involuntary: ended unpaid".to_owned(),
            }
        };
        *counts.entry(label).or_default() += 1;
    }
    if counts.is_empty() {
        return None;
    }
    let mut counts: Vec<(String, i64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let segments = top_and_other(counts)
        .into_iter()
        .map(|(label, n)| SlackChartSegment {
            label,
            value: n.into(),
        })
        .collect();
    Some(SlackDataVisualizationBlock {
        title: title(&format!(
            "Churn reasons, last {} days (subscriptions)",
            report.period_days
        )),
        chart: SlackChart::Pie(SlackPieChart { segments }),
        block_id: None,
    })
}

/// The first 11 of `sorted` (largest first) and the rest summed as
/// "other", so a chart never passes [`MAX_SEGMENTS`] and nothing is left out
/// of the whole. Labels are made unique, as Slack's categories must be.
fn top_and_other(sorted: Vec<(String, i64)>) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::with_capacity(MAX_SEGMENTS);
    let mut seen: HashSet<String> = HashSet::new();
    let mut rest = 0i64;
    let keep = if sorted.len() > MAX_SEGMENTS {
        MAX_SEGMENTS - 1
    } else {
        MAX_SEGMENTS
    };
    for (i, (label, value)) in sorted.into_iter().enumerate() {
        if i >= keep {
            rest = rest.saturating_add(value);
            continue;
        }
        let mut label = label_text(&label);
        let mut n = 2;
        while label == OTHER || !seen.insert(label.clone()) {
            label = label_text(&format!("{label} ({n})"));
            n += 1;
        }
        out.push((label, value));
    }
    if rest > 0 {
        out.push((OTHER.to_owned(), rest));
    }
    out
}

/// A label short enough to read under a bar.
fn label_text(label: &str) -> String {
    const MAX: usize = 40;
    if label.chars().count() <= MAX {
        label.to_owned()
    } else {
        let head: String = label.chars().take(MAX - 1).collect();
        format!("{head}…")
    }
}

/// A title within Slack's 50 characters.
fn title(text: &str) -> String {
    if text.chars().count() <= MAX_TITLE_CHARS {
        text.to_owned()
    } else {
        let head: String = text.chars().take(MAX_TITLE_CHARS - 1).collect();
        format!("{head}…")
    }
}

fn major(minor: i64, currency: Currency) -> f64 {
    // Precision is not at stake: this only ranks currencies and scales a bar.
    #[allow(clippy::cast_precision_loss)]
    let minor = minor as f64;
    minor / 10f64.powi(i32::try_from(currency.exponent()).unwrap_or(2))
}

/// `minor` in major units, as the chart's JSON number: whole units stay
/// integers (zero-decimal currencies), others keep their decimals.
fn major_number(minor: i64, currency: Currency) -> serde_json::Number {
    if currency.exponent() == 0 {
        return minor.into();
    }
    serde_json::Number::from_f64(major(minor, currency)).unwrap_or_else(|| 0.into())
}
