//! Pausing payment collection, end to end on the pinned API version's
//! shapes (localstripe behind the shape layer): chosen from "More
//! actions…", its terms asked in a modal, approved by someone else, sent
//! once with our metadata, then resumed the same way.

use crate::fixtures::{
    card_of, case_id_of, scenario, seeded, value, wait_for_action, wait_until_settled,
};
use crate::helpers::*;
use crate::localstripe;
use billing_triage::actions::terms;
use billing_triage::domain::surface::field_block;
use billing_triage::domain::{ActionKind, ActionStatus, Case, Pause, PauseBehavior};

async fn stored_case(app: &TestApp, id: &billing_triage::domain::CaseId) -> Case {
    app.store
        .load_case(id)
        .await
        .expect("redis")
        .expect("the case is stored")
}

/// The stored case once its chosen action `key` is on it.
async fn chosen(app: &TestApp, case: &Case, key: &str) -> Case {
    wait_for_action(&app.store, case, key).await;
    stored_case(app, &case.id).await
}

/// The pause modal submitted with `behavior` and an optional resume day.
fn pause_terms(metadata: &str, behavior: &str, day: Option<&str>) -> serde_json::Value {
    let mut values = serde_json::json!({ field_block(terms::BEHAVIOR_INPUT): { terms::BEHAVIOR_INPUT: {
        "type": "radio_buttons", "selected_option": {"text": {"type": "plain_text", "text": behavior}, "value": behavior}
    }}});
    values[field_block(terms::RESUME_INPUT)] = serde_json::json!({ terms::RESUME_INPUT: {
        "type": "datepicker", "selected_date": day
    }});
    view_submission(terms::CHOOSE_PAUSE_CALLBACK, metadata, values, REQUESTER)
}

#[tokio::test]
async fn a_pause_chosen_from_more_actions_is_approved_sent_once_and_resumed() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe.base_url()).await;
    let customer = &scenario(&seeded, "product failure or broken trust").customer;
    let app = spawn_app(&stripe.base_url()).await;

    app.slash(&format!("lookup {customer}"), REQUESTER).await;
    let card = card_of(&app.slack.wait_for("chat.postMessage", 2).await);
    let case = stored_case(&app, &case_id_of(&card)).await;
    let sub = case
        .snapshot
        .subscriptions()
        .find(|s| s.status.is_live())
        .expect("a live subscription")
        .id
        .clone();
    let pause_value = format!("{}/pause:{sub}", case.id);
    assert!(
        card.to_string().contains(&pause_value),
        "More actions offers the pause"
    );

    // The menu opens the modal; a date that is not ahead is refused under its field.
    app.select("more_actions", &pause_value, REQUESTER).await;
    let opened = app.slack.wait_for("views.open", 1).await;
    assert_eq!(
        opened[0].body["view"]["callback_id"],
        terms::CHOOSE_PAUSE_CALLBACK
    );
    let past = app
        .interact(&pause_terms(&pause_value, "void", Some("2001-01-01")))
        .await;
    assert!(
        past.json()["errors"][field_block(terms::RESUME_INPUT)].is_string(),
        "{:?}",
        past.json()
    );
    let reply = app
        .interact(&pause_terms(&pause_value, "void", Some("2099-01-01")))
        .await;
    assert_eq!(reply.status, 200);
    let case = chosen(&app, &case, "c1").await;
    let resumes_at = 4_070_908_800; // 2099-01-01 00:00 UTC
    let wanted = Pause {
        behavior: PauseBehavior::Void,
        resumes_at: Some(resumes_at),
    };
    let action = case.actions.iter().find(|a| a.key == "c1").expect("c1");
    assert_eq!(
        action.kind,
        ActionKind::PauseCollection {
            subscription: sub.clone(),
            pause: Some(wanted)
        }
    );

    // Its chooser never approves it alone; another approver does, once.
    app.click("approve_action", &value(&case, "c1"), REQUESTER)
        .await;
    let (_, url) = app
        .click("approve_action", &value(&case, "c1"), APPROVER_1)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.starts_with("Done"), "{answer}");
    assert!(matches!(
        wait_until_settled(&app.store, &case, "c1").await,
        ActionStatus::Succeeded { .. }
    ));
    let on_stripe = stripe
        .get_json_pinned(&format!("/v1/subscriptions/{sub}"))
        .await;
    assert_eq!(on_stripe["pause_collection"]["behavior"], "void");
    assert_eq!(on_stripe["pause_collection"]["resumes_at"], resumes_at);
    assert_eq!(
        on_stripe["metadata"]["case_id"],
        case.id.as_str(),
        "{on_stripe}"
    );
    assert_eq!(on_stripe["metadata"]["step"], "pause_collection");
    assert_eq!(on_stripe["metadata"]["approved_by"], APPROVER_1);
    let trail = app.store.audit_trail(&case.id).await.expect("audit");
    let kinds: Vec<String> = trail.iter().map(|(_, e)| e.kind.to_string()).collect();
    assert!(
        kinds.contains(&"execution_intent".to_owned())
            && kinds.contains(&"execution_succeeded".to_owned()),
        "{kinds:?}"
    );

    // Resumed the same way: chosen (no modal), approved, sent.
    let resume_value = format!("{}/resume:{sub}", case.id);
    app.slash(&format!("lookup {customer}"), REQUESTER).await;
    let posts = app.slack.wait_for("chat.postMessage", 4).await;
    let card = posts
        .iter()
        .rev()
        .find(|c| c.body.get("thread_ts").is_none())
        .map(|c| c.body.clone())
        .expect("a second card");
    assert!(
        card.to_string().contains("collection paused"),
        "the card shows the pause"
    );
    let again = stored_case(&app, &case_id_of(&card)).await;
    let resume_value = resume_value.replace(case.id.as_str(), again.id.as_str());
    assert!(
        card.to_string().contains(&resume_value),
        "a resume is offered"
    );
    app.select("more_actions", &resume_value, REQUESTER).await;
    let again = chosen(&app, &again, "c1").await;
    let (_, url) = app
        .click("approve_action", &value(&again, "c1"), APPROVER_2)
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.starts_with("Done"), "{answer}");
    let on_stripe = stripe
        .get_json_pinned(&format!("/v1/subscriptions/{sub}"))
        .await;
    assert!(on_stripe["pause_collection"].is_null(), "{on_stripe}");
}
