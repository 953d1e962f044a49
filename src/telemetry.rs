//! Tracing set-up. `serve` logs JSON lines; the CLI logs compact text to
//! stderr. The subscriber takes a sink so tests stay quiet unless `TEST_LOG`
//! is set. Filter from `RUST_LOG`, default `info`.

use tracing_subscriber::{fmt::MakeWriter, EnvFilter};

/// Output shape of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Installs the global subscriber once; later calls are ignored, so tests
/// may call it from every test.
pub fn init<W>(format: LogFormat, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink);
    let _already_set = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.compact().with_ansi(false).try_init(),
    };
}
