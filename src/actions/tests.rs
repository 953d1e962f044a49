//! Proposals and revenue impact over the triage fixtures, through one
//! `check` helper that classifies, proposes and compares the card order.

use super::*;
use crate::domain::{ChargeId, InvoiceId, Money};
use crate::testing::snapshots::{load, NOW};
use crate::triage::{classify, read_signals};

/// Classifies and proposes for `fixture` + `message`; checks the keys run
/// `a1, a2, …`, the kinds match `kinds` in order, and every action has a
/// summary and a one-sentence rationale.
fn check(fixture: &str, message: &str, kinds: &[&str]) -> (Vec<ProposedAction>, BillingSnapshot) {
    let snapshot = load(fixture);
    let signals = read_signals(message);
    let triage = classify(&snapshot, &signals, NOW);
    let actions = propose(&triage, &snapshot, &signals, NOW);
    let got: Vec<&str> = actions.iter().map(|a| a.kind.name()).collect();
    assert_eq!(got, kinds, "{fixture} with {message:?}: {actions:#?}");
    for (i, action) in actions.iter().enumerate() {
        assert_eq!(action.key, format!("a{}", i + 1));
        assert!(
            !action.summary.is_empty() && !action.rationale.is_empty(),
            "{action:?}"
        );
        assert!(
            !action.rationale.trim_end_matches('.').contains(". "),
            "one sentence: {:?}",
            action.rationale
        );
    }
    (actions, snapshot)
}

fn money(minor: i64, code: &str) -> Money {
    Money::new(minor, Currency::parse(code).expect("test currency"))
}

fn charge(id: &str) -> ChargeId {
    ChargeId::parse(id).expect("test charge id")
}

#[test]
fn each_category_proposes_safest_first_and_closes_last() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "duplicate_same_customer",
            "",
            &["portal_link", "cancel_duplicate", "close_no_action"],
        ),
        (
            "multi_seat_same_product",
            "",
            &["portal_link", "clarify_billing_model", "close_no_action"],
        ),
        (
            "failed_payment",
            "",
            &["invoice_link", "portal_link", "close_no_action"],
        ),
        (
            "healthy_jpy",
            "how do I cancel?",
            &["portal_link", "cancel_subscription", "close_no_action"],
        ),
        (
            "healthy_jpy",
            "怎么下载发票",
            &["portal_link", "invoice_link", "close_no_action"],
        ),
        (
            "healthy_jpy",
            "I want to upgrade",
            &["portal_link", "clarify_billing_model", "close_no_action"],
        ),
        (
            "healthy_jpy",
            "服务宕机，请退款",
            &["portal_link", "refund", "close_no_action"],
        ),
        // An outage read from words alone moves no money unless asked.
        (
            "healthy_jpy",
            "服务宕机",
            &["portal_link", "close_no_action"],
        ),
        (
            "charged_after_cancel",
            "charged after cancelling!",
            &["portal_link", "refund", "close_no_action"],
        ),
        ("disputed_charge", "", &["portal_link", "close_no_action"]),
        ("healthy_jpy", "", &["portal_link", "close_no_action"]),
        ("not_found", "refund", &[]),
    ];
    for (fixture, message, kinds) in cases {
        check(fixture, message, kinds);
    }
}

#[test]
fn duplicate_is_one_decision_cancelling_the_newer_and_refunding_its_charge() {
    let (actions, _) = check(
        "duplicate_same_customer",
        "",
        &["portal_link", "cancel_duplicate", "close_no_action"],
    );
    assert_eq!(
        actions[1].kind,
        ActionKind::CancelDuplicate {
            subscription: SubscriptionId::parse("sub_1PqB7kLz9d2").expect("id"),
            refunds: vec![RefundTarget {
                charge: charge("ch_3PqB7nLz9d2"),
                amount: money(3900, "eur")
            }],
        }
    );
    assert_eq!(
        actions[1].summary,
        "Cancel sub_1PqB7kLz9d2 now and refund its charge ch_3PqB7nLz9d2 (EUR 39.00): created 4 min after sub_1PqA3hLz9d1"
    );
    assert_eq!(
        actions[0].kind,
        ActionKind::PortalLink {
            customer: CustomerId::parse("cus_NfJ4a2Lq1xYz").expect("id")
        }
    );
}

#[test]
fn refundable_excludes_what_was_already_refunded() {
    let (actions, _) = check(
        "duplicate_across_customers",
        "",
        &["portal_link", "cancel_duplicate", "close_no_action"],
    );
    // ch_3OkBen0009 is fully refunded and left out; ch_3OkBen0002 has USD 5.00 back already.
    let ActionKind::CancelDuplicate {
        subscription,
        refunds,
    } = &actions[1].kind
    else {
        panic!("expected a duplicate cancel: {actions:#?}");
    };
    assert_eq!(subscription.as_str(), "sub_1OkBen0002");
    assert_eq!(
        refunds,
        &[
            RefundTarget {
                charge: charge("ch_3OkBen0002"),
                amount: money(700, "usd")
            },
            RefundTarget {
                charge: charge("ch_3OkBen0004"),
                amount: money(1200, "usd")
            },
        ]
    );
    assert_eq!(
        actions[0].kind,
        ActionKind::PortalLink {
            customer: CustomerId::parse("cus_Ok4fBen0001").expect("id")
        }
    );
}

#[test]
fn trialing_duplicate_has_nothing_to_refund() {
    let (actions, _) = check(
        "duplicate_trialing_jpy",
        "",
        &["portal_link", "cancel_duplicate", "close_no_action"],
    );
    assert!(
        matches!(&actions[1].kind, ActionKind::CancelDuplicate { refunds, .. } if refunds.is_empty())
    );
    assert!(
        actions[1]
            .summary
            .starts_with("Cancel sub_1JpTrial0002 now (it has no charge to refund)"),
        "{}",
        actions[1].summary
    );
}

#[test]
fn charged_after_cancelling_refunds_only_the_charge_after_the_cancellation() {
    let (actions, _) = check(
        "charged_after_cancel",
        "取消后还被扣款",
        &["portal_link", "refund", "close_no_action"],
    );
    assert_eq!(
        actions[1].kind,
        ActionKind::Refund(RefundTarget {
            charge: charge("ch_3CxJun00003"),
            amount: money(3900, "eur")
        })
    );
    assert_eq!(
        actions[1].summary,
        "Refund ch_3CxJun00003 EUR 39.00: charged 3 days after sub_1CxOld00001 was canceled"
    );
}

#[test]
fn outage_refunds_only_the_latest_charge_in_yen() {
    // A bare "refund" never moves money: the outage does.
    check("healthy_jpy", "退款", &["portal_link", "close_no_action"]);
    let (actions, _) = check(
        "healthy_jpy",
        "服务宕机了，请退款",
        &["portal_link", "refund", "close_no_action"],
    );
    assert_eq!(
        actions[1].kind,
        ActionKind::Refund(RefundTarget {
            charge: charge("ch_3HyMay00002"),
            amount: money(5000, "jpy")
        })
    );
    assert!(
        actions[1]
            .summary
            .starts_with("Refund ch_3HyMay00002 JPY 5000: the latest charge"),
        "{}",
        actions[1].summary
    );
}

#[test]
fn failed_payment_links_the_open_invoice_and_never_refunds() {
    let (actions, _) = check(
        "failed_payment",
        "I want a refund",
        &["invoice_link", "portal_link", "close_no_action"],
    );
    assert_eq!(
        actions[0].kind,
        ActionKind::InvoiceLink {
            invoice: InvoiceId::parse("in_1FpMay00002").expect("id")
        }
    );
    assert_eq!(
        actions[0].summary,
        "Send the hosted page of in_1FpMay00002 (EUR 39.00 due)"
    );
}

#[test]
fn cancel_request_cancels_at_period_end() {
    let (actions, _) = check(
        "healthy_jpy",
        "我想取消订阅",
        &["portal_link", "cancel_subscription", "close_no_action"],
    );
    assert_eq!(
        actions[1].kind,
        ActionKind::CancelSubscription {
            subscription: SubscriptionId::parse("sub_1HyStd00001").expect("id"),
            at_period_end: true
        }
    );
    assert_eq!(
        actions[1].summary,
        "Cancel sub_1HyStd00001 at the end of its period, 2026-06-04"
    );
}

#[test]
fn revenue_impact_keeps_currencies_apart() {
    let (actions, snapshot) = check(
        "mixed_currencies",
        "",
        &["portal_link", "cancel_duplicate", "close_no_action"],
    );
    let impact = revenue_impact(&actions, &snapshot);
    assert_eq!(
        impact,
        RevenueImpact {
            refunded: vec![money(1900, "usd")],
            mrr_lost: vec![money(1900, "usd")],
            // EUR 390.00 a year is EUR 32.50 a month.
            mrr_kept: vec![money(3250, "eur"), money(1900, "usd")],
        }
    );
}

#[test]
fn revenue_impact_of_refund_and_cancel_at_period_end() {
    let (actions, snapshot) = check(
        "healthy_jpy",
        "the app was down all week, refund please",
        &["portal_link", "refund", "close_no_action"],
    );
    let impact = revenue_impact(&actions, &snapshot);
    assert_eq!(impact.refunded, vec![money(5000, "jpy")]);
    assert_eq!(impact.mrr_lost, Vec::<Money>::new());
    assert_eq!(impact.mrr_kept, vec![money(5000, "jpy")]);

    let (actions, snapshot) = check(
        "healthy_jpy",
        "how do I cancel?",
        &["portal_link", "cancel_subscription", "close_no_action"],
    );
    let impact = revenue_impact(&actions, &snapshot);
    assert_eq!(
        impact,
        RevenueImpact {
            refunded: vec![],
            mrr_lost: vec![money(5000, "jpy")],
            mrr_kept: vec![]
        }
    );
}

#[test]
fn no_actions_mean_no_impact() {
    assert_eq!(
        revenue_impact(&[], &load("not_found")),
        RevenueImpact::default()
    );
}

#[test]
fn an_older_incomplete_checkout_is_cancelled_not_the_paying_subscription() {
    let mut snapshot = load("duplicate_same_customer");
    let customer = &mut snapshot.customers[0];
    // sub_1PqA3hLz9d1 (the older) never completed its checkout.
    customer.subscriptions[1].status = crate::domain::SubscriptionStatus::Incomplete;
    customer.invoices[1].status = InvoiceStatus::Open;
    customer.charges[1].status = ChargeStatus::Failed;
    let triage = classify(&snapshot, &[], NOW);
    assert_eq!(
        triage,
        Triage::Classified {
            category: Category::DuplicatePersonalSubscription,
            evidence: vec![
                "sub_1PqA3hLz9d1 (incomplete) was created 4 min before sub_1PqB7kLz9d2 on the same price (plan_pro_monthly, EUR 39.00/month)"
                    .to_owned()
            ],
        }
    );
    let actions = propose(&triage, &snapshot, &[], NOW);
    assert_eq!(
        actions[1].kind,
        ActionKind::CancelDuplicate {
            subscription: SubscriptionId::parse("sub_1PqA3hLz9d1").expect("id"),
            refunds: vec![]
        }
    );
    assert_eq!(
        actions[1].summary,
        "Cancel sub_1PqA3hLz9d1 now (it has no charge to refund): created 4 min before sub_1PqB7kLz9d2"
    );
}

#[test]
fn a_disputed_charge_is_answered_not_refunded() {
    // Not even an older charge: the complaint is about the disputed one.
    let (actions, _) = check(
        "disputed_charge",
        "I want a refund",
        &["portal_link", "close_no_action"],
    );
    assert!(
        actions[1]
            .rationale
            .contains("answer the dispute on ch_3DzMay00002"),
        "{}",
        actions[1].rationale
    );
}
