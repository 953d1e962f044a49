//! Proposed actions, safest first (PLAYBOOK.md §3). Pure.
