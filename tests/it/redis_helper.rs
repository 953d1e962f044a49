//! Connects integration tests to a real Redis: `REDIS_URL`, or
//! `redis://127.0.0.1:6379`. Each test gets its own key prefix, so tests run
//! in parallel without seeing each other's data. A Redis that does not
//! answer fails the test with how to start one; nothing is skipped.

use billing_triage::store::Store;

/// The Redis the tests use.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A store on a fresh prefix `bt-test:{uuid}:`.
pub async fn test_store() -> Store {
    store_on(&format!("bt-test:{}:", uuid::Uuid::new_v4())).await
}

/// Another store (its own connection, like another replica) on `prefix`.
pub async fn store_on(prefix: &str) -> Store {
    let url = redis_url();
    let store = Store::new(&url, prefix)
        .unwrap_or_else(|err| panic!("REDIS_URL `{url}` is not a Redis URL: {err}"));
    if let Err(err) = store.ping().await {
        panic!(
            "Redis at {url} does not answer ({err}); start one with `redis-server --daemonize yes` \
             or point REDIS_URL at one"
        );
    }
    store
}
