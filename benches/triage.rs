//! Classification speed: the pure `assess` the bot runs per case (prepare the
//! text, match ten languages' phrase tables, classify, propose, draft) on a
//! one-line message and on a ~20 KB forwarded email thread with quoted
//! replies and signatures, over a corpus state fixture. The first call builds
//! the phrase automaton and is timed apart. Prints figures; it asserts
//! nothing.
//!
//! `cargo bench --bench triage`

use billing_triage::assess::{assess, Intake};
use billing_triage::domain::{Actor, BillingSnapshot, CaseId};
use billing_triage::followup::FollowUpSettings;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// 2025-06-15T12:00:00Z, the corpus' "now".
const NOW: i64 = 1_749_988_800;

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/corpus/healthy_monthly.json"
    );
    let text =
        std::fs::read_to_string(path).expect("the corpus fixture exists (tests/fixtures/corpus)");
    let snapshot: BillingSnapshot =
        serde_json::from_str(&text).expect("the fixture is a BillingSnapshot");
    let settings = FollowUpSettings {
        portal_login_url: None,
    };
    let one_line = "hwo do i swich to the yearly plan?? cant find it in setings";
    let email = forwarded_email();

    let first = time_once(&snapshot, &settings, one_line);
    println!("triage bench: assess() over tests/fixtures/corpus/healthy_monthly.json");
    println!("  first call (builds the phrase tables once): {first:?}");
    for (name, message, runs) in [
        ("one-line message", one_line, 2_000),
        ("forwarded email", email.as_str(), 200),
    ] {
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| time_once(&snapshot, &settings, message))
            .collect();
        times.sort();
        let mean = times.iter().sum::<Duration>() / runs;
        println!(
            "  {name:<17} {:>6} bytes: median {:?}, p99 {:?}, mean {:?} over {runs} runs",
            message.len(),
            times[times.len() / 2],
            times[times.len() * 99 / 100],
            mean,
        );
    }
}

fn time_once(snapshot: &BillingSnapshot, settings: &FollowUpSettings, message: &str) -> Duration {
    let snapshot = snapshot.clone();
    let start = Instant::now();
    let case = assess(
        Intake {
            id: CaseId::from_random(1),
            requested_by: Actor::System,
            message: Some(message),
            added: &[],
            now: NOW,
        },
        snapshot,
        settings,
    );
    let elapsed = start.elapsed();
    black_box(case);
    elapsed
}

/// A customer's note over a forwarded thread: replies quoted five deep,
/// signatures with disclaimers, a pasted log, ~20 KB.
fn forwarded_email() -> String {
    let mut email = String::from(
        "Hi support - forwarding the whole thread below. The app has been down since Tuesday and \
         I still can't log in. Can you refund this month? Card 4242 4242 4242 4242 if you need it.\n\n\
         Ana Silva\nSilva Consulting | +1 415 555 0134\n\n---------- Forwarded message ---------\n\
         From: Dee Park <dee@silva-consulting.com>\nDate: Fri, Jun 13, 2025 at 8:02 AM\nSubject: sync\n\n",
    );
    let mut depth = String::new();
    while email.len() < 20_000 {
        depth.push_str("> ");
        email.push_str(&format!(
            "{depth}On Tue, Jun 10, 2025 at 3:14 PM Support <support@example.com> wrote:\n\
             {depth}Hi Ana, thanks for writing. Could you send a screenshot? How do I cancel is in settings.\n\
             {depth}2025-06-11T09:49:31Z [WARN] search.index: shard=3 checksum mismatch, falling back to remote\n\
             {depth}2025-06-11T09:56:44Z [ERROR] search.query: returned 0 hits for 'client notes'\n\
             {depth}--\n{depth}This message may contain confidential information. If you are not the \
             intended recipient, please delete it and notify the sender.\n{depth}\n"
        ));
    }
    email
}
