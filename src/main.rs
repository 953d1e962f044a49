//! Entry point: clap → command → exit code. Errors are printed as one line
//! (with their causes) and never as a panic or a stack trace.

// `serve`'s future nests the HTTP server, Socket Mode, the reconciler and
// the witness publisher; its layout needs more than the default 128.
#![recursion_limit = "256"]

use billing_triage::cli::{self, Cli, Exit};
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Cli::parse();
    match cli::run(args).await {
        Ok(Exit::Ok) => std::process::ExitCode::SUCCESS,
        Ok(Exit::Failed(code)) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            let causes: Vec<String> = e.chain().skip(1).map(ToString::to_string).collect();
            if causes.is_empty() {
                eprintln!("billing-triage: {e}");
            } else {
                eprintln!("billing-triage: {e}: {}", causes.join(": "));
            }
            std::process::ExitCode::from(2)
        }
    }
}
