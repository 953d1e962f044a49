//! Reports over the whole account (docs/PLAYBOOK.md §6): plan analysis
//! and churn triage. Pure: the records arrive one page at a time from the
//! Stripe scan (`stripe::scan`), are folded into a tally whose size grows with
//! the number of prices, not of subscriptions, and the tally becomes a report
//! rendered as text, JSON or CSV. Fetching, rate limiting and auditing are the
//! scan's and the workflow's; `now` and the period are arguments.

pub mod change;
pub mod charts;
pub mod churn;
pub mod gaps;
pub mod plans;

#[cfg(test)]
mod tests;

pub use crate::domain::scanned::{
    Cancellation, CouponDuration, Discount, FailedPayment, OpenPayment, ScannedItem,
    ScannedSubscription,
};
use crate::domain::Interval;

/// What every report prints as: text (the CLI's default and Slack's
/// tables), JSON and CSV (`--format`).
pub trait Report {
    fn to_text(&self) -> String;
    fn to_json(&self) -> serde_json::Value;
    /// # Errors
    /// When the CSV writer fails (it writes to memory, so in practice never).
    fn to_csv(&self) -> Result<String, csv::Error>;
}

/// Which statuses bring in recurring revenue (the MRR rules in README.md):
/// `active`, and `past_due`, which is also shown as at risk.
pub fn counts_for_mrr(status: &str) -> bool {
    matches!(status, "active" | "past_due")
}

/// How many of `interval` make a year, the factor that brings a per-interval
/// amount to twelve months (yearly ÷ 12, weekly × 52 ÷ 12, daily × 365 ÷ 12).
pub fn per_year(interval: Interval) -> i128 {
    match interval {
        Interval::Day => 365,
        Interval::Week => 52,
        Interval::Month => 12,
        Interval::Year => 1,
    }
}

/// `amount` per `interval_count` × `interval`, as a monthly figure, rounded
/// half away from zero once, at the end (so a plan's MRR is rounded once, not
/// per subscription).
pub fn monthly(amount: i128, interval: Interval, interval_count: u32) -> i64 {
    let num = amount * per_year(interval);
    let den = 12 * i128::from(interval_count.max(1));
    let rounded = if num >= 0 {
        (num + den / 2) / den
    } else {
        (num - den / 2) / den
    };
    i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN })
}

/// `interval` as the report spells it.
pub fn interval_name(interval: Interval) -> &'static str {
    match interval {
        Interval::Day => "day",
        Interval::Week => "week",
        Interval::Month => "month",
        Interval::Year => "year",
    }
}

/// `text` cut into pieces of at most `max` characters, at line ends when
/// a line fits, so a long report is paged rather than truncated.
pub fn chunk_lines(text: &str, max: usize) -> Vec<String> {
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let mut line: String = line.to_owned();
        while line.chars().count() > max {
            let head: String = line.chars().take(max).collect();
            line = line.chars().skip(max).collect();
            if !current.is_empty() {
                chunks.push(std::mem::take(&mut current));
            }
            chunks.push(head);
        }
        if current.chars().count() + line.chars().count() + 1 > max && !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// The MRR rules, for README.md and every report's footer.
pub const MRR_RULES: &str = "MRR: per item unit_amount × quantity, normalised to a month \
(yearly ÷ 12, weekly × 52 ÷ 12, daily × 365 ÷ 12, divided by interval_count); \
active and past_due subscriptions only (trialing, incomplete, incomplete_expired, canceled, unpaid and paused excluded; \
past_due also shown as at risk); metered prices excluded and counted apart; \
only forever coupons reduce MRR, \"after all discounts\" also applies once and repeating coupons; \
a customer's own coupon counts by the same rules on a subscription without discounts of its own; tax excluded; \
totals are per currency, never summed across currencies";
