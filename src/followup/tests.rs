//! Follow-up drafts per category and locale, the link order of preference,
//! drafts after a refund, product gaps, and that no session link ever leaks.

use super::*;
use crate::card::tests::fixtures::*;
use crate::domain::*;

const SESSION_URL: &str = "https://billing.stripe.com/p/session/test_YWNjdF8xTXNlc3Npb24";
const LOGIN_URL: &str = "https://billing.stripe.com/p/login/test_14k5nA";

fn classified(category: Category) -> Triage {
    Triage::Classified {
        category,
        evidence: vec![],
    }
}

/// A failing customer: past-due subscription with an open invoice.
fn failing_snapshot(locale: &str) -> BillingSnapshot {
    let mut customer = customer("cus_Li1", "Li Wei", "li@example.com", locale);
    customer.subscriptions.push(subscription(
        "sub_Li",
        "cus_Li1",
        SubscriptionStatus::PastDue,
        NOW - 40 * DAY,
        1,
    ));
    customer.invoices.push(invoice(
        "in_Open",
        "cus_Li1",
        "sub_Li",
        InvoiceStatus::Open,
        NOW - 2 * DAY,
    ));
    snapshot("cus_Li1", vec![customer])
}

fn settings(login: Option<&str>) -> FollowUpSettings {
    FollowUpSettings {
        portal_login_url: login.map(str::to_owned),
    }
}

/// Drafts `triage` over `snapshot` with no actions, and checks the locale and
/// that every expected fragment is in the text.
fn check(
    triage: &Triage,
    snapshot: &BillingSnapshot,
    settings: &FollowUpSettings,
    locale: &str,
    expected: &[&str],
) {
    let followup = draft(triage, snapshot, &[], &[], settings);
    assert_eq!(followup.locale, locale);
    for part in expected {
        assert!(
            followup.text.contains(part),
            "missing {part:?} in\n{}",
            followup.text
        );
    }
    assert!(
        !followup.text.contains('{'),
        "unfilled placeholder in\n{}",
        followup.text
    );
    assert!(
        !followup.text.contains("/p/session"),
        "session link in\n{}",
        followup.text
    );
}

#[test]
fn every_category_and_outcome_has_an_english_and_a_chinese_draft() {
    let login = settings(Some(LOGIN_URL));
    for (triage, en, zh) in [
        (
            classified(Category::DuplicatePersonalSubscription),
            "twice",
            "重复",
        ),
        (
            classified(Category::GenuineMultiSeatIntent),
            "1 seat(s) on Pro",
            "1 个席位",
        ),
        (
            classified(Category::FailedPayment),
            "update your payment method",
            "更新您的付款方式",
        ),
        (
            classified(Category::MissingSelfServeControl),
            "manage your subscription",
            "自行管理订阅",
        ),
        (
            classified(Category::ProductFailure),
            "We are sorry",
            "非常抱歉",
        ),
        (
            Triage::NeedsReview {
                evidence: vec![],
                missing: vec![],
            },
            "looking into your account",
            "正在核查",
        ),
        (Triage::NotFound, "email address you used", "邮箱地址"),
    ] {
        check(
            &triage,
            &failing_snapshot("en-GB"),
            &login,
            "en",
            &["Hi Li Wei,", en, "Best regards"],
        );
        check(
            &triage,
            &failing_snapshot("zh-CN"),
            &login,
            "zh",
            &["Li Wei，您好：", zh, "账单支持团队"],
        );
    }
}

#[test]
fn locale_is_chinese_only_when_the_first_preference_is() {
    assert_eq!(locale_of(&failing_snapshot("zh-TW")), "zh");
    assert_eq!(locale_of(&failing_snapshot("ZH")), "zh");
    assert_eq!(locale_of(&failing_snapshot("en-US")), "en");
    let mut snapshot = failing_snapshot("fr-FR");
    snapshot.customers[0]
        .preferred_locales
        .push("zh-CN".to_owned());
    assert_eq!(locale_of(&snapshot), "en");
    assert_eq!(locale_of(&snapshot_of(vec![])), "en");
}

fn snapshot_of(customers: Vec<CustomerRecord>) -> BillingSnapshot {
    snapshot("li@example.com", customers)
}

#[test]
fn links_prefer_portal_login_then_open_invoice_then_a_reply() {
    let failed = classified(Category::FailedPayment);
    check(
        &failed,
        &failing_snapshot("en"),
        &settings(Some(LOGIN_URL)),
        "en",
        &[LOGIN_URL],
    );
    check(
        &failed,
        &failing_snapshot("en"),
        &settings(None),
        "en",
        &["https://invoice.stripe.com/i/acct_1/in_Open"],
    );
    let mut paid = failing_snapshot("en");
    paid.customers[0].invoices[0].status = InvoiceStatus::Paid;
    check(
        &failed,
        &paid,
        &settings(None),
        "en",
        &["Just reply to this message"],
    );
    let mut zh = paid.clone();
    zh.customers[0].preferred_locales = vec!["zh-CN".to_owned()];
    check(&failed, &zh, &settings(None), "zh", &["请直接回复"]);
}

#[test]
fn drafts_never_hold_a_session_link_wherever_it_appears_in_the_input() {
    let mut snapshot = failing_snapshot("en");
    snapshot.customers[0].invoices[0].hosted_invoice_url = Some(SESSION_URL.to_owned());
    snapshot.customers[0].name = Some(SESSION_URL.to_owned());
    snapshot.customers[0].subscriptions[0].items[0].plan_name = Some(format!("Pro {SESSION_URL}"));
    for category in Category::ALL {
        for portal in [Some(SESSION_URL), None] {
            let followup = draft(
                &classified(category),
                &snapshot,
                &[],
                &[],
                &settings(portal),
            );
            assert!(
                !followup.text.contains("billing.stripe.com/p/session"),
                "{category:?}: {}",
                followup.text
            );
        }
    }
    // A session URL given as the login link falls back to asking for a reply.
    let followup = draft(
        &classified(Category::FailedPayment),
        &snapshot,
        &[],
        &[],
        &settings(Some(SESSION_URL)),
    );
    assert!(
        followup.text.contains("Just reply to this message"),
        "{}",
        followup.text
    );
}

#[test]
fn duplicate_draft_proposes_then_states_the_refund() {
    let snapshot = duplicate_snapshot("en-US");
    let triage = classified(Category::DuplicatePersonalSubscription);
    let actions = [cancel_duplicate(), close_no_action("a2")];

    let before = draft(&triage, &snapshot, &actions, &[], &settings(None));
    assert!(
        before
            .text
            .contains("We are canceling the extra subscription and refunding EUR 39.00."),
        "{}",
        before.text
    );

    let done = [DoneAction {
        key: "a1".to_owned(),
        refunded: Some(eur(3900)),
        canceled: Some(id("sub_Second")),
    }];
    let after = draft(&triage, &snapshot, &actions, &done, &settings(None));
    assert!(
        after.text.contains("We have refunded EUR 39.00"),
        "{}",
        after.text
    );
    assert!(
        after
            .text
            .contains("We have canceled the extra subscription"),
        "{}",
        after.text
    );
    assert!(!after.text.contains("We are canceling"), "{}", after.text);

    let zh = draft(
        &triage,
        &duplicate_snapshot("zh-CN"),
        &actions,
        &done,
        &settings(None),
    );
    assert!(zh.text.contains("我们已为您退款 EUR 39.00"), "{}", zh.text);
}

#[test]
fn refunds_in_several_currencies_are_summed_per_currency() {
    let jpy = Money::new(5000, Currency::parse("jpy").expect("jpy"));
    let done = [
        DoneAction {
            key: "a1".to_owned(),
            refunded: Some(eur(1000)),
            canceled: None,
        },
        DoneAction {
            key: "a2".to_owned(),
            refunded: Some(eur(2900)),
            canceled: None,
        },
        DoneAction {
            key: "a3".to_owned(),
            refunded: Some(jpy),
            canceled: None,
        },
    ];
    let followup = draft(
        &classified(Category::ProductFailure),
        &failing_snapshot("en"),
        &[],
        &done,
        &settings(None),
    );
    assert!(
        followup
            .text
            .contains("We have refunded EUR 39.00 + JPY 5000"),
        "{}",
        followup.text
    );
}

#[test]
fn a_name_holding_a_placeholder_stays_literal() {
    let mut snapshot = failing_snapshot("en");
    snapshot.customers[0].name = Some("{link}".to_owned());
    let followup = draft(
        &classified(Category::MissingSelfServeControl),
        &snapshot,
        &[],
        &[],
        &settings(Some(LOGIN_URL)),
    );
    assert!(followup.text.starts_with("Hi {link},"), "{}", followup.text);
    assert_eq!(followup.text.matches(LOGIN_URL).count(), 1);
}

#[test]
fn product_gap_names_the_surface_per_category_and_signal() {
    let cases: [(Triage, &[Signal], Option<&str>); 12] = [
        (
            classified(Category::DuplicatePersonalSubscription),
            &[],
            Some("no_duplicate_guard"),
        ),
        (
            classified(Category::GenuineMultiSeatIntent),
            &[],
            Some("no_plan_or_seat_explanation"),
        ),
        (
            classified(Category::FailedPayment),
            &[Signal::PaymentFailed],
            Some("payment_recovery"),
        ),
        (
            classified(Category::MissingSelfServeControl),
            &[],
            Some("no_billing_portal"),
        ),
        (
            classified(Category::MissingSelfServeControl),
            &[Signal::AsksForInvoice],
            Some("no_invoice_download"),
        ),
        (
            classified(Category::MissingSelfServeControl),
            &[Signal::AsksHowToCancel],
            Some("no_cancel_flow"),
        ),
        (
            classified(Category::ProductFailure),
            &[Signal::ReportsOutage],
            Some("product_reliability"),
        ),
        (
            classified(Category::ProductFailure),
            &[Signal::ChargedAfterCancelling],
            Some("no_cancel_flow"),
        ),
        (
            classified(Category::ProductFailure),
            &[Signal::SurpriseRenewal],
            Some("no_renewal_notice"),
        ),
        (
            Triage::NeedsReview {
                evidence: vec![],
                missing: vec![],
            },
            &[Signal::AsksForInvoice],
            Some("no_invoice_download"),
        ),
        (
            Triage::NeedsReview {
                evidence: vec![],
                missing: vec![],
            },
            &[],
            None,
        ),
        (Triage::NotFound, &[Signal::AsksHowToCancel], None),
    ];
    for (triage, signals, expected) in cases {
        let gap = product_gap(&triage, signals);
        assert_eq!(
            gap.as_ref().map(|g| g.surface.as_str()),
            expected,
            "{triage:?} {signals:?}"
        );
        assert!(gap.is_none_or(|g| !g.note.is_empty()));
    }
}

#[test]
fn fill_replaces_known_placeholders_once() {
    assert_eq!(
        fill("{a} and {b} and {c}", &[("a", "{b}"), ("b", "2")]),
        "{b} and 2 and {c}"
    );
    assert_eq!(fill("unclosed {a", &[("a", "1")]), "unclosed {a");
}

#[test]
fn every_template_and_phrase_exists_in_both_locales() {
    for locale in ["en", "zh"] {
        for topic in Category::ALL
            .map(Topic::Category)
            .into_iter()
            .chain([Topic::NeedsReview, Topic::NotFound])
        {
            assert!(
                TEMPLATES
                    .iter()
                    .any(|(t, l, _)| *t == topic && *l == locale),
                "{topic:?} {locale}"
            );
        }
        for (which, _, _) in PHRASES {
            assert!(
                PHRASES.iter().any(|(p, l, _)| p == which && *l == locale),
                "{which:?} {locale}"
            );
        }
    }
}
