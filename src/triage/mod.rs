//! Classification: snapshot + message -> Triage (PLAYBOOK.md §2). Pure.
