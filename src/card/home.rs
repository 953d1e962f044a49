//! The App Home of one user: what waits on them, their own cases, and what
//! ran recently that they took part in. Pure: `workflow::home` reads the
//! cases (from the store's Home indexes) and publishes the view.
//!
//! "Waiting on you" is decided by the same `policy::may_approve` as a click
//! on the card, so four eyes hold here too: never the requester's own money
//! move, never the chooser's, never the prompter's.

use super::{button_value, APPROVE_ACTION_ID, REJECT_ACTION_ID};
use crate::domain::{
    ActionKey, ActionStatus, Actor, Case, CaseId, ProposedAction, SlackUserId, Triage,
};
use crate::policy::{self, PolicyConfig, Verdict};
use serde_json::{json, Value};

/// Slack's limit of blocks in a Home view.
pub const MAX_HOME_BLOCKS: usize = 100;
/// "Your cases" looks back this far (seconds).
pub const YOUR_CASES_SECS: i64 = 30 * 86_400;
/// "Recently done" looks back this far (seconds).
pub const RECENTLY_DONE_SECS: i64 = 7 * 86_400;

/// Blocks kept for the headers, the "N more" lines and the approvers line.
const RESERVED_BLOCKS: usize = 10;

/// A case with its actions' states, as the store reads it.
pub type CaseStates = (Case, Vec<(ActionKey, ActionStatus)>);

/// One action the user may approve now.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting<'a> {
    pub case: &'a Case,
    pub action: &'a ProposedAction,
    pub expires_at: i64,
    /// Approvals given so far (a refund above the limit needs two).
    pub approvals: usize,
}

/// What one user's Home shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Home<'a> {
    pub waiting: Vec<Waiting<'a>>,
    /// The user's cases, newest first, with each action's state.
    pub mine: Vec<&'a CaseStates>,
    /// Actions that ran or were rejected, newest first: case, action, state.
    pub done: Vec<(&'a Case, &'a ProposedAction, &'a ActionStatus)>,
}

/// Sorts `cases` into `user`'s Home at `now`.
pub fn home<'a>(
    user: &SlackUserId,
    cases: &'a [CaseStates],
    policy: &PolicyConfig,
    now: i64,
) -> Home<'a> {
    let mut home = Home::default();
    for entry in cases {
        let (case, states) = entry;
        let opened_by_user = matches!(&case.requested_by, Actor::Slack(u) if u == user);
        for (key, status) in states {
            let Some(action) = case.actions.iter().find(|a| &a.key == key) else {
                continue;
            };
            if let ActionStatus::Proposed {
                approvals,
                expires_at,
            } = status
            {
                let verdict =
                    policy::may_approve(user, action, &case.requested_by, status, policy, now);
                if !matches!(verdict, Verdict::Refused(_)) {
                    home.waiting.push(Waiting {
                        case,
                        action,
                        expires_at: *expires_at,
                        approvals: approvals.len(),
                    });
                }
            }
            let took_part = opened_by_user || status_names(status, user);
            if took_part && finished_at(status).is_some_and(|at| now - at <= RECENTLY_DONE_SECS) {
                home.done.push((case, action, status));
            }
        }
        if opened_by_user && !home.mine.iter().any(|(c, _)| c.id == case.id) {
            home.mine.push(entry);
        }
    }
    // Newest first: the later an action lapses, the later it was proposed.
    home.waiting
        .sort_by_key(|w| std::cmp::Reverse(w.expires_at));
    home.done
        .sort_by_key(|(_, _, status)| std::cmp::Reverse(finished_at(status)));
    home
}

fn status_names(status: &ActionStatus, user: &SlackUserId) -> bool {
    match status {
        ActionStatus::Proposed { approvals, .. } => approvals.contains(user),
        ActionStatus::Executing { approved_by, .. }
        | ActionStatus::Verifying { approved_by, .. }
        | ActionStatus::Succeeded { approved_by, .. }
        | ActionStatus::Failed { approved_by, .. } => approved_by.contains(user),
        ActionStatus::Rejected { by, .. } => by == user,
        ActionStatus::Expired { .. } => false,
    }
}

/// When an action ran (or was rejected); `None` while it is open.
fn finished_at(status: &ActionStatus) -> Option<i64> {
    match status {
        ActionStatus::Succeeded { at, .. }
        | ActionStatus::Failed { at, .. }
        | ActionStatus::Rejected { at, .. } => Some(*at),
        _ => None,
    }
}

/// Where an action stands, in one word.
fn stands(status: &ActionStatus, now: i64) -> &'static str {
    match status {
        ActionStatus::Proposed { expires_at, .. } if now > *expires_at => "lapsed",
        ActionStatus::Proposed { .. } => "awaiting approval",
        ActionStatus::Executing { .. } => "executing",
        ActionStatus::Verifying { .. } => "verifying with Stripe",
        ActionStatus::Succeeded { .. } => "done",
        ActionStatus::Failed { .. } => "failed",
        ActionStatus::Rejected { .. } => "rejected",
        ActionStatus::Expired { .. } => "lapsed",
    }
}

fn decision(case: &Case) -> String {
    match &case.triage {
        Triage::Classified { category, .. } => category.label().to_owned(),
        Triage::NeedsReview { .. } => "Needs human review".to_owned(),
        Triage::NotFound => "No customer found".to_owned(),
    }
}

fn who(actor: &Actor) -> String {
    match actor {
        Actor::Slack(u) => format!("<@{u}>"),
        Actor::Cli(_) => "the command line".to_owned(),
        Actor::System => "the bot".to_owned(),
    }
}

fn time_left(seconds: i64) -> String {
    match seconds {
        s if s <= 0 => "lapsed".to_owned(),
        s if s < 3600 => format!("{} min left", (s + 59) / 60),
        s => format!("{} h left", s / 3600),
    }
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&text, 2900)}})
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": text}})
}

fn context(text: String) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&text, 2900)}]})
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// The links to the cases' cards (`chat.getPermalink`), by case id; a case
/// without one is shown without a link.
pub type Links = std::collections::HashMap<CaseId, String>;

/// How many items of each list fit: waiting (two blocks each, up to half
/// the budget), the user's cases (up to three quarters with what waits),
/// and what was done (the rest).
fn fits(home: &Home<'_>) -> (usize, usize, usize) {
    let budget = MAX_HOME_BLOCKS - RESERVED_BLOCKS;
    let waiting = home.waiting.len().min(budget / 4);
    let mine = home.mine.len().min(budget * 3 / 4 - 2 * waiting);
    let done = home.done.len().min(budget - 2 * waiting - mine);
    (waiting, mine, done)
}

/// The cases `home_view` shows, each once, in the order it shows them:
/// whose card links it needs, and whose changes should redraw this Home.
pub fn shown_cases(home: &Home<'_>) -> Vec<CaseId> {
    let (waiting, mine, done) = fits(home);
    let mut ids: Vec<CaseId> = Vec::new();
    let all = home.waiting[..waiting]
        .iter()
        .map(|w| &w.case.id)
        .chain(home.mine[..mine].iter().map(|(c, _)| &c.id))
        .chain(home.done[..done].iter().map(|(c, _, _)| &c.id));
    for id in all {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

/// The Home view (`views.publish`'s `view`) of `home` for a user who is
/// (`approver`) or is not an approver; `approvers` are named to the others,
/// and each item links to its card where `links` has it. At most
/// [`MAX_HOME_BLOCKS`] blocks: what does not fit is counted.
pub fn home_view(
    home: &Home<'_>,
    approver: bool,
    approvers: &[SlackUserId],
    links: &Links,
    now: i64,
) -> Value {
    let (fit_waiting, fit_mine, fit_done) = fits(home);
    let link = |case: &Case| {
        links
            .get(&case.id)
            .map(|url| format!(" · <{url}|Open the card>"))
            .unwrap_or_default()
    };
    let mut blocks = vec![header("Waiting on you")];
    let empty = if !approver {
        let names = approvers
            .iter()
            .map(|u| format!("<@{u}>"))
            .collect::<Vec<_>>()
            .join(", ");
        Some(if names.is_empty() {
            "You are not an approver, and nobody is (BILLING_APPROVERS is unset).".to_owned()
        } else {
            format!("You are not an approver. Approvals are given by {names}.")
        })
    } else {
        home.waiting
            .is_empty()
            .then(|| "Nothing waits on you.".to_owned())
    };
    blocks.extend(empty.map(context));
    listed(
        &mut blocks,
        &home.waiting,
        fit_waiting,
        "more waiting on you, not shown (Slack shows 100 blocks in a Home).",
        |w| {
            let needs = if w.approvals > 0 {
                format!(" · {} approval(s) given, one more needed", w.approvals)
            } else {
                String::new()
            };
            let value = button_value(&w.case.id, &w.action.key);
            vec![
                section(format!(
                    "*{}* · {}\n{}\nAsked by {} · {}{needs}{}",
                    decision(w.case),
                    w.case.id,
                    w.action.summary,
                    who(&w.case.requested_by),
                    time_left(w.expires_at - now),
                    link(w.case),
                )),
                json!({"type": "actions", "block_id": format!("home_{}_{}", w.case.id, w.action.key), "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "style": "primary", "action_id": APPROVE_ACTION_ID, "value": value},
                    {"type": "button", "text": {"type": "plain_text", "text": "Reject"}, "style": "danger", "action_id": REJECT_ACTION_ID, "value": value},
                ]}),
            ]
        },
    );

    blocks.push(header("Your cases"));
    if home.mine.is_empty() {
        blocks.push(context(
            "No cases opened by you in the last 30 days.".to_owned(),
        ));
    }
    listed(
        &mut blocks,
        &home.mine,
        fit_mine,
        "more of your cases, not shown.",
        |(case, states)| {
            let lines = case
                .actions
                .iter()
                .filter_map(|a| {
                    let (_, status) = states.iter().find(|(k, _)| *k == a.key)?;
                    Some(format!("• {}: {}", a.summary, stands(status, now)))
                })
                .collect::<Vec<_>>();
            let lines = if lines.is_empty() {
                "no actions".to_owned()
            } else {
                lines.join("\n")
            };
            vec![section(format!(
                "*{}* · {}{}\n{lines}",
                decision(case),
                case.id,
                link(case),
            ))]
        },
    );

    blocks.push(header("Recently done"));
    if home.done.is_empty() {
        blocks.push(context(
            "Nothing you took part in ran in the last 7 days.".to_owned(),
        ));
    }
    listed(
        &mut blocks,
        &home.done,
        fit_done,
        "more done, not shown.",
        |(case, action, status)| {
            vec![section(format!(
                "*{}* · {}{}\n{}: {}",
                decision(case),
                case.id,
                link(case),
                action.summary,
                stands(status, now)
            ))]
        },
    );
    json!({"type": "home", "blocks": blocks})
}

/// Appends the blocks of the first `fit` of `items`, and a line counting
/// the rest ("N {more}") when some did not fit.
fn listed<T>(
    blocks: &mut Vec<Value>,
    items: &[T],
    fit: usize,
    more: &str,
    render: impl Fn(&T) -> Vec<Value>,
) {
    for item in &items[..fit.min(items.len())] {
        blocks.extend(render(item));
    }
    if items.len() > fit {
        blocks.push(context(format!("{} {more}", items.len() - fit)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Origin;
    use crate::testing::{cancel_duplicate, close_no_action, duplicate_case, id};

    const NOW: i64 = 1_800_000_000;

    fn policy() -> PolicyConfig {
        PolicyConfig {
            approvers: vec![id("U0REQUEST"), id("U0APPROVE1"), id("U0CHOOSER")],
            refund_limit_minor: 100_000,
        }
    }

    fn proposed() -> ActionStatus {
        ActionStatus::Proposed {
            approvals: Vec::new(),
            expires_at: NOW + 3600,
        }
    }

    fn cases() -> Vec<CaseStates> {
        let mut chosen = cancel_duplicate();
        chosen.key = crate::domain::test_key("c1");
        chosen.origin = Origin::ChosenBy(id("U0CHOOSER"));
        let mut case = duplicate_case();
        case.actions = vec![cancel_duplicate(), chosen.clone(), close_no_action("a2")];
        let states = vec![
            (case.actions[0].key.clone(), proposed()),
            (chosen.key.clone(), proposed()),
            (
                case.actions[2].key.clone(),
                ActionStatus::Succeeded {
                    approved_by: vec![id("U0APPROVE1")],
                    at: NOW - 60,
                    stripe_ids: Vec::new(),
                    notes: Vec::new(),
                },
            ),
        ];
        vec![(case, states)]
    }

    /// `n` copies of the case, each under its own id.
    fn copies(n: u64) -> Vec<CaseStates> {
        let (case, states) = cases().remove(0);
        (0..n)
            .map(|i| {
                let mut c = case.clone();
                c.id = CaseId::from_random(i);
                (c, states.clone())
            })
            .collect()
    }

    fn keys(home: &Home<'_>) -> Vec<String> {
        home.waiting
            .iter()
            .map(|w| w.action.key.to_string())
            .collect()
    }

    #[test]
    fn four_eyes_hold_in_what_waits_on_each_user() {
        let cases = cases();
        let approver = home(&id("U0APPROVE1"), &cases, &policy(), NOW);
        assert_eq!(keys(&approver), vec!["a1", "c1"]);
        // The requester approves, but not their own money move; the chooser
        // not what they chose.
        assert!(keys(&home(&id("U0REQUEST"), &cases, &policy(), NOW)).is_empty());
        assert_eq!(
            keys(&home(&id("U0CHOOSER"), &cases, &policy(), NOW)),
            vec!["a1"]
        );
        // Not an approver: nothing waits on them.
        assert!(keys(&home(&id("U0OTHER"), &cases, &policy(), NOW)).is_empty());
        // Lapsed: waits on nobody.
        assert!(keys(&home(&id("U0APPROVE1"), &cases, &policy(), NOW + 7200)).is_empty());
    }

    #[test]
    fn your_cases_and_recently_done_are_each_users_own() {
        let cases = cases();
        let requester = home(&id("U0REQUEST"), &cases, &policy(), NOW);
        assert_eq!(requester.mine.len(), 1);
        assert_eq!(requester.done.len(), 1, "the requester took part");
        let approver = home(&id("U0APPROVE1"), &cases, &policy(), NOW);
        assert!(approver.mine.is_empty());
        assert_eq!(approver.done.len(), 1, "the approver ran it");
        let later = home(
            &id("U0APPROVE1"),
            &cases,
            &policy(),
            NOW + RECENTLY_DONE_SECS + 60,
        );
        assert!(later.done.is_empty(), "older than 7 days");
    }

    #[test]
    fn a_full_home_stays_within_slacks_limit_and_counts_what_it_leaves_out() {
        let many = copies(200);
        let sorted = home(&id("U0APPROVE1"), &many, &policy(), NOW);
        assert_eq!(sorted.waiting.len(), 400);
        let view = home_view(&sorted, true, &policy().approvers, &Links::new(), NOW);
        let blocks = view["blocks"].as_array().cloned().unwrap_or_default();
        assert!(blocks.len() <= MAX_HOME_BLOCKS, "{}", blocks.len());
        let text = view.to_string();
        assert!(text.contains("more waiting on you, not shown"), "{text}");
        assert!(text.contains("more done, not shown"), "{text}");
    }

    #[test]
    fn each_item_links_to_its_card_and_shown_cases_are_the_ones_drawn() {
        let many = copies(60);
        let sorted = home(&id("U0APPROVE1"), &many, &policy(), NOW);
        let shown = shown_cases(&sorted);
        assert!(
            !shown.is_empty() && shown.len() < many.len(),
            "{}",
            shown.len()
        );
        let links: Links = shown
            .iter()
            .map(|id| (id.clone(), format!("https://t.slack.com/archives/C1/p{id}")))
            .collect();
        let text = home_view(&sorted, true, &policy().approvers, &links, NOW).to_string();
        for id in &shown {
            assert!(
                text.contains(&format!(
                    "<https://t.slack.com/archives/C1/p{id}|Open the card>"
                )),
                "{id} has its link"
            );
        }
        let hidden: Vec<_> = many
            .iter()
            .map(|(c, _)| &c.id)
            .filter(|id| !shown.contains(id))
            .collect();
        assert!(!hidden.is_empty());
        for id in hidden {
            assert!(
                !text.contains(id.as_str()),
                "{id} is not drawn, so not shown"
            );
        }
    }

    #[test]
    fn someone_who_is_not_an_approver_is_told_who_approves_and_gets_no_buttons() {
        let cases = cases();
        let sorted = home(&id("U0OTHER"), &cases, &policy(), NOW);
        let view = home_view(&sorted, false, &policy().approvers, &Links::new(), NOW);
        let text = view.to_string();
        assert!(
            text.contains("Approvals are given by <@U0REQUEST>, <@U0APPROVE1>"),
            "{text}"
        );
        assert!(!text.contains(APPROVE_ACTION_ID));
    }
}
