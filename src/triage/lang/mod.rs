//! Message signals in ten languages: one phrase table per language (`en.txt`,
//! `zh.txt`, `es.txt`, `de.txt`, `fr.txt`, `pt.txt`, `ja.txt`, `ko.txt`,
//! `it.txt`, `nl.txt`, embedded at build time), matched all at once with one
//! Aho-Corasick automaton over the folded text (see `triage::text`), built
//! once, on first use. Every table runs on every message: customers mix
//! languages, and a phrase that never occurs in a language costs nothing
//! there. What a signal means for the case is `triage::classify`'s business.
//!
//! # Table format
//!
//! Lines under a `[section]`; `#` starts a comment. A section is a
//! [`Signal`] in snake_case, or `neutral` (phrases that only hide shorter
//! phrases inside them: "support team" is not a team), `negation_before` or
//! `negation_after` (the language's negation cues). Phrases are folded like
//! the message, so they may be written with accents and capitals.
//!
//! # Matching
//!
//! - **Inflections and typos**: a phrase matches as a prefix of a longer word
//!   ("refund" finds "refunded"), and doubled letters are squeezed on both
//!   sides ("cancell", "cancelled" and "canceled" are one spelling). In every
//!   language but German a phrase must start a word ("seat" is not in
//!   "unseat"); German compounds put words inside words.
//! - **Longest wins**: a match inside a longer match is dropped, so "I
//!   cancelled" (already cancelled) does not also read as "cancel" (wants to
//!   cancel), and "support team" hides "team".
//! - **Negation**: a cue of the phrase's language up to three words before
//!   it (three characters in scripts without spaces) or, for Japanese and
//!   Korean, up to four characters after it, within one clause, negates it.
//!   A negated refund request becomes [`Signal::DeclinesRefund`], a negated
//!   cancellation [`Signal::DeclinesCancel`]; other negated signals are
//!   dropped. Instructions to approvers are never negated.

use crate::domain::Signal;
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// (language, table, phrases must start a word).
const TABLES: [(&str, &str, bool); 10] = [
    ("en", include_str!("en.txt"), true),
    ("zh", include_str!("zh.txt"), false),
    ("es", include_str!("es.txt"), true),
    ("de", include_str!("de.txt"), false),
    ("fr", include_str!("fr.txt"), true),
    ("pt", include_str!("pt.txt"), true),
    ("ja", include_str!("ja.txt"), false),
    ("ko", include_str!("ko.txt"), false),
    ("it", include_str!("it.txt"), true),
    ("nl", include_str!("nl.txt"), true),
];

/// Every signal the tables yield in `folded` (text folded by
/// `triage::text::fold`), each once, sorted.
pub fn read(folded: &str) -> Vec<Signal> {
    MATCHER.read(folded)
}

/// What a table row means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    Signal(Signal),
    Neutral,
    NegationBefore,
    NegationAfter,
}

#[derive(Debug, Clone, Copy)]
struct Row {
    lang: &'static str,
    meaning: Meaning,
    word_start: bool,
}

struct Matcher {
    automaton: AhoCorasick,
    /// By pattern id.
    rows: Vec<Row>,
}

/// One match, in bytes of the squeezed text.
#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    row: Row,
}

static MATCHER: LazyLock<Matcher> = LazyLock::new(Matcher::build);

/// Signals whose meaning flips or vanishes under negation. A negated outage
/// or bug matters most: it would otherwise propose a refund ("nothing is
/// broken", "without losing anything").
const NEGATABLE: [Signal; 10] = [
    Signal::ReportsOutage,
    Signal::ReportsBug,
    Signal::AsksHowToCancel,
    Signal::WantsRefund,
    Signal::AsksToChangePlan,
    Signal::AsksToUpdateCard,
    Signal::SurpriseRenewal,
    Signal::SaysCancelled,
    Signal::ChargedTwice,
    Signal::MentionsTeamOrSeats,
];

/// Characters that end a clause: negation never crosses them.
fn ends_clause(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | '!' | '?' | ';' | ':' | '\n' | '。' | '，' | '！' | '？' | '；' | '、' | '：'
    )
}

impl Matcher {
    fn build() -> Self {
        let mut patterns = Vec::new();
        let mut rows = Vec::new();
        for (lang, table, word_start) in TABLES {
            // A line that does not parse is reported by the tables test;
            // at run time it is skipped rather than stopping the bot.
            for (phrase, meaning) in parse(table).into_iter().flatten() {
                patterns.push(squeeze(&crate::triage::text::fold(&phrase)));
                rows.push(Row {
                    lang,
                    meaning,
                    word_start,
                });
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .expect("the phrase tables are a few thousand short literals, well within the automaton's limits");
        Self { automaton, rows }
    }

    fn read(&self, folded: &str) -> Vec<Signal> {
        let text = squeeze(folded);
        let hits: Vec<Hit> = self
            .automaton
            .find_overlapping_iter(&text)
            .map(|m| Hit {
                start: m.start(),
                end: m.end(),
                row: self.rows[m.pattern().as_usize()],
            })
            .filter(|hit| on_boundaries(&text, hit))
            .collect();
        let phrases: Vec<&Hit> = hits
            .iter()
            .filter(|h| matches!(h.row.meaning, Meaning::Signal(_) | Meaning::Neutral))
            .collect();
        let cues: Vec<&Hit> = hits
            .iter()
            .filter(|h| {
                matches!(
                    h.row.meaning,
                    Meaning::NegationBefore | Meaning::NegationAfter
                )
            })
            .collect();
        let mut found = BTreeSet::new();
        for hit in &phrases {
            let Meaning::Signal(signal) = hit.row.meaning else {
                continue;
            };
            let inside_longer = phrases.iter().any(|other| {
                other.start <= hit.start
                    && hit.end <= other.end
                    && other.end - other.start > hit.end - hit.start
            });
            if inside_longer {
                continue;
            }
            // The same phrase may sit in several tables ("crash" is English
            // and Dutch): a cue of any of their languages negates it.
            let negated = NEGATABLE.contains(&signal)
                && phrases
                    .iter()
                    .filter(|o| {
                        (o.start, o.end) == (hit.start, hit.end) && o.row.meaning == hit.row.meaning
                    })
                    .any(|o| negated(&text, o, &cues));
            if !negated {
                found.insert(signal);
                continue;
            }
            match signal {
                Signal::WantsRefund => {
                    found.insert(Signal::DeclinesRefund);
                }
                Signal::AsksHowToCancel => {
                    found.insert(Signal::DeclinesCancel);
                }
                _ => {}
            }
        }
        found.into_iter().collect()
    }
}

/// Phrases start a word where their language asks for it; negation cues
/// written in Latin letters are whole words in every language (German
/// "nie" is not in "Linie").
fn on_boundaries(text: &str, hit: &Hit) -> bool {
    let before = text[..hit.start].chars().next_back();
    let after = text[hit.end..].chars().next();
    let phrase = &text[hit.start..hit.end];
    let starts_alnum = phrase.chars().next().is_some_and(char::is_alphanumeric);
    let ends_alnum = phrase
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric);
    let word_before = before.is_some_and(char::is_alphanumeric);
    let word_after = after.is_some_and(char::is_alphanumeric);
    let latin = phrase
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic());
    match hit.row.meaning {
        Meaning::NegationBefore | Meaning::NegationAfter if hit.row.word_start || latin => {
            !((starts_alnum && word_before) || (ends_alnum && word_after))
        }
        _ if hit.row.word_start => !(starts_alnum && word_before),
        _ => true,
    }
}

/// Whether a cue of the hit's language negates it (module doc).
fn negated(text: &str, hit: &Hit, cues: &[&Hit]) -> bool {
    cues.iter()
        .filter(|c| c.row.lang == hit.row.lang)
        .any(|cue| {
            match cue.row.meaning {
                // A cue may share its last characters with the phrase ("不要取消"
                // holds the cue "不要" and the phrase "要取消").
                Meaning::NegationBefore if cue.start < hit.start && cue.end <= hit.end => {
                    let gap = &text[cue.end.min(hit.start)..hit.start];
                    !gap.chars().any(ends_clause)
                        && if gap.chars().any(char::is_whitespace) || hit.row.word_start {
                            gap.split_whitespace().count() <= 3
                        } else {
                            gap.chars().count() <= 3
                        }
                }
                Meaning::NegationAfter if cue.start >= hit.end => {
                    let gap = &text[hit.end..cue.start];
                    !gap.chars().any(ends_clause) && gap.chars().count() <= 4
                }
                _ => false,
            }
        })
}

/// Collapses runs of one ASCII letter, so that spellings differing only in
/// doubled letters meet.
fn squeeze(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = None;
    for c in text.chars() {
        if c.is_ascii_alphabetic() && last == Some(c) {
            continue;
        }
        last = Some(c);
        out.push(c);
    }
    out
}

/// A table's rows; `Err` names a line that is not a phrase under a known
/// section.
fn parse(table: &str) -> Vec<Result<(String, Meaning), String>> {
    let mut section = None;
    let mut rows = Vec::new();
    for (n, line) in table.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = section_meaning(name);
            if section.is_none() {
                rows.push(Err(format!("line {}: unknown section [{name}]", n + 1)));
            }
            continue;
        }
        rows.push(match section {
            Some(meaning) => Ok((line.to_owned(), meaning)),
            None => Err(format!(
                "line {}: `{line}` is under no known section",
                n + 1
            )),
        });
    }
    rows
}

fn section_meaning(name: &str) -> Option<Meaning> {
    match name {
        "neutral" => Some(Meaning::Neutral),
        "negation_before" => Some(Meaning::NegationBefore),
        "negation_after" => Some(Meaning::NegationAfter),
        _ => serde_json::from_value::<Signal>(serde_json::Value::String(name.to_owned()))
            .ok()
            .map(Meaning::Signal),
    }
}

#[cfg(test)]
mod tests;
