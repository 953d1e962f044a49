//! Classification over the fixture snapshots in `tests/fixtures/snapshots/`,
//! one per playbook category plus near misses, through one `check` helper.

use super::*;
use crate::domain::{Category, Signal, Triage};
use crate::testing::snapshots::{load, NOW};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Is(Category),
    Review,
    NotFound,
}
use Expect::{Is, NotFound, Review};

/// Classifies `fixture` with the signals read from `message` and checks the
/// outcome; returns the evidence (or, for review, evidence then missing).
fn check(fixture: &str, message: &str, expected: Expect) -> Vec<String> {
    let snapshot = load(fixture);
    let signals = read_signals(message);
    let triage = classify(&snapshot, &signals, NOW);
    let (got, lines) = match triage.clone() {
        Triage::Classified { category, evidence } => (Is(category), evidence),
        Triage::NeedsReview {
            mut evidence,
            missing,
        } => {
            assert!(
                !missing.is_empty(),
                "{fixture}: needs review must say what is missing"
            );
            evidence.extend(missing);
            (Review, evidence)
        }
        Triage::NotFound => (NotFound, Vec::new()),
    };
    assert_eq!(got, expected, "{fixture} with {message:?}: {triage:#?}");
    if got != NotFound {
        assert!(!lines.is_empty(), "{fixture}: a decision needs evidence");
    }
    lines
}

fn has_line(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

#[test]
fn every_playbook_category_has_a_fixture() {
    use Category::*;
    let cases = [
        (
            "duplicate_same_customer",
            "",
            Is(DuplicatePersonalSubscription),
        ),
        (
            "duplicate_across_customers",
            "",
            Is(DuplicatePersonalSubscription),
        ),
        (
            "duplicate_trialing_jpy",
            "",
            Is(DuplicatePersonalSubscription),
        ),
        ("mixed_currencies", "", Is(DuplicatePersonalSubscription)),
        ("multi_seat_same_product", "", Is(GenuineMultiSeatIntent)),
        ("multi_seat_company", "", Is(GenuineMultiSeatIntent)),
        ("failed_payment", "", Is(FailedPayment)),
        (
            "healthy_jpy",
            "How do I cancel my subscription?",
            Is(MissingSelfServeControl),
        ),
        (
            "charged_after_cancel",
            "I cancelled but was still charged",
            Is(ProductFailure),
        ),
        ("disputed_charge", "", Is(ProductFailure)),
        ("not_found", "please refund me", NotFound),
    ];
    for (fixture, message, expected) in cases {
        check(fixture, message, expected);
    }
}

#[test]
fn duplicate_evidence_names_both_subscriptions_the_gap_and_the_price() {
    let lines = check(
        "duplicate_same_customer",
        "",
        Is(Category::DuplicatePersonalSubscription),
    );
    assert_eq!(
        lines,
        ["sub_1PqB7kLz9d2 was created 4 min after sub_1PqA3hLz9d1 on the same price (plan_pro_monthly, EUR 39.00/month)"]
    );
}

#[test]
fn duplicate_across_two_customers_sharing_an_email() {
    let lines = check(
        "duplicate_across_customers",
        "I was charged twice",
        Is(Category::DuplicatePersonalSubscription),
    );
    assert!(has_line(&lines, "sub_1OkBen0002 was created 2 h after sub_1OkBen0001 on the same price (price_basic_usd, USD 12.00/month)"), "{lines:?}");
    assert!(
        has_line(
            &lines,
            "they belong to cus_Ok4fBen0001 and cus_Ok4fBen0002, which share one email"
        ),
        "{lines:?}"
    );
    assert!(
        has_line(&lines, "the message says they were charged twice"),
        "{lines:?}"
    );
}

#[test]
fn trialing_duplicate_is_shown_as_trialing_in_zero_decimal_yen() {
    let lines = check(
        "duplicate_trialing_jpy",
        "",
        Is(Category::DuplicatePersonalSubscription),
    );
    assert_eq!(
        lines,
        ["sub_1JpTrial0002 (trialing) was created 15 min after sub_1JpActiv0001 on the same price (price_std_jpy, JPY 5000/month)"]
    );
}

#[test]
fn canceled_subscription_never_counts_as_duplicate() {
    check("canceled_not_duplicate", "", Review);
    check(
        "canceled_not_duplicate",
        "how do I cancel?",
        Is(Category::MissingSelfServeControl),
    );
}

#[test]
fn near_misses_are_not_duplicates() {
    let lines = check(
        "multi_seat_same_product",
        "",
        Is(Category::GenuineMultiSeatIntent),
    );
    assert!(
        has_line(
            &lines,
            "sub_1TmSeats0002 has 4 seats of price_team_gbp, GBP 15.00/month each"
        ),
        "{lines:?}"
    );
    let lines = check(
        "multi_seat_company",
        "why do I pay twice?",
        Is(Category::GenuineMultiSeatIntent),
    );
    assert!(
        has_line(
            &lines,
            "cus_Ac3Acme0001 holds 2 live subscriptions for a team (company=Acme Inc.)"
        ),
        "{lines:?}"
    );
    check("different_products", "", Review);
    check("different_products", "I was charged twice!", Review);
}

#[test]
fn failed_payment_cites_status_invoice_decline_and_expired_card() {
    let lines = check("failed_payment", "", Is(Category::FailedPayment));
    assert_eq!(
        lines,
        [
            "sub_1FpPro00001 is past_due",
            "in_1FpMay00002 is open with EUR 39.00 due after 2 failed attempts",
            "ch_3FpMay0002b for EUR 39.00 failed: Your card has expired.",
            "ch_3FpMay0002a for EUR 39.00 failed: Your card was declined.",
            "cus_Fp8Omar0001's default card (visa ending 0341) expired 03/2026",
        ]
    );
}

#[test]
fn failed_payment_beats_message_only_signals() {
    check(
        "failed_payment",
        "Your service is down and I want a refund",
        Is(Category::FailedPayment),
    );
    check(
        "failed_payment",
        "怎么更新信用卡",
        Is(Category::FailedPayment),
    );
}

#[test]
fn expired_card_alone_is_a_failed_payment_while_a_subscription_renews() {
    let mut snapshot = load("healthy_jpy");
    let card = snapshot.customers[0]
        .default_payment_method
        .as_mut()
        .expect("fixture has a card");
    card.exp_year = 2026;
    card.exp_month = 4;
    assert_eq!(
        classify(&snapshot, &[], NOW).category(),
        Some(Category::FailedPayment)
    );
    snapshot.customers[0].subscriptions[0].cancel_at_period_end = true;
    assert!(matches!(
        classify(&snapshot, &[], NOW),
        Triage::NeedsReview { .. }
    ));
}

#[test]
fn message_signals_decide_on_a_healthy_account() {
    use Category::*;
    let cases = [
        ("how do I cancel?", Is(MissingSelfServeControl)),
        ("我想取消订阅", Is(MissingSelfServeControl)),
        ("怎么下载发票", Is(MissingSelfServeControl)),
        (
            "Where can I download my invoice?",
            Is(MissingSelfServeControl),
        ),
        ("I need to update my card", Is(MissingSelfServeControl)),
        ("服务宕机了，请退款", Is(ProductFailure)),
        // A bare refund demand, or a surprise renewal the state does not show
        // (this plan is monthly), moves nothing.
        ("退款", Review),
        ("Your app was down all weekend", Is(ProductFailure)),
        (
            "It renewed without any warning, I want my money back",
            Review,
        ),
        ("How do I cancel? Also I want a refund", Review),
        // Seats asked for on a one-seat account: a plan change (PLAYBOOK
        // §2 reads team intent from the state: quantity, team metadata).
        (
            "I want to add seats for my team",
            Is(MissingSelfServeControl),
        ),
        ("", Review),
        ("hello", Review),
        ("my payment failed", Review),
        ("I was charged twice", Review),
        ("取消后还被扣款", Review),
    ];
    for (message, expected) in cases {
        check("healthy_jpy", message, expected);
    }
}

#[test]
fn charged_after_cancelling_needs_a_matching_charge() {
    let lines = check(
        "charged_after_cancel",
        "取消后还被扣款",
        Is(Category::ProductFailure),
    );
    assert!(
        has_line(&lines, "ch_3CxJun00003 (EUR 39.00) was charged on sub_1CxOld00001's own invoice 3 days after sub_1CxOld00001 was canceled"),
        "{lines:?}"
    );
    assert!(
        !has_line(&lines, "ch_3CxAdd00004"),
        "the add-on's own charge is not the complaint: {lines:?}"
    );
    let lines = check("healthy_jpy", "I cancelled but was still charged", Review);
    assert!(
        has_line(&lines, "no charge after a cancellation is on record"),
        "{lines:?}"
    );
    // The state alone shows it: no wording needed.
    check("charged_after_cancel", "", Is(Category::ProductFailure));
}

#[test]
fn a_dispute_is_strong_evidence_of_broken_trust() {
    let lines = check(
        "disputed_charge",
        "how do I cancel?",
        Is(Category::ProductFailure),
    );
    assert!(
        has_line(
            &lines,
            "ch_3DzMay00002 (USD 29.00) is disputed by the customer"
        ),
        "{lines:?}"
    );
}

#[test]
fn duplicate_beats_a_refund_request() {
    check(
        "duplicate_same_customer",
        "refund please, I was charged twice",
        Is(Category::DuplicatePersonalSubscription),
    );
}

#[test]
fn refund_request_without_a_refundable_charge_needs_review() {
    let mut snapshot = load("healthy_jpy");
    snapshot.customers[0]
        .charges
        .iter_mut()
        .for_each(|c| c.amount_refunded = c.amount.minor);
    let triage = classify(&snapshot, &[Signal::WantsRefund], NOW);
    assert!(matches!(triage, Triage::NeedsReview { .. }), "{triage:?}");
}

#[test]
fn healthy_account_without_message_says_what_is_missing() {
    let lines = check("healthy_jpy", "", Review);
    assert!(
        has_line(
            &lines,
            "cus_Hy1Wang0001 has 1 live subscription (sub_1HyStd00001 active)"
        ),
        "{lines:?}"
    );
    assert!(has_line(&lines, "the customer's message"), "{lines:?}");
}

#[test]
fn reads_english_and_chinese_phrases_case_insensitively() {
    use Signal::*;
    let cases: &[(&str, &[Signal])] = &[
        ("我想取消订阅", &[AsksHowToCancel]),
        ("怎么下载发票", &[AsksForInvoice]),
        ("取消后还被扣款", &[ChargedAfterCancelling]),
        ("退款", &[WantsRefund]),
        ("服务宕机", &[ReportsOutage]),
        ("HOW DO I CANCEL", &[AsksHowToCancel]),
        (
            "Where is my Invoice? I want a REFUND.",
            &[AsksForInvoice, WantsRefund],
        ),
        (
            "I cancelled but was still charged, refund please",
            &[ChargedAfterCancelling, WantsRefund, SaysCancelled],
        ),
        (
            "charged twice, refund, refund!",
            &[WantsRefund, ChargedTwice],
        ),
        ("my card was declined", &[PaymentFailed]),
        // Seats "for our team" are for other people (no duplicate when the
        // state shows one).
        (
            "we need 3 more seats for our team",
            &[MentionsTeamOrSeats, ForSomeoneElse],
        ),
        ("thanks!", &[]),
        ("", &[]),
    ];
    for (message, expected) in cases {
        assert_eq!(read_signals(message), *expected, "{message:?}");
    }
}

#[test]
fn gaps_read_naturally() {
    for (seconds, expected) in [
        (45, "45 s"),
        (240, "4 min"),
        (7_200, "2 h"),
        (90_000, "1 day"),
        (260_000, "3 days"),
    ] {
        assert_eq!(gap(seconds), expected);
    }
}

#[test]
fn an_add_on_item_does_not_make_a_subscription_a_team() {
    let mut snapshot = load("duplicate_same_customer");
    let mut add_on = snapshot.customers[0].subscriptions[0].items[0].clone();
    add_on.price_id = "price_storage".to_owned();
    add_on.product_id = Some("prod_Storage".to_owned());
    snapshot.customers[0].subscriptions[0].items.push(add_on);
    assert_eq!(
        classify(&snapshot, &[], NOW).category(),
        Some(Category::DuplicatePersonalSubscription)
    );
}
