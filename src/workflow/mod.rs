//! Workflows: the only code that joins the core and the adapters.
