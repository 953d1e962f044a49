//! Case -> Block Kit, text and JSON (PLAYBOOK.md §5). Pure.
