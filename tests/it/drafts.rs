//! `billing-triage lookup` run as a binary against localstripe (issue 7
//! parts 5 and 6): a `--message` that begins with dashes, `--message-file -`
//! from standard input and from a file, and the draft that comes out of them
//! in the customer's language, promising nothing before approval. Also the
//! refusals: a missing file and both flags at once fail in one line before
//! Stripe is called.

use crate::helpers::{redis_url, store_on, unique_prefix};
use crate::localstripe::{self, LocalStripe};
use billing_triage::domain::StripeKey;
use billing_triage::stripe::sandbox::{seed, SeededCustomer};
use billing_triage::stripe::StripeGateway;
use std::process::{Output, Stdio};
use tokio::io::AsyncWriteExt;

const KEY: &str = "sk_test_localstripe";

/// A forwarded email as an operator pastes it: starts with the forwarding
/// header, which clap used to take for an option.
const FORWARDED_SPANISH: &str = "---------- Forwarded message ----
From: Ana Lima <ana@example.com>
Subject: cobro doble

Hola, me han cobrado dos veces el mismo plan este mes y solo tengo una cuenta. \
¿Pueden revisarlo y devolverme el cargo que sobra, por favor? Gracias.";

const FORWARDED_GERMAN: &str = "---------- Forwarded message ---------
From: Kunde <kunde@example.de>
Date: Mon, 24 Nov 2026 09:12

Guten Tag, wo kann ich meine Rechnungen der letzten Monate herunterladen? \
Ich finde im Konto keine Möglichkeit dafür und brauche sie für die Buchhaltung.

Mit freundlichen Grüßen
Kunde";

struct Cli<'a> {
    stripe: &'a LocalStripe,
    prefix: String,
}

impl Cli<'_> {
    /// Runs the binary with `args`, feeding `stdin` when given. Async, so the
    /// localstripe proxy on this runtime keeps answering meanwhile.
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_billing-triage"));
        command
            .args(args)
            .env("STRIPE_SECRET_KEY", KEY)
            .env("STRIPE_API_BASE", self.stripe.base_url())
            .env("REDIS_URL", redis_url())
            .env("REDIS_PREFIX", &self.prefix)
            .env_remove("BILLING_PORTAL_LOGIN_URL")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the binary starts");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(text.as_bytes())
                .await
                .expect("writing stdin");
            drop(pipe); // end of input
        }
        child.wait_with_output().await.expect("the binary finishes")
    }

    /// Runs a lookup that must succeed, and returns its JSON case.
    async fn lookup_json(&self, args: &[&str], stdin: Option<&str>) -> serde_json::Value {
        let out = self.run(args, stdin).await;
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("--format json prints JSON");
        json["case"].clone()
    }
}

async fn seeded(stripe: &LocalStripe) -> Vec<SeededCustomer> {
    let key = StripeKey::parse(KEY).expect("test key");
    let gateway = StripeGateway::new(&key, &stripe.base_url()).expect("gateway");
    seed(&gateway, &key).await.expect("seed localstripe")
}

fn customer<'a>(seeded: &'a [SeededCustomer], scenario: &str) -> &'a str {
    seeded
        .iter()
        .find(|s| s.scenario == scenario)
        .map(|s| s.customer.as_str())
        .expect("seeded scenario")
}

/// The draft of a case: its locale and text, checked for leftovers.
fn draft_of(case: &serde_json::Value) -> (String, String) {
    let locale = case["followup"]["locale"]
        .as_str()
        .expect("a draft locale")
        .to_owned();
    let text = case["followup"]["text"]
        .as_str()
        .expect("a draft text")
        .to_owned();
    assert!(
        !text.contains('{') && !text.contains('$'),
        "placeholder in the draft:\n{text}"
    );
    (locale, text)
}

#[tokio::test]
async fn a_forwarded_email_by_flag_stdin_or_file_is_triaged_and_drafted_in_its_language() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe).await;
    let cli = Cli {
        stripe: &stripe,
        prefix: unique_prefix(),
    };
    let duplicate = customer(&seeded, "duplicate personal subscription");
    let self_serve = customer(&seeded, "missing self-serve control");

    // --message whose value begins with dashes.
    let case = cli
        .lookup_json(
            &[
                "lookup",
                duplicate,
                "--message",
                FORWARDED_SPANISH,
                "--format",
                "json",
            ],
            None,
        )
        .await;
    assert!(
        case["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("---------- Forwarded message")),
        "{case}"
    );
    let (locale, text) = draft_of(&case);
    assert_eq!(
        locale, "es",
        "no preferred locale: the message's language\n{text}"
    );
    assert!(text.starts_with("Hola"), "{text}");
    for done in ["reembolsamos", "cancelamos"] {
        assert!(
            !text.contains(done),
            "promises {done:?} before any approval:\n{text}"
        );
    }

    // The same flag with the exact header alone.
    let out = cli
        .run(
            &[
                "lookup",
                duplicate,
                "--message",
                "---------- Forwarded message ----",
            ],
            None,
        )
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --message-file - reads standard input.
    let case = cli
        .lookup_json(
            &[
                "lookup",
                self_serve,
                "--message-file",
                "-",
                "--format",
                "json",
            ],
            Some(FORWARDED_GERMAN),
        )
        .await;
    assert_eq!(
        case["message"].as_str(),
        Some(FORWARDED_GERMAN),
        "the whole email, untouched by the shell"
    );
    let (locale, text) = draft_of(&case);
    assert_eq!(locale, "de", "{text}");
    assert!(text.starts_with("Hallo"), "{text}");

    // --message-file PATH reads a file.
    let dir = std::env::temp_dir().join(format!("bt-drafts-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("forwarded.eml");
    std::fs::write(&path, FORWARDED_GERMAN).expect("writing the email");
    let shown = path.to_str().expect("a UTF-8 temp path");
    let case = cli
        .lookup_json(
            &[
                "lookup",
                self_serve,
                "--message-file",
                shown,
                "--format",
                "json",
            ],
            None,
        )
        .await;
    assert_eq!(case["message"].as_str(), Some(FORWARDED_GERMAN));
    assert_eq!(draft_of(&case).0, "de");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_missing_message_file_or_both_flags_fail_in_one_line_before_stripe_is_called() {
    let stripe = localstripe::start().await;
    let cli = Cli {
        stripe: &stripe,
        prefix: unique_prefix(),
    };
    let before = stripe.requests_seen();

    let missing =
        std::env::temp_dir().join(format!("bt-no-such-{}.eml", uuid::Uuid::new_v4().simple()));
    let missing = missing.to_str().expect("a UTF-8 temp path");
    let out = cli
        .run(&["lookup", "cus_Missing1", "--message-file", missing], None)
        .await;
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(said.trim_end().lines().count(), 1, "one line: {said}");
    assert!(
        said.contains("cannot open the message file") && said.contains(missing),
        "{said}"
    );

    let out = cli
        .run(
            &["lookup", "cus_Missing1", "--message-file", "-"],
            Some("  \n"),
        )
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input is empty"));

    let out = cli
        .run(
            &[
                "lookup",
                "cus_Missing1",
                "--message",
                "hi",
                "--message-file",
                "-",
            ],
            Some("hi"),
        )
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be used with"),
        "clap says they exclude each other"
    );

    assert_eq!(stripe.requests_seen(), before, "nothing reached Stripe");
    let store = store_on(&cli.prefix).await;
    assert_eq!(
        store.verify_audit().await.expect("redis"),
        Ok(0),
        "nothing was audited"
    );
}
