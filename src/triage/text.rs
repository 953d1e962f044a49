//! The customer's message before any phrase is matched: redacted, Slack
//! markup resolved, what the customer wrote *now* separated from quoted
//! replies, forwarded mail and signatures, and folded for matching. Pure and
//! allocation-light; which phrases mean what is `triage::lang`'s business,
//! and what a signal means for the case is `triage::classify`'s.
//!
//! # Steps
//!
//! 1. **Redact** card numbers, verification codes and secrets with
//!    [`audit::scrub_text`], before anything else sees the text: the
//!    redacted text is the only form that is stored, shown or logged.
//! 2. **Slack markup**: `<mailto:a@b|a@b>` → `a@b`, `<https://…|label>` →
//!    `label`, `<@U123>` → `@user`, `<!channel>` → `@channel`,
//!    `<#C1|general>` → `#general`; then `&lt;`, `&gt;`, `&amp;`.
//! 3. **Split**, line by line: a line starting with `>` is quoted; a reply
//!    header ("On … wrote:", "Le … a écrit :", "Am … schrieb …:", "…写道：",
//!    or any line ending in `>:` that holds an email) or a forward marker
//!    ("Forwarded message", "Original Message", "Fwd:", a `From:` line with
//!    an email or followed by a `Sent:` / `Subject:` header line, in the
//!    corpus languages) starts quoted text; after a forward with nothing
//!    written above it, a line of only dashes or underscores hands back to
//!    the customer (the "forwarded alert, then my question" layout). A line that is only `--`
//!    or a sign-off ("Best regards", "Mit freundlichen Grüßen", …) starts
//!    the signature. When nothing is left for "now", the quoted text is all
//!    the customer sent and is used instead.
//! 4. **Fold** ([`fold`]): NFKC (full-width forms, ligatures), lower case,
//!    accents removed from Latin letters (`résilié` → `resilie`), curly
//!    quotes straightened. CJK, Hangul and kana are kept as they are.
//!
//! [`audit::scrub_text`]: crate::audit::scrub_text

use unicode_normalization::UnicodeNormalization;

/// One message, ready for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The whole message, redacted: the only form that may be stored, shown
    /// or logged.
    pub redacted: String,
    /// What the customer wrote now (redacted, markup resolved, NFKC), with
    /// its original case: ids and emails are read from it.
    pub current: String,
    /// `current`, folded: phrases are matched against it.
    pub folded: String,
    /// Quoted replies, forwarded mail and signatures (redacted, markup
    /// resolved); they never decide the case.
    pub quoted: String,
    /// The body of forwarded mail under what the customer wrote (redacted,
    /// markup resolved, NFKC; its `>` lines left out), a part of `quoted`:
    /// read only for the self-serve ask the customer passes on when their
    /// own words carry none ("see below" above a colleague's request for
    /// an invoice). Empty when the message forwards nothing or is only a
    /// forward (then the forward is `current`).
    pub forwarded: String,
}

/// Runs the steps of the module doc.
pub fn prepare(message: &str) -> Prepared {
    let redacted = crate::audit::scrub_text(message);
    // Resolving markup, NFKC and lower case can join what redaction saw
    // apart (`4242 4242 4242 <!x|>4242`, `⑩⑩⑩⑩⑩⑩⑩`, `SK_LIVE`): each
    // derived form that changed is checked again.
    let resolved = rescrub_if_changed(&redacted, resolve_slack(&redacted));
    let Parts {
        current,
        quoted,
        forwarded,
    } = split_parts(&resolved);
    // Only what is matched is normalised: a long quoted thread costs one pass.
    let only_quoted = current.trim().is_empty();
    let source = if only_quoted { &quoted } else { &current };
    let forwarded = if only_quoted || forwarded.trim().is_empty() {
        String::new()
    } else {
        rescrub_if_changed(&forwarded, nfkc(&forwarded))
    };
    let current = rescrub_if_changed(source, nfkc(source));
    // `current` is NFKC already: folding it again would only repeat that.
    // Lower case and accents removed can make a secret's marker, never a
    // card number (digits, spaces and dashes are as they were).
    let folded = fold_normalized(&current);
    let folded = if crate::domain::redact::has_secret_marker(&folded) {
        crate::audit::scrub_text(&folded)
    } else {
        folded
    };
    Prepared {
        folded,
        current,
        quoted,
        forwarded,
        redacted,
    }
}

/// `after`, made from the scrubbed `before`, scrubbed again when it
/// differs and a card number or secret shows in it.
fn rescrub_if_changed(before: &str, after: String) -> String {
    if after == before {
        after
    } else {
        rescrub(after)
    }
}

/// `text` scrubbed again when a card number or secret shows in it.
fn rescrub(text: String) -> String {
    if crate::audit::looks_secret(&text) {
        crate::audit::scrub_text(&text)
    } else {
        text
    }
}

impl Prepared {
    /// Messages prepared one by one (see [`prepare`]), read as one: the
    /// customer's first message, then those added later. Each was split on
    /// its own, so a sign-off, a reply header or a forward in one ends only
    /// that one and the next message's words are read. `None` when there are
    /// none.
    pub fn join<'a>(parts: impl IntoIterator<Item = &'a Prepared>) -> Option<Prepared> {
        let parts: Vec<&Prepared> = parts.into_iter().collect();
        if parts.is_empty() {
            return None;
        }
        let joined = |field: fn(&Prepared) -> &str| {
            parts
                .iter()
                .map(|p| field(p).trim_end())
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        Some(Prepared {
            redacted: joined(|p| &p.redacted),
            current: joined(|p| &p.current),
            folded: joined(|p| &p.folded),
            quoted: joined(|p| &p.quoted),
            forwarded: joined(|p| &p.forwarded),
        })
    }
}

/// `text` in NFKC. ASCII is its own NFKC, and no character composes with
/// one before it when it is ASCII, so the text may be cut before any ASCII
/// character and each piece normalised alone: runs of ASCII are copied as
/// they are, and the rest goes through the normaliser with the ASCII
/// character just before it (a combining mark joins it: `e\u{301}`). A
/// message that is mostly ASCII costs a copy, not a normalisation.
pub fn nfkc(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    // Most text is NFKC already (ASCII, CJK, kana, Hangul): one quick check.
    if unicode_normalization::is_nfkc_quick(text.chars())
        == unicode_normalization::IsNormalized::Yes
    {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let Some(non_ascii) = bytes[at..].iter().position(|b| !b.is_ascii()) else {
            out.push_str(&text[at..]);
            break;
        };
        let from = at + non_ascii.saturating_sub(1);
        out.push_str(&text[at..from]);
        let to = bytes[at + non_ascii..]
            .iter()
            .position(u8::is_ascii)
            .map_or(bytes.len(), |n| at + non_ascii + n);
        out.extend(text[from..to].nfkc());
        at = to;
    }
    out
}

/// NFKC, lower case, Latin accents removed, curly quotes straightened.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return fold_normalized(text);
    }
    fold_normalized(&nfkc(text))
}

/// [`fold`] of text that is NFKC already.
fn fold_normalized(normal: &str) -> String {
    let mut out = String::with_capacity(normal.len());
    for c in normal.chars() {
        fold_char(c, &mut out);
    }
    out
}

/// One character of NFKC text, folded as [`fold`] does, onto `out`.
pub fn fold_char(c: char, out: &mut String) {
    {
        if c.is_ascii() {
            out.push(if c == '`' {
                '\''
            } else {
                c.to_ascii_lowercase()
            });
            return;
        }
        for lower in c.to_lowercase() {
            match lower {
                '\u{2018}' | '\u{2019}' | '\u{02bc}' | '`' | '´' => out.push('\''),
                '\u{201c}' | '\u{201d}' | '«' | '»' => out.push('"'),
                c if c.is_ascii() => out.push(c),
                // Latin letters with diacritics: keep the base letter only.
                c if ('\u{00c0}'..'\u{0250}').contains(&c) => {
                    unicode_normalization::char::decompose_canonical(c, |part| {
                        if part.is_ascii() || !is_combining_mark(part) {
                            out.push(part);
                        }
                    });
                }
                c => out.push(c),
            }
        }
    }
}

/// Slack's `<…>` markup replaced by what a reader sees, then its three
/// escapes undone. `<…>` that is not Slack markup (an email header's
/// `<a@b>`) is kept. Markup holds no `<` and no line break (Slack escapes
/// a typed `<` as `&lt;`), so a `<` is markup only when a `>` comes before
/// the next `<` or line break: each character is looked at a bounded
/// number of times, however many `<` a message holds.
pub fn resolve_slack(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after
            .find(['<', '>', '\n'])
            .filter(|&c| after.as_bytes()[c] == b'>')
        else {
            out.push('<');
            rest = after;
            continue;
        };
        let inner = &after[..close];
        let (target, label) = match inner.split_once('|') {
            Some((target, label)) => (target, Some(label)),
            None => (inner, None),
        };
        // A user id says nothing to the matcher; the label, when Slack sent one, does.
        let shown = if target.starts_with('@') {
            Some(format!("@{}", label.unwrap_or("user")))
        } else if let Some(special) = target.strip_prefix('!') {
            let name = special.split('^').next().unwrap_or(special);
            Some(match label {
                Some(label) => label.to_owned(),
                None => format!("@{name}"),
            })
        } else if let Some(channel) = target.strip_prefix('#') {
            Some(format!("#{}", label.unwrap_or(channel)))
        } else if let Some(address) = target.strip_prefix("mailto:") {
            Some(label.unwrap_or(address).to_owned())
        } else if target.starts_with("http://") || target.starts_with("https://") {
            Some(label.unwrap_or(target).to_owned())
        } else {
            None
        };
        match shown {
            Some(shown) => out.push_str(&shown),
            None => {
                out.push('<');
                out.push_str(inner);
                out.push('>');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// (what the customer wrote now, everything quoted, forwarded or signed).
pub fn split(text: &str) -> (String, String) {
    let parts = split_parts(text);
    (parts.current, parts.quoted)
}

/// A message cut by [`split_parts`].
struct Parts {
    current: String,
    /// Everything quoted, forwarded or signed.
    quoted: String,
    /// The lines of forwarded mail that are not `>`-quoted (in `quoted` too).
    forwarded: String,
}

/// [`split`], keeping the forwarded body apart as well.
fn split_parts(text: &str) -> Parts {
    #[derive(PartialEq, Clone, Copy)]
    enum Part {
        Now,
        Reply,
        Forward,
        Signature,
    }
    let (mut current, mut quoted, mut forwarded) = (String::new(), String::new(), String::new());
    let mut part = Part::Now;
    let lines: Vec<&str> = text.lines().collect();
    for (n, &line) in lines.iter().enumerate() {
        // Everything after a reply header is quoted: no need to read it.
        if part == Part::Reply {
            quoted.push_str(line);
            quoted.push('\n');
            continue;
        }
        // Headers, markers and sign-offs are short lines; a long one is text.
        let trimmed = line.trim();
        let folded = if trimmed.len() <= MAX_MARKER_LINE {
            fold(trimmed)
        } else {
            String::new()
        };
        let starts_quote = if is_forward_marker(&folded)
            || (is_sender_line(&folded) && next_is_header(&lines[n + 1..]))
        {
            Some(Part::Forward)
        } else if is_reply_header(&folded) {
            Some(Part::Reply)
        } else {
            None
        };
        part = match (part, starts_quote) {
            (_, Some(quote)) => quote,
            // A separator ends the forward only when the customer wrote
            // nothing above it ("forwarded alert, then my question"); under
            // new text, the whole forward is the old thread.
            (Part::Forward, None) if is_separator(&folded) && current.trim().is_empty() => {
                quoted.push_str(line);
                quoted.push('\n');
                part = Part::Now;
                continue;
            }
            (Part::Now, None) if folded == "--" || is_sign_off(&folded) => Part::Signature,
            (part, None) => part,
        };
        let quoted_line = part != Part::Now || trimmed.starts_with('>');
        if part == Part::Forward && !trimmed.starts_with('>') {
            forwarded.push_str(line);
            forwarded.push('\n');
        }
        let into = if quoted_line {
            &mut quoted
        } else {
            &mut current
        };
        into.push_str(line);
        into.push('\n');
    }
    Parts {
        current,
        quoted,
        forwarded,
    }
}

/// Longest line read for a reply header, forward marker or sign-off, in bytes.
const MAX_MARKER_LINE: usize = 400;

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}')
}

/// Endings of a reply header line, folded.
const REPLY_HEADER_ENDINGS: &[&str] = &[
    "wrote:",
    "a ecrit :",
    "a ecrit:",
    "schrieb:",
    "escribio:",
    "escreveu:",
    "ha scritto:",
    "schreef:",
    "写道:",
    "写道：",
    "작성:",
    "님이 작성했습니다:",
    "のメッセージ:",
    "が書きました:",
];

fn is_reply_header(folded: &str) -> bool {
    REPLY_HEADER_ENDINGS.iter().any(|end| folded.ends_with(end))
        || (folded.ends_with(">:") && folded.contains('@'))
}

/// Phrases that mark the start of forwarded or original mail, folded.
const FORWARD_MARKERS: &[&str] = &[
    "forwarded message",
    "original message",
    "begin forwarded message",
    "message transfere",
    "message d'origine",
    "weitergeleitete nachricht",
    "ursprungliche nachricht",
    "mensaje reenviado",
    "mensaje original",
    "mensagem encaminhada",
    "mensagem original",
    "messaggio inoltrato",
    "messaggio originale",
    "doorgestuurd bericht",
    "oorspronkelijk bericht",
    "转发的邮件",
    "原始邮件",
    "転送メッセージ",
    "元のメッセージ",
    "전달된 메시지",
    "원본 메시지",
];

/// Header prefixes that open a forwarded subject or sender line, folded.
const FORWARD_PREFIXES: &[&str] = &["fwd:", "fw:", "tr:", "wg:", "rv:", "enc:", "i:", "转发:"];
const SENDER_PREFIXES: &[&str] = &[
    "from:",
    "von:",
    "de :",
    "de:",
    "da:",
    "van:",
    "发件人:",
    "差出人:",
    "보낸 사람:",
];

/// Whether `line` (as written) is a forwarded mail's sender line ("From:
/// Bank <alerts@bank.example>", "De : …", "发件人: …").
pub fn names_a_sender(line: &str) -> bool {
    is_sender_line(&fold(
        line.trim_start_matches(|c: char| c == '>' || c.is_whitespace()),
    ))
}

fn is_forward_marker(folded: &str) -> bool {
    FORWARD_MARKERS.iter().any(|m| folded.contains(m))
        || FORWARD_PREFIXES.iter().any(|p| folded.starts_with(p))
        || (SENDER_PREFIXES.iter().any(|p| folded.starts_with(p)) && folded.contains('@'))
}

/// Header prefixes that follow a sender line in a mail client's quoted
/// header block (Outlook names the sender without an address), folded.
const HEADER_PREFIXES: &[&str] = &[
    "sent:",
    "date:",
    "to:",
    "subject:",
    "cc:",
    "envoye :",
    "envoye:",
    "date :",
    "a :",
    "objet :",
    "objet:",
    "gesendet:",
    "datum:",
    "an:",
    "betreff:",
    "enviado:",
    "enviado el:",
    "fecha:",
    "para:",
    "asunto:",
    "assunto:",
    "data:",
    "inviato:",
    "oggetto:",
    "a:",
    "verzonden:",
    "aan:",
    "onderwerp:",
    "发送时间:",
    "日期:",
    "收件人:",
    "主题:",
    "送信日時:",
    "宛先:",
    "件名:",
    "보낸 날짜:",
    "받는 사람:",
    "제목:",
];

fn is_sender_line(folded: &str) -> bool {
    SENDER_PREFIXES.iter().any(|p| folded.starts_with(p))
}

/// Whether the next non-blank line opens a mail header ("Sent:", "Objet :"…):
/// a sender line followed by one starts a quoted header block even when it
/// holds no address.
fn next_is_header(rest: &[&str]) -> bool {
    rest.iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .filter(|l| l.len() <= MAX_MARKER_LINE)
        .is_some_and(|l| {
            let folded = fold(l);
            HEADER_PREFIXES.iter().any(|p| folded.starts_with(p))
        })
}

/// A line of only dashes, underscores or equals signs, three or more.
fn is_separator(folded: &str) -> bool {
    folded.chars().count() >= 3 && folded.chars().all(|c| matches!(c, '-' | '_' | '=' | '—'))
}

/// Sign-offs that, alone on a short line, start a signature; folded.
const SIGN_OFFS: &[&str] = &[
    "best",
    "best regards",
    "kind regards",
    "warm regards",
    "regards",
    "cheers",
    "thanks",
    "thank you",
    "many thanks",
    "sincerely",
    "yours sincerely",
    "mit freundlichen grußen",
    "mit freundlichen grussen",
    "freundliche grußen",
    "viele gruße",
    "beste gruße",
    "liebe gruße",
    "gruße",
    "mfg",
    "cordialement",
    "bien cordialement",
    "bien a vous",
    "salutations",
    "saludos",
    "un saludo",
    "saludos cordiales",
    "atentamente",
    "atenciosamente",
    "abracos",
    "cordiali saluti",
    "distinti saluti",
    "saluti",
    "met vriendelijke groet",
    "met vriendelijke groeten",
    "vriendelijke groet",
    "groeten",
    "此致",
    "敬礼",
    "よろしくお願いいたします",
    "よろしくお願いします",
    "감사합니다",
    // "Thanks" alone on its line, as in English, in the other languages.
    "gracias",
    "muchas gracias",
    "merci",
    "merci d'avance",
    "danke",
    "vielen dank",
    "obrigado",
    "obrigada",
    "grazie",
    "grazie mille",
    "bedankt",
    "dank je",
    "dank u",
    "谢谢",
    "谢谢您",
    "多谢",
    "祝好",
    "ありがとうございます",
    "宜しくお願いいたします",
    "고맙습니다",
    "감사드립니다",
];

fn is_sign_off(folded: &str) -> bool {
    if folded.starts_with("sent from my") || folded.starts_with("envoye de mon") {
        return true;
    }
    let line = folded.trim_end_matches([',', '.', '!', '，', '。']).trim();
    SIGN_OFFS.contains(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_width_and_quotes() {
        assert_eq!(fold("J'ai RÉSILIÉ"), "j'ai resilie");
        assert_eq!(fold("Kündigung ÜBER"), "kundigung uber");
        assert_eq!(fold("Ｃａｎｃｅｌ？ I don’t"), "cancel? i don't");
        assert_eq!(fold("不要取消"), "不要取消");
        assert_eq!(fold("해지했는데 が"), "해지했는데 が");
    }

    #[test]
    fn resolves_slack_markup() {
        let cases = [
            ("<mailto:a@b.com|a@b.com> writes", "a@b.com writes"),
            ("<@U04QX8M2P> from #support", "@user from #support"),
            ("<!channel> approve", "@channel approve"),
            ("<!here> fyi", "@here fyi"),
            ("see <https://x.example/y|the page>", "see the page"),
            ("see <https://x.example/y>", "see https://x.example/y"),
            ("<#C123|billing> please", "#billing please"),
            ("From: Dee <dee@example.com>", "From: Dee <dee@example.com>"),
            ("&gt; quoted &amp; more", "> quoted & more"),
        ];
        for (input, expected) in cases {
            assert_eq!(resolve_slack(input), expected, "{input}");
        }
    }

    #[test]
    fn quoted_reply_does_not_reach_the_current_text() {
        let message = "Thanks, card's updated now. Where do receipts go?\n\nOn Tue, Jun 10, 2025 at 3:14 PM Support <support@example.com> wrote:\n> Hi Ana, your payment failed.\n> Please update your card.";
        let prepared = prepare(message);
        assert!(
            prepared.folded.contains("where do receipts go"),
            "{prepared:?}"
        );
        assert!(!prepared.folded.contains("payment failed"), "{prepared:?}");
        assert!(prepared.quoted.contains("payment failed"), "{prepared:?}");
    }

    #[test]
    fn quoted_lines_in_every_corpus_language_are_split() {
        for header in [
            "Le mar. 10 juin 2025, Support <s@example.com> a écrit :",
            "Am Di., 10. Juni 2025 um 15:14 Uhr schrieb Support <s@example.com>:",
            "El mar, 10 jun 2025, Support <s@example.com> escribió:",
            "Em ter., 10 de jun. de 2025, Support <s@example.com> escreveu:",
            "Il giorno mar 10 giu 2025, Support <s@example.com> ha scritto:",
            "Op di 10 jun 2025 schreef Support <s@example.com>:",
            "Support <s@example.com> 于2025年6月10日周二 写道：",
            "2025年6月10日(火) 15:14 Support <s@example.com>:",
            "-----Original Message-----",
            "---------- Forwarded message ---------",
        ] {
            let (now, quoted) = split(&format!("my words\n{header}\nold words"));
            assert_eq!(now, "my words\n", "{header}");
            assert!(quoted.contains("old words"), "{header}");
        }
    }

    #[test]
    fn an_outlook_header_block_without_an_address_starts_quoted_text() {
        for header in [
            "From: Acme Billing\nSent: Tuesday, June 10, 2025 4:20 PM",
            "De : Acme Billing\nEnvoyé : mardi 10 juin 2025 16:20",
            "Von: Acme Billing\n\nBetreff: Erstattung",
            "发件人: Acme Billing\n发送时间: 2025年6月10日",
        ] {
            let (now, quoted) = split(&format!("my words\n{header}\nold words"));
            assert_eq!(now, "my words\n", "{header}");
            assert!(quoted.contains("old words"), "{header}");
        }
        // A sender named in the customer's own sentence is not a header.
        let (now, _) = split("From: me, the owner\nplease send the invoice");
        assert!(now.contains("please send the invoice"), "{now:?}");
    }

    #[test]
    fn under_new_text_a_separator_inside_the_forward_stays_quoted() {
        let message = "The export is broken since today.\n\n---------- Forwarded message ---------\nFrom: Billing <billing@example.com>\n\nWe've refunded your payment.\n-----\nNeed help? Reply to cancel or ask for a refund.";
        let (now, quoted) = split(message);
        assert_eq!(now, "The export is broken since today.\n\n", "{now:?}");
        assert!(quoted.contains("ask for a refund"), "{quoted:?}");
    }

    #[test]
    fn text_after_a_forwarded_alert_is_the_customers() {
        let message = "---------- Forwarded message ---------\nFrom: Alerts <alerts@example.jp>\nSubject: Card usage\n\nA payment of JPY 28,000 was made.\n\n-----\nHello. I was surprised, please cancel.\n\nHaruto";
        let (now, quoted) = split(message);
        assert!(now.contains("I was surprised"), "{now:?}");
        assert!(!now.contains("JPY 28,000"), "{now:?}");
        assert!(quoted.contains("JPY 28,000"), "{quoted:?}");
    }

    #[test]
    fn signatures_are_separated() {
        let (now, quoted) = split("Please send the June invoice.\n\nMit freundlichen Grüßen\n\nPetra Kessler\nGeschäftsführer: Jonas");
        assert_eq!(now, "Please send the June invoice.\n\n");
        assert!(quoted.contains("Geschäftsführer"), "{quoted:?}");
        let (now, _) = split("Ana\n\n--\nAna Silva\nThis email is confidential");
        assert_eq!(now, "Ana\n\n");
    }

    #[test]
    fn a_message_added_after_a_signed_one_is_read() {
        let first = prepare("My card was declined yesterday.\n\nThanks,\nAna");
        let added = prepare("Also I was charged twice, please refund one.");
        // Appended to the first, the new words fall in its signature…
        let appended = prepare(&format!("{}\n\n{}", first.redacted, added.redacted));
        assert!(!appended.folded.contains("charged twice"), "{appended:?}");
        // …prepared on their own, they are read, and the signature is not.
        let joined = Prepared::join([&first, &added]).expect("two messages");
        assert!(joined.folded.contains("card was declined"), "{joined:?}");
        assert!(joined.folded.contains("charged twice"), "{joined:?}");
        assert!(!joined.current.contains("Ana"), "{joined:?}");
        assert!(joined.quoted.contains("Ana"), "{joined:?}");
        assert!(
            joined.redacted.contains("Thanks,\nAna\n\nAlso"),
            "{joined:?}"
        );
        assert_eq!(Prepared::join(std::iter::empty()), None);
        let one = Prepared::join([&added]).expect("one message");
        assert_eq!(one.folded, added.folded.trim_end());
    }

    #[test]
    fn a_message_that_is_only_a_forward_is_read_as_it_is() {
        let prepared = prepare("Fwd: Your payment failed\nFrom: Billing <billing@example.com>\n\nWe could not charge your card.");
        assert!(prepared.folded.contains("could not charge"), "{prepared:?}");
    }

    #[test]
    fn card_numbers_are_redacted_before_anything_else() {
        let prepared = prepare("new card 4242 4242 4242 4242 cvc 123\n> old 5555 5555 5555 4444");
        for text in [
            &prepared.redacted,
            &prepared.current,
            &prepared.folded,
            &prepared.quoted,
        ] {
            assert!(
                !text.contains("4242 4242") && !text.contains("5555 5555") && !text.contains("123"),
                "{text}"
            );
        }
        assert!(prepared.redacted.contains("[redacted]"), "{prepared:?}");
    }
}
