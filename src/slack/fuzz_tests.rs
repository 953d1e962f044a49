//! Property tests of the Slack edge (issue 17, "fuzzed edges"): the request
//! signature, the slash-command and interaction forms, the payloads as
//! JSON, and Socket Mode frames, fed arbitrary bytes and mutations of real
//! payloads. Each must answer every input without panicking, refuse with
//! an error that names the step and keeps its cause, and still read what
//! Slack really sends. `PROPTEST_CASES=100000 cargo test --lib fuzz` runs
//! more cases.

use super::payloads::PayloadError;
use super::request::{Request, COMMAND_KIND};
use super::socket::{read_frame, EnvelopeId, Incoming, Request as Carried};
use super::verify::{Verifier, VerifyError, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::domain::{BillingCommand, SigningSecret};
use crate::testing::fuzz::{self, FormMutation};
use proptest::prelude::*;
use serde_json::{json, Value};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn verifier() -> Verifier {
    Verifier::new(&SigningSecret::parse(SECRET).expect("a well-formed secret"))
}

/// Signs as Slack does, with the `hmac` crate rather than the code under test.
fn sign(ts: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// Slack's own example of a slash command's form, as our command.
fn real_command() -> Vec<(String, String)> {
    [
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", "T0001"),
        ("team_domain", "example"),
        ("enterprise_id", "E0001"),
        ("enterprise_name", "Globular Construct Inc"),
        ("channel_id", "C2147483705"),
        ("channel_name", "billing"),
        ("user_id", "U2147483697"),
        ("user_name", "Steve"),
        ("command", "/billing"),
        ("text", "lookup ana@example.com she was charged twice"),
        ("api_app_id", "A123456"),
        ("is_enterprise_install", "false"),
        (
            "response_url",
            "https://hooks.slack.com/commands/1234/5678/abcdefgh",
        ),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn real_block_actions() -> Value {
    json!({
        "type": "block_actions",
        "user": {"id": "U2147483697", "username": "steve", "name": "steve", "team_id": "T0001"},
        "api_app_id": "A123456", "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": {"type": "message", "message_ts": "1700000000.000200", "channel_id": "C2147483705", "is_ephemeral": false},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": "T0001", "domain": "example"},
        "channel": {"id": "C2147483705", "name": "billing"},
        "message": {"type": "message", "ts": "1700000000.000200", "thread_ts": "1700000000.000100", "text": "case card"},
        "response_url": "https://hooks.slack.com/actions/T0001/1234/abcd",
        "actions": [
            {"action_id": "approve_action", "block_id": "a1", "value": "case_0123456789ab/a1", "type": "button", "action_ts": "1700000001.000300"},
            {"action_id": "more_actions", "block_id": "m", "type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": "Refund"}, "value": "case_0123456789ab/refund:ch_1"}}
        ]
    })
}

fn real_view_submission() -> Value {
    json!({
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": "U2147483697", "username": "steve", "team_id": "T0001"},
        "api_app_id": "A123456", "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": "12466734323.1395872398",
        "view": {
            "id": "VNHU13V36", "type": "modal", "callback_id": "reject_reason",
            "private_metadata": "case_0123456789ab/a1",
            "state": {"values": {"reason_block": {"reason_input": {"type": "plain_text_input", "value": "Not ours to refund: card 4242 4242 4242 4242"}}}},
            "hash": "156663117.cd33ad1f"
        },
        "response_urls": []
    })
}

fn real_message_action() -> Value {
    json!({
        "type": "message_action", "callback_id": "triage_billing_case",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": "U2147483697", "name": "steve"},
        "channel": {"id": "C2147483705", "name": "billing"},
        "message": {"type": "message", "user": "U0123", "ts": "1700000000.000400", "thread_ts": "1700000000.000300",
                    "text": "Hi, I'm <mailto:ana@example.com|ana@example.com> and cus_A1 was charged twice"},
        "response_url": "https://hooks.slack.com/app/T0001/1234/abcd",
        "message_ts": "1700000000.000400"
    })
}

fn real_payloads() -> Vec<Value> {
    vec![
        real_block_actions(),
        real_view_submission(),
        real_message_action(),
    ]
}

/// A real Socket Mode frame of every type the bot reads, and one it does not.
fn real_frames() -> Vec<Value> {
    let command: serde_json::Map<String, Value> = real_command()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let mut frames = vec![
        json!({"type": "hello", "num_connections": 1, "debug_info": {"host": "applink-1", "approximate_connection_time": 18060}, "connection_info": {"app_id": "A123456"}}),
        json!({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "applink-1"}}),
        json!({"envelope_id": "1d3c2f6c-3a4b-4c5d-9e8f-0a1b2c3d4e5f", "type": "slash_commands", "accepts_response_payload": true, "retry_attempt": 0, "retry_reason": "", "payload": command}),
        json!({"envelope_id": "dbdd0ef3-1543-4f94-bfb4-133d0e6c1545", "type": "events_api", "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": "",
               "payload": {"token": "x", "team_id": "T0001", "api_app_id": "A123456", "type": "event_callback", "event_id": "Ev1", "event_time": 1700000000,
                           "event": {"type": "app_mention", "user": "U1", "text": "<@U0LAN0Z89> is it everything a river should be?", "ts": "1515449522.000016", "channel": "C2147483705"}}}),
        json!({"envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf", "type": "app_rate_limited", "payload": {"minute_rate_limited": 1518467820}}),
    ];
    for payload in real_payloads() {
        let accepts = payload["type"] == "view_submission";
        frames.push(json!({"envelope_id": "e8a3f4a0-0d17-4a4f-8d6c-5ab2e0b5d1c3", "type": "interactive", "accepts_response_payload": accepts, "payload": payload}));
    }
    frames
}

/// A `PayloadError` says which step failed and keeps the parser's error.
fn names_its_step_and_cause(e: &PayloadError) -> Result<(), TestCaseError> {
    let shown = fuzz::chain(e);
    match e {
        PayloadError::Form(_) => {
            prop_assert!(
                shown[0].starts_with("the form body is malformed"),
                "{shown:?}"
            );
            prop_assert!(shown.len() >= 2, "the form error is kept: {shown:?}");
        }
        PayloadError::Json(_) => {
            prop_assert!(
                shown[0].starts_with("the JSON payload is malformed"),
                "{shown:?}"
            );
            prop_assert!(shown.len() >= 2, "the JSON error is kept: {shown:?}");
        }
        PayloadError::NoPayload => prop_assert!(shown[0].contains("`payload`"), "{shown:?}"),
    }
    // The cause's words are in the line that is logged.
    if let Some(cause) = shown.get(1) {
        prop_assert!(shown[0].contains(cause.as_str()), "{shown:?}");
    }
    Ok(())
}

/// Whatever a typed request holds, an unreadable one names its field only.
fn check_typed(request: &Request) -> Result<(), TestCaseError> {
    if let Request::Unreadable(unreadable) = request {
        let shown = unreadable.to_string();
        prop_assert!(
            shown.contains(unreadable.field) && shown.contains(unreadable.kind),
            "{shown}"
        );
    }
    // Debug output of a request never panics (it is logged in tests only,
    // but a Debug impl that panics would take a task down with it).
    let _ = format!("{request:?}");
    Ok(())
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn fuzz_verify_answers_any_headers_and_body(
        signature in proptest::option::of(fuzz::nasty_text(80)),
        timestamp in proptest::option::of(fuzz::nasty_text(24)),
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let verdict = verifier().verify(signature.as_deref(), timestamp.as_deref(), &body);
        match (&signature, &timestamp, &verdict) {
            (None, _, v) => prop_assert_eq!(v, &Err(VerifyError::MissingHeader(SIGNATURE_HEADER))),
            (_, None, v) => prop_assert_eq!(v, &Err(VerifyError::MissingHeader(TIMESTAMP_HEADER))),
            (_, _, v) => prop_assert!(v.is_err(), "a made-up signature never verifies"),
        }
        if let Err(e) = &verdict {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn fuzz_a_signed_body_verifies_and_any_one_byte_change_does_not(
        body in proptest::collection::vec(any::<u8>(), 0..512).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        at in any::<proptest::sample::Index>(),
        xor in 1u8..=255,
        part in 0..3usize,
    ) {
        let ts = now().to_string();
        let signature = sign(&ts, body.as_bytes());
        let v = verifier();
        prop_assert_eq!(v.verify(Some(&signature), Some(&ts), body.as_bytes()), Ok(()));
        let flip = |bytes: &mut Vec<u8>| {
            if !bytes.is_empty() {
                let n = at.index(bytes.len());
                bytes[n] ^= xor;
            }
        };
        let (mut s, mut t, mut b) = (signature.into_bytes(), ts.into_bytes(), body.into_bytes());
        match part {
            0 if !b.is_empty() => flip(&mut b),
            1 => flip(&mut t),
            _ => flip(&mut s),
        }
        let s = String::from_utf8_lossy(&s).into_owned();
        let t = String::from_utf8_lossy(&t).into_owned();
        let verdict = v.verify(Some(&s), Some(&t), &b);
        prop_assert!(
            matches!(verdict, Err(VerifyError::BadSignature | VerifyError::NotText(_) | VerifyError::StaleTimestamp)),
            "{verdict:?}"
        );
    }

    /// Signed with the secret but with any timestamp: refused as stale or
    /// malformed unless within five minutes, never a panic (an overflow in
    /// the age check once panicked on `-9223372036854775808`).
    #[test]
    fn fuzz_any_signed_timestamp_is_judged_without_panic(
        ts in prop_oneof![
            Just(i64::MIN.to_string()),
            Just(i64::MAX.to_string()),
            Just(format!("{}0", i64::MAX)),
            any::<i64>().prop_map(|n| n.to_string()),
            (-600i64..600).prop_map(|d| (now() + d).to_string()),
            (-600i64..600).prop_map(|d| format!("+{}", now() + d)),
            (-600i64..600).prop_map(|d| format!(" {}", now() + d)),
            (-600i64..600).prop_map(|d| format!("{}.5", now() + d)),
            fuzz::nasty_text(20),
        ],
        body in fuzz::nasty_text(64),
    ) {
        let signature = sign(&ts, body.as_bytes());
        let verdict = verifier().verify(Some(&signature), Some(&ts), body.as_bytes());
        let age = ts.parse::<i64>().ok().map(|t| now().checked_sub(t).map_or(u64::MAX, i64::unsigned_abs));
        let fresh = ts.bytes().all(|b| b.is_ascii_digit()) && age.is_some_and(|a| a <= 290);
        if fresh {
            prop_assert_eq!(verdict, Ok(()));
        } else if age.is_none_or(|a| a >= 310) {
            prop_assert_eq!(verdict, Err(VerifyError::StaleTimestamp));
        }
    }

    #[test]
    fn fuzz_slash_command_forms(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..400),
            fuzz::form_mutation().prop_map(|m| fuzz::form_body(&real_command(), &m)),
        ],
    ) {
        match Request::command_body(&body) {
            Ok(request) => check_typed(&request)?,
            Err(e) => names_its_step_and_cause(&e)?,
        }
    }

    /// Any text typed after `/billing` reaches the grammar unchanged, however
    /// it is encoded.
    #[test]
    fn fuzz_a_slash_commands_text_is_read_as_typed(text in fuzz::nasty_text(200)) {
        let mut pairs = real_command();
        for (k, v) in &mut pairs {
            if k == "text" {
                v.clone_from(&text);
            }
        }
        let body = fuzz::form_body(&pairs, &FormMutation::None);
        let Ok(Request::Command(command)) = Request::command_body(&body) else {
            return Err(TestCaseError::fail(format!("a real command with text {text:?} is a command")));
        };
        prop_assert_eq!(command.command, BillingCommand::parse(&text));
        prop_assert_eq!(command.user.as_str(), "U2147483697");
    }

    #[test]
    fn fuzz_interaction_forms(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..400),
            (proptest::sample::select(real_payloads()), fuzz::json_mutation(), fuzz::text_mutation(), fuzz::form_mutation())
                .prop_map(|(payload, m, t, f)| {
                    let text = fuzz::json_text(&fuzz::mutate(payload, &m), &t);
                    let pairs = vec![("payload".to_owned(), String::from_utf8_lossy(&text).into_owned())];
                    fuzz::form_body(&pairs, &f)
                }),
        ],
    ) {
        match Request::interaction_body(&body) {
            Ok(request) => check_typed(&request)?,
            Err(e) => names_its_step_and_cause(&e)?,
        }
    }

    /// A payload as JSON (Socket Mode), mutated: typed or refused with the
    /// JSON error kept; the HTTP form of the same payload reads the same.
    #[test]
    fn fuzz_payloads_as_json(
        payload in proptest::sample::select(real_payloads()),
        mutations in proptest::collection::vec(fuzz::json_mutation(), 0..4),
    ) {
        let payload = mutations.iter().fold(payload, fuzz::mutate);
        let as_json = Request::interaction_json(payload.clone());
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap_or_default();
        let as_form = Request::interaction_body(body.as_bytes());
        match (&as_json, &as_form) {
            (Ok(a), Ok(b)) => {
                check_typed(a)?;
                prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "both modes read one request");
            }
            (Err(a), Err(b)) => {
                names_its_step_and_cause(a)?;
                names_its_step_and_cause(b)?;
            }
            _ => return Err(TestCaseError::fail(format!("the two modes disagree: {as_json:?} / {as_form:?}"))),
        }
        let _ = Request::command_json(payload);
    }

    #[test]
    fn fuzz_socket_mode_frames(
        frame in prop_oneof![
            fuzz::nasty_text(200).prop_map(String::into_bytes),
            (fuzz::json_value(), fuzz::text_mutation()).prop_map(|(v, t)| fuzz::json_text(&v, &t)),
            (proptest::sample::select(real_frames()), proptest::collection::vec(fuzz::json_mutation(), 0..3), fuzz::text_mutation())
                .prop_map(|(frame, ms, t)| fuzz::json_text(&ms.iter().fold(frame, fuzz::mutate), &t)),
        ],
    ) {
        // Frames are text: tungstenite hands over UTF-8 only.
        let text = String::from_utf8_lossy(&frame);
        let incoming = read_frame(&text);
        // An envelope with a readable id is acked whatever else is wrong
        // with it (Slack would redeliver it forever otherwise).
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let id = parsed.as_ref().and_then(|v| v.get("envelope_id")?.as_str().and_then(EnvelopeId::parse));
        let kind = parsed.as_ref().and_then(|v| v.get("type")?.as_str().map(str::to_owned));
        let control = matches!(kind.as_deref(), Some("hello" | "disconnect"));
        match &incoming {
            Incoming::Envelope(envelope) => {
                prop_assert_eq!(Some(&envelope.id), id.as_ref());
                // The carried request types as the HTTP one would.
                match &envelope.request {
                    Carried::Command(c) => check_typed(&Request::from_command(c.clone()))?,
                    Carried::Interaction { interaction, .. } => check_typed(&Request::from_interaction(interaction.clone()))?,
                    Carried::Event(_) => {}
                }
            }
            Incoming::Unreadable(unreadable) => {
                if !control {
                    prop_assert_eq!(&unreadable.envelope_id, &id, "an unreadable envelope keeps its id");
                }
                // What is logged: the id, the type and the error's category.
                let logged = format!("{unreadable:?}");
                prop_assert!(!logged.contains("ana@example.com") && !logged.contains("hooks.slack.com"), "{logged}");
            }
            Incoming::Other { kind: shown, envelope_id } => {
                prop_assert_eq!(envelope_id, &id);
                prop_assert!(shown == "unknown" || shown.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            }
            Incoming::Disconnect { reason } => {
                prop_assert!(reason.len() <= 64 || reason == "no reason given");
            }
            Incoming::Hello => {}
        }
    }
}

/// The real payloads themselves are read (a property over mutations is
/// worth nothing if the starting point is already refused).
#[test]
fn the_real_payloads_are_read() {
    let body = fuzz::form_body(&real_command(), &FormMutation::None);
    assert!(matches!(
        Request::command_body(&body),
        Ok(Request::Command(_))
    ));
    for payload in real_payloads() {
        let request = Request::interaction_json(payload).expect("a real interaction");
        assert!(
            matches!(
                request,
                Request::Buttons(_) | Request::Submission(_) | Request::Shortcut(_)
            ),
            "{request:?}"
        );
    }
    for frame in real_frames() {
        let incoming = read_frame(&frame.to_string());
        let ok = match frame["type"].as_str() {
            Some("hello") => matches!(incoming, Incoming::Hello),
            Some("disconnect") => matches!(incoming, Incoming::Disconnect { .. }),
            Some("app_rate_limited") => matches!(
                incoming,
                Incoming::Other {
                    envelope_id: Some(_),
                    ..
                }
            ),
            _ => matches!(incoming, Incoming::Envelope(_)),
        };
        assert!(ok, "{frame}: {incoming:?}");
    }
    let unreadable = Request::from_command(super::payloads::SlashCommand {
        command: "/billing".into(),
        text: String::new(),
        user_id: "nobody".into(),
        channel_id: "C1".into(),
        response_url: "https://hooks.slack.com/x".into(),
        trigger_id: None,
    });
    assert!(matches!(
        unreadable,
        Request::Unreadable(u) if u.kind == COMMAND_KIND && u.field == "user id"
    ));
}

/// Found by `fuzz_any_signed_timestamp_is_judged_without_panic`: a request
/// signed with the secret and the timestamp `-9223372036854775808`
/// overflowed the age check (`now - ts`) and panicked in a debug build
/// (wrapped silently in release). Now a timestamp that is not a plain
/// count of seconds is refused before any arithmetic.
#[test]
fn a_signed_request_with_an_extreme_timestamp_is_stale_not_a_panic() {
    for ts in [
        i64::MIN.to_string(),
        (i64::MIN + 1).to_string(),
        i64::MAX.to_string(),
        "-1".into(),
        "+1700000000".into(),
        "99999999999999999999".into(),
    ] {
        let signature = sign(&ts, b"text=help");
        assert_eq!(
            verifier().verify(Some(&signature), Some(&ts), b"text=help"),
            Err(VerifyError::StaleTimestamp),
            "{ts}"
        );
    }
}

/// Found by `fuzz_socket_mode_frames`: a frame with its `envelope_id`
/// written twice was refused whole, its id with it, so it was never acked
/// and Slack would send it again and again.
#[test]
fn a_frame_with_a_key_written_twice_is_still_acked() {
    let frame = r#"{"envelope_id":"57d6a792-4d35-4d0b-b6aa-3361493e1caf","envelope_id":"57d6a792-4d35-4d0b-b6aa-3361493e1caf","payload":{"minute_rate_limited":1518467820},"type":"app_rate_limited"}"#;
    let Incoming::Unreadable(unreadable) = read_frame(frame) else {
        panic!("a key written twice is not a frame we read");
    };
    assert_eq!(
        unreadable.envelope_id,
        EnvelopeId::parse("57d6a792-4d35-4d0b-b6aa-3361493e1caf")
    );
    let twice_typed =
        r#"{"envelope_id":"e1","type":"interactive","type":"interactive","payload":{}}"#;
    assert!(matches!(
        read_frame(twice_typed),
        Incoming::Unreadable(u) if u.envelope_id == EnvelopeId::parse("e1")
    ));
}
