//! Audit entries, chain hashing and verification (CONTRACT.md audit log). Pure.
