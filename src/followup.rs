//! Customer follow-up drafts and product-gap notes (docs/PLAYBOOK.md §3
//! "Recovery links are credentials", §4). Pure. The wording is data: one
//! Project Fluent file per locale (`templates`), [`GAP_RULES`] keyed by
//! category and signal. Code only picks the messages and their values.
//!
//! A draft never promises what has not happened: before an action ran it
//! says what was found and what the team will review next ("next-"
//! messages); only after Stripe confirmed an action (a [`DoneAction`]) does
//! the redraft say what was done, with the amount and the date ("done-").
//!
//! Posting the draft in the card's thread is the workflow's job.

use crate::domain::ActionKey;
use crate::domain::{
    ActionKind, ActionStatus, BillingSnapshot, CaseId, Category, FollowUp, InvoiceStatus, Money,
    ProductGap, ProposedAction, Signal, SubscriptionId, Triage,
};
use crate::plan::{is_ours, StepName};
use fluent_bundle::{FluentArgs, FluentValue};
use std::collections::BTreeMap;

pub mod locale;
mod templates;

pub use locale::Locale;

#[cfg(test)]
mod tests;

/// Deployment settings the drafts use (docs/CONTRACT.md `BILLING_PORTAL_LOGIN_URL`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpSettings {
    /// The customer portal's login link: asks the customer to sign in, so it
    /// is safe to send hours later, unlike a portal session URL.
    pub portal_login_url: Option<String>,
}

/// An action that already ran, and what Stripe confirmed it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoneAction {
    pub key: ActionKey,
    pub refunded: Option<Money>,
    pub canceled: Option<SubscriptionId>,
    /// When it ran (Unix seconds): the draft states the date.
    pub at: i64,
}

/// When a product-gap rule applies; rules are tried in order, first match wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// This category and this signal in the message.
    Both(Category, Signal),
    Category(Category),
    /// This signal, whatever the category (needs review included).
    Signal(Signal),
}

/// Countable `surface` keys (docs/PLAYBOOK.md §4): no_billing_portal,
/// no_cancel_flow, no_invoice_download, no_plan_or_seat_explanation,
/// no_usage_visibility, no_duplicate_guard, no_renewal_notice,
/// payment_recovery, product_reliability.
const GAP_RULES: &[(When, &str, &str)] = &[
    (When::Both(Category::MissingSelfServeControl, Signal::AsksForInvoice), "no_invoice_download",
        "Customers cannot download their own invoices: add invoice history and download to the account page or enable it in the billing portal."),
    (When::Both(Category::MissingSelfServeControl, Signal::AsksHowToCancel), "no_cancel_flow",
        "Customers cannot find how to cancel: add a visible cancel path to the account page."),
    (When::Both(Category::MissingSelfServeControl, Signal::AsksToChangePlan), "no_billing_portal",
        "Customers cannot change plan themselves: link the billing portal with plan changes enabled from the account page."),
    (When::Category(Category::MissingSelfServeControl), "no_billing_portal",
        "Customers cannot manage their subscription or card themselves: link the billing portal from the account page and receipts."),
    (When::Both(Category::ProductFailure, Signal::ChargedAfterCancelling), "no_cancel_flow",
        "A customer was charged after believing they had cancelled: the cancel flow must confirm the cancellation and its effective date."),
    (When::Both(Category::ProductFailure, Signal::SurpriseRenewal), "no_renewal_notice",
        "A renewal surprised the customer: send a reminder before renewals, annual ones above all."),
    (When::Category(Category::ProductFailure), "product_reliability",
        "The customer paid for a service that failed them: log the incident with the product team and track refunds caused by it."),
    (When::Category(Category::DuplicatePersonalSubscription), "no_duplicate_guard",
        "Checkout let the same person buy the same subscription twice: block or warn on a second live subscription to the same price for one email."),
    (When::Category(Category::GenuineMultiSeatIntent), "no_plan_or_seat_explanation",
        "The customer did not understand seat billing: explain seats and per-seat price on the pricing page, at checkout and on the invoice."),
    (When::Category(Category::FailedPayment), "payment_recovery",
        "Payment failed without recovery: enable failed-payment emails with a link to update the card, and smart retries."),
    (When::Signal(Signal::AsksForInvoice), "no_invoice_download",
        "Customers cannot download their own invoices: add invoice history and download to the account page."),
    (When::Signal(Signal::AsksHowToCancel), "no_cancel_flow",
        "Customers cannot find how to cancel: add a visible cancel path to the account page."),
    (When::Signal(Signal::ChargedTwice), "no_duplicate_guard",
        "A customer believes they were charged twice: guard checkout against a second purchase of the same subscription."),
    (When::Signal(Signal::MentionsTeamOrSeats), "no_plan_or_seat_explanation",
        "Seat billing raised a question: explain seats and per-seat price on the pricing page and invoice."),
];

/// The customer message draft for this case, in `locale` (see
/// [`locale::choose`]). Before anything ran it says what was found and, when
/// a refund or cancellation is proposed, that the team will review it next;
/// with `done` (actions Stripe confirmed) it states what was done, the amount
/// and the date. Never holds a billing-portal session URL: it links the
/// portal login page, else an unpaid invoice's hosted page, else asks for a
/// reply.
pub fn draft(
    case_triage: &Triage,
    snapshot: &BillingSnapshot,
    actions: &[ProposedAction],
    done: &[DoneAction],
    locale: Locale,
    settings: &FollowUpSettings,
) -> FollowUp {
    let (found, links) = match case_triage {
        Triage::Classified { category, .. } => match category {
            Category::DuplicatePersonalSubscription => ("found-duplicate", false),
            Category::GenuineMultiSeatIntent => ("found-multi-seat", true),
            Category::FailedPayment => ("found-failed-payment", true),
            Category::MissingSelfServeControl => ("found-self-serve", true),
            Category::ProductFailure => ("found-product-failure", false),
        },
        Triage::NeedsReview { .. } => ("found-needs-review", false),
        Triage::NotFound => ("found-not-found", false),
    };
    let say = |id: &str, args: &FluentArgs<'_>| templates::format(locale, id, args);

    let mut args = FluentArgs::new();
    let customer = snapshot.customers.first();
    // A name is outside text: keep it out of the draft if it looks like a link.
    let name = customer
        .and_then(|c| c.name.as_deref())
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.contains("://"));
    let greeting = match name {
        Some(name) => {
            args.set("name", name);
            say("greeting-named", &args)
        }
        None => say("greeting", &args),
    };
    let plan = plan_name(snapshot);
    args.set("named", if plan.is_some() { "yes" } else { "no" });
    args.set("plan", plan.unwrap_or_default());
    let seats = snapshot
        .subscriptions()
        .filter(|s| s.status.is_live())
        .map(|s| s.seats())
        .max()
        .unwrap_or(1);
    args.set("seats", FluentValue::from(seats));

    let mut paragraphs = vec![greeting, say(found, &args)];
    if links {
        paragraphs.push(link_sentence(snapshot, settings, locale));
    }
    // What ran, else what is still to be reviewed (an action that moved no
    // money, like a portal link, leaves the pending refund's review in place).
    let pending: Vec<ProposedAction> = actions
        .iter()
        .filter(|a| !done.iter().any(|d| d.key == a.key))
        .cloned()
        .collect();
    let action = done_sentence(actions, done, locale).or_else(|| next_sentence(&pending, locale));
    // A refund already made is stated, with its date and amount, where the
    // customer asks about it or chases it (self-serve, needs review): never
    // a second one, and nothing promised.
    let states_refunds = matches!(
        case_triage,
        Triage::NeedsReview { .. }
            | Triage::Classified {
                category: Category::MissingSelfServeControl,
                ..
            }
    );
    if action.is_none() && states_refunds {
        paragraphs.extend(refunds_made_sentences(snapshot, locale));
    }
    paragraphs.extend(action);
    paragraphs.push(say("sign-off", &args));
    let text = paragraphs
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    // Whatever went in, a session link never goes out.
    FollowUp {
        locale: locale.tag().to_owned(),
        text: strip_session_links(&text),
    }
}

/// Where a case's actions stand, for a draft written after some may have
/// run (the redraft of Add context): the actions that ran or may still run
/// (a rejected or expired one, or a failure past its retry window, is left
/// out: the draft must not say the team reviews it), and what Stripe
/// confirmed those that succeeded did. A refund counts only as found in
/// `snapshot` (Stripe's state now) with metadata naming this case, action
/// and step, never by amount; a succeeded cancellation ended its
/// subscription. Pure.
pub fn progress(
    case: &CaseId,
    actions: &[ProposedAction],
    statuses: &[(ActionKey, ActionStatus)],
    snapshot: &BillingSnapshot,
    now: i64,
) -> (Vec<ProposedAction>, Vec<DoneAction>) {
    let status = |key: &ActionKey| statuses.iter().find(|(k, _)| k == key).map(|(_, s)| s);
    let mut standing = Vec::new();
    let mut done = Vec::new();
    for action in actions {
        match status(&action.key) {
            Some(ActionStatus::Succeeded { at, .. }) => {
                done.push(done_action(case, action, snapshot, *at));
            }
            Some(ActionStatus::Rejected { .. } | ActionStatus::Expired { .. }) => continue,
            Some(ActionStatus::Proposed { expires_at, .. }) if *expires_at <= now => continue,
            Some(ActionStatus::Failed { at, .. })
                if now > at + crate::policy::RETRY_WINDOW_SECS =>
            {
                continue
            }
            _ => {}
        }
        standing.push(action.clone());
    }
    (standing, done)
}

/// [`progress`] right after the action `ran` was confirmed by Stripe: its
/// own confirmed result replaces what `snapshot` (read before it ran) says
/// of it; the other actions read as in [`progress`]. Pure.
pub fn progress_after_run(
    case: &CaseId,
    actions: &[ProposedAction],
    statuses: &[(ActionKey, ActionStatus)],
    snapshot: &BillingSnapshot,
    ran: DoneAction,
    now: i64,
) -> (Vec<ProposedAction>, Vec<DoneAction>) {
    let (standing, mut done) = progress(case, actions, statuses, snapshot, now);
    done.retain(|d| d.key != ran.key);
    done.push(ran);
    (standing, done)
}

/// What Stripe's state says a succeeded action did.
fn done_action(
    case: &CaseId,
    action: &ProposedAction,
    snapshot: &BillingSnapshot,
    at: i64,
) -> DoneAction {
    let (charges, canceled): (Vec<_>, _) = match &action.kind {
        ActionKind::Refund(target) => (vec![&target.charge], None),
        ActionKind::CancelDuplicate {
            subscription,
            refunds,
        } => (
            refunds.iter().map(|t| &t.charge).collect(),
            Some(subscription.clone()),
        ),
        ActionKind::CancelSubscription { subscription, .. } => {
            (Vec::new(), Some(subscription.clone()))
        }
        _ => (Vec::new(), None),
    };
    let refunds = snapshot
        .charges()
        .filter(|c| charges.contains(&&c.id))
        .flat_map(|c| {
            let step = StepName::Refund(c.id.clone());
            c.refunds
                .iter()
                .filter(move |r| {
                    !matches!(r.status.as_str(), "failed" | "canceled")
                        && is_ours(&r.metadata, case, &action.key, &step)
                })
                .map(|r| r.amount)
        });
    let mut refunded: Option<Money> = None;
    for amount in refunds {
        refunded = Some(match refunded {
            // Refunds of one action are of one customer's charges, in one
            // currency; a second currency would be a corrupt record.
            Some(total) if total.currency == amount.currency => Money {
                minor: total.minor.saturating_add(amount.minor),
                ..total
            },
            Some(total) => total,
            None => amount,
        });
    }
    DoneAction {
        key: action.key.clone(),
        refunded,
        canceled,
        at,
    }
}

/// For the operator, above the first draft in the card's thread: the draft
/// is safe to send now, and which approvals bring the redraft that states
/// what was done. `None` when nothing proposed moves money or ends a
/// subscription.
pub fn pending_note(actions: &[ProposedAction]) -> Option<String> {
    let names: Vec<String> = actions
        .iter()
        .filter(|a| a.kind.is_money_moving())
        .map(|a| format!("*{}*", a.summary))
        .collect();
    if names.is_empty() {
        return None;
    }
    Some(format!(
        "Safe to send now: it says what was found and that the team reviews the next step; it promises no refund or cancellation. Once {} has run, an updated draft stating what was done follows here.",
        names.join(" or ")
    ))
}

/// The product or website change that would stop the case recurring, if the
/// case points at one.
pub fn product_gap(triage: &Triage, signals: &[Signal]) -> Option<ProductGap> {
    let category = match triage {
        Triage::Classified { category, .. } => Some(*category),
        Triage::NeedsReview { .. } => None,
        Triage::NotFound => return None,
    };
    GAP_RULES
        .iter()
        .find(|(when, _, _)| match *when {
            When::Both(c, s) => category == Some(c) && signals.contains(&s),
            When::Category(c) => category == Some(c),
            When::Signal(s) => signals.contains(&s),
        })
        .map(|(_, surface, note)| ProductGap {
            surface: (*surface).to_owned(),
            note: (*note).to_owned(),
        })
}

/// The name of the plan of the first live subscription that has one; a name
/// that looks like a link stays out.
fn plan_name(snapshot: &BillingSnapshot) -> Option<String> {
    snapshot
        .subscriptions()
        .filter(|s| s.status.is_live())
        .find_map(|s| s.items.iter().find_map(|i| i.plan_name.clone()))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty() && !p.contains("://"))
}

/// The link sentence, in the playbook's order of preference.
fn link_sentence(
    snapshot: &BillingSnapshot,
    settings: &FollowUpSettings,
    locale: Locale,
) -> String {
    let mut args = FluentArgs::new();
    if let Some(url) = settings
        .portal_login_url
        .as_deref()
        .filter(|u| is_safe_link(u))
    {
        args.set("url", url.trim());
        return templates::format(locale, "link-portal", &args);
    }
    let invoice_url = snapshot
        .invoices()
        .filter(|i| i.status == InvoiceStatus::Open)
        .find_map(|i| i.hosted_invoice_url.as_deref().filter(|u| is_safe_link(u)));
    match invoice_url {
        Some(url) => {
            args.set("url", url.trim());
            templates::format(locale, "link-invoice", &args)
        }
        None => templates::format(locale, "link-reply", &args),
    }
}

/// Which subscription a cancellation ends, as the draft names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ends {
    /// The extra one of a duplicate.
    Extra,
    /// The customer's subscription, now.
    Now,
    /// The customer's subscription, at the end of the period.
    AtPeriodEnd,
}

/// Before anything ran: what the team reviews next, for the proposals that
/// move money or end a subscription. Says nothing was done.
fn next_sentence(actions: &[ProposedAction], locale: Locale) -> Option<String> {
    let mut ends = None;
    let mut refunds = Vec::new();
    for action in actions {
        match &action.kind {
            ActionKind::CancelDuplicate {
                refunds: targets, ..
            } => {
                ends = Some(Ends::Extra);
                refunds.extend(targets.iter().map(|t| t.amount));
            }
            ActionKind::CancelSubscription { .. } => {
                ends = ends.or(Some(Ends::Now));
            }
            ActionKind::Refund(target) => refunds.push(target.amount),
            _ => {}
        }
    }
    let amount = sum_by_currency(refunds.into_iter());
    let id = match (ends, amount.is_empty()) {
        (Some(Ends::Extra), true) => "next-cancel-extra",
        (Some(Ends::Extra), false) => "next-cancel-extra-refund",
        (Some(_), true) => "next-cancel",
        (Some(_), false) => "next-cancel-refund",
        (None, false) => "next-refund",
        (None, true) => actions
            .iter()
            .find_map(|a| a.kind.draft_lines())
            .map(|lines| lines.next)?,
    };
    let mut args = FluentArgs::new();
    args.set("amount", amount);
    Some(templates::format(locale, id, &args))
}

/// How recent a refund on record must be for the draft to state it.
const REFUND_STATED_DAYS: i64 = 60;

/// "On 2025-06-10 we refunded USD 19.00; it can take 5 to 10 business days
/// to show on your statement.", one per refund of the last
/// [`REFUND_STATED_DAYS`] before the snapshot was read.
fn refunds_made_sentences(snapshot: &BillingSnapshot, locale: Locale) -> Vec<String> {
    crate::triage::refunds_made(snapshot)
        .iter()
        .filter(|made| snapshot.fetched_at - made.refund.created < REFUND_STATED_DAYS * 86_400)
        .map(|made| {
            let mut args = FluentArgs::new();
            args.set("amount", made.refund.amount.to_string());
            args.set("date", iso_date(made.refund.created));
            templates::format(locale, "done-refunded", &args)
        })
        .collect()
}

/// After Stripe confirmed: what was done, with the amount and the date.
fn done_sentence(
    actions: &[ProposedAction],
    done: &[DoneAction],
    locale: Locale,
) -> Option<String> {
    let refunded = sum_by_currency(done.iter().filter_map(|d| d.refunded));
    let mut ended = Vec::new();
    for d in done.iter().filter(|d| d.canceled.is_some()) {
        let kind = actions.iter().find(|a| a.key == d.key).map(|a| &a.kind);
        ended.push(match kind {
            Some(ActionKind::CancelDuplicate { .. }) => Ends::Extra,
            Some(ActionKind::CancelSubscription {
                at_period_end: true,
                ..
            }) => Ends::AtPeriodEnd,
            _ => Ends::Now,
        });
    }
    let mut args = FluentArgs::new();
    args.set("amount", refunded.clone());
    args.set(
        "date",
        iso_date(done.iter().map(|d| d.at).max().unwrap_or_default()),
    );
    let mut ids = Vec::new();
    if ended.contains(&Ends::Extra) && !refunded.is_empty() {
        ids.push("done-canceled-extra-refunded");
    } else {
        for (ends, id) in [
            (Ends::Extra, "done-canceled-extra"),
            (Ends::Now, "done-canceled"),
            (Ends::AtPeriodEnd, "done-cancel-scheduled"),
        ] {
            if ended.contains(&ends) {
                ids.push(id);
            }
        }
        if !refunded.is_empty() {
            ids.push("done-refunded");
        }
    }
    // Kinds with lines of their own (a pause), once Stripe confirmed them.
    for d in done {
        let kind = actions.iter().find(|a| a.key == d.key).map(|a| &a.kind);
        if let Some(lines) = kind.and_then(ActionKind::draft_lines) {
            if let Some(until) = lines.until {
                args.set("until", iso_date(until));
            }
            ids.push(lines.done);
        }
    }
    if ids.is_empty() {
        return None;
    }
    Some(
        ids.into_iter()
            .map(|id| templates::format(locale, id, &args))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// `2026-11-26`: unambiguous in every locale, unlike 11/26 or 26/11.
fn iso_date(unix: i64) -> String {
    crate::domain::iso_day(unix).unwrap_or_default()
}

/// `EUR 39.00 and USD 5.00`: totals per currency, in a stable order.
fn sum_by_currency(amounts: impl Iterator<Item = Money>) -> String {
    let mut totals: BTreeMap<_, Money> = BTreeMap::new();
    for money in amounts {
        let total = totals
            .entry(money.currency)
            .or_insert_with(|| money.with_minor(0));
        total.minor = total.minor.saturating_add(money.minor);
    }
    totals
        .values()
        .map(Money::to_string)
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Links that log whoever holds them in: Stripe billing-portal sessions
/// (`billing.stripe.com/p/session/…`, `/session/…`) and Checkout sessions.
fn is_session_link(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("/p/session")
        || lower.contains("stripe.com/session")
        || lower.contains("checkout.stripe.com")
}

fn is_safe_link(url: &str) -> bool {
    let url = url.trim();
    url.starts_with("https://") && !url.contains(char::is_whitespace) && !is_session_link(url)
}

/// Last line of defence: drops any word that is a session link.
fn strip_session_links(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            if is_session_link(word) {
                let word_end = word.trim_end_matches(char::is_whitespace).len();
                format!("[link removed]{}", &word[word_end..])
            } else {
                word.to_owned()
            }
        })
        .collect()
}
