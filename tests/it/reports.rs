//! The reports against localstripe: `billing-triage plans` run as
//! a binary, its scan going through the list proxy (`reports_harness`),
//! which answers as Stripe does and throttles some requests with 429.

use std::process::Stdio;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use redis::AsyncCommands;
use serde_json::Value;

use crate::helpers::{redis_url, unique_prefix};
use crate::localstripe;
use crate::pinned_reports as pinned;
use crate::reports_harness;

const KEY: &str = "sk_test_localstripe";

/// POSTs a form straight to localstripe and returns the created object.
async fn post(base: &str, path: &str, form: &[(&str, &str)]) -> Value {
    post_as(base, path, form, None).await
}

/// [`post`] in the API version the bot pins: the shape layer in front of
/// localstripe then takes what only that version has (or, like a
/// customer's `coupon`, what older accounts still carry).
async fn post_pinned(base: &str, path: &str, form: &[(&str, &str)]) -> Value {
    post_as(
        base,
        path,
        form,
        Some(stripe_shared::version::VERSION.as_str()),
    )
    .await
}

async fn post_as(base: &str, path: &str, form: &[(&str, &str)], version: Option<&str>) -> Value {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let body = serde_urlencoded::to_string(form).expect("form");
    let mut request = Request::post(format!("{base}v1/{path}"))
        .header("authorization", format!("Bearer {KEY}"))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(version) = version {
        request = request.header("stripe-version", version);
    }
    let request = request.body(Full::new(Bytes::from(body))).expect("request");
    let response = client.request(request).await.expect("localstripe answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert!(status.is_success(), "POST {path} {form:?}: {status} {json}");
    json
}

async fn delete(base: &str, path: &str) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = Request::delete(format!("{base}v1/{path}"))
        .header("authorization", format!("Bearer {KEY}"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = client.request(request).await.expect("localstripe answers");
    assert!(response.status().is_success(), "DELETE {path}");
}

pub(crate) async fn plan(
    base: &str,
    id: &str,
    amount: &str,
    currency: &str,
    interval: &str,
    extra: &[(&str, &str)],
) -> String {
    let product = format!("Product {id}");
    let mut form = vec![
        ("id", id),
        ("amount", amount),
        ("currency", currency),
        ("interval", interval),
        ("product[name]", product.as_str()),
    ];
    form.extend_from_slice(extra);
    post(base, "plans", &form).await["id"]
        .as_str()
        .expect("plan id")
        .to_owned()
}

/// A customer with a card (`pm_card_visa`, or one that declines) and one
/// subscription to `plan`; returns (customer, subscription).
pub(crate) async fn subscribe(
    base: &str,
    card: &str,
    plan: &str,
    quantity: u32,
    extra: &[(&str, &str)],
) -> (String, String) {
    let customer = post(base, "customers", &[("email", "r@example.com")]).await["id"]
        .as_str()
        .expect("customer id")
        .to_owned();
    subscribe_again(base, &customer, card, plan, quantity, extra).await
}

async fn subscribe_again(
    base: &str,
    customer: &str,
    card: &str,
    plan: &str,
    quantity: u32,
    extra: &[(&str, &str)],
) -> (String, String) {
    let pm = post(
        base,
        &format!("payment_methods/{card}/attach"),
        &[("customer", customer)],
    )
    .await["id"]
        .as_str()
        .expect("pm id")
        .to_owned();
    post(
        base,
        &format!("customers/{customer}"),
        &[("invoice_settings[default_payment_method]", pm.as_str())],
    )
    .await;
    let qty = quantity.to_string();
    let mut form = vec![
        ("customer", customer),
        ("items[0][plan]", plan),
        ("items[0][quantity]", qty.as_str()),
    ];
    form.extend_from_slice(extra);
    let sub = post(base, "subscriptions", &form).await;
    (
        customer.to_owned(),
        sub["id"].as_str().expect("sub id").to_owned(),
    )
}

fn plan_row<'a>(report: &'a Value, price: &str) -> &'a Value {
    report["plans"]
        .as_array()
        .expect("plans")
        .iter()
        .find(|p| p["price"] == price)
        .unwrap_or_else(|| panic!("no row for {price} in {}", report["plans"]))
}

fn total<'a>(report: &'a Value, currency: &str) -> &'a Value {
    report["totals"]
        .as_array()
        .expect("totals")
        .iter()
        .find(|t| t["currency"] == currency)
        .unwrap_or_else(|| panic!("no total for {currency} in {}", report["totals"]))
}

#[tokio::test]
async fn plans_report_applies_every_mrr_rule_on_localstripe_through_429s() {
    let stripe = localstripe::start().await;
    let base = stripe.direct_url();
    let tag = unique_prefix().replace(':', "");
    let id = |name: &str| format!("{name}_{tag}");
    let (m, y, w, d, q, jpy, meter) = (
        id("team_m"),
        id("personal_y"),
        id("w"),
        id("d"),
        id("q"),
        id("jpy"),
        id("meter"),
    );
    plan(
        &base,
        &m,
        "1000",
        "eur",
        "month",
        &[("nickname", "Team monthly")],
    )
    .await;
    plan(
        &base,
        &y,
        "12000",
        "eur",
        "year",
        &[("nickname", "Personal yearly")],
    )
    .await;
    plan(&base, &w, "700", "eur", "week", &[]).await;
    plan(&base, &d, "50", "eur", "day", &[]).await;
    plan(
        &base,
        &q,
        "3000",
        "eur",
        "month",
        &[("interval_count", "3")],
    )
    .await;
    plan(&base, &jpy, "1200", "jpy", "month", &[]).await;
    plan(
        &base,
        &meter,
        "5",
        "eur",
        "month",
        &[("usage_type", "metered")],
    )
    .await;

    let ok = "pm_card_visa";
    subscribe(&base, ok, &m, 4, &[]).await; // 4 seats: 4000
    let (twice, _) = subscribe(&base, ok, &m, 1, &[]).await; // team price, one seat
    subscribe_again(&base, &twice, ok, &m, 1, &[]).await; // and again: two one-seat subs
    subscribe(&base, ok, &y, 1, &[]).await; // 12000 a year: 1000
    let (several, _) = subscribe(&base, ok, &y, 3, &[]).await; // personal, 3 seats: 3000
    subscribe(&base, ok, &w, 1, &[]).await; // 700 × 52 ÷ 12 = 3033.3
    subscribe(&base, ok, &d, 2, &[]).await; // 100 × 365 ÷ 12 = 3041.7
    subscribe(&base, ok, &q, 1, &[]).await; // 3000 per 3 months: 1000
    subscribe(&base, ok, &jpy, 3, &[]).await; // ¥3600, zero-decimal
    subscribe(&base, ok, &meter, 1, &[]).await; // metered: counted apart
    subscribe(&base, ok, &m, 1, &[("trial_period_days", "14")]).await; // trial
    let (_, gone) = subscribe(&base, ok, &m, 1, &[]).await;
    delete(&base, &format!("subscriptions/{gone}")).await; // canceled
    subscribe(&base, "pm_card_chargeCustomerFail", &m, 1, &[]).await; // incomplete

    let proxy = reports_harness::start(base.clone(), 3).await;
    let prefix = unique_prefix();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_billing-triage"))
        .args(["plans", "--format", "json"])
        .env("STRIPE_SECRET_KEY", KEY)
        .env("STRIPE_API_BASE", &proxy.base_url)
        .env("STRIPE_READ_RATE", "50")
        .env("REDIS_URL", redis_url())
        .env("REDIS_PREFIX", &prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "plans failed: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });

    let row = plan_row(&report, &m);
    assert_eq!(
        (row["active_subscriptions"].as_u64(), row["seats"].as_u64()),
        (Some(3), Some(6))
    );
    assert_eq!(row["mrr_minor"], 6000);
    assert_eq!(plan_row(&report, &y)["mrr_minor"], 4000);
    assert_eq!(plan_row(&report, &y)["seats"], 4);
    assert_eq!(plan_row(&report, &w)["mrr_minor"], 3033);
    assert_eq!(plan_row(&report, &d)["mrr_minor"], 3042);
    let quarterly = plan_row(&report, &q);
    assert_eq!(
        (
            quarterly["interval"].as_str(),
            quarterly["interval_count"].as_u64()
        ),
        (Some("month"), Some(3))
    );
    assert_eq!(quarterly["mrr_minor"], 1000);
    assert_eq!(plan_row(&report, &jpy)["mrr_minor"], 3600);

    // Two currencies, two totals; nothing summed across them.
    assert_eq!(report["totals"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        total(&report, "eur")["mrr_minor"],
        6000 + 4000 + 3033 + 3042 + 1000
    );
    assert_eq!(
        total(&report, "eur")["active_subscriptions"],
        3 + 2 + 1 + 1 + 1 + 1
    );
    assert_eq!(total(&report, "jpy")["mrr_minor"], 3600);

    assert_eq!(report["not_in_mrr"][0]["price"], meter.as_str());
    assert_eq!(report["not_in_mrr"][0]["reason"], "metered");
    // localstripe never invoices a trial, so it leaves the trial subscription
    // `incomplete` where Stripe says `trialing`: both are excluded
    // (the unit tests cover `trialing` by name).
    assert_eq!(report["excluded"]["canceled"], 1, "{}", report["excluded"]);
    assert_eq!(
        report["excluded"]["incomplete"], 2,
        "{}",
        report["excluded"]
    );
    let sc = &report["seat_confusion"];
    assert_eq!(sc["team_price_one_seat"]["count"], 2);
    assert_eq!(
        sc["personal_price_several_seats"]["examples"][0]["customer"],
        several.as_str()
    );
    assert_eq!(
        sc["several_one_seat_subscriptions"]["examples"][0]["customer"],
        twice.as_str()
    );
    assert!(report["mrr_rules"]
        .as_str()
        .is_some_and(|r| r.contains("yearly ÷ 12")));

    // Every third request was throttled, and the scan still read everything.
    let throttled = proxy.throttled.load(std::sync::atomic::Ordering::SeqCst);
    assert!(throttled >= 1);
    assert!(proxy.requests.load(std::sync::atomic::Ordering::SeqCst) > throttled);
    assert_eq!(report["scanned_subscriptions"], 13);
    assert!(stderr.contains("answered 429 and retried"), "{stderr}");

    // Audited: who ran which report.
    let entry = audit_entries(&prefix)
        .await
        .into_iter()
        .next()
        .expect("one audit entry");
    assert_eq!(entry["kind"], "report_run");
    assert_eq!(entry["detail"]["report"], "plans");
    assert_eq!(entry["actor"]["kind"], "cli");
    assert!(!stderr.contains("Since the last run"), "{stderr}");

    // Period over period: the second run says what changed since the first.
    let (again, stderr) = run_report(&proxy, &prefix, &["plans", "--format", "json"]).await;
    assert_eq!(again["totals"], report["totals"]);
    assert!(
        stderr.contains("Since the last run (0 h ago): MRR EUR 170.75 (+0.00), MRR JPY 3600 (+0)"),
        "{stderr}"
    );
}

/// End to end on localstripe behind the pinned-shape layer, with no list
/// proxy: the scan's own requests (builders, expansions, `created` ranges,
/// the coupon list) as the layer answers them. A coupon on a customer (as
/// older accounts have them) counts in MRR by the same rules as a
/// subscription's own, which replace it.
#[tokio::test]
async fn plans_counts_a_customers_own_coupon_unless_the_subscription_has_its_own() {
    let stripe = localstripe::start().await;
    let base = stripe.base_url();
    let tag = unique_prefix().replace(':', "");
    let (loyal, once) = (format!("loyal_{tag}"), format!("once_{tag}"));
    for (id, duration, percent) in [(&loyal, "forever", "20"), (&once, "once", "50")] {
        post_pinned(
            &base,
            "coupons",
            &[("id", id), ("duration", duration), ("percent_off", percent)],
        )
        .await;
    }
    let price = post_pinned(
        &base,
        "prices",
        &[
            ("unit_amount", "1000"),
            ("currency", "eur"),
            ("recurring[interval]", "month"),
            ("product_data[name]", "Team"),
        ],
    )
    .await["id"]
        .as_str()
        .expect("price id")
        .to_owned();
    let subscribe = |discounts: Option<&str>| {
        let (base, price, loyal) = (base.clone(), price.clone(), loyal.clone());
        let discounts = discounts.map(str::to_owned);
        async move {
            let customer = post_pinned(
                &base,
                "customers",
                &[("email", "c@example.com"), ("coupon", loyal.as_str())],
            )
            .await["id"]
                .as_str()
                .expect("customer id")
                .to_owned();
            let pm = post_pinned(
                &base,
                "payment_methods/pm_card_visa/attach",
                &[("customer", customer.as_str())],
            )
            .await["id"]
                .as_str()
                .expect("pm id")
                .to_owned();
            let mut form = vec![
                ("customer", customer.as_str()),
                ("items[0][price]", price.as_str()),
                ("items[0][quantity]", "2"),
                ("default_payment_method", pm.as_str()),
            ];
            if let Some(coupon) = discounts.as_deref() {
                form.push(("discounts[0][coupon]", coupon));
            }
            post_pinned(&base, "subscriptions", &form).await;
        }
    };
    subscribe(None).await; // 2 × 10.00 less its customer's 20 %: 16.00
    subscribe(Some(&once)).await; // its own once coupon replaces it: 20.00, 10.00 after all

    let (report, stderr) =
        run_report_at(&base, &unique_prefix(), &["plans", "--format", "json"]).await;
    let eur = total(&report, "eur");
    assert_eq!(eur["mrr_minor"], 1600 + 2000, "{report}");
    assert_eq!(eur["mrr_after_discounts_minor"], 1600 + 1000, "{report}");
    assert!(stderr.contains("scanned 2 subscriptions"), "{stderr}");
}

/// The audit stream under `prefix`, oldest first.
async fn audit_entries(prefix: &str) -> Vec<Value> {
    let client = redis::Client::open(redis_url()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let entries: redis::streams::StreamRangeReply = conn
        .xrange_all(format!("{prefix}audit"))
        .await
        .expect("audit stream");
    entries
        .ids
        .iter()
        .filter_map(|e| e.get::<String>("entry"))
        .map(|s| serde_json::from_str(&s).expect("entry JSON"))
        .collect()
}

/// The `chat.update` that replaced the progress message with the report
/// (a header and at least one section), waited for up to 15 s.
async fn report_update(app: &crate::helpers::TestApp) -> crate::helpers::SlackCall {
    for _ in 0..300 {
        let report = app
            .slack
            .calls_to("chat.update")
            .into_iter()
            .find(|c| c.body["blocks"].as_array().is_some_and(|b| b.len() >= 2));
        if let Some(report) = report {
            return report;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the report did not replace the progress message");
}

/// Runs `billing-triage ARGS` against the proxy; returns (stdout JSON, stderr).
async fn run_report(
    proxy: &reports_harness::ListProxy,
    prefix: &str,
    args: &[&str],
) -> (Value, String) {
    run_report_at(&proxy.base_url, prefix, args).await
}

/// Runs the binary's report `args` against the Stripe at `base`.
async fn run_report_at(base: &str, prefix: &str, args: &[&str]) -> (Value, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_billing-triage"))
        .args(args)
        .env("STRIPE_SECRET_KEY", KEY)
        .env("STRIPE_API_BASE", base)
        .env("STRIPE_READ_RATE", "50")
        .env("REDIS_URL", redis_url())
        .env("REDIS_PREFIX", prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{args:?} failed: {stderr}");
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (json, stderr)
}

#[tokio::test]
async fn churn_report_lists_canceled_pending_and_a_recoverable_decline_on_localstripe() {
    let stripe = localstripe::start().await;
    let base = stripe.direct_url();
    let tag = unique_prefix().replace(':', "");
    let (m, y) = (format!("m_{tag}"), format!("y_{tag}"));
    plan(&base, &m, "2000", "eur", "month", &[]).await;
    plan(&base, &y, "24000", "eur", "year", &[]).await;
    let ok = "pm_card_visa";

    let (_, gone) = subscribe(&base, ok, &m, 1, &[]).await;
    delete(&base, &format!("subscriptions/{gone}")).await;
    let (_, leaving) = subscribe(&base, ok, &m, 2, &[]).await;
    post(
        &base,
        &format!("subscriptions/{leaving}"),
        &[("cancel_at_period_end", "true")],
    )
    .await;
    // A paying customer whose new card declines when the plan changes: past_due.
    let (failing_customer, failing) = subscribe(&base, ok, &m, 1, &[]).await;
    let bad = post(
        &base,
        "payment_methods/pm_card_chargeCustomerFail/attach",
        &[("customer", failing_customer.as_str())],
    )
    .await;
    post(
        &base,
        &format!("customers/{failing_customer}"),
        &[(
            "invoice_settings[default_payment_method]",
            bad["id"].as_str().expect("pm"),
        )],
    )
    .await;
    post(
        &base,
        &format!("subscriptions/{failing}"),
        &[("items[0][plan]", y.as_str())],
    )
    .await;
    subscribe(&base, ok, &m, 1, &[]).await; // healthy: in no list

    let proxy = reports_harness::start(base.clone(), 4).await;
    let (report, _) = run_report(
        &proxy,
        &unique_prefix(),
        &["churn", "--days", "7", "--format", "json"],
    )
    .await;

    let canceled = report["canceled"].as_array().expect("canceled");
    assert_eq!(canceled.len(), 1, "{report}");
    assert_eq!(canceled[0]["subscription"], gone.as_str());
    assert_eq!(canceled[0]["voluntary"], true);
    assert_eq!(
        (report["voluntary"].as_u64(), report["involuntary"].as_u64()),
        (Some(1), Some(0))
    );

    let pending = report["pending_cancellations"].as_array().expect("pending");
    assert_eq!(pending.len(), 1, "{report}");
    assert_eq!(pending[0]["subscription"], leaving.as_str());
    assert_eq!(pending[0]["mrr_minor"], 4000);
    assert!(pending[0]["cancels_at"].as_i64().is_some());

    let at_risk = report["at_risk"].as_array().expect("at_risk");
    assert_eq!(at_risk.len(), 1, "{report}");
    assert_eq!(at_risk[0]["subscription"], failing.as_str());
    assert_eq!(at_risk[0]["status"], "past_due");
    // localstripe declines with `card_declined`: a generic, soft decline.
    assert_eq!(at_risk[0]["decline_code"], "card_declined");
    assert_eq!(at_risk[0]["decline"], "soft");
    assert_eq!(at_risk[0]["recoverable"], true);
    assert_eq!(at_risk[0]["mrr_minor"], 2000);
    // From the invoice's open payment: localstripe's one attempt, and the
    // customer's email makes it reachable.
    assert_eq!(at_risk[0]["attempts"], 1);
    assert_eq!(at_risk[0]["reachable"], true);
    assert_eq!(report["scanned_subscriptions"], 4);
    // Two lists and the coupons' first page read, nothing per row, every
    // request on the pinned version.
    let paths = proxy.paths.lock().expect("path counts").clone();
    assert_eq!(
        paths.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["/v1/coupons", "/v1/invoice_payments", "/v1/subscriptions"],
        "{paths:?}"
    );
    assert_eq!(
        proxy.unpinned.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a scan request named no Stripe-Version"
    );
}

#[tokio::test]
async fn gaps_report_counts_the_surfaces_of_stored_cases() {
    use billing_triage::config::Config;
    use billing_triage::domain::{Actor, LookupQuery};
    use billing_triage::{startup, workflow};

    let stripe = localstripe::start().await;
    let prefix = unique_prefix();
    let vars = [
        ("STRIPE_SECRET_KEY", KEY.to_owned()),
        ("STRIPE_API_BASE", stripe.base_url()),
        ("REDIS_URL", redis_url()),
        ("REDIS_PREFIX", prefix.clone()),
    ];
    let config = Config::from_lookup(
        |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        },
        false,
    )
    .expect("config");
    let deps = startup::deps(&config).expect("deps");
    let key = billing_triage::domain::StripeKey::parse(KEY).expect("key");
    let seeded = billing_triage::stripe::sandbox::seed(&deps.stripe, &key)
        .await
        .expect("seed");
    // Open and store one case per seeded customer, as the Slack lookup does.
    let mut expected: std::collections::BTreeMap<String, u64> = Default::default();
    let mut n_cases = 0;
    for s in &seeded {
        let case = workflow::lookup::open_case(
            &deps,
            workflow::new_case_id(),
            Actor::System,
            &LookupQuery::Customer(s.customer.clone()),
            s.message,
        )
        .await
        .expect("case");
        if let Some(gap) = &case.product_gap {
            *expected.entry(gap.surface.clone()).or_default() += 1;
        }
        deps.store.save_case(&case).await.expect("saved");
        n_cases += 1;
    }
    assert!(!expected.is_empty(), "the seeded cases note product gaps");

    let proxy = reports_harness::start(stripe.direct_url(), 0).await;
    let (report, _) = run_report(&proxy, &prefix, &["gaps", "--format", "json"]).await;
    assert_eq!(report["cases_in_period"], n_cases);
    let counted: std::collections::BTreeMap<String, u64> = report["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|g| {
            let examples = g["examples"].as_array().expect("examples").len() as u64;
            let cases = g["cases"].as_u64().expect("count");
            assert_eq!(examples, cases.min(3), "{g}");
            (g["surface"].as_str().expect("surface").to_owned(), cases)
        })
        .collect();
    assert_eq!(counted, expected);
}

#[tokio::test]
async fn slash_plans_acknowledges_at_once_then_replaces_its_progress_message_with_the_report() {
    let stripe = localstripe::start().await;
    let base = stripe.direct_url();
    let tag = unique_prefix().replace(':', "");
    let m = format!("slack_m_{tag}");
    plan(
        &base,
        &m,
        "1500",
        "eur",
        "month",
        &[("nickname", "Team monthly")],
    )
    .await;
    subscribe(&base, "pm_card_visa", &m, 3, &[]).await;
    let proxy = reports_harness::start(base, 0).await;
    let app = crate::helpers::spawn_app(&proxy.base_url).await;

    let (reply, _) = app.slash("plans", "U0OPS00001").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.json()["text"]
            .as_str()
            .is_some_and(|t| t.contains("plans report")),
        "{}",
        reply.body
    );
    let posted = app.slack.wait_for("chat.postMessage", 1).await;
    assert!(posted[0].body["text"]
        .as_str()
        .is_some_and(|t| t.contains("Plans report")));

    // The progress message is edited into the report: a header and the
    // text table in sections, every block within Slack's limits.
    let report = report_update(&app).await;
    let blocks = report.body["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= 50);
    let text: String = blocks
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    // Every section within Slack's limit (the chart block has no text).
    assert!(blocks
        .iter()
        .filter(|b| b["type"] == "section")
        .all(|b| b["text"]["text"]
            .as_str()
            .is_some_and(|t| t.chars().count() <= 3000)));
    assert!(text.contains("Team monthly"), "{text}");
    assert!(text.contains("EUR 45.00"), "{text}");
    assert!(text.contains("never summed across currencies"), "{text}");
}

#[tokio::test]
async fn slash_churn_posts_triage_buttons_that_open_the_customers_case_card() {
    let stripe = localstripe::start().await;
    let base = stripe.direct_url();
    let tag = unique_prefix().replace(':', "");
    let (m, y) = (format!("sm_{tag}"), format!("sy_{tag}"));
    plan(&base, &m, "2000", "eur", "month", &[]).await;
    plan(&base, &y, "24000", "eur", "year", &[]).await;
    // Past due, as in the churn test: a declining card meets a plan change.
    let (customer, failing) = subscribe(&base, "pm_card_visa", &m, 1, &[]).await;
    let bad = post(
        &base,
        "payment_methods/pm_card_chargeCustomerFail/attach",
        &[("customer", customer.as_str())],
    )
    .await;
    post(
        &base,
        &format!("customers/{customer}"),
        &[(
            "invoice_settings[default_payment_method]",
            bad["id"].as_str().expect("pm"),
        )],
    )
    .await;
    post(
        &base,
        &format!("subscriptions/{failing}"),
        &[("items[0][plan]", y.as_str())],
    )
    .await;
    let proxy = reports_harness::start(base, 0).await;
    let app = crate::helpers::spawn_app(&proxy.base_url).await;

    let (reply, _) = app.slash("churn 7d", "U0OPS00001").await;
    assert_eq!(reply.status, 200);
    // The report, then the thread message with one Triage button per row.
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let buttons = &posts[1].body;
    assert!(buttons["thread_ts"].is_string(), "{buttons}");
    let row = &buttons["blocks"][1];
    assert!(row["text"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("recoverable") && t.contains(&failing)));
    let button = &row["accessory"];
    assert_eq!(button["action_id"], "report_triage");
    assert_eq!(button["value"], customer.as_str());

    // The click opens the customer's case card, as /billing lookup would.
    let (reply, _) = app.click("report_triage", &customer, "U0OPS00002").await;
    assert_eq!(reply.status, 200);
    let posts = app.slack.wait_for("chat.postMessage", 3).await;
    let card = serde_json::to_string(&posts[2].body).expect("card JSON");
    assert!(card.contains(&customer), "{card}");
    assert!(card.contains("Failed payment"), "{card}");
}

/// A subscription in the pinned API version's shape: one item of `amount`
/// per `interval` (EUR), its customer `cus_<id>` and every discount fully
/// expanded; `extra` replaces top-level fields.
fn stripe_sub(id: &str, status: &str, amount: i64, interval: &str, extra: Value) -> Value {
    let now = now_unix();
    let price = pinned::Price::new(&format!("price_{interval}"), amount, "eur", interval);
    let mut sub = pinned::subscription(
        id,
        pinned::customer(&format!("cus_{id}"), None, None),
        status,
        now - 200 * 86_400,
        vec![pinned::item(id, &price, Some(1), now + 10 * 86_400)],
        Vec::new(),
    );
    sub["latest_invoice"] = format!("in_{id}").into();
    if let (Some(s), Some(e)) = (sub.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    sub
}

/// An invoice payment of subscription `sub`'s invoice in the pinned
/// version's shape, fully expanded.
fn stripe_payment(
    sub: &str,
    status: &str,
    created: i64,
    error: Value,
    email: Option<&str>,
    next_retry: Option<i64>,
) -> Value {
    let invoice = pinned::open_invoice(
        &format!("in_{sub}"),
        pinned::customer(&format!("cus_{sub}"), email, None),
        Some(sub),
        1000,
        3,
        next_retry,
        email,
    );
    let intent = pinned::payment_intent(&format!("pi_{sub}_{created}"), 1000, "eur", error);
    pinned::invoice_payment(
        &format!("inpay_{sub}_{created}"),
        created,
        status,
        invoice,
        intent,
        1000,
    )
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The churn rules localstripe cannot exercise (it has no cancellation
/// reasons, one decline code, no coupons on the pinned version's
/// `discounts` and none on customers), end to end through the binary, on a
/// Stripe-shaped stand-in that expands only what the scan asks for and
/// throttles every fifth request. The same stand-in's plans report counts
/// customers' own coupons by the MRR rules.
#[tokio::test]
async fn churn_rules_localstripe_lacks_hold_on_a_stripe_shaped_stand_in() {
    let now = now_unix();
    let day = 86_400;
    let canceled = |id: &str, days_ago: i64, reason: Value| {
        stripe_sub(
            id,
            "canceled",
            1000,
            "month",
            serde_json::json!({"canceled_at": now - days_ago * day, "ended_at": now - days_ago * day,
                "cancellation_details": {"reason": reason, "feedback": "too_expensive",
                                         "comment": "we moved"}}),
        )
    };
    let coupon = |id: &str, duration: &str, percent: f64| {
        pinned::coupon(&format!("co_{id}"), duration, Some(percent), None)
    };
    let own = |sub: &str, coupon: Value| {
        serde_json::json!([pinned::discount(
            &format!("di_{sub}"),
            coupon,
            None,
            Some(sub)
        )])
    };
    // A customer's own coupon (older accounts): it applies to the
    // customer's subscriptions without discounts of their own.
    let customer_with = |sub: &str, coupon: &str| {
        let discount = pinned::discount(
            &format!("di_c_{sub}"),
            serde_json::json!(coupon),
            Some(sub),
            None,
        );
        pinned::customer(&format!("cus_{sub}"), None, Some(discount))
    };
    let coupons = vec![
        coupon("soft", "once", 50.0),
        coupon("hard", "forever", 10.0),
        coupon("loyal", "forever", 20.0),
        coupon("half", "forever", 50.0),
        // Older than the coupon list's first page: read by id.
        coupon("old", "forever", 10.0),
    ];
    let mut deleted_customer =
        canceled("sub_gone", 90, serde_json::json!("cancellation_requested"));
    deleted_customer["customer"] = pinned::deleted_customer("cus_sub_gone");
    let subscriptions = vec![
        canceled("sub_req", 2, serde_json::json!("cancellation_requested")),
        canceled("sub_none", 3, Value::Null),
        canceled("sub_failed", 4, serde_json::json!("payment_failed")),
        canceled("sub_disputed", 5, serde_json::json!("payment_disputed")),
        canceled("sub_old", 60, serde_json::json!("payment_failed")),
        // Asked to cancel with a declined invoice still open: ended unpaid.
        canceled("sub_owing", 6, serde_json::json!("cancellation_requested")),
        // A once coupon does not reduce MRR; a forever one does.
        stripe_sub(
            "sub_soft",
            "past_due",
            3000,
            "month",
            serde_json::json!({"discounts": own("sub_soft", coupons[0].clone())}),
        ),
        // Its own coupon, not its customer's, applies.
        stripe_sub(
            "sub_hard",
            "past_due",
            9000,
            "month",
            serde_json::json!({"discounts": own("sub_hard", coupons[1].clone()),
                               "customer": customer_with("sub_hard", "co_half")}),
        ),
        // Its customer's coupon is gone from Stripe: nothing is made up.
        stripe_sub(
            "sub_exp_reach",
            "unpaid",
            24_000,
            "year",
            serde_json::json!({"customer": customer_with("sub_exp_reach", "co_deleted")}),
        ),
        stripe_sub(
            "sub_exp_gone",
            "past_due",
            5000,
            "month",
            serde_json::json!({"customer": customer_with("sub_exp_gone", "co_loyal")}),
        ),
        stripe_sub(
            "sub_fine",
            "active",
            1000,
            "month",
            serde_json::json!({"customer": customer_with("sub_fine", "co_old")}),
        ),
        // A canceled subscription of a deleted customer still reads.
        deleted_customer,
    ];
    let declined = |code: &str, decline: Value| serde_json::json!({"type": "card_error", "code": code, "decline_code": decline});
    let card = |decline: &str| declined("card_declined", serde_json::json!(decline));
    let expired = declined("expired_card", Value::Null);
    let payments = vec![
        stripe_payment(
            "sub_soft",
            "open",
            now - day,
            card("insufficient_funds"),
            Some("s@example.com"),
            Some(now + day),
        ),
        // Paid since: the `status` filter leaves it out.
        stripe_payment(
            "sub_soft",
            "paid",
            now - 3600,
            card("fraudulent"),
            Some("s@example.com"),
            None,
        ),
        stripe_payment(
            "sub_hard",
            "open",
            now - 9 * day,
            card("do_not_honor"),
            Some("h@example.com"),
            None,
        ),
        stripe_payment(
            "sub_hard",
            "open",
            now - 2 * day,
            card("stolen_card"),
            Some("h@example.com"),
            Some(now + 2 * day),
        ),
        stripe_payment(
            "sub_exp_reach",
            "open",
            now - 40 * day,
            expired.clone(),
            Some("e@example.com"),
            None,
        ),
        stripe_payment(
            "sub_exp_gone",
            "open",
            now - day,
            expired,
            None,
            Some(now + day),
        ),
        stripe_payment(
            "sub_owing",
            "open",
            now - 20 * day,
            card("insufficient_funds"),
            Some("o@example.com"),
            None,
        ),
        // A fresh invoice of a healthy subscription, not yet attempted.
        stripe_payment(
            "sub_fine",
            "open",
            now - 60,
            Value::Null,
            Some("f@example.com"),
            Some(now + 3600),
        ),
    ];
    let stand_in = reports_harness::start_canned(
        reports_harness::Canned {
            subscriptions,
            payments,
            coupons,
            unlisted: vec!["co_old".into()],
        },
        5,
    )
    .await;
    let (report, _) = run_report(
        &stand_in,
        &unique_prefix(),
        &["churn", "--days", "30", "--format", "json"],
    )
    .await;

    let canceled: Vec<(&str, bool)> = report["canceled"]
        .as_array()
        .expect("canceled")
        .iter()
        .map(|c| {
            (
                c["subscription"].as_str().expect("id"),
                c["voluntary"].as_bool().expect("voluntary"),
            )
        })
        .collect();
    assert_eq!(
        canceled,
        vec![
            ("sub_req", true),
            ("sub_none", true),
            ("sub_failed", false),
            ("sub_disputed", false),
            ("sub_owing", false)
        ],
        "{report}"
    );
    assert_eq!(report["canceled"][0]["comment"], "we moved");
    assert_eq!(report["canceled"][4]["ended_unpaid"], true);
    assert_eq!(
        (report["voluntary"].as_u64(), report["involuntary"].as_u64()),
        (Some(2), Some(3))
    );

    let rows: Vec<(&str, &str, &str, bool, i64)> = report["at_risk"]
        .as_array()
        .expect("at_risk")
        .iter()
        .map(|r| {
            (
                r["subscription"].as_str().expect("id"),
                r["decline_code"].as_str().unwrap_or("-"),
                r["decline"].as_str().expect("decline"),
                r["recoverable"].as_bool().expect("recoverable"),
                r["mrr_minor"].as_i64().expect("mrr"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            // Recoverable first (a soft decline; an expired card on a
            // customer with an email), then by MRR.
            ("sub_soft", "insufficient_funds", "soft", true, 3000),
            ("sub_exp_reach", "expired_card", "hard", true, 2000),
            // Its own forever coupon: 90.00 less 10 % (not its customer's 50 %).
            ("sub_hard", "stolen_card", "hard", false, 8100),
            // Its customer's forever coupon: 50.00 less 20 %.
            ("sub_exp_gone", "expired_card", "hard", false, 4000),
        ],
        "{report}"
    );
    let hard = &report["at_risk"][2];
    assert_eq!(hard["attempts"], 3);
    assert_eq!(hard["next_retry"], now + 2 * day);
    assert!(stand_in.throttled.load(std::sync::atomic::Ordering::SeqCst) > 0);

    // Plans on the same account: past_due and active count; a customer's
    // forever coupon reduces MRR, a once coupon only "after all discounts".
    let (plans, _) = run_report(&stand_in, &unique_prefix(), &["plans", "--format", "json"]).await;
    let eur = total(&plans, "eur");
    // 30.00 (once coupon) + 81.00 + 40.00 + 9.00 (its customer's old coupon).
    assert_eq!(eur["mrr_minor"], 3000 + 8100 + 4000 + 900, "{plans}");
    assert_eq!(eur["mrr_after_discounts_minor"], 1500 + 8100 + 4000 + 900);
    assert_eq!(plans["excluded"]["canceled"], 7, "{}", plans["excluded"]);
    let paths = stand_in.paths.lock().expect("path counts").clone();
    let requests_for = |path: &str| paths.get(path).copied().unwrap_or(0);
    assert!(
        requests_for("/v1/coupons") >= 2,
        "one coupon page per scan: {paths:?}"
    );
    assert!(requests_for("/v1/coupons/co_old") >= 1, "{paths:?}");
    assert!(requests_for("/v1/coupons/co_deleted") >= 1, "{paths:?}");
    assert_eq!(
        stand_in.unpinned.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

/// `/billing gaps 30d` in Slack: acknowledged, the progress message
/// replaced by the report, and the run audited under the Slack user who
/// asked.
#[tokio::test]
async fn slash_gaps_posts_the_report_and_audits_the_slack_user_who_ran_it() {
    let stripe = localstripe::start().await;
    let proxy = reports_harness::start(stripe.direct_url(), 0).await;
    let app = crate::helpers::spawn_app(&proxy.base_url).await;

    let (reply, _) = app.slash("gaps 30d", "U0OPS00007").await;
    assert_eq!(reply.status, 200);
    let report = report_update(&app).await;
    let header = report.body["blocks"][0]["text"]["text"]
        .as_str()
        .expect("header");
    assert!(header.contains("Product gaps, last 30 days"), "{header}");

    let runs: Vec<Value> = audit_entries(app.store.prefix())
        .await
        .into_iter()
        .filter(|e| e["kind"] == "report_run")
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["detail"]["report"], "gaps");
    assert_eq!(runs[0]["detail"]["days"], 30);
    assert!(
        serde_json::to_string(&runs[0]["actor"])
            .expect("actor")
            .contains("U0OPS00007"),
        "{}",
        runs[0]["actor"]
    );
}
