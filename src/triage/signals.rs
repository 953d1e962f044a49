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
    /// A `cus_…` id with non-Latin letters that look like Latin ones.
    LookalikeId,
    Email,
}

/// Every [`Signal`] in what the customer wrote now, each once, sorted.
pub fn read_signals(message: &str) -> Vec<Signal> {
    read_prepared(&text::prepare(message))
}

/// [`read_signals`] for a message already prepared. When the customer's
/// own words carry no signal and they forward mail ("see below", "can you
/// help with this?"), the self-serve asks of the forward are theirs: a
/// colleague's request for an invoice or a card change is passed on. Nothing
/// else of a forward is read (a refund, an outage or an instruction in it
/// never decides the case).
pub fn read_prepared(prepared: &text::Prepared) -> Vec<Signal> {
    let signals = lang::read(&prepared.folded);
    if !signals.is_empty() || prepared.forwarded.is_empty() {
        return signals;
    }
    lang::read(&text::fold(&prepared.forwarded))
        .into_iter()
        .filter(|s| PASSED_ON.contains(s))
        .collect()
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
    let tokens = current.split(|c: char| {
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
    });
    for token in tokens {
        let token = token.trim_matches(|c: char| !c.is_alphanumeric());
        let found = if token.contains('@') {
            let (local, domain) = token.split_once('@').unwrap_or_default();
            (!local.is_empty() && domain.contains('.')).then(|| NamedAccount {
                text: token.to_lowercase(),
                kind: NamedKind::Email,
            })
        } else if !token
            .chars()
            .take(4)
            .map(|c| latin_lookalike(c).to_ascii_lowercase())
            .eq("cus_".chars())
        {
            // Not `cus_` (or its lookalike): no id, and nothing allocated.
            None
        } else {
            let id: String = token
                .chars()
                // Only Latin letters (or their lookalikes) make an id, so
                // "cus_DX02那个" ends at the Chinese text.
                .take_while(|&c| latin_lookalike(c).is_ascii_alphanumeric() || c == '_')
                .collect();
            let skeleton: String = id.chars().map(latin_lookalike).collect();
            let is_id = skeleton.to_ascii_lowercase().starts_with("cus_") && skeleton.len() > 4;
            is_id.then(|| NamedAccount {
                kind: if id.is_ascii() {
                    NamedKind::CustomerId
                } else {
                    NamedKind::LookalikeId
                },
                text: id,
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
    let asks_money =
        signals.contains(&Signal::WantsRefund) || signals.contains(&Signal::AsksHowToCancel);
    named
        .iter()
        .filter(|account| match account.kind {
            NamedKind::LookalikeId => true,
            NamedKind::CustomerId => !snapshot
                .customers
                .iter()
                .any(|c| c.id.as_str() == account.text),
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
