//! What an operator can look a customer up by, in the playbook's order of
//! trust (docs/PLAYBOOK.md §1), and the `/billing …` command grammar.
//!
//! # Format
//!
//! ```text
//! /billing lookup <email | cus_… | sub_… | in_… | ch_… | pi_… | cs_…> [customer message…]
//! /billing audit <case id>
//! /billing churn [7d | 30d | 90d]      (any 1d to 365d)
//! /billing plans
//! /billing gaps [30d]
//! /billing help
//! ```
//!
//! Parsing is pure; a parse error's `Display` is the ephemeral reply.

use super::{
    CaseId, ChargeId, CheckoutSessionId, CustomerId, Email, InvoiceId, PaymentIntentId,
    SubscriptionId,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One identifier, already checked. Variants are ordered by trust.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum LookupQuery {
    Customer(CustomerId),
    Subscription(SubscriptionId),
    Invoice(InvoiceId),
    Charge(ChargeId),
    PaymentIntent(PaymentIntentId),
    CheckoutSession(CheckoutSessionId),
    /// Can match several customers: all of them are shown.
    Email(Email),
}

/// Why a lookup text is not usable; `Display` is what the operator reads.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("Nothing to look up: give an email or a Stripe id (cus_, sub_, in_, ch_, pi_, cs_)")]
    Empty,
    #[error("`{0}` looks like a name or free text, which is too weak to find a customer: give their email or a Stripe id (cus_, sub_, in_, ch_, pi_, cs_)")]
    FreeText(String),
    #[error("{0}")]
    BadId(#[from] super::IdError),
    #[error("{0}")]
    BadEmail(#[from] super::EmailError),
}

impl LookupQuery {
    /// Parses one identifier. Anything with an `@` is an email; Stripe ids
    /// are recognised by prefix; the rest is free text and refused, because the
    /// playbook says to ask for a better identifier rather than guess.
    ///
    /// # Errors
    /// See [`QueryError`].
    pub fn parse(raw: &str) -> Result<Self, QueryError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(QueryError::Empty);
        }
        if text.split_whitespace().count() > 1 {
            return Err(QueryError::FreeText(text.chars().take(60).collect()));
        }
        // No Stripe id holds an `@`: `in_house@acme.com` is an address.
        if text.contains('@') {
            return Ok(Self::Email(Email::parse(text)?));
        }
        let q = match text.split_once('_').map(|(p, _)| p) {
            Some("cus") => Self::Customer(CustomerId::parse(text)?),
            Some("sub") => Self::Subscription(SubscriptionId::parse(text)?),
            Some("in") => Self::Invoice(InvoiceId::parse(text)?),
            Some("ch") => Self::Charge(ChargeId::parse(text)?),
            Some("pi") => Self::PaymentIntent(PaymentIntentId::parse(text)?),
            Some("cs") => Self::CheckoutSession(CheckoutSessionId::parse(text)?),
            _ => return Err(QueryError::FreeText(text.chars().take(60).collect())),
        };
        Ok(q)
    }

    /// Finds the most trusted identifier in free text such as a customer's
    /// message (for the "Triage billing case" shortcut): Stripe ids by prefix
    /// first, in the playbook's order, then an email. `None` when the text
    /// holds neither.
    pub fn find_in(text: &str) -> Option<Self> {
        Self::all_in(text).into_iter().next()
    }

    /// Every identifier in free text, each once, most trusted first
    /// (docs/PLAYBOOK.md §1: a `cus_` id, then another Stripe id, then an email);
    /// among equally trusted ones, in the order written.
    pub fn all_in(text: &str) -> Vec<Self> {
        let tokens = text
            .split(|c: char| {
                c.is_whitespace()
                    || matches!(
                        c,
                        ',' | ';' | '(' | ')' | '"' | '\'' | '[' | ']' | '<' | '>' | '|'
                    )
            })
            .map(|t| t.strip_prefix("mailto:").unwrap_or(t))
            .map(|t| t.trim_matches(|c: char| matches!(c, '.' | ':' | '!' | '?')))
            // Only a Stripe id (`_`) or an address (`@`) is an identifier:
            // other words are not parsed (their refusal would be built).
            .filter(|t| t.contains(['_', '@']));
        let mut found: Vec<Self> = Vec::new();
        // A set, so that a message of many identifiers is not compared pairwise.
        let mut seen = std::collections::HashSet::new();
        for query in tokens.filter_map(|t| Self::parse(t).ok()) {
            if seen.insert(query.clone()) {
                found.push(query);
            }
        }
        // A stable sort: equal ranks keep the order they were written in.
        found.sort_by_key(Self::trust_rank);
        found
    }

    /// 0 is the most trusted (docs/PLAYBOOK.md §1).
    fn trust_rank(&self) -> u8 {
        match self {
            Self::Customer(_) => 0,
            Self::Subscription(_)
            | Self::Invoice(_)
            | Self::Charge(_)
            | Self::PaymentIntent(_)
            | Self::CheckoutSession(_) => 1,
            Self::Email(_) => 2,
        }
    }

    /// Which kind of identifier this is, as the card names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Customer(_) => "customer id",
            Self::Subscription(_) => "subscription id",
            Self::Invoice(_) => "invoice id",
            Self::Charge(_) => "charge id",
            Self::PaymentIntent(_) => "payment intent id",
            Self::CheckoutSession(_) => "checkout session id",
            Self::Email(_) => "email",
        }
    }

    /// Exact identifiers lead to one customer; an email may lead to several.
    pub fn is_exact(&self) -> bool {
        !matches!(self, Self::Email(_))
    }
}

impl fmt::Display for LookupQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Customer(id) => id.fmt(f),
            Self::Subscription(id) => id.fmt(f),
            Self::Invoice(id) => id.fmt(f),
            Self::Charge(id) => id.fmt(f),
            Self::PaymentIntent(id) => id.fmt(f),
            Self::CheckoutSession(id) => id.fmt(f),
            Self::Email(email) => email.fmt(f),
        }
    }
}

/// A parsed `/billing` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingCommand {
    /// `lookup <identifier> [what the customer said…]`: the text after the
    /// identifier, as typed, is the customer's message for the triage.
    Lookup {
        query: LookupQuery,
        message: Option<String>,
    },
    Audit(CaseId),
    /// An account-wide report (`plans`, `churn [Nd]`, `gaps [Nd]`).
    Report(ReportRequest),
    Help,
}

/// Which report, over how many days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportRequest {
    Plans,
    Churn { days: u32 },
    Gaps { days: u32 },
}

/// Why a `/billing` text is not a command; `Display` is the usage reply.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandError {
    #[error("{0}\n{USAGE}")]
    Query(#[from] QueryError),
    #[error("`{0}` is not a case id (they look like case_1a2b3c4d5e6f)\n{USAGE}")]
    CaseId(String),
    #[error("`{0}` is not a period: give days such as 7d, 30d or 90d\n{USAGE}")]
    Days(String),
    #[error("I don't know `{0}`.\n{USAGE}")]
    Unknown(String),
    #[error("{USAGE}")]
    Empty,
}

/// The usage text every refusal ends with.
pub const USAGE: &str = "Usage:\n\
• `/billing lookup <email | cus_… | sub_… | in_… | ch_… | pi_…> [what the customer said…]`: find the customer and triage the case, reading the customer's words when given (*Add context* on a card adds them later)\n\
• `/billing audit <case id>`: show a case's audit trail\n\
• `/billing churn [7d | 30d | 90d]`: who churned and who is about to, recoverable first\n\
• `/billing plans`: plan mix, seats and MRR per plan\n\
• `/billing gaps [30d]`: product gaps counted over the period's cases\n\
• `/billing help`: this text";

impl BillingCommand {
    /// # Errors
    /// See [`CommandError`]; never panics on any text.
    pub fn parse(text: &str) -> Result<Self, CommandError> {
        let text = text.trim();
        let (verb, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        match verb.to_ascii_lowercase().as_str() {
            "" => Err(CommandError::Empty),
            "help" | "?" => Ok(Self::Help),
            "lookup" | "look" | "find" => lookup(rest),
            "audit" => CaseId::parse(rest.trim())
                .map(Self::Audit)
                .map_err(|_| CommandError::CaseId(rest.trim().chars().take(40).collect())),
            "plans" => Ok(Self::Report(ReportRequest::Plans)),
            "churn" => Ok(Self::Report(ReportRequest::Churn { days: days(rest)? })),
            "gaps" => Ok(Self::Report(ReportRequest::Gaps { days: days(rest)? })),
            other => Err(CommandError::Unknown(other.chars().take(40).collect())),
        }
    }
}

/// `<identifier> [message…]`. Free text without an identifier first is
/// refused as a whole, as the playbook asks for a better identifier.
fn lookup(rest: &str) -> Result<BillingCommand, CommandError> {
    let rest = rest.trim();
    let (first, said) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let query = LookupQuery::parse(first).map_err(|e| match e {
        QueryError::FreeText(_) => QueryError::FreeText(rest.chars().take(60).collect()),
        other => other,
    })?;
    let said = said.trim();
    Ok(BillingCommand::Lookup {
        query,
        message: (!said.is_empty()).then(|| said.to_owned()),
    })
}

/// A period: `30d` or `30` (1 to 365 days); empty is the default 30.
fn days(text: &str) -> Result<u32, CommandError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(DEFAULT_REPORT_DAYS);
    }
    text.strip_suffix(['d', 'D'])
        .unwrap_or(text)
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=365).contains(d))
        .ok_or_else(|| CommandError::Days(text.chars().take(20).collect()))
}

/// The reports' default period, in days.
pub const DEFAULT_REPORT_DAYS: u32 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_identifier_in_a_message_most_trusted_first() {
        let found = LookupQuery::all_in(
            "Both bob@example.com and ana@example.com pay twice: see ch_B2, cus_A1 and ch_B2 again",
        );
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["cus_A1", "ch_B2", "bob@example.com", "ana@example.com"]
        );
        assert_eq!(
            LookupQuery::find_in("ana@example.com, cus_A1").map(|q| q.to_string()),
            Some("cus_A1".to_owned())
        );
        assert!(LookupQuery::all_in("no identifier here").is_empty());
    }

    #[test]
    fn recognises_every_identifier_kind() {
        let cases = [
            ("cus_A1", "customer id"),
            ("sub_A1", "subscription id"),
            ("in_A1", "invoice id"),
            ("ch_A1", "charge id"),
            ("pi_A1", "payment intent id"),
            ("cs_test_A1", "checkout session id"),
            ("ana@example.com", "email"),
        ];
        for (text, kind) in cases {
            assert_eq!(
                LookupQuery::parse(text).map(|q| q.kind()),
                Ok(kind),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_free_text_and_empty() {
        assert!(matches!(
            LookupQuery::parse("Ana from Acme"),
            Err(QueryError::FreeText(_))
        ));
        assert!(matches!(
            LookupQuery::parse("acme"),
            Err(QueryError::FreeText(_))
        ));
        assert_eq!(LookupQuery::parse("  "), Err(QueryError::Empty));
        assert!(matches!(
            LookupQuery::parse("cus_"),
            Err(QueryError::BadId(_))
        ));
    }

    #[test]
    fn finds_the_most_trusted_identifier_in_a_message() {
        let q = LookupQuery::find_in("Hi, I'm ana@example.com and I was charged twice (sub_9Xb2)!");
        assert_eq!(q.map(|q| q.kind()), Some("subscription id"));
        let q = LookupQuery::find_in("my email: <mailto:ana@example.com|ana@example.com>. thanks");
        assert_eq!(q.map(|q| q.to_string()), Some("ana@example.com".to_owned()));
        assert_eq!(LookupQuery::find_in("please cancel my plan"), None);
        assert_eq!(
            LookupQuery::find_in("我被扣了两次款 cus_Q1"),
            LookupQuery::parse("cus_Q1").ok()
        );
    }

    #[test]
    fn command_grammar() {
        assert_eq!(BillingCommand::parse("help"), Ok(BillingCommand::Help));
        assert!(matches!(
            BillingCommand::parse("lookup ana@example.com"),
            Ok(BillingCommand::Lookup { message: None, .. })
        ));
        assert!(matches!(
            BillingCommand::parse("LOOKUP   cus_1 "),
            Ok(BillingCommand::Lookup { message: None, .. })
        ));
        assert_eq!(
            BillingCommand::parse("lookup cus_1  Down nine days,\nI want my money back "),
            Ok(BillingCommand::Lookup {
                query: LookupQuery::parse("cus_1").expect("id"),
                message: Some("Down nine days,\nI want my money back".to_owned()),
            })
        );
        assert_eq!(
            BillingCommand::parse("lookup Ana from Acme"),
            Err(CommandError::Query(QueryError::FreeText(
                "Ana from Acme".to_owned()
            )))
        );
        assert!(matches!(
            BillingCommand::parse("audit case_0123456789ab"),
            Ok(BillingCommand::Audit(_))
        ));
        assert!(matches!(
            BillingCommand::parse("audit nope"),
            Err(CommandError::CaseId(_))
        ));
        assert!(matches!(
            BillingCommand::parse("refund everything"),
            Err(CommandError::Unknown(_))
        ));
        assert_eq!(
            BillingCommand::parse("churn 7d"),
            Ok(BillingCommand::Report(ReportRequest::Churn { days: 7 }))
        );
        assert_eq!(
            BillingCommand::parse("gaps"),
            Ok(BillingCommand::Report(ReportRequest::Gaps { days: 30 }))
        );
        assert_eq!(
            BillingCommand::parse("plans"),
            Ok(BillingCommand::Report(ReportRequest::Plans))
        );
        assert!(matches!(
            BillingCommand::parse("churn forever"),
            Err(CommandError::Days(_))
        ));
        assert_eq!(BillingCommand::parse(""), Err(CommandError::Empty));
        assert!(BillingCommand::parse("lookup").is_err());
        assert!(BillingCommand::parse("\u{0}\u{ffff} 💥").is_err());
    }
}
