//! The Stripe adapter against localstripe: the sandbox seed, snapshots of
//! each scenario, refunds replayed by idempotency key, cancellations, the
//! missing billing portal, an unreachable Stripe and a refused live key.

use billing_triage::domain::{
    ChargeId, ChargeStatus, CustomerId, Email, LookupQuery, Money, StripeKey, SubscriptionStatus,
};
use billing_triage::stripe::{seed, SeededCustomer, StripeError, StripeGateway};

use crate::localstripe::{self, LocalStripe};

const NOW: i64 = 1_700_000_000;

fn test_key() -> StripeKey {
    StripeKey::parse("sk_test_billingtriage").expect("a valid test key")
}

async fn seeded() -> (LocalStripe, StripeGateway, Vec<SeededCustomer>) {
    let stand_in = localstripe::start().await;
    let gateway =
        StripeGateway::new(&test_key(), &stand_in.base_url()).expect("gateway on localstripe");
    let customers = seed(&gateway, &test_key())
        .await
        .expect("seeding localstripe");
    (stand_in, gateway, customers)
}

fn scenario<'a>(customers: &'a [SeededCustomer], prefix: &str) -> &'a SeededCustomer {
    customers
        .iter()
        .find(|c| c.scenario.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` scenario seeded"))
}

#[tokio::test]
async fn seed_makes_one_customer_per_category_and_snapshots_read_them() {
    let (_stand_in, gateway, customers) = seeded().await;
    assert_eq!(customers.len(), 7);

    // Duplicate: the email finds both customers; the first has two subs on one plan.
    let duplicate = scenario(&customers, "duplicate");
    let email = Email::parse(&duplicate.email).expect("seeded email");
    let snapshot = gateway
        .snapshot(&LookupQuery::Email(email), NOW)
        .await
        .expect("snapshot by email");
    assert_eq!(
        snapshot.customers.len(),
        2,
        "both customers sharing the email"
    );
    let subs: Vec<_> = snapshot.subscriptions().collect();
    assert_eq!(subs.len(), 2);
    assert!(subs.iter().all(|s| s.status == SubscriptionStatus::Active));
    assert_eq!(subs[0].items[0].price_id, subs[1].items[0].price_id);
    assert_eq!(subs[0].items[0].unit_amount.to_string(), "EUR 39.00");
    assert!(
        snapshot
            .charges()
            .filter(|c| c.status == ChargeStatus::Succeeded)
            .count()
            >= 2
    );
    let card = snapshot.customers[0]
        .default_payment_method
        .as_ref()
        .expect("a default card");
    assert_eq!((card.brand.as_str(), card.last4.as_str()), ("visa", "4242"));

    // An exact id lists its customer first, then the one sharing the email.
    let by_id = gateway
        .snapshot(&LookupQuery::Customer(duplicate.customer.clone()), NOW)
        .await
        .expect("by id");
    assert_eq!(by_id.customers.len(), 2);
    assert_eq!(by_id.customers[0].id, duplicate.customer);

    // Multi-seat: quantity 5 and the team metadata.
    let team = scenario(&customers, "genuine");
    let snapshot = gateway
        .snapshot(&LookupQuery::Customer(team.customer.clone()), NOW)
        .await
        .expect("team");
    let sub = snapshot.subscriptions().next().expect("team subscription");
    assert_eq!(sub.seats(), 5);
    assert_eq!(
        sub.metadata.get("team").map(String::as_str),
        Some("acme-ops")
    );
    assert_eq!(
        sub.mrr(),
        Some(Money::new(19_500, sub.items[0].unit_amount.currency))
    );

    // Failed payment: the subscription is failing and the charge failed.
    let failed = scenario(&customers, "failed");
    let snapshot = gateway
        .snapshot(&LookupQuery::Customer(failed.customer.clone()), NOW)
        .await
        .expect("failed");
    assert!(
        snapshot.subscriptions().all(|s| s.status.is_failing()),
        "{:?}",
        snapshot.customers[0].subscriptions
    );
    let charge = snapshot.charges().next().expect("a failed charge");
    assert_eq!(charge.status, ChargeStatus::Failed);
    assert!(charge.failure_message.is_some());
    assert_eq!(
        snapshot.customers[0]
            .default_payment_method
            .as_ref()
            .map(|c| c.last4.as_str()),
        Some("0341")
    );

    // Chinese locale comes through.
    let zh = scenario(&customers, "customer with a Chinese");
    let snapshot = gateway
        .snapshot(&LookupQuery::Customer(zh.customer.clone()), NOW)
        .await
        .expect("zh");
    assert_eq!(
        snapshot.customers[0].preferred_locales,
        vec!["zh-CN".to_owned()]
    );
    assert!(zh.message.is_some());
}

#[tokio::test]
async fn card_summary_never_holds_more_than_brand_last4_and_expiry() {
    let (_stand_in, gateway, customers) = seeded().await;
    let customer = scenario(&customers, "missing").customer.clone();
    let snapshot = gateway
        .snapshot(&LookupQuery::Customer(customer), NOW)
        .await
        .expect("snapshot");
    let json = serde_json::to_string(&snapshot).expect("snapshot serialises");
    assert!(
        !json.contains("4242424242424242"),
        "full card number leaked"
    );
    assert!(json.contains("\"last4\":\"4242\""));
}

#[tokio::test]
async fn unknown_identifiers_give_an_empty_snapshot() {
    let stand_in = localstripe::start().await;
    let gateway = StripeGateway::new(&test_key(), &stand_in.base_url()).expect("gateway");
    let queries = [
        LookupQuery::Customer(CustomerId::parse("cus_doesnotexist").expect("id")),
        LookupQuery::Email(Email::parse("nobody@example.com").expect("email")),
        LookupQuery::Charge(ChargeId::parse("ch_doesnotexist").expect("id")),
    ];
    for query in queries {
        let snapshot = gateway
            .snapshot(&query, NOW)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        assert!(snapshot.customers.is_empty(), "{query}");
        assert_eq!(snapshot.fetched_at, NOW);
    }
}

#[tokio::test]
async fn subscription_invoice_and_charge_ids_resolve_to_their_customer() {
    let (_stand_in, gateway, customers) = seeded().await;
    let target = scenario(&customers, "product").customer.clone();
    let snapshot = gateway
        .snapshot(&LookupQuery::Customer(target.clone()), NOW)
        .await
        .expect("snapshot");
    let record = &snapshot.customers[0];
    let queries = [
        LookupQuery::Subscription(record.subscriptions[0].id.clone()),
        LookupQuery::Invoice(record.invoices[0].id.clone()),
        LookupQuery::Charge(record.charges[0].id.clone()),
    ];
    for query in queries {
        let found = gateway
            .snapshot(&query, NOW)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(
            found.customers.first().map(|c| &c.id),
            Some(&target),
            "{query}"
        );
        assert_eq!(found.customers[0].subscriptions.len(), 1, "{query}");
    }
}

#[tokio::test]
async fn a_refund_sent_twice_with_one_key_refunds_once_and_leaves_a_trace() {
    let (stand_in, gateway, customers) = seeded().await;
    let customer = scenario(&customers, "product").customer.clone();
    let snapshot = gateway
        .snapshot(&LookupQuery::Customer(customer), NOW)
        .await
        .expect("snapshot");
    let charge = snapshot.charges().next().expect("a paid charge").clone();
    let half = charge.amount.with_minor(charge.amount.minor / 2);
    let meta = [
        ("case_id", "case_0123456789ab"),
        ("approved_by", "U0APPROVER"),
        ("action", "a1"),
    ];

    let first = gateway
        .refund(&charge.id, half, "case_0123456789ab-a1", &meta)
        .await
        .expect("refund");
    let second = gateway
        .refund(&charge.id, half, "case_0123456789ab-a1", &meta)
        .await
        .expect("replayed refund");
    assert_eq!(first, second);

    let after = gateway.charge(&charge.id).await.expect("charge");
    assert_eq!(after.amount_refunded, half.minor);
    assert_eq!(after.refunds.len(), 1);

    let refunds = stand_in
        .get_json(&format!("v1/refunds?charge={}", charge.id))
        .await;
    assert_eq!(refunds["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        refunds["data"][0]["metadata"]["case_id"],
        "case_0123456789ab"
    );
    assert_eq!(refunds["data"][0]["metadata"]["approved_by"], "U0APPROVER");
}

#[tokio::test]
async fn cancel_now_and_at_period_end_with_metadata() {
    let (stand_in, gateway, customers) = seeded().await;
    let customer = scenario(&customers, "duplicate").customer.clone();
    let snapshot = gateway
        .snapshot(&LookupQuery::Customer(customer.clone()), NOW)
        .await
        .expect("snapshot");
    let subs: Vec<_> = snapshot.customers[0]
        .subscriptions
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let meta = [
        ("case_id", "case_0123456789ab"),
        ("approved_by", "U0APPROVER"),
    ];

    gateway
        .cancel_subscription(&subs[0], false, "case_0123456789ab-a2", &meta)
        .await
        .expect("cancel now");
    gateway
        .cancel_subscription(&subs[1], true, "case_0123456789ab-a3", &meta)
        .await
        .expect("cancel at period end");

    let after = gateway
        .snapshot(&LookupQuery::Customer(customer), NOW)
        .await
        .expect("snapshot after");
    let find = |id| {
        after
            .subscriptions()
            .find(|s| &s.id == id)
            .expect("subscription still listed")
    };
    assert_eq!(find(&subs[0]).status, SubscriptionStatus::Canceled);
    assert!(find(&subs[1]).cancel_at_period_end);
    assert_eq!(find(&subs[1]).status, SubscriptionStatus::Active);
    // localstripe drops metadata on subscription updates, so check what was sent.
    for sub in &subs {
        let sent = stand_in.bodies_sent("POST", &format!("/v1/subscriptions/{sub}"));
        assert!(
            sent.iter()
                .any(|b| b.contains("metadata[case_id]=case_0123456789ab")
                    && b.contains("metadata[approved_by]=U0APPROVER")),
            "{sub}: {sent:?}"
        );
    }
    assert_eq!(
        stand_in
            .bodies_sent("DELETE", &format!("/v1/subscriptions/{}", subs[0]))
            .len(),
        1
    );
}

#[tokio::test]
async fn a_portal_session_url_is_kept_as_a_secret() {
    // localstripe has no billing portal; the shape layer's stand-in answers
    // `POST /v1/billing_portal/sessions` as Stripe does.
    let (_stand_in, gateway, customers) = seeded().await;
    let customer = scenario(&customers, "failed").customer.clone();
    let url = gateway
        .portal_session(&customer, "case_0123456789ab-a4")
        .await
        .expect("a portal session");
    assert!(url.expose().starts_with("https://"), "a session URL");
    assert!(
        !format!("{url:?}").contains("billing.stripe.com"),
        "its Debug never shows it"
    );
}

#[tokio::test]
async fn unreachable_stripe_is_named_and_hides_the_key() {
    let base = format!("http://127.0.0.1:{}/", localstripe::free_port());
    let gateway = StripeGateway::new(&test_key(), &base).expect("gateway");
    let query = LookupQuery::Customer(CustomerId::parse("cus_1").expect("id"));
    let error = gateway
        .snapshot(&query, NOW)
        .await
        .expect_err("nothing listens there");
    assert!(
        matches!(error, StripeError::Unreachable { .. }),
        "{error:?}"
    );
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("sk_"), "{shown}");
}

#[tokio::test]
async fn sandbox_refuses_a_live_key_without_any_request() {
    let stand_in = localstripe::start().await;
    let live = StripeKey::parse("sk_live_notarealkey").expect("a live-shaped key");
    let gateway = StripeGateway::new(&live, &stand_in.base_url()).expect("gateway");
    let error = seed(&gateway, &live).await.expect_err("live key refused");
    assert!(matches!(error, StripeError::LiveKeyRefused), "{error:?}");
    assert_eq!(stand_in.requests_seen(), 0);
}
