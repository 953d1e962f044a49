//! The cases that must hold on the pinned API version's shapes, end to end
//! (signed slash command → card → Approve → Stripe): charges link to
//! invoices and subscriptions only through the invoices' payments. The
//! shape layer in front of localstripe is itself checked here: a request
//! without the version header gets localstripe's own (old) shape.

use crate::fixtures::{card_of, case_id_of, scenario, seeded, value, wait_until_settled};
use crate::helpers::*;
use crate::localstripe;
use crate::pinned::{self, Account};
use billing_triage::domain::{ActionKind, ActionStatus, Case};

async fn stored_case(app: &TestApp, card: &serde_json::Value) -> Case {
    app.store
        .load_case(&case_id_of(card))
        .await
        .expect("redis")
        .expect("the case is stored")
}

/// The form bodies of the refunds the stand-in was asked for.
fn refunds_sent(calls: &std::sync::Mutex<Vec<StripeCall>>) -> Vec<String> {
    calls
        .lock()
        .expect("calls")
        .iter()
        .filter(|c| c.method == "POST" && c.path == "/v1/refunds")
        .map(|c| c.form.clone())
        .collect()
}

/// The key of the case's action refunding `charge` (alone or with a cancel).
fn refund_key(case: &Case, charge: &str) -> Option<billing_triage::domain::ActionKey> {
    case.actions.iter().find_map(|a| {
        let refunds = match &a.kind {
            ActionKind::Refund(t) => vec![t.charge.to_string()],
            ActionKind::CancelDuplicate { refunds, .. } => {
                refunds.iter().map(|r| r.charge.to_string()).collect()
            }
            _ => Vec::new(),
        };
        refunds.contains(&charge.to_owned()).then(|| a.key.clone())
    })
}

#[tokio::test]
async fn the_layer_answers_the_pinned_shape_only_to_requests_that_name_the_version() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let dup = scenario(&seeded, "duplicate personal subscription");
    // Without Stripe-Version: localstripe's own shape, links on both sides.
    let old = stripe
        .get_json(&format!("/v1/invoices?customer={}", dup.customer))
        .await;
    let first = &old["data"][0];
    assert!(first["charge"]["id"].is_string(), "old shape: {first}");
    assert!(first["subscription"].is_string(), "old shape: {first}");
    let subs = stripe
        .get_json(&format!("/v1/subscriptions?customer={}", dup.customer))
        .await;
    assert!(subs["data"][0]["current_period_end"].is_number());

    // Naming the pinned version: no links on the invoice or the charge, the
    // subscription under `parent`, payments and refunds only when expanded,
    // periods on the items.
    let new = stripe
        .get_json_pinned(&format!("/v1/invoices?customer={}", dup.customer))
        .await;
    let first = &new["data"][0];
    for gone in ["charge", "payment_intent", "paid", "subscription"] {
        assert!(first.get(gone).is_none(), "{gone} in {first}");
    }
    assert!(
        first["parent"]["subscription_details"]["subscription"].is_string(),
        "{first}"
    );
    assert!(
        first.get("payments").is_none(),
        "payments only when expanded: {first}"
    );
    let expanded = stripe
        .get_json_pinned(&format!(
            "/v1/invoices?customer={}&expand[]=data.payments",
            dup.customer
        ))
        .await;
    let payment = &expanded["data"][0]["payments"]["data"][0];
    assert_eq!(payment["object"], "invoice_payment", "{expanded}");
    let charges = stripe
        .get_json_pinned(&format!("/v1/charges?customer={}", dup.customer))
        .await;
    let charge = &charges["data"][0];
    assert!(
        charge.get("invoice").is_none() && charge.get("refunds").is_none(),
        "{charge}"
    );
    let subs = stripe
        .get_json_pinned(&format!("/v1/subscriptions?customer={}", dup.customer))
        .await;
    let sub = &subs["data"][0];
    assert!(sub.get("current_period_end").is_none(), "{sub}");
    assert!(
        sub["items"]["data"][0]["current_period_end"].is_number(),
        "{sub}"
    );
    // An expansion through a field the version removed, or deeper than
    // four levels, is refused as Stripe refuses it.
    let refused = stripe
        .get_json_pinned(&format!(
            "/v1/invoices?customer={}&expand[]=data.charge",
            dup.customer
        ))
        .await;
    assert_eq!(
        refused["error"]["type"], "invalid_request_error",
        "{refused}"
    );
    let deep = stripe
        .get_json_pinned(&format!(
            "/v1/invoices?customer={}&expand[]=data.payments.data.payment.payment_intent",
            dup.customer
        ))
        .await;
    assert_eq!(deep["error"]["type"], "invalid_request_error", "{deep}");
}

#[tokio::test]
async fn a_duplicate_is_canceled_and_its_own_charge_refunded_exactly_once() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let dup = scenario(&seeded, "duplicate personal subscription");
    let app = spawn_app(&stripe.base_url()).await;

    app.slash(&format!("lookup {}", dup.customer), REQUESTER)
        .await;
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let card = card_of(&posts);
    let shown = card.to_string();
    assert!(
        !shown.contains("it has no charge to refund"),
        "the duplicate's charge is found through its invoice's payments: {shown}"
    );
    let case = stored_case(&app, &card).await;
    let (key, sub, refunds) = case
        .actions
        .iter()
        .find_map(|a| match &a.kind {
            ActionKind::CancelDuplicate {
                subscription,
                refunds,
            } => Some((a.key.clone(), subscription.clone(), refunds.clone())),
            _ => None,
        })
        .expect("a cancel-duplicate proposal");
    assert_eq!(refunds.len(), 1, "its own charge, and only it: {refunds:?}");
    let own = refunds[0].charge.to_string();
    // The charge refunded is the one that paid the duplicate's own invoice.
    let invoices = case
        .snapshot
        .invoices()
        .filter(|i| i.subscription.as_ref() == Some(&sub))
        .filter_map(|i| i.charge.as_ref().map(ToString::to_string))
        .collect::<Vec<_>>();
    assert_eq!(invoices, vec![own.clone()]);

    let (_, url) = app
        .click("approve_action", &value(&case, &key), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.starts_with("Done"), "{answer}");
    assert!(matches!(
        wait_until_settled(&app.store, &case, &key).await,
        ActionStatus::Succeeded { .. }
    ));
    let refunded = crate::fixtures::refunds_in_localstripe(&stripe, &own).await;
    assert_eq!(refunded.len(), 1, "{refunded:?}");
    let others: Vec<String> = case
        .snapshot
        .charges()
        .map(|c| c.id.to_string())
        .filter(|c| *c != own)
        .collect();
    for other in others {
        assert!(
            crate::fixtures::refunds_in_localstripe(&stripe, &other)
                .await
                .is_empty(),
            "{other} is not refunded"
        );
    }
    // A second click runs nothing again.
    app.click("approve_action", &value(&case, &key), APPROVER_2)
        .await;
    assert_eq!(
        crate::fixtures::refunds_in_localstripe(&stripe, &own)
            .await
            .len(),
        1
    );
}

const DAY: i64 = 86_400;

#[tokio::test]
async fn a_charge_on_the_canceled_subscriptions_own_invoice_is_refunded_never_the_live_ones() {
    let now = now_ts();
    let cus = "cus_Pinned1";
    let mut old =
        pinned::subscription_at("sub_Old1", cus, "canceled", 3900, "month", now - 90 * DAY);
    old["canceled_at"] = (now - 10 * DAY).into();
    let live = pinned::subscription_at("sub_Live1", cus, "active", 3900, "month", now - 60 * DAY);
    let account = Account {
        customer: pinned::customer(cus, Some("pat@example.com")),
        subscriptions: vec![live, old],
        invoices: vec![
            pinned::invoice(
                "in_Live1",
                cus,
                Some("sub_Live1"),
                3900,
                now - 3 * DAY,
                Some("pi_Live1"),
            ),
            pinned::invoice(
                "in_Old1",
                cus,
                Some("sub_Old1"),
                3900,
                now - 5 * DAY,
                Some("pi_Old1"),
            ),
        ],
        // The live subscription's charge is the newest after the cancellation.
        charges: vec![
            pinned::charge_at("ch_Live1", cus, 3900, now - 3 * DAY, "pi_Live1"),
            pinned::charge_at("ch_Old1", cus, 3900, now - 5 * DAY, "pi_Old1"),
        ],
        invoices_have_more: false,
    };
    let (base, calls) = scripted_stripe(account.script()).await;
    let app = spawn_app(&base).await;
    app.slash(
        &format!("lookup {cus} I cancelled my plan last week and you still charged me"),
        REQUESTER,
    )
    .await;
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let card = card_of(&posts);
    let case = stored_case(&app, &card).await;
    let key = refund_key(&case, "ch_Old1").unwrap_or_else(|| panic!("a refund of ch_Old1: {card}"));
    assert!(
        refund_key(&case, "ch_Live1").is_none(),
        "the live subscription's charge is never proposed: {card}"
    );
    assert!(card.to_string().contains("own invoice"), "{card}");

    app.click("approve_action", &value(&case, &key), APPROVER_1)
        .await;
    wait_until_settled(&app.store, &case, &key).await;
    let refunds = refunds_sent(&calls);
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert!(refunds[0].contains("charge=ch_Old1"), "{refunds:?}");
}

#[tokio::test]
async fn an_unexpected_yearly_renewal_of_the_last_week_is_refunded() {
    let now = now_ts();
    let cus = "cus_Pinned2";
    let yearly =
        pinned::subscription_at("sub_Year1", cus, "active", 39_000, "year", now - 368 * DAY);
    let account = Account {
        customer: pinned::customer(cus, Some("rene@example.com")),
        subscriptions: vec![yearly],
        invoices: vec![
            pinned::invoice(
                "in_Renew1",
                cus,
                Some("sub_Year1"),
                39_000,
                now - 3 * DAY,
                Some("pi_Renew1"),
            ),
            pinned::invoice(
                "in_First1",
                cus,
                Some("sub_Year1"),
                39_000,
                now - 368 * DAY,
                Some("pi_First1"),
            ),
        ],
        charges: vec![
            pinned::charge_at("ch_Renew1", cus, 39_000, now - 3 * DAY, "pi_Renew1"),
            pinned::charge_at("ch_First1", cus, 39_000, now - 368 * DAY, "pi_First1"),
        ],
        invoices_have_more: false,
    };
    let (base, calls) = scripted_stripe(account.script()).await;
    let app = spawn_app(&base).await;
    app.slash(
        &format!("lookup {cus} I was not expecting to be charged for another year, I forgot it renews automatically. Please refund it"),
        REQUESTER,
    )
    .await;
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let card = card_of(&posts);
    let case = stored_case(&app, &card).await;
    let key = refund_key(&case, "ch_Renew1")
        .unwrap_or_else(|| panic!("the renewal's refund is proposed: {card}"));
    assert!(refund_key(&case, "ch_First1").is_none());

    // Above the refund limit: two approvers.
    app.click("approve_action", &value(&case, &key), APPROVER_1)
        .await;
    app.click("approve_action", &value(&case, &key), APPROVER_2)
        .await;
    wait_until_settled(&app.store, &case, &key).await;
    let refunds = refunds_sent(&calls);
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert!(refunds[0].contains("charge=ch_Renew1"), "{refunds:?}");
}

#[tokio::test]
async fn a_duplicates_charge_that_cannot_be_linked_is_said_to_be_unknown_never_absent() {
    let now = now_ts();
    let cus = "cus_Pinned3";
    let first = pinned::subscription_at("sub_A1", cus, "active", 3900, "month", now - 2 * DAY);
    let second =
        pinned::subscription_at("sub_B1", cus, "active", 3900, "month", now - 2 * DAY + 240);
    // The invoice list was cut (has_more) before the invoices these charges
    // paid: nothing tells which subscription each charge paid.
    let account = Account {
        customer: pinned::customer(cus, Some("quinn@example.com")),
        subscriptions: vec![second, first],
        invoices: vec![pinned::invoice(
            "in_Other1",
            cus,
            None,
            500,
            now - DAY,
            Some("pi_Other1"),
        )],
        charges: vec![
            pinned::charge_at("ch_B1", cus, 3900, now - 2 * DAY + 241, "pi_B1"),
            pinned::charge_at("ch_A1", cus, 3900, now - 2 * DAY + 1, "pi_A1"),
        ],
        invoices_have_more: true,
    };
    let (base, _calls) = scripted_stripe(account.script()).await;
    let app = spawn_app(&base).await;
    app.slash(&format!("lookup {cus}"), REQUESTER).await;
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let shown = card_of(&posts).to_string();
    assert!(shown.contains("sub_B1"), "{shown}");
    assert!(!shown.contains("it has no charge to refund"), "{shown}");
    assert!(shown.contains("could not be told"), "{shown}");
}

#[tokio::test]
async fn a_failed_payments_decline_is_on_the_card() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let failed = scenario(&seeded, "failed payment / incomplete checkout");
    let app = spawn_app(&stripe.base_url()).await;
    app.slash(&format!("lookup {}", failed.customer), REQUESTER)
        .await;
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let shown = card_of(&posts).to_string();
    assert!(
        shown.contains("declined (`generic_decline`): "),
        "the decline code: {shown}"
    );
}

/// The stand-ins' objects read as the bot reads Stripe's: into the
/// pinned version's generated types.
#[test]
fn the_stand_in_objects_read_as_the_pinned_version() {
    let read = |v: &serde_json::Value| serde_json::to_string(v).expect("json");
    let _: stripe_shared::Customer =
        miniserde::json::from_str(&read(&pinned::customer("cus_1", Some("a@example.com"))))
            .expect("customer");
    let _: stripe_shared::PaymentMethod =
        miniserde::json::from_str(&read(&pinned::card_payment_method("pm_1", "4242")))
            .expect("payment method");
    let _: stripe_shared::Subscription = miniserde::json::from_str(&read(&pinned::subscription(
        "sub_1", "cus_1", "active", 900,
    )))
    .expect("subscription");
    let refunds = vec![pinned::refund(
        "re_1",
        "ch_1",
        100,
        serde_json::json!({"case_id": "c"}),
    )];
    let _: stripe_shared::Charge =
        miniserde::json::from_str(&read(&pinned::charge("ch_1", "cus_1", 900, refunds)))
            .expect("charge");
    let _: stripe_shared::Invoice = miniserde::json::from_str(&read(&pinned::invoice(
        "in_1",
        "cus_1",
        Some("sub_1"),
        900,
        1_700_000_000,
        Some("pi_1"),
    )))
    .expect("invoice");
}
