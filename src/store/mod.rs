//! Redis adapter: audit stream, cases, approvals.
