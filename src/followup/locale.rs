//! Which locale a follow-up draft is written in: the customer's Stripe
//! `preferred_locales` in order, then the language of the message they wrote,
//! then English. Pure: a function over the snapshot and the text. Negotiation
//! between a requested tag (`es-MX`, `pt`) and the locales we have is
//! fluent-langneg's; guessing a text's language is whatlang's. The templates
//! themselves are `templates`'s.

use crate::domain::BillingSnapshot;
use fluent_langneg::{negotiate_languages, NegotiationStrategy};
use std::sync::LazyLock;
use unic_langid::LanguageIdentifier;

/// A locale we have follow-up templates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    ZhCn,
    Es,
    De,
    Fr,
    PtBr,
    Ja,
    Ko,
    It,
    Nl,
}

impl Locale {
    pub const ALL: [Locale; 10] = [
        Self::En,
        Self::ZhCn,
        Self::Es,
        Self::De,
        Self::Fr,
        Self::PtBr,
        Self::Ja,
        Self::Ko,
        Self::It,
        Self::Nl,
    ];

    /// The BCP 47 tag, as shown on the card and stored in `FollowUp::locale`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh-CN",
            Self::Es => "es",
            Self::De => "de",
            Self::Fr => "fr",
            Self::PtBr => "pt-BR",
            Self::Ja => "ja",
            Self::Ko => "ko",
            Self::It => "it",
            Self::Nl => "nl",
        }
    }

    /// The language's name in English, as the card names the draft's language.
    pub fn english_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::ZhCn => "Chinese (Simplified)",
            Self::Es => "Spanish",
            Self::De => "German",
            Self::Fr => "French",
            Self::PtBr => "Portuguese (Brazil)",
            Self::Ja => "Japanese",
            Self::Ko => "Korean",
            Self::It => "Italian",
            Self::Nl => "Dutch",
        }
    }

    /// The locale a tag names exactly (`"zh-CN"`), as stored in a case.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        Self::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(tag))
    }
}

/// Our locales as language identifiers, in `Locale::ALL` order, for
/// negotiation.
static AVAILABLE: LazyLock<Vec<LanguageIdentifier>> = LazyLock::new(|| {
    Locale::ALL
        .iter()
        .filter_map(|l| l.tag().parse::<LanguageIdentifier>().ok())
        .collect()
});

/// The draft's locale: the first of the first customer's Stripe
/// `preferred_locales` we have (`es-MX` finds `es`, `pt` finds `pt-BR`),
/// else the language the message is written in, else English.
pub fn choose(snapshot: &BillingSnapshot, message: Option<&str>) -> Locale {
    let preferred = snapshot
        .customers
        .first()
        .map(|c| c.preferred_locales.as_slice())
        .unwrap_or_default();
    // Stripe stores what the customer or an integration set: skip tags that
    // do not parse rather than fail the draft.
    let mut requested: Vec<LanguageIdentifier> = preferred
        .iter()
        .filter_map(|tag| tag.parse::<LanguageIdentifier>().ok())
        .collect();
    if let Some(language) = message.and_then(message_language) {
        requested.extend(language.tag().parse::<LanguageIdentifier>().ok());
    }
    negotiate_languages(&requested, &AVAILABLE, None, NegotiationStrategy::Lookup)
        .first()
        .and_then(|found| Locale::from_tag(&found.to_string()))
        .unwrap_or(Locale::En)
}

/// Below this whatlang confidence the draft stays in English: on the
/// development corpus (`examples/draft_language.rs`) 0.4 is the lowest
/// threshold at which no message got a draft in a wrong language; a draft
/// in English is a smaller fault than one in Dutch to an English customer.
const MIN_CONFIDENCE: f64 = 0.4;

/// whatlang chooses only among the languages we have templates for, so a
/// short Spanish line is not taken for Galician or Catalan.
static DETECTOR: LazyLock<whatlang::Detector> = LazyLock::new(|| {
    use whatlang::Lang;
    whatlang::Detector::with_allowlist(vec![
        Lang::Eng,
        Lang::Cmn,
        Lang::Spa,
        Lang::Deu,
        Lang::Fra,
        Lang::Por,
        Lang::Jpn,
        Lang::Kor,
        Lang::Ita,
        Lang::Nld,
    ])
});

/// How much of a message language detection reads: six times the longest
/// message of the development corpus.
const LANGUAGE_SAMPLE_BYTES: usize = 32 * 1024;

/// The language a customer's message is written in, when whatlang is
/// confident enough. A one-word or mixed message gives `None`, so the chain
/// falls through to English rather than guess.
pub fn message_language(text: &str) -> Option<Locale> {
    // Emails, links, Slack mentions and Stripe ids are Latin letters in any
    // language: "给 li.na.backup@example.cn 退款" would otherwise read as
    // Italian.
    // A language shows in its first pages: a 1 MiB paste is judged by its
    // first LANGUAGE_SAMPLE_BYTES, so detection costs the same for any size.
    let mut sampled = 0;
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !is_identifier(w))
        .take_while(|w| {
            sampled += w.len() + 1;
            sampled <= LANGUAGE_SAMPLE_BYTES
        })
        .collect();
    let info = DETECTOR.detect(&words.join(" "))?;
    if info.confidence() < MIN_CONFIDENCE {
        return None;
    }
    Some(match info.lang() {
        whatlang::Lang::Eng => Locale::En,
        whatlang::Lang::Cmn => Locale::ZhCn,
        whatlang::Lang::Spa => Locale::Es,
        whatlang::Lang::Deu => Locale::De,
        whatlang::Lang::Fra => Locale::Fr,
        whatlang::Lang::Por => Locale::PtBr,
        whatlang::Lang::Jpn => Locale::Ja,
        whatlang::Lang::Kor => Locale::Ko,
        whatlang::Lang::Ita => Locale::It,
        whatlang::Lang::Nld => Locale::Nl,
        _ => return None,
    })
}

/// An email, a link, Slack markup or a Stripe id: says nothing of the
/// language around it.
fn is_identifier(word: &str) -> bool {
    word.is_ascii()
        && (word.contains('@') || word.contains("://") || word.contains(['<', '>', '|', '_']))
}
