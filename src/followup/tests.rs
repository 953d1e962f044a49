//! Follow-up drafts in every locale and outcome: no placeholder or template
//! id ever reaches the customer, the plan is named, nothing is promised
//! before an action ran and the redraft states amount and date; the locale
//! fallback chain; the link order of preference; product gaps; and that no
//! session link ever leaks.

use super::locale::{choose, message_language};
use super::*;
use crate::domain::*;
use crate::testing::*;

const SESSION_URL: &str = "https://billing.stripe.com/p/session/test_YWNjdF8xTXNlc3Npb24";
const LOGIN_URL: &str = "https://billing.stripe.com/p/login/test_14k5nA";
/// A plan name made of two words no template uses, so finding it proves
/// the draft names the plan.
const PLAN: &str = "Acme Studio";

fn classified(category: Category) -> Triage {
    Triage::Classified {
        category,
        evidence: vec![],
    }
}

fn needs_review() -> Triage {
    Triage::NeedsReview {
        evidence: vec![],
        missing: vec![],
    }
}

/// Every topic a draft can have.
fn topics() -> Vec<Triage> {
    Category::ALL
        .map(classified)
        .into_iter()
        .chain([needs_review(), Triage::NotFound])
        .collect()
}

/// A failing customer: past-due subscription to [`PLAN`] with an open invoice.
fn failing_snapshot(locale: &str) -> BillingSnapshot {
    let mut customer = customer("cus_Li1", "Li Wei", "li@example.com", locale);
    let mut sub = subscription(
        "sub_Li",
        "cus_Li1",
        SubscriptionStatus::PastDue,
        NOW - 40 * DAY,
        1,
    );
    sub.items[0].plan_name = Some(PLAN.to_owned());
    customer.subscriptions.push(sub);
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

fn refund_action() -> ProposedAction {
    ProposedAction {
        key: crate::domain::test_key("a2"),
        kind: ActionKind::Refund(RefundTarget {
            charge: id("ch_Li"),
            amount: eur(3900),
        }),
        summary: "Refund ch_Li EUR 39.00".to_owned(),
        rationale: "The service failed the customer.".to_owned(),
        origin: Origin::Proposed,
    }
}

fn cancel_action(at_period_end: bool) -> ProposedAction {
    ProposedAction {
        key: crate::domain::test_key("a3"),
        kind: ActionKind::CancelSubscription {
            subscription: id("sub_Li"),
            at_period_end,
        },
        summary: "Cancel sub_Li".to_owned(),
        rationale: "The customer asked to stop.".to_owned(),
        origin: Origin::Proposed,
    }
}

/// Every way a template can leak into the customer's text: an unfilled
/// placeable, a message id, an isolation mark, or a word said twice (the
/// old Chinese "您的 您的方案" bug).
fn assert_clean(text: &str, context: &str) {
    for bad in ['{', '}', '$', '\u{2068}', '\u{2069}'] {
        assert!(!text.contains(bad), "{context}: {bad:?} in\n{text}");
    }
    for id in [
        "greeting", "sign-off", "found-", "link-", "next-", "done-", "-plan", "named",
    ] {
        assert!(
            !text.contains(id),
            "{context}: template id {id:?} in\n{text}"
        );
    }
    assert!(
        doubled_word(text).is_none(),
        "{context}: doubled {:?} in\n{text}",
        doubled_word(text)
    );
}

/// A word repeated back to back ("the the"), or in scripts written without
/// spaces, a run of two to four characters repeated back to back ("您的您的").
fn doubled_word(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(pair) = words.windows(2).find(|w| w[0] == w[1]) {
        return Some(pair[0].clone());
    }
    let cjk: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let is_cjk =
        |c: &char| ('\u{3040}'..='\u{9fff}').contains(c) || ('\u{ac00}'..='\u{d7af}').contains(c);
    for n in 2..=4 {
        for start in 0..cjk.len().saturating_sub(2 * n - 1) {
            let (a, b) = (&cjk[start..start + n], &cjk[start + n..start + 2 * n]);
            if a == b && a.iter().all(is_cjk) {
                return Some(a.iter().collect());
            }
        }
    }
    None
}

#[test]
fn every_locale_file_loads_cleanly_with_the_same_messages_as_english() {
    let english = templates::message_ids(Locale::En);
    assert!(english.len() >= 20, "{english:?}");
    for locale in Locale::ALL {
        assert_eq!(
            templates::load_errors(locale),
            Vec::<String>::new(),
            "{locale:?}"
        );
        let mut ids = templates::message_ids(locale);
        ids.sort();
        let mut expected = english.clone();
        expected.sort();
        assert_eq!(
            ids, expected,
            "{locale:?} has other message ids than English"
        );
    }
}

#[test]
fn every_topic_in_every_locale_is_translated_names_the_plan_and_leaks_no_template() {
    let login = settings(Some(LOGIN_URL));
    for locale in Locale::ALL {
        for triage in topics() {
            let snapshot = failing_snapshot(locale.tag());
            let followup = draft(&triage, &snapshot, &[], &[], locale, &login);
            let context = format!("{locale:?} {triage:?}");
            assert_eq!(followup.locale, locale.tag(), "{context}");
            assert_clean(&followup.text, &context);
            assert!(
                followup.text.contains("Li Wei"),
                "{context}: no name in\n{}",
                followup.text
            );
            if triage != Triage::NotFound {
                assert!(
                    followup.text.contains(PLAN),
                    "{context}: no plan in\n{}",
                    followup.text
                );
            }
            if locale != Locale::En {
                let english = draft(&triage, &snapshot, &[], &[], Locale::En, &login);
                let first_line = |t: &str| t.split("\n\n").nth(1).unwrap_or_default().to_owned();
                assert_ne!(
                    first_line(&followup.text),
                    first_line(&english.text),
                    "{context}: not translated"
                );
            }
        }
    }
}

#[test]
fn a_plan_without_a_name_is_spoken_of_generically_in_every_locale() {
    let mut snapshot = failing_snapshot("en");
    snapshot.customers[0].subscriptions[0].items[0].plan_name = None;
    snapshot.customers[0].name = None;
    for locale in Locale::ALL {
        for triage in topics() {
            let followup = draft(&triage, &snapshot, &[], &[], locale, &settings(None));
            assert_clean(&followup.text, &format!("{locale:?} {triage:?} unnamed"));
        }
    }
}

/// Every "done-" message of `locale`, formatted with the values a draft
/// would use, so the test can look for any of them.
fn done_sentences(locale: Locale, amount: &str, date: &str) -> Vec<String> {
    let mut args = FluentArgs::new();
    args.set("amount", amount.to_owned());
    args.set("date", date.to_owned());
    args.set("until", date.to_owned());
    templates::message_ids(locale)
        .into_iter()
        .filter(|id| id.starts_with("done-"))
        .map(|id| templates::format(locale, &id, &args))
        .collect()
}

#[test]
fn before_an_action_runs_no_draft_in_any_locale_says_it_was_done() {
    let proposals: [Vec<ProposedAction>; 5] = [
        vec![cancel_duplicate(), close_no_action("a2")],
        vec![refund_action()],
        vec![cancel_action(false)],
        vec![cancel_action(true), refund_action()],
        vec![],
    ];
    let date = iso_date(NOW);
    for locale in Locale::ALL {
        let done_said = done_sentences(locale, "EUR 39.00", &date);
        assert_eq!(done_said.len(), 8, "{locale:?}");
        for actions in &proposals {
            for triage in topics() {
                let followup = draft(
                    &triage,
                    &failing_snapshot("en"),
                    actions,
                    &[],
                    locale,
                    &settings(None),
                );
                let context = format!(
                    "{locale:?} {triage:?} {:?}",
                    actions.iter().map(|a| a.kind.name()).collect::<Vec<_>>()
                );
                assert_clean(&followup.text, &context);
                assert!(
                    !followup.text.contains(&date),
                    "{context}: a date before anything ran\n{}",
                    followup.text
                );
                for said in &done_said {
                    // The first clause of each "done-" message ("On … we refunded …").
                    let clause: String = said.chars().take(24).collect();
                    assert!(
                        !followup.text.contains(&clause),
                        "{context}: says {clause:?} before it ran\n{}",
                        followup.text
                    );
                }
                let proposes_money = actions.iter().any(|a| a.kind.is_money_moving());
                if proposes_money && locale == Locale::En {
                    assert!(
                        followup.text.contains("will review"),
                        "{context}: no next step\n{}",
                        followup.text
                    );
                    assert!(
                        followup.text.contains("Nothing has been changed yet"),
                        "{context}\n{}",
                        followup.text
                    );
                }
            }
        }
    }
    let english = draft(
        &classified(Category::ProductFailure),
        &failing_snapshot("en"),
        &[refund_action()],
        &[],
        Locale::En,
        &settings(None),
    );
    for promise in [
        "We are refunding",
        "We have refunded",
        "we refunded",
        "We are cancel",
        "we canceled",
        "We have cancel",
    ] {
        assert!(
            !english.text.contains(promise),
            "{promise:?} in\n{}",
            english.text
        );
    }
}

#[test]
fn after_an_action_ran_the_redraft_states_amount_and_date_in_every_locale() {
    let date = iso_date(NOW);
    let duplicate = DoneAction {
        key: crate::domain::test_key("a1"),
        refunded: Some(eur(3900)),
        canceled: Some(id("sub_Second")),
        at: NOW,
    };
    let refund = DoneAction {
        key: crate::domain::test_key("a2"),
        refunded: Some(eur(3900)),
        canceled: None,
        at: NOW,
    };
    let cancel = DoneAction {
        key: crate::domain::test_key("a3"),
        refunded: None,
        canceled: Some(id("sub_Li")),
        at: NOW,
    };
    let cases: [(Triage, Vec<ProposedAction>, DoneAction, bool); 4] = [
        (
            classified(Category::DuplicatePersonalSubscription),
            vec![cancel_duplicate()],
            duplicate,
            true,
        ),
        (
            classified(Category::ProductFailure),
            vec![refund_action()],
            refund,
            true,
        ),
        (
            needs_review(),
            vec![cancel_action(false)],
            cancel.clone(),
            false,
        ),
        (
            classified(Category::MissingSelfServeControl),
            vec![cancel_action(true)],
            cancel,
            false,
        ),
    ];
    for locale in Locale::ALL {
        for (triage, actions, done, refunded) in &cases {
            let before = draft(
                triage,
                &failing_snapshot("en"),
                actions,
                &[],
                locale,
                &settings(None),
            );
            let after = draft(
                triage,
                &failing_snapshot("en"),
                actions,
                std::slice::from_ref(done),
                locale,
                &settings(None),
            );
            let context = format!("{locale:?} {triage:?} {}", done.key);
            assert_clean(&after.text, &context);
            assert!(
                after.text.contains(&date),
                "{context}: no date\n{}",
                after.text
            );
            if *refunded {
                assert!(
                    after.text.contains("EUR 39.00"),
                    "{context}: no amount\n{}",
                    after.text
                );
            }
            assert_ne!(before.text, after.text, "{context}");
            let said = done_sentences(locale, "EUR 39.00", &date);
            assert!(
                said.iter().any(|s| after.text.contains(s.as_str())),
                "{context}: no done- message\n{}",
                after.text
            );
        }
    }
    let snapshot = duplicate_snapshot("en-US");
    let done = [DoneAction {
        key: crate::domain::test_key("a1"),
        refunded: Some(eur(3900)),
        canceled: Some(id("sub_Second")),
        at: NOW,
    }];
    let after = draft(
        &classified(Category::DuplicatePersonalSubscription),
        &snapshot,
        &[cancel_duplicate()],
        &done,
        Locale::En,
        &settings(None),
    );
    assert!(
        after.text.contains(&format!(
            "On {date} we canceled the extra subscription and refunded EUR 39.00"
        )),
        "{}",
        after.text
    );
    assert!(!after.text.contains("will review"), "{}", after.text);
}

#[test]
fn an_action_that_moved_no_money_leaves_the_pending_review_in_the_redraft() {
    let portal = ProposedAction {
        key: crate::domain::test_key("a1"),
        kind: ActionKind::PortalLink {
            customer: id("cus_Li1"),
        },
        summary: "Billing-portal link".to_owned(),
        rationale: "Self-serve first.".to_owned(),
        origin: Origin::Proposed,
    };
    let actions = [portal, refund_action()];
    let done = [DoneAction {
        key: crate::domain::test_key("a1"),
        refunded: None,
        canceled: None,
        at: NOW,
    }];
    let text = draft(
        &classified(Category::ProductFailure),
        &failing_snapshot("en"),
        &actions,
        &done,
        Locale::En,
        &settings(None),
    )
    .text;
    assert!(text.contains("will review a refund of EUR 39.00"), "{text}");
    let done = [DoneAction {
        key: crate::domain::test_key("a2"),
        refunded: Some(eur(3900)),
        canceled: None,
        at: NOW,
    }];
    let text = draft(
        &classified(Category::ProductFailure),
        &failing_snapshot("en"),
        &actions,
        &done,
        Locale::En,
        &settings(None),
    )
    .text;
    assert!(
        text.contains("we refunded EUR 39.00") && !text.contains("will review"),
        "{text}"
    );
}

#[test]
fn the_draft_before_approval_in_english_and_spanish() {
    let snapshot = duplicate_snapshot("en-US");
    let triage = classified(Category::DuplicatePersonalSubscription);
    let actions = [cancel_duplicate(), close_no_action("a2")];
    let en = draft(
        &triage,
        &snapshot,
        &actions,
        &[],
        Locale::En,
        &settings(None),
    );
    assert!(
        en.text.contains("Next, our billing team will review cancelling the extra subscription and refunding EUR 39.00. Nothing has been changed yet"),
        "{}",
        en.text
    );
    let es = draft(
        &triage,
        &snapshot,
        &actions,
        &[],
        Locale::Es,
        &settings(None),
    );
    assert!(es.text.starts_with("Hola, Ana Lima:"), "{}", es.text);
    assert!(
        es.text.contains("39.00") && es.text.contains("Pro"),
        "{}",
        es.text
    );
}

#[test]
fn refunds_in_several_currencies_are_summed_per_currency() {
    let jpy = Money::new(5000, Currency::parse("jpy").expect("jpy"));
    let done = [
        DoneAction {
            key: crate::domain::test_key("a1"),
            refunded: Some(eur(1000)),
            canceled: None,
            at: NOW - DAY,
        },
        DoneAction {
            key: crate::domain::test_key("a2"),
            refunded: Some(eur(2900)),
            canceled: None,
            at: NOW,
        },
        DoneAction {
            key: crate::domain::test_key("a3"),
            refunded: Some(jpy),
            canceled: None,
            at: NOW,
        },
    ];
    let followup = draft(
        &classified(Category::ProductFailure),
        &failing_snapshot("en"),
        &[],
        &done,
        Locale::En,
        &settings(None),
    );
    assert!(
        followup.text.contains(&format!(
            "On {} we refunded EUR 39.00 + JPY 5000",
            iso_date(NOW)
        )),
        "{}",
        followup.text
    );
}

#[test]
fn the_locale_is_the_preferred_one_then_the_message_language_then_english() {
    let german = "Hallo, ich möchte wissen, warum mir diesen Monat zweimal etwas berechnet wurde. Können Sie das bitte prüfen?";
    let locale = |preferred: &[&str], message: Option<&str>| {
        let mut snapshot = failing_snapshot("en");
        snapshot.customers[0].preferred_locales =
            preferred.iter().map(|p| (*p).to_owned()).collect();
        choose(&snapshot, message)
    };
    assert_eq!(locale(&["es"], None), Locale::Es);
    assert_eq!(
        locale(&["es"], Some(german)),
        Locale::Es,
        "Stripe's preference comes first"
    );
    assert_eq!(locale(&[], Some(german)), Locale::De);
    assert_eq!(locale(&[], None), Locale::En);
    assert_eq!(locale(&[], Some("ok")), Locale::En, "too short to tell");
    assert_eq!(
        locale(&["sv-SE"], Some("?? !!")),
        Locale::En,
        "unknown everything"
    );
    assert_eq!(
        locale(&["sv-SE"], Some(german)),
        Locale::De,
        "an unsupported preference falls through"
    );
    assert_eq!(
        locale(&["sv-SE", "fr-FR"], None),
        Locale::Fr,
        "the first supported preference"
    );
    assert_eq!(locale(&["es-MX"], None), Locale::Es);
    assert_eq!(locale(&["pt"], None), Locale::PtBr);
    assert_eq!(locale(&["pt-BR"], None), Locale::PtBr);
    assert_eq!(locale(&["zh-CN"], None), Locale::ZhCn);
    assert_eq!(
        locale(&["zh-TW"], None),
        Locale::ZhCn,
        "simplified Chinese reads better than English"
    );
    assert_eq!(locale(&["ja-JP"], None), Locale::Ja);
    assert_eq!(locale(&["not a tag"], None), Locale::En);
    assert_eq!(
        choose(&snapshot("li@example.com", vec![]), Some(german)),
        Locale::De
    );
}

#[test]
fn message_language_recognises_each_supported_language() {
    for (text, expected) in [
        ("Hi, I was charged twice this month for the same plan, could you please check my account?", Locale::En),
        ("你好，我这个月被重复扣款了两次，请帮我查一下我的账户，谢谢。", Locale::ZhCn),
        ("Hola, me cobraron dos veces este mes por el mismo plan. ¿Pueden revisar mi cuenta, por favor?", Locale::Es),
        ("Hallo, mir wurde diesen Monat zweimal derselbe Tarif berechnet. Können Sie bitte mein Konto prüfen?", Locale::De),
        ("Bonjour, j'ai été débité deux fois ce mois-ci pour le même abonnement. Pouvez-vous vérifier mon compte ?", Locale::Fr),
        ("Olá, fui cobrado duas vezes este mês pelo mesmo plano. Vocês podem verificar minha conta, por favor?", Locale::PtBr),
        ("こんにちは。今月、同じプランの料金が二回請求されました。アカウントを確認していただけますか。", Locale::Ja),
        ("안녕하세요, 이번 달에 같은 요금제로 두 번 결제되었습니다. 제 계정을 확인해 주시겠어요?", Locale::Ko),
        ("Buongiorno, questo mese mi è stato addebitato due volte lo stesso piano. Potete controllare il mio account?", Locale::It),
        ("Hallo, ik ben deze maand twee keer gefactureerd voor hetzelfde abonnement. Kunnen jullie mijn account controleren?", Locale::Nl),
    ] {
        assert_eq!(message_language(text), Some(expected), "{text}");
    }
    assert_eq!(message_language(""), None);
}

#[test]
fn locale_tags_round_trip() {
    for locale in Locale::ALL {
        assert_eq!(Locale::from_tag(locale.tag()), Some(locale));
    }
    assert_eq!(Locale::from_tag("zh"), None);
}

#[test]
fn links_prefer_portal_login_then_open_invoice_then_a_reply() {
    let failed = classified(Category::FailedPayment);
    let text = |snapshot: &BillingSnapshot, login: Option<&str>, locale: Locale| {
        draft(&failed, snapshot, &[], &[], locale, &settings(login)).text
    };
    assert!(text(&failing_snapshot("en"), Some(LOGIN_URL), Locale::En).contains(LOGIN_URL));
    assert!(text(&failing_snapshot("en"), None, Locale::En)
        .contains("https://invoice.stripe.com/i/acct_1/in_Open"));
    let mut paid = failing_snapshot("en");
    paid.customers[0].invoices[0].status = InvoiceStatus::Paid;
    assert!(text(&paid, None, Locale::En).contains("Just reply to this message"));
    assert!(text(&paid, None, Locale::ZhCn).contains("请直接回复"));
}

#[test]
fn drafts_never_hold_a_session_link_wherever_it_appears_in_the_input() {
    let mut snapshot = failing_snapshot("en");
    snapshot.customers[0].invoices[0].hosted_invoice_url = Some(SESSION_URL.to_owned());
    snapshot.customers[0].name = Some(SESSION_URL.to_owned());
    snapshot.customers[0].subscriptions[0].items[0].plan_name = Some(format!("Pro {SESSION_URL}"));
    for locale in Locale::ALL {
        for triage in topics() {
            for portal in [Some(SESSION_URL), None] {
                let followup = draft(&triage, &snapshot, &[], &[], locale, &settings(portal));
                assert!(
                    !followup.text.contains("billing.stripe.com/p/session"),
                    "{locale:?} {triage:?}: {}",
                    followup.text
                );
            }
        }
    }
    // A session URL given as the login link falls back to asking for a reply.
    let followup = draft(
        &classified(Category::FailedPayment),
        &snapshot,
        &[],
        &[],
        Locale::En,
        &settings(Some(SESSION_URL)),
    );
    assert!(
        followup.text.contains("Just reply to this message"),
        "{}",
        followup.text
    );
}

#[test]
fn a_name_holding_fluent_syntax_stays_literal() {
    let mut snapshot = failing_snapshot("en");
    snapshot.customers[0].name = Some("{ $url }".to_owned());
    let followup = draft(
        &classified(Category::MissingSelfServeControl),
        &snapshot,
        &[],
        &[],
        Locale::En,
        &settings(Some(LOGIN_URL)),
    );
    assert!(
        followup.text.starts_with("Hi { $url },"),
        "{}",
        followup.text
    );
    assert_eq!(followup.text.matches(LOGIN_URL).count(), 1);
}

#[test]
fn the_operator_note_names_the_actions_whose_approval_brings_the_redraft() {
    let note = pending_note(&[cancel_duplicate(), close_no_action("a2")])
        .expect("a money-moving proposal");
    assert!(note.contains("*Cancel sub_Second"), "{note}");
    assert!(note.contains("Safe to send now"), "{note}");
    assert_eq!(pending_note(&[close_no_action("a1")]), None);
}

#[test]
fn the_doubled_word_check_catches_the_old_chinese_bug() {
    assert_eq!(
        doubled_word("感谢您告知我们。您的 您的方案 订阅被重复创建了两次"),
        Some("您的".to_owned())
    );
    assert_eq!(
        doubled_word("You were signed up for for Pro"),
        Some("for".to_owned())
    );
    assert_eq!(doubled_word("You were signed up for Pro twice."), None);
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
fn progress_reads_what_ran_from_stripe_and_leaves_out_what_can_no_longer_run() {
    let case_id = CaseId::from_random(3);
    let mut snapshot = duplicate_snapshot("en-US");
    let ours = |action: &str, charge: &str| {
        std::collections::BTreeMap::from([
            ("case_id".to_owned(), case_id.to_string()),
            ("action".to_owned(), action.to_owned()),
            ("step".to_owned(), format!("refund:{charge}")),
        ])
    };
    let refund = |re: &str, minor: i64, metadata| Refund {
        id: id(re),
        amount: eur(minor),
        status: "succeeded".to_owned(),
        created: NOW,
        metadata,
    };
    for charge in snapshot
        .customers
        .iter_mut()
        .flat_map(|c| c.charges.iter_mut())
    {
        if charge.id.as_str() == "ch_Second" {
            charge.refunds = vec![
                refund("re_Ours", 3900, ours("a1", "ch_Second")),
                // Someone else's refund of the same charge is not ours.
                refund("re_Dashboard", 1000, Default::default()),
            ];
        }
    }
    let refund_of = |key: &str, minor: i64| ProposedAction {
        key: crate::domain::test_key(key),
        kind: ActionKind::Refund(RefundTarget {
            charge: id("ch_First"),
            amount: eur(minor),
        }),
        summary: format!("Refund ch_First {}", eur(minor)),
        rationale: "The service failed the customer.".to_owned(),
        origin: Origin::Proposed,
    };
    let actions = vec![
        cancel_duplicate(),
        close_no_action("a2"),
        refund_of("a3", 3900),
        refund_of("a4", 500),
        refund_of("a5", 700),
    ];
    let approver: SlackUserId = id("U0APPROVER");
    let statuses = vec![
        (
            crate::domain::test_key("a1"),
            ActionStatus::Succeeded {
                approved_by: vec![approver.clone()],
                at: NOW - 60,
                stripe_ids: vec!["re_Ours".to_owned()],
                notes: vec![],
            },
        ),
        (
            crate::domain::test_key("a2"),
            ActionStatus::Rejected {
                by: approver.clone(),
                at: NOW - 60,
                reason: "not needed".to_owned(),
            },
        ),
        (
            crate::domain::test_key("a3"),
            ActionStatus::Proposed {
                approvals: vec![],
                expires_at: NOW,
            },
        ),
        (
            crate::domain::test_key("a4"),
            ActionStatus::Proposed {
                approvals: vec![],
                expires_at: NOW + 60,
            },
        ),
        (
            crate::domain::test_key("a5"),
            ActionStatus::Failed {
                approved_by: vec![approver],
                at: NOW - crate::policy::RETRY_WINDOW_SECS - 1,
                error: "card_declined".to_owned(),
                notes: vec![],
            },
        ),
    ];
    let (standing, done) = progress(&case_id, &actions, &statuses, &snapshot, NOW);
    let keys: Vec<&str> = standing.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["a1", "a4"]);
    assert_eq!(
        done,
        [DoneAction {
            key: crate::domain::test_key("a1"),
            refunded: Some(eur(3900)),
            canceled: Some(id("sub_Second")),
            at: NOW - 60,
        }]
    );
    // Right after a4 ran, the redraft keeps a1 (done before) and states
    // a4 as Stripe confirmed it, though the snapshot predates it.
    let just_ran = DoneAction {
        key: crate::domain::test_key("a4"),
        refunded: Some(eur(500)),
        canceled: None,
        at: NOW,
    };
    let (standing, done) = progress_after_run(
        &case_id,
        &actions,
        &statuses,
        &snapshot,
        just_ran.clone(),
        NOW,
    );
    let keys: Vec<&str> = standing.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["a1", "a4"], "the rejected and lapsed ones stay out");
    let done_keys: Vec<&str> = done.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(done_keys, ["a1", "a4"]);
    assert_eq!(done[1], just_ran);
    // What Stripe does not show as ours is not said to be refunded.
    let other_case = CaseId::from_random(4);
    let (_, done) = progress(&other_case, &actions, &statuses, &snapshot, NOW);
    assert_eq!(done[0].refunded, None);
    let draft = draft(
        &classified(Category::DuplicatePersonalSubscription),
        &snapshot,
        &standing,
        &progress(&case_id, &actions, &statuses, &snapshot, NOW).1,
        Locale::En,
        &FollowUpSettings::default(),
    );
    assert!(
        draft
            .text
            .contains("canceled the extra subscription and refunded EUR 39.00"),
        "{}",
        draft.text
    );
}

fn pause_action(resumes_at: Option<i64>) -> ProposedAction {
    ProposedAction {
        key: crate::domain::test_key("c1"),
        kind: ActionKind::PauseCollection {
            subscription: id("sub_Second"),
            pause: Some(crate::domain::Pause {
                behavior: crate::domain::PauseBehavior::KeepAsDraft,
                resumes_at,
            }),
        },
        summary: "Pause collecting payment on sub_Second".to_owned(),
        rationale: "The customer asked to pause rather than cancel.".to_owned(),
        origin: Origin::ChosenBy(id("UCHOOSER")),
    }
}

#[test]
fn a_pause_is_drafted_as_reviewed_then_as_done_with_its_day_in_every_locale() {
    let snapshot = duplicate_snapshot("en-US");
    let until = NOW + 30 * 86_400;
    let pause = [pause_action(Some(until))];
    for locale in Locale::ALL {
        let before = draft(
            &classified(Category::MissingSelfServeControl),
            &snapshot,
            &pause,
            &[],
            locale,
            &settings(None),
        );
        assert_clean(&before.text, &format!("{locale:?} before"));
        let next = templates::format(locale, "next-pause", &FluentArgs::new());
        assert!(before.text.contains(&next), "{locale:?}: {}", before.text);
        let done = [DoneAction {
            key: crate::domain::test_key("c1"),
            refunded: None,
            canceled: None,
            at: NOW,
        }];
        let after = draft(
            &classified(Category::MissingSelfServeControl),
            &snapshot,
            &pause,
            &done,
            locale,
            &settings(None),
        );
        assert_clean(&after.text, &format!("{locale:?} after"));
        assert!(
            after.text.contains(&iso_date(until)) && !after.text.contains(&next),
            "{locale:?}: {}",
            after.text
        );
    }
}
