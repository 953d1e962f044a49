//! Opens a case: the one pure function that turns a snapshot and the
//! customer's words into a `Case` (classify → propose → revenue impact →
//! follow-up draft → product gap). The lookup workflow and the CLI both call
//! it, so Slack and the terminal always show the same decision.

use crate::domain::{Actor, BillingSnapshot, Case, CaseId, Origin, Signal};
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
    // Card numbers and codes are redacted here, before the message is kept
    // anywhere: the case record (Redis), the card and the CLI's JSON all hold
    // this form only. Only what the customer wrote now is read for signals.
    let prepared = intake.message.map(triage::text::prepare);
    let mut signals = prepared
        .as_ref()
        .map(triage::read_prepared)
        .unwrap_or_default();
    let named = prepared
        .as_ref()
        .map(|p| triage::named_accounts(&p.current))
        .unwrap_or_default();
    let others = triage::other_customers(&named, &snapshot, &signals);
    if !others.is_empty() {
        signals.push(Signal::NamesAnotherCustomer);
        signals.sort();
    }
    let warnings = triage::warnings(&signals, &others, &snapshot);
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
        message: prepared.map(|p| p.redacted),
        snapshot,
        triage,
        actions,
        revenue,
        followup,
        product_gap,
        warnings,
        context: crate::domain::CaseContext::default(),
    }
}

/// A case triaged again with more context (issue 9 part 2): `fresh` is
/// [`assess`] of the current Stripe state with the case's words now. The new
/// triage, snapshot, draft and product gap replace the old ones; the old
/// actions are kept exactly (keys, kinds, summaries, origins), whatever state
/// they are in, since someone may have approved, chosen or run them; a fresh
/// proposal is added, with a key after the last `aN`, only when no kept
/// action already does the same thing or acts on the same object (a refund
/// of the same charge, the cancellation of the same subscription…). The caller keeps the old states and gives the added
/// actions theirs. An added proposal is marked [`Origin::PromptedBy`]
/// `prompted_by`, the operator whose context led to it: the four-eyes rule
/// then keeps them from approving its money moves.
pub fn retriage(old: &Case, fresh: Case, prompted_by: &Actor) -> Case {
    let mut actions = old.actions.clone();
    let mut next = actions
        .iter()
        .filter_map(|a| a.key.strip_prefix('a')?.parse::<usize>().ok())
        .max()
        .unwrap_or(0);
    for mut proposal in fresh.actions {
        let targets = actions::choose::targets(&proposal.kind);
        let taken = actions.iter().any(|a| {
            a.kind == proposal.kind
                || actions::choose::targets(&a.kind)
                    .iter()
                    .any(|t| targets.contains(t))
        });
        if taken {
            continue;
        }
        next += 1;
        proposal.key = format!("a{next}");
        proposal.origin = Origin::PromptedBy(prompted_by.clone());
        actions.push(proposal);
    }
    let revenue = actions::revenue_impact(&actions, &fresh.snapshot);
    Case {
        actions,
        revenue,
        context: old.context.clone(),
        ..fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, CaseId};

    /// The `healthy_jpy` case opened with `message`.
    fn open(message: Option<&str>) -> Case {
        assess(
            Intake {
                id: CaseId::from_random(7),
                requested_by: Actor::System,
                message,
                now: crate::triage::tests::NOW,
            },
            crate::triage::tests::load("healthy_jpy"),
            &FollowUpSettings {
                portal_login_url: None,
            },
        )
    }

    #[test]
    fn a_retriage_keeps_every_action_and_adds_only_new_ones_after_them() {
        let mut old = open(None);
        old.actions[0].summary = "as shown on the card before".to_owned();
        let fresh = open(Some("how do I cancel my plan at the end of the period?"));
        let by = Actor::Slack(crate::domain::SlackUserId::parse("UAPPROVER1").expect("id"));
        let merged = retriage(&old, fresh.clone(), &by);
        assert_eq!(merged.actions[..old.actions.len()], old.actions[..]);
        assert_eq!(merged.triage, fresh.triage);
        let added: Vec<&str> = merged.actions[old.actions.len()..]
            .iter()
            .map(|a| a.key.as_str())
            .collect();
        let expected: Vec<String> = (old.actions.len() + 1..=merged.actions.len())
            .map(|n| format!("a{n}"))
            .collect();
        assert_eq!(added, expected);
        assert!(!added.is_empty(), "the question adds a proposal");
        for action in &merged.actions[old.actions.len()..] {
            assert!(!old.actions.iter().any(|a| a.kind == action.kind));
            assert_eq!(action.origin, Origin::PromptedBy(by.clone()));
        }
        assert_eq!(merged.context, old.context);
    }

    #[test]
    fn a_retriage_proposes_nothing_on_a_charge_a_kept_action_refunds() {
        use crate::actions::choose::{targets, Target};
        use crate::domain::{ActionKind, ProposedAction};
        let outage = "The service was down for nine days and I want a refund for this month.";
        let refunded = |case: &Case| -> Vec<Target> {
            case.actions
                .iter()
                .filter(|a| matches!(a.kind, ActionKind::Refund(_)))
                .flat_map(|a| targets(&a.kind))
                .collect()
        };
        let fresh = open(Some(outage));
        let wanted = refunded(&fresh);
        assert!(!wanted.is_empty(), "the outage alone proposes a refund");
        let by = Actor::Slack(crate::domain::SlackUserId::parse("UAPPROVER2").expect("id"));

        // Whatever state the kept refund is in (the caller's, not retriage's
        // concern), a refund of that charge is never proposed next to it:
        // one the bot proposed before, or one an operator chose.
        for origin in [
            Origin::Proposed,
            Origin::ChosenBy(crate::domain::SlackUserId::parse("UAPPROVER1").expect("id")),
        ] {
            let mut old = open(None);
            assert!(refunded(&old).is_empty(), "no refund without the words");
            let kept = fresh
                .actions
                .iter()
                .find(|a| matches!(a.kind, ActionKind::Refund(_)))
                .expect("a refund");
            old.actions.push(ProposedAction {
                key: "c1".to_owned(),
                origin: origin.clone(),
                ..kept.clone()
            });
            let merged = retriage(&old, fresh.clone(), &by);
            assert_eq!(merged.actions[..old.actions.len()], old.actions[..]);
            for added in &merged.actions[old.actions.len()..] {
                assert!(
                    !targets(&added.kind).iter().any(|t| wanted.contains(t)),
                    "{origin:?}: {added:?}"
                );
            }
        }
    }

    #[test]
    fn the_case_keeps_the_message_redacted() {
        let snapshot = crate::triage::tests::load("healthy_jpy");
        let intake = Intake {
            id: CaseId::from_random(1),
            requested_by: Actor::System,
            message: Some("new card 4111 1111 1111 1111 exp 09/29 cvc 737 please"),
            now: crate::triage::tests::NOW,
        };
        let case = assess(
            intake,
            snapshot,
            &FollowUpSettings {
                portal_login_url: None,
            },
        );
        let json = serde_json::to_string(&case).expect("a case serialises");
        assert!(!json.contains("4111") && !json.contains("737"), "{json}");
        assert_eq!(
            case.message.as_deref(),
            Some("new card [redacted] exp 09/29 cvc [redacted] please")
        );
    }
}
