//! What the scanned lists' items become for the reports: a subscription
//! (`stripe_shared::Subscription`, its discounts' coupons and its customer
//! expanded) becomes a [`ScannedSubscription`], an open invoice payment
//! (`stripe_shared::InvoicePayment`, its payment intent or charge and its
//! invoice with the customer expanded) an [`OpenPayment`], a coupon a
//! [`Discount`]. The items are read as the pinned API version defines them;
//! only their meaning for the reports is decided here, the MRR rules are
//! the reports' (`reports::plans`).

use std::collections::HashMap;

use stripe_shared as ss;
use stripe_types::Expandable;

use super::super::models;
use crate::domain::scanned::{
    Cancellation, CouponDuration, Discount, FailedPayment, OpenPayment, ScannedItem,
    ScannedSubscription,
};

/// The coupons a scan has read, by id; `None` for an id Stripe no longer
/// has (a deleted coupon still discounts the customers who had it, but its
/// terms cannot be read any more).
pub(super) type CouponBook = HashMap<String, Option<Discount>>;

/// A coupon's terms, as the MRR rules read them; `None` for a duration
/// Stripe adds later.
pub(super) fn discount(coupon: &ss::Coupon) -> Option<Discount> {
    let duration = match coupon.duration {
        ss::CouponDuration::Forever => CouponDuration::Forever,
        ss::CouponDuration::Once => CouponDuration::Once,
        ss::CouponDuration::Repeating => CouponDuration::Repeating,
        _ => return None,
    };
    Some(Discount {
        duration,
        percent_off_bp: coupon
            .percent_off
            .filter(|p| p.is_finite() && *p >= 0.0)
            // Two decimals at most: hundredths of a percent are exact.
            .map(|p| (p * 100.0).round().min(10_000.0) as u32),
        amount_off: coupon.amount_off,
        currency: coupon
            .currency
            .as_ref()
            .and_then(|c| models::currency(c).ok()),
    })
}

/// The id of the coupon behind the customer's own discount (the customer
/// expanded; its discount's coupon is an id at that depth).
pub(super) fn customer_coupon_id(sub: &ss::Subscription) -> Option<&str> {
    let coupon = sub
        .customer
        .as_object()?
        .discount
        .as_ref()?
        .source
        .coupon
        .as_ref()?;
    Some(coupon.id().as_str())
}

/// The report's record; `None` (logged) for a subscription whose items
/// cannot be priced, so one odd object does not sink a whole scan.
pub(super) fn subscription(
    sub: ss::Subscription,
    coupons: &CouponBook,
) -> Option<ScannedSubscription> {
    let id = sub.id.as_str().to_owned();
    // On the pinned version the period lives on each item.
    let current_period_end = sub.items.data.iter().map(|i| i.current_period_end).max();
    let Some(items) = sub.items.data.iter().map(item).collect::<Option<Vec<_>>>() else {
        tracing::warn!(subscription = %id, "subscription item unreadable; left out of the report");
        return None;
    };
    let discounts: Vec<Discount> = sub
        .discounts
        .iter()
        .filter_map(Expandable::as_object)
        .filter_map(|d| d.source.coupon.as_ref()?.as_object().and_then(discount))
        .collect();
    // Stripe applies the customer's discount only to a subscription without
    // discounts of its own; one whose own cannot be read gets neither.
    let customer_discount = if sub.discounts.is_empty() {
        customer_discount(&sub, coupons)
    } else {
        if discounts.len() < sub.discounts.len() {
            tracing::warn!(subscription = %id, "a discount of the subscription is unreadable; left out of MRR");
        }
        None
    };
    Some(ScannedSubscription {
        customer: sub.customer.id().as_str().to_owned(),
        status: sub.status.as_str().to_owned(),
        created: sub.created,
        canceled_at: sub.canceled_at,
        ended_at: sub.ended_at,
        cancel_at_period_end: sub.cancel_at_period_end,
        cancel_at: sub.cancel_at,
        current_period_end,
        cancellation: sub.cancellation_details.map(|c| Cancellation {
            reason: c.reason.map(|r| r.as_str().to_owned()),
            feedback: c.feedback.map(|f| f.as_str().to_owned()),
            comment: c.comment,
        }),
        latest_invoice: sub
            .latest_invoice
            .as_ref()
            .and_then(|i| i.id().as_ref())
            .map(|i| i.as_str().to_owned()),
        items,
        discounts,
        customer_discount,
        id,
    })
}

/// The customer's own discount, its coupon read from `coupons` (or from the
/// customer, should a stand-in expand it).
fn customer_discount(sub: &ss::Subscription, coupons: &CouponBook) -> Option<Discount> {
    let coupon = sub
        .customer
        .as_object()?
        .discount
        .as_ref()?
        .source
        .coupon
        .as_ref()?;
    match coupon {
        Expandable::Object(coupon) => discount(coupon),
        Expandable::Id(id) => coupons.get(id.as_str()).cloned().flatten(),
    }
}

/// One priced line; `None` when the price is not recurring or names an
/// interval or currency the reports do not know.
fn item(item: &ss::SubscriptionItem) -> Option<ScannedItem> {
    let price = &item.price;
    let recurring = price.recurring.as_ref()?;
    Some(ScannedItem {
        price: price.id.as_str().to_owned(),
        product: Some(price.product.id().as_str().to_owned()),
        nickname: price.nickname.clone(),
        unit_amount: price.unit_amount,
        currency: models::currency(&price.currency).ok()?,
        interval: models::interval(&recurring.interval)?,
        interval_count: u32::try_from(recurring.interval_count).unwrap_or(1).max(1),
        quantity: item.quantity.unwrap_or(1),
        metered: matches!(recurring.usage_type, ss::RecurringUsageType::Metered),
    })
}

/// What an open payment says about its invoice's failure. Objects not
/// expanded (ids) leave their fields unknown; a payment whose invoice has
/// no id is left out (logged).
pub(super) fn open_payment(payment: ss::InvoicePayment) -> Option<OpenPayment> {
    let Some(invoice_id) = payment.invoice.id().as_ref().map(|i| i.as_str().to_owned()) else {
        tracing::warn!(payment = %payment.id.as_str(), "invoice payment without an invoice id; left out");
        return None;
    };
    let paid_by = &payment.payment;
    let intent = paid_by
        .payment_intent
        .as_ref()
        .and_then(Expandable::as_object);
    let charge = paid_by.charge.as_ref().and_then(Expandable::as_object);
    // A card's decline: `decline_code` when the issuer gave one, else
    // Stripe's `code` (an expired card has no decline code).
    let decline_code = intent
        .and_then(|i| i.last_payment_error.as_deref())
        .and_then(|e| {
            e.decline_code
                .clone()
                .or_else(|| e.code.as_ref().map(|c| c.as_str().to_owned()))
        })
        .or_else(|| charge.and_then(|c| c.failure_code.clone()));
    let mut details = FailedPayment {
        decline_code,
        ..FailedPayment::default()
    };
    let mut subscription = None;
    if let Some(invoice) = payment.invoice.as_object() {
        details.attempts = u32::try_from(invoice.attempt_count).unwrap_or(u32::MAX);
        details.next_retry = invoice.next_payment_attempt;
        // The customer's current email when expanded, else the invoice's copy.
        let email = match &invoice.customer {
            Some(Expandable::Object(customer)) => customer.email.as_deref(),
            _ => invoice.customer_email.as_deref(),
        };
        details.reachable = email.is_some_and(|e| e.contains('@'));
        subscription = invoice
            .parent
            .as_ref()
            .and_then(|p| p.subscription_details.as_ref())
            .map(|d| d.subscription.id().as_str().to_owned());
    }
    Some(OpenPayment {
        invoice: invoice_id,
        subscription,
        created: payment.created,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer recorded from the pinned-shape layer
    /// (`tests/fixtures/stripe-pinned/`), read into its generated type.
    fn recorded<T: miniserde::Deserialize>(name: &str) -> T {
        let path = format!(
            "{}/tests/fixtures/stripe-pinned/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        miniserde::json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn recorded_answers_become_the_reports_records() {
        let coupons: stripe_types::List<ss::Coupon> = recorded("coupon_list.json");
        let book: CouponBook = coupons
            .data
            .iter()
            .map(|c| (c.id.as_str().to_owned(), discount(c)))
            .collect();
        assert!(book.values().all(Option::is_some), "{book:?}");
        let subs: stripe_types::List<ss::Subscription> = recorded("subscription_list.json");
        for sub in subs.data {
            let s = subscription(sub, &book).expect("a recorded subscription is read");
            assert!(s.current_period_end.is_some() && !s.items.is_empty());
            assert!(s.items.iter().all(|i| i.unit_amount.is_some()));
        }
        let payments: stripe_types::List<ss::InvoicePayment> =
            recorded("invoice_payment_list_open_expanded.json");
        for payment in payments.data {
            let p = open_payment(payment).expect("a recorded payment is read");
            assert!(p.subscription.is_some() && p.details.decline_code.is_some());
            assert!(p.details.attempts > 0 && p.details.reachable);
        }
        // A customer's own discount, its coupon expanded as recorded.
        let customer: ss::Customer = recorded("customer.json");
        let coupon = customer
            .discount
            .as_ref()
            .and_then(|d| d.source.coupon.as_ref())
            .and_then(Expandable::as_object)
            .and_then(discount);
        assert_eq!(coupon.map(|d| d.duration), Some(CouponDuration::Forever));
    }

    fn read<T: miniserde::Deserialize>(value: serde_json::Value) -> T {
        miniserde::json::from_str(&value.to_string()).expect("the pinned version's shape")
    }

    /// A subscription of the pinned version with one monthly EUR item,
    /// `extra` on top.
    fn subscription_json(extra: serde_json::Value) -> serde_json::Value {
        let price = serde_json::json!({
            "id": "price_1", "object": "price", "active": true, "billing_scheme": "per_unit",
            "created": 1, "currency": "eur", "livemode": false, "metadata": {},
            "product": "prod_1", "type": "recurring", "unit_amount": 1000,
            "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}
        });
        let plan = serde_json::json!({
            "id": "price_1", "object": "plan", "active": true, "billing_scheme": "per_unit",
            "created": 1, "currency": "eur", "interval": "month", "interval_count": 1,
            "livemode": false, "usage_type": "licensed", "amount": 1000, "product": "prod_1"
        });
        let mut sub = serde_json::json!({
            "id": "sub_1", "object": "subscription", "automatic_tax": {"enabled": false},
            "billing_cycle_anchor": 5, "billing_mode": {"type": "flexible"},
            "billing_schedules": [], "cancel_at_period_end": false,
            "collection_method": "charge_automatically", "created": 5, "currency": "eur",
            "customer": "cus_1", "discounts": [],
            "invoice_settings": {"issuer": {"type": "self"}},
            "items": {"object": "list", "has_more": false, "url": "/v1/subscription_items",
                "data": [{"id": "si_1", "object": "subscription_item", "created": 5,
                    "current_period_start": 5, "current_period_end": 50, "discounts": [],
                    "metadata": {}, "plan": plan, "price": price, "quantity": 2,
                    "subscription": "sub_1"}]},
            "livemode": false, "metadata": {}, "start_date": 5, "status": "active"
        });
        if let (Some(s), Some(e)) = (sub.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        sub
    }

    fn coupon_json(id: &str, duration: &str, percent_off: f64) -> serde_json::Value {
        serde_json::json!({"id": id, "object": "coupon", "created": 1, "duration": duration,
            "livemode": false, "percent_off": percent_off, "times_redeemed": 1, "valid": true})
    }

    fn discount_json(id: &str, coupon: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"id": id, "object": "discount", "start": 1,
            "source": {"type": "coupon", "coupon": coupon}})
    }

    #[test]
    fn a_subscription_reads_its_items_period_and_own_discounts() {
        let raw: ss::Subscription = read(subscription_json(serde_json::json!({
            "discounts": [discount_json("di_1", coupon_json("c1", "forever", 10.0))]
        })));
        let s = subscription(raw, &CouponBook::new()).expect("readable");
        assert_eq!(
            (s.items[0].quantity, s.items[0].unit_amount),
            (2, Some(1000))
        );
        assert_eq!(s.items[0].product.as_deref(), Some("prod_1"));
        assert_eq!(s.current_period_end, Some(50));
        assert_eq!(s.discounts.len(), 1);
        assert_eq!(s.discounts[0].duration, CouponDuration::Forever);
        assert_eq!(s.discounts[0].percent_off_bp, Some(1000));
        assert_eq!(s.customer, "cus_1");
        assert_eq!(s.customer_discount, None);
    }

    #[test]
    fn a_customer_discount_reads_its_coupon_from_the_book_unless_the_subscription_has_its_own() {
        let customer = serde_json::json!({"id": "cus_1", "object": "customer", "created": 1,
            "livemode": false, "discount": discount_json("di_c", serde_json::json!("old20"))});
        let mut book = CouponBook::new();
        let old20: ss::Coupon = read(coupon_json("old20", "forever", 20.0));
        book.insert("old20".into(), discount(&old20));

        let raw: ss::Subscription = read(subscription_json(serde_json::json!({
            "customer": customer.clone()
        })));
        assert_eq!(customer_coupon_id(&raw), Some("old20"));
        let s = subscription(raw, &book).expect("readable");
        assert_eq!(s.customer, "cus_1");
        assert_eq!(
            s.customer_discount.map(|d| (d.duration, d.percent_off_bp)),
            Some((CouponDuration::Forever, Some(2000)))
        );

        // A coupon the book does not know (deleted): no discount is made up.
        let raw: ss::Subscription = read(subscription_json(serde_json::json!({
            "customer": customer.clone()
        })));
        let mut deleted = CouponBook::new();
        deleted.insert("old20".into(), None);
        assert_eq!(
            subscription(raw, &deleted)
                .expect("readable")
                .customer_discount,
            None
        );

        // The subscription's own discount, even an unreadable one, wins.
        let raw: ss::Subscription = read(subscription_json(serde_json::json!({
            "customer": customer, "discounts": ["di_unexpanded"]
        })));
        let s = subscription(raw, &book).expect("readable");
        assert!(s.discounts.is_empty() && s.customer_discount.is_none());
    }

    /// The pinned version's shape, expanded as the open-payment scan asks.
    #[test]
    fn an_open_invoice_payment_reads_its_decline_attempts_retry_and_customer() {
        let invoice = serde_json::json!({
            "id": "in_1", "object": "invoice", "amount_due": 500, "amount_overpaid": 0,
            "amount_paid": 0, "amount_remaining": 500, "amount_shipping": 0,
            "attempt_count": 3, "attempted": true, "automatic_tax": {"enabled": false},
            "collection_method": "charge_automatically", "created": 6, "currency": "eur",
            "default_tax_rates": [], "discounts": [], "issuer": {"type": "self"},
            "lines": {"object": "list", "data": [], "has_more": false, "url": "/v1/invoices/in_1/lines"},
            "livemode": false, "payment_settings": {}, "period_end": 6, "period_start": 6,
            "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
            "starting_balance": 0, "status_transitions": {}, "subtotal": 500, "total": 500,
            "next_payment_attempt": 99, "customer_email": null, "status": "open",
            "customer": {"id": "cus_1", "object": "customer", "created": 1, "livemode": false,
                         "email": "a@example.com"},
            "parent": {"type": "subscription_details",
                       "subscription_details": {"subscription": "sub_1"}}
        });
        let intent = serde_json::json!({
            "id": "pi_1", "object": "payment_intent", "amount": 500, "amount_capturable": 0,
            "amount_received": 0, "capture_method": "automatic",
            "confirmation_method": "automatic", "created": 6, "currency": "eur",
            "livemode": false, "metadata": {}, "payment_method_types": ["card"],
            "status": "requires_payment_method",
            "last_payment_error": {"type": "card_error", "code": "card_declined",
                                   "decline_code": "insufficient_funds"}
        });
        let payment = |invoice: serde_json::Value, intent: serde_json::Value| {
            serde_json::json!({
                "id": "inpay_1", "object": "invoice_payment", "amount_requested": 500,
                "created": 7, "currency": "eur", "is_default": true, "livemode": false,
                "status": "open", "status_transitions": {}, "invoice": invoice,
                "payment": {"type": "payment_intent", "payment_intent": intent}
            })
        };
        let p = open_payment(read(payment(invoice, intent))).expect("readable");
        assert_eq!(p.invoice, "in_1");
        assert_eq!(p.subscription.as_deref(), Some("sub_1"));
        assert_eq!(
            p.details,
            FailedPayment {
                decline_code: Some("insufficient_funds".into()),
                attempts: 3,
                next_retry: Some(99),
                reachable: true,
            }
        );
        // Unexpanded, the ids alone: the invoice is known, nothing else.
        let bare = open_payment(read(payment(
            serde_json::json!("in_2"),
            serde_json::json!("pi_2"),
        )))
        .expect("readable");
        assert_eq!((bare.invoice.as_str(), bare.subscription), ("in_2", None));
        assert_eq!(bare.details, FailedPayment::default());
    }
}
