//! Customer follow-up drafts and product-gap notes. Pure; templates are data.
