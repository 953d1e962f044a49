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
//!   "unseat"); German compounds put words inside words. A German phrase
//!   also matches with its umlauts and ß spelt out ("gekuendigt").
//! - **Longest wins**: a match inside a longer match is dropped, so "I
//!   cancelled" (already cancelled) does not also read as "cancel" (wants to
//!   cancel), and "support team" hides "team".
//! - **Negation**: a cue of the phrase's language up to three words before
//!   it (three characters in scripts without spaces) or, for Japanese and
//!   Korean, up to four characters after it, within one clause, negates it.
//!   A negated refund request becomes [`Signal::DeclinesRefund`], a negated
//!   cancellation [`Signal::DeclinesCancel`]; other negated signals are
//!   dropped. Instructions to approvers are never negated.
//!
//! # Concepts
//!
//! A `[concept:<name>]` section lists words of one kind that mean nothing
//! alone but name a signal beside a word of another kind: a card and
//! changing it, a renewal and stopping it, the service and its being down
//! ([`PAIRS`]). So "vervang ik mijn pas" and "pas ... hoe vervang ik hem"
//! are read without a phrase for every order and inflection. A pair counts
//! when both words come from one language's table, lie within
//! [`NEAR`] characters of each other, and neither sits inside a longer
//! phrase of the tables (which may thus veto a pair, like "downgrade"
//! hiding "down"); a negated word negates the pair as it would a phrase.
//! Where phrases start words, a concept word must also end one unless it
//! is written with a trailing `*` ("renew*" finds "renewal"): English
//! "add" is not in Italian "addebitato". A phrase written with a trailing
//! `$` must end a word as well.

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

/// Whether `folded` (text folded by `triage::text::fold`) names a charge
/// in any language: a bank's alert forwarded under "I cancelled".
pub fn names_a_charge(folded: &str) -> bool {
    let text = squeeze(folded);
    MATCHER.hits(&text).iter().any(|h| {
        matches!(
            h.row.meaning,
            Meaning::Concept(Concept::Charged | Concept::WasCharged)
        )
    })
}

/// [`read`], with where each signal was first read in `current`: `folded`
/// must be `current` folded (`triage::text::fold`), and each range is the
/// bytes of `current` whose folding holds the matched phrase (a phrase
/// negated into another signal gives that signal its place). A signal whose
/// place cannot be found in `current` (the two texts disagree) has none.
pub fn read_located(current: &str, folded: &str) -> (Vec<Signal>, Vec<Located>) {
    let text = squeeze(folded);
    let (signals, spans) = MATCHER.read_spans(&text);
    (signals, locate(current, &text, &spans))
}

/// A refund declined in so many words ("no need for the money back") is
/// no refund asked for: the refund word was read as both.
fn declined(signals: &mut Vec<Signal>) {
    if signals.contains(&Signal::DeclinesRefund) {
        signals.retain(|&s| s != Signal::WantsRefund);
    }
}

/// Where in the customer's text a signal was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub signal: Signal,
    /// Byte range in the text given to [`read_located`] as `current`.
    pub range: std::ops::Range<usize>,
}

/// Maps spans of the squeezed folded text back to `current`, folding it
/// again character by character (as `triage::text::fold` does) and
/// squeezing as [`squeeze`] does; stops once every span is placed. A place
/// is kept only when its words fold back to the matched phrase (`text` is
/// the squeezed folded text the spans are in): where `current` and `text`
/// disagree (a secret scrubbed from the folded text alone), nothing is
/// quoted rather than the wrong words.
fn locate(current: &str, text: &str, spans: &[(Signal, usize, usize)]) -> Vec<Located> {
    let mut found: Vec<Option<(usize, Option<usize>)>> = vec![None; spans.len()];
    let mut left = spans.len();
    let (mut at, mut last) = (0usize, None::<char>);
    let mut folded = String::new();
    for (i, c) in current.char_indices() {
        if left == 0 {
            break;
        }
        folded.clear();
        crate::triage::text::fold_char(c, &mut folded);
        let before = at;
        for f in folded.chars() {
            if f.is_ascii_alphabetic() && last == Some(f) {
                continue;
            }
            last = Some(f);
            at += f.len_utf8();
        }
        for (slot, &(_, start, end)) in found.iter_mut().zip(spans) {
            match slot {
                None if (before..at).contains(&start) => {
                    *slot = Some((i, (end <= at).then_some(i + c.len_utf8())));
                    if end <= at {
                        left -= 1;
                    }
                }
                Some((_, end_at @ None)) if end <= at => {
                    *end_at = Some(i + c.len_utf8());
                    left -= 1;
                }
                _ => {}
            }
        }
    }
    spans
        .iter()
        .zip(found)
        .filter_map(|(&(signal, from, to), slot)| match slot {
            Some((start, Some(end))) => {
                let words = current.get(start..end)?;
                let phrase = text.get(from..to)?;
                squeeze(&crate::triage::text::fold(words))
                    .contains(phrase)
                    .then_some(Located {
                        signal,
                        range: start..end,
                    })
            }
            _ => None,
        })
        .collect()
}

/// A German phrase as written where umlauts cannot be typed: ä, ö, ü and
/// ß as ae, oe, ue and ss.
fn umlauts_spelt_out(phrase: &str) -> String {
    let mut out = String::with_capacity(phrase.len() + 4);
    for c in phrase.chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            _ => out.push(c),
        }
    }
    out
}

/// What a table row means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    Signal(Signal),
    Neutral,
    NegationBefore,
    NegationAfter,
    Concept(Concept),
}

/// A kind of word that names a signal only beside another kind
/// (module doc, "Concepts").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Concept {
    /// A card or payment method.
    Card,
    /// Changing, replacing or adding something.
    Change,
    /// A billing interval: monthly, yearly.
    Interval,
    /// A plan or tier.
    Plan,
    /// The renewal, automatic or not.
    Renewal,
    /// Stopping or turning something off.
    Stop,
    /// Without notice or reminder, unexpected.
    Unannounced,
    /// Charged, debited, billed.
    Charged,
    /// The service, app, site or server.
    Service,
    /// Down, unreachable, not loading.
    Down,
    /// A refund.
    Refund,
    /// Processed, received, arrived, done: where something stands.
    Status,
    /// Turned off, disabled, stopped: done already.
    Stopped,
    /// No need, not wanted: declining what the other word names.
    Decline,
    /// When, which date, next.
    When,
    /// A cancellation, or cancelling.
    Cancellation,
    /// A relative, friend or colleague.
    Relative,
    /// Keeping or using something.
    Keep,
    /// Cancelled already (past).
    Cancelled,
    /// The customer's files, notes, data or their syncing.
    Data,
    /// Lost, gone, deleted, failing to save.
    Lost,
    /// Charged, said as done (a verb, not "a charge").
    WasCharged,
    /// The price or cost.
    Price,
    /// An amount of money: a currency, "the money".
    Money,
    /// Back: returned to the customer.
    Back,
    /// The subscription, plan or account itself.
    Subscription,
    /// Why, explain, not understand.
    Why,
}

impl Concept {
    const ALL: [Concept; 27] = [
        Concept::Card,
        Concept::Change,
        Concept::Interval,
        Concept::Plan,
        Concept::Renewal,
        Concept::Stop,
        Concept::Unannounced,
        Concept::Charged,
        Concept::Service,
        Concept::Down,
        Concept::Refund,
        Concept::Status,
        Concept::Stopped,
        Concept::Decline,
        Concept::When,
        Concept::Cancellation,
        Concept::Relative,
        Concept::Keep,
        Concept::Cancelled,
        Concept::Data,
        Concept::Lost,
        Concept::WasCharged,
        Concept::Price,
        Concept::Money,
        Concept::Back,
        Concept::Subscription,
        Concept::Why,
    ];

    fn name(self) -> &'static str {
        match self {
            Concept::Card => "card",
            Concept::Change => "change",
            Concept::Interval => "interval",
            Concept::Plan => "plan",
            Concept::Renewal => "renewal",
            Concept::Stop => "stop",
            Concept::Unannounced => "unannounced",
            Concept::Charged => "charged",
            Concept::Service => "service",
            Concept::Down => "down",
            Concept::Refund => "refund",
            Concept::Status => "status",
            Concept::Stopped => "stopped",
            Concept::Decline => "decline",
            Concept::When => "when",
            Concept::Cancellation => "cancellation",
            Concept::Relative => "relative",
            Concept::Keep => "keep",
            Concept::Cancelled => "cancelled",
            Concept::Data => "data",
            Concept::Lost => "lost",
            Concept::WasCharged => "was_charged",
            Concept::Price => "price",
            Concept::Money => "money",
            Concept::Back => "back",
            Concept::Subscription => "subscription",
            Concept::Why => "why",
        }
    }
}

/// Two kinds of word near each other, and the signal they name.
const PAIRS: [(Concept, Concept, Signal); 22] = [
    (Concept::Card, Concept::Change, Signal::AsksToUpdateCard),
    (Concept::Interval, Concept::Change, Signal::AsksToChangePlan),
    (Concept::Plan, Concept::Change, Signal::AsksToChangePlan),
    (Concept::Renewal, Concept::Stop, Signal::AsksHowToCancel),
    (
        Concept::Renewal,
        Concept::Unannounced,
        Signal::SurpriseRenewal,
    ),
    (
        Concept::Charged,
        Concept::Unannounced,
        Signal::SurpriseRenewal,
    ),
    (Concept::Service, Concept::Down, Signal::ReportsOutage),
    (Concept::Refund, Concept::Status, Signal::AsksRefundStatus),
    (Concept::Refund, Concept::Decline, Signal::DeclinesRefund),
    (Concept::Renewal, Concept::Stopped, Signal::SaysCancelled),
    (
        Concept::Cancellation,
        Concept::Status,
        Signal::SaysCancelled,
    ),
    (Concept::When, Concept::Charged, Signal::AsksAboutAccount),
    (Concept::When, Concept::Renewal, Signal::AsksAboutAccount),
    (Concept::Relative, Concept::Keep, Signal::ForSomeoneElse),
    (
        Concept::Cancelled,
        Concept::WasCharged,
        Signal::ChargedAfterCancelling,
    ),
    (Concept::Data, Concept::Lost, Signal::ReportsBug),
    (Concept::When, Concept::Stop, Signal::AsksAboutAccount),
    (Concept::When, Concept::Price, Signal::AsksAboutAccount),
    (Concept::Money, Concept::Back, Signal::WantsRefund),
    (
        Concept::Subscription,
        Concept::Stop,
        Signal::AsksHowToCancel,
    ),
    (Concept::Why, Concept::Price, Signal::QuestionsTheAmount),
    (
        Concept::Subscription,
        Concept::Keep,
        Signal::AsksToChangePlan,
    ),
];

/// How many characters may lie between the two words of a pair.
const NEAR: usize = 40;

/// [`NEAR`], or more for a pair whose words a whole clause often parts
/// ("I cancelled in May, but yesterday you charged me again").
fn near_for(signal: Signal) -> usize {
    match signal {
        Signal::ChargedAfterCancelling => 60,
        _ => NEAR,
    }
}

#[derive(Debug, Clone, Copy)]
struct Row {
    /// The language's place in [`TABLES`].
    lang: usize,
    meaning: Meaning,
    word_start: bool,
    /// The phrase must end a word too (in a language whose phrases start
    /// words): a concept word written without a trailing `*`, or a phrase
    /// written with a trailing `$` (Portuguese "erro$" is not in Dutch
    /// "erop").
    word_end: bool,
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
        for (lang, (_, table, word_start)) in TABLES.into_iter().enumerate() {
            // A line that does not parse is reported by the tables test;
            // at run time it is skipped rather than stopping the bot.
            for (phrase, meaning) in parse(table).into_iter().flatten() {
                // A marker only after a letter: "$" alone is a currency.
                let marked = |marker: char| {
                    phrase
                        .strip_suffix(marker)
                        .filter(|rest| rest.chars().next_back().is_some_and(char::is_alphabetic))
                };
                let (stem, whole) = (marked('*'), marked('$'));
                let pattern = squeeze(&crate::triage::text::fold(
                    stem.or(whole).unwrap_or(&phrase),
                ));
                // An empty pattern would match inside every character.
                if pattern.is_empty() {
                    continue;
                }
                let row = Row {
                    lang,
                    meaning,
                    word_start,
                    word_end: word_start
                        && (whole.is_some()
                            || (stem.is_none() && matches!(meaning, Meaning::Concept(_)))),
                };
                // German typed without umlauts: "gekuendigt" is "gekündigt".
                if TABLES[lang].0 == "de" {
                    let spelt = squeeze(&crate::triage::text::fold(&umlauts_spelt_out(
                        stem.or(whole).unwrap_or(&phrase),
                    )));
                    if spelt != pattern {
                        patterns.push(spelt);
                        rows.push(row);
                    }
                }
                patterns.push(pattern);
                rows.push(row);
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .expect("the phrase tables are a few thousand short literals, well within the automaton's limits");
        Self { automaton, rows }
    }

    fn read(&self, folded: &str) -> Vec<Signal> {
        self.read_spans(&squeeze(folded)).0
    }

    /// The signals of `text` (squeezed), sorted, each with the first span
    /// it was read from: its phrases, then the pairs of its concept words,
    /// less a refund asked for and declined in one breath.
    fn read_spans(&self, text: &str) -> (Vec<Signal>, Vec<(Signal, usize, usize)>) {
        let hits = self.hits(text);
        let cues = Cues::new(text, &hits);
        let phrases = sorted_phrases(&hits);
        let (mut signals, mut spans, _) = judge_spans_with(&phrases, &cues);
        for (signal, start, end) in pair_up(text, &hits, &phrases, &cues) {
            if !signals.contains(&signal) {
                signals.push(signal);
                spans.push((signal, start, end));
            }
        }
        declined(&mut signals);
        spans.retain(|(signal, _, _)| signals.contains(signal));
        signals.sort_unstable();
        (signals, spans)
    }

    /// Every phrase and cue of the tables in `text` (squeezed), on its
    /// word boundaries, in the automaton's order.
    fn hits(&self, text: &str) -> Vec<Hit> {
        self.automaton
            .find_overlapping_iter(text)
            .map(|m| Hit {
                start: m.start(),
                end: m.end(),
                row: self.rows[m.pattern().as_usize()],
            })
            .filter(|hit| on_boundaries(text, hit))
            .collect()
    }
}

/// The signals `hits` yield in `text` (module doc, "Matching"): a phrase
/// inside a longer one is dropped, a negated one flips or vanishes.
///
/// Linear in the text (up to a log factor): a message of a million
/// repeated phrases and cues has as many hits, and each is judged by
/// binary searches over the sorted hits and cue positions, never by a
/// walk over all the others. `lang/fuzz_tests.rs` holds this to the
/// pairwise definition.
#[cfg(test)]
fn judge(text: &str, hits: &[Hit]) -> Vec<Signal> {
    judge_counting(text, hits).0
}

/// [`judge`], and how many cues and gaps it looked at: the regression
/// tests hold that count linear in the hits.
#[cfg(test)]
fn judge_counting(text: &str, hits: &[Hit]) -> (Vec<Signal>, usize) {
    let (signals, _, looked_at) = judge_spans(text, hits);
    (signals, looked_at)
}

/// [`judge_counting`], with the first span (in `text`) each signal was read
/// from.
#[allow(clippy::type_complexity)]
#[cfg(test)]
fn judge_spans(text: &str, hits: &[Hit]) -> (Vec<Signal>, Vec<(Signal, usize, usize)>, usize) {
    judge_spans_with(&sorted_phrases(hits), &Cues::new(text, hits))
}

/// The signal a phrase hit names (none for a neutral phrase or a cue).
fn signal_of(hit: &Hit) -> Option<Signal> {
    match hit.row.meaning {
        Meaning::Signal(signal) => Some(signal),
        _ => None,
    }
}

/// The phrase hits (signals and neutral phrases) by start, then end, then
/// meaning: the same phrase from several tables ("crash" is English and
/// Dutch) sits together. [`judge_spans_with`] and [`pair_up`] share them.
fn sorted_phrases(hits: &[Hit]) -> Vec<&Hit> {
    let mut phrases: Vec<&Hit> = hits
        .iter()
        .filter(|h| matches!(h.row.meaning, Meaning::Signal(_) | Meaning::Neutral))
        .collect();
    phrases.sort_unstable_by_key(|h| (h.start, h.end, signal_of(h)));
    phrases
}

/// [`judge_spans`] with the text's cues already found (they are shared
/// with [`pair_up`]).
#[allow(clippy::type_complexity)]
fn judge_spans_with(
    phrases: &[&Hit],
    cues: &Cues<'_>,
) -> (Vec<Signal>, Vec<(Signal, usize, usize)>, usize) {
    let mut found = BTreeSet::new();
    let mut spans: Vec<(Signal, usize, usize)> = Vec::new();
    let mut keep = |found: &mut BTreeSet<Signal>, signal: Signal, hit: &Hit| {
        if found.insert(signal) {
            spans.push((signal, hit.start, hit.end));
        }
    };
    // A phrase is inside a longer one when one starts before it and ends at
    // or after its end, or starts with it and ends after it.
    let mut max_end_before: Option<usize> = None;
    let mut rest = phrases;
    while let Some(first) = rest.first() {
        let n = rest.iter().take_while(|h| h.start == first.start).count();
        let (same_start, after) = rest.split_at(n);
        rest = after;
        let max_end_here = same_start.last().map_or(first.end, |h| h.end);
        let mut spans = same_start;
        while let Some(hit) = spans.first() {
            let key = (hit.end, signal_of(hit));
            let n = spans
                .iter()
                .take_while(|o| (o.end, signal_of(o)) == key)
                .count();
            let (same, others) = spans.split_at(n);
            spans = others;
            let Some(signal) = key.1 else {
                continue;
            };
            let inside_longer =
                max_end_before.is_some_and(|end| end >= hit.end) || max_end_here > hit.end;
            if inside_longer {
                continue;
            }
            // A cue of any of the phrase's languages negates it.
            let negated = NEGATABLE.contains(&signal) && same.iter().any(|o| cues.negate(o));
            if !negated {
                keep(&mut found, signal, hit);
                continue;
            }
            match signal {
                Signal::WantsRefund => keep(&mut found, Signal::DeclinesRefund, hit),
                Signal::AsksHowToCancel => keep(&mut found, Signal::DeclinesCancel, hit),
                _ => {}
            }
        }
        max_end_before = Some(max_end_before.map_or(max_end_here, |end| end.max(max_end_here)));
    }
    (found.into_iter().collect(), spans, cues.looked_at.get())
}

/// The negation cues of a text, by language, and where its clauses and
/// words break: what [`Cues::negate`] needs to judge a phrase by binary
/// search.
struct Cues<'t> {
    text: &'t str,
    /// Per language: `(end, start)` of its `negation_before` cues, sorted.
    before: Vec<Vec<(usize, usize)>>,
    /// Per language: the starts of its `negation_after` cues, sorted.
    after: Vec<Vec<usize>>,
    /// By byte offset `i`: how many characters before `i` end a clause.
    clause_ends_before: Vec<u32>,
    /// By byte offset: how many whitespace characters come before it.
    spaces_before: Vec<u32>,
    /// By byte offset: how many words start (after whitespace) before it.
    word_starts_before: Vec<u32>,
    /// Byte offsets of whitespace characters, ascending.
    spaces: Vec<usize>,
    /// Cues and gaps looked at so far (see [`judge_counting`]).
    looked_at: std::cell::Cell<usize>,
}

impl<'t> Cues<'t> {
    fn new(text: &'t str, hits: &[Hit]) -> Self {
        let mut before: Vec<Vec<(usize, usize)>> = vec![Vec::new(); TABLES.len()];
        let mut after: Vec<Vec<usize>> = vec![Vec::new(); TABLES.len()];
        let mut any = false;
        for hit in hits {
            match hit.row.meaning {
                Meaning::NegationBefore => before[hit.row.lang].push((hit.end, hit.start)),
                Meaning::NegationAfter => after[hit.row.lang].push(hit.start),
                _ => continue,
            }
            any = true;
        }
        before.iter_mut().for_each(|v| v.sort_unstable());
        after.iter_mut().for_each(|v| v.sort_unstable());
        // Counts by byte offset make every question about a gap (a clause
        // end in it? a space? how many words?) two array reads.
        let (mut clause_ends_before, mut spaces_before, mut word_starts_before, mut spaces) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        if any {
            let n = text.len() + 1;
            clause_ends_before.resize(n, 0);
            spaces_before.resize(n, 0);
            word_starts_before.resize(n, 0);
            let (mut clauses, mut blanks, mut words) = (0u32, 0u32, 0u32);
            let mut was_space = false;
            for (at, c) in text.char_indices() {
                clause_ends_before[at] = clauses;
                spaces_before[at] = blanks;
                word_starts_before[at] = words;
                let space = c.is_whitespace();
                clauses += u32::from(ends_clause(c));
                blanks += u32::from(space);
                words += u32::from(!space && was_space);
                was_space = space;
                if space {
                    spaces.push(at);
                }
                for inside in at + 1..at + c.len_utf8() {
                    clause_ends_before[inside] = clauses;
                    spaces_before[inside] = blanks;
                    word_starts_before[inside] = words;
                }
            }
            clause_ends_before[text.len()] = clauses;
            spaces_before[text.len()] = blanks;
            word_starts_before[text.len()] = words;
        }
        Self {
            text,
            before,
            after,
            clause_ends_before,
            spaces_before,
            word_starts_before,
            spaces,
            looked_at: std::cell::Cell::new(0),
        }
    }

    fn look(&self, n: usize) {
        self.looked_at.set(self.looked_at.get() + n);
    }

    /// Whether a cue of the hit's language negates it: a `negation_before`
    /// cue that starts before it, ends by its end, and leaves a gap with no
    /// clause end and at most three words (three characters in a script
    /// without spaces), or a `negation_after` cue within four characters
    /// after it in the same clause.
    fn negate(&self, hit: &Hit) -> bool {
        self.negated_before(hit) || self.negated_after(hit)
    }

    fn negated_before(&self, hit: &Hit) -> bool {
        let Some(cues) = self.before.get(hit.row.lang).filter(|c| !c.is_empty()) else {
            return false;
        };
        // A cue ending inside the phrase (it shares its last characters
        // with it) leaves no gap at all.
        let inside = cues.partition_point(|&(end, _)| end <= hit.start);
        let until = inside
            + cues[inside..]
                .iter()
                .take_while(|&&(end, _)| end <= hit.end)
                .count();
        self.look(until - inside);
        if cues[inside..until]
            .iter()
            .any(|&(_, start)| start < hit.start)
        {
            return true;
        }
        // The other cues end before the phrase: whether one negates it
        // depends only on the gap from its end, and a nearer cue leaves a
        // gap inside a farther one's. So only the nearest cue counts, and,
        // in a script without spaces, the nearest whose gap holds a space
        // (there the word count applies rather than the character count).
        let Some(&(nearest, _)) = cues[..inside].last() else {
            return false;
        };
        if self.gap_negates(nearest, hit) {
            return true;
        }
        let spaces_in_gap = self.spaces_before[hit.start] - self.spaces_before[nearest];
        if hit.row.word_start || spaces_in_gap > 0 {
            return false;
        }
        match last_below(&self.spaces, hit.start) {
            Some(space) => {
                let farther = cues[..inside].partition_point(|&(end, _)| end <= space);
                cues[..farther]
                    .last()
                    .is_some_and(|&(end, _)| self.gap_negates(end, hit))
            }
            None => false,
        }
    }

    /// The gap `from..hit.start` (`from` at most `hit.start`), as
    /// `negated_before` reads it.
    fn gap_negates(&self, from: usize, hit: &Hit) -> bool {
        self.look(1);
        let to = hit.start;
        if self.clause_ends_before[to] > self.clause_ends_before[from] {
            return false;
        }
        let has_space = self.spaces_before[to] > self.spaces_before[from];
        if has_space || hit.row.word_start {
            // Words in the gap: those starting after a space inside it, and
            // one more when the gap itself starts inside a word.
            let after_space =
                self.word_starts_before[to] - self.word_starts_before[(from + 1).min(to)];
            let starts_in_word = self.text[from..to]
                .chars()
                .next()
                .is_some_and(|c| !c.is_whitespace());
            after_space + u32::from(starts_in_word) <= 3
        } else {
            // Three characters are at most twelve bytes.
            to - from <= 12 && self.text[from..to].chars().count() <= 3
        }
    }

    fn negated_after(&self, hit: &Hit) -> bool {
        let Some(starts) = self.after.get(hit.row.lang).filter(|s| !s.is_empty()) else {
            return false;
        };
        // The nearest cue after the phrase leaves the smallest gap.
        let nearest = starts.partition_point(|&start| start < hit.end);
        self.look(1);
        starts.get(nearest).is_some_and(|&start| {
            // Four characters are at most sixteen bytes.
            start - hit.end <= 16 && {
                let gap = &self.text[hit.end..start];
                !gap.chars().any(ends_clause) && gap.chars().count() <= 4
            }
        })
    }
}

/// The signals named by pairs of concept words in `text` (module doc,
/// "Concepts"), each once, with the span from the first word to the last.
///
/// Linear in the hits up to a log factor: each word looks for its partner
/// by binary search among the other kind's words, sorted by start.
fn pair_up(
    text: &str,
    hits: &[Hit],
    phrases: &[&Hit],
    cues: &Cues<'_>,
) -> Vec<(Signal, usize, usize)> {
    let concepts: Vec<&Hit> = hits
        .iter()
        .filter(|h| matches!(h.row.meaning, Meaning::Concept(_)))
        .collect();
    if concepts.is_empty() {
        return Vec::new();
    }
    // A word inside a longer phrase belongs to that phrase.
    let phrases: Vec<(usize, usize)> = phrases.iter().map(|h| (h.start, h.end)).collect();
    let mut reach = Vec::with_capacity(phrases.len());
    let mut furthest = 0;
    for &(_, end) in &phrases {
        furthest = furthest.max(end);
        reach.push(furthest);
    }
    // Is the word inside a longer phrase: one that starts before it and
    // reaches the end of its word, or starts with it and ends after that?
    // (A stem is read to its word's end: "renew*" in "renewal" is not
    // inside the phrase "renewal".)
    let inside_phrase = |h: &Hit| {
        let word_end = h.end
            + text[h.end..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
        let end = if text[..h.end]
            .bytes()
            .next_back()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        {
            word_end
        } else {
            h.end
        };
        let before = phrases.partition_point(|&(start, _)| start < h.start);
        let at = phrases.partition_point(|&(start, _)| start <= h.start);
        (before > 0 && reach[before - 1] >= end)
            || phrases[before..at].iter().any(|&(_, e)| e > end)
    };
    // A word inside a longer word of another kind is that word: "turned
    // off" (stopped) is not "turn off" (stop), "désactivé" not "désactiv".
    let mut concepts = concepts;
    concepts.sort_unstable_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
    let mut kept: Vec<&Hit> = Vec::with_capacity(concepts.len());
    // The word reaching furthest so far: (start, end, kind).
    let mut longest: Option<(usize, usize, Meaning)> = None;
    for hit in concepts {
        let inside = longest.is_some_and(|(start, end, meaning)| {
            end >= hit.end && (start < hit.start || end > hit.end) && meaning != hit.row.meaning
        });
        if !inside {
            kept.push(hit);
        }
        if longest.is_none_or(|(_, end, _)| hit.end > end) {
            longest = Some((hit.start, hit.end, hit.row.meaning));
        }
    }
    let mut by_concept: Vec<Vec<&Hit>> = vec![Vec::new(); Concept::ALL.len()];
    for hit in kept {
        if let Meaning::Concept(c) = hit.row.meaning {
            if !inside_phrase(hit) {
                by_concept[c as usize].push(hit);
            }
        }
    }
    by_concept
        .iter_mut()
        .for_each(|v| v.sort_unstable_by_key(|h| (h.start, h.end)));
    let mut found = Vec::new();
    for (a, b, signal) in PAIRS {
        if found.iter().any(|&(s, _, _)| s == signal) {
            continue;
        }
        let (words_a, words_b) = (&by_concept[a as usize], &by_concept[b as usize]);
        if words_a.is_empty() || words_b.is_empty() {
            continue;
        }
        let near_chars = near_for(signal);
        let near = |x: &Hit, y: &Hit| {
            let (first, second) = if x.start <= y.start { (x, y) } else { (y, x) };
            second.start >= first.end
                && text
                    .get(first.end..second.start)
                    .is_some_and(|gap| gap.chars().nth(near_chars).is_none())
        };
        'pairs: for x in words_a {
            // Words of the other kind that may lie within reach: they start
            // at most NEAR characters (4 bytes each) around this one.
            let from =
                words_b.partition_point(|h| h.start + 4 * near_chars + (h.end - h.start) < x.start);
            for y in &words_b[from..] {
                if y.start > x.end + 4 * near_chars {
                    break;
                }
                if y.row.lang != x.row.lang || !near(x, y) {
                    continue;
                }
                // The second kind is the verb or state ("change", "down"):
                // its negation is the pair's, for the signals a negation
                // flips or drops ("not arrived yet" still asks where a
                // refund is).
                // Words of absence ("no reminder") carry their own
                // negation: "je n'ai reçu aucun rappel" is no less unannounced.
                let negated = (NEGATABLE.contains(&signal)
                    || signal == Signal::ChargedAfterCancelling)
                    && b != Concept::Unannounced
                    && cues.negate(y);
                let named = match (negated, signal) {
                    (false, _) => Some(signal),
                    (true, Signal::AsksHowToCancel) => Some(Signal::DeclinesCancel),
                    (true, _) => None,
                };
                if let Some(named) = named {
                    found.push((named, x.start.min(y.start), x.end.max(y.end)));
                }
                break 'pairs;
            }
        }
    }
    found
}

/// The largest offset in `sorted` below `limit`.
fn last_below(sorted: &[usize], limit: usize) -> Option<usize> {
    sorted[..sorted.partition_point(|&at| at < limit)]
        .last()
        .copied()
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
        _ if hit.row.word_start => {
            !((starts_alnum && word_before) || (hit.row.word_end && ends_alnum && word_after))
        }
        _ => true,
    }
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
        _ if name.starts_with("concept:") => Concept::ALL
            .into_iter()
            .find(|c| Some(c.name()) == name.strip_prefix("concept:"))
            .map(Meaning::Concept),
        _ => serde_json::from_value::<Signal>(serde_json::Value::String(name.to_owned()))
            .ok()
            .map(Meaning::Signal),
    }
}

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
