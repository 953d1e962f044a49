//! The App Home through real deliveries: a signed `app_home_opened` event
//! (and Slack's retry of it), the Home published with `views.publish`
//! (asserted on its Block Kit), four eyes in "Waiting on you", and an
//! approval from the Home that runs once on localstripe.

use crate::fixtures::{
    put_case, refund_case_for, refunds_in_localstripe, seeded_charge, status, value,
};
use crate::helpers::*;
use crate::localstripe;
use billing_triage::domain::ActionStatus;
use serde_json::{json, Value};
use std::time::Duration;

const OUTSIDER: &str = "U0OUTSIDE1";

fn home_opened(user: &str, event_id: &str) -> String {
    json!({
        "token": "x", "team_id": TEAM, "api_app_id": "A123456", "type": "event_callback",
        "event_id": event_id, "event_time": now_ts(),
        "event": {"type": "app_home_opened", "user": user, "channel": "D0HOME0001", "tab": "home", "event_ts": "1700000000.000100"}
    })
    .to_string()
}

/// The views published for `user` so far.
fn homes_of(app: &TestApp, user: &str) -> Vec<Value> {
    app.slack
        .calls_to("views.publish")
        .into_iter()
        .filter(|c| c.body["user_id"] == user)
        .map(|c| c.body["view"].clone())
        .collect()
}

async fn wait_homes(app: &TestApp, user: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let homes = homes_of(app, user);
        if homes.len() >= n {
            return homes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{user}'s Home was published {} times, not {n}",
        homes_of(app, user).len()
    );
}

/// The values of the Approve buttons in a Home.
fn approve_values(home: &Value) -> Vec<String> {
    home["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["action_id"] == "approve_action")
        .filter_map(|e| e["value"].as_str().map(str::to_owned))
        .collect()
}

/// The texts of the direct messages the bot sent `user`.
fn dms_to(app: &TestApp, user: &str) -> Vec<String> {
    app.slack
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == user)
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn home_click(user: &str, value: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": {"id": user, "username": "op", "team_id": TEAM},
        "api_app_id": "A123456",
        "container": {"type": "view", "view_id": "V0HOME0001"},
        "view": {"id": "V0HOME0001", "type": "home", "blocks": []},
        "trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
        "team": {"id": TEAM, "domain": "example"},
        "actions": [{"action_id": "approve_action", "block_id": "home_b", "type": "button", "value": value, "action_ts": "1700000000.000200"}]
    })
}

#[tokio::test]
async fn the_home_shows_each_user_what_waits_on_them_and_approves_from_there_once() {
    let stripe = localstripe::start().await;
    let (customer, charge, amount) = seeded_charge(&stripe.base_url()).await;
    let app = spawn_app(&stripe.base_url()).await;
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&app.store, &case, &statuses).await;
    let refund = value(&case, "a2");

    // Opened, and the same event again as Slack retries it: published once.
    for _ in 0..2 {
        let reply = app
            .post_signed(
                "/slack/events",
                "application/json",
                home_opened(APPROVER_1, "Ev0HOME1"),
            )
            .await;
        assert_eq!(reply.status, 200);
    }
    let home = wait_homes(&app, APPROVER_1, 1).await.remove(0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        homes_of(&app, APPROVER_1).len(),
        1,
        "a retried event publishes once"
    );
    assert_eq!(home["type"], "home");
    let text = home.to_string();
    assert!(
        text.contains("Waiting on you") && text.contains(case.id.as_str()),
        "{text}"
    );
    assert!(
        text.contains(&format!("<@{REQUESTER}>")),
        "who asked: {text}"
    );
    assert!(
        approve_values(&home).contains(&refund),
        "the refund waits on an approver: {text}"
    );
    assert!(home["blocks"].as_array().is_some_and(|b| b.len() <= 100));

    // The requester approves too, but never their own money move.
    app.post_signed(
        "/slack/events",
        "application/json",
        home_opened(REQUESTER, "Ev0HOME2"),
    )
    .await;
    let own = wait_homes(&app, REQUESTER, 1).await.remove(0);
    assert!(!approve_values(&own).contains(&refund), "four eyes: {own}");
    let own_text = own.to_string();
    assert!(
        own_text.contains("Your cases") && own_text.contains(case.id.as_str()),
        "{own_text}"
    );
    assert!(own_text.contains("awaiting approval"), "{own_text}");

    // Someone who is not an approver sees no buttons and who approves.
    app.post_signed(
        "/slack/events",
        "application/json",
        home_opened(OUTSIDER, "Ev0HOME3"),
    )
    .await;
    let outsider = wait_homes(&app, OUTSIDER, 1).await.remove(0);
    assert!(approve_values(&outsider).is_empty());
    assert!(
        outsider
            .to_string()
            .contains(&format!("Approvals are given by <@{APPROVER_1}>")),
        "{outsider}"
    );

    // Approve from the Home: the same path as the card, once.
    let before = homes_of(&app, APPROVER_1).len();
    let reply = app.interact(&home_click(APPROVER_1, &refund)).await;
    assert_eq!(reply.status, 200);
    let mut state = status(&app.store, &case, "a2").await;
    for _ in 0..200 {
        if matches!(
            state,
            ActionStatus::Succeeded { .. } | ActionStatus::Failed { .. }
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = status(&app.store, &case, "a2").await;
    }
    assert!(matches!(state, ActionStatus::Succeeded { .. }), "{state:?}");
    assert_eq!(refunds_in_localstripe(&stripe, &charge).await.len(), 1);
    let card = app.slack.wait_for("chat.update", 1).await;
    assert!(
        card.last()
            .is_some_and(|c| c.body.to_string().contains("Done")),
        "the card says it ran"
    );

    // Every open Home is refreshed: the action waits on nobody now.
    let refreshed = wait_homes(&app, APPROVER_1, before + 1).await;
    let mut latest = refreshed.last().cloned().unwrap_or_default();
    for _ in 0..100 {
        latest = homes_of(&app, APPROVER_1)
            .last()
            .cloned()
            .unwrap_or_default();
        if latest.to_string().contains("Recently done")
            && !approve_values(&latest).contains(&refund)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!approve_values(&latest).contains(&refund), "{latest}");
    assert!(latest.to_string().contains("done"), "{latest}");

    // A stale click on an old Home never acts twice.
    app.interact(&home_click(APPROVER_2, &refund)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        refunds_in_localstripe(&stripe, &charge).await.len(),
        1,
        "one refund in all"
    );
    assert!(matches!(
        status(&app.store, &case, "a2").await,
        ActionStatus::Succeeded { .. }
    ));
}

#[tokio::test]
async fn a_url_verification_is_answered_and_other_events_are_acknowledged() {
    let app = spawn_app(&closed_port_url()).await;
    let reply = app
        .post_signed(
            "/slack/events",
            "application/json",
            json!({"type": "event_callback", "event_id": "Ev0OTHER1", "event": {"type": "app_uninstalled"}}).to_string(),
        )
        .await;
    assert_eq!(reply.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.slack.calls_to("views.publish").is_empty());
}

/// A lookup whose card proposes a money move tells each approver who may
/// approve it once (a direct message with the card's link), never the
/// requester.
#[tokio::test]
async fn the_approvers_who_may_approve_are_told_once_and_the_requester_is_not() {
    let stripe = localstripe::start().await;
    let seeded = crate::fixtures::seeded(&stripe.base_url()).await;
    let duplicate = crate::fixtures::scenario(&seeded, "duplicate personal subscription");
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let mut config = test_config(&stripe.base_url(), &slack, store.prefix());
    config.approval_notify = billing_triage::domain::ApprovalNotify::DirectMessage;
    let app = spawn_with(config, slack, store).await;

    let case = crate::fixtures::lookup_case(&app, &format!("lookup {}", duplicate.email), 0).await;
    assert!(
        case.actions.iter().any(|a| a.kind.is_money_moving()),
        "{:?}",
        case.actions
    );
    let dm_to = |user: &str| dms_to(&app, user);
    for _ in 0..100 {
        if !dm_to(APPROVER_1).is_empty() && !dm_to(APPROVER_2).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for approver in [APPROVER_1, APPROVER_2] {
        let told = dm_to(approver);
        assert_eq!(told.len(), 1, "{approver} is told once: {told:?}");
        assert!(
            told[0].contains(case.id.as_str()) && told[0].contains(&format!("<@{REQUESTER}>")),
            "{}",
            told[0]
        );
        assert!(
            told[0].contains("https://example.slack.com/archives/"),
            "the card's link: {}",
            told[0]
        );
    }
    assert!(dm_to(REQUESTER).is_empty(), "never the requester");
}

/// An action whose approval window closed is marked lapsed by the sweep of
/// whichever replica gets there first: once in the state and the audit, its
/// card redrawn, its requester told once (with the card's link), and no
/// approver told anything.
#[tokio::test]
async fn a_lapsed_action_is_marked_once_and_its_requester_is_told_once() {
    let slack = SlackStandIn::start().await;
    let store = test_store().await;
    let amount = billing_triage::domain::Money::new(
        1_900,
        billing_triage::domain::Currency::parse("usd").expect("currency"),
    );
    // Lapsed a minute ago, before any replica ran.
    let (case, statuses) = refund_case_for("cus_Lapsed01", "ch_Lapsed01", amount, -60);
    put_case(&store, &case, &statuses).await;
    let mut config = test_config(&closed_port_url(), &slack, store.prefix());
    config.approval_notify = billing_triage::domain::ApprovalNotify::DirectMessage;
    // Two replicas sweep at start-up, on the same Redis.
    let second_store = crate::helpers::store_on(store.prefix()).await;
    let first = spawn_with(config.clone(), slack.clone(), store).await;
    let _second = spawn_with(config, slack, second_store).await;

    for key in ["a1", "a2", "a3"] {
        let mut state = status(&first.store, &case, key).await;
        for _ in 0..100 {
            if matches!(state, ActionStatus::Expired { .. }) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            state = status(&first.store, &case, key).await;
        }
        assert!(
            matches!(state, ActionStatus::Expired { .. }),
            "{key}: {state:?}"
        );
    }
    let expired = crate::fixtures::audit_kinds(&first.store, &case)
        .await
        .into_iter()
        .filter(|k| *k == billing_triage::audit::AuditKind::ActionExpired)
        .count();
    assert_eq!(expired, 3, "each action's lapse audited once");
    let card = first.slack.wait_for("chat.update", 1).await;
    assert!(
        card.last()
            .is_some_and(|c| c.body.to_string().contains("Expired")),
        "the card says so"
    );
    let dm_to = |user: &str| dms_to(&first, user);
    for _ in 0..100 {
        if dm_to(REQUESTER).len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let told = dm_to(REQUESTER);
    assert_eq!(told.len(), 3, "once per action, by one replica: {told:?}");
    for text in &told {
        assert!(
            text.contains("lapsed without approval") && text.contains(case.id.as_str()),
            "{text}"
        );
        assert!(
            text.contains("https://example.slack.com/archives/"),
            "{text}"
        );
    }
    assert!(
        told.iter().any(|t| t.contains("Refund ch_Lapsed01")),
        "names the action: {told:?}"
    );
    assert!(dm_to(APPROVER_1).is_empty() && dm_to(APPROVER_2).is_empty());
}

/// A change to a case redraws the Homes that showed it, and those it now
/// shows for (its requester, its approvers) among users who opened their
/// Home, and no other; each item links to its card.
#[tokio::test]
async fn a_change_redraws_only_the_homes_it_touches_and_items_link_to_their_cards() {
    let stripe = localstripe::start().await;
    let (customer, charge, amount) = seeded_charge(&stripe.base_url()).await;
    let app = spawn_app(&stripe.base_url()).await;
    let (case, statuses) = refund_case_for(&customer, &charge, amount, 3600);
    put_case(&app.store, &case, &statuses).await;

    for (user, event) in [(APPROVER_1, "Ev0SCOPE1"), (OUTSIDER, "Ev0SCOPE2")] {
        app.post_signed(
            "/slack/events",
            "application/json",
            home_opened(user, event),
        )
        .await;
        wait_homes(&app, user, 1).await;
    }
    let home = homes_of(&app, APPROVER_1).remove(0).to_string();
    assert!(
        home.contains("https://example.slack.com/archives/") && home.contains("|Open the card>"),
        "each item links to its card: {home}"
    );
    assert_eq!(
        app.slack.calls_to("chat.getPermalink").len(),
        1,
        "the link is asked once and kept"
    );

    // Approving the refund changes the case: the approver's Home (which
    // showed it) is redrawn; the outsider's (which did not) is not.
    app.interact(&home_click(APPROVER_1, &value(&case, "a2")))
        .await;
    wait_homes(&app, APPROVER_1, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        homes_of(&app, OUTSIDER).len(),
        1,
        "an untouched Home is not redrawn"
    );
    assert_eq!(
        app.slack.calls_to("chat.getPermalink").len(),
        1,
        "the kept link is reused"
    );
}
