//! Add context: the customer's words added after a signed message are read,
//! the audit keeps no customer text, and the draft posted after a re-triage
//! states what already ran. Signed Slack-shaped requests, localstripe, the
//! Slack stand-in, real Redis.

use crate::fixtures::{context_submission, lookup_case, refunds, scenario, start, OUTAGE};
use crate::helpers::*;
use billing_triage::audit::AuditKind;
use billing_triage::domain::{
    ActionKind, ActionStatus, Actor, Case, CaseId, Category, SlackUserId, Triage,
};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Waits until the stored case satisfies `done`; returns it.
async fn stored_when(app: &TestApp, id: &CaseId, done: impl Fn(&Case) -> bool) -> Case {
    for _ in 0..300 {
        let case = app
            .store
            .load_case(id)
            .await
            .expect("redis")
            .expect("stored");
        if done(&case) {
            return case;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the case never got there; the bot made these calls: {:#?}",
        app.slack.calls()
    );
}

/// Waits for a `method` call (a post, an ephemeral answer) whose text
/// contains `marker`; returns the text.
async fn said(app: &TestApp, method: &str, marker: &str) -> String {
    for _ in 0..300 {
        let found = app
            .slack
            .calls_to(method)
            .into_iter()
            .filter_map(|c| c.body["text"].as_str().map(str::to_owned))
            .find(|t| t.contains(marker));
        if let Some(text) = found {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {method} with {marker:?}: {:#?}", app.slack.calls());
}

#[tokio::test]
async fn words_added_after_a_signed_message_are_read_and_the_audit_keeps_no_text() {
    let (_stripe, seeded, app) = start().await;
    let product = scenario(&seeded, "product failure or broken trust");
    let signed = "Hello, a question about my account.\n\nThanks,\nAna";
    let before = lookup_case(&app, &format!("lookup {} {signed}", product.customer), 0).await;
    assert!(
        matches!(before.triage, Triage::NeedsReview { .. }),
        "{:?}",
        before.triage
    );
    assert!(refunds(&before).is_empty());

    let reply = app
        .interact(&context_submission(&before.id, "customer_message", OUTAGE))
        .await;
    assert_eq!(reply.status, 200);
    let after = stored_when(&app, &before.id, |c| !c.context.messages.is_empty()).await;
    assert!(
        matches!(
            after.triage,
            Triage::Classified {
                category: Category::ProductFailure,
                ..
            }
        ),
        "the words after the sign-off are read: {:?}",
        after.triage
    );
    assert!(!refunds(&after).is_empty(), "{:?}", after.actions);
    assert_eq!(
        after.message.as_deref(),
        Some(signed),
        "the first message stays as it was"
    );
    let added = &after.context.messages[0];
    assert_eq!(added.text, OUTAGE);
    assert_eq!(
        added.by,
        Actor::Slack(SlackUserId::parse(REQUESTER).expect("user"))
    );

    // The audit says what was added, not the customer's words.
    let trail = app.store.audit_trail(&before.id).await.expect("redis");
    let entry = &trail
        .iter()
        .find(|(_, e)| e.kind == AuditKind::ContextAdded)
        .expect("the addition is audited")
        .1;
    assert_eq!(
        entry.detail,
        serde_json::json!({
            "as": "customer_message",
            "chars": OUTAGE.chars().count(),
            "sha256": hex::encode(Sha256::digest(OUTAGE.as_bytes())),
        })
    );
    let all = serde_json::to_string(&trail.iter().map(|(_, e)| &e.detail).collect::<Vec<_>>())
        .expect("serialises");
    assert!(!all.contains("nine days"), "{all}");
}

#[tokio::test]
async fn the_draft_after_add_context_states_a_refund_that_already_ran() {
    let (_stripe, seeded, app) = start().await;
    let product = scenario(&seeded, "product failure or broken trust");
    let case = lookup_case(&app, &format!("lookup {} {OUTAGE}", product.customer), 0).await;
    let refund = *refunds(&case).first().expect("a refund is proposed");
    let ActionKind::Refund(target) = &refund.kind else {
        unreachable!("filtered on refunds");
    };
    let (_, url) = app
        .click(
            "approve_action",
            &format!("{}/{}", case.id, refund.key),
            APPROVER_1,
        )
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.starts_with("Done"), "{answer}");
    let ran = app
        .store
        .action_status(&case.id, &refund.key)
        .await
        .expect("redis");
    assert!(
        matches!(ran, Some(ActionStatus::Succeeded { .. })),
        "{ran:?}"
    );

    let reply = app
        .interact(&context_submission(
            &case.id,
            "operator_note",
            "Called the customer: the outage matches our incident log.",
        ))
        .await;
    assert_eq!(reply.status, 200);
    let draft = said(&app, "chat.postMessage", "updated with the added context").await;
    let refunded = format!("we refunded {}", target.amount);
    assert!(draft.contains(&refunded), "{draft}");
    assert!(!draft.contains("will review"), "{draft}");
    let after = stored_when(&app, &case.id, |c| !c.context.notes.is_empty()).await;
    assert!(
        after.followup.text.contains(&refunded),
        "{}",
        after.followup.text
    );
    assert_eq!(after.followup.locale, case.followup.locale);
    assert_eq!(
        app.store
            .action_status(&case.id, &refund.key)
            .await
            .expect("redis"),
        ran,
        "the refund's state is untouched"
    );
}

#[tokio::test]
async fn a_case_keeps_the_newest_notes_and_says_when_older_ones_went() {
    let (_stripe, seeded, app) = start().await;
    let product = scenario(&seeded, "product failure or broken trust");
    let case = lookup_case(&app, &format!("lookup {}", product.customer), 0).await;
    let kept = billing_triage::workflow::context::MAX_NOTES;
    for n in 1..=kept + 1 {
        let reply = app
            .interact(&context_submission(
                &case.id,
                "operator_note",
                &format!("note {n}"),
            ))
            .await;
        assert_eq!(reply.status, 200);
        // One after the other: each is stored before the next is sent.
        stored_when(&app, &case.id, |c| {
            c.context
                .notes
                .last()
                .is_some_and(|l| l.text == format!("note {n}"))
        })
        .await;
    }
    let after = stored_when(&app, &case.id, |_| true).await;
    let notes: Vec<String> = after.context.notes.iter().map(|n| n.text.clone()).collect();
    let newest: Vec<String> = (2..=kept + 1).map(|n| format!("note {n}")).collect();
    assert_eq!(notes, newest);
    let told = said(&app, "chat.postEphemeral", "oldest note(s) were dropped").await;
    assert!(told.contains(&format!("keeps the newest {kept}")), "{told}");
}
