//! Property tests of reading a customer's message (issue 17, "fuzzed
//! edges"): [`text::prepare`] and its steps, and the whole reading
//! ([`crate::assess::assess`]), on any Unicode and on message-shaped text
//! (phrases, Slack markup, quotes, forwards, card numbers). Never a panic;
//! no card number or secret in any prepared form; no line lost between
//! what the customer wrote now and what is quoted. The adversarial shapes
//! that once took quadratic time are kept as tests of their results (their
//! speed is printed by `cargo bench --bench triage`).

use super::text::{fold, nfkc, prepare, resolve_slack, split, Prepared};
use crate::assess::{assess, Intake};
use crate::audit::secret_spans;
use crate::domain::{Actor, CaseId, LookupQuery};
use crate::followup::FollowUpSettings;
use crate::testing::fuzz;
use proptest::prelude::*;

/// Pieces customers' messages are made of, the hostile ones included.
fn pieces() -> Vec<&'static str> {
    vec![
        "I was charged twice",
        "please refund",
        "cancel my subscription",
        "not",
        "don't",
        "never",
        "wrote:",
        "On Tue, Jun 10, 2025 at 3:14 PM Support <support@example.com> wrote:",
        "---------- Forwarded message ---------",
        "From: Dee <dee@example.com>",
        "From: Acme",
        "Sent: Tuesday",
        "Subject: sync",
        "-----",
        "--",
        "Best regards",
        "Thanks,",
        ">",
        ">>>>",
        "<@U04QX8M2P>",
        "<@U1|ana>",
        "<!channel>",
        "<!subteam^S1|@team>",
        "<#C123|billing>",
        "<mailto:ana@example.com|ana@example.com>",
        "<https://x.example/y|the page>",
        "<",
        ">",
        "&lt;",
        "&gt;",
        "&amp;",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "４２４２ ４２４２ ４２４２ ４２４２",
        "4242",
        "cvc 737",
        "CVV: 321",
        "sk_live_51Habc",
        "xoxb-123-456-abc",
        "sk_",
        "test_abc",
        "cus_A1",
        "cus_НМ01",
        "ana@example.com",
        "不要取消",
        "退款",
        "解約しない",
        "환불해 주세요",
        "Kündigung",
        "résilié",
        "ＲＥＦＵＮＤ",
        "e\u{301}",
        "\u{301}\u{302}\u{303}",
        "😀",
        "\u{202e}",
    ]
}

fn message() -> impl Strategy<Value = String> {
    prop_oneof![fuzz::nasty_text(300), fuzz::message_of(pieces(), 40),]
}

fn no_secret(name: &str, text: &str) -> Result<(), TestCaseError> {
    let spans = secret_spans(text);
    prop_assert!(
        spans.is_empty(),
        "{name} holds {:?}: {text:?}",
        spans.iter().map(|s| &text[s.clone()]).collect::<Vec<_>>()
    );
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn fuzz_prepare_keeps_no_secret_and_loses_no_line(message in message()) {
        let prepared = prepare(&message);
        no_secret("redacted", &prepared.redacted)?;
        no_secret("current", &prepared.current)?;
        no_secret("folded", &prepared.folded)?;
        no_secret("quoted", &prepared.quoted)?;
        // Folded is the current text folded, whatever it holds.
        prop_assert_eq!(prepared.folded.lines().count(), fold(&prepared.current).lines().count());
        let joined = Prepared::join([&prepared, &prepared]).map(|j| j.folded);
        prop_assert!(joined.is_some_and(|j| j.len() <= 2 * prepared.folded.len() + 2));
    }

    /// The ASCII shortcut of [`nfkc`] changes nothing: it is the
    /// normaliser's own answer, combining marks after ASCII included.
    #[test]
    fn fuzz_nfkc_is_the_normalisers(message in message()) {
        use unicode_normalization::UnicodeNormalization;
        prop_assert_eq!(nfkc(&message), message.nfkc().collect::<String>());
    }

    #[test]
    fn fuzz_split_puts_every_line_somewhere(message in message()) {
        let (now, quoted) = split(&message);
        prop_assert_eq!(now.lines().count() + quoted.lines().count(), message.lines().count());
    }

    #[test]
    fn fuzz_text_without_markup_is_kept_as_is(message in message()) {
        let resolved = resolve_slack(&message);
        if !message.contains(['<', '&']) {
            prop_assert_eq!(resolved, message);
        } else if !message.contains('&') {
            // Markup only ever replaces a `<…>` run on one line.
            prop_assert_eq!(resolved.lines().count(), message.lines().count());
        }
    }

    /// The whole reading of a case: any message, and messages added later,
    /// give a case; what is kept of them holds no card number or secret.
    #[test]
    fn fuzz_any_message_is_assessed(message in message(), added in proptest::option::of(message())) {
        let snapshot = crate::testing::duplicate_snapshot("en");
        let added: Vec<crate::domain::OperatorNote> = added
            .into_iter()
            .map(|text| crate::domain::OperatorNote { by: Actor::System, text, at: 0 })
            .collect();
        let case = assess(
            Intake {
                id: CaseId::from_random(7),
                requested_by: Actor::System,
                message: Some(&message),
                added: &added,
                now: crate::testing::NOW,
            },
            snapshot,
            &FollowUpSettings { portal_login_url: None },
        );
        if let Some(kept) = &case.message {
            no_secret("the case's message", kept)?;
        }
        for warning in &case.warnings {
            no_secret("a warning", warning)?;
        }
        let _ = LookupQuery::all_in(&message);
    }
}

/// Found by `fuzz_prepare_keeps_no_secret_and_loses_no_line`: a card
/// number typed with full-width digits (a Japanese or Chinese input
/// method) was kept as typed, and became ASCII digits in what is matched;
/// markup resolved after redaction joined the groups of another.
#[test]
fn card_numbers_in_full_width_or_split_by_markup_are_redacted() {
    for message in [
        "カード番号は ４２４２ ４２４２ ４２４２ ４２４２ です",
        "card 4242 4242 4242 <!here|>4242 please",
        "⑩⑩⑩⑩⑩⑩⑩ is my number",
        "key sk_<!x|>test_4eC39HqLyjWDarjtT1zdp7dc",
    ] {
        let prepared = prepare(message);
        for (name, text) in [
            ("redacted", &prepared.redacted),
            ("current", &prepared.current),
            ("folded", &prepared.folded),
        ] {
            assert!(secret_spans(text).is_empty(), "{message}: {name} {text:?}");
        }
    }
    assert!(prepare("カード ４２４２ ４２４２ ４２４２ ４２４２")
        .redacted
        .contains("[redacted]"));
}

/// A message of 256 KiB in each shape that once took quadratic time (or
/// worse) to prepare and read, read to the end with the right result.
/// Their speed at 64 KiB to 1 MiB is printed by `cargo bench --bench
/// triage`; here the results are held.
#[test]
fn adversarial_shapes_are_read_whole() {
    const SIZE: usize = 256 * 1024;
    let fill = |unit: &str| unit.repeat(SIZE / unit.len());
    // `<` after `<` with no `>`: each one looked for its `>` to the end.
    let opens = fill("<");
    assert_eq!(resolve_slack(&opens), opens);
    let opens_then_markup = format!("{}<@U1>", fill("<a "));
    assert!(resolve_slack(&opens_then_markup).ends_with("<a @user"));
    // One secret token of a million markers: each marker walked the token.
    let markers = fill("xoxb-");
    assert_eq!(secret_spans(&markers), vec![0..markers.len()]);
    // Every id different: each was compared with all those before it.
    let ids: String = (0..SIZE / 12).map(|n| format!("cus_{n:06} ")).collect();
    assert_eq!(LookupQuery::all_in(&ids).len(), SIZE / 12);
    assert_eq!(super::named_accounts(&ids).len(), SIZE / 12);
    // Phrases under cues: each phrase was judged against every cue.
    assert_eq!(
        super::read_signals(&fill("not refund ")),
        vec![crate::domain::Signal::DeclinesRefund]
    );
}
