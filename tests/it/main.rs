//! One integration-test binary (z2p `tests/api/main.rs`): real Redis, a
//! Stripe stand-in (localstripe, or a scripted server), a Slack stand-in.

mod approvals;
mod audit;
mod helpers;
mod localstripe;
mod lookup;
mod slack;
mod stripe;
mod triage;
