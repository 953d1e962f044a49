//! Who may see billing, and where: each refusal (a non-operator, a guest, a
//! channel outside `BILLING_CHANNELS`, a Slack Connect channel, a button
//! clicked by a non-operator) through signed HTTP requests, told privately
//! through the `response_url` after the answer, with nothing
//! fetched from Stripe, posted or stored, and the attempt audited with the
//! customer identifier hashed; the allowed paths unchanged.

use crate::fixtures::{card_of, case_id_of, scenario, seeded, value};
use crate::helpers::*;
use crate::localstripe;
use billing_triage::access::{AccessConfig, Operators};
use billing_triage::audit::{AuditEvent, AuditKind};
use billing_triage::config::Config;
use billing_triage::domain::{ChannelId, SlackUserId, UserGroupId};
use std::collections::BTreeSet;
use std::sync::Arc;

const OPERATOR: &str = "U0OPERATOR";
const OUTSIDER: &str = "U0OUTSIDER";
const GROUP: &str = "S0BILLOPS1";
const GROUP_MEMBER: &str = "U0GROUPMEM";
const GENERAL: &str = "C0GENERAL1";
const CONNECT: &str = "C0CONNECT1";

/// A Stripe that answers nothing and records every call.
async fn silent_stripe() -> (String, Arc<std::sync::Mutex<Vec<StripeCall>>>) {
    scripted_stripe(Arc::new(|_, _| (500, "{}".to_owned()))).await
}

/// The bot scoped to `OPERATOR`, the `GROUP` and `APPROVER_1`/`APPROVER_2`,
/// in `CHANNEL` only (or unscoped).
async fn app_with(stripe_base: &str, scoped: bool) -> TestApp {
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let mut config: Config = test_config(stripe_base, &slack, store.prefix());
    if scoped {
        config.access = AccessConfig {
            operators: Some(Operators {
                users: [OPERATOR, APPROVER_1, APPROVER_2, REQUESTER]
                    .iter()
                    .map(|u| SlackUserId::parse(u).expect("user"))
                    .collect(),
                groups: vec![UserGroupId::parse(GROUP).expect("group")],
            }),
            channels: Some(BTreeSet::from(
                [ChannelId::parse(CHANNEL).expect("channel")],
            )),
        };
    }
    slack.set_group(GROUP, &[GROUP_MEMBER]);
    slack.set_channel(
        CONNECT,
        serde_json::json!({"is_shared": true, "is_ext_shared": true}),
    );
    spawn_with(config, slack, store).await
}

/// The `access_refused` entries of the trail.
async fn refusals(app: &TestApp, expected: usize) -> Vec<billing_triage::audit::AccessRefused> {
    // Refusals are audited in the background after the answer: wait (up to
    // 10 s) until `expected` have been written, then read once more so a
    // stray extra one shows too.
    let mut found = Vec::new();
    for _ in 0..200 {
        found = audit_entries_of_all(&app.store)
            .await
            .into_iter()
            .filter(|e| e.kind == AuditKind::AccessRefused)
            .filter_map(|e| match e.event() {
                Ok(AuditEvent::AccessRefused(r)) => Some(r),
                _ => None,
            })
            .collect();
        if found.len() >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    found
}

/// Nothing posted in a channel, nothing stored on a case.
async fn nothing_shown_or_stored(app: &TestApp) {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        app.slack.calls_to("chat.postMessage").is_empty(),
        "nothing posted"
    );
    assert!(
        audit_entries_of_all(&app.store)
            .await
            .iter()
            .all(|e| e.kind == AuditKind::AccessRefused),
        "no lookup, case or report was started"
    );
}

/// The action is untouched: still proposed.
async fn assert_still_proposed(
    app: &TestApp,
    case: &billing_triage::domain::CaseId,
    key: &billing_triage::domain::ActionKey,
) {
    let states = app
        .store
        .action_statuses(case, std::slice::from_ref(key))
        .await
        .expect("redis");
    assert!(
        matches!(
            states[0].1,
            billing_triage::domain::ActionStatus::Proposed { .. }
        ),
        "the action is untouched: {states:?}"
    );
}

#[tokio::test]
async fn a_non_operator_guest_other_channel_or_slack_connect_channel_is_refused_privately() {
    let (base, calls) = silent_stripe().await;
    let app = app_with(&base, true).await;
    app.slack
        .set_user("U0AGUEST01", serde_json::json!({"is_restricted": true}));
    let email = "ana@example.com";

    let cases = [
        (OUTSIDER, CHANNEL, "not_operator", "BILLING_OPERATORS"),
        ("U0AGUEST01", CHANNEL, "guest", "guests"),
        (OPERATOR, GENERAL, "channel_not_allowed", "<#C0BILLING1>"),
        (
            OPERATOR,
            CONNECT,
            "shared_channel",
            "shared with another organisation",
        ),
    ];
    for (user, channel, _, says) in cases {
        let (reply, url) = app
            .slash_in(
                &format!("lookup {email} I was charged twice"),
                user,
                channel,
            )
            .await;
        assert_eq!(reply.status, 200);
        let json = reply.json();
        assert_eq!(json["response_type"], "ephemeral", "{json}");
        // Answered before the check; the refusal follows, to them alone.
        let text = app.answer_at(&url).await;
        assert!(
            text.starts_with("Not shown") && text.contains(says),
            "{user} in {channel}: {text}"
        );
    }
    nothing_shown_or_stored(&app).await;
    assert!(
        calls.lock().expect("calls").is_empty(),
        "Stripe never called"
    );

    let refused = refusals(&app, cases.len()).await;
    let reasons: Vec<&str> = refused.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), cases.len(), "{refused:?}");
    for (_, channel, reason, _) in cases {
        assert!(reasons.contains(&reason), "{reason} audited: {reasons:?}");
        assert!(refused
            .iter()
            .any(|r| r.channel.as_deref() == Some(channel)));
    }
    for r in &refused {
        assert_eq!(r.on, "lookup");
        let subject = r.subject.as_deref().expect("the identifier, hashed");
        assert_eq!(subject.len(), 64);
        assert!(!subject.contains("ana"), "never in clear");
    }
    // The same identifier hashes alike, so an auditor can match attempts.
    assert!(refused.windows(2).all(|w| w[0].subject == w[1].subject));
}

#[tokio::test]
async fn a_slack_connect_channel_and_another_organisations_user_are_refused_even_unscoped() {
    let (base, calls) = silent_stripe().await;
    let app = app_with(&base, false).await;
    app.slack
        .set_user("U0STRANGER", serde_json::json!({"team_id": "T0OTHER01"}));
    let (_, url) = app.slash_in("churn 30d", OPERATOR, CONNECT).await;
    let text = app.answer_at(&url).await;
    assert!(text.contains("shared with another organisation"), "{text}");
    let (_, url) = app.slash("lookup ana@example.com", "U0STRANGER").await;
    let text = app.answer_at(&url).await;
    assert!(text.contains("another organisation"), "{text}");
    nothing_shown_or_stored(&app).await;
    assert!(calls.lock().expect("calls").is_empty());
    let reasons: Vec<String> = refusals(&app, 2)
        .await
        .into_iter()
        .map(|r| r.reason)
        .collect();
    assert!(
        reasons.contains(&"shared_channel".to_owned()),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn allowed_operators_see_the_card_and_a_non_operators_click_on_it_does_nothing() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let dup = scenario(&seeded, "duplicate personal subscription");
    let app = app_with(&stripe.base_url(), true).await;

    // A member of the operators' user group, in the billing channel.
    app.slash(&format!("lookup {}", dup.customer), GROUP_MEMBER)
        .await;
    let card = card_of(&app.slack.wait_for("chat.postMessage", 2).await);
    let case = app
        .store
        .load_case(&case_id_of(&card))
        .await
        .expect("redis")
        .expect("the case is stored");
    let key = case.actions[0].key.clone();

    // Someone outside BILLING_OPERATORS clicks Approve: refused privately.
    let (_, url) = app
        .click("approve_action", &value(&case, &key), OUTSIDER)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(
        answer.contains("not one of the billing operators"),
        "{answer}"
    );
    assert_still_proposed(&app, &case.id, &key).await;
    let refused = refusals(&app, 1).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].on, "approve_action");
    assert_eq!(refused[0].reason, "not_operator");

    // Their submission of a reject form is refused in the modal itself,
    // before it is answered (its answer is the modal's).
    let reply = app
        .submit_view(
            "reject_reason",
            &format!("{}/{key}", case.id),
            "reason_block",
            "reason",
            "not needed",
            OUTSIDER,
        )
        .await;
    let json = reply.json();
    assert_eq!(json["response_action"], "update", "{json}");
    assert_eq!(json["view"]["title"]["text"], "Not allowed", "{json}");
    assert_still_proposed(&app, &case.id, &key).await;
}
