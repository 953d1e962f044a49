//! The project's own lenient reading of Stripe objects: only the fields the
//! triage needs, `Option` wherever Stripe API versions differ (`price` vs
//! `plan`, `current_period_end` on the subscription or on its items, the
//! invoice's subscription at the top or under `parent`, refunds embedded or
//! not), plus the conversion into the plain domain records. Unknown fields
//! are ignored. Stripe object reference: <https://docs.stripe.com/api>.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::{
    CardSummary, Charge, ChargeId, ChargeStatus, Currency, CustomerId, CustomerRecord, Interval,
    Invoice, InvoiceId, InvoiceStatus, Money, Refund, RefundId, Subscription, SubscriptionId,
    SubscriptionItem, SubscriptionStatus,
};

/// Why a Stripe object could not become a domain record: the field at fault.
#[derive(Debug)]
pub(crate) struct Bad(pub String);

/// A Stripe list page.
#[derive(Debug, Deserialize)]
pub(crate) struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

/// A field that is an id, or the object when expanded.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Expandable<T> {
    Id(String),
    Object(T),
}

/// Anything with an `id` (an expanded reference we only need the id of).
#[derive(Debug, Deserialize)]
pub(crate) struct HasId {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StripeCustomer {
    pub id: String,
    #[serde(default)]
    pub deleted: bool,
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub created: i64,
    pub address: Option<Address>,
    pub preferred_locales: Option<Vec<String>>,
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
    pub invoice_settings: Option<InvoiceSettings>,
    pub default_source: Option<Expandable<StripeCard>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Address {
    pub country: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct InvoiceSettings {
    pub default_payment_method: Option<Expandable<StripePaymentMethod>>,
}

/// A `pm_…` payment method; only cards are summarised.
#[derive(Debug, Deserialize)]
pub(crate) struct StripePaymentMethod {
    pub card: Option<StripeCard>,
}

/// A card, as a payment method's `card` or a legacy `card_…` source.
#[derive(Debug, Deserialize)]
pub(crate) struct StripeCard {
    pub brand: Option<String>,
    pub last4: Option<String>,
    pub exp_month: Option<u32>,
    pub exp_year: Option<i32>,
}

/// Something holding a `customer` field (subscription, invoice, charge,
/// payment intent, checkout session), read with `expand[]=customer`.
#[derive(Debug, Deserialize)]
pub(crate) struct OwnedByCustomer {
    pub customer: Option<Expandable<StripeCustomer>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StripeSubscription {
    pub id: String,
    pub customer: Expandable<HasId>,
    pub status: String,
    #[serde(default)]
    pub created: i64,
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub cancel_at_period_end: Option<bool>,
    pub canceled_at: Option<i64>,
    pub items: Option<List<StripeSubscriptionItem>>,
    /// Older API versions: the single plan of the subscription.
    pub plan: Option<StripePlan>,
    pub quantity: Option<u64>,
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StripeSubscriptionItem {
    pub price: Option<StripePrice>,
    pub plan: Option<StripePlan>,
    pub quantity: Option<u64>,
    /// Newer API versions keep the period on each item.
    pub current_period_end: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StripePrice {
    pub id: String,
    pub product: Option<Expandable<HasId>>,
    pub nickname: Option<String>,
    pub unit_amount: Option<i64>,
    pub currency: String,
    pub recurring: Option<Recurring>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Recurring {
    pub interval: Interval,
    pub interval_count: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StripePlan {
    pub id: String,
    pub product: Option<Expandable<HasId>>,
    pub nickname: Option<String>,
    pub amount: Option<i64>,
    pub currency: String,
    pub interval: Interval,
    pub interval_count: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StripeInvoice {
    pub id: String,
    pub customer: Expandable<HasId>,
    pub status: Option<InvoiceStatus>,
    pub subscription: Option<Expandable<HasId>>,
    pub parent: Option<InvoiceParent>,
    #[serde(default)]
    pub amount_due: i64,
    #[serde(default)]
    pub amount_paid: i64,
    pub currency: String,
    #[serde(default)]
    pub created: i64,
    pub attempt_count: Option<u32>,
    pub hosted_invoice_url: Option<String>,
    pub charge: Option<Expandable<HasId>>,
}

/// Newer API versions: `parent.subscription_details.subscription`.
#[derive(Debug, Deserialize)]
pub(crate) struct InvoiceParent {
    pub subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SubscriptionDetails {
    pub subscription: Option<Expandable<HasId>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StripeCharge {
    pub id: String,
    pub customer: Option<Expandable<HasId>>,
    pub amount: i64,
    pub amount_refunded: Option<i64>,
    pub currency: String,
    pub status: ChargeStatus,
    #[serde(default)]
    pub created: i64,
    pub invoice: Option<Expandable<HasId>>,
    pub description: Option<String>,
    pub failure_message: Option<String>,
    pub disputed: Option<bool>,
    /// Embedded on older API versions, or with `expand[]=refunds`.
    pub refunds: Option<List<StripeRefund>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StripeRefund {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: Option<String>,
    #[serde(default)]
    pub created: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StripePortalSession {
    pub url: String,
}

impl<T> Expandable<T> {
    pub fn object(&self) -> Option<&T> {
        match self {
            Self::Object(obj) => Some(obj),
            Self::Id(_) => None,
        }
    }
}

impl Expandable<HasId> {
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) => id,
            Self::Object(obj) => &obj.id,
        }
    }
}

fn currency(code: &str) -> Result<Currency, Bad> {
    Currency::parse(code).map_err(|e| Bad(e.to_string()))
}

fn id<T>(parse: impl Fn(&str) -> Result<T, crate::domain::IdError>, raw: &str) -> Result<T, Bad> {
    parse(raw).map_err(|e| Bad(e.to_string()))
}

/// Stripe metadata values are strings; anything else is shown as JSON.
fn metadata(raw: Option<BTreeMap<String, serde_json::Value>>) -> BTreeMap<String, String> {
    raw.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}

impl StripeCard {
    pub fn summary(&self) -> Option<CardSummary> {
        Some(CardSummary {
            // Legacy sources say "Visa", payment methods "visa".
            brand: self.brand.as_deref().unwrap_or("card").to_ascii_lowercase(),
            last4: self.last4.clone()?,
            exp_month: self.exp_month?,
            exp_year: self.exp_year?,
        })
    }
}

impl StripeCustomer {
    /// The default card when the customer object carries it expanded:
    /// `invoice_settings.default_payment_method` first, then `default_source`.
    pub fn expanded_card(&self) -> Option<CardSummary> {
        let from_pm = self
            .invoice_settings
            .as_ref()
            .and_then(|s| s.default_payment_method.as_ref())
            .and_then(Expandable::object)
            .and_then(|pm| pm.card.as_ref())
            .and_then(StripeCard::summary);
        from_pm.or_else(|| {
            self.default_source
                .as_ref()
                .and_then(Expandable::object)
                .and_then(StripeCard::summary)
        })
    }

    pub fn into_record(self, card: Option<CardSummary>) -> Result<CustomerRecord, Bad> {
        Ok(CustomerRecord {
            id: id(CustomerId::parse, &self.id)?,
            name: self.name,
            email: self.email,
            created: self.created,
            country: self.address.and_then(|a| a.country),
            preferred_locales: self.preferred_locales.unwrap_or_default(),
            metadata: metadata(self.metadata),
            default_payment_method: card,
            subscriptions: Vec::new(),
            invoices: Vec::new(),
            charges: Vec::new(),
        })
    }
}

impl StripeSubscription {
    pub fn into_domain(self) -> Result<Subscription, Bad> {
        let status: SubscriptionStatus =
            serde_json::from_value(serde_json::Value::String(self.status.clone()))
                .map_err(|_| Bad(format!("unknown subscription status `{}`", self.status)))?;
        let raw_items = self.items.map(|l| l.data).unwrap_or_default();
        let period_from_items = raw_items.iter().filter_map(|i| i.current_period_end).max();
        let mut items = raw_items
            .into_iter()
            .map(|item| item.into_domain(self.quantity))
            .collect::<Result<Vec<_>, _>>()?;
        if items.is_empty() {
            if let Some(plan) = self.plan {
                items.push(plan.into_item(self.quantity.unwrap_or(1))?);
            }
        }
        Ok(Subscription {
            id: id(SubscriptionId::parse, &self.id)?,
            customer: id(CustomerId::parse, self.customer.id())?,
            status,
            created: self.created,
            current_period_end: self.current_period_end.or(period_from_items),
            cancel_at_period_end: self.cancel_at_period_end.unwrap_or(false),
            canceled_at: self.canceled_at,
            items,
            metadata: metadata(self.metadata),
        })
    }
}

impl StripeSubscriptionItem {
    fn into_domain(self, sub_quantity: Option<u64>) -> Result<SubscriptionItem, Bad> {
        let quantity = self.quantity.or(sub_quantity).unwrap_or(1);
        match (self.price, self.plan) {
            (Some(price), _) => {
                let recurring = price
                    .recurring
                    .ok_or_else(|| Bad(format!("price {} is not recurring", price.id)))?;
                Ok(SubscriptionItem {
                    product_id: price.product.as_ref().map(|p| p.id().to_owned()),
                    plan_name: price.nickname,
                    unit_amount: Money::new(
                        price.unit_amount.unwrap_or(0),
                        currency(&price.currency)?,
                    ),
                    interval: recurring.interval,
                    interval_count: recurring.interval_count.unwrap_or(1),
                    quantity,
                    price_id: price.id,
                })
            }
            (None, Some(plan)) => plan.into_item(quantity),
            (None, None) => Err(Bad("subscription item has neither price nor plan".into())),
        }
    }
}

impl StripePlan {
    fn into_item(self, quantity: u64) -> Result<SubscriptionItem, Bad> {
        Ok(SubscriptionItem {
            product_id: self.product.as_ref().map(|p| p.id().to_owned()),
            plan_name: self.nickname,
            unit_amount: Money::new(self.amount.unwrap_or(0), currency(&self.currency)?),
            interval: self.interval,
            interval_count: self.interval_count.unwrap_or(1),
            quantity,
            price_id: self.id,
        })
    }
}

impl StripeInvoice {
    pub fn into_domain(self) -> Result<Invoice, Bad> {
        let currency = currency(&self.currency)?;
        let subscription = self.subscription.as_ref().or_else(|| {
            self.parent
                .as_ref()?
                .subscription_details
                .as_ref()?
                .subscription
                .as_ref()
        });
        Ok(Invoice {
            id: id(InvoiceId::parse, &self.id)?,
            customer: id(CustomerId::parse, self.customer.id())?,
            // Only deleted drafts lack a status.
            status: self.status.unwrap_or(InvoiceStatus::Draft),
            subscription: subscription
                .map(|s| id(SubscriptionId::parse, s.id()))
                .transpose()?,
            amount_due: Money::new(self.amount_due, currency),
            amount_paid: Money::new(self.amount_paid, currency),
            created: self.created,
            attempt_count: self.attempt_count.unwrap_or(0),
            hosted_invoice_url: self.hosted_invoice_url,
            charge: self
                .charge
                .as_ref()
                .map(|c| id(ChargeId::parse, c.id()))
                .transpose()?,
        })
    }
}

impl StripeCharge {
    pub fn into_domain(self) -> Result<Charge, Bad> {
        let currency = currency(&self.currency)?;
        let mut refunds = self
            .refunds
            .map(|l| l.data)
            .unwrap_or_default()
            .into_iter()
            .map(StripeRefund::into_domain)
            .collect::<Result<Vec<_>, _>>()?;
        refunds.sort_by_key(|r| std::cmp::Reverse(r.created));
        let from_refunds: i64 = refunds.iter().map(|r| r.amount.minor).sum();
        Ok(Charge {
            id: id(ChargeId::parse, &self.id)?,
            customer: self
                .customer
                .as_ref()
                .map(|c| id(CustomerId::parse, c.id()))
                .transpose()?,
            amount: Money::new(self.amount, currency),
            amount_refunded: self.amount_refunded.unwrap_or(from_refunds),
            status: self.status,
            created: self.created,
            // `py_…` or other non-charge ids are not linked.
            invoice: self
                .invoice
                .as_ref()
                .and_then(|i| InvoiceId::parse(i.id()).ok()),
            description: self.description,
            failure_message: self.failure_message,
            disputed: self.disputed.unwrap_or(false),
            refunds,
        })
    }
}

impl StripeRefund {
    fn into_domain(self) -> Result<Refund, Bad> {
        Ok(Refund {
            id: id(RefundId::parse, &self.id)?,
            amount: Money::new(self.amount, currency(&self.currency)?),
            status: self.status.unwrap_or_else(|| "succeeded".into()),
            created: self.created,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_reads_old_plan_shape_and_new_price_shape() {
        let old = r#"{"id":"sub_1","customer":"cus_1","status":"active","created":10,"current_period_end":99,
            "plan":{"id":"plan_1","amount":900,"currency":"eur","interval":"month","interval_count":1},
            "items":{"object":"list","data":[{"plan":{"id":"plan_1","amount":900,"currency":"eur","interval":"month"},"quantity":5}]},
            "metadata":{"team":"acme"}}"#;
        let sub = serde_json::from_str::<StripeSubscription>(old)
            .expect("old shape")
            .into_domain()
            .expect("domain");
        assert_eq!(sub.items[0].price_id, "plan_1");
        assert_eq!(sub.seats(), 5);
        assert_eq!(sub.current_period_end, Some(99));

        let new = r#"{"id":"sub_2","customer":{"id":"cus_1"},"status":"past_due","created":10,
            "items":{"data":[{"price":{"id":"price_1","product":"prod_1","unit_amount":500,"currency":"jpy",
            "recurring":{"interval":"year","interval_count":1}},"quantity":1,"current_period_end":77}]}}"#;
        let sub = serde_json::from_str::<StripeSubscription>(new)
            .expect("new shape")
            .into_domain()
            .expect("domain");
        assert_eq!(sub.items[0].product_id.as_deref(), Some("prod_1"));
        assert_eq!(sub.current_period_end, Some(77));
        assert_eq!(sub.status, SubscriptionStatus::PastDue);
    }

    #[test]
    fn invoice_finds_its_subscription_under_parent() {
        let raw = r#"{"id":"in_1","customer":"cus_1","status":"paid","currency":"eur","amount_due":100,"amount_paid":100,
            "parent":{"subscription_details":{"subscription":"sub_9"}}}"#;
        let invoice = serde_json::from_str::<StripeInvoice>(raw)
            .expect("shape")
            .into_domain()
            .expect("domain");
        assert_eq!(
            invoice.subscription.map(|s| s.to_string()).as_deref(),
            Some("sub_9")
        );
    }

    #[test]
    fn charge_sums_refunds_when_amount_refunded_is_absent() {
        let raw = r#"{"id":"ch_1","customer":"cus_1","amount":1000,"currency":"eur","status":"succeeded",
            "refunds":{"data":[{"id":"re_1","amount":300,"currency":"eur","created":5}]}}"#;
        let charge = serde_json::from_str::<StripeCharge>(raw)
            .expect("shape")
            .into_domain()
            .expect("domain");
        assert_eq!(charge.amount_refunded, 300);
        assert_eq!(charge.refundable().minor, 700);
    }

    #[test]
    fn card_summary_lowercases_legacy_brand() {
        let card = StripeCard {
            brand: Some("Visa".into()),
            last4: Some("4242".into()),
            exp_month: Some(12),
            exp_year: Some(2030),
        };
        assert_eq!(card.summary().map(|c| c.brand), Some("visa".into()));
    }
}
