//! The objects the report scans read, in the shape of the API version the
//! bot pins (2026-09-30.endive): subscriptions (items with their price and
//! its legacy `plan` twin, discounts), customers (with their own discount),
//! coupons, and open invoice payments (invoice, payment intent, charge).
//! Each carries every field async-stripe's types generated for that version
//! require (a builder's `deser_default()` starts a required field at
//! `None`), so a stand-in built on them answers as Stripe would. Built from
//! parameters rather than copied from localstripe, whose own answers are in
//! Stripe's pre-2022 shape. Shared with `benches/reports.rs` by `#[path]`.

#![allow(dead_code)]

use serde_json::{json, Value};

/// When the objects were made, unless a caller says otherwise.
pub const CREATED: i64 = 1_700_000_000;

/// A list page: `{object: "list", data, has_more, url}`.
pub fn list(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({"object": "list", "data": data, "has_more": has_more, "url": url})
}

/// A coupon: `percent_off` or `amount_off` (in `currency`), for `duration`
/// (`forever`, `once`, `repeating`).
pub fn coupon(
    id: &str,
    duration: &str,
    percent_off: Option<f64>,
    amount_off: Option<(i64, &str)>,
) -> Value {
    json!({
        "id": id, "object": "coupon", "created": CREATED, "livemode": false,
        "duration": duration,
        "duration_in_months": if duration == "repeating" { Some(3) } else { None },
        "percent_off": percent_off,
        "amount_off": amount_off.map(|(a, _)| a),
        "currency": amount_off.map(|(_, c)| c),
        "max_redemptions": null, "metadata": {}, "name": null, "redeem_by": null,
        "times_redeemed": 1, "valid": true,
    })
}

/// A discount redeeming `coupon` (its id, or the coupon expanded), on a
/// customer or a subscription.
pub fn discount(
    id: &str,
    coupon: Value,
    customer: Option<&str>,
    subscription: Option<&str>,
) -> Value {
    json!({
        "id": id, "object": "discount", "start": CREATED, "end": null,
        "checkout_session": null, "customer": customer, "invoice": null,
        "invoice_item": null, "promotion_code": null, "subscription": subscription,
        "subscription_item": null,
        "source": {"type": "coupon", "coupon": coupon},
    })
}

/// A customer, with its own discount when it has one.
pub fn customer(id: &str, email: Option<&str>, discount: Option<Value>) -> Value {
    json!({
        "id": id, "object": "customer", "created": CREATED, "livemode": false,
        "email": email, "name": null, "metadata": {}, "preferred_locales": [],
        "address": null, "balance": 0, "currency": "eur", "default_source": null,
        "delinquent": false, "description": null, "discount": discount,
        "invoice_settings": {"custom_fields": null, "default_payment_method": null,
                             "footer": null, "rendering_options": null},
    })
}

/// A deleted customer, as an expansion shows it.
pub fn deleted_customer(id: &str) -> Value {
    json!({"id": id, "object": "customer", "deleted": true})
}

/// A recurring price (`unit_amount` `None`: tiered).
#[derive(Debug, Clone)]
pub struct Price {
    pub id: String,
    pub product: String,
    pub nickname: Option<String>,
    pub unit_amount: Option<i64>,
    pub currency: String,
    pub interval: String,
    pub interval_count: u64,
    /// `licensed` or `metered`.
    pub usage_type: String,
}

impl Price {
    /// A licensed price of `unit_amount` per `interval`, product `prod_<id>`.
    pub fn new(id: &str, unit_amount: i64, currency: &str, interval: &str) -> Self {
        Self {
            id: id.to_owned(),
            product: format!("prod_{id}"),
            nickname: None,
            unit_amount: Some(unit_amount),
            currency: currency.to_owned(),
            interval: interval.to_owned(),
            interval_count: 1,
            usage_type: "licensed".to_owned(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "object": "price", "active": true,
            "billing_scheme": if self.unit_amount.is_some() { "per_unit" } else { "tiered" },
            "created": CREATED, "currency": self.currency, "livemode": false,
            "lookup_key": null, "metadata": {}, "nickname": self.nickname,
            "product": self.product, "type": "recurring", "tax_behavior": "unspecified",
            "unit_amount": self.unit_amount,
            "unit_amount_decimal": self.unit_amount.map(|a| a.to_string()),
            "recurring": {"interval": self.interval, "interval_count": self.interval_count,
                          "usage_type": self.usage_type, "meter": null,
                          "trial_period_days": null},
        })
    }

    /// The legacy `plan` a subscription item still carries beside its price.
    pub fn plan_json(&self) -> Value {
        json!({
            "id": self.id, "object": "plan", "active": true,
            "billing_scheme": if self.unit_amount.is_some() { "per_unit" } else { "tiered" },
            "created": CREATED, "currency": self.currency, "interval": self.interval,
            "interval_count": self.interval_count, "livemode": false,
            "usage_type": self.usage_type, "amount": self.unit_amount,
            "nickname": self.nickname, "product": self.product, "metadata": {},
        })
    }
}

/// One item of subscription `sub`; the period lives on the item.
pub fn item(sub: &str, price: &Price, quantity: Option<u64>, period_end: i64) -> Value {
    json!({
        "id": format!("si_{}_{}", sub.trim_start_matches("sub_"), price.id),
        "object": "subscription_item", "created": CREATED,
        "current_period_start": period_end - 30 * 86_400, "current_period_end": period_end,
        "discounts": [], "metadata": {}, "plan": price.plan_json(),
        "price": price.to_json(), "quantity": quantity, "subscription": sub,
        "tax_rates": [],
    })
}

/// A subscription of `customer` (an id, or the customer expanded) with
/// `items` and its own `discounts` (ids, or discounts expanded). The
/// caller sets what else it needs (`canceled_at`, `cancellation_details`…).
pub fn subscription(
    id: &str,
    customer: Value,
    status: &str,
    created: i64,
    items: Vec<Value>,
    discounts: Vec<Value>,
) -> Value {
    let currency = items
        .first()
        .and_then(|i| i["price"]["currency"].as_str())
        .unwrap_or("eur")
        .to_owned();
    json!({
        "id": id, "object": "subscription", "customer": customer, "status": status,
        "created": created, "start_date": created, "billing_cycle_anchor": created,
        "cancel_at_period_end": false, "canceled_at": null, "cancel_at": null,
        "ended_at": null, "trial_start": null, "trial_end": null,
        "cancellation_details": {"comment": null, "feedback": null, "reason": null},
        "collection_method": "charge_automatically", "currency": currency, "livemode": false,
        "metadata": {}, "discounts": discounts, "billing_schedules": [],
        "automatic_tax": {"enabled": false, "disabled_reason": null, "liability": null},
        "billing_mode": {"type": "flexible", "flexible": {"proration_discounts": "included"}},
        "invoice_settings": {"account_tax_ids": null, "issuer": {"type": "self"}},
        "default_tax_rates": [], "latest_invoice": null,
        "items": list(&format!("/v1/subscription_items?subscription={id}"), items, false),
    })
}

/// A payment intent whose last attempt failed with `last_payment_error`
/// (`null`: not attempted yet).
pub fn payment_intent(id: &str, amount: i64, currency: &str, last_payment_error: Value) -> Value {
    json!({
        "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_received": 0, "capture_method": "automatic_async",
        "confirmation_method": "automatic", "created": CREATED, "currency": currency,
        "livemode": false, "metadata": {}, "payment_method_types": ["card"],
        "status": "requires_payment_method", "last_payment_error": last_payment_error,
        "latest_charge": null, "customer": null, "description": null,
    })
}

/// A card error as `last_payment_error` carries it.
pub fn card_error(code: &str, decline_code: Option<&str>) -> Value {
    json!({"type": "card_error", "code": code, "decline_code": decline_code,
           "message": "Your card was declined."})
}

/// An open EUR invoice of `customer` (an id, or the customer expanded), for
/// `subscription` when it has one.
pub fn open_invoice(
    id: &str,
    customer: Value,
    subscription: Option<&str>,
    amount: i64,
    attempt_count: u64,
    next_payment_attempt: Option<i64>,
    customer_email: Option<&str>,
) -> Value {
    let parent = subscription.map(|sub| {
        json!({"type": "subscription_details", "quote_details": null,
               "subscription_details": {"subscription": sub, "metadata": {}}})
    });
    json!({
        "id": id, "object": "invoice", "customer": customer, "status": "open",
        "customer_email": customer_email,
        "amount_due": amount, "amount_paid": 0, "amount_overpaid": 0, "amount_remaining": amount,
        "amount_shipping": 0, "attempt_count": attempt_count, "attempted": attempt_count > 0,
        "next_payment_attempt": next_payment_attempt,
        "automatic_tax": {"enabled": false, "status": null, "liability": null,
                          "disabled_reason": null, "provider": null},
        "collection_method": "charge_automatically", "created": CREATED, "currency": "eur",
        "default_tax_rates": [], "discounts": [], "issuer": {"type": "self"},
        "lines": list(&format!("/v1/invoices/{id}/lines"), Vec::new(), false),
        "livemode": false, "payment_settings": {}, "period_end": CREATED, "period_start": CREATED,
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "starting_balance": 0, "status_transitions": {}, "subtotal": amount, "total": amount,
        "hosted_invoice_url": null, "parent": parent,
    })
}

/// An invoice payment (EUR) of `invoice` (an id, or the invoice expanded),
/// paid (or being paid) by `payment_intent` (an id, or the intent expanded).
pub fn invoice_payment(
    id: &str,
    created: i64,
    status: &str,
    invoice: Value,
    payment_intent: Value,
    amount: i64,
) -> Value {
    json!({
        "id": id, "object": "invoice_payment", "created": created, "status": status,
        "amount_paid": if status == "paid" { Some(amount) } else { None },
        "amount_requested": amount, "currency": "eur", "is_default": true,
        "livemode": false, "invoice": invoice,
        "payment": {"type": "payment_intent", "payment_intent": payment_intent},
        "status_transitions": {"canceled_at": null, "paid_at": null},
    })
}
