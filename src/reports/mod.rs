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

use serde::{Deserialize, Serialize};

use crate::domain::{Currency, Interval};

/// What every report prints as: text (the CLI's default and Slack's
/// tables), JSON and CSV (`--format`).
pub trait Report {
    fn to_text(&self) -> String;
    fn to_json(&self) -> serde_json::Value;
    /// # Errors
    /// When the CSV writer fails (it writes to memory, so in practice never).
    fn to_csv(&self) -> Result<String, csv::Error>;
}

/// One subscription as a report reads it: plain data, already checked by the
/// scan. Statuses stay strings so that a status Stripe adds later is counted
/// as "other" instead of failing a whole scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScannedSubscription {
    pub id: String,
    pub customer: String,
    pub status: String,
    pub created: i64,
    pub canceled_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<i64>,
    pub current_period_end: Option<i64>,
    /// Stripe's `cancellation_details`, when the API version has it.
    pub cancellation: Option<Cancellation>,
    /// The `in_…` id of the latest invoice, for at-risk details.
    pub latest_invoice: Option<String>,
    pub items: Vec<ScannedItem>,
    /// Subscription-level discounts (coupons), applied to every item.
    pub discounts: Vec<Discount>,
    /// The customer's own discount (`Customer.discount`, which older
    /// accounts use for every subscription of the customer); Stripe applies
    /// it only to a subscription without discounts of its own
    /// ([`Self::applied_discounts`]).
    #[serde(default)]
    pub customer_discount: Option<Discount>,
}

impl ScannedSubscription {
    /// The discounts Stripe applies to this subscription's invoices: its
    /// own, or, when it has none, its customer's.
    pub fn applied_discounts(&self) -> &[Discount] {
        match &self.customer_discount {
            Some(customer) if self.discounts.is_empty() => std::slice::from_ref(customer),
            _ => &self.discounts,
        }
    }
}

/// Stripe `cancellation_details`: why a subscription ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Cancellation {
    /// `cancellation_requested`, `payment_failed`, `payment_disputed`.
    pub reason: Option<String>,
    /// The customer's pick in the portal (`too_expensive`, `missing_features`…).
    pub feedback: Option<String>,
    /// The customer's own words.
    pub comment: Option<String>,
}

/// One priced line of a subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScannedItem {
    pub price: String,
    pub product: Option<String>,
    /// Price nickname (or plan nickname), for people and for the team /
    /// personal reading of seat confusion.
    pub nickname: Option<String>,
    /// Per unit and per interval, in the currency's minor units; `None` for
    /// tiered prices, which have no single unit amount.
    pub unit_amount: Option<i64>,
    pub currency: Currency,
    pub interval: Interval,
    pub interval_count: u32,
    pub quantity: u64,
    /// `usage_type=metered`: billed on reported usage, so it has no MRR.
    pub metered: bool,
}

/// A coupon applied to a subscription (or to every subscription of a
/// customer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discount {
    pub duration: CouponDuration,
    /// Percent off, in hundredths of a percent (Stripe allows two decimals).
    pub percent_off_bp: Option<u32>,
    /// Amount off per invoice, in `currency`'s minor units.
    pub amount_off: Option<i64>,
    pub currency: Option<Currency>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponDuration {
    Forever,
    Once,
    Repeating,
}

/// What Stripe says about an at-risk subscription's latest failed payment:
/// from its open invoice payment (the payment intent's decline, the
/// invoice's attempts and next retry, the customer's email).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedPayment {
    pub decline_code: Option<String>,
    /// Collection attempts of the latest invoice so far.
    pub attempts: u32,
    /// When Stripe retries next (Unix seconds), if it will.
    pub next_retry: Option<i64>,
    /// The customer has an email, so they can be asked for a new card.
    pub reachable: bool,
}

/// An open invoice payment, as the churn scan reads it: which invoice (and
/// subscription) it pays and what its failure says. The churn report joins
/// these to its at-risk subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenPayment {
    pub invoice: String,
    /// The invoice's subscription, when it has one.
    pub subscription: Option<String>,
    pub created: i64,
    pub details: FailedPayment,
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
