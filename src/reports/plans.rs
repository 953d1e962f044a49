//! Plan analysis: per price, the active subscriptions,
//! seats and MRR; totals per currency; monthly vs yearly per product and the
//! customers who switched in the period; seat confusion. [`PlansTally`] is
//! fed one subscription at a time and keeps one line per price, so memory
//! follows the number of prices. Two parts grow with the account and are
//! bounded as small as the question allows: a set of 8-byte hashes of
//! (customer, price) pairs holding a one-seat subscription, to find repeats,
//! and the (customer, product) pairs that started or ended a subscription
//! inside the period.

use std::collections::{BTreeMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::Serialize;

use super::{
    counts_for_mrr, interval_name, monthly, CouponDuration, Discount, ScannedItem,
    ScannedSubscription, MRR_RULES,
};
use crate::domain::{Currency, Interval, Money};

/// How many example rows a seat-confusion finding keeps; the count is kept
/// in full, so the report says how many more there are.
pub const MAX_EXAMPLES: usize = 10;

/// Words in a price nickname that mark a price as meant for a team.
const TEAM_WORDS: &[&str] = &[
    "team",
    "business",
    "company",
    "organisation",
    "organization",
    "seat",
    "enterprise",
];
/// Words that mark a price as meant for one person.
const PERSONAL_WORDS: &[&str] = &["personal", "individual", "solo", "single", "single-user"];

/// The plan analysis being built from a stream of subscriptions.
#[derive(Debug, Default)]
pub struct PlansTally {
    period_start: i64,
    n_scanned: u64,
    plans: BTreeMap<String, PlanLine>,
    totals: BTreeMap<Currency, TotalLine>,
    not_in_mrr: BTreeMap<(String, &'static str), (Option<String>, u64, u64)>,
    excluded: BTreeMap<String, u64>,
    products: BTreeMap<String, ProductMix>,
    ended_recent: BTreeMap<(String, String), Vec<Interval>>,
    started_recent: BTreeMap<(String, String), Vec<Interval>>,
    one_seat_seen: HashSet<u64>,
    repeated_one_seat: BTreeMap<(String, String), u64>,
    team_one_seat: Finding,
    personal_multi_seat: Finding,
}

#[derive(Debug)]
struct PlanLine {
    product: Option<String>,
    nickname: Option<String>,
    interval: Interval,
    interval_count: u32,
    currency: Currency,
    subscriptions: u64,
    seats: u64,
    past_due: u64,
    /// Sums of per-period amounts; normalised to a month once, at the end.
    amount_forever: i128,
    amount_all: i128,
    amount_past_due: i128,
}

#[derive(Debug, Default)]
struct TotalLine {
    subscriptions: u64,
    seats: u64,
}

/// Subscriptions per product by billing interval.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct ProductMix {
    pub product: String,
    pub monthly: u64,
    pub yearly: u64,
    /// Weekly, daily, or a multi-month interval.
    pub other: u64,
}

/// Examples of one seat-confusion pattern, with the full count.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub count: u64,
    pub examples: Vec<SeatExample>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SeatExample {
    pub customer: String,
    pub price: String,
    /// The subscription, or how many one-seat subscriptions the customer holds.
    pub subscription: Option<String>,
    pub seats: u64,
}

/// The finished plan analysis (JSON format version 1).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlansReport {
    pub v: u32,
    pub generated_at: i64,
    pub period_days: u32,
    pub scanned_subscriptions: u64,
    pub plans: Vec<PlanRow>,
    pub totals: Vec<CurrencyTotal>,
    pub products: Vec<ProductMix>,
    pub interval_moves: Vec<IntervalMove>,
    pub not_in_mrr: Vec<NotInMrr>,
    /// Subscriptions left out of MRR, by status.
    pub excluded: BTreeMap<String, u64>,
    pub seat_confusion: SeatConfusion,
    pub mrr_rules: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlanRow {
    pub price: String,
    pub product: Option<String>,
    pub nickname: Option<String>,
    pub interval: &'static str,
    pub interval_count: u32,
    pub currency: Currency,
    pub active_subscriptions: u64,
    pub seats: u64,
    /// After forever coupons only.
    pub mrr_minor: i64,
    pub mrr_after_discounts_minor: i64,
    /// Of `active_subscriptions`, how many are past_due (at risk).
    pub past_due_subscriptions: u64,
    pub past_due_mrr_minor: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CurrencyTotal {
    pub currency: Currency,
    pub active_subscriptions: u64,
    pub seats: u64,
    pub mrr_minor: i64,
    pub mrr_after_discounts_minor: i64,
    pub past_due_mrr_minor: i64,
}

/// A customer who ended a subscription on one interval and started one on
/// another, for the same product, inside the period.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IntervalMove {
    pub customer: String,
    pub product: String,
    pub from: &'static str,
    pub to: &'static str,
}

/// Items counted apart from MRR: metered (billed on usage) or tiered (no
/// single unit amount).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NotInMrr {
    pub price: String,
    pub product: Option<String>,
    pub reason: &'static str,
    pub subscriptions: u64,
    pub seats: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SeatConfusion {
    /// Prices named for teams, bought with one seat.
    pub team_price_one_seat: Finding,
    /// Prices named for one person, bought with several seats.
    pub personal_price_several_seats: Finding,
    /// Customers holding several one-seat subscriptions to one price.
    pub several_one_seat_subscriptions: Finding,
}

impl PlansTally {
    /// A tally whose interval moves are those from `period_start` on.
    pub fn new(period_start: i64) -> Self {
        Self {
            period_start,
            ..Self::default()
        }
    }

    /// How many subscriptions were added so far.
    pub fn scanned(&self) -> u64 {
        self.n_scanned
    }

    /// Folds one subscription in.
    pub fn add(&mut self, sub: &ScannedSubscription) {
        self.n_scanned += 1;
        self.note_interval_moves(sub);
        if !counts_for_mrr(&sub.status) {
            *self.excluded.entry(sub.status.clone()).or_default() += 1;
            return;
        }
        let past_due = sub.status == "past_due";
        let (forever, all) = discounted_amounts(sub);
        let mut currencies: Vec<Currency> = Vec::new();
        let mut seats_by_currency: BTreeMap<Currency, u64> = BTreeMap::new();
        for (i, item) in sub.items.iter().enumerate() {
            self.note_seats(sub, item);
            if let Some(product) = &item.product {
                let mix = self.products.entry(product.clone()).or_default();
                match (item.interval, item.interval_count) {
                    (Interval::Month, 1) => mix.monthly += 1,
                    (Interval::Year, 1) => mix.yearly += 1,
                    _ => mix.other += 1,
                }
            }
            if !currencies.contains(&item.currency) {
                currencies.push(item.currency);
            }
            *seats_by_currency.entry(item.currency).or_default() += item.quantity;
            let reason = if item.metered {
                Some("metered")
            } else if item.unit_amount.is_none() {
                Some("tiered")
            } else {
                None
            };
            if let Some(reason) = reason {
                let line = self
                    .not_in_mrr
                    .entry((item.price.clone(), reason))
                    .or_insert((item.product.clone(), 0, 0));
                line.1 += 1;
                line.2 += item.quantity;
                continue;
            }
            let line = self
                .plans
                .entry(item.price.clone())
                .or_insert_with(|| PlanLine {
                    product: item.product.clone(),
                    nickname: item.nickname.clone(),
                    interval: item.interval,
                    interval_count: item.interval_count,
                    currency: item.currency,
                    subscriptions: 0,
                    seats: 0,
                    past_due: 0,
                    amount_forever: 0,
                    amount_all: 0,
                    amount_past_due: 0,
                });
            line.subscriptions += 1;
            line.seats += item.quantity;
            line.amount_forever += forever[i];
            line.amount_all += all[i];
            if past_due {
                line.past_due += 1;
                line.amount_past_due += forever[i];
            }
        }
        for currency in currencies {
            let total = self.totals.entry(currency).or_default();
            total.subscriptions += 1;
            total.seats += seats_by_currency.get(&currency).copied().unwrap_or(0);
        }
    }

    /// Seat confusion, for one item of a live subscription.
    fn note_seats(&mut self, sub: &ScannedSubscription, item: &ScannedItem) {
        let name = item.nickname.as_deref().unwrap_or_default().to_lowercase();
        let example = || SeatExample {
            customer: sub.customer.clone(),
            price: item.price.clone(),
            subscription: Some(sub.id.clone()),
            seats: item.quantity,
        };
        if item.quantity == 1 && TEAM_WORDS.iter().any(|w| name.contains(w)) {
            push(&mut self.team_one_seat, example());
        }
        if item.quantity > 1 && PERSONAL_WORDS.iter().any(|w| name.contains(w)) {
            push(&mut self.personal_multi_seat, example());
        }
        if item.quantity == 1 {
            let mut hasher = DefaultHasher::new();
            (&sub.customer, &item.price).hash(&mut hasher);
            if !self.one_seat_seen.insert(hasher.finish()) {
                // A hash collision could pair two strangers; the rare false
                // repeat costs one row an operator checks by hand.
                *self
                    .repeated_one_seat
                    .entry((sub.customer.clone(), item.price.clone()))
                    .or_insert(1) += 1;
            }
        }
    }

    fn note_interval_moves(&mut self, sub: &ScannedSubscription) {
        let ended = sub.ended_at.or(sub.canceled_at);
        let recent_end = matches!(sub.status.as_str(), "canceled")
            && ended.is_some_and(|t| t >= self.period_start);
        let recent_start = !matches!(sub.status.as_str(), "canceled" | "incomplete_expired")
            && sub.created >= self.period_start;
        if !(recent_end || recent_start) {
            return;
        }
        let map = if recent_end {
            &mut self.ended_recent
        } else {
            &mut self.started_recent
        };
        for item in &sub.items {
            if item.interval_count != 1 {
                continue;
            }
            if let Some(product) = &item.product {
                map.entry((sub.customer.clone(), product.clone()))
                    .or_default()
                    .push(item.interval);
            }
        }
    }

    /// The report, as of `now`.
    pub fn finish(self, now: i64, period_days: u32) -> PlansReport {
        let mut plans: Vec<PlanRow> = self
            .plans
            .into_iter()
            .map(|(price, l)| PlanRow {
                price,
                product: l.product,
                nickname: l.nickname,
                interval: interval_name(l.interval),
                interval_count: l.interval_count,
                currency: l.currency,
                active_subscriptions: l.subscriptions,
                seats: l.seats,
                mrr_minor: monthly(l.amount_forever, l.interval, l.interval_count),
                mrr_after_discounts_minor: monthly(l.amount_all, l.interval, l.interval_count),
                past_due_subscriptions: l.past_due,
                past_due_mrr_minor: monthly(l.amount_past_due, l.interval, l.interval_count),
            })
            .collect();
        plans.sort_by(|a, b| {
            (
                a.currency.as_str(),
                std::cmp::Reverse(a.mrr_minor),
                &a.price,
            )
                .cmp(&(
                    b.currency.as_str(),
                    std::cmp::Reverse(b.mrr_minor),
                    &b.price,
                ))
        });
        let totals = self
            .totals
            .into_iter()
            .map(|(currency, t)| {
                let of = |f: fn(&PlanRow) -> i64| {
                    plans.iter().filter(|p| p.currency == currency).map(f).sum()
                };
                CurrencyTotal {
                    currency,
                    active_subscriptions: t.subscriptions,
                    seats: t.seats,
                    mrr_minor: of(|p| p.mrr_minor),
                    mrr_after_discounts_minor: of(|p| p.mrr_after_discounts_minor),
                    past_due_mrr_minor: of(|p| p.past_due_mrr_minor),
                }
            })
            .collect();
        let mut interval_moves = Vec::new();
        for ((customer, product), ended) in &self.ended_recent {
            let Some(started) = self
                .started_recent
                .get(&(customer.clone(), product.clone()))
            else {
                continue;
            };
            for (from, to) in [
                (Interval::Month, Interval::Year),
                (Interval::Year, Interval::Month),
            ] {
                if ended.contains(&from) && started.contains(&to) {
                    interval_moves.push(IntervalMove {
                        customer: customer.clone(),
                        product: product.clone(),
                        from: interval_name(from),
                        to: interval_name(to),
                    });
                }
            }
        }
        let mut repeated = Finding::default();
        for ((customer, price), n) in self.repeated_one_seat {
            push(
                &mut repeated,
                SeatExample {
                    customer,
                    price,
                    subscription: None,
                    seats: n,
                },
            );
        }
        PlansReport {
            v: 1,
            generated_at: now,
            period_days,
            scanned_subscriptions: self.n_scanned,
            plans,
            totals,
            products: self
                .products
                .into_iter()
                .map(|(product, mix)| ProductMix { product, ..mix })
                .collect(),
            interval_moves,
            not_in_mrr: self
                .not_in_mrr
                .into_iter()
                .map(
                    |((price, reason), (product, subscriptions, seats))| NotInMrr {
                        price,
                        product,
                        reason,
                        subscriptions,
                        seats,
                    },
                )
                .collect(),
            excluded: self.excluded,
            seat_confusion: SeatConfusion {
                team_price_one_seat: self.team_one_seat,
                personal_price_several_seats: self.personal_multi_seat,
                several_one_seat_subscriptions: repeated,
            },
            mrr_rules: MRR_RULES,
        }
    }
}

fn push(finding: &mut Finding, example: SeatExample) {
    finding.count += 1;
    if finding.examples.len() < MAX_EXAMPLES {
        finding.examples.push(example);
    }
}

/// Each item's amount per period (unit × quantity; 0 for metered or tiered
/// items), after forever coupons and after every coupon. The coupons are
/// the subscription's own, or its customer's when it has none
/// ([`ScannedSubscription::applied_discounts`]). A percentage comes
/// off every item; an amount off the invoice is shared out in proportion to
/// the items' amounts, in the coupon's currency only, never below zero.
pub fn discounted_amounts(sub: &ScannedSubscription) -> (Vec<i128>, Vec<i128>) {
    let gross: Vec<i128> = sub
        .items
        .iter()
        .map(|i| match (i.metered, i.unit_amount) {
            (false, Some(unit)) => i128::from(unit) * i128::from(i.quantity),
            _ => 0,
        })
        .collect();
    let apply = |only_forever: bool| -> Vec<i128> {
        let mut amounts = gross.clone();
        for d in sub
            .applied_discounts()
            .iter()
            .filter(|d| !only_forever || d.duration == CouponDuration::Forever)
        {
            apply_discount(&mut amounts, &sub.items, d);
        }
        amounts
    };
    (apply(true), apply(false))
}

fn apply_discount(amounts: &mut [i128], items: &[ScannedItem], discount: &Discount) {
    if let Some(bp) = discount.percent_off_bp {
        let keep = 10_000 - i128::from(bp.min(10_000));
        for a in amounts.iter_mut() {
            *a = *a * keep / 10_000;
        }
    }
    if let Some(off) = discount.amount_off {
        let same_currency = |i: &ScannedItem| discount.currency.is_none_or(|c| c == i.currency);
        let base: i128 = amounts
            .iter()
            .zip(items)
            .filter(|(_, i)| same_currency(i))
            .map(|(a, _)| *a)
            .sum();
        if base <= 0 {
            return;
        }
        let off = i128::from(off).min(base);
        for (a, i) in amounts.iter_mut().zip(items) {
            if same_currency(i) {
                *a -= off * *a / base;
            }
        }
    }
}

impl super::Report for PlansReport {
    /// The report as JSON.
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|e| {
            // Every field is plain data with string keys; this cannot fail.
            serde_json::json!({ "error": e.to_string() })
        })
    }

    /// One row per price, then one `total` row per currency.
    ///
    /// # Errors
    /// Only if the CSV writer fails, which it does not on a `Vec`.
    fn to_csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "row",
            "price",
            "product",
            "nickname",
            "interval",
            "interval_count",
            "currency",
            "active_subscriptions",
            "seats",
            "mrr_minor",
            "mrr_after_discounts_minor",
            "past_due_subscriptions",
            "past_due_mrr_minor",
        ])?;
        for p in &self.plans {
            w.write_record([
                "plan",
                &p.price,
                p.product.as_deref().unwrap_or(""),
                p.nickname.as_deref().unwrap_or(""),
                p.interval,
                &p.interval_count.to_string(),
                p.currency.as_str(),
                &p.active_subscriptions.to_string(),
                &p.seats.to_string(),
                &p.mrr_minor.to_string(),
                &p.mrr_after_discounts_minor.to_string(),
                &p.past_due_subscriptions.to_string(),
                &p.past_due_mrr_minor.to_string(),
            ])?;
        }
        for t in &self.totals {
            w.write_record([
                "total",
                "",
                "",
                "",
                "",
                "",
                t.currency.as_str(),
                &t.active_subscriptions.to_string(),
                &t.seats.to_string(),
                &t.mrr_minor.to_string(),
                &t.mrr_after_discounts_minor.to_string(),
                "",
                &t.past_due_mrr_minor.to_string(),
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A fixed-width text report (terminal, and the Slack fallback table).
    fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Plans: {} subscriptions scanned, {} in MRR",
            self.scanned_subscriptions,
            self.totals
                .iter()
                .map(|t| t.active_subscriptions)
                .sum::<u64>()
        );
        let _ = writeln!(
            out,
            "\n{:<28} {:<22} {:<9} {:>6} {:>6} {:>16} {:>9}",
            "price", "product", "interval", "subs", "seats", "MRR", "past due"
        );
        for p in &self.plans {
            let interval = if p.interval_count == 1 {
                p.interval.to_owned()
            } else {
                format!("{}×{}", p.interval_count, p.interval)
            };
            let _ = writeln!(
                out,
                "{:<28} {:<22} {:<9} {:>6} {:>6} {:>16} {:>9}",
                cut(p.nickname.as_deref().unwrap_or(&p.price), 28),
                cut(p.product.as_deref().unwrap_or("-"), 22),
                interval,
                p.active_subscriptions,
                p.seats,
                Money::new(p.mrr_minor, p.currency).to_string(),
                p.past_due_subscriptions
            );
        }
        let _ = writeln!(
            out,
            "\nTotals per currency (never summed across currencies):"
        );
        for t in &self.totals {
            let _ = writeln!(
                out,
                "  {}: {} subscriptions, {} seats, MRR {}, after all discounts {}, at risk (past due) {}",
                t.currency,
                t.active_subscriptions,
                t.seats,
                Money::new(t.mrr_minor, t.currency),
                Money::new(t.mrr_after_discounts_minor, t.currency),
                Money::new(t.past_due_mrr_minor, t.currency)
            );
        }
        if !self.products.is_empty() {
            let _ = writeln!(out, "\nMonthly vs yearly per product:");
            for m in &self.products {
                let _ = writeln!(
                    out,
                    "  {}: {} monthly, {} yearly, {} other",
                    m.product, m.monthly, m.yearly, m.other
                );
            }
        }
        let _ = writeln!(
            out,
            "\nSwitched interval in the last {} days: {}",
            self.period_days,
            self.interval_moves.len()
        );
        for m in &self.interval_moves {
            let _ = writeln!(out, "  {} {}: {} → {}", m.customer, m.product, m.from, m.to);
        }
        for n in &self.not_in_mrr {
            let _ = writeln!(
                out,
                "Not in MRR ({}): {} on {} subscriptions",
                n.reason, n.price, n.subscriptions
            );
        }
        if !self.excluded.is_empty() {
            let parts: Vec<String> = self
                .excluded
                .iter()
                .map(|(status, n)| format!("{n} {status}"))
                .collect();
            let _ = writeln!(out, "Excluded from MRR: {}", parts.join(", "));
        }
        let sc = &self.seat_confusion;
        let _ = writeln!(out, "\nSeat confusion:");
        for (title, f) in [
            ("team prices with one seat", &sc.team_price_one_seat),
            (
                "personal prices with several seats",
                &sc.personal_price_several_seats,
            ),
            (
                "customers with several one-seat subscriptions to one price",
                &sc.several_one_seat_subscriptions,
            ),
        ] {
            let _ = writeln!(out, "  {title}: {}", f.count);
            for e in &f.examples {
                let _ = writeln!(
                    out,
                    "    {} {} {} ({} seats)",
                    e.customer,
                    e.price,
                    e.subscription.as_deref().unwrap_or("-"),
                    e.seats
                );
            }
            if f.count > f.examples.len() as u64 {
                let _ = writeln!(
                    out,
                    "    … and {} more (JSON and CSV list the counts)",
                    f.count - f.examples.len() as u64
                );
            }
        }
        let _ = write!(out, "\n{MRR_RULES}");
        out
    }
}

/// At most `n` characters, with an ellipsis when cut.
pub fn cut(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(n.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}
