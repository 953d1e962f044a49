//! The typed audit schema against what entries hold: details as the code
//! wrote them before the types (byte for byte), older reason spellings,
//! unreadable details, and docs/AUDIT.md (every kind, every field).

use super::*;
use crate::audit::{chain, entry_hash, AuditEntry, NewEntry, GENESIS};
use crate::domain::trail::write_value;
use crate::domain::{
    ActionKind, Actor, CaseId, ChargeId, Currency, Money, Origin, ProposedAction, RefundTarget,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The schema as written down; compiled in, so the test reads no file.
const AUDIT_MD: &str = include_str!("../../../docs/AUDIT.md");

/// Compact JSON with keys sorted at every depth, as the hash sees it.
fn canonical(value: &Value) -> String {
    let mut out = Vec::new();
    write_value(&mut out, value);
    String::from_utf8(out).expect("canonical JSON is UTF-8")
}

/// `detail` (canonical) reads as an event of `kind` that writes it back
/// byte for byte.
fn check_golden(kind: AuditKind, detail: &str) {
    let stored: Value = serde_json::from_str(detail).expect("golden JSON");
    assert_eq!(
        canonical(&stored),
        detail,
        "golden details are written canonical"
    );
    let event = AuditEvent::read(kind, &stored)
        .unwrap_or_else(|e| panic!("{kind}: {detail} does not read: {e}"));
    assert_eq!(event.kind(), kind);
    assert_eq!(
        canonical(&event.detail()),
        detail,
        "{kind} writes back what it read"
    );
}

#[test]
fn details_as_written_before_the_types_read_and_write_back_byte_for_byte() {
    let goldens: &[(AuditKind, &str)] = &[
        (
            AuditKind::LookupRequested,
            r#"{"identifier":"customer id"}"#,
        ),
        (AuditKind::LookupRequested, r#"{"identifier":"email"}"#),
        (
            AuditKind::CaseOpened,
            r#"{"n_actions":2,"triage":"DuplicatePersonalSubscription"}"#,
        ),
        (
            AuditKind::CaseOpened,
            r#"{"n_actions":1,"triage":"needs_review"}"#,
        ),
        (AuditKind::LookupFailed, r#"{"reason":"stripe_error"}"#),
        (
            AuditKind::LookupFailed,
            r#"{"n_actions":0,"triage":"not_found"}"#,
        ),
        (
            AuditKind::ActionChosen,
            r#"{"action":"refund","amount_minor":1500,"summary":"Refund EUR 15.00 of ch_3Nx"}"#,
        ),
        (
            AuditKind::ActionChosen,
            r#"{"action":"cancel_subscription","amount_minor":null,"summary":"Cancel sub_1 at the end of its period"}"#,
        ),
        (AuditKind::ApprovalGranted, r#"{"still_needed":1}"#),
        (
            AuditKind::ActionRejected,
            r#"{"reason":"paid by bank transfer"}"#,
        ),
        (AuditKind::ActionExpired, r#"{}"#),
        (
            AuditKind::ExecutionIntent,
            concat!(
                r#"{"action":"cancel_duplicate","amount_minor":null,"approved_by":["U0APPROVE1","U0APPROVE2"],"#,
                r#""attempt":2,"new_keys":true,"steps":["#,
                r#"{"idempotency_key":"billing-triage:case_7:a2:cancel:attempt2","#,
                r#""metadata":{"action":"a2","approved_by":"U0APPROVE1,U0APPROVE2","case_id":"case_7","step":"cancel"},"#,
                r#""request":{"at_period_end":false,"kind":"cancel","subscription":"sub_1"},"step":"cancel"},"#,
                r#"{"idempotency_key":"billing-triage:case_7:a2:refund:ch_1:attempt2","#,
                r#""metadata":{"action":"a2","approved_by":"U0APPROVE1,U0APPROVE2","case_id":"case_7","step":"refund:ch_1"},"#,
                r#""request":{"amount":{"currency":"eur","minor":3900},"charge":"ch_1","kind":"refund"},"step":"refund:ch_1"}]}"#
            ),
        ),
        (
            AuditKind::ExecutionIntent,
            r#"{"action":"close_no_action","amount_minor":null,"approved_by":["U0APPROVE1"],"attempt":1,"new_keys":false,"steps":[]}"#,
        ),
        (
            AuditKind::ExecutionSucceeded,
            r#"{"action":"refund","confirmed":["refund re_1 of EUR 39.00"],"note":null,"refunded_minor":3900}"#,
        ),
        (
            AuditKind::ExecutionSucceeded,
            r#"{"action":"portal_link","confirmed":[],"note":"portal session created; URL not recorded","refunded_minor":null}"#,
        ),
        (
            AuditKind::ExecutionFailed,
            r#"{"action":"refund","confirmed":[],"error":"Stripe refused refund:ch_1: charge_disputed","reference":"r-7f3a"}"#,
        ),
        (
            AuditKind::ExecutionFailed,
            r#"{"action":"cancel_subscription","confirmed":["refund re_1 of EUR 39.00"],"error":"no answer in time","nothing_happened":true,"step":"cancel"}"#,
        ),
        (
            AuditKind::ExecutionFailed,
            r#"{"action":"refund","error":"interrupted before Stripe was called","nothing_sent":true}"#,
        ),
        (
            AuditKind::ExecutionReconciled,
            r#"{"owner":{"from_owner":"inst_other","owner_gone":true},"verifying":true}"#,
        ),
        (
            AuditKind::ExecutionReconciled,
            r#"{"owner":{"from_owner":"inst_other","owner_gone":false},"resumed":true}"#,
        ),
        (
            AuditKind::ExecutionReconciled,
            r#"{"owner":{"from_owner":null,"owner_gone":false},"resumed":false}"#,
        ),
        (
            AuditKind::ExecutionVerifying,
            r#"{"reason":"no answer in time","step":"refund:ch_1"}"#,
        ),
        (
            AuditKind::ExecutionConfirmed,
            r#"{"after":"HTTP 500","found":"re_1","step":"refund:ch_1"}"#,
        ),
        (
            AuditKind::ExecutionConfirmed,
            r#"{"after":"no answer in time","done_on_stripe":"sub_1 is canceled","found":null,"step":"cancel"}"#,
        ),
        (
            AuditKind::ExecutionConfirmed,
            r#"{"after":"no answer in time","found":null,"step":"portal"}"#,
        ),
        (
            AuditKind::PortalLinkCreated,
            r#"{"shown_to":"U0APPROVE1,U0APPROVE2"}"#,
        ),
        (AuditKind::FollowUpPosted, r#"{"locale":"de"}"#),
        (AuditKind::CaseClosed, r#"{}"#),
        (AuditKind::ReportRun, r#"{"days":30,"report":"churn"}"#),
        (
            AuditKind::AccessRefused,
            r#"{"channel":"C0GENERAL1","on":"lookup","reason":"not_operator","subject":"5d41402abc4b2a76"}"#,
        ),
        (
            AuditKind::ContextAdded,
            r#"{"as":"customer_message","chars":87,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}"#,
        ),
        (
            AuditKind::CaseRetriaged,
            r#"{"added_actions":["a3","a4"],"triage":"Product failure or broken trust"}"#,
        ),
        (
            AuditKind::CaseRetriaged,
            r#"{"added_actions":[],"triage":"needs human review"}"#,
        ),
        // Refusals as written from now on: a code, and the fields of its reason.
        (
            AuditKind::ApprovalRefused,
            r#"{"on":"approve","reason":"prompted_it"}"#,
        ),
        (
            AuditKind::ApprovalRefused,
            r#"{"on":"reject","reason":"already_resolved","state":"done"}"#,
        ),
        (
            AuditKind::ApprovalRefused,
            r#"{"card_channel":"C0CARDS","channel":null,"on":"approve_action","reason":"wrong_channel"}"#,
        ),
        (
            AuditKind::ApprovalRefused,
            r#"{"message":"ch_1 was not paid, so there is nothing to refund","on":"choose","reason":"not_paid"}"#,
        ),
    ];
    for (kind, detail) in goldens {
        check_golden(*kind, detail);
    }
}

/// The intent the workflow wrote by hand before the types, from a real plan.
fn intent_as_written_by_hand(
    action: &ProposedAction,
    approved_by: &[SlackUserId],
    plan: &Plan,
) -> Value {
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| json!({ "step": s.name, "request": s.step, "idempotency_key": s.idempotency_key, "metadata": s.metadata }))
        .collect();
    json!({
        "action": action.kind.name(),
        "approved_by": approved_by,
        "amount_minor": plan.refund_amount().map(|m| m.minor),
        "attempt": plan.attempt,
        "new_keys": plan.attempt > 1,
        "steps": steps,
    })
}

#[test]
fn an_intent_is_the_detail_the_workflow_wrote_by_hand() {
    let case = CaseId::from_random(0x7);
    let approved_by = vec![
        SlackUserId::parse("U0APPROVE1").expect("id"),
        SlackUserId::parse("U0APPROVE2").expect("id"),
    ];
    let action = ProposedAction {
        key: crate::domain::test_key("a2"),
        kind: ActionKind::Refund(RefundTarget {
            charge: ChargeId::parse("ch_1").expect("id"),
            amount: Money::new(3900, Currency::parse("eur").expect("eur")),
        }),
        summary: "Refund".to_owned(),
        rationale: String::new(),
        origin: Origin::Proposed,
    };
    let first = crate::plan::plan(&case, &action, &approved_by, None);
    for plan in [
        first.clone(),
        first.next_attempt(&case, &crate::domain::test_key("a2")),
    ] {
        let event = ExecutionIntent::of(&action.kind, &approved_by, &plan);
        assert_eq!(
            AuditEvent::from(event).detail(),
            intent_as_written_by_hand(&action, &approved_by, &plan)
        );
    }
}

#[test]
fn an_event_hashes_as_the_same_detail_written_by_hand() {
    let event = ExecutionSucceeded {
        action: "refund".to_owned(),
        refunded_minor: Some(3900),
        note: None,
        confirmed: vec!["refund re_1 of EUR 39.00".to_owned()],
    };
    let actor = Actor::Slack(SlackUserId::parse("U0APPROVE1").expect("id"));
    let typed = chain(
        NewEntry::new(event, actor, 1_700_000_000)
            .for_case(CaseId::from_random(0x7))
            .on_action("a2")
            .with_stripe_ids(vec!["ch_1".to_owned(), "re_1".to_owned()]),
        12,
        GENESIS,
    );
    let by_hand = AuditEntry {
        detail: json!({ "action": "refund", "refunded_minor": 3900, "note": null, "confirmed": ["refund re_1 of EUR 39.00"] }),
        hash: String::new(),
        ..typed.clone()
    };
    assert_eq!(entry_hash(&by_hand), typed.hash);
    assert_eq!(typed.kind, AuditKind::ExecutionSucceeded);
}

#[test]
fn reasons_written_before_codes_still_read_as_codes() {
    let cases = [
        (
            json!({"reason": "NotAnApprover", "on": "approve"}),
            RefusalCode::NotAnApprover,
            None,
        ),
        (
            json!({"reason": "SelfApproval", "on": "approve"}),
            RefusalCode::RequestedIt,
            None,
        ),
        (
            json!({"reason": "ChoseIt", "on": "approve"}),
            RefusalCode::ChoseIt,
            None,
        ),
        (
            json!({"reason": "PromptedIt", "on": "approve"}),
            RefusalCode::PromptedIt,
            None,
        ),
        (
            json!({"reason": "AlreadyApprovedByYou", "on": "approve"}),
            RefusalCode::AlreadyApprovedByYou,
            None,
        ),
        (
            json!({"reason": "Expired", "on": "reject"}),
            RefusalCode::Expired,
            None,
        ),
        (
            json!({"reason": "AlreadyResolved(\"being checked with Stripe\")", "on": "reject"}),
            RefusalCode::AlreadyResolved,
            Some("being checked with Stripe"),
        ),
        (
            json!({"reason": "WrongChannel", "on": "reject_action", "channel": "C0ELSEWHERE", "card_channel": null}),
            RefusalCode::WrongChannel,
            None,
        ),
    ];
    for (stored, code, state) in cases {
        let Ok(AuditEvent::ApprovalRefused(refused)) =
            AuditEvent::read(AuditKind::ApprovalRefused, &stored)
        else {
            panic!("{stored} does not read as a refusal");
        };
        assert_eq!(refused.reason, RefusalReason::Code(code), "{stored}");
        assert_eq!(refused.state.as_deref(), state, "{stored}");
        // Written again, it takes the one stable form.
        let written = AuditEvent::ApprovalRefused(refused).detail();
        assert_eq!(written["reason"], serde_json::to_value(code).expect("code"));
    }
    let wrong: Value = json!({"reason": "WrongChannel", "on": "reject_action", "channel": "C0ELSEWHERE", "card_channel": null});
    let Ok(AuditEvent::ApprovalRefused(refused)) =
        AuditEvent::read(AuditKind::ApprovalRefused, &wrong)
    else {
        panic!("a wrong-channel refusal");
    };
    assert_eq!(
        refused.channel,
        Some(Some(ChannelId::parse("C0ELSEWHERE").expect("id")))
    );
    assert_eq!(
        refused.card_channel,
        Some(None),
        "present as null, not absent"
    );
}

#[test]
fn a_choice_refused_before_codes_keeps_its_sentence() {
    let stored = r#"{"on":"choose","reason":"ch_1 is disputed: Stripe does not refund a disputed charge; answer the dispute in the Stripe dashboard instead"}"#;
    check_golden(AuditKind::ApprovalRefused, stored);
    let value: Value = serde_json::from_str(stored).expect("JSON");
    let Ok(AuditEvent::ApprovalRefused(refused)) =
        AuditEvent::read(AuditKind::ApprovalRefused, &value)
    else {
        panic!("a refused choice");
    };
    assert_eq!(refused.reason.code(), None);
    // Anywhere but a choice, a reason that is no code is an error.
    let bad = json!({"on": "approve", "reason": "because"});
    let error = AuditEvent::read(AuditKind::ApprovalRefused, &bad).expect_err("not a reason");
    assert!(
        error
            .to_string()
            .contains("`because` is not a refusal reason"),
        "{error}"
    );
}

#[test]
fn every_refusal_is_written_as_its_own_snake_case_code() {
    use crate::policy::Refusal;
    let refusals = [
        (Refusal::NotAnApprover, "not_an_approver"),
        (Refusal::SelfApproval, "requested_it"),
        (Refusal::ChoseIt, "chose_it"),
        (Refusal::PromptedIt, "prompted_it"),
        (Refusal::AlreadyApprovedByYou, "already_approved_by_you"),
        (Refusal::Expired, "expired"),
        (Refusal::AlreadyResolved("rejected"), "already_resolved"),
    ];
    for (refusal, code) in refusals {
        let event = AuditEvent::from(ApprovalRefused::by_policy(&refusal, "approve"));
        let detail = event.detail();
        assert_eq!(detail["reason"], code, "{refusal:?}");
        assert_eq!(
            AuditEvent::read(AuditKind::ApprovalRefused, &detail).expect("reads"),
            event
        );
    }
    let choice = ChoiceRefusal::NotPositive;
    let detail = AuditEvent::from(ApprovalRefused::choice(&choice)).detail();
    assert_eq!(
        detail,
        json!({"on": "choose", "reason": "not_positive", "message": "A refund must be more than zero"})
    );
}

#[test]
fn a_detail_that_does_not_read_names_its_kind_and_unknown_fields_are_ignored() {
    let error = AuditEvent::read(AuditKind::ExecutionIntent, &json!({})).expect_err("no fields");
    assert_eq!(error.kind, AuditKind::ExecutionIntent);
    assert!(error.to_string().contains("`execution_intent`"), "{error}");
    let error = AuditEvent::read(AuditKind::ApprovalGranted, &json!({"still_needed": "one"}))
        .expect_err("a string for a count");
    assert!(error.to_string().contains("approval_granted"), "{error}");
    let error = AuditEvent::read(
        AuditKind::CaseOpened,
        &json!({"triage": "Unsure", "n_actions": 0}),
    )
    .expect_err("no such triage");
    assert!(
        error
            .to_string()
            .contains("`Unsure` is not a triage outcome"),
        "{error}"
    );
    let extra = json!({"days": 7, "report": "gaps", "added_later": true});
    assert_eq!(
        AuditEvent::read(AuditKind::ReportRun, &extra).expect("lenient"),
        AuditEvent::from(ReportRun {
            report: "gaps".to_owned(),
            days: 7,
        })
    );
}

#[test]
fn every_example_reads_back_as_itself() {
    for event in AuditEvent::examples() {
        let detail = event.detail();
        let read = AuditEvent::read(event.kind(), &detail).expect("an example reads");
        assert_eq!(read, event);
        assert_eq!(read.detail(), detail);
    }
}

#[test]
fn all_is_every_kind_serde_knows_in_order() {
    let names: Vec<&str> = AuditKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(names, serde_variant_names::<AuditKind>());
    for kind in AuditKind::ALL {
        assert_eq!(
            serde_json::to_value(kind).expect("kind"),
            json!(kind.name())
        );
    }
}

#[test]
fn docs_audit_md_lists_every_kind_with_exactly_its_fields() {
    let sections = doc_sections();
    let documented: BTreeSet<&str> = sections
        .keys()
        .filter_map(|title| title.strip_prefix("kind "))
        .collect();
    let kinds: BTreeSet<&str> = AuditKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(
        documented, kinds,
        "docs/AUDIT.md has one `### `kind`` section per kind"
    );
    for kind in AuditKind::ALL {
        let examples = AuditEvent::examples_of(kind);
        assert!(!examples.is_empty(), "{kind} has no example");
        let mut shown = BTreeSet::new();
        for event in &examples {
            assert_eq!(event.kind(), kind);
            shown.extend(field_names(&event.detail()));
        }
        let listed = &sections[&format!("kind {kind}")];
        assert_eq!(
            &shown, listed,
            "docs/AUDIT.md's table for `{kind}` lists exactly the fields its examples write"
        );
    }
}

#[test]
fn docs_audit_md_names_every_refusal_code_and_triage_outcome() {
    for code in serde_variant_names::<RefusalCode>() {
        assert!(
            AUDIT_MD.contains(&format!("`{code}`")),
            "docs/AUDIT.md names `{code}`"
        );
    }
    let outcomes = [TriageOutcome::NeedsReview, TriageOutcome::NotFound]
        .into_iter()
        .chain(Category::ALL.map(TriageOutcome::Classified));
    for outcome in outcomes {
        let stored = serde_json::to_value(outcome).expect("outcome");
        assert_eq!(stored, json!(outcome.as_str()));
        assert_eq!(
            serde_json::from_value::<TriageOutcome>(stored).expect("reads back"),
            outcome
        );
        let name = outcome.as_str();
        assert!(
            AUDIT_MD.contains(&format!("`{name}`")),
            "docs/AUDIT.md names `{name}`"
        );
    }
}

#[test]
fn docs_audit_md_lists_the_envelope_fields() {
    let entry = chain(
        NewEntry::new(CaseClosed {}, Actor::System, 1_700_000_000),
        1,
        GENESIS,
    );
    let Value::Object(written) = serde_json::to_value(&entry).expect("entry") else {
        panic!("an entry is an object");
    };
    let written: BTreeSet<String> = written.keys().cloned().collect();
    assert_eq!(&written, &doc_sections()["envelope"]);
}

/// The field names a detail shows: its keys, `key.child` inside an object
/// and `key[].child` inside a list of objects (one level, as the doc).
fn field_names(detail: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let Value::Object(fields) = detail else {
        return names;
    };
    for (key, value) in fields {
        names.insert(key.clone());
        match value {
            Value::Object(inner) => names.extend(inner.keys().map(|k| format!("{key}.{k}"))),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        names.extend(inner.keys().map(|k| format!("{key}[].{k}")));
                    }
                }
            }
            _ => {}
        }
    }
    names
}

/// The tables of docs/AUDIT.md: `envelope` (the section whose heading
/// starts "The envelope") and `kind <name>` (each `### `name`` section),
/// each with the names in its rows' first cell.
fn doc_sections() -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let mut sections = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for line in AUDIT_MD.lines() {
        if let Some(heading) = line.strip_prefix('#') {
            let heading = heading.trim_start_matches('#').trim();
            current = if heading.starts_with("The envelope") {
                Some("envelope".to_owned())
            } else if line.starts_with("### `") {
                heading
                    .strip_prefix('`')
                    .and_then(|h| h.split_once('`'))
                    .map(|(name, _)| format!("kind {name}"))
            } else {
                None
            };
            if let Some(title) = &current {
                sections.entry(title.clone()).or_insert_with(BTreeSet::new);
            }
            continue;
        }
        let (Some(title), Some(row)) = (&current, line.strip_prefix("| `")) else {
            continue;
        };
        if let Some((name, _)) = row.split_once('`') {
            if let Some(fields) = sections.get_mut(title) {
                fields.insert(name.to_owned());
            }
        }
    }
    sections
}

/// The variant names serde's derive gives the enum `T` (for `AuditKind`:
/// every kind the stored `kind` may hold, whatever [`AuditKind::ALL`] says).
fn serde_variant_names<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
    use serde::de::{self, Visitor};
    struct Names(Option<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for &mut Names {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only an enum is asked for"))
        }
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            variants: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(variants);
            Err(de::Error::custom("names recorded"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            struct identifier ignored_any
        }
    }
    let mut names = Names(None);
    let _ = T::deserialize(&mut names);
    names.0.expect("an enum deserialises as one").to_vec()
}
