//! Builders and readers the integration tests share: a refund case as the
//! lookup leaves it in Redis ([`refund_case_for`], [`put_case`]), a button
//! value, a scripted Stripe that knows its charge, the seeded localstripe
//! sandbox and its scenarios, an app started on it, an intent as an
//! interrupted run leaves it, the context modal submitted; and the reads of
//! what happened (an action's state, the audit's kinds, localstripe's
//! refunds, the case a card shows, twenty concurrent approvals).

use crate::helpers::*;
use crate::localstripe;
use billing_triage::audit::{AuditKind, ExecutionIntent};
use billing_triage::domain::*;
use billing_triage::store::cases::CardLocation;
use billing_triage::store::Store;
use billing_triage::stripe::sandbox::{seed, SeededCustomer};
use billing_triage::stripe::StripeGateway;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The charge of the refund case and of the scripted Stripe.
pub(crate) const CHARGE: &str = "ch_Approve1";

/// The same case, for a given customer and charge.
pub(crate) fn refund_case_for(
    customer: &str,
    charge_id: &str,
    amount: Money,
    expires_in: i64,
) -> (Case, Vec<(ActionKey, ActionStatus)>) {
    let now = now_ts();
    let customer = CustomerId::parse(customer).expect("id");
    let charge = Charge {
        id: ChargeId::parse(charge_id).expect("id"),
        customer: Some(customer.clone()),
        amount,
        amount_refunded: 0,
        status: ChargeStatus::Succeeded,
        created: now - 3600,
        invoice: None,
        invoice_unknown: false,
        description: None,
        failure_message: None,
        decline_code: None,
        disputed: false,
        refunds: vec![],
    };
    let snapshot = BillingSnapshot {
        query: LookupQuery::Customer(customer.clone()),
        customers: vec![CustomerRecord {
            id: customer.clone(),
            name: Some("Ana".into()),
            email: Some("ana@example.com".into()),
            created: now - 86_400,
            country: None,
            preferred_locales: vec![],
            metadata: BTreeMap::new(),
            default_payment_method: None,
            subscriptions: vec![],
            invoices: vec![],
            charges: vec![charge],
        }],
        fetched_at: now,
    };
    let actions = vec![
        ProposedAction {
            key: akey("a1"),
            kind: ActionKind::PortalLink { customer },
            summary: "Send a portal link".into(),
            rationale: "self-serve".into(),
            origin: Origin::Proposed,
        },
        ProposedAction {
            key: akey("a2"),
            kind: ActionKind::Refund(RefundTarget {
                charge: ChargeId::parse(charge_id).expect("id"),
                amount,
            }),
            summary: format!("Refund {charge_id} {amount}"),
            rationale: "the outage day".into(),
            origin: Origin::Proposed,
        },
        ProposedAction {
            key: akey("a3"),
            kind: ActionKind::CloseNoAction,
            summary: "Close".into(),
            rationale: "nothing to do".into(),
            origin: Origin::Proposed,
        },
    ];
    let case = Case {
        version: Case::VERSION,
        id: CaseId::from_random(uuid::Uuid::new_v4().as_u128() as u64),
        requested_by: Actor::Slack(SlackUserId::parse(REQUESTER).expect("id")),
        message: Some("your service was down, I want a refund".into()),
        snapshot,
        triage: Triage::Classified {
            category: Category::ProductFailure,
            evidence: vec!["outage".into()],
        },
        actions,
        revenue: RevenueImpact::default(),
        followup: FollowUp {
            locale: "en".into(),
            text: "Hi Ana".into(),
        },
        product_gap: None,
        warnings: Vec::new(),
        context: Default::default(),
    };
    let statuses = case
        .actions
        .iter()
        .map(|a| {
            (
                a.key.clone(),
                ActionStatus::Proposed {
                    approvals: vec![],
                    expires_at: now + expires_in,
                },
            )
        })
        .collect();
    (case, statuses)
}

/// Stores the case as the lookup workflow does.
pub(crate) async fn put_case(store: &Store, case: &Case, statuses: &[(ActionKey, ActionStatus)]) {
    store.save_case(case).await.expect("save case");
    store
        .init_actions(&case.id, statuses)
        .await
        .expect("init actions");
    store
        .save_card_location(
            &case.id,
            &CardLocation {
                channel: billing_triage::domain::ChannelId::parse(CHANNEL).expect("channel id"),
                ts: billing_triage::domain::MessageTs::parse("1700000000.000001")
                    .expect("message ts"),
                thread_ts: None,
            },
        )
        .await
        .expect("card location");
}

fn charge_json(refunded: i64) -> String {
    let refunds = if refunded > 0 {
        vec![crate::pinned::refund(
            "re_Earlier0",
            CHARGE,
            refunded,
            serde_json::json!({}),
        )]
    } else {
        Vec::new()
    };
    crate::pinned::charge(CHARGE, "cus_Approve1", 3900, refunds).to_string()
}

/// Stripe that knows the charge and refunds it (or fails refunds with 500).
pub(crate) fn stripe_script(refunds_fail: bool) -> StripeScript {
    Arc::new(move |method: &str, path: &str| match (method, path) {
        ("GET", p) if p.starts_with("/v1/charges/") => (200, charge_json(0)),
        ("POST", "/v1/refunds") if refunds_fail => (
            500,
            r#"{"error":{"type":"api_error","message":"Something went wrong on Stripe's end"}}"#
                .to_owned(),
        ),
        ("POST", "/v1/refunds") => (
            200,
            crate::pinned::refund("re_Scripted1", CHARGE, 3900, serde_json::json!({})).to_string(),
        ),
        _ => (
            404,
            r#"{"error":{"type":"invalid_request_error","message":"No such resource"}}"#.to_owned(),
        ),
    })
}

pub(crate) async fn status(store: &Store, case: &Case, key: impl AsRef<str>) -> ActionStatus {
    store
        .action_status(&case.id, &akey(key.as_ref()))
        .await
        .expect("redis")
        .expect("state exists")
}

pub(crate) async fn audit_kinds(store: &Store, case: &Case) -> Vec<AuditKind> {
    store
        .audit_trail(&case.id)
        .await
        .expect("trail")
        .into_iter()
        .map(|(_, e)| e.kind)
        .collect()
}

pub(crate) fn value(case: &Case, key: impl AsRef<str>) -> String {
    format!("{}/{}", case.id, key.as_ref())
}

/// A succeeded charge of a seeded localstripe customer: (customer, charge, amount).
pub(crate) async fn seeded_charge(base: &str) -> (String, String, Money) {
    let key = StripeKey::parse("sk_test_localstripe").expect("test key");
    let gateway = StripeGateway::new(&key, base).expect("gateway");
    let seeded = seed(&gateway, &key).await.expect("seed");
    let product = seeded
        .iter()
        .find(|s| s.scenario == "product failure or broken trust")
        .expect("product scenario");
    let snapshot = gateway
        .snapshot(&LookupQuery::Customer(product.customer.clone()), now_ts())
        .await
        .expect("snapshot");
    let charge = snapshot
        .charges()
        .find(|c| c.status == ChargeStatus::Succeeded)
        .expect("a paid charge")
        .clone();
    (
        product.customer.to_string(),
        charge.id.to_string(),
        charge.amount,
    )
}

/// Refunds of a charge as localstripe itself stores them.
pub(crate) async fn refunds_in_localstripe(
    stripe: &localstripe::LocalStripe,
    charge: &str,
) -> Vec<serde_json::Value> {
    let json = stripe
        .get_json(&format!("/v1/refunds?charge={charge}&limit=100"))
        .await;
    json["data"].as_array().cloned().unwrap_or_default()
}

pub(crate) async fn wait_until_settled(
    store: &Store,
    case: &Case,
    key: impl AsRef<str>,
) -> ActionStatus {
    for _ in 0..300 {
        let s = status(store, case, key.as_ref()).await;
        if !matches!(
            s,
            ActionStatus::Proposed { .. } | ActionStatus::Executing { .. }
        ) {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("action {} never settled", key.as_ref());
}

/// Twenty Approve clicks on `key` at once, spread over two replicas and two
/// users; returns the state the action settled in, once stragglers are done.
pub(crate) async fn twenty_approvals(
    apps: [&TestApp; 2],
    case: &Case,
    key: &str,
    users: [&str; 2],
) -> ActionStatus {
    let clicks = (0..20).map(|i| {
        let app = apps[i % 2];
        let user = users[(i / 2) % 2];
        let value = value(case, key);
        async move { app.click("approve_action", &value, user).await }
    });
    for (reply, _) in futures::future::join_all(clicks).await {
        assert_eq!(reply.status, 200);
    }
    let settled = wait_until_settled(&apps[0].store, case, key).await;
    // Let any straggler finish before counting.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    settled
}

/// An intent with no steps, as a run that stopped right after writing it
/// leaves in the audit for the reconciler to find.
pub(crate) fn bare_intent(approver: &SlackUserId) -> ExecutionIntent {
    ExecutionIntent {
        action: "refund".to_owned(),
        approved_by: vec![approver.clone()],
        amount_minor: None,
        attempt: 1,
        new_keys: false,
        steps: Vec::new(),
    }
}

/// The sandbox's customers, seeded into the localstripe at `base`.
pub(crate) async fn seeded(base: &str) -> Vec<SeededCustomer> {
    let key = StripeKey::parse("sk_test_localstripe").expect("test key");
    let gateway = StripeGateway::new(&key, base).expect("gateway");
    seed(&gateway, &key).await.expect("seed localstripe")
}

/// The seeded customer of the scenario `name`.
pub(crate) fn scenario<'a>(seeded: &'a [SeededCustomer], name: &str) -> &'a SeededCustomer {
    seeded
        .iter()
        .find(|s| s.scenario == name)
        .unwrap_or_else(|| panic!("no {name} in {seeded:?}"))
}

/// The case a card's button values name.
pub(crate) fn case_id_of(card: &serde_json::Value) -> CaseId {
    let text = card.to_string();
    let at = text.find("case_").expect("the card names its case");
    CaseId::parse(&text[at..at + 17]).expect("a case id")
}

/// localstripe seeded with the sandbox's customers, and the app on it.
pub(crate) async fn start() -> (localstripe::LocalStripe, Vec<SeededCustomer>, TestApp) {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let app = spawn_app(&stripe.base_url()).await;
    (stripe, seeded, app)
}

/// The first case card among `posts`, and its stored case.
pub(crate) async fn card_and_case(app: &TestApp, posts: &[SlackCall]) -> (serde_json::Value, Case) {
    let card = cards(posts).remove(0);
    let case = app
        .store
        .load_case(&case_id_of(&card))
        .await
        .expect("redis")
        .expect("stored");
    (card, case)
}

/// The case cards (posts with blocks) among the calls.
pub(crate) fn cards(calls: &[SlackCall]) -> Vec<serde_json::Value> {
    calls
        .iter()
        .filter(|c| c.body["blocks"].as_array().is_some_and(|b| !b.is_empty()))
        .map(|c| c.body.clone())
        .collect()
}

/// The customer's complaint of an outage, asking for money back.
pub(crate) const OUTAGE: &str =
    "The service was down for nine days during the outage and I want a refund for this month.";

/// Runs `/billing <text>` and returns the stored case its card shows.
pub(crate) async fn lookup_case(app: &TestApp, text: &str, posts_before: usize) -> Case {
    let (reply, _) = app.slash(text, REQUESTER).await;
    assert_eq!(reply.status, 200);
    let posts = app
        .slack
        .wait_for("chat.postMessage", posts_before + 2)
        .await;
    card_and_case(app, &posts[posts_before..]).await.1
}

/// The refunds the case proposes.
pub(crate) fn refunds(case: &Case) -> Vec<&ProposedAction> {
    case.actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::Refund(_)))
        .collect()
}

/// The context modal, submitted.
pub(crate) fn context_submission(case: &CaseId, kind: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "view_submission", "team": {"id": "T0001"},
        "user": {"id": REQUESTER, "username": "op", "team_id": "T0001"},
        "trigger_id": format!("12321423423.333649436676.{}", uuid::Uuid::new_v4().simple()),
        "view": {"id": "V0003", "type": "modal", "callback_id": "add_context",
                 "private_metadata": case.as_str(),
                 "state": {"values": {
                     "context_kind_block": {"context_kind": {"type": "radio_buttons", "selected_option": {"value": kind}}},
                     "context_text_block": {"context_text": {"type": "plain_text_input", "value": text}}
                 }}}
    })
}

/// The card message (not a thread reply) among the posts.
pub(crate) fn card_of(calls: &[SlackCall]) -> serde_json::Value {
    calls
        .iter()
        .find(|c| c.body.get("thread_ts").is_none())
        .map(|c| c.body.clone())
        .expect("a card was posted")
}

/// Waits until the stored `case` has the action `key` (added in the
/// background); panics after 10 s.
pub(crate) async fn wait_for_action(store: &Store, case: &Case, key: &str) -> ProposedAction {
    for _ in 0..200 {
        let stored = store
            .load_case(&case.id)
            .await
            .expect("redis")
            .expect("case");
        if let Some(action) = stored.actions.into_iter().find(|a| a.key == key) {
            return action;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("action {key} never added");
}
