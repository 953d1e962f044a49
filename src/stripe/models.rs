//! Stripe's answers, read as the pinned API version defines them: every
//! object is read (with miniserde) into async-stripe's generated type for
//! that version (`stripe_shared::{Customer, Subscription, Invoice,
//! InvoicePayment, Charge, Refund, PaymentMethod, …}`), then converted into
//! the plain domain records. A field the version lacks does not compile, and
//! an answer missing a field the version requires is refused as unreadable.
//!
//! The one hand-read answer: the owner of an id (`sub_`, `in_`, `ch_`, `pi_`,
//! `cs_`), of which only `customer` is needed; it is read as JSON and its
//! `customer` (expanded) into the generated `Customer`, so five object types
//! need not be read whole to find one field.
//!
//! Links: on the pinned version a charge names no invoice and an invoice no
//! charge. An invoice's payments (`expand[]=data.payments`) name the payment
//! intent (or charge) that paid it; [`link`] matches them with the charges'
//! payment intents, and says "unknown" where the lists fetched cannot tell.
//! Stripe object reference: <https://docs.stripe.com/api>.

use std::collections::{BTreeMap, HashMap};

use stripe_shared as ss;
use stripe_types::Expandable;

use crate::domain::{
    CardSummary, Charge, ChargeId, ChargeStatus, Currency, CustomerId, CustomerRecord, Interval,
    Invoice, InvoiceId, InvoiceStatus, Money, Pause, PauseBehavior, Refund, RefundId, Subscription,
    SubscriptionId, SubscriptionItem, SubscriptionStatus,
};

/// Why a Stripe object could not become a domain record: the field at fault.
#[derive(Debug)]
pub(crate) struct Bad(pub String);

impl Bad {
    /// The error an operator sees: Stripe's answer for `what` could not be read.
    pub(crate) fn about(self, what: impl Into<String>) -> super::StripeError {
        super::StripeError::Unreadable {
            what: what.into(),
            detail: self.0,
            source: None,
        }
    }
}

pub(crate) fn currency(code: &stripe_types::Currency) -> Result<Currency, Bad> {
    Currency::parse(&code.to_string()).map_err(|e| Bad(e.to_string()))
}

fn id<T>(parse: impl Fn(&str) -> Result<T, crate::domain::IdError>, raw: &str) -> Result<T, Bad> {
    parse(raw).map_err(|e| Bad(e.to_string()))
}

fn metadata(raw: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    raw.unwrap_or_default().into_iter().collect()
}

/// A card's summary: never more than brand, last four and expiry.
fn card_summary(brand: &str, last4: &str, exp_month: i64, exp_year: i64) -> Option<CardSummary> {
    Some(CardSummary {
        // Legacy sources say "Visa", payment methods "visa".
        brand: brand.to_ascii_lowercase(),
        last4: last4.to_owned(),
        exp_month: u32::try_from(exp_month).ok()?,
        exp_year: i32::try_from(exp_year).ok()?,
    })
}

/// The card of a `pm_…` payment method, when it is one.
pub(crate) fn payment_method_card(pm: &ss::PaymentMethod) -> Option<CardSummary> {
    let card = pm.card.as_ref()?;
    card_summary(&card.brand, &card.last4, card.exp_month, card.exp_year)
}

/// The customer's default card when the customer came with it expanded:
/// `invoice_settings.default_payment_method` first, then `default_source`.
pub(crate) fn expanded_card(customer: &ss::Customer) -> Option<CardSummary> {
    let from_pm = customer
        .invoice_settings
        .as_ref()
        .and_then(|s| s.default_payment_method.as_ref())
        .and_then(Expandable::as_object)
        .and_then(payment_method_card);
    from_pm.or_else(|| match customer.default_source.as_ref()?.as_object()? {
        ss::PaymentSource::Card(card) => {
            card_summary(&card.brand, &card.last4, card.exp_month, card.exp_year)
        }
        _ => None,
    })
}

pub(crate) fn customer_record(
    customer: ss::Customer,
    card: Option<CardSummary>,
) -> Result<CustomerRecord, Bad> {
    Ok(CustomerRecord {
        id: id(CustomerId::parse, customer.id.as_str())?,
        name: customer.name,
        email: customer.email,
        created: customer.created,
        country: customer.address.and_then(|a| a.country),
        preferred_locales: customer.preferred_locales.unwrap_or_default(),
        metadata: metadata(customer.metadata),
        default_payment_method: card,
        subscriptions: Vec::new(),
        invoices: Vec::new(),
        charges: Vec::new(),
    })
}

fn subscription_status(status: &ss::SubscriptionStatus) -> Result<SubscriptionStatus, Bad> {
    use ss::SubscriptionStatus as S;
    Ok(match status {
        S::Active => SubscriptionStatus::Active,
        S::Canceled => SubscriptionStatus::Canceled,
        S::Incomplete => SubscriptionStatus::Incomplete,
        S::IncompleteExpired => SubscriptionStatus::IncompleteExpired,
        S::PastDue => SubscriptionStatus::PastDue,
        S::Paused => SubscriptionStatus::Paused,
        S::Trialing => SubscriptionStatus::Trialing,
        S::Unpaid => SubscriptionStatus::Unpaid,
        other => {
            return Err(Bad(format!(
                "unknown subscription status `{}`",
                other.as_str()
            )))
        }
    })
}

/// A price's interval, `None` for one Stripe added after the pinned version.
pub(crate) fn interval(interval: &ss::RecurringInterval) -> Option<Interval> {
    use ss::RecurringInterval as R;
    match interval {
        R::Day => Some(Interval::Day),
        R::Week => Some(Interval::Week),
        R::Month => Some(Interval::Month),
        R::Year => Some(Interval::Year),
        _ => None,
    }
}

pub(crate) fn subscription(sub: ss::Subscription) -> Result<Subscription, Bad> {
    let status = subscription_status(&sub.status)?;
    // On the pinned version the period lives on each item.
    let current_period_end = sub.items.data.iter().map(|i| i.current_period_end).max();
    let items = sub
        .items
        .data
        .into_iter()
        .map(subscription_item)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Subscription {
        id: id(SubscriptionId::parse, sub.id.as_str())?,
        customer: id(CustomerId::parse, sub.customer.id().as_str())?,
        status,
        created: sub.created,
        current_period_end,
        cancel_at_period_end: sub.cancel_at_period_end,
        canceled_at: sub.canceled_at,
        items,
        metadata: sub.metadata.into_iter().collect(),
        pause_collection: sub.pause_collection.map(pause).transpose()?,
    })
}

/// A subscription's `pause_collection`; a behaviour Stripe adds later is
/// refused as unreadable rather than guessed.
fn pause(pause: ss::SubscriptionsResourcePauseCollection) -> Result<Pause, Bad> {
    let raw = pause.behavior.as_str();
    let behavior = PauseBehavior::parse(raw)
        .ok_or_else(|| Bad(format!("unknown pause_collection behavior `{raw}`")))?;
    Ok(Pause {
        behavior,
        resumes_at: pause.resumes_at,
    })
}

fn subscription_item(item: ss::SubscriptionItem) -> Result<SubscriptionItem, Bad> {
    let price = item.price;
    let recurring = price
        .recurring
        .as_ref()
        .ok_or_else(|| Bad(format!("price {} is not recurring", price.id.as_str())))?;
    let every = interval(&recurring.interval).ok_or_else(|| {
        Bad(format!(
            "price {} has an unknown interval",
            price.id.as_str()
        ))
    })?;
    Ok(SubscriptionItem {
        product_id: Some(price.product.id().as_str().to_owned()),
        plan_name: price.nickname.clone(),
        unit_amount: Money::new(price.unit_amount.unwrap_or(0), currency(&price.currency)?),
        interval: every,
        interval_count: u32::try_from(recurring.interval_count).unwrap_or(1).max(1),
        quantity: item.quantity.unwrap_or(1),
        price_id: price.id.as_str().to_owned(),
    })
}

/// What paid (or is paying) an invoice, as one of its InvoicePayments names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Payer {
    PaymentIntent(String),
    Charge(String),
}

/// An invoice and the payers its payments name. `payments_complete` is
/// false when the invoice has more payments than came with it.
#[derive(Debug)]
pub(crate) struct ReadInvoice {
    pub invoice: Invoice,
    pub payers: Vec<Payer>,
    pub payments_complete: bool,
}

fn invoice_status(status: Option<&ss::InvoiceStatus>) -> Result<InvoiceStatus, Bad> {
    use ss::InvoiceStatus as S;
    Ok(match status {
        // Only deleted drafts lack a status.
        None | Some(S::Draft) => InvoiceStatus::Draft,
        Some(S::Open) => InvoiceStatus::Open,
        Some(S::Paid) => InvoiceStatus::Paid,
        Some(S::Uncollectible) => InvoiceStatus::Uncollectible,
        Some(S::Void) => InvoiceStatus::Void,
        Some(other) => return Err(Bad(format!("unknown invoice status `{}`", other.as_str()))),
    })
}

/// The payer an InvoicePayment names (a payment intent first: that is what
/// a charge of the pinned version names too).
pub(crate) fn payer(
    payment: &ss::InvoicesPaymentsInvoicePaymentAssociatedPayment,
) -> Option<Payer> {
    if let Some(pi) = &payment.payment_intent {
        return Some(Payer::PaymentIntent(pi.id().as_str().to_owned()));
    }
    payment
        .charge
        .as_ref()
        .map(|c| Payer::Charge(c.id().as_str().to_owned()))
}

pub(crate) fn invoice(raw: ss::Invoice) -> Result<ReadInvoice, Bad> {
    let currency = currency(&raw.currency)?;
    let invoice_id = raw
        .id
        .as_ref()
        .ok_or_else(|| Bad("an invoice without an id".into()))?;
    let customer = raw
        .customer
        .as_ref()
        .ok_or_else(|| Bad(format!("invoice {} has no customer", invoice_id.as_str())))?;
    let subscription = raw
        .parent
        .as_ref()
        .and_then(|p| p.subscription_details.as_ref())
        .map(|d| id(SubscriptionId::parse, d.subscription.id().as_str()))
        .transpose()?;
    let (payers, payments_complete) = match &raw.payments {
        Some(list) => (
            list.data
                .iter()
                // A canceled payment paid nothing and is being paid by nothing.
                .filter(|p| p.status != "canceled")
                .filter_map(|p| payer(&p.payment))
                .collect(),
            !list.has_more,
        ),
        None => (Vec::new(), false),
    };
    Ok(ReadInvoice {
        invoice: Invoice {
            id: id(InvoiceId::parse, invoice_id.as_str())?,
            customer: id(CustomerId::parse, customer.id().as_str())?,
            status: invoice_status(raw.status.as_ref())?,
            subscription,
            amount_due: Money::new(raw.amount_due, currency),
            amount_paid: Money::new(raw.amount_paid, currency),
            created: raw.created,
            attempt_count: u32::try_from(raw.attempt_count).unwrap_or(u32::MAX),
            hosted_invoice_url: raw.hosted_invoice_url,
            charge: None,
        },
        payers,
        payments_complete,
    })
}

fn charge_status(status: &ss::ChargeStatus) -> Result<ChargeStatus, Bad> {
    use ss::ChargeStatus as S;
    Ok(match status {
        S::Succeeded => ChargeStatus::Succeeded,
        S::Pending => ChargeStatus::Pending,
        S::Failed => ChargeStatus::Failed,
        other => return Err(Bad(format!("unknown charge status `{}`", other.as_str()))),
    })
}

/// A charge and the payment intent it belongs to, for [`link`].
#[derive(Debug)]
pub(crate) struct ReadCharge {
    pub charge: Charge,
    pub payment_intent: Option<String>,
}

pub(crate) fn charge(raw: ss::Charge) -> Result<ReadCharge, Bad> {
    let currency = currency(&raw.currency)?;
    let mut refunds = raw
        .refunds
        .map(|l| l.data)
        .unwrap_or_default()
        .into_iter()
        .map(refund)
        .collect::<Result<Vec<_>, _>>()?;
    refunds.sort_by_key(|r| std::cmp::Reverse(r.created));
    Ok(ReadCharge {
        payment_intent: raw
            .payment_intent
            .as_ref()
            .map(|p| p.id().as_str().to_owned()),
        charge: Charge {
            id: id(ChargeId::parse, raw.id.as_str())?,
            customer: raw
                .customer
                .as_ref()
                .map(|c| id(CustomerId::parse, c.id().as_str()))
                .transpose()?,
            amount: Money::new(raw.amount, currency),
            amount_refunded: raw.amount_refunded,
            status: charge_status(&raw.status)?,
            created: raw.created,
            // Filled by `link`: the pinned version's charge names no invoice.
            invoice: None,
            invoice_unknown: true,
            description: raw.description,
            decline_code: (raw.status == ss::ChargeStatus::Failed)
                .then(|| {
                    raw.outcome
                        .as_ref()
                        .and_then(|o| o.reason.clone())
                        .or_else(|| raw.failure_code.clone())
                })
                .flatten(),
            failure_message: raw.failure_message,
            disputed: raw.disputed,
            refunds,
        },
    })
}

pub(crate) fn refund(raw: ss::Refund) -> Result<Refund, Bad> {
    Ok(Refund {
        id: id(RefundId::parse, raw.id.as_str())?,
        amount: Money::new(raw.amount, currency(&raw.currency)?),
        status: raw.status.unwrap_or_else(|| "succeeded".into()),
        created: raw.created,
        metadata: metadata(raw.metadata),
    })
}

/// Links charges to the invoices they paid, through the invoices' payments:
/// a charge paid an invoice when one of its payments names the charge's
/// payment intent or the charge itself. Both sides get the link
/// (`Charge::invoice`, `Invoice::charge`; an invoice paid by several
/// charges names the newest succeeded one).
///
/// A charge no payment names is known not to have paid any invoice only
/// when nothing is missing: every invoice that could have been paid by it
/// came with all of its payments (`invoices_complete`: the list held all of
/// the customer's invoices, or at least all created up to the charge).
/// Otherwise the charge's invoice is unknown, never "none".
pub(crate) fn link(
    invoices: &mut [ReadInvoice],
    charges: &mut [ReadCharge],
    invoices_complete: bool,
) {
    let oldest_invoice = invoices.iter().map(|i| i.invoice.created).min();
    let all_payments = invoices.iter().all(|i| i.payments_complete);
    for read in charges.iter_mut() {
        let matched = invoices.iter().find(|inv| {
            inv.payers.iter().any(|payer| match payer {
                Payer::PaymentIntent(pi) => read.payment_intent.as_deref() == Some(pi.as_str()),
                Payer::Charge(ch) => read.charge.id.as_str() == ch,
            })
        });
        match matched {
            Some(inv) => {
                read.charge.invoice = Some(inv.invoice.id.clone());
                read.charge.invoice_unknown = false;
            }
            None => {
                // Invoices are listed newest first; a charge older than the
                // oldest one listed may have paid one that was not listed
                // (an invoice is created before the charge that pays it).
                let covered = invoices_complete
                    || oldest_invoice.is_some_and(|oldest| read.charge.created >= oldest);
                read.charge.invoice = None;
                read.charge.invoice_unknown = !(covered && all_payments);
            }
        }
    }
    for inv in invoices.iter_mut() {
        inv.invoice.charge = charges
            .iter()
            .filter(|c| c.charge.invoice.as_ref() == Some(&inv.invoice.id))
            .max_by_key(|c| (c.charge.status == ChargeStatus::Succeeded, c.charge.created))
            .map(|c| c.charge.id.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: miniserde::Deserialize>(name: &str) -> T {
        let path = format!(
            "{}/tests/fixtures/stripe-pinned/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        miniserde::json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name} does not read as the pinned version's type: {e}"))
    }

    #[test]
    fn recorded_pinned_answers_read_into_the_generated_types() {
        let customer: ss::Customer = read("customer.json");
        assert!(customer_record(customer, None).is_ok());
        let subs: stripe_types::List<ss::Subscription> = read("subscription_list.json");
        assert!(!subs.data.is_empty());
        for sub in subs.data {
            let sub = subscription(sub).expect("a pinned subscription converts");
            assert!(
                sub.current_period_end.is_some(),
                "the period comes from the items"
            );
        }
        let invoices: stripe_types::List<ss::Invoice> = read("invoice_list_with_payments.json");
        let mut invoices: Vec<ReadInvoice> = invoices
            .data
            .into_iter()
            .map(|i| invoice(i).expect("a pinned invoice converts"))
            .collect();
        assert!(invoices.iter().any(|i| !i.payers.is_empty()));
        assert!(invoices.iter().any(|i| i.invoice.subscription.is_some()));
        let charges: stripe_types::List<ss::Charge> = read("charge_list_with_refunds.json");
        let mut charges: Vec<ReadCharge> = charges
            .data
            .into_iter()
            .map(|c| charge(c).expect("a pinned charge converts"))
            .collect();
        link(&mut invoices, &mut charges, true);
        assert!(
            charges.iter().any(|c| c.charge.invoice.is_some()),
            "the recorded charges pay the recorded invoices"
        );
        let _: ss::Refund = read("refund.json");
        let _: ss::Subscription = read("subscription_canceled.json");
        let _: ss::PaymentIntent = read("payment_intent.json");
        let pms: stripe_types::List<ss::PaymentMethod> = read("payment_method_list.json");
        assert!(pms.data.iter().any(|pm| payment_method_card(pm).is_some()));
        let _: stripe_types::List<ss::InvoicePayment> =
            read("invoice_payment_list_open_expanded.json");
        let _: stripe_types::List<ss::Coupon> = read("coupon_list.json");
    }

    fn read_invoice(id: &str, created: i64, payers: Vec<Payer>) -> ReadInvoice {
        let cur = Currency::parse("eur").expect("eur");
        ReadInvoice {
            invoice: Invoice {
                id: InvoiceId::parse(id).expect("id"),
                customer: CustomerId::parse("cus_1").expect("id"),
                status: InvoiceStatus::Paid,
                subscription: Some(SubscriptionId::parse("sub_1").expect("id")),
                amount_due: Money::new(100, cur),
                amount_paid: Money::new(100, cur),
                created,
                attempt_count: 1,
                hosted_invoice_url: None,
                charge: None,
            },
            payers,
            payments_complete: true,
        }
    }

    fn read_charge(id: &str, created: i64, pi: Option<&str>) -> ReadCharge {
        let cur = Currency::parse("eur").expect("eur");
        ReadCharge {
            charge: Charge {
                id: ChargeId::parse(id).expect("id"),
                customer: None,
                amount: Money::new(100, cur),
                amount_refunded: 0,
                status: ChargeStatus::Succeeded,
                created,
                invoice: None,
                invoice_unknown: true,
                description: None,
                failure_message: None,
                decline_code: None,
                disputed: false,
                refunds: Vec::new(),
            },
            payment_intent: pi.map(str::to_owned),
        }
    }

    #[test]
    fn charges_link_through_the_invoice_payments_and_unknown_is_never_none() {
        let mut invoices = vec![
            read_invoice("in_new", 200, vec![Payer::PaymentIntent("pi_new".into())]),
            read_invoice("in_direct", 150, vec![Payer::Charge("ch_direct".into())]),
        ];
        let mut charges = vec![
            read_charge("ch_new", 201, Some("pi_new")),
            read_charge("ch_direct", 151, None),
            read_charge("ch_standalone", 300, Some("pi_other")),
            read_charge("ch_old", 100, Some("pi_old")),
        ];
        // The invoice list was cut (has_more): what is older than it is unknown.
        link(&mut invoices, &mut charges, false);
        fn by_id(charges: &[ReadCharge], id: &str) -> Option<(Option<String>, bool)> {
            charges
                .iter()
                .find(|c| c.charge.id.as_str() == id)
                .map(|c| {
                    (
                        c.charge.invoice.as_ref().map(|i| i.to_string()),
                        c.charge.invoice_unknown,
                    )
                })
        }
        assert_eq!(
            by_id(&charges, "ch_new"),
            Some((Some("in_new".into()), false))
        );
        assert_eq!(
            by_id(&charges, "ch_direct"),
            Some((Some("in_direct".into()), false))
        );
        assert_eq!(by_id(&charges, "ch_standalone"), Some((None, false)));
        assert_eq!(by_id(&charges, "ch_old"), Some((None, true)));
        assert_eq!(
            invoices[0]
                .invoice
                .charge
                .as_ref()
                .map(|c| c.to_string())
                .as_deref(),
            Some("ch_new")
        );

        // With every invoice listed, the old charge is known to be standalone.
        link(&mut invoices, &mut charges, true);
        assert_eq!(by_id(&charges, "ch_old"), Some((None, false)));
    }
}
