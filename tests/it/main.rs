//! One integration-test binary (one link step for every test): real Redis, a
//! Stripe stand-in (localstripe, or a scripted server), a Slack stand-in.

mod access;
mod add_context;
mod approvals;
mod audit;
mod charts;
mod chosen;
mod drafts;
mod fixtures;
mod helpers;
mod layers;
mod load_verdict;
mod localstripe;
mod lookup;
mod operator;
mod ops;
mod pause;
mod pinned;
mod pinned_cases;
mod pinned_reports;
mod redis_faults;
mod redis_tls;
mod reports;
mod reports_harness;
mod resilience;
mod resilience_harness;
mod retriage;
mod sigterm;
mod slack;
mod socket;
mod stripe;
mod stripe_faults;
mod stripe_outcomes;
mod triage;
