//! Test-only builders shared by the crate's unit tests. At the top:
//! hand-built snapshots and cases, realistic and independent of the
//! classifier and the action proposer (the card and follow-up tests).
//! [`snapshots`]: the snapshot files in `tests/fixtures/snapshots/`, read
//! at their own "now" (the triage, actions and assess tests).

pub mod fuzz;

use crate::domain::*;
use std::collections::BTreeMap;

/// 2026-11-25 14:03:20 UTC.
pub const NOW: i64 = 1_795_615_400;
pub const MIN: i64 = 60;
pub const DAY: i64 = 86_400;

pub fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("eur").expect("eur is a currency"))
}

pub fn id<T: TryFrom<String>>(raw: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(raw.to_owned()).expect("fixture ids are well formed")
}

pub fn customer(cus: &str, name: &str, email: &str, locale: &str) -> CustomerRecord {
    CustomerRecord {
        id: id(cus),
        name: Some(name.to_owned()),
        email: Some(email.to_owned()),
        created: NOW - 200 * DAY,
        country: Some("DE".to_owned()),
        preferred_locales: vec![locale.to_owned()],
        metadata: BTreeMap::new(),
        default_payment_method: Some(CardSummary {
            brand: "visa".to_owned(),
            last4: "4242".to_owned(),
            exp_month: 4,
            exp_year: 2027,
        }),
        subscriptions: vec![],
        invoices: vec![],
        charges: vec![],
    }
}

pub fn subscription(
    sub: &str,
    cus: &str,
    status: SubscriptionStatus,
    created: i64,
    quantity: u64,
) -> Subscription {
    Subscription {
        id: id(sub),
        customer: id(cus),
        status,
        created,
        current_period_end: Some(created + 30 * DAY),
        cancel_at_period_end: false,
        canceled_at: None,
        items: vec![SubscriptionItem {
            price_id: "price_pro_monthly".to_owned(),
            product_id: Some("prod_pro".to_owned()),
            plan_name: Some("Pro".to_owned()),
            unit_amount: eur(3900),
            interval: Interval::Month,
            interval_count: 1,
            quantity,
        }],
        metadata: BTreeMap::new(),
        pause_collection: None,
    }
}

pub fn charge(ch: &str, cus: &str, inv: Option<&str>, created: i64) -> Charge {
    Charge {
        id: id(ch),
        customer: Some(id(cus)),
        amount: eur(3900),
        amount_refunded: 0,
        status: ChargeStatus::Succeeded,
        created,
        invoice: inv.map(id),
        invoice_unknown: false,
        description: Some("Subscription creation".to_owned()),
        failure_message: None,
        decline_code: None,
        disputed: false,
        refunds: vec![],
    }
}

pub fn invoice(inv: &str, cus: &str, sub: &str, status: InvoiceStatus, created: i64) -> Invoice {
    Invoice {
        id: id(inv),
        customer: id(cus),
        status,
        subscription: Some(id(sub)),
        amount_due: eur(3900),
        amount_paid: if status == InvoiceStatus::Paid {
            eur(3900)
        } else {
            eur(0)
        },
        created,
        attempt_count: 1,
        hosted_invoice_url: Some(format!("https://invoice.stripe.com/i/acct_1/{inv}")),
        charge: None,
    }
}

pub fn snapshot(query: &str, customers: Vec<CustomerRecord>) -> BillingSnapshot {
    BillingSnapshot {
        query: LookupQuery::parse(query).expect("fixture query parses"),
        customers,
        fetched_at: NOW,
    }
}

/// Ana bought Pro twice, four minutes apart, under two customers that
/// share her email.
pub fn duplicate_snapshot(locale: &str) -> BillingSnapshot {
    let t0 = NOW - 3 * DAY;
    let mut first = customer("cus_Ana1", "Ana Lima", "ana@example.com", locale);
    first.subscriptions.push(subscription(
        "sub_First",
        "cus_Ana1",
        SubscriptionStatus::Active,
        t0,
        1,
    ));
    first.invoices.push(invoice(
        "in_First",
        "cus_Ana1",
        "sub_First",
        InvoiceStatus::Paid,
        t0,
    ));
    first
        .charges
        .push(charge("ch_First", "cus_Ana1", Some("in_First"), t0));
    let mut second = customer("cus_Ana2", "Ana Lima", "ana@example.com", locale);
    second.created = t0 + 3 * MIN;
    second.subscriptions.push(subscription(
        "sub_Second",
        "cus_Ana2",
        SubscriptionStatus::Active,
        t0 + 4 * MIN,
        1,
    ));
    second.invoices.push(invoice(
        "in_Second",
        "cus_Ana2",
        "sub_Second",
        InvoiceStatus::Paid,
        t0 + 4 * MIN,
    ));
    second.charges.push(charge(
        "ch_Second",
        "cus_Ana2",
        Some("in_Second"),
        t0 + 4 * MIN,
    ));
    snapshot("ana@example.com", vec![first, second])
}

pub fn cancel_duplicate() -> ProposedAction {
    ProposedAction {
        key: crate::domain::test_key("a1"),
        kind: ActionKind::CancelDuplicate {
            subscription: id("sub_Second"),
            refunds: vec![RefundTarget {
                charge: id("ch_Second"),
                amount: eur(3900),
            }],
        },
        summary: "Cancel sub_Second (created 4 min after sub_First) and refund ch_Second EUR 39.00"
            .to_owned(),
        rationale: "Same price, same person, minutes apart: the second checkout was a mistake."
            .to_owned(),
        origin: Origin::Proposed,
    }
}

pub fn close_no_action(key: &str) -> ProposedAction {
    ProposedAction {
        key: crate::domain::test_key(key),
        kind: ActionKind::CloseNoAction,
        summary: "Close the case with no action".to_owned(),
        rationale: "Nothing in billing needs to change.".to_owned(),
        origin: Origin::Proposed,
    }
}

pub fn case(snapshot: BillingSnapshot, triage: Triage, actions: Vec<ProposedAction>) -> Case {
    let locale = if snapshot
        .customers
        .first()
        .and_then(|c| c.preferred_locales.first())
        .is_some_and(|l| l.starts_with("zh"))
    {
        "zh"
    } else {
        "en"
    };
    Case {
        version: Case::VERSION,
        id: CaseId::from_random(0x1a2b_3c4d_5e6f),
        requested_by: Actor::Slack(id("U0REQUEST")),
        message: Some("I was charged twice for Pro".to_owned()),
        snapshot,
        triage,
        actions,
        revenue: RevenueImpact::default(),
        followup: FollowUp {
            locale: locale.to_owned(),
            text: "Hi Ana,\n\n…".to_owned(),
        },
        product_gap: None,
        warnings: Vec::new(),
        context: Default::default(),
    }
}

pub fn duplicate_case() -> Case {
    let triage = Triage::Classified {
        category: Category::DuplicatePersonalSubscription,
        evidence: vec![
            "2 live subscriptions to price_pro_monthly for ana@example.com".to_owned(),
            "sub_Second was created 4 min after sub_First".to_owned(),
        ],
    };
    let mut case = case(
        duplicate_snapshot("en-US"),
        triage,
        vec![cancel_duplicate(), close_no_action("a2")],
    );
    case.revenue = RevenueImpact {
        refunded: vec![eur(3900)],
        mrr_lost: vec![eur(3900)],
        mrr_kept: vec![eur(3900)],
    };
    case.product_gap = Some(ProductGap {
        surface: "no_duplicate_guard".to_owned(),
        note: "Checkout let the same person buy Pro twice.".to_owned(),
    });
    case
}

/// The snapshot files in `tests/fixtures/snapshots/`, one per playbook
/// category plus near misses.
pub mod snapshots {
    use crate::domain::BillingSnapshot;

    /// Fixed "now" for the tests over the snapshot files: 2026-05-28, after
    /// all their events.
    pub const NOW: i64 = 1_780_000_000;

    /// Reads `tests/fixtures/snapshots/<name>.json`.
    pub fn load(name: &str) -> BillingSnapshot {
        let path = format!(
            "{}/tests/fixtures/snapshots/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("fixture {path} must exist: {e}"));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("fixture {path} must be a BillingSnapshot: {e}"))
    }
}
