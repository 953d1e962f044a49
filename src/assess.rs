//! Opens a case: the one pure function that turns a snapshot and the
//! customer's words into a `Case` (classify → propose → revenue impact →
//! follow-up draft → product gap). The lookup workflow and the CLI both call
//! it, so Slack and the terminal always show the same decision.

use crate::domain::{Actor, BillingSnapshot, Case, CaseId};
use crate::followup::{self, FollowUpSettings};
use crate::{actions, triage};

/// Everything `assess` needs besides the snapshot.
pub struct Intake<'a> {
    pub id: CaseId,
    pub requested_by: Actor,
    /// The customer's message, when the case came from one.
    pub message: Option<&'a str>,
    /// Unix seconds; the core never reads the clock.
    pub now: i64,
}

pub fn assess(intake: Intake<'_>, snapshot: BillingSnapshot, settings: &FollowUpSettings) -> Case {
    let signals = intake.message.map(triage::read_signals).unwrap_or_default();
    let triage = triage::classify(&snapshot, &signals, intake.now);
    let actions = actions::propose(&triage, &snapshot, &signals, intake.now);
    let revenue = actions::revenue_impact(&actions, &snapshot);
    let locale = followup::locale::choose(&snapshot, intake.message);
    let followup = followup::draft(&triage, &snapshot, &actions, &[], locale, settings);
    let product_gap = followup::product_gap(&triage, &signals);
    Case {
        version: Case::VERSION,
        id: intake.id,
        requested_by: intake.requested_by,
        message: intake.message.map(str::to_owned),
        snapshot,
        triage,
        actions,
        revenue,
        followup,
        product_gap,
    }
}
