//! The one integration-test binary: every test talks to real parts
//! (localstripe started by the harness) through the public API.

mod localstripe;
mod stripe;
