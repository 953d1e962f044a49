//! What must never be written: secrets (Slack and Stripe tokens, signing
//! secrets), card numbers and card verification codes. [`scrub`] redacts
//! whole strings of an audit entry's detail; [`scrub_text`] redacts just the
//! spans in free text, so a customer's message stays readable. Used wherever
//! text is stored or shown: the audit trail, operator text, triage.

/// What replaces a secret or a card number in `detail`.
pub const REDACTED: &str = "[redacted]";
/// Replaces every string in `detail` (at any depth) that holds a secret
/// (`xoxb-`, `xoxp-`, `xapp-`, `sk_live`/`sk_test`, `rk_live`/`rk_test`,
/// `whsec_`) or a card-number-looking run (13 or more digits, possibly
/// grouped by single spaces or dashes) with [`REDACTED`]. Integers of 13 or
/// more digits are replaced too, since a card number fits in one. Keys are
/// kept: they are the code's own names, not data.
pub fn scrub(detail: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match detail {
        Value::String(text) if looks_secret(&text) => Value::String(REDACTED.to_owned()),
        Value::Number(number)
            if number
                .as_u64()
                .is_some_and(|n| digit_count(n) >= CARD_DIGITS_MIN) =>
        {
            Value::String(REDACTED.to_owned())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(scrub).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, scrub(value)))
                .collect(),
        ),
        other => other,
    }
}

/// Redacts free text in place of dropping it: every card-number-looking run
/// (as [`scrub`] finds them), every card verification code written after its
/// name ("cvc 737", "security code: 884", "安全码 456") and every token holding
/// a secret become [`REDACTED`]; the rest of the text is kept, so a customer's
/// message stays readable on the card, in Redis and in the CLI's JSON. Expiry
/// dates and last fours stay: the playbook allows them.
pub fn scrub_text(text: &str) -> String {
    // Card-number runs and secret tokens (the audit's own detector), and
    // the codes after a code's name, as byte ranges; touching or
    // overlapping ones become one [`REDACTED`].
    let mut spans = secret_spans(text);
    spans.extend(verification_codes(text));
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_by_key(|span| span.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut spans = spans.into_iter().peekable();
    while let Some(span) = spans.next() {
        let mut end = span.end;
        while let Some(next) = spans.next_if(|next| next.start <= end) {
            end = end.max(next.end);
        }
        out.push_str(&text[at..span.start.max(at)]);
        out.push_str(REDACTED);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}
/// Prefixes of tokens and keys that must never be written (docs/CONTRACT.md).
const SECRET_MARKERS: [&str; 8] = [
    "xoxb-", "xoxp-", "xapp-", "sk_live", "sk_test", "rk_live", "rk_test", "whsec_",
];

/// Whether `text` holds a [`SECRET_MARKERS`] prefix (no card numbers
/// looked for): the check for text whose digits cannot have changed.
pub fn has_secret_marker(text: &str) -> bool {
    SECRET_MARKERS.iter().any(|marker| text.contains(marker))
}

pub fn looks_secret(text: &str) -> bool {
    !secret_spans(text).is_empty()
}

/// Card numbers have 13 to 19 digits; longer runs are redacted as well,
/// since one may hide inside.
const CARD_DIGITS_MIN: usize = 13;

/// Where `text` holds something that must not be written: every token
/// around a [`SECRET_MARKERS`] prefix (the marker and the letters, digits,
/// `_` and `-` joined to it on either side) and every card-number-looking
/// run, as sorted, non-overlapping byte ranges. [`scrub`] redacts a whole
/// string when there is any; [`scrub_text`] redacts just these ranges.
/// All boundaries are char boundaries. Linear in the text: a marker inside
/// a token already found is skipped, so `xoxb-xoxb-…` (1 MiB of it) is one
/// walk, not one per marker.
pub fn secret_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let is_token = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let mut spans = card_number_runs(text);
    for marker in SECRET_MARKERS {
        let mut covered = 0;
        for (at, _) in text.match_indices(marker) {
            if at < covered {
                continue;
            }
            let start = bytes[..at]
                .iter()
                .rposition(|&b| !is_token(b))
                .map_or(0, |i| i + 1);
            let end = bytes[at..]
                .iter()
                .position(|&b| !is_token(b))
                .map_or(bytes.len(), |i| at + i);
            covered = end;
            spans.push(start..end);
        }
    }
    spans.sort_by_key(|span| span.start);
    let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// Runs of 13 or more digits, where single spaces or dashes between digits
/// (`4242 4242 4242 4242`, `4242-4242-…`) do not end the run. No Luhn
/// check: a mistyped card number is still one, and a redacted non-card
/// number costs little in an audit log. A digit is any character that
/// reads as one once NFKC-normalised (`４２４２` typed with a Japanese or
/// Chinese input method is a card number too), and so is a space or dash.
fn card_number_runs(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let (mut digits, mut start, mut end) = (0usize, 0usize, 0usize);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_digit(c) {
            if digits == 0 {
                start = i;
            }
            digits += 1;
            end = i + c.len_utf8();
            continue;
        }
        let joins_digits = matches!(as_ascii(c), Some(b' ' | b'-'))
            && digits > 0
            && chars.peek().is_some_and(|&(_, next)| is_digit(next));
        if joins_digits {
            continue;
        }
        if digits >= CARD_DIGITS_MIN {
            runs.push(start..end);
        }
        digits = 0;
    }
    if digits >= CARD_DIGITS_MIN {
        runs.push(start..end);
    }
    runs
}

/// `c` as the one ASCII character its compatibility form is (`４` → `4`,
/// `\u{3000}` → ` `), when it is one.
fn as_ascii(c: char) -> Option<u8> {
    if c.is_ascii() {
        return u8::try_from(c).ok();
    }
    // Only digits, spaces and dashes are asked about: other characters
    // skip the decomposition (it costs a table walk), and kana, CJK
    // ideographs and Hangul syllables skip even the question.
    if ('\u{3040}'..='\u{9fff}').contains(&c) || ('\u{ac00}'..='\u{d7a3}').contains(&c) {
        return None;
    }
    if !(c.is_numeric() || c.is_whitespace() || c == '\u{ff0d}') {
        return None;
    }
    let mut one = None;
    let mut count = 0;
    unicode_normalization::char::decompose_compatible(c, |part| {
        count += 1;
        one = Some(part);
    });
    one.filter(|part| count == 1 && part.is_ascii())
        .and_then(|part| u8::try_from(part).ok())
}

fn is_digit(c: char) -> bool {
    as_ascii(c).is_some_and(|b| b.is_ascii_digit())
}

fn digit_count(mut n: u64) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

/// Names customers give the 3-4 digit code on the back of a card, lower case.
const VERIFICATION_CODE_NAMES: [&str; 12] = [
    "cvc",
    "cvv",
    "cvv2",
    "cid",
    "csc",
    "security code",
    "card code",
    "安全码",
    "安全碼",
    "セキュリティコード",
    "보안코드",
    "código de seguridad",
];

/// The names as matched: ASCII letters in any case, and each name with its
/// other letters upper-cased (`cÓdigo`), by the name's index.
static CODE_NAMES: std::sync::LazyLock<(aho_corasick::AhoCorasick, Vec<usize>)> =
    std::sync::LazyLock::new(|| {
        let mut patterns = Vec::new();
        let mut names = Vec::new();
        for (n, name) in VERIFICATION_CODE_NAMES.iter().enumerate() {
            patterns.push((*name).to_owned());
            names.push(n);
            let upper: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii() {
                        c
                    } else {
                        c.to_uppercase().next().unwrap_or(c)
                    }
                })
                .collect();
            if upper != *name {
                patterns.push(upper);
                names.push(n);
            }
        }
        let automaton = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&patterns)
            .expect("twelve short names build an automaton");
        (automaton, names)
    });

/// The 3 or 4 digits that follow a verification-code name within a few
/// separator characters ("CVC: 737", "cvv 321"), as byte ranges. A name is
/// not looked for again inside its own last match.
fn verification_codes(text: &str) -> Vec<std::ops::Range<usize>> {
    let (automaton, names) = &*CODE_NAMES;
    let mut resume = vec![0usize; VERIFICATION_CODE_NAMES.len()];
    let mut codes = Vec::new();
    for found in automaton.find_overlapping_iter(text) {
        let name = names[found.pattern().as_usize()];
        if found.start() < resume[name] {
            continue;
        }
        resume[name] = found.end();
        let mut rest = text[found.end()..].char_indices().peekable();
        let mut gap = 0;
        while let Some(&(_, c)) = rest.peek() {
            let lower = c.to_lowercase().next().unwrap_or(c);
            if gap == 4 || is_digit(c) || (c.is_alphanumeric() && !matches!(lower, 'i' | 's' | 'o'))
            {
                break;
            }
            rest.next();
            gap += 1;
        }
        let Some(&(start, _)) = rest.peek() else {
            continue;
        };
        let (mut digits, mut end) = (0, start);
        while let Some((at, c)) = rest.next_if(|&(_, c)| is_digit(c)) {
            digits += 1;
            end = at + c.len_utf8();
        }
        if (3..=4).contains(&digits) {
            codes.push(found.end() + start..found.end() + end);
        }
    }
    codes
}
