//! Case -> Block Kit, text and JSON (docs/PLAYBOOK.md §5). Pure: the caller passes
//! the action statuses it read from the store and the current time.
//!
//! `mod.rs` owns what the three renderings share: the card's content as an
//! [`Outline`] (sections of lines, written once, marked up for Slack mrkdwn or
//! for a terminal), the button ids and value format, the fallback text, time
//! formatting and Slack's size limits. `blocks` turns the outline into Block
//! Kit, `text` into a terminal page and a versioned JSON value. Posting,
//! updating and reading statuses are the workflow's job.

mod blocks;
pub mod home;
pub mod modals;
pub mod report;
#[cfg(test)]
mod tests;
mod text;
pub mod thread;
pub mod trail;

use crate::actions::choose;
use crate::domain::ActionKey;
use crate::domain::{
    ActionStatus, Actor, BillingSnapshot, CardSummary, Case, CaseId, ChargeStatus, CustomerRecord,
    Interval, InvoiceStatus, LookupQuery, Money, ProposedAction, SlackUserId, Subscription, Triage,
};
use std::collections::BTreeMap;

pub use blocks::render_blocks;
pub use text::{render_json, render_text, JSON_VERSION};

/// One case as the card shows it, with each action's state.
#[derive(Debug, Clone, Copy)]
pub struct CardView<'a> {
    pub case: &'a Case,
    /// By `ProposedAction.key`. A missing key means the store does not track
    /// the action yet: it shows as proposed, without buttons.
    pub statuses: &'a [(ActionKey, ActionStatus)],
    /// Unix seconds; a `Proposed` action past its `expires_at` shows as expired.
    pub now: i64,
}

/// How much of the operator-given message and of each note the card quotes
/// (the whole is in the case record and the CLI's JSON).
const CONTEXT_SHOWN_CHARS: usize = 600;
/// At most this many characters of the Decision part go to the context the
/// decision read (the customer's messages operators gave, their notes); the
/// decision's own lines come first and keep their room under
/// [`MAX_SECTION_TEXT`] whatever is added.
const CONTEXT_BUDGET: usize = 1500;
/// Room kept for the line that counts the context entries not shown.
const HIDDEN_LINE_CHARS: usize = 60;
/// An entry cut to fit keeps at least this many characters of its text, or
/// is not shown.
const MIN_CUT_TEXT: usize = 40;
/// At most this many **Look up** buttons; the rest are named only.
const MAX_LOOK_UPS: usize = 5;
pub use crate::domain::surface::{
    is_look_up, ADD_CONTEXT_ACTION_ID, APPROVE_ACTION_ID, LOOK_UP_ACTION_ID,
    MORE_ACTIONS_ACTION_ID, REJECT_ACTION_ID,
};
/// Slack's limits on a select menu: 100 options, 75 characters of text and
/// 150 of value each.
pub const MAX_MENU_OPTIONS: usize = 100;
pub const MAX_OPTION_VALUE: usize = 150;

/// Slack's limits on what a message may hold
/// (<https://docs.slack.dev/reference/block-kit/blocks>).
pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_BUTTON_TEXT: usize = 75;
pub const MAX_HEADER_TEXT: usize = 150;
/// Longer lists (customers, subscriptions, invoices, charges, evidence,
/// actions) collapse to "…and N more" so that the card stays readable.
const MAX_LIST: usize = 8;
/// Past this many actions the rest collapse to a count. Each action takes
/// up to two blocks; Block Kit shows fewer if the other parts leave less
/// room under [`MAX_BLOCKS`].
const MAX_ACTIONS_SHOWN: usize = 15;

/// The Approve/Reject button value: `{case_id}/{action_key}`. The handler
/// does not trust it: it re-reads the action's state from the store.
pub fn button_value(case: &CaseId, key: &ActionKey) -> String {
    format!("{case}/{key}")
}

/// Reads a value made by [`button_value`]; `None` for anything else.
pub fn parse_button_value(value: &str) -> Option<(CaseId, String)> {
    crate::domain::CaseAction::parse(value).map(|t| (t.case_id, t.key.into()))
}

/// The message's top-level `text`: what notifications and screen readers
/// read, in the card's order (warnings, customer, decision, actions). Ids
/// only, never an email or a name.
pub fn fallback_text(case: &Case) -> String {
    let warnings = match case.warnings.len() {
        0 => String::new(),
        1 => "⚠️ 1 warning · ".to_owned(),
        n => format!("⚠️ {n} warnings · "),
    };
    let decision = match &case.triage {
        Triage::Classified { category, .. } => category.label().to_owned(),
        Triage::NeedsReview { .. } => "Needs human review".to_owned(),
        Triage::NotFound => {
            // An email is personal data; an id is not.
            let query = match &case.snapshot.query {
                LookupQuery::Email(_) => "the email given".to_owned(),
                other => format!("{} {other}", other.kind()),
            };
            return format!(
                "Billing case {}: {warnings}no customer found for {query}",
                case.id
            );
        }
    };
    let ids = match case.snapshot.customers.len() {
        0 => "none".to_owned(),
        _ => collapse(
            case.snapshot
                .customers
                .iter()
                .map(|c| c.id.to_string())
                .collect(),
            3,
            ", ",
        ),
    };
    let actions = match case.actions.len() {
        0 => "no proposed actions".to_owned(),
        1 => "1 proposed action".to_owned(),
        n => format!("{n} proposed actions"),
    };
    format!(
        "Billing case {}: {warnings}Customer {ids} · Decision: {decision} · Actions: {actions}",
        case.id
    )
}

/// `2026-11-25` (UTC).
pub fn format_date(unix: i64) -> String {
    // Out of range only for corrupt data; show the raw number rather than fail.
    crate::domain::iso_day(unix).unwrap_or_else(|| format!("@{unix}"))
}

/// `2026-11-25 14:03 UTC`.
pub fn format_datetime(unix: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    format_unix(unix, FORMAT)
}

fn format_unix(unix: i64, format: &[time::format_description::BorrowedFormatItem<'_>]) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(format).ok())
        // Out of range only for corrupt data; show the raw number rather than fail.
        .unwrap_or_else(|| format!("@{unix}"))
}

/// Cuts `text` to at most `max` characters, on a character boundary, ending
/// in "…" when anything was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `a, b, c, …and 2 more`.
fn collapse(items: Vec<String>, max: usize, sep: &str) -> String {
    let n = items.len();
    let mut shown: Vec<String> = items.into_iter().take(max).collect();
    if n > max {
        shown.push(format!("…and {} more", n - max));
    }
    shown.join(sep)
}

/// How lines are marked up: Slack mrkdwn (escaped, mentions) or plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Markup {
    Slack,
    Plain,
}

impl Markup {
    /// Text that came from outside (names, reasons, Stripe messages): Slack
    /// reads `<`, `>` and `&` as control characters.
    fn esc(self, text: &str) -> String {
        match self {
            Self::Slack => text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
            Self::Plain => text.to_owned(),
        }
    }

    fn bold(self, text: &str) -> String {
        match self {
            Self::Slack => format!("*{}*", self.esc(text)),
            Self::Plain => text.to_owned(),
        }
    }

    fn code(self, text: &str) -> String {
        match self {
            Self::Slack => format!("`{}`", self.esc(text)),
            Self::Plain => text.to_owned(),
        }
    }

    fn user(self, user: &SlackUserId) -> String {
        match self {
            Self::Slack => format!("<@{user}>"),
            Self::Plain => user.to_string(),
        }
    }

    fn users(self, users: &[SlackUserId]) -> String {
        if users.is_empty() {
            return "nobody".to_owned();
        }
        users
            .iter()
            .map(|u| self.user(u))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The card's headings, in the playbook's order (docs/PLAYBOOK.md §5), the
/// warnings first when there are any (an operator reads them before any
/// button). Block Kit and text both print them from [`Outline::parts`].
pub(crate) const WARNINGS: &str = "⚠️ Warnings";
pub(crate) const CUSTOMER: &str = "Customer";
pub(crate) const BILLING_STATE: &str = "Billing state";
pub(crate) const DECISION: &str = "Decision";
pub(crate) const ACTIONS: &str = "Actions";
pub(crate) const FOLLOW_UP: &str = "Follow-up";
pub(crate) const PRODUCT_GAP: &str = "Product gap";

/// The card's content, renderer-neutral: the header, then its parts in the
/// order both renderings print them.
#[derive(Debug, Clone)]
pub(crate) struct Outline {
    pub header: String,
    pub parts: Vec<Part>,
    /// Identifiers to offer a **Look up** button for, under Customer.
    pub look_ups: Vec<String>,
    /// The case id, for the **Add context** button under Decision; `None`
    /// when there is no customer to triage again.
    pub add_context: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Part {
    /// Warnings, Customer, Decision, Follow-up, Product gap.
    Section(Section),
    /// Billing state: subscriptions, invoices, charges, anomalies under one
    /// heading.
    Group {
        title: &'static str,
        parts: Vec<Section>,
    },
    Actions(ActionsOutline),
}

impl Part {
    pub fn title(&self) -> &'static str {
        match self {
            Self::Section(section) => section.title,
            Self::Group { title, .. } => title,
            Self::Actions(_) => ACTIONS,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub title: &'static str,
    pub lines: Vec<String>,
}

/// The Actions part: what is proposed and, as they run, where each stands.
#[derive(Debug, Clone)]
pub(crate) struct ActionsOutline {
    /// How many actions stand where, and the revenue impact.
    pub summary: Vec<String>,
    pub actions: Vec<ActionOutline>,
    /// Actions past [`MAX_ACTIONS_SHOWN`].
    pub n_hidden: usize,
    /// "More actions…": what an operator may choose beyond the proposals.
    pub more: Vec<MenuOption>,
}

/// One option of the "More actions…" menu.
#[derive(Debug, Clone)]
pub(crate) struct MenuOption {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ActionOutline {
    pub key: String,
    /// Summary and rationale, marked up.
    pub body: String,
    /// Where it stands, marked up: the status line that moves as it runs.
    pub state: String,
    /// `Some` when the action can be approved now.
    pub buttons: Option<Buttons>,
}

#[derive(Debug, Clone)]
pub(crate) struct Buttons {
    pub value: String,
    /// Money-moving approvals get a confirmation dialog.
    pub confirm: Option<String>,
    /// A refund can also be approved for less, through a modal.
    pub partial: bool,
    /// A failed action: the approve button reads "Retry" (same idempotency keys).
    pub retry: bool,
}

/// The card's content. `Markup::Plain` is the terminal page: it has no
/// thread, so its Follow-up part carries the whole draft; on Slack the draft
/// is in the card's thread and the card says what it is in a line or two.
pub(crate) fn outline(view: &CardView, m: Markup) -> Outline {
    let case = view.case;
    let snapshot = &case.snapshot;
    let statuses: BTreeMap<&str, &ActionStatus> =
        view.statuses.iter().map(|(k, s)| (k.as_str(), s)).collect();
    let mut parts = Vec::new();
    if !case.warnings.is_empty() {
        let lines = bullets(case.warnings.iter().map(|w| m.esc(w)).collect());
        parts.push(Part::Section(Section {
            title: WARNINGS,
            lines,
        }));
    }
    let mut customer = customer_lines(snapshot, view.now, m);
    let also_named: Vec<String> = case
        .context
        .also_named
        .iter()
        .map(ToString::to_string)
        .collect();
    if !also_named.is_empty() {
        let shown: Vec<String> = also_named.iter().map(|q| m.code(q)).collect();
        let how = match m {
            Markup::Slack => "look each up with its button below",
            Markup::Plain => "look each up separately",
        };
        customer.push(format!(
            "The message also names {}: {how}.",
            collapse(shown, MAX_LIST, ", ")
        ));
    }
    parts.push(Part::Section(Section {
        title: CUSTOMER,
        lines: customer,
    }));
    parts.push(if snapshot.customers.is_empty() {
        Part::Section(Section {
            title: BILLING_STATE,
            lines: vec!["None: no customer found.".to_owned()],
        })
    } else {
        Part::Group {
            title: BILLING_STATE,
            parts: billing_sections(snapshot, view.now, m),
        }
    });
    parts.push(Part::Section(decision_section(case, m)));
    parts.push(Part::Actions(actions_outline(view, &statuses, m)));
    parts.push(Part::Section(Section {
        title: FOLLOW_UP,
        lines: followup_lines(view, &statuses, m),
    }));
    parts.push(Part::Section(Section {
        title: PRODUCT_GAP,
        lines: vec![match &case.product_gap {
            Some(gap) => format!("{}: {}", m.code(&gap.surface), m.esc(&gap.note)),
            None => "None identified.".to_owned(),
        }],
    }));
    Outline {
        header: format!("Billing case {}", case.id),
        parts,
        look_ups: also_named.into_iter().take(MAX_LOOK_UPS).collect(),
        add_context: (!snapshot.customers.is_empty()).then(|| case.id.to_string()),
    }
}

fn actions_outline(
    view: &CardView,
    statuses: &BTreeMap<&str, &ActionStatus>,
    m: Markup,
) -> ActionsOutline {
    let case = view.case;
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut actions = Vec::new();
    for (i, action) in case.actions.iter().enumerate() {
        let status = statuses.get(action.key.as_str()).copied();
        let (outline, stage) = action_outline(&case.id, action, status, view.now, m);
        *counts.entry(stage).or_default() += 1;
        if i < MAX_ACTIONS_SHOWN {
            actions.push(outline);
        }
    }
    let summary = match case.actions.len() {
        0 => vec!["No actions proposed.".to_owned()],
        n => {
            let stages: Vec<String> = counts.iter().map(|(s, k)| format!("{k} {s}")).collect();
            let noun = if n == 1 { "action" } else { "actions" };
            vec![
                format!("{n} {noun}: {}", stages.join(" · ")),
                revenue_line(case),
            ]
        }
    };
    let more = if case.snapshot.customers.is_empty() {
        Vec::new()
    } else {
        choose::menu(case, view.statuses, view.now)
            .iter()
            .map(|choice| MenuOption {
                label: choice.label(case, view.statuses),
                value: choose::CaseChoice {
                    case_id: case.id.clone(),
                    choice: choice.clone(),
                }
                .value(),
            })
            .filter(|o| o.value.len() <= MAX_OPTION_VALUE)
            .take(MAX_MENU_OPTIONS)
            .collect()
    };
    ActionsOutline {
        summary,
        actions,
        n_hidden: case.actions.len().saturating_sub(MAX_ACTIONS_SHOWN),
        more,
    }
}

/// What the draft in the thread is: its language, that it is safe to send
/// now, and when an updated one (stating what was done) follows or has
/// followed. The terminal page prints the draft itself after these lines.
fn followup_lines(
    view: &CardView,
    statuses: &BTreeMap<&str, &ActionStatus>,
    m: Markup,
) -> Vec<String> {
    let case = view.case;
    let followup = &case.followup;
    let language = match crate::followup::Locale::from_tag(&followup.locale) {
        Some(locale) => format!("{} ({})", locale.english_name(), followup.locale),
        None => m.esc(&followup.locale),
    };
    let status = |a: &&ProposedAction| statuses.get(a.key.as_str()).copied();
    let done: Vec<String> = case
        .actions
        .iter()
        .filter(|a| matches!(status(a), Some(ActionStatus::Succeeded { .. })))
        .map(|a| m.bold(a.key.as_str()))
        .collect();
    let pending: Vec<String> =
        case.actions
            .iter()
            .filter(|a| a.kind.is_money_moving())
            .filter(|a| {
                // Still able to run: not rejected, expired, failed or done.
                match status(a) {
                    None
                    | Some(ActionStatus::Executing { .. } | ActionStatus::Verifying { .. }) => true,
                    Some(ActionStatus::Proposed { expires_at, .. }) => *expires_at > view.now,
                    Some(_) => false,
                }
            })
            .map(|a| m.bold(a.key.as_str()))
            .collect();
    let mut lines = vec![format!(
        "Customer message draft in {language}: safe to send now, it says what was found and promises nothing that has not happened."
    )];
    match m {
        Markup::Plain => {
            lines.push("Full draft:".to_owned());
            lines.extend(followup.text.lines().map(|l| match l {
                "" => String::new(),
                l => format!("  {l}"),
            }));
        }
        Markup::Slack => {
            if !done.is_empty() {
                lines.push(format!(
                    "Updated after {} ran: the latest draft in the thread states what was done.",
                    done.join(", ")
                ));
            } else if !pending.is_empty() {
                lines.push(format!(
                    "Once {} has run, an updated draft stating what was done follows in the thread.",
                    pending.join(" or ")
                ));
            }
            lines.push("Full draft in the thread.".to_owned());
        }
    }
    lines
}

fn bullets(items: Vec<String>) -> Vec<String> {
    let n = items.len();
    let mut lines: Vec<String> = items
        .into_iter()
        .take(MAX_LIST)
        .map(|i| format!("• {i}"))
        .collect();
    if n > MAX_LIST {
        lines.push(format!("…and {} more", n - MAX_LIST));
    }
    lines
}

fn customer_lines(snapshot: &BillingSnapshot, now: i64, m: Markup) -> Vec<String> {
    let query = &snapshot.query;
    if snapshot.customers.is_empty() {
        return vec![format!(
            "No customer found for {} {}.",
            query.kind(),
            m.code(&query.to_string())
        )];
    }
    let n = snapshot.customers.len();
    let found = if n == 1 {
        "1 customer".to_owned()
    } else {
        format!("{n} customers")
    };
    // The card can be re-rendered long after the lookup: say when Stripe was read.
    let mut lines = vec![format!(
        "Found by {} {}: {found} (Stripe as of {})",
        query.kind(),
        m.code(&query.to_string()),
        format_datetime(snapshot.fetched_at)
    )];
    let items = snapshot
        .customers
        .iter()
        .enumerate()
        .map(|(i, customer)| {
            // The identifier names the first customer; the others share its email.
            let role = match (i, query.is_exact()) {
                (0, _) | (_, false) => "",
                _ => " · other customer with the same email",
            };
            format!("{}{role}", customer_line(customer, now, m))
        })
        .collect();
    lines.extend(bullets(items));
    lines
}

fn customer_line(customer: &CustomerRecord, now: i64, m: Markup) -> String {
    let mut parts = vec![
        m.bold(customer.name.as_deref().unwrap_or("(no name)")),
        m.esc(customer.email.as_deref().unwrap_or("(no email)")),
        m.code(customer.id.as_str()),
        format!("created {}", format_date(customer.created)),
    ];
    let place: Vec<String> = customer
        .country
        .iter()
        .cloned()
        .chain(customer.preferred_locales.first().cloned())
        .map(|p| m.esc(&p))
        .collect();
    if !place.is_empty() {
        parts.push(place.join(" / "));
    }
    parts.push(match &customer.default_payment_method {
        Some(card) => card_line(card, now, m),
        None => "no default card".to_owned(),
    });
    parts.join(" · ")
}

/// `visa •••• 4242, exp 04/2027`, plus "expired" when it is; never more.
pub(crate) fn card_line(card: &CardSummary, now: i64, m: Markup) -> String {
    let expired = if card.is_expired(now) {
        " (expired)"
    } else {
        ""
    };
    format!(
        "{} •••• {}, exp {:02}/{}{expired}",
        m.esc(&card.brand),
        m.esc(&card.last4),
        card.exp_month,
        card.exp_year
    )
}

fn per_interval(money: &Money, interval: Interval, count: u32) -> String {
    let unit = match interval {
        Interval::Day => "day",
        Interval::Week => "week",
        Interval::Month => "month",
        Interval::Year => "year",
    };
    if count > 1 {
        format!("{money}/{count} {unit}s")
    } else {
        format!("{money}/{unit}")
    }
}

fn subscription_line(sub: &Subscription, several_customers: bool, m: Markup) -> String {
    let mut parts = vec![format!(
        "{} {}",
        m.code(sub.id.as_str()),
        m.bold(sub.status.as_str())
    )];
    for item in &sub.items {
        let plan = item.plan_name.as_deref().unwrap_or(&item.price_id);
        parts.push(format!(
            "{} × {} at {}",
            m.esc(plan),
            item.quantity,
            per_interval(&item.unit_amount, item.interval, item.interval_count)
        ));
    }
    parts.push(format!("created {}", format_datetime(sub.created)));
    if let Some(end) = sub.current_period_end {
        let what = match sub.status {
            crate::domain::SubscriptionStatus::Trialing => "trial ends",
            _ if sub.cancel_at_period_end => "cancels",
            _ => "renews",
        };
        parts.push(format!("{what} {}", format_date(end)));
    }
    if let Some(pause) = &sub.pause_collection {
        parts.push(format!("{} {}", m.bold("collection paused"), pause.terms()));
    }
    if several_customers {
        parts.push(m.code(sub.customer.as_str()));
    }
    parts.join(" · ")
}

fn billing_sections(snapshot: &BillingSnapshot, now: i64, m: Markup) -> Vec<Section> {
    let several = snapshot.customers.len() > 1;

    let (live, ended): (Vec<&Subscription>, Vec<&Subscription>) =
        snapshot.subscriptions().partition(|s| s.status.is_live());
    let mut subs = bullets(
        live.iter()
            .map(|s| subscription_line(s, several, m))
            .collect(),
    );
    if subs.is_empty() {
        subs.push("No live subscriptions.".to_owned());
    }
    if !ended.is_empty() {
        subs.push(format!(
            "{} canceled or expired subscription(s) not listed.",
            ended.len()
        ));
    }

    let open: Vec<String> = snapshot
        .invoices()
        .filter(|i| matches!(i.status, InvoiceStatus::Open | InvoiceStatus::Uncollectible))
        .map(|i| {
            let mut line = format!(
                "{} {} · due {} · {} attempt(s) · {}",
                m.code(i.id.as_str()),
                m.bold(invoice_status(i.status)),
                i.amount_due,
                i.attempt_count,
                format_date(i.created)
            );
            if let Some(sub) = &i.subscription {
                line.push_str(&format!(" · for {}", m.code(sub.as_str())));
            }
            line
        })
        .collect();
    let mut invoices = bullets(open);
    if invoices.is_empty() {
        invoices.push("No open or failed invoices.".to_owned());
    }

    let charge_items: Vec<String> = snapshot
        .charges()
        .map(|c| {
            let status = match c.status {
                ChargeStatus::Succeeded => "succeeded",
                ChargeStatus::Pending => "pending",
                ChargeStatus::Failed => "failed",
            };
            let mut parts = vec![format!(
                "{} {} {status} {}",
                m.code(c.id.as_str()),
                c.amount,
                format_datetime(c.created)
            )];
            if c.amount_refunded > 0 {
                let refunds: Vec<String> =
                    c.refunds.iter().map(|r| m.code(r.id.as_str())).collect();
                let ids = if refunds.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", refunds.join(", "))
                };
                parts.push(format!(
                    "refunded {}{ids}",
                    c.amount.with_minor(c.amount_refunded)
                ));
            }
            if c.disputed {
                parts.push(m.bold("disputed"));
            }
            match (&c.decline_code, &c.failure_message) {
                (Some(code), Some(why)) => {
                    parts.push(format!("declined ({}): {}", m.code(code), m.esc(why)));
                }
                (Some(code), None) => parts.push(format!("declined ({})", m.code(code))),
                (None, Some(why)) => parts.push(format!("declined: {}", m.esc(why))),
                (None, None) => {}
            }
            parts.join(" · ")
        })
        .collect();
    let mut charges = bullets(charge_items);
    if charges.is_empty() {
        charges.push("No recent charges.".to_owned());
    }

    let mut sections = vec![
        Section {
            title: "Subscriptions",
            lines: subs,
        },
        Section {
            title: "Invoices",
            lines: invoices,
        },
        Section {
            title: "Charges",
            lines: charges,
        },
    ];
    let anomalies = anomalies(snapshot, now, m);
    if !anomalies.is_empty() {
        sections.push(Section {
            title: "Anomalies",
            lines: bullets(anomalies),
        });
    }
    sections
}

fn invoice_status(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Draft => "draft",
        InvoiceStatus::Open => "open",
        InvoiceStatus::Paid => "paid",
        InvoiceStatus::Uncollectible => "uncollectible",
        InvoiceStatus::Void => "void",
    }
}

/// Facts an operator should not miss, whatever the category.
fn anomalies(snapshot: &BillingSnapshot, now: i64, m: Markup) -> Vec<String> {
    let mut out = Vec::new();
    let mut by_price: BTreeMap<&str, Vec<&Subscription>> = BTreeMap::new();
    for sub in snapshot.subscriptions().filter(|s| s.status.is_live()) {
        for item in &sub.items {
            by_price
                .entry(item.price_id.as_str())
                .or_default()
                .push(sub);
        }
    }
    for (price, subs) in by_price.iter().filter(|(_, subs)| subs.len() > 1) {
        let ids: Vec<String> = subs.iter().map(|s| m.code(s.id.as_str())).collect();
        out.push(format!(
            "{} live subscriptions on {}: {}",
            subs.len(),
            m.code(price),
            ids.join(", ")
        ));
    }
    for sub in snapshot.subscriptions().filter(|s| s.status.is_failing()) {
        out.push(format!(
            "{} is {}",
            m.code(sub.id.as_str()),
            sub.status.as_str()
        ));
    }
    for customer in &snapshot.customers {
        if customer
            .default_payment_method
            .as_ref()
            .is_some_and(|c| c.is_expired(now))
        {
            out.push(format!(
                "default card of {} is expired",
                m.code(customer.id.as_str())
            ));
        }
    }
    for charge in snapshot.charges().filter(|c| c.disputed) {
        out.push(format!("{} is disputed", m.code(charge.id.as_str())));
    }
    out
}

fn decision_section(case: &Case, m: Markup) -> Section {
    let mut lines = match &case.triage {
        Triage::Classified { category, evidence } => {
            let mut lines = vec![m.bold(category.label())];
            lines.extend(bullets(evidence.iter().map(|e| m.esc(e)).collect()));
            lines
        }
        Triage::NeedsReview { evidence, missing } => {
            let mut lines = vec![m.bold("Needs human review")];
            if !evidence.is_empty() {
                lines.push("Seen:".to_owned());
                lines.extend(bullets(evidence.iter().map(|e| m.esc(e)).collect()));
            }
            if !missing.is_empty() {
                lines.push("Missing:".to_owned());
                lines.extend(bullets(missing.iter().map(|e| m.esc(e)).collect()));
            }
            lines
        }
        Triage::NotFound => {
            let query = &case.snapshot.query;
            vec![
                m.bold(&format!("No customer found for {query}")),
                format!(
                    "Check the {} for typos, or look up by another identifier: the customer's email, or a Stripe id (cus_, sub_, in_, ch_, pi_) from their receipt.",
                    query.kind()
                ),
            ]
        }
    };
    // The decision first, then the context it read, within what Slack's
    // section limit leaves: no note can push the category off the card.
    let used =
        DECISION.chars().count() + 3 + lines.iter().map(|l| l.chars().count() + 1).sum::<usize>();
    let room = MAX_SECTION_TEXT.saturating_sub(used).min(CONTEXT_BUDGET);
    lines.extend(context_lines(case, m, room));
    Section {
        title: DECISION,
        lines,
    }
}

/// One piece of context as the card shows it: who gave it and when
/// (marked up), then its text (raw, escaped when shown).
struct ContextEntry<'a> {
    head: String,
    text: &'a str,
    quoted: bool,
}

impl ContextEntry<'_> {
    /// The line, its text cut to `max_text` characters.
    fn line(&self, m: Markup, max_text: usize) -> String {
        let text = m.esc(&truncate(self.text, max_text));
        if self.quoted {
            format!("{}“{text}”", self.head)
        } else {
            format!("{}{text}", self.head)
        }
    }
}

/// What the decision read besides Stripe, within `budget` characters: the
/// customer's messages operators gave, newest first, then the operators'
/// notes, newest first (each clipped; scrubbed when they came in). An entry
/// that does not fit is cut, or left out and counted.
fn context_lines(case: &Case, m: Markup, budget: usize) -> Vec<String> {
    let who = |actor: &Actor| match actor {
        Actor::Slack(user) => m.user(user),
        other => m.esc(&other.to_string()),
    };
    let mut entries = Vec::new();
    for added in case.context.messages.iter().rev() {
        entries.push(ContextEntry {
            head: format!(
                "Customer's message given by {} {}: ",
                who(&added.by),
                format_datetime(added.at)
            ),
            text: &added.text,
            quoted: true,
        });
    }
    if let (Some(by), Some(message)) = (&case.context.message_given_by, &case.message) {
        entries.push(ContextEntry {
            head: format!("Context given by {}, the customer's message: ", who(by)),
            text: message,
            quoted: true,
        });
    }
    for note in case.context.notes.iter().rev() {
        entries.push(ContextEntry {
            head: format!("Note from {} {}: ", who(&note.by), format_datetime(note.at)),
            text: &note.text,
            quoted: false,
        });
    }
    let full: Vec<String> = entries
        .iter()
        .map(|e| e.line(m, CONTEXT_SHOWN_CHARS))
        .collect();
    if full.iter().map(|l| l.chars().count() + 1).sum::<usize>() <= budget {
        return full;
    }
    let mut room = budget.saturating_sub(HIDDEN_LINE_CHARS);
    let mut lines = Vec::new();
    for (entry, line) in entries.iter().zip(full) {
        let len = line.chars().count() + 1;
        if len <= room {
            room -= len;
            lines.push(line);
            continue;
        }
        // Cut the text until the line fits (escaping can lengthen it).
        let mut max_text = room.saturating_sub(entry.head.chars().count() + 3);
        while max_text >= MIN_CUT_TEXT {
            let cut = entry.line(m, max_text);
            let over = (cut.chars().count() + 1).saturating_sub(room);
            if over == 0 {
                lines.push(cut);
                break;
            }
            max_text = max_text.saturating_sub(over);
        }
        break;
    }
    let hidden = entries.len() - lines.len();
    if hidden > 0 {
        lines.push(format!("…and {hidden} older messages or notes not shown"));
    }
    lines
}

fn action_outline(
    case: &CaseId,
    action: &ProposedAction,
    status: Option<&ActionStatus>,
    now: i64,
    m: Markup,
) -> (ActionOutline, &'static str) {
    use crate::domain::Origin;
    let chosen = match &action.origin {
        Origin::ChosenBy(user) => format!(" · chosen by {}", m.user(user)),
        Origin::PromptedBy(Actor::Slack(user)) => {
            format!(" · proposed from context added by {}", m.user(user))
        }
        Origin::PromptedBy(other) => {
            format!(
                " · proposed from context added by {}",
                m.esc(&other.to_string())
            )
        }
        Origin::Proposed => String::new(),
    };
    let body = format!(
        "{} {}{chosen}\n{}",
        m.bold(action.key.as_str()),
        m.esc(&action.summary),
        m.esc(&action.rationale)
    );
    let money = action.kind.is_money_moving();
    let mut buttons = None;
    let state = match status {
        None => "Proposed (not tracked yet: approve once the case is stored)".to_owned(),
        Some(ActionStatus::Proposed { expires_at, .. }) if *expires_at <= now => {
            format!("Expired {} without approval", format_datetime(*expires_at))
        }
        Some(ActionStatus::Proposed { approvals, expires_at }) => {
            buttons = Some(Buttons {
                value: button_value(case, &action.key),
                confirm: money.then(|| m.esc(&action.summary)),
                partial: matches!(action.kind, crate::domain::ActionKind::Refund(_)),
                retry: false,
            });
            let mut state = format!("Awaiting approval until {}", format_datetime(*expires_at));
            if !approvals.is_empty() {
                state.push_str(&format!(" · approved so far by {}", m.users(approvals)));
            }
            if money {
                state.push_str(" · moves money");
            }
            state
        }
        Some(ActionStatus::Executing { approved_by, at, .. }) => {
            format!("Executing since {} · approved by {}", format_datetime(*at), m.users(approved_by))
        }
        Some(ActionStatus::Verifying { approved_by, at, reason, .. }) => format!(
            "Checking with Stripe what happened ({}) since {} · approved by {} · do not redo it by hand",
            m.esc(reason),
            format_datetime(*at),
            m.users(approved_by)
        ),
        Some(ActionStatus::Succeeded { approved_by, at, stripe_ids, notes }) => {
            let mut state = format!("Done {} · approved by {}", format_datetime(*at), m.users(approved_by));
            if !stripe_ids.is_empty() {
                let ids: Vec<String> = stripe_ids.iter().map(|id| m.code(id)).collect();
                state.push_str(&format!(" · Stripe {}", ids.join(", ")));
            }
            for note in notes {
                state.push_str(&format!(" · {}", m.esc(note)));
            }
            state
        }
        Some(ActionStatus::Failed { approved_by, at, error, notes }) => {
            if now <= at + crate::policy::RETRY_WINDOW_SECS {
                buttons = Some(Buttons {
                    value: button_value(case, &action.key),
                    confirm: money.then(|| m.esc(&action.summary)),
                    partial: false,
                    retry: true,
                });
            }
            let mut state = format!("Failed {} · approved by {} · {}", format_datetime(*at), m.users(approved_by), m.esc(error));
            for note in notes {
                state.push_str(&format!(" · {}", m.esc(note)));
            }
            state
        }
        Some(ActionStatus::Rejected { by, at, reason }) => {
            format!("Rejected by {} {} · reason: {}", m.user(by), format_datetime(*at), m.esc(reason))
        }
        Some(ActionStatus::Expired { at }) => format!("Expired {} without approval", format_datetime(*at)),
    };
    let stage = match status {
        None => "not tracked yet",
        Some(ActionStatus::Proposed { expires_at, .. }) if *expires_at <= now => "expired",
        Some(ActionStatus::Proposed { .. }) => "awaiting approval",
        Some(ActionStatus::Executing { .. }) => "running",
        Some(ActionStatus::Verifying { .. }) => "being checked with Stripe",
        Some(ActionStatus::Succeeded { .. }) => "done",
        Some(ActionStatus::Failed { .. }) => "failed",
        Some(ActionStatus::Rejected { .. }) => "rejected",
        Some(ActionStatus::Expired { .. }) => "expired",
    };
    let outline = ActionOutline {
        key: action.key.to_string(),
        body,
        state,
        buttons,
    };
    (outline, stage)
}

/// The revenue impact (docs/PLAYBOOK.md §5) if every proposal runs.
fn revenue_line(case: &Case) -> String {
    let list = |money: &[Money]| {
        if money.is_empty() {
            "none".to_owned()
        } else {
            money
                .iter()
                .map(Money::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let revenue = &case.revenue;
    format!(
        "Revenue impact if every proposal runs: refunded {} · MRR lost {} · MRR kept {}",
        list(&revenue.refunded),
        list(&revenue.mrr_lost),
        list(&revenue.mrr_kept)
    )
}
