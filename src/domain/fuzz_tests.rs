//! Property tests of the `/billing` grammar (`query.rs`) and the
//! identifiers it reads: any text is answered (a command or a usage reply
//! that says what was wrong), and every command, rendered as an operator
//! would type it, parses back to itself.

use super::query::{BillingCommand, CommandError, LookupQuery, QueryError, ReportRequest, USAGE};
use super::{CaseId, Email};
use crate::testing::fuzz;
use proptest::prelude::*;

/// A Stripe id of a kind the grammar looks up.
fn stripe_id() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(vec!["cus_", "sub_", "in_", "ch_", "pi_", "cs_", "cs_test_"]),
        "[A-Za-z0-9_]{1,40}",
    )
        .prop_map(|(prefix, rest)| format!("{prefix}{rest}"))
}

/// An address as customers have them, including local parts that begin
/// like a Stripe id (`in_house@…`, `ch_ops@…`).
fn email() -> impl Strategy<Value = String> {
    (
        proptest::option::of(proptest::sample::select(vec![
            "cus_", "sub_", "in_", "ch_", "pi_", "cs_", "re_",
        ])),
        "[a-z0-9][a-z0-9._+-]{0,20}",
        "[a-z0-9-]{1,12}",
        proptest::sample::select(vec!["com", "de", "co.uk", "example", "xn--p1ai"]),
    )
        .prop_map(|(prefix, local, host, tld)| {
            format!("{}{local}@{host}.{tld}", prefix.unwrap_or_default())
        })
}

fn query() -> impl Strategy<Value = LookupQuery> {
    prop_oneof![stripe_id(), email()].prop_filter_map("an identifier", |text| {
        LookupQuery::parse(&text)
            .ok()
            .or_else(|| Email::parse(&text).ok().map(LookupQuery::Email))
    })
}

/// What an operator types after the identifier: no leading or trailing
/// blanks (the grammar trims them), anything inside.
fn said() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(fuzz::nasty_text(60))
        .prop_map(|s| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
}

fn command() -> impl Strategy<Value = BillingCommand> {
    prop_oneof![
        (query(), said()).prop_map(|(query, message)| BillingCommand::Lookup { query, message }),
        any::<u64>().prop_map(|bits| BillingCommand::Audit(CaseId::from_random(bits))),
        (1u32..=365).prop_map(|days| BillingCommand::Report(ReportRequest::Churn { days })),
        (1u32..=365).prop_map(|days| BillingCommand::Report(ReportRequest::Gaps { days })),
        Just(BillingCommand::Report(ReportRequest::Plans)),
        Just(BillingCommand::Help),
    ]
}

/// How an operator types `command`, in `style` (case, spacing, `d` or not).
fn render(command: &BillingCommand, style: u8) -> String {
    let verb = |v: &str| match style % 3 {
        0 => v.to_owned(),
        1 => v.to_ascii_uppercase(),
        _ => format!("  {v}"),
    };
    let gap = if style % 2 == 0 { " " } else { " \t " };
    let days = |d: u32| {
        if style % 4 < 2 {
            format!("{d}d")
        } else {
            d.to_string()
        }
    };
    match command {
        BillingCommand::Lookup { query, message } => match message {
            Some(said) => format!("{}{gap}{query}{gap}{said}", verb("lookup")),
            None => format!("{}{gap}{query}", verb("lookup")),
        },
        BillingCommand::Audit(case) => format!("{}{gap}{case}", verb("audit")),
        BillingCommand::Report(ReportRequest::Plans) => verb("plans"),
        BillingCommand::Report(ReportRequest::Churn { days: d }) => {
            format!("{}{gap}{}", verb("churn"), days(*d))
        }
        BillingCommand::Report(ReportRequest::Gaps { days: d }) => {
            format!("{}{gap}{}", verb("gaps"), days(*d))
        }
        BillingCommand::Help => verb("help"),
    }
}

proptest! {
    #![proptest_config(fuzz::config(512))]

    /// Any text gets an answer; a refusal says what was wrong and ends with
    /// the usage, and keeps the identifier's own error as its cause.
    #[test]
    fn fuzz_any_text_is_a_command_or_a_usage_reply(
        text in prop_oneof![
            fuzz::nasty_text(80),
            (proptest::sample::select(vec!["lookup", "LOOK", "find", "audit", "churn", "gaps", "plans", "help", "?", "refund"]),
             fuzz::nasty_text(40))
                .prop_map(|(verb, rest)| format!("{verb} {rest}")),
        ],
    ) {
        if let Err(e) = BillingCommand::parse(&text) {
            let shown = fuzz::chain(&e);
            prop_assert!(shown[0].ends_with(USAGE), "{shown:?}");
            match &e {
                CommandError::Query(QueryError::BadId(_) | QueryError::BadEmail(_)) => {
                    prop_assert_eq!(shown.len(), 3, "the identifier's error is kept: {:?}", shown);
                    prop_assert!(shown[0].starts_with(shown[2].as_str()), "{shown:?}");
                }
                CommandError::Query(_) => prop_assert_eq!(shown.len(), 2),
                _ => prop_assert_eq!(shown.len(), 1),
            }
        }
    }

    /// A command, rendered as an operator types it, parses back to itself.
    #[test]
    fn fuzz_a_rendered_command_parses_back(command in command(), style in any::<u8>()) {
        let typed = render(&command, style);
        prop_assert_eq!(BillingCommand::parse(&typed), Ok(command), "{}", typed);
    }

    /// Every identifier round-trips through its text, and is found again in
    /// a message that names it.
    #[test]
    fn fuzz_an_identifier_reads_back_and_is_found_in_a_message(
        query in query(),
        before in fuzz::nasty_text(30),
        after in fuzz::nasty_text(30),
    ) {
        prop_assert_eq!(LookupQuery::parse(&query.to_string()), Ok(query.clone()));
        let message = format!("{before} {query} {after}");
        let found = LookupQuery::all_in(&message);
        prop_assert!(found.contains(&query), "{message:?}: {found:?}");
    }
}

/// Found by `fuzz_a_rendered_command_parses_back`: an address whose local
/// part begins like a Stripe id (`in_house@acme.com`, `ch_ops@…`) was read
/// as a malformed invoice or charge id, so the customer could not be looked
/// up by email at all. An `@` makes it an email: no Stripe id holds one.
#[test]
fn an_email_that_begins_like_a_stripe_id_is_an_email() {
    for text in ["in_house@acme.com", "ch_ops@example.de", "cus_team@a.io"] {
        assert_eq!(
            LookupQuery::parse(text).map(|q| q.kind()),
            Ok("email"),
            "{text}"
        );
        assert!(matches!(
            BillingCommand::parse(&format!("lookup {text}")),
            Ok(BillingCommand::Lookup {
                query: LookupQuery::Email(_),
                ..
            })
        ));
    }
    assert!(
        matches!(LookupQuery::parse("cus_@"), Err(QueryError::BadEmail(_))),
        "still refused, as an address"
    );
}
