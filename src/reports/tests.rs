//! Unit tests of the report core: MRR rules, exclusions, currencies, seat
//! confusion and interval moves, over hand-built subscriptions.

use super::plans::{PlansReport, PlansTally};
use super::*;
use crate::domain::Currency;

const NOW: i64 = 1_790_000_000;
const DAY: i64 = 86_400;

fn item(
    price: &str,
    amount: i64,
    cur: &str,
    interval: Interval,
    count: u32,
    qty: u64,
) -> ScannedItem {
    ScannedItem {
        price: price.into(),
        product: Some(format!("prod_{price}")),
        nickname: None,
        unit_amount: Some(amount),
        currency: Currency::parse(cur).expect("currency"),
        interval,
        interval_count: count,
        quantity: qty,
        metered: false,
    }
}

fn sub(id: &str, customer: &str, status: &str, items: Vec<ScannedItem>) -> ScannedSubscription {
    ScannedSubscription {
        id: id.into(),
        customer: customer.into(),
        status: status.into(),
        created: NOW - 400 * DAY,
        canceled_at: None,
        ended_at: None,
        cancel_at_period_end: false,
        cancel_at: None,
        current_period_end: Some(NOW + 10 * DAY),
        cancellation: None,
        latest_invoice: None,
        items,
        discounts: Vec::new(),
        customer_discount: None,
    }
}

fn report(subs: &[ScannedSubscription]) -> PlansReport {
    let mut tally = PlansTally::new(NOW - 30 * DAY);
    for s in subs {
        tally.add(s);
    }
    tally.finish(NOW, 30)
}

fn plan<'a>(r: &'a PlansReport, price: &str) -> &'a plans::PlanRow {
    r.plans
        .iter()
        .find(|p| p.price == price)
        .unwrap_or_else(|| panic!("no plan {price} in {:?}", r.plans))
}

#[test]
fn intervals_and_counts_normalise_to_a_month() {
    let r = report(&[
        sub(
            "sub_m",
            "cus_1",
            "active",
            vec![item("m", 1000, "eur", Interval::Month, 1, 1)],
        ),
        sub(
            "sub_y",
            "cus_2",
            "active",
            vec![item("y", 12_000, "eur", Interval::Year, 1, 1)],
        ),
        sub(
            "sub_w",
            "cus_3",
            "active",
            vec![item("w", 1200, "eur", Interval::Week, 1, 1)],
        ),
        sub(
            "sub_d",
            "cus_4",
            "active",
            vec![item("d", 100, "eur", Interval::Day, 1, 1)],
        ),
        sub(
            "sub_q",
            "cus_5",
            "active",
            vec![item("q", 3000, "eur", Interval::Month, 3, 2)],
        ),
    ]);
    assert_eq!(plan(&r, "m").mrr_minor, 1000);
    assert_eq!(plan(&r, "y").mrr_minor, 1000);
    // 1200 × 52 ÷ 12 = 5200
    assert_eq!(plan(&r, "w").mrr_minor, 5200);
    // 100 × 365 ÷ 12 = 3041.67 → 3042
    assert_eq!(plan(&r, "d").mrr_minor, 3042);
    // 3000 × 2 seats every 3 months = 2000 a month
    assert_eq!(plan(&r, "q").mrr_minor, 2000);
    assert_eq!(plan(&r, "q").seats, 2);
    assert_eq!(plan(&r, "q").interval_count, 3);
    assert_eq!(r.totals.len(), 1);
    assert_eq!(r.totals[0].mrr_minor, 1000 + 1000 + 5200 + 3042 + 2000);
    assert_eq!(r.totals[0].active_subscriptions, 5);
}

#[test]
fn a_plan_is_rounded_once_not_per_subscription() {
    // 1 EUR a year is 8.33 cents a month: three of them are 25 cents, not 24.
    let subs: Vec<_> = (0..3)
        .map(|i| {
            sub(
                &format!("sub_{i}"),
                &format!("cus_{i}"),
                "active",
                vec![item("y", 100, "eur", Interval::Year, 1, 1)],
            )
        })
        .collect();
    assert_eq!(plan(&report(&subs), "y").mrr_minor, 25);
}

#[test]
fn only_active_and_past_due_count_and_past_due_is_at_risk() {
    let mk = |id: &str, status: &str| {
        sub(
            id,
            id,
            status,
            vec![item("m", 1000, "usd", Interval::Month, 1, 1)],
        )
    };
    let r = report(&[
        mk("a", "active"),
        mk("b", "past_due"),
        mk("c", "trialing"),
        mk("d", "incomplete"),
        mk("e", "incomplete_expired"),
        mk("f", "canceled"),
        mk("g", "unpaid"),
        mk("h", "paused"),
    ]);
    let p = plan(&r, "m");
    assert_eq!(p.active_subscriptions, 2);
    assert_eq!(p.mrr_minor, 2000);
    assert_eq!(p.past_due_subscriptions, 1);
    assert_eq!(p.past_due_mrr_minor, 1000);
    assert_eq!(r.totals[0].past_due_mrr_minor, 1000);
    for status in [
        "trialing",
        "incomplete",
        "incomplete_expired",
        "canceled",
        "unpaid",
        "paused",
    ] {
        assert_eq!(r.excluded.get(status), Some(&1), "{status}");
    }
    assert_eq!(r.scanned_subscriptions, 8);
}

#[test]
fn currencies_are_never_summed_and_zero_decimal_stays_whole() {
    let r = report(&[
        sub(
            "s1",
            "c1",
            "active",
            vec![item("eur_m", 1000, "eur", Interval::Month, 1, 1)],
        ),
        sub(
            "s2",
            "c2",
            "active",
            vec![item("jpy_y", 60_000, "jpy", Interval::Year, 1, 2)],
        ),
    ]);
    assert_eq!(r.totals.len(), 2);
    let eur = r
        .totals
        .iter()
        .find(|t| t.currency.as_str() == "eur")
        .expect("eur");
    let jpy = r
        .totals
        .iter()
        .find(|t| t.currency.as_str() == "jpy")
        .expect("jpy");
    assert_eq!(eur.mrr_minor, 1000);
    // ¥60 000 × 2 seats a year = ¥10 000 a month, in yen (no cents).
    assert_eq!(jpy.mrr_minor, 10_000);
    assert!(r.to_text().contains("JPY 10000"), "{}", r.to_text());
    assert!(r.to_text().contains("EUR 10.00"));
}

#[test]
fn metered_and_tiered_items_are_counted_apart() {
    let mut metered = item("meter", 5, "eur", Interval::Month, 1, 1);
    metered.metered = true;
    let mut tiered = item("tiers", 0, "eur", Interval::Month, 1, 4);
    tiered.unit_amount = None;
    let r = report(&[sub(
        "s1",
        "c1",
        "active",
        vec![
            item("base", 1000, "eur", Interval::Month, 1, 1),
            metered,
            tiered,
        ],
    )]);
    assert_eq!(r.plans.len(), 1);
    assert_eq!(r.totals[0].mrr_minor, 1000);
    let reasons: Vec<_> = r
        .not_in_mrr
        .iter()
        .map(|n| (n.price.as_str(), n.reason))
        .collect();
    assert_eq!(reasons, vec![("meter", "metered"), ("tiers", "tiered")]);
    assert_eq!(r.totals[0].active_subscriptions, 1);
}

#[test]
fn only_forever_coupons_reduce_mrr_and_all_discounts_are_a_second_figure() {
    let mut forever = sub(
        "s1",
        "c1",
        "active",
        vec![item("m", 2000, "eur", Interval::Month, 1, 1)],
    );
    forever.discounts.push(Discount {
        duration: CouponDuration::Forever,
        percent_off_bp: Some(2500),
        amount_off: None,
        currency: None,
    });
    let mut once = sub(
        "s2",
        "c2",
        "active",
        vec![item("m", 2000, "eur", Interval::Month, 1, 1)],
    );
    once.discounts.push(Discount {
        duration: CouponDuration::Once,
        percent_off_bp: None,
        amount_off: Some(500),
        currency: Currency::parse("eur").ok(),
    });
    let r = report(&[forever, once]);
    let p = plan(&r, "m");
    assert_eq!(p.mrr_minor, 1500 + 2000);
    assert_eq!(p.mrr_after_discounts_minor, 1500 + 1500);
}

#[test]
fn a_customer_coupon_counts_by_the_same_rules_unless_the_subscription_has_its_own() {
    let percent = |duration, bp| Discount {
        duration,
        percent_off_bp: Some(bp),
        amount_off: None,
        currency: None,
    };
    let monthly = || vec![item("m", 2000, "eur", Interval::Month, 1, 1)];
    // The customer's forever coupon reduces MRR like the subscription's would.
    let mut forever = sub("s1", "c1", "active", monthly());
    forever.customer_discount = Some(percent(CouponDuration::Forever, 2500));
    // A once coupon on the customer: only "after all discounts".
    let mut once = sub("s2", "c2", "active", monthly());
    once.customer_discount = Some(Discount {
        duration: CouponDuration::Once,
        percent_off_bp: None,
        amount_off: Some(500),
        currency: Currency::parse("eur").ok(),
    });
    // The subscription's own coupon replaces the customer's.
    let mut own = sub("s3", "c3", "active", monthly());
    own.discounts.push(percent(CouponDuration::Once, 1000));
    own.customer_discount = Some(percent(CouponDuration::Forever, 5000));
    let r = report(&[forever, once, own]);
    let p = plan(&r, "m");
    assert_eq!(p.mrr_minor, 1500 + 2000 + 2000);
    assert_eq!(p.mrr_after_discounts_minor, 1500 + 1500 + 1800);
    assert_eq!(r.totals[0].mrr_minor, 5500);
}

#[test]
fn seat_confusion_finds_the_three_patterns() {
    let named = |price: &str, nick: &str, qty: u64| {
        let mut i = item(price, 1000, "eur", Interval::Month, 1, qty);
        i.nickname = Some(nick.into());
        i
    };
    let r = report(&[
        sub("s1", "c1", "active", vec![named("team", "Team plan", 1)]),
        sub("s2", "c2", "active", vec![named("team", "Team plan", 5)]),
        sub("s3", "c3", "active", vec![named("solo", "Personal", 3)]),
        sub("s4", "c4", "active", vec![named("solo", "Personal", 1)]),
        sub("s5", "c4", "past_due", vec![named("solo", "Personal", 1)]),
        sub("s6", "c4", "active", vec![named("solo", "Personal", 1)]),
        // A canceled duplicate is history, not confusion.
        sub("s7", "c5", "active", vec![named("solo", "Personal", 1)]),
        sub("s8", "c5", "canceled", vec![named("solo", "Personal", 1)]),
    ]);
    let sc = &r.seat_confusion;
    assert_eq!(sc.team_price_one_seat.count, 1);
    assert_eq!(
        sc.team_price_one_seat.examples[0].subscription.as_deref(),
        Some("s1")
    );
    assert_eq!(sc.personal_price_several_seats.count, 1);
    assert_eq!(sc.personal_price_several_seats.examples[0].customer, "c3");
    assert_eq!(sc.several_one_seat_subscriptions.count, 1);
    let repeat = &sc.several_one_seat_subscriptions.examples[0];
    assert_eq!((repeat.customer.as_str(), repeat.seats), ("c4", 3));
}

#[test]
fn a_switch_from_monthly_to_yearly_in_the_period_is_listed() {
    let mut old = sub(
        "s1",
        "c1",
        "canceled",
        vec![item("m", 1000, "eur", Interval::Month, 1, 1)],
    );
    old.ended_at = Some(NOW - 5 * DAY);
    let mut new = sub(
        "s2",
        "c1",
        "active",
        vec![item("y", 10_000, "eur", Interval::Year, 1, 1)],
    );
    new.created = NOW - 5 * DAY;
    // Same product for both prices.
    new.items[0].product = old.items[0].product.clone();
    // A switch long ago is out of the period.
    let mut older = sub(
        "s3",
        "c2",
        "canceled",
        vec![item("m", 1000, "eur", Interval::Month, 1, 1)],
    );
    older.ended_at = Some(NOW - 90 * DAY);
    let r = report(&[old, new, older]);
    assert_eq!(r.interval_moves.len(), 1);
    assert_eq!(r.interval_moves[0].customer, "c1");
    assert_eq!(
        (r.interval_moves[0].from, r.interval_moves[0].to),
        ("month", "year")
    );
    let mix = r
        .products
        .iter()
        .find(|m| m.product == "prod_m")
        .expect("mix");
    assert_eq!((mix.monthly, mix.yearly), (0, 1));
}

#[test]
fn json_and_csv_carry_the_contract_fields() {
    let r = report(&[
        sub(
            "s1",
            "c1",
            "active",
            vec![item("m", 1000, "eur", Interval::Month, 1, 2)],
        ),
        sub(
            "s2",
            "c2",
            "active",
            vec![item("j", 500, "jpy", Interval::Month, 1, 1)],
        ),
    ]);
    let json = r.to_json();
    let p = &json["plans"][0];
    for key in [
        "price",
        "product",
        "interval",
        "interval_count",
        "currency",
        "active_subscriptions",
        "seats",
        "mrr_minor",
    ] {
        assert!(!p[key].is_null(), "plans[].{key} missing in {p}");
    }
    assert_eq!(json["totals"][0]["currency"], "eur");
    assert_eq!(json["totals"][0]["mrr_minor"], 2000);
    assert_eq!(json["totals"][1]["active_subscriptions"], 1);
    let csv = r.to_csv().expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("row,price,product"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("total,,,,,,jpy,1,1,500")),
        "{csv}"
    );
    assert!(r.to_text().ends_with(MRR_RULES));
}

mod churn_rules {
    use super::super::churn::{classify_decline, ChurnTally, Decline};
    use super::*;

    fn canceled(id: &str, reason: Option<&str>, ended_days_ago: i64) -> ScannedSubscription {
        let mut s = sub(
            id,
            &format!("cus_{id}"),
            "canceled",
            vec![item("m", 1000, "eur", Interval::Month, 1, 1)],
        );
        s.ended_at = Some(NOW - ended_days_ago * DAY);
        s.cancellation = Some(Cancellation {
            reason: reason.map(str::to_owned),
            feedback: Some("too_expensive".into()),
            comment: Some("we moved to a cheaper tool".into()),
        });
        s
    }

    /// The open invoice payment of subscription `sub` (invoice `in_sub`).
    fn failed(sub: &str, code: Option<&str>, reachable: bool) -> OpenPayment {
        OpenPayment {
            invoice: format!("in_{sub}"),
            subscription: Some(sub.to_owned()),
            created: NOW - DAY,
            details: FailedPayment {
                decline_code: code.map(str::to_owned),
                attempts: 2,
                next_retry: Some(NOW + DAY),
                reachable,
            },
        }
    }

    #[test]
    fn declines_split_soft_and_hard() {
        for code in ["insufficient_funds", "do_not_honor", "try_again_later"] {
            assert_eq!(classify_decline(Some(code)), Decline::Soft, "{code}");
        }
        for code in [
            "stolen_card",
            "lost_card",
            "incorrect_number",
            "expired_card",
        ] {
            assert_eq!(classify_decline(Some(code)), Decline::Hard, "{code}");
        }
        assert_eq!(classify_decline(Some("something_new")), Decline::Unknown);
        assert_eq!(classify_decline(None), Decline::Unknown);
    }

    #[test]
    fn canceled_in_the_period_split_voluntary_and_involuntary() {
        let mut tally = ChurnTally::new(NOW - 30 * DAY);
        for s in [
            canceled("v1", Some("cancellation_requested"), 3),
            canceled("v2", None, 10),
            canceled("i1", Some("payment_failed"), 5),
            canceled("i2", Some("payment_disputed"), 6),
            canceled("old", Some("payment_failed"), 45),
        ] {
            tally.add(&s);
        }
        let r = tally.finish(NOW, 30);
        assert_eq!((r.voluntary, r.involuntary), (2, 2));
        let ids: Vec<_> = r
            .canceled
            .iter()
            .map(|c| (c.subscription.as_str(), c.voluntary))
            .collect();
        // Newest first; the one from 45 days ago is out of the period.
        assert_eq!(
            ids,
            vec![("v1", true), ("i1", false), ("i2", false), ("v2", true)]
        );
        assert_eq!(
            r.canceled[0].comment.as_deref(),
            Some("we moved to a cheaper tool")
        );
        assert_eq!(r.totals[0].canceled_mrr_minor, 4000);
    }

    /// Ended unpaid: a failed payment still open makes the end
    /// involuntary whatever the reason says; an open payment never
    /// attempted does not.
    #[test]
    fn a_subscription_that_ended_unpaid_is_involuntary() {
        let mut tally = ChurnTally::new(NOW - 30 * DAY);
        tally.add(&canceled("left_owing", Some("cancellation_requested"), 2));
        tally.add(&canceled("no_reason", None, 3));
        tally.add(&canceled("fresh_invoice", None, 4));
        tally.add_open_payment(failed("left_owing", Some("expired_card"), true));
        let mut attempted = failed("no_reason", None, true);
        attempted.details.attempts = 1;
        tally.add_open_payment(attempted);
        let mut untried = failed("fresh_invoice", None, true);
        untried.details.attempts = 0;
        tally.add_open_payment(untried);
        let r = tally.finish(NOW, 30);
        let rows: Vec<_> = r
            .canceled
            .iter()
            .map(|c| (c.subscription.as_str(), c.voluntary, c.ended_unpaid))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("left_owing", false, true),
                ("no_reason", false, true),
                ("fresh_invoice", true, false)
            ]
        );
        assert_eq!((r.voluntary, r.involuntary), (1, 2));
        assert!(r.to_text().contains("ended unpaid"));
    }

    #[test]
    fn pending_cancellations_carry_their_date_and_mrr() {
        let mut at_end = sub(
            "p1",
            "c1",
            "active",
            vec![item("y", 24_000, "eur", Interval::Year, 1, 1)],
        );
        at_end.cancel_at_period_end = true;
        let mut at_date = sub(
            "p2",
            "c2",
            "trialing",
            vec![item("m", 1000, "eur", Interval::Month, 1, 1)],
        );
        at_date.cancel_at = Some(NOW + 3 * DAY);
        let mut tally = ChurnTally::new(NOW - 30 * DAY);
        tally.add(&at_end);
        tally.add(&at_date);
        tally.add(&sub(
            "x",
            "c3",
            "active",
            vec![item("m", 1000, "eur", Interval::Month, 1, 1)],
        ));
        let r = tally.finish(NOW, 30);
        let rows: Vec<_> = r
            .pending_cancellations
            .iter()
            .map(|p| (p.subscription.as_str(), p.cancels_at, p.mrr_minor))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("p2", Some(NOW + 3 * DAY), 1000),
                ("p1", Some(NOW + 10 * DAY), 2000)
            ]
        );
    }

    #[test]
    fn at_risk_ranks_recoverable_first_then_by_mrr() {
        let mk = |id: &str, status: &str, amount: i64| {
            sub(
                id,
                &format!("cus_{id}"),
                status,
                vec![item("m", amount, "eur", Interval::Month, 1, 1)],
            )
        };
        let mut tally = ChurnTally::new(NOW - 30 * DAY);
        let subs = [
            mk("hard_big", "past_due", 9000),
            mk("soft_small", "past_due", 1000),
            mk("expired_reachable", "unpaid", 2000),
            mk("expired_unreachable", "past_due", 5000),
            mk("soft_big", "past_due", 3000),
        ];
        for s in &subs {
            tally.add(s);
        }
        assert_eq!(tally.at_risk().len(), 5);
        for p in [
            failed("hard_big", Some("stolen_card"), true),
            failed("soft_small", Some("insufficient_funds"), true),
            failed("expired_reachable", Some("expired_card"), true),
            failed("expired_unreachable", Some("expired_card"), false),
            failed("soft_big", Some("do_not_honor"), false),
            // Another subscription's payment changes nothing here.
            failed("healthy", Some("stolen_card"), true),
        ] {
            tally.add_open_payment(p);
        }
        let r = tally.finish(NOW, 30);
        let order: Vec<_> = r
            .at_risk
            .iter()
            .map(|a| (a.subscription.as_str(), a.recoverable))
            .collect();
        assert_eq!(
            order,
            vec![
                ("soft_big", true),
                ("expired_reachable", true),
                ("soft_small", true),
                ("hard_big", false),
                ("expired_unreachable", false),
            ]
        );
        assert_eq!(r.at_risk[3].decline, Decline::Hard);
        assert_eq!(r.at_risk[0].attempts, 2);
        let json = r.to_json();
        assert_eq!(json["at_risk"][0]["subscription"], "soft_big");
        assert_eq!(json["at_risk"][0]["decline_code"], "do_not_honor");
        assert!(r
            .to_csv()
            .expect("csv")
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("at_risk,soft_big")));
    }

    /// The scan meets payments in any order: of one subscription's open
    /// payments the one with a decline code counts, the newest of those;
    /// a payment without a subscription is matched by the latest invoice;
    /// an at-risk subscription with no open payment is unknown, not dropped.
    #[test]
    fn at_risk_rows_join_their_most_telling_open_payment() {
        let mk = |id: &str, invoice: Option<&str>| {
            let mut s = sub(
                id,
                &format!("cus_{id}"),
                "past_due",
                vec![item("m", 1000, "eur", Interval::Month, 1, 1)],
            );
            s.latest_invoice = invoice.map(str::to_owned);
            s
        };
        let at = |sub: &str, code: Option<&str>, days_ago: i64| {
            let mut p = failed(sub, code, true);
            p.created = NOW - days_ago * DAY;
            p.details.attempts = days_ago as u32;
            p
        };
        let mut tally = ChurnTally::new(NOW - 30 * DAY);
        tally.add_open_payment(at("a", Some("do_not_honor"), 9));
        tally.add(&mk("a", Some("in_new")));
        tally.add_open_payment(at("a", None, 1));
        tally.add_open_payment(at("a", Some("stolen_card"), 3));
        tally.add_open_payment(at("a", Some("lost_card"), 5));
        let mut by_invoice = at("b", Some("insufficient_funds"), 2);
        by_invoice.subscription = None;
        by_invoice.invoice = "in_b_latest".into();
        tally.add_open_payment(by_invoice);
        tally.add(&mk("b", Some("in_b_latest")));
        tally.add(&mk("c", Some("in_c")));
        let r = tally.finish(NOW, 30);
        let rows: Vec<_> = r
            .at_risk
            .iter()
            .map(|a| {
                (
                    a.subscription.as_str(),
                    a.decline_code.as_deref(),
                    a.attempts,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("b", Some("insufficient_funds"), 2),
                ("a", Some("stolen_card"), 3),
                ("c", None, 0),
            ]
        );
    }
}

#[test]
fn long_text_is_paged_at_line_ends_and_nothing_is_lost() {
    let text: String = (0..500)
        .map(|i| format!("line {i:04} {}\n", "x".repeat(20)))
        .collect();
    let chunks = chunk_lines(&text, 300);
    assert!(chunks.iter().all(|c| c.chars().count() <= 300));
    assert_eq!(chunks.join("\n"), text.trim_end());
    let long = "y".repeat(700);
    assert_eq!(chunk_lines(&long, 300).concat(), long);
}

mod chart_rules {
    use slack_morphism::blocks::SlackChart;

    use super::super::charts::{churn_reasons, mrr_by_plan, MAX_SEGMENTS, MAX_TITLE_CHARS, OTHER};
    use super::super::churn::ChurnTally;
    use super::*;

    #[test]
    fn mrr_chart_shows_one_currency_top_eleven_and_other() {
        // 15 EUR plans (EUR 10.00 … 150.00 a month, EUR 1 200 in all) and a
        // JPY plan of JPY 900: JPY must not share the EUR chart.
        let mut subs: Vec<ScannedSubscription> = (1..=15)
            .map(|i| {
                sub(
                    &format!("sub_{i}"),
                    &format!("cus_{i}"),
                    "active",
                    vec![item(
                        &format!("eur_{i:02}"),
                        i * 1000,
                        "eur",
                        Interval::Month,
                        1,
                        1,
                    )],
                )
            })
            .collect();
        subs.push(sub(
            "sub_jpy",
            "cus_jpy",
            "active",
            vec![item("jpy", 900, "jpy", Interval::Month, 1, 1)],
        ));
        let chart = mrr_by_plan(&report(&subs)).expect("a chart");
        assert!(
            chart.title.chars().count() <= MAX_TITLE_CHARS,
            "{}",
            chart.title
        );
        assert!(chart.title.contains("EUR"), "{}", chart.title);
        let SlackChart::Bar(bar) = chart.chart else {
            panic!("a bar chart: {:?}", chart.chart);
        };
        assert_eq!(bar.series.len(), 1);
        let data = &bar.series[0].data;
        assert_eq!(data.len(), MAX_SEGMENTS);
        assert_eq!(bar.axis_config.categories.len(), data.len());
        // Largest first, labelled by product, in major units.
        assert_eq!(data[0].label, "prod_eur_15");
        assert_eq!(
            data[0].value,
            serde_json::Number::from_f64(150.0).expect("n")
        );
        assert!(data.iter().all(|d| !d.label.starts_with("prod_jpy")));
        // "other" holds plans 1 to 4: 10 + 20 + 30 + 40.
        let other = data.last().expect("other");
        assert_eq!(other.label, OTHER);
        assert_eq!(other.value, serde_json::Number::from_f64(100.0).expect("n"));
    }

    #[test]
    fn mrr_chart_of_a_zero_decimal_currency_is_whole_and_none_without_mrr() {
        let r = report(&[sub(
            "sub_jpy",
            "cus_jpy",
            "active",
            vec![item("jpy", 4_500, "jpy", Interval::Month, 1, 2)],
        )]);
        let chart = mrr_by_plan(&r).expect("a chart");
        let SlackChart::Bar(bar) = chart.chart else {
            panic!("a bar chart");
        };
        assert_eq!(bar.series[0].data[0].value, 9_000.into());
        assert!(chart.title.contains("JPY"));
        let trialing = report(&[sub(
            "sub_t",
            "cus_t",
            "trialing",
            vec![item("m", 1000, "eur", Interval::Month, 1, 1)],
        )]);
        assert!(mrr_by_plan(&trialing).is_none());
    }

    #[test]
    fn churn_chart_splits_voluntary_reasons_from_involuntary_ones() {
        let mut tally = ChurnTally::new(NOW - 30 * DAY);
        let ended = |id: &str, reason: Option<&str>, feedback: Option<&str>| {
            let mut s = sub(
                id,
                &format!("cus_{id}"),
                "canceled",
                vec![item("m", 1000, "eur", Interval::Month, 1, 1)],
            );
            s.ended_at = Some(NOW - DAY);
            s.cancellation = Some(Cancellation {
                reason: reason.map(str::to_owned),
                feedback: feedback.map(str::to_owned),
                comment: None,
            });
            s
        };
        for s in [
            ended("a", Some("cancellation_requested"), Some("too_expensive")),
            ended("b", Some("cancellation_requested"), Some("too_expensive")),
            ended("c", None, None),
            ended("d", Some("payment_failed"), None),
        ] {
            tally.add(&s);
        }
        let r = tally.finish(NOW, 30);
        let chart = churn_reasons(&r).expect("a chart");
        assert!(chart.title.chars().count() <= MAX_TITLE_CHARS);
        let SlackChart::Pie(pie) = chart.chart else {
            panic!("a pie chart");
        };
        let segments: Vec<(&str, serde_json::Number)> = pie
            .segments
            .iter()
            .map(|s| (s.label.as_str(), s.value.clone()))
            .collect();
        assert_eq!(
            segments,
            vec![
                ("voluntary: too_expensive", 2.into()),
                ("involuntary: payment_failed", 1.into()),
                ("voluntary, no reason given", 1.into()),
            ]
        );
        assert!(churn_reasons(&ChurnTally::new(NOW).finish(NOW, 30)).is_none());
    }
}
