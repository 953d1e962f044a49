//! Prints how often the follow-up draft's language, when Stripe has no
//! preferred locale, matches the language of the corpus message it answers
//! (`followup::locale::message_language`, whatlang behind a confidence
//! threshold). A message that is not confident enough gets English, which is
//! right for English messages and a fallback for the others; "wrong" is a
//! draft in a third language. Prints figures; asserts nothing.
//!
//! cargo run --example draft_language [-- PATH/messages.jsonl]
//!
//! The corpus is read from `../shared/data/triage-corpus/` beside the
//! repository unless a path is given; it is not copied into the project.

use billing_triage::followup::locale::{message_language, Locale};
use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        format!(
            "{}/../shared/data/triage-corpus/messages.jsonl",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let corpus = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
    // label -> (messages, right, English fallback, wrong)
    let mut figures: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
        let item: serde_json::Value = serde_json::from_str(line)?;
        let label = item["lang"].as_str().unwrap_or("und").to_owned();
        let message = item["message"].as_str().unwrap_or_default();
        let expected = Locale::from_tag(&label).unwrap_or(Locale::En);
        let drafted = message_language(message).unwrap_or(Locale::En);
        let row = figures.entry(label).or_default();
        row[0] += 1;
        if drafted == expected {
            row[1] += 1;
        } else if drafted == Locale::En {
            row[2] += 1;
        } else {
            row[3] += 1;
            println!(
                "wrong: {:?} for {:?}: {}",
                drafted,
                expected,
                message.chars().take(70).collect::<String>()
            );
        }
    }
    println!(
        "{:<8} {:>5} {:>6} {:>12} {:>6}",
        "lang", "n", "right", "en fallback", "wrong"
    );
    let mut total = [0usize; 4];
    for (label, row) in &figures {
        println!(
            "{label:<8} {:>5} {:>6} {:>12} {:>6}",
            row[0], row[1], row[2], row[3]
        );
        for (t, r) in total.iter_mut().zip(row) {
            *t += r;
        }
    }
    println!(
        "{:<8} {:>5} {:>6} {:>12} {:>6}",
        "all", total[0], total[1], total[2], total[3]
    );
    Ok(())
}
