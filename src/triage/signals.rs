//! Message signals: the customer's own words turned into [`Signal`]s
//! (docs/PLAYBOOK.md §2, "typical signals in … message"), and the accounts the
//! message names. The text is prepared by `triage::text` (redacted, quotes
//! and signatures split off, folded) and matched by `triage::lang` (one
//! phrase table per language). What a signal *means* for the case is left
//! to `triage::classify`, which weighs it against the billing state.

use super::{lang, text};
use crate::domain::{BillingSnapshot, Signal};

/// A customer id or email written in the message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedAccount {
    /// As written (NFKC), e.g. `cus_HМ01` or `dana.k@example.com`.
    pub text: String,
    pub kind: NamedKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamedKind {
    CustomerId,
    /// A `sub_…` id: another customer's when this one has no such
    /// subscription.
    SubscriptionId,
    /// A `cus_…` or `sub_…` id with non-Latin letters that look like Latin
    /// ones.
    LookalikeId,
    Email,
}

/// Every [`Signal`] in what the customer wrote now, each once, sorted.
pub fn read_signals(message: &str) -> Vec<Signal> {
    read_prepared(&text::prepare(message))
}

/// The words of the message a signal was read from, as the card quotes
/// them: whole words, one line, at most [`QUOTE_CHARS`] characters, with no
/// card number or secret (the text was redacted before it was read, and the
/// quote is checked again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub signal: Signal,
    pub words: String,
}

/// The longest quote, in characters (an ellipsis marks a cut).
pub const QUOTE_CHARS: usize = 60;

/// [`read_prepared`], with a [`Quote`] for each signal read from the
/// customer's words (a signal whose words cannot be placed has none): what
/// the card's evidence cites, so a reviewer sees why in any language.
pub fn read_quoted(prepared: &text::Prepared) -> (Vec<Signal>, Vec<Quote>) {
    let (mut signals, located) = lang::read_located(&prepared.current, &prepared.folded);
    let mut quoted = quotes(&prepared.current, &located);
    // A note or order to the bot counts wherever it stands: hidden in a
    // quoted reply or a forward, it is still words that ask someone to act
    // without review (rule 2). Only those phrases are read there: a
    // colleague's "approved by finance" in a forward is not an order to us.
    if !signals.contains(&Signal::InstructsTheBot) && !prepared.quoted.is_empty() {
        let (read, found) = lang::read_located(&prepared.quoted, &text::fold(&prepared.quoted));
        if read.contains(&Signal::InstructsTheBot) {
            let found: Vec<lang::Located> = found
                .into_iter()
                .filter(|l| l.signal == Signal::InstructsTheBot)
                .collect();
            quoted.extend(quotes(&prepared.quoted, &found));
            signals.push(Signal::InstructsTheBot);
        }
    }
    if signals.contains(&Signal::InstructsTheBot) {
        signals.retain(|s| *s != Signal::InstructsTheBot);
        if !signals.contains(&Signal::AddressesApprovers) {
            signals.push(Signal::AddressesApprovers);
        }
        for quote in &mut quoted {
            if quote.signal == Signal::InstructsTheBot {
                quote.signal = Signal::AddressesApprovers;
            }
        }
        signals.sort_unstable();
        return (signals, quoted);
    }
    if !signals.is_empty() {
        // "I cancelled" above a forwarded or quoted bank alert of a charge
        // says they were charged after cancelling.
        // (Only when that is all they say: "I cancelled, but my bookkeeper
        // needs the invoice" above the same forward asks for a document.)
        if signals.iter().all(|s| *s == Signal::SaysCancelled)
            && lang::names_a_charge(&text::fold(&prepared.quoted))
        {
            signals.push(Signal::ChargedAfterCancelling);
            signals.sort_unstable();
        }
        return (signals, quoted);
    }
    // The customer's own words ask nothing: what they pass on may (the
    // forward's body first, then what they quote).
    for passed in [&prepared.forwarded, &prepared.quoted] {
        if passed.is_empty() {
            continue;
        }
        let (read, located) = lang::read_located(passed, &text::fold(passed));
        let signals: Vec<Signal> = read.into_iter().filter(|s| PASSED_ON.contains(s)).collect();
        if signals.is_empty() {
            continue;
        }
        let located: Vec<lang::Located> = located
            .into_iter()
            .filter(|l| signals.contains(&l.signal))
            .collect();
        return (signals, quotes(passed, &located));
    }
    (Vec::new(), Vec::new())
}

fn quotes(source: &str, located: &[lang::Located]) -> Vec<Quote> {
    located
        .iter()
        .filter_map(|l| {
            Some(Quote {
                signal: l.signal,
                words: quote(source, l.range.clone())?,
            })
        })
        .collect()
}

/// The words of `source` around `range`: widened to whole words in scripts
/// written with spaces (a phrase is a prefix: "refund" quotes "refunded"),
/// on one line, cut to [`QUOTE_CHARS`], scrubbed again.
fn quote(source: &str, range: std::ops::Range<usize>) -> Option<String> {
    let in_word = |c: char| c.is_alphanumeric() && (c as u32) < 0x2e80;
    let matched = source.get(range.clone())?;
    let before = source.get(..range.start)?;
    let after = source.get(range.end..)?;
    let starts_in_word = matched.chars().next().is_some_and(in_word);
    let ends_in_word = matched.chars().next_back().is_some_and(in_word);
    let head: usize = if starts_in_word {
        before
            .chars()
            .rev()
            .take_while(|&c| in_word(c))
            .map(char::len_utf8)
            .sum()
    } else {
        0
    };
    let tail: usize = if ends_in_word {
        after
            .chars()
            .take_while(|&c| in_word(c))
            .map(char::len_utf8)
            .sum()
    } else {
        0
    };
    let words = source.get(range.start - head..range.end + tail)?;
    let flat = words.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = flat.chars().take(QUOTE_CHARS).collect();
    if flat.chars().count() > QUOTE_CHARS {
        cut.pop();
        cut.push('…');
    }
    let cut = if crate::audit::looks_secret(&cut) {
        crate::audit::scrub_text(&cut)
    } else {
        cut
    };
    (!cut.is_empty()).then_some(cut)
}

/// [`read_signals`] for a message already prepared. When the customer's
/// own words carry no signal and they forward or quote mail ("see below",
/// "can you help with this?", a colleague's `>`-quoted lines), the
/// self-serve asks of what they pass on are theirs: a colleague's request
/// for an invoice or a card change. Nothing else of it is read (a refund,
/// an outage or an instruction in it never decides the case).
pub fn read_prepared(prepared: &text::Prepared) -> Vec<Signal> {
    read_quoted(prepared).0
}

/// The asks a customer may pass on by forwarding them: self-serve only,
/// nothing that moves money or ends a subscription.
const PASSED_ON: [Signal; 4] = [
    Signal::AsksForInvoice,
    Signal::AsksToUpdateCard,
    Signal::AsksToChangePlan,
    Signal::AsksAboutAccount,
];

/// The `cus_…` ids and emails in `current` (what the customer wrote now).
pub fn named_accounts(current: &str) -> Vec<NamedAccount> {
    let mut named: Vec<NamedAccount> = Vec::new();
    // Each once, in the order written; a set, so that a message of a
    // hundred thousand different ids is not compared pairwise.
    let mut seen: std::collections::HashSet<NamedAccount> = std::collections::HashSet::new();
    // A forwarded mail's sender line names its sender (the bank's alerts
    // address), not a customer the message asks about.
    let tokens = current
        .lines()
        .filter(|line| !text::names_a_sender(line))
        .flat_map(|line| {
            line.split(|c: char| {
                c.is_whitespace()
                    || matches!(
                        c,
                        ',' | ';'
                            | '('
                            | ')'
                            | '['
                            | ']'
                            | '<'
                            | '>'
                            | '"'
                            | '\''
                            | '，'
                            | '、'
                            | '：'
                            | '。'
                            | '（'
                            | '）'
                    )
            })
        });
    for token in tokens {
        let token = token.trim_matches(|c: char| !c.is_alphanumeric());
        let found = if token.contains('@') {
            let (local, domain) = token.split_once('@').unwrap_or_default();
            (!local.is_empty() && domain.contains('.')).then(|| NamedAccount {
                text: token.to_lowercase(),
                kind: NamedKind::Email,
            })
        } else {
            let starts_with = |prefix: &str| {
                token
                    .chars()
                    .take(4)
                    .map(|c| latin_lookalike(c).to_ascii_lowercase())
                    .eq(prefix.chars())
            };
            // Not `cus_` or `sub_` (or a lookalike): no id, and nothing
            // allocated.
            let kind = if starts_with("cus_") {
                Some(NamedKind::CustomerId)
            } else if starts_with("sub_") {
                Some(NamedKind::SubscriptionId)
            } else {
                None
            };
            kind.and_then(|kind| {
                let id: String = token
                    .chars()
                    // Only Latin letters (or their lookalikes) make an id, so
                    // "cus_DX02那个" ends at the Chinese text.
                    .take_while(|&c| latin_lookalike(c).is_ascii_alphanumeric() || c == '_')
                    .collect();
                (id.chars().count() > 4).then(|| NamedAccount {
                    kind: if id.is_ascii() {
                        kind
                    } else {
                        NamedKind::LookalikeId
                    },
                    text: id,
                })
            })
        };
        if let Some(account) = found {
            if seen.insert(account.clone()) {
                named.push(account);
            }
        }
    }
    named
}

/// The named accounts that are not this case's customer (docs/PLAYBOOK.md §2:
/// requests about another customer's account are shown as such). A
/// lookalike id is always another; an exact id is when no customer in the
/// snapshot has it; an email is when no customer or seat holder in the
/// snapshot has it and the message asks to refund or cancel something
/// (an address for receipts is not a request about another account).
pub fn other_customers(
    named: &[NamedAccount],
    snapshot: &BillingSnapshot,
    signals: &[Signal],
) -> Vec<NamedAccount> {
    // A refund or cancellation asked beside an email, or a change asked for
    // someone else's account ("upgrade my wife's account too, her email is
    // …"): rule 3. A colleague's email beside an invoice request is not.
    let asks_money = signals.contains(&Signal::WantsRefund)
        || signals.contains(&Signal::AsksHowToCancel)
        || (signals.contains(&Signal::ForSomeoneElse)
            && (signals.contains(&Signal::AsksToChangePlan)
                || signals.contains(&Signal::AsksToUpdateCard)));
    named
        .iter()
        .filter(|account| match account.kind {
            NamedKind::LookalikeId => true,
            NamedKind::CustomerId => !snapshot
                .customers
                .iter()
                .any(|c| c.id.as_str() == account.text),
            NamedKind::SubscriptionId => !snapshot
                .subscriptions()
                .any(|s| s.id.as_str() == account.text),
            NamedKind::Email => {
                let known = snapshot.customers.iter().any(|c| {
                    c.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(&account.text))
                        || c.metadata
                            .values()
                            .any(|v| v.eq_ignore_ascii_case(&account.text))
                        || c.subscriptions.iter().any(|s| {
                            s.metadata
                                .values()
                                .any(|v| v.eq_ignore_ascii_case(&account.text))
                        })
                });
                asks_money && !known
            }
        })
        .cloned()
        .collect()
}

/// The Latin letter a Cyrillic or Greek lookalike stands for; others as is.
fn latin_lookalike(c: char) -> char {
    match c {
        'а' | 'α' => 'a',
        'А' | 'Α' => 'A',
        'В' | 'Β' => 'B',
        'в' => 'b',
        'с' | 'ϲ' => 'c',
        'С' | 'Ϲ' => 'C',
        'е' | 'ε' => 'e',
        'Е' | 'Ε' => 'E',
        'Н' | 'Η' => 'H',
        'і' | 'ι' => 'i',
        'І' | 'Ι' => 'I',
        'ј' => 'j',
        'Ј' => 'J',
        'к' | 'κ' => 'k',
        'К' | 'Κ' => 'K',
        'М' | 'Μ' => 'M',
        'м' => 'm',
        'Ν' => 'N',
        'о' | 'ο' => 'o',
        'О' | 'Ο' => 'O',
        'р' | 'ρ' => 'p',
        'Р' | 'Ρ' => 'P',
        'ѕ' => 's',
        'Ѕ' => 'S',
        'Т' | 'Τ' => 'T',
        'т' => 't',
        'у' => 'y',
        'У' | 'Υ' => 'Y',
        'х' | 'χ' => 'x',
        'Х' | 'Χ' => 'X',
        'Ζ' => 'Z',
        other => other,
    }
}
