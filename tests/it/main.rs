//! One integration-test binary (z2p `tests/api/main.rs`): real Redis, a
//! Stripe stand-in (localstripe, or a scripted server), a Slack stand-in.

mod approvals;
mod audit;
mod drafts;
mod helpers;
mod localstripe;
mod lookup;
mod reports;
mod reports_harness;
mod slack;
mod stripe;
