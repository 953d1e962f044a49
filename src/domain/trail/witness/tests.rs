use super::*;

const KEY: &str = "witness-test-key-0123456789abcdef0123";
/// 2026-01-01 00:00:00 UTC.
const NEW_YEAR: i64 = 1_767_225_600;
/// A signed record as the bot writes it; its `sig` was computed apart from
/// this code (Python's `hmac`, over the canonical bytes below), so a change
/// to the signed bytes or the line's form fails here.
const SIGNED_LINE: &str = r#"{"type":"billing-triage.audit-head","v":1,"seq":42,"hash":"abababababababababababababababababababababababababababababababab","at":1767225600,"by":"inst_0a1b2c3d","sig":"52dac56d56c9fcda86fc1cdb5d6b158cd0b3e8dbae352795bcfdd754dd481f7a"}"#;
const SIGNED_BYTES: &str = r#"{"at":1767225600,"by":"inst_0a1b2c3d","hash":"abababababababababababababababababababababababababababababababab","seq":42,"type":"billing-triage.audit-head","v":1}"#;

fn key() -> AuditSigningKey {
    AuditSigningKey::parse(KEY).expect("a long enough key")
}

/// The hash of entry `seq` in the fixture chain (`rewritten` gives a
/// second, different chain).
fn hash(seq: u64, rewritten: bool) -> String {
    format!("{:064x}", seq * 1000 + u64::from(rewritten))
}

/// A stored chain of entries `from..=to`, written at `at0 + seq`, whose
/// entries at `wanted` are kept; entries from `rewritten_from` on carry the
/// rewritten hashes.
fn chain(from: u64, to: u64, rewritten_from: Option<u64>, wanted: &BTreeSet<u64>) -> StoredChain {
    let mut chain = StoredChain {
        anchor: (from > 1).then(|| (from - 1, hash(from - 1, false))),
        ..StoredChain::default()
    };
    for seq in from..=to {
        let entry = AuditEntry {
            v: 1,
            seq,
            case_id: None,
            action: None,
            kind: super::super::AuditKind::CaseClosed,
            actor: crate::domain::Actor::System,
            at: NEW_YEAR + i64::try_from(seq).expect("small"),
            stripe_ids: Vec::new(),
            detail: serde_json::json!({}),
            prev_hash: String::new(),
            hash: hash(seq, rewritten_from.is_some_and(|r| seq >= r)),
        };
        chain.note(&entry, wanted);
    }
    chain
}

/// A head for `seq` of the original chain, published right after it.
fn published(seq: u64, signed_with: Option<&AuditSigningKey>) -> Published {
    Published {
        source: format!("line {seq}"),
        record: Ok(WitnessHead::new(
            seq,
            &hash(seq, false),
            NEW_YEAR + i64::try_from(seq).expect("small"),
            "inst_a",
            signed_with,
        )),
    }
}

/// Signed heads for these seqs of the original chain.
fn signed_heads(seqs: &[u64]) -> Vec<Published> {
    seqs.iter()
        .map(|seq| published(*seq, Some(&key())))
        .collect()
}

fn run(heads: &[Published], chain_of: impl Fn(&BTreeSet<u64>) -> StoredChain) -> WitnessReport {
    let wanted = seqs_named(heads);
    check(heads, &chain_of(&wanted), Some(&key()))
}

#[test]
fn a_signed_record_matches_the_fixture_made_apart() {
    let head = WitnessHead::new(
        42,
        &"ab".repeat(32),
        NEW_YEAR,
        "inst_0a1b2c3d",
        Some(&key()),
    );
    assert_eq!(
        String::from_utf8(head.signed_bytes()).expect("UTF-8"),
        SIGNED_BYTES
    );
    assert_eq!(head.to_line(), SIGNED_LINE);
    assert_eq!(WitnessHead::parse_line(SIGNED_LINE), Ok(head.clone()));
    assert_eq!(head.signature(Some(&key())), Signature::Valid);
    assert_eq!(head.signature(None), Signature::Unchecked);
    let other = AuditSigningKey::parse("another-key-0123456789abcdef0123456789").expect("key");
    assert_eq!(head.signature(Some(&other)), Signature::Bad);
    let unsigned = WitnessHead::new(42, &"ab".repeat(32), NEW_YEAR, "inst_0a1b2c3d", None);
    assert_eq!(unsigned.signature(Some(&key())), Signature::Missing);
    assert!(
        !unsigned.to_line().contains("sig"),
        "{}",
        unsigned.to_line()
    );
}

#[test]
fn an_edited_field_breaks_the_signature() {
    for (from, to) in [
        ("\"seq\":42", "\"seq\":43"),
        ("\"at\":1767225600", "\"at\":1767225601"),
        ("inst_0a1b2c3d", "inst_0a1b2c3e"),
        ("\"hash\":\"ab", "\"hash\":\"cd"),
    ] {
        let line = SIGNED_LINE.replacen(from, to, 1);
        let head = WitnessHead::parse_line(&line).expect("still a record");
        assert_eq!(
            head.signature(Some(&key())),
            Signature::Bad,
            "{from} → {to}"
        );
    }
}

#[test]
fn records_that_are_not_the_bots_are_refused_naming_the_fault() {
    let cases = [
        ("not json", "JSON"),
        (
            r#"{"type":"other","v":1,"seq":1,"hash":"","at":0,"by":"i"}"#,
            "type",
        ),
        (&SIGNED_LINE.replace("\"v\":1", "\"v\":2"), "version 2"),
        (&SIGNED_LINE.replace("\"seq\":42", "\"seq\":0"), "seq 0"),
        (&SIGNED_LINE.replace(&"ab".repeat(32), "AB"), "hash"),
        (&SIGNED_LINE.replace("inst_0a1b2c3d", "inst 0a"), "by"),
        (&SIGNED_LINE.replace("\"sig\":\"52", "\"sig\":\"zz"), "sig"),
        (
            &SIGNED_LINE.replace("\"seq\"", "\"extra\":1,\"seq\""),
            "JSON",
        ),
    ];
    for (line, fault) in cases {
        let err = WitnessHead::parse_line(line).expect_err(line);
        assert!(err.to_string().contains(fault), "{line}: {err}");
    }
}

#[test]
fn the_slack_message_reads_as_a_sentence_and_back_as_the_record() {
    let head = WitnessHead::parse_line(SIGNED_LINE).expect("record");
    let text = head.to_slack_text();
    assert!(
        text.starts_with(
            "Audit log head: entry 42 (hash abababababababab…) as of 2026-01-01 00:00:00 UTC, published by inst_0a1b2c3d (signed)."
        ),
        "{text}"
    );
    assert_eq!(WitnessHead::from_slack_text(&text), Some(Ok(head.clone())));
    // As Slack may hand it back: fences on the record's line, escaped text.
    let inline = format!("Audit log head &amp; more\n```{SIGNED_LINE}```");
    assert_eq!(WitnessHead::from_slack_text(&inline), Some(Ok(head)));
    assert_eq!(WitnessHead::from_slack_text("lunch at noon?"), None);
    assert!(matches!(
        WitnessHead::from_slack_text("about billing-triage.audit-head records"),
        Some(Err(_))
    ));
}

#[test]
fn targets_parse_as_the_setting_says() {
    assert_eq!(WitnessTarget::setting("off"), Ok(None));
    assert_eq!(WitnessTarget::setting("OFF"), Ok(None));
    let slack = WitnessTarget::setting("slack:C0AUDIT01").expect("slack");
    assert_eq!(
        slack,
        Some(WitnessTarget::Slack(
            ChannelId::parse("C0AUDIT01").expect("id")
        ))
    );
    let file = WitnessTarget::setting("file:/var/lib/bt/heads.jsonl").expect("file");
    assert_eq!(
        file.as_ref().map(ToString::to_string).as_deref(),
        Some("file:/var/lib/bt/heads.jsonl")
    );
    for bad in ["slack:#audit", "slack:", "file:", "s3://bucket", "on"] {
        let err = WitnessTarget::setting(bad).expect_err(bad);
        assert!(!err.to_string().is_empty());
    }
    assert!(
        "off".parse::<WitnessTarget>().is_err(),
        "--witness needs a place"
    );
}

#[test]
fn an_intact_chain_agrees_with_every_head() {
    let heads = signed_heads(&[3, 7, 7, 10]);
    let report = run(&heads, |wanted| chain(1, 12, None, wanted));
    assert!(report.is_clean(), "{report}");
    assert_eq!((report.records, report.agreed), (4, 4));
    assert_eq!(report.newest_agreed.as_ref().map(|h| h.seq), Some(10));
    let text = report.to_string();
    assert!(
        text.starts_with(
            "audit log agrees with its witness: 4 published heads checked, the newest for seq 10"
        ),
        "{text}"
    );
    assert!(text.contains("entries 11 to 12 are newer"), "{text}");
    assert!(!text.contains("not checked"), "{text}");
}

#[test]
fn a_rewrite_names_the_first_head_it_contradicts() {
    let heads = signed_heads(&[10, 3, 7, 5]);
    // Rewritten from entry 4 to the head, as an attacker with Redis access
    // would: every hash from 4 on differs.
    let report = run(&heads, |wanted| chain(1, 12, Some(4), wanted));
    assert_eq!(report.agreed, 1);
    assert_eq!(report.findings.len(), 3, "{report}");
    let Finding::Rewritten {
        at, agrees_up_to, ..
    } = &report.findings[0]
    else {
        panic!("a rewrite first: {report}")
    };
    assert_eq!((at.head.seq, *agrees_up_to), (5, Some(3)));
    let text = report.to_string();
    assert!(
        text.starts_with("the audit log contradicts its witness (3 findings)"),
        "{text}"
    );
    assert!(
        text.contains("the head for seq 5 published 2026-01-01 00:00:05 UTC by inst_a (line 5)"),
        "{text}"
    );
    assert!(text.contains("from an entry after seq 3"), "{text}");
    assert!(!text.contains("dated after"), "{text}");
}

#[test]
fn a_truncated_chain_is_named_as_loss() {
    let heads = signed_heads(&[3, 9, 12]);
    // Entries 11 and 12 never reached the replica that became primary.
    let report = run(&heads, |wanted| chain(1, 10, None, wanted));
    assert_eq!(report.agreed, 2);
    assert_eq!(
        report.findings,
        [Finding::Lost {
            at: Sighting {
                head: heads[2].record.clone().expect("head"),
                source: "line 12".to_owned()
            },
            chain_end: Some(10)
        }]
    );
    let text = report.to_string();
    assert!(text.contains("the stored log ends at seq 10"), "{text}");
    assert!(text.contains("failover"), "{text}");
}

#[test]
fn entries_lost_then_renumbered_read_as_written_after_the_head() {
    // Head 10 was published; a failover lost 9 and 10, and new entries took
    // seq 9 onwards, written after the publication.
    let mut head = published(10, Some(&key()));
    if let Ok(h) = &mut head.record {
        h.at = NEW_YEAR;
        h.sig = Some(key().sign(&h.signed_bytes()));
    }
    let report = run(&[head], |wanted| chain(1, 12, Some(9), wanted));
    let text = report.to_string();
    assert!(text.contains("dated after that publication"), "{text}");
    assert!(text.contains("from an entry at or before seq 10"), "{text}");
}

#[test]
fn with_the_key_set_a_forged_or_unsigned_head_is_a_finding_and_not_compared() {
    let mut forged = published(9, None);
    if let Ok(h) = &mut forged.record {
        h.sig = Some("0".repeat(64));
    }
    let heads = [
        published(3, Some(&key())),
        published(7, None),
        forged,
        Published {
            source: "line 99".to_owned(),
            record: WitnessHead::parse_line("{}"),
        },
    ];
    let report = run(&heads, |wanted| chain(1, 12, Some(5), wanted));
    assert_eq!(report.agreed, 1);
    assert!(matches!(&report.findings[0], Finding::Unsigned(s) if s.head.seq == 7));
    assert!(matches!(&report.findings[1], Finding::BadSignature(s) if s.head.seq == 9));
    assert!(
        matches!(&report.findings[2], Finding::Unreadable { source, .. } if source == "line 99")
    );
    let text = report.to_string();
    assert!(
        text.starts_with("the audit witness does not hold up (3 findings)"),
        "{text}"
    );
    assert!(
        text.contains("no signature although AUDIT_SIGNING_KEY is set"),
        "{text}"
    );
    // Without the key the same heads are compared, and the unsigned one at
    // seq 7 shows the rewrite.
    let wanted = seqs_named(&heads);
    let report = check(&heads, &chain(1, 12, Some(5), &wanted), None);
    assert!(report.findings[0].is_contradiction(), "{report}");
}

#[test]
fn after_a_trim_older_heads_are_left_to_the_export_and_the_anchor_is_compared() {
    let heads = signed_heads(&[2, 3, 4, 8]);
    let report = run(&heads, |wanted| chain(5, 9, None, wanted));
    assert!(report.is_clean(), "{report}");
    assert_eq!((report.agreed, report.before_anchor), (2, 2));
    assert!(
        report
            .to_string()
            .contains("2 heads from before the anchor (seq 4) left to check against the export"),
        "{report}"
    );
    // Everything after the anchor removed, and the head moved back to it.
    let report = run(&heads, |wanted| chain(5, 4, None, wanted));
    assert_eq!(report.chain_end, Some(4));
    assert_eq!(report.agreed, 1, "the anchor itself: {report}");
    assert!(
        matches!(&report.findings[0], Finding::Lost { at, chain_end: Some(4) } if at.head.seq == 8)
    );
}

#[test]
fn an_empty_witness_proves_nothing_unless_the_log_is_empty_too() {
    let report = run(&[], |wanted| chain(1, 3, None, wanted));
    assert_eq!(report.findings, [Finding::NoHeads { chain_end: 3 }]);
    let report = run(&[], |_| StoredChain::default());
    assert!(report.is_clean(), "{report}");
    let report = run(&[published(1, Some(&key()))], |_| StoredChain::default());
    assert!(
        report.to_string().contains("the stored log is empty"),
        "{report}"
    );
}
