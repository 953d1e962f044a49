//! "More actions…" (issue 9 part 3): an action an operator chose is stored
//! on the case with its first state in one compare-and-set, and then goes
//! through the same approvals, exactly-once execution and audit as a
//! proposal.

use crate::approvals::{put_case, refund_case_for};
use crate::helpers::*;
use billing_triage::actions::choose::{chosen_action, validate, Choice};
use billing_triage::domain::*;

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("eur").expect("eur"))
}

#[tokio::test]
async fn a_chosen_action_is_added_with_its_state_only_to_the_case_as_read() {
    let store = test_store().await;
    let (case, statuses) = refund_case_for("cus_Chosen1", "ch_Chosen1", eur(3900), 3600);
    put_case(&store, &case, &statuses).await;
    let chooser = SlackUserId::parse(APPROVER_1).expect("id");
    let read = store
        .load_case_stored(&case.id)
        .await
        .expect("redis")
        .expect("stored");
    let choice = Choice::Cancel {
        subscription: SubscriptionId::parse("sub_NotHere1").expect("id"),
        at_period_end: false,
    };
    assert!(
        validate(&read.case, &statuses, &choice, now_ts()).is_err(),
        "not this case's subscription"
    );
    // The case's own portal link is pending (a1): a refund is what is left to choose,
    // but a2 refunds that very charge, so a partial refund is a duplicate too.
    let partial = Choice::Refund {
        charge: ChargeId::parse("ch_Chosen1").expect("id"),
        amount: Some(eur(1000)),
    };
    assert!(validate(&read.case, &statuses, &partial, now_ts()).is_err());

    let kind = ActionKind::CloseNoAction;
    let action = chosen_action(&read.case, kind, &chooser);
    let mut updated = read.case.clone();
    updated.actions.push(action.clone());
    let first = ActionStatus::Proposed {
        approvals: vec![],
        expires_at: now_ts() + 3600,
    };
    assert!(store
        .add_action(&read, &updated, &action.key, &first)
        .await
        .expect("redis"));
    // A second writer that read the case before the first one wrote loses.
    let mut other = read.case.clone();
    other.actions.push(chosen_action(
        &read.case,
        ActionKind::CloseNoAction,
        &chooser,
    ));
    assert!(!store
        .add_action(&read, &other, "c1", &first)
        .await
        .expect("redis"));
    let stored = store
        .load_case(&case.id)
        .await
        .expect("redis")
        .expect("case");
    assert_eq!(stored.actions.len(), 4);
    assert_eq!(stored.actions[3].origin, Origin::ChosenBy(chooser));
    assert_eq!(
        store.action_status(&case.id, "c1").await.expect("redis"),
        Some(first)
    );
}
