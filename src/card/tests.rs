//! Card tests: golden Block Kit JSON per card state, Slack's limits, the
//! button value round trip, text and JSON renderings, over the hand-built
//! snapshots and cases of `crate::testing`.
//!
//! Golden files live in `tests/fixtures/cards/`; `UPDATE_GOLDEN=1 cargo test
//! --lib card` rewrites them from the current output (then read the diff).

use super::*;
use crate::domain::*;
use crate::testing::{self, *};
use slack_morphism::blocks::SlackBlock;
use std::path::PathBuf;

fn proposed() -> ActionStatus {
    ActionStatus::Proposed {
        approvals: vec![],
        expires_at: NOW + DAY,
    }
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cards")
        .join(format!("{name}.json"))
}

/// Compares the card's blocks with `tests/fixtures/cards/{name}.json`.
fn check(name: &str, view: &CardView) {
    let blocks = render_blocks(view);
    check_limits(&blocks);
    let actual = serde_json::to_value(&blocks).expect("blocks serialise");
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("golden files have a folder"))
            .expect("create golden folder");
        let text = serde_json::to_string_pretty(&actual).expect("json prints");
        std::fs::write(&path, text + "\n").expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    let expected: serde_json::Value = serde_json::from_str(&expected).expect("golden file is JSON");
    assert_eq!(
        actual,
        expected,
        "{name}: card differs from {}; UPDATE_GOLDEN=1 rewrites it",
        path.display()
    );
}

/// Slack's limits, checked on the serialised JSON so nothing escapes them.
fn check_limits(blocks: &[SlackBlock]) {
    assert!(blocks.len() <= MAX_BLOCKS, "{} blocks", blocks.len());
    let json = serde_json::to_value(blocks).expect("blocks serialise");
    for block in json.as_array().expect("an array") {
        match block["type"].as_str() {
            Some("section") => {
                let text = block["text"]["text"].as_str().unwrap_or("");
                assert!(
                    text.chars().count() <= MAX_SECTION_TEXT,
                    "section of {} chars",
                    text.chars().count()
                );
            }
            Some("header") => {
                let text = block["text"]["text"].as_str().unwrap_or("");
                assert!(text.chars().count() <= MAX_HEADER_TEXT);
            }
            Some("actions") => {
                let elements = block["elements"].as_array().expect("elements");
                let ids: std::collections::HashSet<&str> = elements
                    .iter()
                    .filter_map(|e| e["action_id"].as_str())
                    .collect();
                assert_eq!(ids.len(), elements.len(), "action_ids repeat in {block}");
                for element in elements {
                    let text = element["text"]["text"].as_str().unwrap_or("");
                    assert!(text.chars().count() <= MAX_BUTTON_TEXT);
                    let options = element["options"].as_array().cloned().unwrap_or_default();
                    assert!(options.len() <= MAX_MENU_OPTIONS);
                    for option in options {
                        let text = option["text"]["text"].as_str().unwrap_or("");
                        assert!(text.chars().count() <= MAX_BUTTON_TEXT, "{text}");
                        let value = option["value"].as_str().unwrap_or("");
                        assert!(value.len() <= MAX_OPTION_VALUE, "{value}");
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn duplicate_case_shows_buttons_on_proposed_actions() {
    let case = duplicate_case();
    let statuses = [
        (crate::domain::test_key("a1"), proposed()),
        (crate::domain::test_key("a2"), proposed()),
    ];
    check(
        "duplicate_proposed",
        &CardView {
            case: &case,
            statuses: &statuses,
            now: NOW,
        },
    );
}

#[test]
fn needs_review_case_says_what_is_missing() {
    let mut customer = customer("cus_Bo1", "Bo Chen", "bo@example.com", "zh-CN");
    customer.subscriptions.push(subscription(
        "sub_Bo",
        "cus_Bo1",
        SubscriptionStatus::Trialing,
        NOW - 5 * DAY,
        1,
    ));
    customer.default_payment_method = Some(CardSummary {
        brand: "mastercard".to_owned(),
        last4: "4444".to_owned(),
        exp_month: 10,
        exp_year: 2026,
    });
    let triage = Triage::NeedsReview {
        evidence: vec!["One trialing subscription, nothing charged yet".to_owned()],
        missing: vec!["The customer's message, or a charge they dispute".to_owned()],
    };
    let case = testing::case(
        snapshot("cus_Bo1", vec![customer]),
        triage,
        vec![close_no_action("a1")],
    );
    // Not stored yet: listed without buttons.
    check(
        "needs_review",
        &CardView {
            case: &case,
            statuses: &[],
            now: NOW,
        },
    );
}

/// A refund already made, chased with a chargeback threat (the corpus's
/// `refunded_charge` state, through `assess`): the warning names the
/// escalation and the refund with its date and amount, the evidence quotes
/// the customer's words, and nothing is proposed again.
#[test]
fn an_escalation_card_warns_states_the_refund_made_and_quotes_the_words() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus/refunded_charge.json");
    let text = std::fs::read_to_string(&path).expect("the corpus fixture is readable");
    let snapshot: BillingSnapshot = serde_json::from_str(&text).expect("a BillingSnapshot");
    let now = snapshot.fetched_at;
    let case = crate::assess::assess(
        crate::assess::Intake {
            id: CaseId::from_random(19),
            requested_by: Actor::System,
            message: Some("Where is my refund?? If it's not back by Friday I'm filing a chargeback with my bank."),
            added: &[],
            now,
        },
        snapshot,
        &crate::followup::FollowUpSettings {
            portal_login_url: None,
        },
    );
    check(
        "escalation_refund_made",
        &CardView {
            case: &case,
            statuses: &[],
            now,
        },
    );
}

#[test]
fn not_found_case_names_the_query_and_hints() {
    let case = testing::case(snapshot("sub_Nobody", vec![]), Triage::NotFound, vec![]);
    check(
        "not_found",
        &CardView {
            case: &case,
            statuses: &[],
            now: NOW,
        },
    );
}

#[test]
fn succeeded_action_shows_who_when_and_stripe_ids_instead_of_buttons() {
    let mut case = duplicate_case();
    // Found by an exact id: the second customer shows as sharing the email.
    case.snapshot.query = LookupQuery::parse("sub_First").expect("a subscription id");
    let statuses = [
        (
            crate::domain::test_key("a1"),
            ActionStatus::Succeeded {
                approved_by: vec![id("U0APPROVER")],
                at: NOW + 10 * MIN,
                stripe_ids: vec!["sub_Second".to_owned(), "re_Refund1".to_owned()],
                notes: vec![],
            },
        ),
        (crate::domain::test_key("a2"), proposed()),
    ];
    check(
        "duplicate_after_cancel",
        &CardView {
            case: &case,
            statuses: &statuses,
            now: NOW + 11 * MIN,
        },
    );
}

/// The actions' button rows (not the card's own Add context / Look up).
fn actions_blocks(blocks: &[SlackBlock]) -> Vec<serde_json::Value> {
    blocks
        .iter()
        .map(|b| serde_json::to_value(b).expect("block serialises"))
        .filter(|b| {
            b["type"] == "actions"
                && b["block_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("buttons_"))
        })
        .collect()
}

#[test]
fn only_money_moving_approvals_ask_for_confirmation() {
    let case = duplicate_case();
    let statuses = [
        (crate::domain::test_key("a1"), proposed()),
        (crate::domain::test_key("a2"), proposed()),
    ];
    let blocks = actions_blocks(&render_blocks(&CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    }));
    assert_eq!(blocks.len(), 2);
    assert!(
        blocks[0]["elements"][0]["confirm"].is_object(),
        "cancel + refund asks first"
    );
    assert!(
        blocks[1]["elements"][0]["confirm"].is_null(),
        "closing does not"
    );
    assert_eq!(blocks[0]["elements"][0]["action_id"], APPROVE_ACTION_ID);
    assert_eq!(blocks[0]["elements"][1]["action_id"], REJECT_ACTION_ID);
    assert_eq!(blocks[0]["elements"][0]["value"], "case_1a2b3c4d5e6f/a1");
}

#[test]
fn past_expiry_rejected_and_executing_actions_have_no_buttons() {
    let case = duplicate_case();
    let ended = [
        ActionStatus::Proposed {
            approvals: vec![],
            expires_at: NOW - 1,
        },
        ActionStatus::Expired { at: NOW - 1 },
        ActionStatus::Rejected {
            by: id("U0APPROVER"),
            at: NOW,
            reason: "customer <wants> to keep both".to_owned(),
        },
        ActionStatus::Failed {
            approved_by: vec![id("U0APPROVER")],
            at: NOW - crate::policy::RETRY_WINDOW_SECS - 1,
            error: "card_declined".to_owned(),
            notes: vec![],
        },
        ActionStatus::Executing {
            approved_by: vec![id("U0APPROVER")],
            at: NOW,
            owner: None,
        },
        ActionStatus::Verifying {
            approved_by: vec![id("U0APPROVER")],
            at: NOW,
            owner: None,
            reason: "no answer".to_owned(),
        },
    ];
    for status in ended {
        let statuses = [
            (crate::domain::test_key("a1"), status.clone()),
            (crate::domain::test_key("a2"), status.clone()),
        ];
        let blocks = render_blocks(&CardView {
            case: &case,
            statuses: &statuses,
            now: NOW,
        });
        assert!(actions_blocks(&blocks).is_empty(), "{status:?}");
        let json = serde_json::to_string(&blocks).expect("serialises");
        assert!(!json.contains("<wants>"), "outside text is escaped");
    }
}

#[test]
fn a_recently_failed_action_offers_only_a_retry() {
    let case = duplicate_case();
    let failed = ActionStatus::Failed {
        approved_by: vec![id("U0APPROVER")],
        at: NOW,
        error: "card_declined".to_owned(),
        notes: vec![],
    };
    let statuses = [
        (crate::domain::test_key("a1"), failed.clone()),
        (crate::domain::test_key("a2"), failed),
    ];
    let blocks = render_blocks(&CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    });
    let buttons = actions_blocks(&blocks);
    assert!(!buttons.is_empty());
    for block in buttons {
        let elements = block["elements"].as_array().expect("elements");
        assert_eq!(elements.len(), 1, "no Reject on a failed action: {block}");
        assert_eq!(elements[0]["text"]["text"], "Retry");
        assert_eq!(elements[0]["action_id"], APPROVE_ACTION_ID);
    }
}

#[test]
fn a_refund_can_also_be_approved_for_less() {
    let mut case = duplicate_case();
    let charge_id = crate::domain::ChargeId::parse("ch_Partial1").expect("id");
    let eur = crate::domain::Currency::parse("eur").expect("eur");
    case.actions = vec![ProposedAction {
        key: crate::domain::test_key("a1"),
        kind: crate::domain::ActionKind::Refund(crate::domain::RefundTarget {
            charge: charge_id,
            amount: Money::new(3900, eur),
        }),
        summary: "Refund ch_Partial1 EUR 39.00".to_owned(),
        rationale: "the bad period".to_owned(),
        origin: Origin::Proposed,
    }];
    let statuses = [(crate::domain::test_key("a1"), proposed())];
    let blocks = render_blocks(&CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    });
    let buttons = actions_blocks(&blocks);
    let ids: Vec<&str> = buttons[0]["elements"]
        .as_array()
        .expect("elements")
        .iter()
        .filter_map(|e| e["action_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            APPROVE_ACTION_ID,
            super::modals::PARTIAL_REFUND_ACTION_ID,
            REJECT_ACTION_ID
        ]
    );
}

#[test]
fn long_cards_stay_within_slack_limits() {
    let mut case = duplicate_case();
    let long = "x".repeat(5000);
    case.actions = (1..=40)
        .map(|i| ProposedAction {
            summary: long.clone(),
            ..close_no_action(&format!("a{i}"))
        })
        .collect();
    case.snapshot.customers[0].name = Some("名".repeat(4000));
    for i in 0..30 {
        let created = NOW - i * DAY;
        case.snapshot.customers[0].charges.push(charge(
            &format!("ch_Extra{i}"),
            "cus_Ana1",
            None,
            created,
        ));
    }
    case.triage = Triage::Classified {
        category: Category::ProductFailure,
        evidence: vec![long.clone(); 20],
    };
    let statuses: Vec<(ActionKey, ActionStatus)> = case
        .actions
        .iter()
        .map(|a| (a.key.clone(), proposed()))
        .collect();
    let blocks = render_blocks(&CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    });
    check_limits(&blocks);
    let json = serde_json::to_string(&blocks).expect("serialises");
    assert!(
        json.contains("…and 25 more actions"),
        "hidden actions are counted"
    );
    assert!(json.contains("…and 24 more"), "long charge list collapses");
}

/// The "More actions…" menu's options as (label, value).
fn menu_options(blocks: &[SlackBlock]) -> Vec<(String, String)> {
    let json = serde_json::to_value(blocks).expect("json");
    json.as_array()
        .expect("array")
        .iter()
        .filter(|b| b["block_id"] == "more_actions")
        .flat_map(|b| {
            b["elements"][0]["options"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|o| {
            (
                o["text"]["text"].as_str().unwrap_or_default().to_owned(),
                o["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_more_actions_menu_offers_the_snapshots_choices_and_a_chosen_action_names_its_chooser() {
    let mut case = duplicate_case();
    let statuses = all_proposed(&case);
    let view = CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    };
    let blocks = render_blocks(&view);
    check_limits(&blocks);
    let options = menu_options(&blocks);
    assert!(!options.is_empty(), "a menu on a card with customers");
    for (label, value) in &options {
        let (case_id, code) = value.split_once('/').expect("case/code");
        assert_eq!(case_id, case.id.as_str());
        assert!(
            crate::actions::choose::Choice::parse_code(code).is_some(),
            "{label}: {code}"
        );
    }
    assert!(
        options.iter().any(|(_, v)| v.ends_with("/refund:ch_First")),
        "a charge the bot did not propose to refund: {options:?}"
    );
    assert!(
        !options
            .iter()
            .any(|(_, v)| v.ends_with("/refund:ch_Second")),
        "not one a pending proposal already refunds: {options:?}"
    );

    let chooser: SlackUserId = id("U0CHOOSER1");
    let kind = ActionKind::Refund(RefundTarget {
        charge: id("ch_First"),
        amount: eur(1000),
    });
    let chosen = crate::actions::choose::chosen_action(&case, kind, &chooser);
    case.actions.push(chosen);
    let mut statuses = statuses;
    statuses.push((crate::domain::test_key("c1"), proposed()));
    let view = CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    };
    let blocks = render_blocks(&view);
    let shown = serde_json::to_string(&blocks).expect("json");
    assert!(shown.contains("chosen by <@U0CHOOSER1>"), "{shown}");
    assert!(
        shown.contains(&format!("{}/c1", case.id)),
        "Approve / Reject on the chosen action"
    );
    let text = render_text(&view);
    assert!(text.contains("chosen by U0CHOOSER1"), "{text}");

    let not_found = testing::case(snapshot("sub_Nobody", vec![]), Triage::NotFound, vec![]);
    let blocks = render_blocks(&CardView {
        case: &not_found,
        statuses: &[],
        now: NOW,
    });
    assert!(
        menu_options(&blocks).is_empty(),
        "nothing to choose without a customer"
    );
}

/// Every action of `case` awaiting approval.
fn all_proposed(case: &Case) -> Vec<(ActionKey, ActionStatus)> {
    case.actions
        .iter()
        .map(|a| (a.key.clone(), proposed()))
        .collect()
}

#[test]
fn an_action_proposed_from_added_context_names_who_added_it() {
    let mut case = duplicate_case();
    let last = case.actions.len() - 1;
    case.actions[last].origin = Origin::PromptedBy(Actor::Slack(id("U0PROMPTER")));
    let statuses = all_proposed(&case);
    let view = CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    };
    let shown = serde_json::to_string(&render_blocks(&view)).expect("json");
    assert!(
        shown.contains("proposed from context added by <@U0PROMPTER>"),
        "{shown}"
    );
    let text = render_text(&view);
    assert!(
        text.contains("proposed from context added by U0PROMPTER"),
        "{text}"
    );
}

#[test]
fn truncate_cuts_on_char_boundaries() {
    assert_eq!(truncate("abc", 3), "abc");
    assert_eq!(truncate("abcd", 3), "ab…");
    assert_eq!(truncate("名字很长", 3), "名字…");
}

#[test]
fn button_values_round_trip_and_refuse_garbage() {
    let case = CaseId::from_random(0xabc);
    let value = button_value(&case, &crate::domain::test_key("a2"));
    assert_eq!(parse_button_value(&value), Some((case, "a2".to_owned())));
    for bad in [
        "",
        "a1",
        "case_000000000abc",
        "case_000000000abc/",
        "case_XYZ/a1",
        "case_000000000abc/a 1",
    ] {
        assert_eq!(parse_button_value(bad), None, "{bad}");
    }
}

#[test]
fn fallback_text_names_category_ids_and_count_but_no_email() {
    assert_eq!(
        fallback_text(&duplicate_case()),
        "Billing case case_1a2b3c4d5e6f: Customer cus_Ana1, cus_Ana2 · Decision: Duplicate personal subscription · Actions: 2 proposed actions"
    );
    let mut warned = duplicate_case();
    warned.warnings = vec!["The message names cus_Other1".to_owned()];
    assert_eq!(
        fallback_text(&warned),
        "Billing case case_1a2b3c4d5e6f: ⚠️ 1 warning · Customer cus_Ana1, cus_Ana2 · Decision: Duplicate personal subscription · Actions: 2 proposed actions",
        "warnings first, as on the card"
    );
    let not_found = testing::case(
        snapshot("nobody@example.com", vec![]),
        Triage::NotFound,
        vec![],
    );
    let text = fallback_text(&not_found);
    assert_eq!(
        text,
        "Billing case case_1a2b3c4d5e6f: no customer found for the email given"
    );
}

#[test]
fn times_format_as_date_and_utc_minute() {
    assert_eq!(format_date(NOW), "2026-11-25");
    assert_eq!(format_datetime(NOW), "2026-11-25 14:03 UTC");
    assert_eq!(format_datetime(i64::MAX), format!("@{}", i64::MAX));
}

#[test]
fn card_line_shows_brand_last4_expiry_and_expired() {
    let card = CardSummary {
        brand: "visa".into(),
        last4: "4242".into(),
        exp_month: 4,
        exp_year: 2027,
    };
    assert_eq!(
        card_line(&card, NOW, Markup::Plain),
        "visa •••• 4242, exp 04/2027"
    );
    let old = CardSummary {
        exp_year: 2025,
        ..card
    };
    assert_eq!(
        card_line(&old, NOW, Markup::Plain),
        "visa •••• 4242, exp 04/2025 (expired)"
    );
}

#[test]
fn text_rendering_has_every_part_and_the_draft() {
    let case = duplicate_case();
    let statuses = [(crate::domain::test_key("a1"), proposed())];
    let text = render_text(&CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    });
    for part in [
        "Billing case case_1a2b3c4d5e6f",
        "Customer",
        "Found by email ana@example.com: 2 customers (Stripe as of 2026-11-25 14:03 UTC)",
        "cus_Ana2",
        "Billing state\n  Subscriptions\n    • sub_First active",
        "sub_Second active",
        "Decision",
        "Duplicate personal subscription",
        "Actions\n  2 actions: 1 awaiting approval · 1 not tracked yet",
        "a1 Cancel sub_Second",
        "Awaiting approval",
        "a2 Close the case",
        "not tracked yet",
        "Revenue impact if every proposal runs: refunded EUR 39.00",
        "Product gap",
        "no_duplicate_guard",
        "Follow-up\n  Customer message draft in English (en): safe to send now",
        "Full draft:\n    Hi Ana,",
    ] {
        assert!(text.contains(part), "missing {part:?} in\n{text}");
    }
    assert!(
        !text.contains('*') && !text.contains('`'),
        "no Slack markup in\n{text}"
    );
}

#[test]
fn json_rendering_is_versioned_with_statuses_by_key() {
    let case = duplicate_case();
    let statuses = [(crate::domain::test_key("a1"), proposed())];
    let json = render_json(&CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    });
    assert_eq!(json["version"], 1);
    assert_eq!(json["case"]["id"], "case_1a2b3c4d5e6f");
    assert_eq!(json["statuses"]["a1"]["state"], "proposed");
    assert!(json["statuses"]["a2"].is_null());
}

#[test]
fn a_verifying_action_says_it_is_being_checked_and_a_done_one_what_stripe_confirmed() {
    let case = duplicate_case();
    let verifying = ActionStatus::Verifying {
        approved_by: vec![id("U0APPROVER")],
        at: NOW,
        owner: Some("inst_1".to_owned()),
        reason: "HTTP 500".to_owned(),
    };
    let done = ActionStatus::Succeeded {
        approved_by: vec![id("U0APPROVER")],
        at: NOW,
        stripe_ids: vec!["re_1".to_owned()],
        notes: vec![
            "refunded re_1 (EUR 39.00 of ch_1) (confirmed with Stripe)".to_owned(),
            "re_2 (EUR 1.00) on ch_1 was refunded outside this action (not by the bot for it)"
                .to_owned(),
        ],
    };
    let statuses = [
        (crate::domain::test_key("a1"), verifying),
        (crate::domain::test_key("a2"), done),
    ];
    let blocks = render_blocks(&CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    });
    assert!(
        actions_blocks(&blocks).is_empty(),
        "nothing to click while Stripe is asked or once done"
    );
    let json = serde_json::to_string(&blocks).expect("serialises");
    assert!(
        json.contains("Checking with Stripe what happened (HTTP 500)"),
        "{json}"
    );
    assert!(
        json.contains("(confirmed with Stripe)") && json.contains("refunded outside this action"),
        "{json}"
    );
    assert!(!json.contains("inst_1"), "the owner is not shown");
}

#[test]
fn warnings_come_first_on_the_block_kit_card_and_in_text() {
    let mut case = duplicate_case();
    case.warnings = vec!["The message names cus_Other1 — look it up separately <now>".to_owned()];
    let statuses = [(crate::domain::test_key("a1"), proposed())];
    let view = CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    };
    let blocks = serde_json::to_value(render_blocks(&view)).expect("blocks serialise");
    let first_section = blocks[1]["text"]["text"]
        .as_str()
        .expect("a section after the header");
    assert!(
        first_section.starts_with("*⚠️ Warnings*\n• The message names cus_Other1"),
        "{first_section}"
    );
    assert!(
        first_section.contains("&lt;now&gt;"),
        "escaped for Slack: {first_section}"
    );
    let text = render_text(&view);
    let warning = text.find("⚠️ Warnings").expect("text card has the warning");
    assert!(
        warning < text.find("Customer").expect("customer section"),
        "{text}"
    );
    assert!(
        text.contains("• The message names cus_Other1 — look it up separately <now>"),
        "{text}"
    );
}

/// The playbook's headings (docs/PLAYBOOK.md §5) in the card's order.
const PLAYBOOK_ORDER: [&str; 6] = [
    CUSTOMER,
    BILLING_STATE,
    DECISION,
    ACTIONS,
    FOLLOW_UP,
    PRODUCT_GAP,
];

/// The headings of the Block Kit card in order: a section whose first line
/// is a bold or italic title alone (an action's first line is its bold key
/// and its summary), and an italic sub-part title right under a bold one
/// (Billing state's first sub-part).
fn block_headings(blocks: &[SlackBlock]) -> Vec<String> {
    let title = |line: &str, mark: char| {
        line.strip_prefix(mark)
            .and_then(|l| l.strip_suffix(mark))
            .filter(|t| !t.contains(['*', '_']))
            .map(str::to_owned)
    };
    let json = serde_json::to_value(blocks).expect("blocks serialise");
    let mut headings = Vec::new();
    for block in json.as_array().expect("an array") {
        if block["type"] != "section" {
            continue;
        }
        let text = block["text"]["text"].as_str().unwrap_or_default();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        if let Some(bold) = title(first, '*') {
            headings.push(bold);
            headings.extend(lines.next().and_then(|l| title(l, '_')));
        } else {
            headings.extend(title(first, '_'));
        }
    }
    headings
}

/// The headings of the text card in order: unindented lines after the
/// header (top level), and under Billing state the lines indented by two
/// that have lines indented by four under them.
fn text_headings(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().skip(2).filter(|l| !l.is_empty()).collect();
    let mut headings = Vec::new();
    let mut in_billing = false;
    for (i, line) in lines.iter().enumerate() {
        let next = lines.get(i + 1).copied().unwrap_or_default();
        if !line.starts_with(' ') {
            in_billing = *line == BILLING_STATE;
            headings.push((*line).to_owned());
        } else if in_billing && !line.starts_with("   ") && next.starts_with("    ") {
            headings.push(line.trim().to_owned());
        }
    }
    headings
}

fn with_subparts(top: &[&str], subparts: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for heading in top {
        out.push((*heading).to_owned());
        if *heading == BILLING_STATE {
            out.extend(subparts.iter().map(|s| (*s).to_owned()));
        }
    }
    out
}

#[test]
fn block_kit_and_text_read_the_playbooks_headings_in_order() {
    let case = duplicate_case();
    let statuses = [
        (crate::domain::test_key("a1"), proposed()),
        (crate::domain::test_key("a2"), proposed()),
    ];
    let view = CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    };
    let expected = with_subparts(
        &PLAYBOOK_ORDER,
        &["Subscriptions", "Invoices", "Charges", "Anomalies"],
    );
    assert_eq!(block_headings(&render_blocks(&view)), expected);
    let text = render_text(&view);
    assert_eq!(text_headings(&text), expected, "{text}");

    // Warnings stay first, before the customer.
    let mut warned = duplicate_case();
    warned.warnings = vec!["The message addresses the approvers".to_owned()];
    let view = CardView {
        case: &warned,
        ..view
    };
    let mut with_warning = vec![WARNINGS.to_owned()];
    with_warning.extend(expected.iter().cloned());
    assert_eq!(block_headings(&render_blocks(&view)), with_warning);
    assert_eq!(text_headings(&render_text(&view)), with_warning);
}

#[test]
fn a_card_without_customer_or_actions_still_has_every_heading() {
    let case = testing::case(snapshot("sub_Nobody", vec![]), Triage::NotFound, vec![]);
    let view = CardView {
        case: &case,
        statuses: &[],
        now: NOW,
    };
    let expected: Vec<String> = PLAYBOOK_ORDER.iter().map(|h| (*h).to_owned()).collect();
    let blocks = render_blocks(&view);
    assert_eq!(block_headings(&blocks), expected);
    let text = render_text(&view);
    assert_eq!(text_headings(&text), expected, "{text}");
    assert!(
        text.contains("Billing state\n  None: no customer found."),
        "{text}"
    );
    assert!(text.contains("Actions\n  No actions proposed."), "{text}");
}

#[test]
fn a_large_account_keeps_every_heading_within_slack_limits() {
    // Five customers sharing an email, each with twelve live subscriptions,
    // twelve open invoices and twenty charges, forty proposals, warnings.
    let t0 = NOW - 90 * DAY;
    let customers = (0..5)
        .map(|c| {
            let cus = format!("cus_Big{c}");
            let mut customer = customer(&cus, "Big Co", "ops@big.example", "en");
            for i in 0..12 {
                let sub = format!("sub_Big{c}x{i}");
                customer.subscriptions.push(subscription(
                    &sub,
                    &cus,
                    SubscriptionStatus::PastDue,
                    t0 + i * DAY,
                    3,
                ));
                customer.invoices.push(invoice(
                    &format!("in_Big{c}x{i}"),
                    &cus,
                    &sub,
                    InvoiceStatus::Open,
                    t0 + i * DAY,
                ));
            }
            for i in 0..20 {
                let mut charge = charge(&format!("ch_Big{c}x{i}"), &cus, None, t0 + i * DAY);
                charge.disputed = i % 3 == 0;
                customer.charges.push(charge);
            }
            customer
        })
        .collect();
    let mut case = testing::case(
        snapshot("ops@big.example", customers),
        Triage::Classified {
            category: Category::FailedPayment,
            evidence: vec!["x".repeat(400); 30],
        },
        (1..=40)
            .map(|i| ProposedAction {
                rationale: "r".repeat(3000),
                ..close_no_action(&format!("a{i}"))
            })
            .collect(),
    );
    case.warnings = vec!["w".repeat(200); 30];
    case.product_gap = Some(ProductGap {
        surface: "payment_recovery".to_owned(),
        note: "n".repeat(5000),
    });
    let statuses: Vec<(ActionKey, ActionStatus)> = case
        .actions
        .iter()
        .map(|a| (a.key.clone(), proposed()))
        .collect();
    let view = CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    };
    let blocks = render_blocks(&view);
    check_limits(&blocks);
    let mut expected = vec![WARNINGS.to_owned()];
    expected.extend(with_subparts(
        &PLAYBOOK_ORDER,
        &["Subscriptions", "Invoices", "Charges", "Anomalies"],
    ));
    assert_eq!(block_headings(&blocks), expected);
    let json = serde_json::to_string(&blocks).expect("serialises");
    let shown = actions_blocks(&blocks).len();
    assert!(
        shown >= 10,
        "the actions still get most of the card: {shown}"
    );
    assert!(
        json.contains(&format!("…and {} more actions", 40 - shown)),
        "hidden actions are counted: {json}"
    );
    assert!(
        json.contains("…and 52 more"),
        "60 live subscriptions collapse"
    );
}

#[test]
fn the_follow_up_part_says_what_the_draft_is_and_follows_the_actions() {
    let case = duplicate_case();
    let slack = |statuses: &[(ActionKey, ActionStatus)]| {
        let blocks = render_blocks(&CardView {
            case: &case,
            statuses,
            now: NOW,
        });
        let json = serde_json::to_value(&blocks).expect("serialises");
        json.as_array()
            .expect("an array")
            .iter()
            .filter_map(|b| b["text"]["text"].as_str())
            .find(|t| t.starts_with("*Follow-up*"))
            .expect("a Follow-up section")
            .to_owned()
    };
    let before = slack(&[
        (crate::domain::test_key("a1"), proposed()),
        (crate::domain::test_key("a2"), proposed()),
    ]);
    assert_eq!(
        before,
        "*Follow-up*\nCustomer message draft in English (en): safe to send now, it says what was found and promises nothing that has not happened.\nOnce *a1* has run, an updated draft stating what was done follows in the thread.\nFull draft in the thread."
    );
    assert!(
        !before.contains("Hi Ana"),
        "the draft itself is in the thread"
    );

    let done = ActionStatus::Succeeded {
        approved_by: vec![id("U0APPROVER")],
        at: NOW,
        stripe_ids: vec!["re_1".to_owned()],
        notes: vec![],
    };
    let after = slack(&[
        (crate::domain::test_key("a1"), done),
        (crate::domain::test_key("a2"), proposed()),
    ]);
    assert!(
        after.contains(
            "Updated after *a1* ran: the latest draft in the thread states what was done."
        ),
        "{after}"
    );
    assert!(!after.contains("Once *a1* has run"), "{after}");

    let expired = ActionStatus::Proposed {
        approvals: vec![],
        expires_at: NOW - 1,
    };
    let lapsed = slack(&[
        (crate::domain::test_key("a1"), expired),
        (crate::domain::test_key("a2"), proposed()),
    ]);
    assert!(
        !lapsed.contains("updated draft"),
        "an expired proposal brings no redraft: {lapsed}"
    );

    let mut chinese = duplicate_case();
    chinese.followup.locale = "zh-CN".to_owned();
    chinese.actions = vec![close_no_action("a1")];
    let text = render_text(&CardView {
        case: &chinese,
        statuses: &[],
        now: NOW,
    });
    assert!(
        text.contains("Customer message draft in Chinese (Simplified) (zh-CN)"),
        "{text}"
    );
}

#[test]
fn the_actions_part_counts_where_each_action_stands_as_it_runs() {
    let case = duplicate_case();
    let running = ActionStatus::Executing {
        approved_by: vec![id("U0APPROVER")],
        at: NOW,
        owner: None,
    };
    let text = render_text(&CardView {
        case: &case,
        statuses: &[
            (crate::domain::test_key("a1"), running),
            (crate::domain::test_key("a2"), proposed()),
        ],
        now: NOW,
    });
    assert!(
        text.contains("Actions\n  2 actions: 1 awaiting approval · 1 running\n"),
        "{text}"
    );
    assert!(
        text.contains("Executing since 2026-11-25 14:03 UTC"),
        "{text}"
    );
}

#[test]
fn context_other_customers_and_add_context_sit_under_their_headings() {
    let mut case = duplicate_case();
    case.message = Some("Down nine days <please> refund".to_owned());
    case.context = CaseContext {
        message_given_by: Some(Actor::Slack(id("U0OPERATOR"))),
        messages: vec![OperatorNote {
            by: Actor::Slack(id("U0OTHEROP1")),
            at: NOW,
            text: "It is still down & I want my money".to_owned(),
        }],
        notes: vec![OperatorNote {
            by: Actor::Slack(id("U0OTHEROP1")),
            at: NOW,
            text: "Called the customer".to_owned(),
        }],
        also_named: vec![
            LookupQuery::parse("cus_Other1").expect("id"),
            LookupQuery::parse("bo@example.com").expect("email"),
        ],
    };
    let statuses = [
        (crate::domain::test_key("a1"), proposed()),
        (crate::domain::test_key("a2"), proposed()),
    ];
    let view = CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    };
    let blocks = render_blocks(&view);
    check_limits(&blocks);
    let json: Vec<serde_json::Value> = blocks
        .iter()
        .map(|b| serde_json::to_value(b).expect("serialises"))
        .collect();
    let at = |block_id: &str| {
        json.iter()
            .position(|b| b["block_id"] == block_id)
            .unwrap_or_else(|| panic!("no {block_id} block"))
    };
    let heading = |title: &str| {
        json.iter()
            .position(|b| {
                b["text"]["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(&format!("*{title}*")))
            })
            .unwrap_or_else(|| panic!("no {title} section"))
    };
    assert_eq!(at("look_ups"), heading(CUSTOMER) + 1);
    assert_eq!(at("add_context"), heading(DECISION) + 1);
    let look_ups: Vec<&str> = json[at("look_ups")]["elements"]
        .as_array()
        .expect("buttons")
        .iter()
        .map(|e| e["value"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(look_ups, ["cus_Other1", "bo@example.com"]);
    // Slack refuses a message whose actions block repeats an action_id.
    let ids: Vec<&str> = json[at("look_ups")]["elements"]
        .as_array()
        .expect("buttons")
        .iter()
        .map(|e| e["action_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ids, ["look_up_named:0", "look_up_named:1"]);
    assert!(ids.iter().all(|id| crate::card::is_look_up(id)));
    assert!(
        !crate::card::is_look_up("look_up_namedX") && !crate::card::is_look_up("look_up_named:x")
    );
    assert_eq!(
        json[at("add_context")]["elements"][0]["value"],
        case.id.as_str()
    );
    let decision = json[heading(DECISION)]["text"]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        decision.contains("Context given by <@U0OPERATOR>")
            && decision.contains("&lt;please&gt;")
            && decision.contains(
                "Customer's message given by <@U0OTHEROP1> 2026-11-25 14:03 UTC: “It is still down &amp; I want my money”"
            )
            && decision.contains("Note from <@U0OTHEROP1> 2026-11-25 14:03 UTC: Called the customer"),
        "{decision}"
    );
    // The decision comes first, the context it read after it.
    let category = decision.find("*Duplicate").expect("the category");
    assert!(
        category < decision.find("Context given by").expect("the context"),
        "{decision}"
    );
    let text = render_text(&view);
    assert!(
        text.contains("also names cus_Other1, bo@example.com"),
        "{text}"
    );
    assert!(text.contains("Context given by U0OPERATOR"), "{text}");
    assert_eq!(
        block_headings(&blocks),
        with_subparts(
            &PLAYBOOK_ORDER,
            &["Subscriptions", "Invoices", "Charges", "Anomalies"],
        ),
        "the buttons add no heading"
    );
}

#[test]
fn long_context_never_pushes_the_decision_off_the_card_and_the_newest_notes_show_first() {
    let mut case = duplicate_case();
    let Triage::Classified { evidence, .. } = &mut case.triage else {
        panic!("the fixture is classified");
    };
    // A decision with as much evidence as the card lists, each line long.
    *evidence = (1..=8)
        .map(|n| format!("evidence {n}: {}", "e".repeat(150)))
        .collect();
    case.message = Some(format!("customer {}", "m".repeat(3000)));
    case.context = CaseContext {
        message_given_by: Some(Actor::Slack(id("U0OPERATOR"))),
        notes: (1..=12)
            .map(|n| OperatorNote {
                by: Actor::Slack(id("U0OTHEROP1")),
                at: NOW + n,
                text: format!("note {n} <{}>", "n".repeat(700)),
            })
            .collect(),
        ..Default::default()
    };
    let statuses = [
        (crate::domain::test_key("a1"), proposed()),
        (crate::domain::test_key("a2"), proposed()),
    ];
    let view = CardView {
        case: &case,
        statuses: &statuses,
        now: NOW,
    };
    let blocks = render_blocks(&view);
    check_limits(&blocks);
    let decision = blocks
        .iter()
        .map(|b| serde_json::to_value(b).expect("serialises"))
        .find_map(|b| {
            b["text"]["text"]
                .as_str()
                .filter(|t| t.starts_with(&format!("*{DECISION}*")))
                .map(str::to_owned)
        })
        .expect("a Decision section");
    assert!(
        decision.chars().count() <= MAX_SECTION_TEXT && !decision.ends_with('…'),
        "the section is within Slack's limit without being cut: {decision}"
    );
    assert!(decision.contains("*Duplicate"), "{decision}");
    assert!(decision.contains("• evidence 8: "), "{decision}");
    let context: usize = decision
        .lines()
        .skip_while(|l| !l.starts_with("Context given by"))
        .map(|l| l.chars().count() + 1)
        .sum();
    assert!(context <= CONTEXT_BUDGET, "{context}: {decision}");
    assert!(
        decision.contains("Context given by <@U0OPERATOR>"),
        "{decision}"
    );
    let newest = decision
        .find("note 12 &lt;")
        .expect("the newest note shows");
    match decision.find("note 11 &lt;") {
        Some(older) => assert!(newest < older, "newest first: {decision}"),
        None => assert!(!decision.contains("note 1 &lt;"), "{decision}"),
    }
    assert!(
        !decision.contains("note 1 &lt;"),
        "the oldest is left out: {decision}"
    );
    assert!(
        decision.contains("…and 10 older messages or notes not shown"),
        "{decision}"
    );
    // The terminal page reads the same, within the same budget.
    let text = render_text(&view);
    assert!(text.contains("note 12 <"), "{text}");
    assert!(!text.contains("note 1 <"), "{text}");
}

#[test]
fn the_actions_take_only_the_blocks_the_other_parts_leave() {
    let mut case = duplicate_case();
    case.actions = (1..=6).map(|i| close_no_action(&format!("a{i}"))).collect();
    let statuses: Vec<(ActionKey, ActionStatus)> = case
        .actions
        .iter()
        .map(|a| (a.key.clone(), proposed()))
        .collect();
    let outline = outline(
        &CardView {
            case: &case,
            statuses: &statuses,
            now: NOW,
        },
        Markup::Slack,
    );
    let Some(Part::Actions(actions)) = outline.parts.iter().find(|p| matches!(p, Part::Actions(_)))
    else {
        panic!("the card has an Actions part");
    };
    // Room for two actions (section + buttons each) and half of a third.
    let blocks =
        serde_json::to_value(super::blocks::actions_blocks(actions, 5)).expect("blocks serialise");
    let blocks = blocks.as_array().expect("an array");
    let shown = blocks
        .iter()
        .filter(|b| {
            b["block_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("buttons_"))
        })
        .count();
    assert_eq!(shown, 2, "{blocks:?}");
    assert_eq!(
        blocks.len(),
        2 + 4 + 3,
        "frame, two actions, note, the More actions… menu and divider"
    );
    assert_eq!(
        blocks[blocks.len() - 2]["block_id"],
        "more_actions",
        "{blocks:?}"
    );
    assert!(
        blocks[blocks.len() - 3]["elements"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("…and 4 more actions")),
        "{blocks:?}"
    );
}

#[test]
fn when_not_every_action_fits_those_awaiting_a_decision_are_shown_first() {
    let mut case = duplicate_case();
    case.actions = (1..=6).map(|i| close_no_action(&format!("a{i}"))).collect();
    // a1…a4 are settled (rejected), a5 and a6 (say, just chosen) await a decision.
    let statuses: Vec<(ActionKey, ActionStatus)> = case
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let status = if i < 4 {
                ActionStatus::Rejected {
                    by: id("U0APPROVER"),
                    at: NOW,
                    reason: "not needed".to_owned(),
                }
            } else {
                proposed()
            };
            (a.key.clone(), status)
        })
        .collect();
    let outline = outline(
        &CardView {
            case: &case,
            statuses: &statuses,
            now: NOW,
        },
        Markup::Slack,
    );
    let Some(Part::Actions(actions)) = outline.parts.iter().find(|p| matches!(p, Part::Actions(_)))
    else {
        panic!("the card has an Actions part");
    };
    let blocks =
        serde_json::to_value(super::blocks::actions_blocks(actions, 5)).expect("blocks serialise");
    let ids: Vec<&str> = blocks
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|b| b["block_id"].as_str())
        .collect();
    assert!(
        ids.contains(&"buttons_a5") && ids.contains(&"buttons_a6"),
        "{ids:?}"
    );
    // The one block left goes to the first settled action, in card order.
    assert_eq!(
        ids,
        [
            "action_a1",
            "action_a5",
            "buttons_a5",
            "action_a6",
            "buttons_a6",
            "more_actions"
        ]
    );
    assert!(blocks.to_string().contains("…and 3 more actions not shown"));
}
