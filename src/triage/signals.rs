//! Message signals: the customer's own words turned into [`Signal`]s
//! (PLAYBOOK.md §2, "typical signals in … message"). The phrase table is data:
//! one `(phrase, Signal)` row per phrase, English and Chinese at least. Adding
//! a language or a phrasing is adding rows, never code.
//!
//! Matching is a case-insensitive substring test, so phrases are written in
//! lower case and short enough to survive inflection ("cancel" matches
//! "cancelled" and "cancelling"). What a signal *means* for the case is left to
//! `triage::classify`, which weighs it against the billing state.

use crate::domain::Signal;
use std::collections::BTreeSet;

/// Phrase table, lower case. Order does not matter: every matching row counts.
pub static PHRASES: &[(&str, Signal)] = &[
    // Asks how to cancel.
    ("how do i cancel", Signal::AsksHowToCancel),
    ("how to cancel", Signal::AsksHowToCancel),
    ("how can i cancel", Signal::AsksHowToCancel),
    ("want to cancel", Signal::AsksHowToCancel),
    ("cancel my subscription", Signal::AsksHowToCancel),
    ("cancel my plan", Signal::AsksHowToCancel),
    ("cancel my account", Signal::AsksHowToCancel),
    ("unsubscribe", Signal::AsksHowToCancel),
    ("取消订阅", Signal::AsksHowToCancel),
    ("我想取消", Signal::AsksHowToCancel),
    ("怎么取消", Signal::AsksHowToCancel),
    ("如何取消", Signal::AsksHowToCancel),
    ("退订", Signal::AsksHowToCancel),
    // Asks for an invoice or receipt.
    ("invoice", Signal::AsksForInvoice),
    ("receipt", Signal::AsksForInvoice),
    ("发票", Signal::AsksForInvoice),
    ("收据", Signal::AsksForInvoice),
    // Asks to change plan.
    ("change my plan", Signal::AsksToChangePlan),
    ("change plan", Signal::AsksToChangePlan),
    ("upgrade", Signal::AsksToChangePlan),
    ("downgrade", Signal::AsksToChangePlan),
    ("switch to annual", Signal::AsksToChangePlan),
    ("switch to yearly", Signal::AsksToChangePlan),
    ("switch to monthly", Signal::AsksToChangePlan),
    ("更改套餐", Signal::AsksToChangePlan),
    ("换套餐", Signal::AsksToChangePlan),
    ("升级", Signal::AsksToChangePlan),
    ("降级", Signal::AsksToChangePlan),
    // Asks to update the card.
    ("update my card", Signal::AsksToUpdateCard),
    ("update card", Signal::AsksToUpdateCard),
    ("change my card", Signal::AsksToUpdateCard),
    ("new card", Signal::AsksToUpdateCard),
    ("payment method", Signal::AsksToUpdateCard),
    ("更新信用卡", Signal::AsksToUpdateCard),
    ("换卡", Signal::AsksToUpdateCard),
    ("更换银行卡", Signal::AsksToUpdateCard),
    ("支付方式", Signal::AsksToUpdateCard),
    // Outage.
    ("outage", Signal::ReportsOutage),
    ("is down", Signal::ReportsOutage),
    ("was down", Signal::ReportsOutage),
    ("can't log in", Signal::ReportsOutage),
    ("cannot log in", Signal::ReportsOutage),
    ("not working", Signal::ReportsOutage),
    ("宕机", Signal::ReportsOutage),
    ("无法访问", Signal::ReportsOutage),
    ("用不了", Signal::ReportsOutage),
    ("无法登录", Signal::ReportsOutage),
    // Bug.
    ("bug", Signal::ReportsBug),
    ("broken", Signal::ReportsBug),
    ("crash", Signal::ReportsBug),
    ("故障", Signal::ReportsBug),
    ("崩溃", Signal::ReportsBug),
    ("出错", Signal::ReportsBug),
    // Charged after cancelling.
    ("charged after cancel", Signal::ChargedAfterCancelling),
    ("charged me after i cancel", Signal::ChargedAfterCancelling),
    ("cancelled but", Signal::ChargedAfterCancelling),
    ("canceled but", Signal::ChargedAfterCancelling),
    ("still charged", Signal::ChargedAfterCancelling),
    ("still being charged", Signal::ChargedAfterCancelling),
    ("取消后还被扣款", Signal::ChargedAfterCancelling),
    ("取消后还扣", Signal::ChargedAfterCancelling),
    ("取消了还扣", Signal::ChargedAfterCancelling),
    // Surprise renewal.
    ("renewed without", Signal::SurpriseRenewal),
    ("didn't expect to be charged", Signal::SurpriseRenewal),
    ("did not expect to be charged", Signal::SurpriseRenewal),
    ("auto-renew", Signal::SurpriseRenewal),
    ("auto renew", Signal::SurpriseRenewal),
    ("automatically renewed", Signal::SurpriseRenewal),
    ("自动续费", Signal::SurpriseRenewal),
    ("自动续订", Signal::SurpriseRenewal),
    // Wants money back.
    ("refund", Signal::WantsRefund),
    ("money back", Signal::WantsRefund),
    ("退款", Signal::WantsRefund),
    ("退钱", Signal::WantsRefund),
    // Charged twice.
    ("charged twice", Signal::ChargedTwice),
    ("double charge", Signal::ChargedTwice),
    ("double-charge", Signal::ChargedTwice),
    ("two subscriptions", Signal::ChargedTwice),
    ("billed twice", Signal::ChargedTwice),
    ("pay twice", Signal::ChargedTwice),
    ("paying twice", Signal::ChargedTwice),
    ("付了两次", Signal::ChargedTwice),
    ("扣了两次", Signal::ChargedTwice),
    ("重复扣款", Signal::ChargedTwice),
    ("两个订阅", Signal::ChargedTwice),
    // Team or seats.
    ("seat", Signal::MentionsTeamOrSeats),
    ("my team", Signal::MentionsTeamOrSeats),
    ("our team", Signal::MentionsTeamOrSeats),
    ("colleague", Signal::MentionsTeamOrSeats),
    ("团队", Signal::MentionsTeamOrSeats),
    ("席位", Signal::MentionsTeamOrSeats),
    ("同事", Signal::MentionsTeamOrSeats),
    // Payment failed.
    ("declined", Signal::PaymentFailed),
    ("payment failed", Signal::PaymentFailed),
    ("card was rejected", Signal::PaymentFailed),
    ("couldn't pay", Signal::PaymentFailed),
    ("can't pay", Signal::PaymentFailed),
    ("支付失败", Signal::PaymentFailed),
    ("付款失败", Signal::PaymentFailed),
    ("扣款失败", Signal::PaymentFailed),
    ("被拒", Signal::PaymentFailed),
];

/// Every [`Signal`] whose phrase occurs in `message` (case-insensitive
/// substring), each once, sorted.
pub fn read_signals(message: &str) -> Vec<Signal> {
    let message = message.to_lowercase();
    let found: BTreeSet<Signal> = PHRASES
        .iter()
        .filter(|(phrase, _)| message.contains(phrase))
        .map(|&(_, signal)| signal)
        .collect();
    found.into_iter().collect()
}
