//! The report charts in Slack: `/billing plans` posts its MRR bar chart in
//! the same message as the text table, and a workspace that refuses the chart
//! block gets the text table alone.

use serde_json::Value;

use crate::helpers::{unique_prefix, TestApp};
use crate::localstripe;
use crate::reports::{plan, subscribe};
use crate::reports_harness;

/// Runs `/billing plans` over one EUR plan with three seats; returns the
/// app (for its stand-in) once the report replaced the progress message.
async fn plans_report(
    refuse_charts: bool,
) -> (
    TestApp,
    Value,
    localstripe::LocalStripe,
    reports_harness::ListProxy,
) {
    let stripe = localstripe::start().await;
    let base = stripe.direct_url();
    let tag = unique_prefix().replace(':', "");
    let m = format!("chart_m_{tag}");
    plan(
        &base,
        &m,
        "1500",
        "eur",
        "month",
        &[("nickname", "Team monthly")],
    )
    .await;
    subscribe(&base, "pm_card_visa", &m, 3, &[]).await;
    let proxy = reports_harness::start(base, 0).await;
    let app = crate::helpers::spawn_app(&proxy.base_url).await;
    if refuse_charts {
        app.slack
            .fail("chat.update:data_visualization", "invalid_blocks");
    }
    let (reply, _) = app.slash("plans", "U0OPS00001").await;
    assert_eq!(reply.status, 200);
    let mut report = None;
    for _ in 0..300 {
        // The report is the accepted update with the text table in it.
        report = app.slack.calls_to("chat.update").into_iter().find(|c| {
            c.body["blocks"].as_array().is_some_and(|b| b.len() >= 2)
                && !(refuse_charts && has_chart(&c.body))
        });
        if report.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let report = report.expect("the report replaced the progress message");
    (app, report.body, stripe, proxy)
}

fn has_chart(body: &Value) -> bool {
    body["blocks"]
        .as_array()
        .is_some_and(|b| b.iter().any(|b| b["type"] == "data_visualization"))
}

fn table_text(body: &Value) -> String {
    body["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn slash_plans_posts_the_mrr_chart_with_its_text_table() {
    let (_app, body, _stripe, _proxy) = plans_report(false).await;
    let blocks = body["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= 50);
    let charts: Vec<&Value> = blocks
        .iter()
        .filter(|b| b["type"] == "data_visualization")
        .collect();
    assert_eq!(charts.len(), 1, "{body}");
    let chart = charts[0];
    let title = chart["title"].as_str().expect("title");
    assert!(
        title.contains("EUR") && title.chars().count() <= 50,
        "{title}"
    );
    assert_eq!(chart["chart"]["type"], "bar", "{chart}");
    let point = &chart["chart"]["series"][0]["data"][0];
    assert_eq!(point["label"], "Team monthly", "{chart}");
    assert_eq!(point["value"].as_f64(), Some(45.0), "{chart}");
    // The text table is still there, as the fallback.
    let text = table_text(&body);
    assert!(text.contains("EUR 45.00"), "{text}");
}

#[tokio::test]
async fn a_refused_chart_block_leaves_the_text_table_alone() {
    let (app, body, _stripe, _proxy) = plans_report(true).await;
    // The chart was offered, refused, then the table went out without it.
    assert!(
        app.slack
            .calls_to("chat.update")
            .iter()
            .any(|c| has_chart(&c.body)),
        "the chart was never offered"
    );
    assert!(!has_chart(&body), "{body}");
    let text = table_text(&body);
    assert!(text.contains("Team monthly"), "{text}");
    assert!(text.contains("EUR 45.00"), "{text}");
}
