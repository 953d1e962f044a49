//! Unit tests of the audit core: chaining, the canonical encoding, every kind
//! of tampering `verify` must name, and scrubbing.

use super::*;
use crate::domain::SlackUserId;
use serde_json::json;

fn new_entry(event: impl Into<AuditEvent>, at: i64) -> NewEntry {
    let actor = Actor::Slack(SlackUserId::parse("U024BE7LH").expect("a valid Slack user id"));
    NewEntry::new(event, actor, at)
        .for_case(CaseId::from_random(0xabc))
        .on_action("a1")
        .with_stripe_ids(vec!["ch_3Nx".to_owned()])
}

/// A chained log of `n` entries with stream ids `1-0`, `2-0`, ….
fn log(n: u64) -> Vec<(String, AuditEntry)> {
    let mut entries: Vec<(String, AuditEntry)> = Vec::new();
    for seq in 1..=n {
        let prev = entries
            .last()
            .map_or(GENESIS.to_owned(), |(_, entry)| entry.hash.clone());
        let entry = chain(
            new_entry(
                ApprovalGranted {
                    still_needed: seq as usize,
                },
                1_700_000_000 + seq as i64,
            ),
            seq,
            &prev,
        );
        entries.push((format!("{seq}-0"), entry));
    }
    entries
}

fn head_of(entries: &[(String, AuditEntry)]) -> Option<String> {
    entries.last().map(|(_, entry)| entry.hash.clone())
}

/// Runs `verify` over `entries` with `head` and compares the outcome.
fn check(entries: &[(String, AuditEntry)], head: Option<&str>, expected: Result<u64, VerifyError>) {
    let got = verify(entries.iter().map(|(id, entry)| (id.as_str(), entry)), head);
    assert_eq!(got, expected);
}

#[test]
fn chain_of_three_verifies() {
    let entries = log(3);
    check(&entries, head_of(&entries).as_deref(), Ok(3));
    assert_eq!(entries[0].1.prev_hash, GENESIS);
    assert_eq!(entries[1].1.prev_hash, entries[0].1.hash);
}

#[test]
fn empty_log_without_head_verifies() {
    check(&[], None, Ok(0));
}

#[test]
fn changed_field_is_named_as_hash_mismatch() {
    let edits: [fn(&mut AuditEntry); 5] = [
        |e| e.at += 1,
        |e| e.detail = json!({"n": 99}),
        |e| e.actor = Actor::System,
        |e| e.kind = AuditKind::ExecutionSucceeded,
        |e| e.stripe_ids.push("re_1".to_owned()),
    ];
    for edit in edits {
        let mut entries = log(3);
        edit(&mut entries[1].1);
        let head = head_of(&entries);
        check(
            &entries,
            head.as_deref(),
            Err(VerifyError::HashMismatch {
                stream_id: "2-0".to_owned(),
                seq: 2,
            }),
        );
    }
}

#[test]
fn deleted_middle_entry_is_named_at_the_next() {
    let mut entries = log(3);
    entries.remove(1);
    let head = head_of(&entries);
    check(
        &entries,
        head.as_deref(),
        Err(VerifyError::SequenceGap {
            stream_id: "3-0".to_owned(),
            seq: 3,
            expected: 2,
        }),
    );
}

#[test]
fn deleted_first_entry_is_named_at_the_next() {
    let mut entries = log(3);
    entries.remove(0);
    let head = head_of(&entries);
    check(
        &entries,
        head.as_deref(),
        Err(VerifyError::SequenceGap {
            stream_id: "2-0".to_owned(),
            seq: 2,
            expected: 1,
        }),
    );
}

#[test]
fn deleted_entry_with_rechained_tail_is_caught_by_the_head() {
    // The forger removes entry 2 and rechains entry 3 as seq 2 after entry
    // 1; every link holds, but the stored head still names the old entry 3.
    let mut entries = log(3);
    let head = head_of(&entries);
    entries.remove(1);
    let first_hash = entries[0].1.hash.clone();
    let successor = &mut entries[1].1;
    successor.seq = 2;
    successor.prev_hash = first_hash;
    successor.hash = entry_hash(successor);
    check(
        &entries,
        head.as_deref(),
        Err(VerifyError::HeadMismatch {
            last: Some(("3-0".to_owned(), 2)),
            head_present: true,
        }),
    );
}

#[test]
fn inserted_forged_entry_is_detected() {
    let entries = log(3);
    let forged = chain(new_entry(ActionExpired {}, 1), 2, &entries[0].1.hash);
    let mut tampered = entries.clone();
    tampered.insert(1, ("1-5".to_owned(), forged.clone()));
    let head = head_of(&entries);
    check(
        &tampered,
        head.as_deref(),
        Err(VerifyError::SequenceGap {
            stream_id: "2-0".to_owned(),
            seq: 2,
            expected: 3,
        }),
    );

    // Forged with a made-up hash: named itself.
    let mut careless = forged;
    careless.hash = "f".repeat(64);
    let mut tampered = entries.clone();
    tampered.insert(1, ("1-5".to_owned(), careless));
    check(
        &tampered,
        head.as_deref(),
        Err(VerifyError::HashMismatch {
            stream_id: "1-5".to_owned(),
            seq: 2,
        }),
    );
}

#[test]
fn rewritten_entry_with_recomputed_hash_breaks_the_next_link() {
    let mut entries = log(3);
    let rewritten = &mut entries[1].1;
    rewritten.detail = json!({"n": 1000});
    rewritten.hash = entry_hash(rewritten);
    let head = head_of(&entries);
    check(
        &entries,
        head.as_deref(),
        Err(VerifyError::BrokenLink {
            stream_id: "3-0".to_owned(),
            seq: 3,
        }),
    );
}

#[test]
fn appended_entry_without_head_update_is_a_head_mismatch() {
    let entries = log(3);
    let head = head_of(&entries);
    let mut tampered = entries.clone();
    let forged = chain(new_entry(ActionExpired {}, 1), 4, &entries[2].1.hash);
    tampered.push(("4-0".to_owned(), forged));
    check(
        &tampered,
        head.as_deref(),
        Err(VerifyError::HeadMismatch {
            last: Some(("4-0".to_owned(), 4)),
            head_present: true,
        }),
    );
}

#[test]
fn deleted_last_entry_is_a_head_mismatch() {
    let mut entries = log(3);
    let head = head_of(&entries);
    entries.pop();
    check(
        &entries,
        head.as_deref(),
        Err(VerifyError::HeadMismatch {
            last: Some(("2-0".to_owned(), 2)),
            head_present: true,
        }),
    );
}

#[test]
fn missing_head_or_missing_entries_is_a_head_mismatch() {
    let entries = log(2);
    check(
        &entries,
        None,
        Err(VerifyError::HeadMismatch {
            last: Some(("2-0".to_owned(), 2)),
            head_present: false,
        }),
    );
    check(
        &[],
        Some(&"a".repeat(64)),
        Err(VerifyError::HeadMismatch {
            last: None,
            head_present: true,
        }),
    );
}

#[test]
fn unknown_format_version_is_unreadable() {
    let mut entries = log(1);
    entries[0].1.v = 2;
    entries[0].1.hash = entry_hash(&entries[0].1);
    let head = head_of(&entries);
    check(
        &entries,
        head.as_deref(),
        Err(VerifyError::Unreadable {
            stream_id: "1-0".to_owned(),
            reason: "format version 2 is unknown".to_owned(),
        }),
    );
}

#[test]
fn errors_name_the_stream_id_and_seq() {
    let text = VerifyError::HashMismatch {
        stream_id: "1700-3".to_owned(),
        seq: 7,
    }
    .to_string();
    assert!(text.contains("1700-3") && text.contains("seq 7"), "{text}");
    let text = VerifyError::SequenceGap {
        stream_id: "9-0".to_owned(),
        seq: 9,
        expected: 8,
    }
    .to_string();
    assert!(
        text.contains("9-0") && text.contains("seq 9") && text.contains("seq 8"),
        "{text}"
    );
    let text = VerifyError::HeadMismatch {
        last: Some(("5-1".to_owned(), 5)),
        head_present: true,
    }
    .to_string();
    assert!(text.contains("5-1") && text.contains("seq 5"), "{text}");
}

#[test]
fn canonical_encoding_is_sorted_compact_json_without_hash() {
    let event = LookupRequested {
        identifier: "customer id".to_owned(),
    };
    let new = NewEntry::new(event, Actor::System, 1_700_000_000)
        .with_stripe_ids(vec!["cus_A".to_owned()]);
    let mut entry = chain(new, 1, GENESIS);
    // Any detail, nested, is written in the same canonical form.
    entry.detail = json!({"z": [1, "é/\n"], "a": {"y": true, "b": null}});
    entry.hash = entry_hash(&entry);
    let expected = format!(
        concat!(
            r#"{{"action":null,"actor":{{"kind":"system"}},"at":1700000000,"case_id":null,"#,
            r#""detail":{{"a":{{"b":null,"y":true}},"z":[1,"é/\n"]}},"kind":"lookup_requested","#,
            r#""prev_hash":"{}","seq":1,"stripe_ids":["cus_A"],"v":1}}"#
        ),
        GENESIS
    );
    assert_eq!(
        String::from_utf8(canonical_bytes(&entry)).expect("canonical bytes are UTF-8"),
        expected
    );
    assert_eq!(entry.hash, hex::encode(Sha256::digest(expected.as_bytes())));
}

#[test]
fn canonical_encoding_matches_the_generic_sorted_writer() {
    // The hand-written field order must be what sorting the keys of the
    // serialised entry gives, for every actor and option shape.
    let mut entries: Vec<AuditEntry> = log(2).into_iter().map(|(_, entry)| entry).collect();
    let mut cli = entries[0].clone();
    cli.actor = Actor::Cli("ops".to_owned());
    cli.case_id = None;
    entries.push(cli);
    for entry in entries {
        let mut value = serde_json::to_value(&entry).expect("an entry serialises");
        value
            .as_object_mut()
            .expect("an entry is an object")
            .remove("hash");
        let mut generic = Vec::new();
        write_value(&mut generic, &value);
        assert_eq!(canonical_bytes(&entry), generic);
    }
}

#[test]
fn entries_round_trip_through_json_and_refuse_unknown_fields() {
    let entries = log(1);
    let json = serde_json::to_string(&entries[0].1).expect("an entry serialises");
    let back: AuditEntry = serde_json::from_str(&json).expect("an entry parses back");
    assert_eq!(back, entries[0].1);
    let mut value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    value["extra"] = json!(1);
    assert!(serde_json::from_value::<AuditEntry>(value).is_err());
}

fn check_scrub(input: serde_json::Value, expected: serde_json::Value) {
    assert_eq!(scrub(input.clone()), expected, "scrubbing {input}");
}

#[test]
fn scrub_removes_secrets_and_card_numbers() {
    let cases = [
        (json!("token xoxb-123-456-abc"), json!(REDACTED)),
        (json!("xapp-1-A0-xyz"), json!(REDACTED)),
        (json!("xoxp-1"), json!(REDACTED)),
        (json!("key sk_live_51Habc"), json!(REDACTED)),
        (json!("sk_test_4eC39"), json!(REDACTED)),
        (json!("rk_live_abc"), json!(REDACTED)),
        (json!("rk_test_abc"), json!(REDACTED)),
        (json!("whsec_abc"), json!(REDACTED)),
        (json!("card 4242424242424242 please"), json!(REDACTED)),
        (json!("4242 4242 4242 4242"), json!(REDACTED)),
        (json!("4242-4242-4242-4242"), json!(REDACTED)),
        (json!("amex 3782 822463 10005"), json!(REDACTED)),
        (json!(4242424242424242u64), json!(REDACTED)),
        (
            json!({"reason": "dup", "nested": [{"k": "xoxb-1"}, "ok"], "n": 3900}),
            json!({"reason": "dup", "nested": [{"k": REDACTED}, "ok"], "n": 3900}),
        ),
    ];
    for (input, expected) in cases {
        check_scrub(input, expected);
    }
}

#[test]
fn scrub_keeps_ordinary_text_ids_and_short_numbers() {
    let kept = [
        json!("refund ch_3Nx EUR 39.00"),
        json!("cus_NffrFeUfNV2Hib"),
        json!("last4 4242, exp 12/2030"),
        json!("at 1700000000"),
        json!("call +1 415 555 0100"),
        json!("desk-sk_ ok"),
        json!(1_700_000_000),
        json!(-5),
        json!(39.5),
        json!(null),
    ];
    for value in kept {
        check_scrub(value.clone(), value);
    }
}

#[test]
fn chain_scrubs_detail_and_stripe_ids() {
    let rejected = ActionRejected {
        reason: "my card is 4000 0566 5566 5556".to_owned(),
    };
    let mut new = new_entry(rejected, 1);
    new.stripe_ids.push("sk_live_oops".to_owned());
    let entry = chain(new, 1, GENESIS);
    assert_eq!(entry.detail, json!({"reason": REDACTED}));
    assert_eq!(
        entry.stripe_ids,
        vec!["ch_3Nx".to_owned(), REDACTED.to_owned()]
    );
    assert_eq!(entry.hash, entry_hash(&entry));
}

/// A log of `n` entries with everything up to `trimmed` cut off, as
/// `audit trim` leaves it, with the anchor it keeps: (rest, anchor seq, hash).
fn trimmed_log(n: u64, trimmed: usize) -> (Vec<(String, AuditEntry)>, u64, String) {
    let mut entries = log(n);
    let rest = entries.split_off(trimmed);
    let (_, last_trimmed) = entries.last().expect("something was trimmed");
    (rest, last_trimmed.seq, last_trimmed.hash.clone())
}

fn check_anchored(
    entries: &[(String, AuditEntry)],
    anchor: (u64, &str),
    head: Option<&str>,
    expected: Result<u64, VerifyError>,
) {
    let mut verifier = Verifier::from_anchor(anchor.0, anchor.1);
    let walked = entries
        .iter()
        .try_for_each(|(id, entry)| verifier.check(id, entry));
    assert_eq!(walked.and_then(|()| verifier.finish(head)), expected);
}

#[test]
fn a_trimmed_log_verifies_from_its_anchor() {
    let (rest, seq, hash) = trimmed_log(5, 3);
    let head = head_of(&rest);
    check_anchored(&rest, (seq, &hash), head.as_deref(), Ok(2));
    // Without the anchor, the same entries are a log whose start was removed.
    check(
        &rest,
        head.as_deref(),
        Err(VerifyError::SequenceGap {
            stream_id: "4-0".to_owned(),
            seq: 4,
            expected: 1,
        }),
    );
}

#[test]
fn an_anchor_that_does_not_match_the_first_entry_is_named() {
    let (rest, seq, hash) = trimmed_log(5, 3);
    let head = head_of(&rest);
    // Entry 4 removed after the trim: the walk expects 4 after the anchor.
    check_anchored(
        &rest[1..],
        (seq, &hash),
        head.as_deref(),
        Err(VerifyError::SequenceGap {
            stream_id: "5-0".to_owned(),
            seq: 5,
            expected: 4,
        }),
    );
    // An anchor hash that is not entry 3's: entry 4 does not link to it.
    check_anchored(
        &rest,
        (seq, &"f".repeat(64)),
        head.as_deref(),
        Err(VerifyError::BrokenLink {
            stream_id: "4-0".to_owned(),
            seq: 4,
        }),
    );
    // Entry 4 edited after the trim.
    let mut edited = rest.clone();
    edited[0].1.detail = json!({"n": 99});
    check_anchored(
        &edited,
        (seq, &hash),
        head.as_deref(),
        Err(VerifyError::HashMismatch {
            stream_id: "4-0".to_owned(),
            seq: 4,
        }),
    );
}

#[test]
fn a_log_trimmed_to_its_last_entry_verifies_against_the_head() {
    let (rest, seq, hash) = trimmed_log(3, 3);
    assert!(rest.is_empty());
    check_anchored(&rest, (seq, &hash), Some(&hash), Ok(0));
    check_anchored(
        &rest,
        (seq, &hash),
        Some(&"a".repeat(64)),
        Err(VerifyError::AnchorMismatch {
            anchor_seq: 3,
            head_present: true,
        }),
    );
    check_anchored(
        &rest,
        (seq, &hash),
        None,
        Err(VerifyError::AnchorMismatch {
            anchor_seq: 3,
            head_present: false,
        }),
    );
    let text = VerifyError::AnchorMismatch {
        anchor_seq: 3,
        head_present: true,
    }
    .to_string();
    assert!(text.contains("seq 3") && text.contains("anchor"), "{text}");
}

#[test]
fn scrub_text_redacts_card_numbers_codes_and_secrets_but_keeps_the_message() {
    let cases = [
        (
            "new card is 4111 1111 1111 1111 exp 09/29 cvc 737, please",
            "new card is [redacted] exp 09/29 cvc [redacted], please",
        ),
        (
            "Card is 4242-4242-4242-4242, 03/28, CVC: 123 ok",
            "Card is [redacted], 03/28, CVC: [redacted] ok",
        ),
        (
            "再试一下这张卡：6222 0212 3456 7890 123，有效期 08/28，安全码 456",
            "再试一下这张卡：[redacted]，有效期 08/28，安全码 [redacted]",
        ),
        ("security code is 884.", "security code is [redacted]."),
        ("my key sk_live_abc123 leaked", "my key [redacted] leaked"),
        // Phone numbers, amounts, dates and last fours stay.
        (
            "手机号 138 0013 8000, visa ending 4242, $19.00 on 6/10",
            "手机号 138 0013 8000, visa ending 4242, $19.00 on 6/10",
        ),
        ("the cvc field was empty", "the cvc field was empty"),
    ];
    for (input, expected) in cases {
        assert_eq!(scrub_text(input), expected, "{input}");
    }
}
