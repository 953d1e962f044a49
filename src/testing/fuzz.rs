//! Shared inputs of the property tests at the edges (`*/fuzz_tests.rs`):
//! hostile text (any Unicode, control characters, combining marks, Slack
//! markup characters), arbitrary JSON, and structure-aware mutations of a
//! real payload (a key dropped or duplicated, a value of another type, huge,
//! or JSON nested in a string; a form pair dropped, duplicated or
//! mis-encoded; a body cut short). The case count is bounded for CI by
//! [`config`]; `PROPTEST_CASES` raises it.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

/// `cases` per property in CI (keeps the whole set within seconds in a
/// debug build), unless `PROPTEST_CASES` asks for another count.
pub fn config(cases: u32) -> ProptestConfig {
    let from_env = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok());
    ProptestConfig {
        cases: from_env.unwrap_or(cases),
        // Shrinking a failure of a large input may take long; enough steps to
        // reach a readable one.
        max_shrink_iters: 2_048,
        ..ProptestConfig::default()
    }
}

/// One character a hostile or careless sender might type: plain letters and
/// digits, the characters our parsers split on, controls, combining marks,
/// bidi controls, full-width forms, CJK, emoji, noncharacters, and any
/// `char` at all.
pub fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('0', '9'),
        3 => proptest::sample::select(vec![
            ' ', '\n', '\r', '\t', '<', '>', '|', '@', '!', '#', '&', ';', '%', '+', '=', '_',
            '-', '.', ',', ':', '"', '\'', '\\', '/', '{', '}', '[', ']', '?', '*', '`', '^',
        ]),
        1 => proptest::sample::select(vec![
            '\0', '\u{7f}', '\u{85}', '\u{a0}', '\u{200b}', '\u{200d}', '\u{202e}', '\u{2028}',
            '\u{2029}', '\u{3000}', '\u{feff}', '\u{fffd}', '\u{ffff}', '\u{10ffff}',
        ]),
        1 => proptest::char::range('\u{300}', '\u{36f}'),
        1 => proptest::char::range('\u{ff01}', '\u{ff5e}'),
        1 => proptest::sample::select(vec!['退', '款', '取', '消', '不', 'の', '해', '지', 'é', 'ß', 'İ', 'ﬁ', 'Ω', 'К', '😀', '👩', '🏽']),
        1 => any::<char>(),
    ]
}

/// A string of up to `max` [`nasty_char`]s.
pub fn nasty_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(nasty_char(), 0..=max).prop_map(|chars| chars.into_iter().collect())
}

/// Words, phrase fragments and markup put together: a message's shape
/// rather than noise (`pieces` are the building blocks, joined by
/// separators a message holds).
pub fn message_of(pieces: Vec<&'static str>, max_parts: usize) -> impl Strategy<Value = String> {
    let part = prop_oneof![
        6 => proptest::sample::select(pieces).prop_map(str::to_owned),
        1 => nasty_text(6),
    ];
    let sep = proptest::sample::select(vec![" ", " ", "", "\n", "\n\n", "> ", ", ", ". ", "\t"]);
    proptest::collection::vec((part, sep), 0..=max_parts).prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(part, sep)| [part, sep.to_owned()])
            .collect()
    })
}

/// Any JSON value, a few levels deep.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        nasty_text(12).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(nasty_text(6), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// One change to a JSON payload, at a node chosen by its index.
#[derive(Debug, Clone)]
pub enum JsonMutation {
    /// The node is removed from its object or array.
    Drop(Index),
    /// The node becomes another value (often of another type).
    Replace(Index, Value),
    /// The node becomes a string holding its own JSON.
    Stringify(Index),
    /// The node becomes a long string of one character.
    Huge(Index, char, usize),
    /// A string node gets hostile text appended.
    Append(Index, String),
    /// An object gets a new key.
    Insert(Index, String, Value),
}

/// Changes of a payload: mostly at the nodes it has, sometimes new.
pub fn json_mutation() -> impl Strategy<Value = JsonMutation> {
    prop_oneof![
        3 => any::<Index>().prop_map(JsonMutation::Drop),
        3 => (any::<Index>(), json_value()).prop_map(|(at, v)| JsonMutation::Replace(at, v)),
        1 => any::<Index>().prop_map(JsonMutation::Stringify),
        1 => (any::<Index>(), nasty_char(), 1usize..20_000).prop_map(|(at, c, n)| JsonMutation::Huge(at, c, n)),
        2 => (any::<Index>(), nasty_text(16)).prop_map(|(at, s)| JsonMutation::Append(at, s)),
        1 => (any::<Index>(), nasty_text(8), json_value()).prop_map(|(at, k, v)| JsonMutation::Insert(at, k, v)),
    ]
}

/// Every node's JSON pointer, the root's (`""`) first.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (n, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{n}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn node(value: &Value, index: &Index) -> String {
    let mut all = Vec::new();
    pointers(value, String::new(), &mut all);
    all.swap_remove(index.index(all.len()))
}

/// `value` with `mutation` applied.
pub fn mutate(mut value: Value, mutation: &JsonMutation) -> Value {
    match mutation {
        JsonMutation::Drop(at) => {
            let pointer = node(&value, at);
            if let Some((parent, last)) = pointer.rsplit_once('/') {
                let last = last.replace("~1", "/").replace("~0", "~");
                match value.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&last);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(n) = last.parse::<usize>() {
                            if n < items.len() {
                                items.remove(n);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        JsonMutation::Replace(at, new) => set(&mut value, at, |_| new.clone()),
        JsonMutation::Stringify(at) => set(&mut value, at, |old| Value::String(old.to_string())),
        JsonMutation::Huge(at, c, n) => {
            set(&mut value, at, |_| {
                Value::String(std::iter::repeat_n(*c, *n).collect())
            });
        }
        JsonMutation::Append(at, text) => set(&mut value, at, |old| match old {
            Value::String(s) => Value::String(format!("{s}{text}")),
            other => other.clone(),
        }),
        JsonMutation::Insert(at, key, new) => set(&mut value, at, |old| {
            let mut old = old.clone();
            if let Value::Object(map) = &mut old {
                map.insert(key.clone(), new.clone());
            }
            old
        }),
    }
    value
}

fn set(value: &mut Value, at: &Index, make: impl FnOnce(&Value) -> Value) {
    let pointer = node(value, at);
    if let Some(slot) = value.pointer_mut(&pointer) {
        *slot = make(slot);
    }
}

/// Text-level changes JSON values cannot express: a key written twice, the
/// text cut short, a byte changed.
#[derive(Debug, Clone)]
pub enum TextMutation {
    None,
    /// The first `"key":` written a second time at the start of its object.
    DuplicateKey(Index),
    Truncate(Index),
    SetByte(Index, u8),
    Insert(Index, String),
}

pub fn text_mutation() -> impl Strategy<Value = TextMutation> {
    prop_oneof![
        4 => Just(TextMutation::None),
        2 => any::<Index>().prop_map(TextMutation::DuplicateKey),
        1 => any::<Index>().prop_map(TextMutation::Truncate),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(at, b)| TextMutation::SetByte(at, b)),
        1 => (any::<Index>(), nasty_text(8)).prop_map(|(at, s)| TextMutation::Insert(at, s)),
    ]
}

/// `value` as JSON text, then `mutation`; the bytes may no longer be UTF-8.
pub fn json_text(value: &Value, mutation: &TextMutation) -> Vec<u8> {
    let text = value.to_string();
    match mutation {
        TextMutation::None => text.into_bytes(),
        TextMutation::DuplicateKey(at) => {
            // Every `{"key":value` opening: repeat its first pair.
            let opens: Vec<usize> = text.match_indices("{\"").map(|(i, _)| i).collect();
            if opens.is_empty() {
                return text.into_bytes();
            }
            let open = opens[at.index(opens.len())];
            let inner = &text[open + 1..];
            // The pair ends at the first `,` or `}` outside strings and nesting.
            let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
            let mut end = inner.len();
            for (i, c) in inner.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' if in_string => escaped = true,
                    '"' => in_string = !in_string,
                    '{' | '[' if !in_string => depth += 1,
                    '}' | ']' if !in_string && depth > 0 => depth -= 1,
                    ',' | '}' if !in_string && depth == 0 => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let pair = &inner[..end];
            format!("{}{{{pair},{inner}", &text[..open]).into_bytes()
        }
        TextMutation::Truncate(at) => truncate(text.into_bytes(), at),
        TextMutation::SetByte(at, b) => set_byte(text.into_bytes(), at, *b),
        TextMutation::Insert(at, s) => insert(text.into_bytes(), at, s.as_bytes()),
    }
}

fn truncate(mut bytes: Vec<u8>, at: &Index) -> Vec<u8> {
    bytes.truncate(at.index(bytes.len() + 1));
    bytes
}

fn set_byte(mut bytes: Vec<u8>, at: &Index, b: u8) -> Vec<u8> {
    if !bytes.is_empty() {
        let n = at.index(bytes.len());
        bytes[n] = b;
    }
    bytes
}

fn insert(mut bytes: Vec<u8>, at: &Index, new: &[u8]) -> Vec<u8> {
    let n = at.index(bytes.len() + 1);
    bytes.splice(n..n, new.iter().copied());
    bytes
}

/// One change to a form body (`key=value&…`), made on its decoded pairs or
/// on its encoded text.
#[derive(Debug, Clone)]
pub enum FormMutation {
    None,
    Drop(Index),
    Duplicate(Index),
    SetValue(Index, String),
    /// The value becomes a JSON payload's text.
    SetJson(Index, Value),
    /// A `%` escape that decodes to nothing valid, in the encoded text.
    BadEscape(Index, &'static str),
    Truncate(Index),
    SetByte(Index, u8),
}

pub fn form_mutation() -> impl Strategy<Value = FormMutation> {
    prop_oneof![
        2 => Just(FormMutation::None),
        2 => any::<Index>().prop_map(FormMutation::Drop),
        2 => any::<Index>().prop_map(FormMutation::Duplicate),
        3 => (any::<Index>(), nasty_text(24)).prop_map(|(at, v)| FormMutation::SetValue(at, v)),
        1 => (any::<Index>(), json_value()).prop_map(|(at, v)| FormMutation::SetJson(at, v)),
        2 => (
            any::<Index>(),
            proptest::sample::select(vec!["%", "%2", "%zz", "%C3", "%FF", "%C3%28", "%ED%A0%80", "%00", "+%", "&&", "=", "&=&"]),
        )
            .prop_map(|(at, e)| FormMutation::BadEscape(at, e)),
        1 => any::<Index>().prop_map(FormMutation::Truncate),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(at, b)| FormMutation::SetByte(at, b)),
    ]
}

/// The form of `pairs`, then `mutation`.
pub fn form_body(pairs: &[(String, String)], mutation: &FormMutation) -> Vec<u8> {
    let mut pairs = pairs.to_vec();
    let encode = |pairs: &[(String, String)]| {
        serde_urlencoded::to_string(pairs)
            .unwrap_or_default()
            .into_bytes()
    };
    let pick = |at: &Index, len: usize| (len > 0).then(|| at.index(len));
    match mutation {
        FormMutation::None => encode(&pairs),
        FormMutation::Drop(at) => {
            if let Some(n) = pick(at, pairs.len()) {
                pairs.remove(n);
            }
            encode(&pairs)
        }
        FormMutation::Duplicate(at) => {
            if let Some(n) = pick(at, pairs.len()) {
                pairs.push(pairs[n].clone());
            }
            encode(&pairs)
        }
        FormMutation::SetValue(at, value) => {
            if let Some(n) = pick(at, pairs.len()) {
                pairs[n].1.clone_from(value);
            }
            encode(&pairs)
        }
        FormMutation::SetJson(at, value) => {
            if let Some(n) = pick(at, pairs.len()) {
                pairs[n].1 = value.to_string();
            }
            encode(&pairs)
        }
        FormMutation::BadEscape(at, escape) => insert(encode(&pairs), at, escape.as_bytes()),
        FormMutation::Truncate(at) => truncate(encode(&pairs), at),
        FormMutation::SetByte(at, b) => set_byte(encode(&pairs), at, *b),
    }
}

/// The causes under `error`, outermost first: the chain a log shows.
pub fn chain(error: &dyn std::error::Error) -> Vec<String> {
    let mut out = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(e) = cause {
        out.push(e.to_string());
        cause = e.source();
    }
    out
}
