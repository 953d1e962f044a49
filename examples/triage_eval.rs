//! Evaluation of triage over the development corpus.
//!
//! Runs every message of `../shared/data/triage-corpus/messages.jsonl` (or
//! the path given as the first argument: `scripts/dev test` gives each
//! `tests/fixtures/triage-*/messages.jsonl` in turn) through the same pure `assess` the
//! bot uses, against the fixture of its billing state
//! (`tests/fixtures/corpus/<state>.json`, with the locale variant its
//! language selects), at the corpus' fixed now, and prints accuracy (strict,
//! and lenient where a label in `also_ok` counts), recall and precision per
//! label, accuracy per language and per state, the confusion matrix, every
//! misclassified item and every costly error: a refund proposed where
//! `refund_ok` is false, or a cancellation where `cancel_ok` is false.
//!
//! Exits 1 on any costly error (CI runs it after `cargo test`); accuracy is
//! printed, not asserted. Exits 2 when the corpus or a fixture cannot be read.
//!
//! `cargo run --example triage_eval [-- PATH]`
//!
//! `cargo run --example triage_eval -- --signals MESSAGE…` prints the
//! signals read from each message instead, and the screen's two scores
//! (`triage::screen`): what a table change reads.

use billing_triage::assess::{assess, Intake};
use billing_triage::domain::{ActionKind, Actor, BillingSnapshot, Case, CaseId, Triage};
use billing_triage::followup::FollowUpSettings;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// 2025-06-15T12:00:00Z, the corpus' "now" (its README).
const NOW: i64 = 1_749_988_800;

/// Every label, in the order the matrix prints them.
const LABELS: [&str; 7] = [
    "duplicate_personal_subscription",
    "genuine_multi_seat_intent",
    "failed_payment",
    "missing_self_serve_control",
    "product_failure",
    "needs_review",
    "not_found",
];

/// The corpus README's locale variants per state: an item whose language
/// maps to one of these uses it, else the fixture's default.
const VARIANTS: &[(&str, &[&str])] = &[
    ("healthy_monthly", &["zh-CN", "de-DE", "fr-FR", "ko-KR"]),
    ("healthy_yearly", &["ja-JP", "de-DE", "zh-CN"]),
    (
        "duplicate_same_customer",
        &["zh-CN", "es-ES", "pt-BR", "ja-JP"],
    ),
    ("duplicate_across_customers", &["en-US", "fr-FR", "ko-KR"]),
    ("shared_email_no_duplicate", &["fr-FR", "zh-CN"]),
    ("team_5_seats", &["en-US", "fr-FR"]),
    ("team_company_metadata", &["es-ES", "zh-CN", "ja-JP"]),
    ("failed_payment_incomplete", &["en-US", "zh-CN", "pt-BR"]),
    (
        "past_due_expired_card",
        &["zh-CN", "ko-KR", "ja-JP", "es-ES"],
    ),
    ("canceled_then_charged", &["en-US", "de-DE", "zh-CN"]),
    ("canceled_clean", &["zh-CN", "ja-JP"]),
    (
        "pending_cancellation",
        &["en-US", "zh-CN", "ko-KR", "fr-FR"],
    ),
    ("refunded_charge", &["zh-CN", "nl-NL"]),
    ("disputed_charge", &["ko-KR", "es-ES", "zh-CN"]),
    (
        "yearly_renewed_yesterday",
        &["en-US", "zh-CN", "ko-KR", "de-DE"],
    ),
    ("no_customer", &[]),
];

#[derive(Deserialize)]
struct Item {
    id: String,
    lang: String,
    state: String,
    message: String,
    label: String,
    #[serde(default)]
    also_ok: Vec<String>,
    refund_ok: bool,
    cancel_ok: bool,
}

/// Hits and totals.
#[derive(Default, Clone, Copy)]
struct Tally {
    strict: usize,
    lenient: usize,
    n: usize,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--signals") {
        for message in &args[1..] {
            let prepared = billing_triage::triage::text::prepare(message);
            let (signals, quotes) = billing_triage::triage::read_quoted(&prepared);
            let screen = billing_triage::triage::screen::screen(message).unwrap_or_default();
            println!(
                "{signals:?} (screen: instruction {:.2}, threat {:.2}, cancel {:.2}, refund {:.2})  {message}",
                screen.instruction, screen.threat, screen.cancel, screen.refund
            );
            if let Some(read) = billing_triage::triage::screen::fallback(message) {
                println!("    fallback: {read:?}");
            }
            for quote in quotes {
                println!("    {:?}: \"{}\"", quote.signal, quote.words);
            }
        }
        return ExitCode::SUCCESS;
    }
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/triage-corpus/messages.jsonl"
        )
        .to_owned()
    });
    match run(&path) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(error) => {
            eprintln!("triage_eval: {error}");
            ExitCode::from(2)
        }
    }
}

/// Prints the report; returns the number of costly errors.
fn run(path: &str) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("cannot read the corpus {path}: {e} (pass its path as the first argument)")
    })?;
    let items: Vec<Item> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| format!("{path} line {}: {e}", i + 1))
        })
        .collect::<Result<_, _>>()?;
    let mut fixtures: BTreeMap<String, BillingSnapshot> = BTreeMap::new();
    let mut overall = Tally::default();
    let (mut by_lang, mut by_state) = (
        BTreeMap::<String, Tally>::new(),
        BTreeMap::<String, Tally>::new(),
    );
    let mut matrix: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut misses, mut costly) = (Vec::new(), Vec::new());
    // Refunds allowed, of them proposed; cancellations allowed, proposed.
    let mut moved = [0usize; 4];
    for item in &items {
        if !fixtures.contains_key(&item.state) {
            fixtures.insert(item.state.clone(), load(&item.state)?);
        }
        let snapshot = with_locale(&fixtures[&item.state], &item.state, &item.lang);
        let case = assess(
            Intake {
                id: CaseId::from_random(0),
                requested_by: Actor::System,
                message: Some(&item.message),
                added: &[],
                now: NOW,
            },
            snapshot,
            &FollowUpSettings {
                portal_login_url: None,
            },
        );
        let got = label(&case.triage);
        let strict = got == item.label;
        let lenient = strict || item.also_ok.iter().any(|l| l == got);
        for tally in [
            &mut overall,
            by_lang.entry(item.lang.clone()).or_default(),
            by_state.entry(item.state.clone()).or_default(),
        ] {
            tally.n += 1;
            tally.strict += usize::from(strict);
            tally.lenient += usize::from(lenient);
        }
        *matrix
            .entry((item.label.clone(), got.to_owned()))
            .or_default() += 1;
        if !lenient {
            misses.push(format!(
                "{} [{} {}] expected {}, got {}: {} (signals: {:?})",
                item.id,
                item.lang,
                item.state,
                item.label,
                got,
                snippet(&item.message),
                billing_triage::triage::read_signals(&item.message)
            ));
        }
        let (refunds, cancels) = proposes(&case);
        // Where the labels allow a money move, was one proposed?
        for (allowed, proposed, slot) in
            [(item.refund_ok, refunds, 0), (item.cancel_ok, cancels, 2)]
        {
            moved[slot] += usize::from(allowed);
            moved[slot + 1] += usize::from(allowed && proposed);
        }
        if refunds && !item.refund_ok {
            costly.push(format!(
                "{} [{}] refund proposed, refund_ok is false: {}",
                item.id,
                item.state,
                snippet(&item.message)
            ));
        }
        if cancels && !item.cancel_ok {
            costly.push(format!(
                "{} [{}] cancellation proposed, cancel_ok is false: {}",
                item.id,
                item.state,
                snippet(&item.message)
            ));
        }
    }

    println!(
        "Triage evaluation: {} messages from {path}, now = 2025-06-15T12:00:00Z\n",
        items.len()
    );
    println!(
        "Accuracy: strict {} · lenient (also_ok counts) {}",
        pct(overall.strict, overall.n),
        pct(overall.lenient, overall.n)
    );

    println!("\nPer label (strict)           recall              precision");
    for l in LABELS {
        let actual: usize = matrix
            .iter()
            .filter(|((a, _), _)| a == l)
            .map(|(_, n)| n)
            .sum();
        let predicted: usize = matrix
            .iter()
            .filter(|((_, p), _)| p == l)
            .map(|(_, n)| n)
            .sum();
        let hit = matrix
            .get(&(l.to_owned(), l.to_owned()))
            .copied()
            .unwrap_or(0);
        println!("  {l:<33} {:<19} {}", pct(hit, actual), pct(hit, predicted));
    }

    println!("\nPer language                   strict              lenient");
    for (lang, t) in &by_lang {
        println!(
            "  {lang:<28} {:<19} {}",
            pct(t.strict, t.n),
            pct(t.lenient, t.n)
        );
    }
    println!("\nPer state                      strict              lenient");
    for (state, t) in &by_state {
        println!(
            "  {state:<28} {:<19} {}",
            pct(t.strict, t.n),
            pct(t.lenient, t.n)
        );
    }

    println!("\nConfusion matrix (rows: expected, columns: got)");
    let short = [
        "dup", "team", "failed", "self", "product", "review", "notfound",
    ];
    print!("  {:<33}", "");
    for s in short {
        print!("{s:>9}");
    }
    println!();
    for l in LABELS {
        print!("  {l:<33}");
        for p in LABELS {
            print!(
                "{:>9}",
                matrix
                    .get(&(l.to_owned(), p.to_owned()))
                    .copied()
                    .unwrap_or(0)
            );
        }
        println!();
    }

    println!("\nMisclassified (not even lenient): {}", misses.len());
    for m in &misses {
        println!("  {m}");
    }
    let review = "needs_review".to_owned();
    let review_hit = matrix
        .get(&(review.clone(), review.clone()))
        .copied()
        .unwrap_or(0);
    let review_predicted: usize = matrix
        .iter()
        .filter(|((_, p), _)| *p == review)
        .map(|(_, n)| n)
        .sum();
    // The lowest lenient accuracy of a language (emoji-only `und` aside).
    let weakest = by_lang
        .iter()
        .filter(|(lang, _)| lang.as_str() != "und")
        .min_by(|(_, a), (_, b)| (a.lenient * b.n).cmp(&(b.lenient * a.n)));
    println!(
        "\nGoals (issue 19): lenient {} of >= 95% · strict {} of >= 90% · weakest language lenient {} of >= 90% · needs-review precision {} of >= 85% · costly errors {} of 0",
        pct(overall.lenient, overall.n),
        pct(overall.strict, overall.n),
        weakest.map_or("-".to_owned(), |(lang, t)| format!("{lang} {}", pct(t.lenient, t.n))),
        pct(review_hit, review_predicted),
        costly.len()
    );
    println!(
        "Money moves proposed where the labels allow one: refunds {} · cancellations {}",
        pct(moved[1], moved[0]),
        pct(moved[3], moved[2])
    );
    println!("\nCostly errors: {}", costly.len());
    for c in &costly {
        println!("  {c}");
    }
    Ok(costly.len())
}

fn load(state: &str) -> Result<BillingSnapshot, String> {
    let path = format!(
        "{}/tests/fixtures/corpus/{state}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("no fixture for state {state} ({path}): {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path} is not a BillingSnapshot: {e}"))
}

/// The fixture with the locale variant the item's language selects (only
/// `preferred_locales` changes, on every customer).
fn with_locale(snapshot: &BillingSnapshot, state: &str, lang: &str) -> BillingSnapshot {
    let wanted = match lang {
        "zh-CN" => "zh-CN",
        "es" => "es-ES",
        "de" => "de-DE",
        "fr" => "fr-FR",
        "pt-BR" => "pt-BR",
        "ja" => "ja-JP",
        "ko" => "ko-KR",
        "nl" => "nl-NL",
        "en" => "en-US",
        _ => "",
    };
    let mut snapshot = snapshot.clone();
    let has_variant = VARIANTS
        .iter()
        .any(|(s, variants)| *s == state && variants.contains(&wanted));
    if has_variant {
        for customer in &mut snapshot.customers {
            customer.preferred_locales = vec![wanted.to_owned()];
        }
    }
    snapshot
}

fn label(triage: &Triage) -> &'static str {
    match triage {
        Triage::NotFound => "not_found",
        Triage::NeedsReview { .. } => "needs_review",
        Triage::Classified { category, .. } => {
            use billing_triage::domain::Category::*;
            match category {
                DuplicatePersonalSubscription => "duplicate_personal_subscription",
                GenuineMultiSeatIntent => "genuine_multi_seat_intent",
                FailedPayment => "failed_payment",
                MissingSelfServeControl => "missing_self_serve_control",
                ProductFailure => "product_failure",
            }
        }
    }
}

/// Whether the case proposes (refund, cancellation) anywhere.
fn proposes(case: &Case) -> (bool, bool) {
    let mut refunds = false;
    let mut cancels = false;
    for action in &case.actions {
        match &action.kind {
            ActionKind::Refund(_) => refunds = true,
            ActionKind::CancelSubscription { .. } => cancels = true,
            ActionKind::CancelDuplicate { refunds: r, .. } => {
                cancels = true;
                refunds |= !r.is_empty();
            }
            _ => {}
        }
    }
    (refunds, cancels)
}

fn pct(hit: usize, n: usize) -> String {
    if n == 0 {
        return "-".to_owned();
    }
    format!("{:.1}% ({hit}/{n})", 100.0 * hit as f64 / n as f64)
}

fn snippet(message: &str) -> String {
    let flat = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = flat.chars().take(90).collect();
    if flat.chars().count() > 90 {
        out.push('…');
    }
    out
}
