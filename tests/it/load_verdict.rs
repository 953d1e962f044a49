//! The load test's checks and figures (`benches/load/verdict.rs`, pure),
//! tested here: a `harness = false` bench runs no tests of its own.

#[path = "../../benches/load/verdict.rs"]
mod verdict;

use std::time::Duration;
use verdict::*;

fn ms_(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn figures_are_nearest_rank_and_zero_when_empty() {
    let values: Vec<Duration> = (1..=100).rev().map(ms_).collect();
    let f = Figures::of(&values);
    assert_eq!(
        (f.n, f.p50, f.p99, f.max),
        (100, ms_(51), ms_(99), ms_(100))
    );
    assert_eq!(Figures::of(&[]), Figures::default());
    assert_eq!(Figures::of(&[ms_(7)]).p99, ms_(7));
}

#[test]
fn a_request_is_hit_by_a_kill_of_a_replica_after_it_was_handed_to_it() {
    let attempts = [Attempt {
        replica: 1,
        sent: ms_(1000),
    }];
    let kill = |replica, at| Kill {
        replica,
        at: ms_(at),
    };
    assert!(hit_by_kill(&attempts, &[kill(1, 1200)]));
    assert!(hit_by_kill(&attempts, &[kill(1, 1000)]));
    assert!(
        !hit_by_kill(&attempts, &[kill(1, 900)]),
        "killed before it was sent"
    );
    assert!(!hit_by_kill(&attempts, &[kill(2, 1200)]), "another replica");
    assert!(!hit_by_kill(&attempts, &[]));
    let retried = [
        Attempt {
            replica: 0,
            sent: ms_(1000),
        },
        Attempt {
            replica: 1,
            sent: ms_(1001),
        },
    ];
    assert!(
        hit_by_kill(&retried, &[kill(0, 1000)]),
        "its first attempt's replica"
    );
}

fn end(state: State, refunds: usize) -> ApprovalEnd {
    ApprovalEnd {
        state,
        refunds,
        clicked_again: false,
    }
}

#[test]
fn exactly_once_fails_on_a_second_refund_a_missing_one_or_an_open_action() {
    let ok = [end(State::Succeeded, 1), end(State::Succeeded, 1)];
    assert!(exactly_once(&ok).pass);
    let twice = [end(State::Succeeded, 1), end(State::Succeeded, 2)];
    let check = exactly_once(&twice);
    assert!(!check.pass);
    assert!(
        check.detail.contains("1 refunded twice"),
        "{}",
        check.detail
    );
    assert!(!exactly_once(&[end(State::Succeeded, 0)]).pass);
    let open = exactly_once(&[end(State::Open("executing"), 1)]);
    assert!(!open.pass);
    assert!(
        open.detail.contains("not done: 1 executing"),
        "{}",
        open.detail
    );
    let rejected = exactly_once(&[end(State::Other("rejected".into()), 0)]);
    assert!(!rejected.pass && rejected.detail.contains("1 rejected"));
    let failed = exactly_once(&[end(State::Failed("Stripe said no".into()), 0)]);
    assert!(
        failed.detail.contains("1 failed (Stripe said no)"),
        "{}",
        failed.detail
    );
    let again = ApprovalEnd {
        clicked_again: true,
        ..end(State::Succeeded, 1)
    };
    let check = exactly_once(&[again]);
    assert!(check.pass);
    assert!(
        check.detail.contains("1 approved again"),
        "{}",
        check.detail
    );
}

#[test]
fn each_count_check_passes_only_when_nothing_is_missing() {
    assert!(acknowledged(10, 10, 3).pass);
    assert!(!acknowledged(10, 9, 0).pass);
    assert!(cases_opened(5, 5).pass && !cases_opened(5, 4).pass);
    assert!(no_stray_refunds(5, 0).pass && !no_stray_refunds(5, 1).pass);
    assert!(cards_posted(5, 5, 2).pass && !cards_posted(5, 4, 0).pass);
    assert!(settled(0, ms_(10)).pass && !settled(1, ms_(10)).pass);
    assert!(audit_verifies(true, "ok").pass && !audit_verifies(false, "bad").pass);
}

#[test]
fn the_table_names_each_check_and_the_verdict_needs_all() {
    let checks = [acknowledged(2, 2, 0), cases_opened(2, 1)];
    let table = table(&checks);
    assert!(table.contains("PASS") && table.contains("FAIL"), "{table}");
    assert!(!passed(&checks));
    assert!(passed(&checks[..1]));
}

#[test]
fn the_ack_goal_is_a_figure() {
    let fast = Figures::of(&[ms_(5)]);
    let slow = Figures::of(&[ms_(150)]);
    assert!(ack_goal("approvals", &fast).ends_with("met)"));
    assert!(ack_goal("approvals", &slow).contains("MISSED"));
}

#[test]
fn the_load_is_scaled_down_only_when_stripe_fell_behind() {
    let d = Duration::from_secs(60);
    assert_eq!(sustained_share(3000, d, Duration::from_secs(61)), 1.0);
    let share = sustained_share(3000, d, Duration::from_secs(120));
    assert!((share - 0.45).abs() < 1e-9, "{share}");
    assert_eq!(sustained_share(0, d, Duration::from_secs(500)), 1.0);
}
