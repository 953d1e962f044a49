//! Slack adapter: request verification, payloads, Web API.
