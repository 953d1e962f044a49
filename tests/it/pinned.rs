//! Stripe objects in the shape of the API version the bot pins
//! (2026-09-30.endive), for the Rust stand-ins (scripted, throttling and
//! faulty Stripes) that answer without localstripe. Each carries every field
//! that version requires (Stripe's API reference; async-stripe's generated
//! types refuse an answer without them), so a stand-in answers as Stripe
//! would. Shared with the benches by `#[path]`.

#![allow(dead_code)]

use serde_json::{json, Value};

const CREATED: i64 = 1_700_000_000;

/// A list page: `{object: "list", data, has_more, url}`.
pub fn list(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({"object": "list", "data": data, "has_more": has_more, "url": url})
}

pub fn customer(id: &str, email: Option<&str>) -> Value {
    json!({
        "id": id, "object": "customer", "created": CREATED, "livemode": false,
        "email": email, "name": null, "metadata": {}, "preferred_locales": [],
        "address": null, "default_source": null, "discount": null,
        "invoice_settings": {"custom_fields": null, "default_payment_method": null,
                             "footer": null, "rendering_options": null},
    })
}

/// A card payment method (`pm_…`) with brand, last four and expiry.
pub fn card_payment_method(id: &str, last4: &str) -> Value {
    json!({
        "id": id, "object": "payment_method", "created": CREATED, "livemode": false,
        "type": "card", "customer": null, "metadata": {},
        "billing_details": {"address": null, "email": null, "name": null, "phone": null},
        "card": {"brand": "visa", "exp_month": 12, "exp_year": 2034, "funding": "credit",
                 "last4": last4, "country": "US"},
    })
}

/// A monthly recurring price (with its legacy `plan` twin on the item).
fn price_and_plan(price: &str, unit_amount: i64, currency: &str, interval: &str) -> (Value, Value) {
    let price_json = json!({
        "id": price, "object": "price", "active": true, "billing_scheme": "per_unit",
        "created": CREATED, "currency": currency, "livemode": false, "metadata": {},
        "nickname": null, "product": "prod_standin", "type": "recurring",
        "unit_amount": unit_amount, "unit_amount_decimal": unit_amount.to_string(),
        "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed",
                      "meter": null, "trial_period_days": null},
    });
    let plan = json!({
        "id": price, "object": "plan", "active": true, "billing_scheme": "per_unit",
        "created": CREATED, "currency": currency, "interval": interval, "interval_count": 1,
        "livemode": false, "usage_type": "licensed", "amount": unit_amount,
        "product": "prod_standin", "metadata": {},
    });
    (price_json, plan)
}

/// A subscription of `customer` on one item; the period lives on the item.
pub fn subscription(id: &str, customer: &str, status: &str, unit_amount: i64) -> Value {
    let (price, plan) = price_and_plan("price_standin", unit_amount, "eur", "month");
    let item = json!({
        "id": format!("si_{}", id.trim_start_matches("sub_")), "object": "subscription_item",
        "created": CREATED, "current_period_start": CREATED, "current_period_end": CREATED + 30 * 86_400,
        "discounts": [], "metadata": {}, "plan": plan, "price": price, "quantity": 1,
        "subscription": id,
    });
    json!({
        "id": id, "object": "subscription", "customer": customer, "status": status,
        "created": CREATED, "start_date": CREATED, "billing_cycle_anchor": CREATED,
        "cancel_at_period_end": false, "canceled_at": null, "cancel_at": null,
        "collection_method": "charge_automatically", "currency": "eur", "livemode": false,
        "metadata": {}, "discounts": [], "billing_schedules": [],
        "automatic_tax": {"enabled": false, "disabled_reason": null, "liability": null},
        "billing_mode": {"type": "classic"},
        "invoice_settings": {"account_tax_ids": null, "issuer": {"type": "self"}},
        "items": list(&format!("/v1/subscription_items?subscription={id}"), vec![item], false),
    })
}

/// A charge of `customer` (refunds listed, as with `expand[]=refunds`).
pub fn charge(id: &str, customer: &str, amount: i64, refunds: Vec<Value>) -> Value {
    let refunded: i64 = refunds
        .iter()
        .filter_map(|r| r.get("amount").and_then(Value::as_i64))
        .sum();
    json!({
        "id": id, "object": "charge", "amount": amount, "amount_captured": amount,
        "amount_refunded": refunded, "captured": true, "created": CREATED,
        "currency": "eur", "customer": customer, "description": null, "disputed": false,
        "livemode": false, "metadata": {}, "paid": true, "refunded": refunded >= amount,
        "status": "succeeded", "payment_intent": null, "failure_message": null,
        "billing_details": {"address": null, "email": null, "name": null, "phone": null},
        "refunds": list(&format!("/v1/charges/{id}/refunds"), refunds, false),
    })
}

/// A refund of `charge`, with the metadata the bot's refunds carry.
pub fn refund(id: &str, charge: &str, amount: i64, metadata: Value) -> Value {
    json!({
        "id": id, "object": "refund", "amount": amount, "charge": charge,
        "created": CREATED, "currency": "eur", "metadata": metadata, "status": "succeeded",
    })
}

/// An invoice of `customer` (for `subscription`, when it has one), with
/// its payments listed as `expand[]=data.payments` shows them: one paid
/// InvoicePayment naming `payment_intent`, when given.
pub fn invoice(
    id: &str,
    customer: &str,
    subscription: Option<&str>,
    amount: i64,
    created: i64,
    payment_intent: Option<&str>,
) -> Value {
    let payments: Vec<Value> = payment_intent
        .map(|pi| {
            json!({
                "id": format!("inpay_{}", id.trim_start_matches("in_")), "object": "invoice_payment",
                "amount_paid": amount, "amount_requested": amount, "created": created,
                "currency": "eur", "invoice": id, "is_default": true, "livemode": false,
                "payment": {"type": "payment_intent", "payment_intent": pi},
                "status": "paid", "status_transitions": {"canceled_at": null, "paid_at": created},
            })
        })
        .into_iter()
        .collect();
    let parent = subscription.map(|sub| {
        json!({"type": "subscription_details", "quote_details": null,
               "subscription_details": {"subscription": sub, "metadata": {}}})
    });
    json!({
        "id": id, "object": "invoice", "customer": customer, "status": "paid",
        "amount_due": amount, "amount_paid": amount, "amount_overpaid": 0, "amount_remaining": 0,
        "amount_shipping": 0, "attempt_count": 1, "attempted": true,
        "automatic_tax": {"enabled": false, "status": null, "liability": null, "disabled_reason": null, "provider": null},
        "collection_method": "charge_automatically", "created": created, "currency": "eur",
        "default_tax_rates": [], "discounts": [], "issuer": {"type": "self"},
        "lines": list(&format!("/v1/invoices/{id}/lines"), Vec::new(), false),
        "livemode": false, "payment_settings": {}, "period_end": created, "period_start": created,
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "starting_balance": 0, "status_transitions": {}, "subtotal": amount, "total": amount,
        "hosted_invoice_url": format!("https://invoice.stripe.com/i/{id}"),
        "parent": parent,
        "payments": list(&format!("/v1/invoice_payments?invoice={id}"), payments, false),
    })
}

/// A Stripe account of one customer, answering the lookup's reads, the
/// charge read before a refund and the refund itself, all in the pinned
/// shape. `invoices_have_more` says the invoice list was cut (`has_more`).
/// How a scripted stand-in answers: (method, path) → (status, JSON body).
pub type Script = std::sync::Arc<dyn Fn(&str, &str) -> (u16, String) + Send + Sync>;

#[derive(Clone)]
pub struct Account {
    pub customer: Value,
    pub subscriptions: Vec<Value>,
    pub invoices: Vec<Value>,
    pub charges: Vec<Value>,
    pub invoices_have_more: bool,
}

impl Account {
    pub fn script(self) -> Script {
        let id = self.customer["id"].as_str().unwrap_or_default().to_owned();
        std::sync::Arc::new(move |method: &str, path: &str| {
            let ok = |v: Value| (200, v.to_string());
            match (method, path) {
                ("GET", "/v1/customers") => ok(list(path, vec![self.customer.clone()], false)),
                ("GET", p) if p == format!("/v1/customers/{id}") => ok(self.customer.clone()),
                ("GET", "/v1/subscriptions") => ok(list(path, self.subscriptions.clone(), false)),
                ("GET", "/v1/invoices") => {
                    ok(list(path, self.invoices.clone(), self.invoices_have_more))
                }
                ("GET", "/v1/charges") => ok(list(path, self.charges.clone(), false)),
                ("GET", "/v1/payment_methods") => ok(list(
                    path,
                    vec![card_payment_method("pm_Account1", "4242")],
                    false,
                )),
                ("GET", p) if p.starts_with("/v1/charges/") => {
                    let wanted = p.trim_start_matches("/v1/charges/");
                    match self.charges.iter().find(|c| c["id"] == wanted) {
                        Some(charge) => ok(charge.clone()),
                        None => (404, NOT_FOUND.to_owned()),
                    }
                }
                ("POST", "/v1/refunds") => ok(refund("re_Account1", "ch_unknown", 0, json!({}))),
                _ => (404, NOT_FOUND.to_owned()),
            }
        })
    }
}

const NOT_FOUND: &str =
    r#"{"error":{"type":"invalid_request_error","message":"No such resource"}}"#;

/// A charge paid through `payment_intent` at `created`.
pub fn charge_at(
    id: &str,
    customer: &str,
    amount: i64,
    created: i64,
    payment_intent: &str,
) -> Value {
    let mut c = charge(id, customer, amount, Vec::new());
    c["created"] = created.into();
    c["payment_intent"] = payment_intent.into();
    c
}

/// A subscription on a `interval` price of `unit_amount`, created at `created`.
pub fn subscription_at(
    id: &str,
    customer: &str,
    status: &str,
    unit_amount: i64,
    interval: &str,
    created: i64,
) -> Value {
    let mut sub = subscription(id, customer, status, unit_amount);
    let (price, plan) = price_and_plan(&format!("price_{interval}"), unit_amount, "eur", interval);
    sub["created"] = created.into();
    sub["start_date"] = created.into();
    sub["items"]["data"][0]["price"] = price;
    sub["items"]["data"][0]["plan"] = plan;
    sub
}
