//! Slack adapter: request verification (`verify`), the shapes Slack sends us
//! (`payloads`), read once into one typed `request`, and the Web API calls
//! we make (`api`). slack-morphism's
//! client and hyper types stop here; the rest of the crate sees plain data.

pub mod api;
pub mod handler;
pub mod payloads;
pub mod request;
pub mod socket;
pub mod verify;

pub use api::{SlackApi, SlackError};

#[cfg(test)]
mod fuzz_tests;
pub use handler::{Ack, Handler};
