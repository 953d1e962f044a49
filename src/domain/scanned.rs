//! What an account-wide scan reads for the reports: subscriptions, their
//! priced items and coupons, and open invoice payments, as plain data
//! already checked by the Stripe adapter (`stripe::scan`). The reports
//! (`crate::reports`) fold them; neither side knows the other.

use super::{Currency, Interval};
use serde::{Deserialize, Serialize};

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
