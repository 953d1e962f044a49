//! The load test's checks and figures, with no I/O: what the driver saw is
//! handed in as plain facts, and each check says pass or fail with its
//! counts. Unit-tested in `tests/it/load_verdict.rs`, which includes this
//! file: a `harness = false` bench runs no tests.

use std::time::Duration;

/// The ack latency the issue asks for, at the 99th percentile. Printed
/// against the figure, never a failed check: a slow machine must not fail
/// a build on time (the team's rule for speed goals).
pub const ACK_P99_GOAL: Duration = Duration::from_millis(100);

/// p50, p99 and max of a set of durations (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Figures {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Figures {
    pub fn of(values: &[Duration]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| {
            sorted
                .get(((sorted.len().saturating_sub(1)) as f64 * q).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        Self {
            n: sorted.len(),
            p50: at(0.5),
            p99: at(0.99),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }

    /// `p50 2.1 ms, p99 8.3 ms, max 40.2 ms (n 3000)`.
    pub fn line(&self) -> String {
        format!(
            "p50 {}, p99 {}, max {} (n {})",
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.n
        )
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A replica SIGKILLed at `at` (since the phase's load began).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kill {
    pub replica: usize,
    pub at: Duration,
}

/// One delivery attempt of a request: to which replica, when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt {
    pub replica: usize,
    pub sent: Duration,
}

/// Whether a replica that was handed this request was killed after it was
/// handed it: for a request whose card or answer never came, its work may
/// have died with that replica.
pub fn hit_by_kill(attempts: &[Attempt], kills: &[Kill]) -> bool {
    attempts.iter().any(|a| {
        kills
            .iter()
            .any(|k| k.replica == a.replica && k.at >= a.sent)
    })
}

/// Where an approved action stands in Redis at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Succeeded,
    /// Proposed, Executing, Verifying: not finished.
    Open(&'static str),
    Failed(String),
    /// Rejected, Expired, or no state at all.
    Other(String),
}

/// What became of one action the driver approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalEnd {
    pub state: State,
    /// Refunds on Stripe whose metadata names this case and action.
    pub refunds: usize,
    /// Its click was lost to a kill (acknowledged, never run), so the
    /// approver clicked again.
    pub clicked_again: bool,
}

/// One check's line in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub pass: bool,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, pass: bool, detail: String) -> Self {
        Self { name, pass, detail }
    }
}

/// Every request got its 200 (a refused connection is retried on the next
/// replica, so only a request no replica took fails).
pub fn acknowledged(sent: usize, acked: usize, retried: usize) -> Check {
    Check::new(
        "every request acknowledged (200)",
        acked == sent,
        format!("{acked}/{sent}; {retried} retried on another replica"),
    )
}

/// The lookups that open the cases to approve all posted their card.
pub fn cases_opened(asked: usize, opened: usize) -> Check {
    Check::new(
        "a case card for every approval",
        opened == asked,
        format!("{opened}/{asked} cards with a proposed refund"),
    )
}

/// Every approved action is done in Redis with exactly one refund on
/// Stripe that names it.
pub fn exactly_once(ends: &[ApprovalEnd]) -> Check {
    let done = ends
        .iter()
        .filter(|e| e.state == State::Succeeded && e.refunds == 1)
        .count();
    let twice = ends.iter().filter(|e| e.refunds > 1).count();
    let unrefunded = ends
        .iter()
        .filter(|e| e.state == State::Succeeded && e.refunds == 0)
        .count();
    let again = ends.iter().filter(|e| e.clicked_again).count();
    let mut detail = format!(
        "{done}/{} done with one refund; {twice} refunded twice or more; {unrefunded} done without a refund; {again} approved again after a kill (click lost, or the card said approve again)",
        ends.len()
    );
    let mut not_done: std::collections::BTreeMap<String, usize> = Default::default();
    for e in ends {
        let label = match &e.state {
            State::Succeeded => continue,
            State::Open(s) => (*s).to_owned(),
            State::Failed(why) => format!("failed ({why})"),
            State::Other(s) => s.clone(),
        };
        *not_done.entry(label).or_default() += 1;
    }
    if !not_done.is_empty() {
        let list: Vec<String> = not_done.iter().map(|(s, n)| format!("{n} {s}")).collect();
        detail.push_str(&format!("; not done: {}", list.join(", ")));
    }
    Check::new(
        "every approval ran exactly once",
        done == ends.len(),
        detail,
    )
}

/// Stripe holds no refund but those of the approved actions.
pub fn no_stray_refunds(ours: usize, others: usize) -> Check {
    Check::new(
        "no refund without an approval",
        others == 0,
        format!("{ours} refunds name an approved action; {others} others"),
    )
}

/// Every lookup's card was posted; those whose replica was killed under
/// them were run again by the operator and posted then.
pub fn cards_posted(asked: usize, posted: usize, run_again: usize) -> Check {
    Check::new(
        "every lookup's card posted",
        posted == asked,
        format!("{posted}/{asked}; {run_again} run again after a kill lost them"),
    )
}

/// No action left executing or verifying once the reconciler had its time.
pub fn settled(left: usize, waited: Duration) -> Check {
    Check::new(
        "nothing left executing",
        left == 0,
        format!(
            "{left} executing or verifying after waiting {:.1} s",
            waited.as_secs_f64()
        ),
    )
}

/// `billing-triage audit verify` passed.
pub fn audit_verifies(ok: bool, said: &str) -> Check {
    Check::new("audit trail verifies", ok, said.to_owned())
}

/// The ack goal, as a figure: always passes (see [`ACK_P99_GOAL`]).
pub fn ack_goal(kind: &str, figures: &Figures) -> String {
    let met = if figures.p99 < ACK_P99_GOAL {
        "met"
    } else {
        "MISSED"
    };
    format!(
        "{kind}: {} (goal p99 < {}: {met})",
        figures.line(),
        ms(ACK_P99_GOAL)
    )
}

/// The checks as a table, then `verdict: PASS` or `verdict: FAIL`.
pub fn table(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        let result = if c.pass { "PASS" } else { "FAIL" };
        out.push_str(&format!("  {:<width$}  {result}  {}\n", c.name, c.detail));
    }
    out
}

pub fn passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.pass)
}

/// Load the bot can be given when Stripe alone could not keep up: the
/// asked rates scaled by how much of them Stripe completed (with a tenth
/// kept free for the bot's own work), never above 1.
pub fn sustained_share(sent: usize, duration: Duration, last_done: Duration) -> f64 {
    if sent == 0 || last_done <= duration + Duration::from_secs(2) {
        return 1.0;
    }
    (duration.as_secs_f64() / last_done.as_secs_f64() * 0.9).min(1.0)
}
