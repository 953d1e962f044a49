//! The phrase matcher's judging step against its definition: [`judge`]
//! (binary searches, linear in the hits) must find exactly what the
//! pairwise reading of the module doc finds ([`judge_pairwise`], the
//! former implementation, quadratic and worse), on messages made of the
//! tables' own phrases and cues. And the shapes that made the pairwise
//! reading super-linear stay linear: the work [`judge_counting`] reports
//! is held to a bound in the number of hits.

use super::*;
use crate::testing::fuzz;
use crate::triage::text::fold;
use proptest::prelude::*;

/// The former reading, by its definition: every phrase against every other
/// (inside a longer one?) and every cue of its language (negated?).
fn judge_pairwise(text: &str, hits: &[Hit]) -> Vec<Signal> {
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
    let negates = |hit: &Hit| {
        cues.iter()
            .filter(|c| c.row.lang == hit.row.lang)
            .any(|cue| match cue.row.meaning {
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
            })
    };
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
        let negated = NEGATABLE.contains(&signal)
            && phrases
                .iter()
                .filter(|o| {
                    (o.start, o.end) == (hit.start, hit.end) && o.row.meaning == hit.row.meaning
                })
                .any(|o| negates(o));
        if !negated {
            found.insert(signal);
        } else if signal == Signal::WantsRefund {
            found.insert(Signal::DeclinesRefund);
        } else if signal == Signal::AsksHowToCancel {
            found.insert(Signal::DeclinesCancel);
        }
    }
    found.into_iter().collect()
}

/// Every phrase and cue of the ten tables, as written there.
fn table_phrases() -> Vec<&'static str> {
    TABLES
        .iter()
        .flat_map(|(_, table, _)| table.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .collect()
}

/// Phrases and cues joined as messages join them: by spaces, by nothing
/// (scripts without spaces, German compounds), by clause ends.
fn phrase_message() -> impl Strategy<Value = String> {
    let mut pieces = table_phrases();
    pieces.extend(["my", "the", "x", "123", "qwerty", "-", "/"]);
    let part = prop_oneof![
        8 => proptest::sample::select(pieces).prop_map(str::to_owned),
        1 => fuzz::nasty_text(4),
    ];
    let sep = proptest::sample::select(vec![
        " ", " ", " ", "", "", "  ", ", ", ". ", "\n", "、", "。", " - ",
    ]);
    proptest::collection::vec((part, sep), 0..24).prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(p, s)| [p, s.to_owned()])
            .collect()
    })
}

fn both(message: &str) -> (Vec<Signal>, Vec<Signal>) {
    let text = squeeze(&fold(message));
    let hits = MATCHER.hits(&text);
    (judge(&text, &hits), judge_pairwise(&text, &hits))
}

proptest! {
    #![proptest_config(fuzz::config(512))]

    #[test]
    fn fuzz_the_judging_step_finds_what_the_definition_finds(message in phrase_message()) {
        let (fast, pairwise) = both(&message);
        prop_assert_eq!(fast, pairwise, "{:?}", message);
    }

    /// Every signal read is placed in the customer's text (the evidence
    /// quotes it), on character boundaries, at words that fold back to it.
    #[test]
    fn fuzz_every_signal_read_is_placed_in_the_text(message in phrase_message()) {
        let current = crate::triage::text::nfkc(&message);
        let folded = fold(&current);
        let (signals, located) = read_located(&current, &folded);
        prop_assert_eq!(&signals, &read(&folded), "{:?}", message);
        let placed: Vec<Signal> = located.iter().map(|l| l.signal).collect();
        let mut sorted = placed.clone();
        sorted.sort();
        prop_assert_eq!(&sorted, &signals, "{:?}: {:?}", message, located);
        for l in &located {
            prop_assert!(current.get(l.range.clone()).is_some(), "{:?}: {:?}", message, l);
        }
    }
}

/// The shapes that were super-linear: a long message of one repeated
/// phrase, of phrases each under a cue, of cues only, of one giant clause
/// with cues inside words (a script without spaces), each judged with a
/// bounded amount of work per hit, and read as the definition reads them
/// (checked on a shorter copy: the pairwise reading of the long one would
/// take hours).
#[test]
fn repeated_phrases_and_cues_are_judged_in_linear_work() {
    let shapes = [
        ("one phrase repeated", "refund my money ".to_owned()),
        ("a cue before every phrase", "not refund ".to_owned()),
        ("cues only", "never ".to_owned()),
        (
            "cues inside one giant clause",
            "不要取消不要退款没有".to_owned(),
        ),
        ("cue, far gap, phrase", "不abcd要取消".to_owned()),
        ("german compounds", "nichtkündigennicht ".to_owned()),
        ("after-cues", "解約しない解約できない".to_owned()),
    ];
    for (name, unit) in shapes {
        let long = unit.repeat(64 * 1024 / unit.len());
        let text = squeeze(&fold(&long));
        let hits = MATCHER.hits(&text);
        let (signals, work) = judge_counting(&text, &hits);
        assert!(
            work <= 4 * hits.len() + 4 * MAX_CUES_SHARING_AN_END * hits.len(),
            "{name}: {work} cues and gaps looked at for {} hits",
            hits.len()
        );
        let short = unit.repeat(8);
        let (fast, pairwise) = both(&short);
        assert_eq!(fast, pairwise, "{name}");
        assert_eq!(
            signals, fast,
            "{name}: the long message reads as the short one"
        );
    }
}

/// How many cues of one language may end at one offset (patterns sharing
/// a suffix): a constant of the tables, far below the number of hits.
const MAX_CUES_SHARING_AN_END: usize = 8;
