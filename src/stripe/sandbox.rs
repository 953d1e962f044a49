//! `billing-triage sandbox seed`: one demo customer per playbook category
//! (docs/PLAYBOOK.md §2), plus a Chinese-speaking customer and a second customer
//! sharing the duplicate scenario's email, in a Stripe test-mode account or
//! a local stand-in (localstripe). Refuses a live key before any request.
//!
//! Only calls both accept are used: legacy plans (localstripe has no prices),
//! Stripe's test payment methods `pm_card_visa` and
//! `pm_card_chargeCustomerFail` (attaches, then declines every charge), and
//! `items[0][plan]` subscriptions. Emails carry a run tag, so a reseed makes
//! new customers instead of colliding with the last run's.

use std::time::{SystemTime, UNIX_EPOCH};

use stripe_shared as ss;

use super::{StripeError, StripeGateway};
use crate::domain::{CustomerId, StripeKey};

/// One demo customer and the message that goes with its scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededCustomer {
    /// What the scenario shows, e.g. "duplicate personal subscription".
    pub scenario: &'static str,
    pub customer: CustomerId,
    pub email: String,
    /// A customer message to triage with it, when the scenario has one.
    pub message: Option<&'static str>,
}

/// Test card that attaches and charges.
const CARD_OK: &str = "pm_card_visa";
/// Test card that attaches but declines every charge (4000 0000 0000 0341).
const CARD_DECLINES: &str = "pm_card_chargeCustomerFail";

/// A customer to create and what to put on it.
struct Demo {
    scenario: &'static str,
    email_local: &'static str,
    name: &'static str,
    card: &'static str,
    locale: Option<&'static str>,
    /// Customer and subscription metadata.
    team: Option<&'static str>,
    /// One entry per subscription: its quantity.
    subscriptions: &'static [u32],
    message: Option<&'static str>,
}

const DEMOS: &[Demo] = &[
    Demo {
        scenario: "duplicate personal subscription",
        email_local: "ana.duplicate",
        name: "Ana Duplicate",
        card: CARD_OK,
        locale: None,
        team: None,
        subscriptions: &[1, 1],
        message: Some("I think I was charged twice this month for the same plan, can you check?"),
    },
    Demo {
        scenario: "second customer sharing the duplicate email",
        email_local: "ana.duplicate",
        name: "Ana Duplicate (second account)",
        card: CARD_OK,
        locale: None,
        team: None,
        subscriptions: &[],
        message: None,
    },
    Demo {
        scenario: "genuine multi-seat / team intent",
        email_local: "ops.team",
        name: "Acme Ops Team",
        card: CARD_OK,
        locale: None,
        team: Some("acme-ops"),
        subscriptions: &[5],
        message: Some("Why are we paying for 5 seats? We have five people on the team, just checking the invoice."),
    },
    Demo {
        scenario: "failed payment / incomplete checkout",
        email_local: "bo.declined",
        name: "Bo Declined",
        card: CARD_DECLINES,
        locale: None,
        team: None,
        subscriptions: &[1],
        message: Some("My payment failed and now I can't access my account."),
    },
    Demo {
        scenario: "missing self-serve control",
        email_local: "cy.invoice",
        name: "Cy Invoice",
        card: CARD_OK,
        locale: None,
        team: None,
        subscriptions: &[1],
        message: Some("How do I download an invoice for last month? I can't find it anywhere."),
    },
    Demo {
        scenario: "product failure or broken trust",
        email_local: "di.outage",
        name: "Di Outage",
        card: CARD_OK,
        locale: None,
        team: None,
        subscriptions: &[1],
        message: Some("The service was down for two days during the outage and I want a refund for this month."),
    },
    Demo {
        scenario: "customer with a Chinese preferred locale",
        email_local: "li.wei",
        name: "Li Wei",
        card: CARD_OK,
        locale: Some("zh-CN"),
        team: None,
        subscriptions: &[1],
        message: Some("请问怎么下载上个月的发票？"),
    },
];

/// Creates the demo customers and returns them in scenario order.
///
/// # Errors
/// [`StripeError::LiveKeyRefused`] for a live key, before any request;
/// otherwise the first Stripe failure.
pub async fn seed(
    gateway: &StripeGateway,
    key: &StripeKey,
) -> Result<Vec<SeededCustomer>, StripeError> {
    if key.is_live() {
        return Err(StripeError::LiveKeyRefused);
    }
    let tag = run_tag();
    let plan = create_plan(gateway, &tag).await?;
    let mut seeded = Vec::with_capacity(DEMOS.len());
    for (n, demo) in DEMOS.iter().enumerate() {
        let step = format!("seed-{tag}-{n}");
        let email = format!("{}+{tag}@example.com", demo.email_local);
        let customer = create_customer(gateway, demo, &email, &step).await?;
        for (i, quantity) in demo.subscriptions.iter().enumerate() {
            let quantity = quantity.to_string();
            let mut form = vec![
                ("customer", customer.as_str()),
                ("items[0][plan]", plan.as_str()),
                ("items[0][quantity]", quantity.as_str()),
            ];
            if let Some(team) = demo.team {
                form.push(("metadata[team]", team));
            }
            let what = format!("demo subscription of {customer}");
            let _: ss::Subscription = gateway
                .post_form("/subscriptions", &form, &format!("{step}-sub{i}"), &what)
                .await?;
        }
        tracing::info!(customer_id = %customer, scenario = demo.scenario, "demo customer seeded");
        seeded.push(SeededCustomer {
            scenario: demo.scenario,
            customer,
            email,
            message: demo.message,
        });
    }
    Ok(seeded)
}

/// Distinct per run (milliseconds since the epoch, base 36).
fn run_tag() -> String {
    let mut millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut tag = Vec::new();
    while millis > 0 {
        tag.push(digits[(millis % 36) as usize]);
        millis /= 36;
    }
    tag.reverse();
    String::from_utf8(tag).unwrap_or_default()
}

/// A monthly EUR 39.00 plan with its product, created inline.
async fn create_plan(gateway: &StripeGateway, tag: &str) -> Result<String, StripeError> {
    let form = [
        ("amount", "3900"),
        ("currency", "eur"),
        ("interval", "month"),
        ("nickname", "Personal monthly"),
        ("product[name]", "Triage demo: Personal"),
    ];
    let plan: ss::Plan = gateway
        .post_form("/plans", &form, &format!("seed-{tag}-plan"), "demo plan")
        .await?;
    Ok(plan.id.as_str().to_owned())
}

async fn create_customer(
    gateway: &StripeGateway,
    demo: &Demo,
    email: &str,
    step: &str,
) -> Result<CustomerId, StripeError> {
    let mut form = vec![
        ("email", email),
        ("name", demo.name),
        ("metadata[demo_scenario]", demo.scenario),
    ];
    if let Some(locale) = demo.locale {
        form.push(("preferred_locales[0]", locale));
    }
    if let Some(team) = demo.team {
        form.push(("metadata[team]", team));
    }
    let created: ss::Customer = gateway
        .post_form(
            "/customers",
            &form,
            &format!("{step}-customer"),
            "demo customer",
        )
        .await?;
    let customer = CustomerId::parse(created.id.as_str()).map_err(|e| StripeError::Unreadable {
        what: "demo customer".into(),
        detail: e.to_string(),
        source: None,
    })?;
    let what = format!("demo card of {customer}");

    // Attaching a test payment method returns a fresh `pm_…` owned by the customer.
    let attach = [("customer", customer.as_str())];
    let pm: ss::PaymentMethod = gateway
        .post_form(
            &format!("/payment_methods/{}/attach", demo.card),
            &attach,
            &format!("{step}-attach"),
            &what,
        )
        .await?;
    let default = [("invoice_settings[default_payment_method]", pm.id.as_str())];
    let _: ss::Customer = gateway
        .post_form(
            &format!("/customers/{customer}"),
            &default,
            &format!("{step}-default"),
            &what,
        )
        .await?;
    Ok(customer)
}
