//! `billing-triage lookup` run as a binary against localstripe: a `--message`
//! that begins with dashes, `--message-file -` from standard input and from a
//! file, and the draft that comes out of them in the customer's language,
//! promising nothing before approval. Also the refusals: a missing file and
//! both flags at once fail in one line before Stripe is called. And in Slack:
//! the first draft in the card's thread is marked safe to send, and the
//! redraft after an approved action states the amount and the date.

use crate::helpers::{
    now_ts, redis_url, spawn_app, store_on, unique_prefix, SlackCall, APPROVER_1, REQUESTER,
};
use crate::localstripe::{self, LocalStripe};
use billing_triage::domain::{ActionKind, ActionStatus, CaseId, StripeKey};
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

/// The thread replies among the posts, oldest first.
fn thread_texts(posts: &[SlackCall]) -> Vec<String> {
    posts
        .iter()
        .filter(|c| c.body.get("thread_ts").is_some())
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn utc_date(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .expect("a valid time")
        .format(format)
        .expect("formats")
}

#[tokio::test]
async fn in_slack_the_first_draft_promises_nothing_and_the_redraft_states_amount_and_date() {
    let stripe = localstripe::start().await;
    let seeded = seeded(&stripe).await;
    let duplicate = customer(&seeded, "duplicate personal subscription");
    let app = spawn_app(&stripe.base_url()).await;

    let (reply, _) = app.slash(&format!("lookup {duplicate}"), REQUESTER).await;
    assert_eq!(reply.status, 200);
    let posts = app.slack.wait_for("chat.postMessage", 2).await;
    let card = posts
        .iter()
        .find(|c| c.body.get("thread_ts").is_none())
        .expect("the card")
        .body
        .to_string();
    let at = card.find("case_").expect("the card names its case");
    let case_id = CaseId::parse(&card[at..at + 17]).expect("a case id");
    let case = app
        .store
        .load_case(&case_id)
        .await
        .expect("redis")
        .expect("the case is stored");
    let (action, refunds) = case
        .actions
        .iter()
        .find_map(|a| match &a.kind {
            ActionKind::CancelDuplicate { refunds, .. } => Some((a, refunds)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a duplicate fix is proposed: {:?}", case.actions));
    let first = thread_texts(&posts).join("\n");
    assert!(
        first.contains("Safe to send now") && first.contains(&action.summary),
        "{first}"
    );
    assert!(
        first.contains("Next, our billing team will review cancelling the extra subscription"),
        "{first}"
    );
    assert!(
        !first.contains("we canceled") && !first.contains("we refunded"),
        "{first}"
    );

    let before = utc_date(now_ts());
    let (_, url) = app
        .click(
            "approve_action",
            &format!("{case_id}/{}", action.key),
            APPROVER_1,
        )
        .await;
    let answer = app.answer_at(&url).await;
    assert!(answer.starts_with("Done"), "{answer}");
    let status = app
        .store
        .action_status(&case_id, &action.key)
        .await
        .expect("redis");
    assert!(
        matches!(status, Some(ActionStatus::Succeeded { .. })),
        "{status:?}"
    );
    let after = utc_date(now_ts());

    let posts = app.slack.wait_for("chat.postMessage", 3).await;
    let redraft = thread_texts(&posts)
        .last()
        .cloned()
        .expect("a redraft in the thread");
    assert!(redraft.contains("states what was done"), "{redraft}");
    let refunded = refunds
        .iter()
        .map(|r| r.amount.to_string())
        .next()
        .expect("the duplicate's charge is refunded");
    let said = [before, after].iter().any(|date| {
        redraft.contains(&format!(
            "On {date} we canceled the extra subscription and refunded {refunded}"
        ))
    });
    assert!(said, "{redraft}");
}
