//! The follow-up wording: one Project Fluent file per locale
//! (`locales/<tag>/followup.ftl`), embedded in the binary at compile time
//! (the distroless image has no files beside it) and parsed once, at first
//! use. Which message to say and with what values is `followup`'s; this
//! module only formats one message in one locale, falling back to English.
//!
//! Values go in as Fluent arguments and are never parsed as Fluent, so a
//! customer name holding `{ $url }` stays literal.

use super::locale::Locale;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::sync::LazyLock;

/// The embedded sources, in `Locale::ALL` order.
const SOURCES: [(Locale, &str); 10] = [
    (Locale::En, include_str!("locales/en/followup.ftl")),
    (Locale::ZhCn, include_str!("locales/zh-CN/followup.ftl")),
    (Locale::Es, include_str!("locales/es/followup.ftl")),
    (Locale::De, include_str!("locales/de/followup.ftl")),
    (Locale::Fr, include_str!("locales/fr/followup.ftl")),
    (Locale::PtBr, include_str!("locales/pt-BR/followup.ftl")),
    (Locale::Ja, include_str!("locales/ja/followup.ftl")),
    (Locale::Ko, include_str!("locales/ko/followup.ftl")),
    (Locale::It, include_str!("locales/it/followup.ftl")),
    (Locale::Nl, include_str!("locales/nl/followup.ftl")),
];

/// One locale's bundle, with whatever went wrong loading it (a unit test
/// keeps that empty for every locale).
struct Loaded {
    locale: Locale,
    bundle: FluentBundle<FluentResource>,
    /// Read by the unit test that keeps every file clean.
    #[cfg_attr(not(test), allow(dead_code))]
    errors: Vec<String>,
}

static BUNDLES: LazyLock<Vec<Loaded>> =
    LazyLock::new(|| SOURCES.iter().map(|(l, s)| load(*l, s)).collect());

fn load(locale: Locale, source: &str) -> Loaded {
    let mut errors = Vec::new();
    // A file with a syntax error still yields the messages that parsed; the
    // rest fall back to English rather than stop the bot.
    let resource =
        FluentResource::try_new(source.to_owned()).unwrap_or_else(|(resource, parse_errors)| {
            errors.extend(parse_errors.iter().map(|e| format!("{e:?}")));
            resource
        });
    let langid = locale.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // Fluent wraps every placeable in Unicode isolation marks (U+2068 FSI,
    // U+2069 PDI) by default, for right-to-left text. The drafts are plain
    // chat and email text that an operator copies into a reply, none of our
    // locales is right-to-left, and the invisible marks would travel into
    // the customer's mail (some clients show them as boxes) and break
    // searching the text for an amount or a plan name. So: off.
    bundle.set_use_isolating(false);
    if let Err(add_errors) = bundle.add_resource(resource) {
        errors.extend(add_errors.iter().map(|e| format!("{e:?}")));
    }
    Loaded {
        locale,
        bundle,
        errors,
    }
}

fn loaded(locale: Locale) -> Option<&'static Loaded> {
    BUNDLES.iter().find(|l| l.locale == locale)
}

/// Message `id` in `locale` with `args`; in English when the locale lacks it
/// or cannot format it cleanly. Never returns Fluent's error rendering (a
/// `{$var}` or the bare id): an empty string is better than a placeholder
/// in a customer's mail, and the unit tests keep it from happening.
pub(super) fn format(locale: Locale, id: &str, args: &FluentArgs<'_>) -> String {
    try_format(locale, id, args)
        .or_else(|| try_format(Locale::En, id, args))
        .unwrap_or_default()
}

fn try_format(locale: Locale, id: &str, args: &FluentArgs<'_>) -> Option<String> {
    let bundle = &loaded(locale)?.bundle;
    let pattern = bundle.get_message(id)?.value()?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(args), &mut errors);
    errors.is_empty().then(|| text.into_owned())
}

/// What went wrong loading `locale`'s file (for tests).
#[cfg(test)]
pub(super) fn load_errors(locale: Locale) -> Vec<String> {
    loaded(locale)
        .map(|l| l.errors.clone())
        .unwrap_or_else(|| vec!["no file".to_owned()])
}

/// Every message id in `locale`'s file (for tests): lines that open with
/// `id =`, which is how a Fluent message starts.
#[cfg(test)]
pub(super) fn message_ids(locale: Locale) -> Vec<String> {
    let Some((_, source)) = SOURCES.iter().find(|(l, _)| *l == locale) else {
        return Vec::new();
    };
    source
        .lines()
        .filter_map(|line| line.split_once(" ="))
        .map(|(id, _)| id)
        .filter(|id| {
            id.starts_with(|c: char| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned)
        .collect()
}
