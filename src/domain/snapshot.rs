//! The customer's billing state as the core sees it: plain data, already
//! checked, with no Stripe client types. The `stripe` adapter builds it; the
//! triage, card and follow-up read it. Only the fields the playbook needs are
//! here; card data stops at brand, last four and expiry.
//!
//! Times are Unix seconds (Stripe's own unit).

use super::{ChargeId, CustomerId, InvoiceId, LookupQuery, Money, RefundId, SubscriptionId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything fetched for one lookup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BillingSnapshot {
    /// The identifier the operator gave, which is also the one used.
    pub query: LookupQuery,
    /// Every customer found: one for an exact id, all sharing the email for an
    /// email, plus any other customer sharing the resolved customer's email.
    /// The customer the identifier named comes first.
    pub customers: Vec<CustomerRecord>,
    /// When the snapshot was taken (Unix seconds).
    pub fetched_at: i64,
}

/// One Stripe customer and what hangs off it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerRecord {
    pub id: CustomerId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub created: i64,
    /// Two-letter country of the billing address, if any.
    pub country: Option<String>,
    /// Stripe's `preferred_locales`, most preferred first (e.g. `zh-CN`).
    pub preferred_locales: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    /// The card invoices are charged to, if one is set.
    pub default_payment_method: Option<CardSummary>,
    /// Every status, canceled included, newest first.
    pub subscriptions: Vec<Subscription>,
    /// Recent invoices, newest first.
    pub invoices: Vec<Invoice>,
    /// Recent charges with their refunds, newest first.
    pub charges: Vec<Charge>,
}

/// What may be shown of a card: never the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Trialing,
    Active,
    PastDue,
    Unpaid,
    Incomplete,
    IncompleteExpired,
    Paused,
    Canceled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub customer: CustomerId,
    pub status: SubscriptionStatus,
    pub created: i64,
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<i64>,
    pub items: Vec<SubscriptionItem>,
    pub metadata: BTreeMap<String, String>,
    /// Stripe `pause_collection`: payment collection is paused (the
    /// subscription stays as it is; its invoices are handled as `behavior`
    /// says until `resumes_at`, or until it is resumed).
    #[serde(default)]
    pub pause_collection: Option<Pause>,
}

/// A pause of payment collection (Stripe `pause_collection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub behavior: PauseBehavior,
    /// Unix seconds when Stripe resumes collecting by itself; `None`: until
    /// someone resumes it.
    pub resumes_at: Option<i64>,
}

/// `2026-11-25`: the UTC day of `unix`, unambiguous in every locale;
/// `None` only for a time out of range (corrupt data), which each caller
/// shows in its own way.
pub fn iso_day(unix: i64) -> Option<String> {
    const DAY: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(DAY).ok())
}

impl Pause {
    /// How long, and what happens to the invoices meanwhile, as the card
    /// and the action's summary say it: "(invoices voided) until
    /// 2027-01-01", "(invoices kept as drafts) until resumed".
    pub fn terms(&self) -> String {
        let until = match self.resumes_at {
            Some(at) => format!("until {}", iso_day(at).unwrap_or_else(|| format!("@{at}"))),
            None => "until resumed".to_owned(),
        };
        format!("({}) {until}", self.behavior.describe())
    }
}

/// What Stripe does with the invoices of a paused subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseBehavior {
    /// Invoices stay drafts, to be collected later (the gentlest pause).
    KeepAsDraft,
    /// Invoices are finalised and marked uncollectible.
    MarkUncollectible,
    /// Invoices are finalised and voided: the paused period is free.
    Void,
}

impl PauseBehavior {
    pub const ALL: [PauseBehavior; 3] = [Self::KeepAsDraft, Self::MarkUncollectible, Self::Void];

    /// Stripe's name, as sent and as read.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeepAsDraft => "keep_as_draft",
            Self::MarkUncollectible => "mark_uncollectible",
            Self::Void => "void",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == raw)
    }

    /// For people: what happens to the invoices meanwhile.
    pub fn describe(self) -> &'static str {
        match self {
            Self::KeepAsDraft => "invoices kept as drafts",
            Self::MarkUncollectible => "invoices marked uncollectible",
            Self::Void => "invoices voided",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

/// One priced line of a subscription (Stripe "price", or "plan" on older
/// API versions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionItem {
    /// `price_…` or `plan_…`/custom plan id: same product and price means same plan.
    pub price_id: String,
    pub product_id: Option<String>,
    /// Plan nickname or product name, for people.
    pub plan_name: Option<String>,
    /// Price of one unit per interval.
    pub unit_amount: Money,
    pub interval: Interval,
    pub interval_count: u32,
    pub quantity: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Open,
    Paid,
    Uncollectible,
    Void,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: InvoiceId,
    pub customer: CustomerId,
    pub status: InvoiceStatus,
    pub subscription: Option<SubscriptionId>,
    pub amount_due: Money,
    pub amount_paid: Money,
    pub created: i64,
    /// Failed and successful collection attempts so far.
    pub attempt_count: u32,
    /// The customer-facing invoice page; needs no login and does not expire
    /// soon, so it is safe in a follow-up draft (docs/PLAYBOOK.md §3).
    pub hosted_invoice_url: Option<String>,
    /// The charge that paid it (the newest succeeded one when several did),
    /// found through its payments.
    pub charge: Option<ChargeId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Succeeded,
    Pending,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub id: ChargeId,
    pub customer: Option<CustomerId>,
    pub amount: Money,
    /// Already refunded, in the charge's currency.
    pub amount_refunded: i64,
    pub status: ChargeStatus,
    pub created: i64,
    /// The invoice this charge paid, found through the invoice's payments.
    pub invoice: Option<InvoiceId>,
    /// Whether the lists fetched could not tell which invoice, if any, this
    /// charge paid (an older invoice not listed may be it). `invoice: None`
    /// with this false means the charge paid no invoice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invoice_unknown: bool,
    pub description: Option<String>,
    /// Stripe's decline text, for failed charges.
    pub failure_message: Option<String>,
    /// The issuer's decline code (`outcome.reason`, e.g. `insufficient_funds`,
    /// `expired_card`), else Stripe's failure code, for failed charges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    pub disputed: bool,
    pub refunds: Vec<Refund>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub amount: Money,
    pub status: String,
    pub created: i64,
    /// Stripe metadata: names the case, action and step when the bot made it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl CardSummary {
    /// A card is expired after the last day of its expiry month.
    pub fn is_expired(&self, now: i64) -> bool {
        let (year, month) = year_month(now);
        (self.exp_year, self.exp_month) < (year, month)
    }
}

impl SubscriptionStatus {
    /// Live subscriptions bill or will bill; canceled and expired ones do not
    /// and never count as duplicates.
    pub fn is_live(self) -> bool {
        !matches!(self, Self::Canceled | Self::IncompleteExpired)
    }

    /// Payment trouble: the playbook's "failed payment / incomplete checkout".
    pub fn is_failing(self) -> bool {
        matches!(self, Self::PastDue | Self::Unpaid | Self::Incomplete)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Unpaid => "unpaid",
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Paused => "paused",
            Self::Canceled => "canceled",
        }
    }
}

impl Subscription {
    /// Monthly recurring revenue of this subscription, in its currency;
    /// `None` when it has no items. Yearly prices count a twelfth, weekly
    /// 52/12, daily 365/12 (integer division, rounded down).
    pub fn mrr(&self) -> Option<Money> {
        let first = self.items.first()?;
        let currency = first.unit_amount.currency;
        let minor = self
            .items
            .iter()
            .filter(|item| item.unit_amount.currency == currency)
            .map(|item| {
                let per_interval = item.unit_amount.minor.saturating_mul(item.quantity as i64);
                let count = i64::from(item.interval_count.max(1));
                match item.interval {
                    Interval::Month => per_interval / count,
                    Interval::Year => per_interval / (12 * count),
                    Interval::Week => per_interval.saturating_mul(52) / (12 * count),
                    Interval::Day => per_interval.saturating_mul(365) / (12 * count),
                }
            })
            .sum();
        Some(Money::new(minor, currency))
    }

    /// Total seats over all items.
    pub fn seats(&self) -> u64 {
        self.items.iter().map(|item| item.quantity).sum()
    }
}

impl Charge {
    /// What can still be refunded.
    pub fn refundable(&self) -> Money {
        self.amount
            .with_minor((self.amount.minor - self.amount_refunded).max(0))
    }
}

impl BillingSnapshot {
    /// All subscriptions of all customers found.
    pub fn subscriptions(&self) -> impl Iterator<Item = &Subscription> {
        self.customers.iter().flat_map(|c| c.subscriptions.iter())
    }

    pub fn invoices(&self) -> impl Iterator<Item = &Invoice> {
        self.customers.iter().flat_map(|c| c.invoices.iter())
    }

    pub fn charges(&self) -> impl Iterator<Item = &Charge> {
        self.customers.iter().flat_map(|c| c.charges.iter())
    }

    /// Whether `query` names something this snapshot already holds (one of
    /// its customers, by id or email, or their subscriptions, invoices or
    /// charges), so that looking it up again would find the same customer.
    pub fn names(&self, query: &LookupQuery) -> bool {
        if &self.query == query {
            return true;
        }
        match query {
            LookupQuery::Customer(id) => self.customers.iter().any(|c| &c.id == id),
            LookupQuery::Subscription(id) => self.subscriptions().any(|s| &s.id == id),
            LookupQuery::Invoice(id) => self.invoices().any(|i| &i.id == id),
            LookupQuery::Charge(id) => self.charges().any(|c| &c.id == id),
            LookupQuery::Email(email) => self.customers.iter().any(|c| {
                c.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&email.to_string()))
            }),
            // Not kept in the snapshot by id: another lookup may find anyone.
            LookupQuery::PaymentIntent(_) | LookupQuery::CheckoutSession(_) => false,
        }
    }
}

/// Civil (year, month) of a Unix time, UTC. Howard Hinnant's days-to-civil.
pub fn year_month(unix: i64) -> (i32, u32) {
    let days = unix.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_month_of_known_dates() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(1_700_000_000), (2023, 11));
        assert_eq!(year_month(951_782_400), (2000, 2)); // 2000-02-29
    }

    #[test]
    fn card_expires_after_its_month() {
        let card = CardSummary {
            brand: "visa".into(),
            last4: "4242".into(),
            exp_month: 11,
            exp_year: 2023,
        };
        assert!(!card.is_expired(1_700_000_000));
        assert!(card.is_expired(1_702_000_000)); // December 2023
    }
}
