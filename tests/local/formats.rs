//! Every health format end to end: a fixture served on 127.0.0.1, read by the built CLI
//! (`check --url … --json`), and the judged JSON report checked component by component.

use crate::support::{run_cli, serve_fixed};
use serde_json::Value;

/// One fixture and what the canary must make of it.
struct Case {
    fixture: &'static str,
    content_type: &'static str,
    exit: i32,
    status: &'static str,
    format: &'static str,
    declared: Option<&'static str>,
    /// `(name, status, reason)` for every component, in order.
    components: &'static [(&'static str, &'static str, Option<&'static str>)],
}

fn fixture(path: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");
    std::fs::read(format!("{dir}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Serves `body` once and returns the CLI's exit code and its one target as JSON.
async fn check(content_type: &str, body: Vec<u8>) -> (i32, Value) {
    let server = serve_fixed(200, content_type, body).await;
    let url = server.url("/h");
    let out =
        tokio::task::spawn_blocking(move || run_cli(&["check", "--url", &url, "--json"], &[]))
            .await
            .expect("cli thread");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let code = out.status.code().expect("exit code");
    let target = report["targets"][0].clone();
    assert_eq!(
        report["status"], target["status"],
        "one target decides the report"
    );
    (code, target)
}

const CASES: &[Case] = &[
    Case {
        fixture: "component_map/warn.json",
        content_type: "application/json",
        exit: 0,
        status: "WARN",
        format: "component_map",
        declared: Some("WARN"),
        components: &[
            ("market_data", "PASS", None),
            ("market_updater", "PASS", None),
            ("signal_monitor", "WARN", Some("service reports WARN")),
            ("telegram", "PASS", None),
            ("trade_system", "PASS", None),
        ],
    },
    Case {
        fixture: "component_map/fail.json",
        content_type: "application/json",
        exit: 1,
        status: "FAIL",
        format: "component_map",
        declared: Some("FAIL"),
        components: &[
            ("market_data", "FAIL", Some("service reports FAIL")),
            ("market_updater", "FAIL", Some("service reports FAIL (is_running=false)")),
            ("signal_monitor", "PASS", None),
            ("telegram", "PASS", None),
            ("trade_system", "PASS", None),
        ],
    },
    Case {
        fixture: "service_lists/critical.json",
        content_type: "application/json",
        exit: 1,
        status: "FAIL",
        format: "service_lists",
        declared: Some("CRITICAL"),
        components: &[
            ("main_backend", "PASS", None),
            ("risk_guard", "PASS", None),
            ("scheduler", "WARN", Some("listed under services.degraded")),
            ("ai_system", "FAIL", Some("listed under services.down; model server unreachable")),
            ("postgres", "PASS", None),
            ("binance_api", "PASS", None),
            ("redis", "FAIL", Some("listed under infrastructure.down; critical failure")),
            ("performance", "PASS", None),
        ],
    },
    Case {
        fixture: "component_list/critical.json",
        content_type: "application/json",
        exit: 1,
        status: "FAIL",
        format: "component_list",
        declared: Some("CRITICAL"),
        components: &[
            ("database", "PASS", None),
            ("exchange_api", "WARN", Some("rate limited (429)")),
            ("order_router", "FAIL", Some("queue stalled for 300s")),
            ("market_feed", "FAIL", Some("websocket closed")),
        ],
    },
    Case {
        fixture: "ietf/warn.json",
        content_type: "application/health+json",
        exit: 1,
        status: "FAIL",
        format: "ietf",
        declared: Some("warn"),
        components: &[
            ("cpu", "WARN", Some("node 2 above 85%")),
            ("memory", "PASS", None),
            ("mongo", "FAIL", Some("connection refused")),
            ("uptime", "PASS", None),
        ],
    },
    Case {
        fixture: "ietf/pass.json",
        content_type: "application/health+json",
        exit: 0,
        status: "PASS",
        format: "ietf",
        declared: Some("pass"),
        components: &[("db", "PASS", None), ("uptime", "PASS", None)],
    },
    Case {
        fixture: "spring/down.json",
        content_type: "application/vnd.spring-boot.actuator.v3+json",
        exit: 1,
        status: "FAIL",
        format: "spring",
        declared: Some("DOWN"),
        components: &[
            (
                "db",
                "FAIL",
                Some("org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection"),
            ),
            ("diskSpace", "PASS", None),
            ("ping", "PASS", None),
            ("redis/primary", "PASS", None),
            ("redis/replica", "WARN", Some("service reports UNKNOWN")),
        ],
    },
    Case {
        fixture: "spring/details_2_1.json",
        content_type: "application/json",
        exit: 0,
        status: "PASS",
        format: "spring",
        declared: Some("UP"),
        components: &[("diskSpace", "PASS", None), ("db", "PASS", None)],
    },
    Case {
        fixture: "aspnet/unhealthy.json",
        content_type: "application/json",
        exit: 1,
        status: "FAIL",
        format: "aspnet",
        declared: Some("Unhealthy"),
        components: &[
            ("sql", "FAIL", Some("SQL Server check failed; System.TimeoutException: connect timed out")),
            ("cache", "WARN", Some("slow")),
            ("self", "PASS", None),
        ],
    },
    Case {
        fixture: "aspnet/degraded.txt",
        content_type: "text/plain",
        exit: 0,
        status: "WARN",
        format: "aspnet",
        declared: Some("Degraded"),
        components: &[],
    },
    Case {
        fixture: "aspnet/unhealthy.txt",
        content_type: "text/plain",
        exit: 1,
        status: "FAIL",
        format: "aspnet",
        declared: Some("Unhealthy"),
        components: &[],
    },
    Case {
        fixture: "microprofile/down.json",
        content_type: "application/json",
        exit: 1,
        status: "FAIL",
        format: "microprofile",
        declared: Some("DOWN"),
        components: &[
            ("database", "PASS", None),
            ("kafka", "FAIL", Some("broker not available")),
        ],
    },
    Case {
        fixture: "terminus/error.json",
        content_type: "application/json; charset=utf-8",
        exit: 1,
        status: "FAIL",
        format: "terminus",
        declared: Some("error"),
        components: &[
            ("database", "PASS", None),
            ("redis", "FAIL", Some("Connection is closed.")),
        ],
    },
    Case {
        fixture: "kubernetes/failed.txt",
        content_type: "text/plain; charset=utf-8",
        exit: 1,
        status: "FAIL",
        format: "kubernetes",
        declared: Some("readyz check failed"),
        components: &[
            ("ping", "PASS", None),
            ("log", "PASS", None),
            ("etcd", "FAIL", Some("failed: reason withheld")),
            ("informer-sync", "PASS", None),
            ("poststarthook/start-apiextensions-controllers", "PASS", None),
            ("shutdown", "PASS", None),
        ],
    },
    Case {
        fixture: "simple/ok.json",
        content_type: "application/json",
        exit: 0,
        status: "PASS",
        format: "simple",
        declared: Some("ok"),
        components: &[],
    },
    Case {
        fixture: "simple/down.json",
        content_type: "application/json",
        exit: 1,
        status: "FAIL",
        format: "simple",
        declared: Some("down"),
        components: &[],
    },
    Case {
        fixture: "http/page.html",
        content_type: "text/html; charset=utf-8",
        exit: 0,
        status: "PASS",
        format: "http",
        declared: None,
        components: &[],
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_fixture_is_judged_end_to_end_through_the_cli() {
    for case in CASES {
        let (code, t) = check(case.content_type, fixture(case.fixture)).await;
        let at = case.fixture;
        assert_eq!(code, case.exit, "{at}: exit code; target {t}");
        assert_eq!(t["status"], case.status, "{at}: status; target {t}");
        assert_eq!(t["format"], case.format, "{at}: format");
        assert_eq!(
            t["declared_status"].as_str(),
            case.declared,
            "{at}: declared"
        );
        let got: Vec<(String, String, Option<String>)> = t["components"]
            .as_array()
            .expect("components array")
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c["status"].as_str().unwrap_or_default().to_string(),
                    c["reason"].as_str().map(str::to_string),
                )
            })
            .collect();
        let want: Vec<(String, String, Option<String>)> = case
            .components
            .iter()
            .map(|(n, s, r)| (n.to_string(), s.to_string(), r.map(str::to_string)))
            .collect();
        assert_eq!(got, want, "{at}: components");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_map_measurements_reach_the_json_report_in_body_order() {
    let (_, t) = check("application/json", fixture("component_map/warn.json")).await;
    let md = &t["components"][0]["measurements"];
    assert_eq!(
        md,
        &serde_json::json!([
            {"name": "fresh_symbols", "value": 33.0},
            {"name": "stale_symbols", "value": 0.0},
            {"name": "max_age_minutes", "value": 0.21}
        ])
    );
    let trade = &t["components"][4]["measurements"];
    assert_eq!(
        trade,
        &serde_json::json!([
            {"name": "open_orders", "value": 22.0},
            {"name": "last_check_ok", "value": true}
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_declared_json_that_does_not_parse_fails_with_the_parse_error() {
    let table: [(&str, &[u8], &str); 4] = [
        (
            "application/json",
            b"<html><body>502 Bad Gateway</body></html>",
            "body is not valid JSON (application/json): expected value at line 1 column 1 (the body looks like HTML)",
        ),
        (
            "application/json",
            b"",
            "empty body where JSON was declared (application/json)",
        ),
        (
            "application/health+json",
            br#"{"status":"pass","checks":{"cpu:load":[{"observedValue":NaN}]}}"#,
            "body is not valid JSON (application/health+json): expected value at line 1 column 57 (NaN and Infinity are not JSON numbers)",
        ),
        (
            "application/json",
            b"{\"status\":\"ok\xff\"}",
            "body is not valid UTF-8 at byte 13 (application/json)",
        ),
    ];
    for (ct, body, reason) in table {
        let (code, t) = check(ct, body.to_vec()).await;
        assert_eq!(code, 1, "{reason}");
        assert_eq!(t["status"], "FAIL", "{reason}");
        assert_eq!(t["reason"], reason);
        assert!(t.get("format").is_none(), "{t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrongly_typed_global_status_fails_the_target_with_its_reason() {
    let (code, t) = check(
        "application/json",
        br#"{"global_status": 3, "db": {"status": "PASS"}}"#.to_vec(),
    )
    .await;
    assert_eq!(code, 1);
    assert_eq!(t["status"], "FAIL");
    assert_eq!(
        t["reason"],
        "global_status is a number (3), expected a status word"
    );
    assert_eq!(t["declared_status"], "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_may_still_force_a_format_by_its_former_name() {
    let server = serve_fixed(200, "application/json", fixture("service_lists/ok.json")).await;
    let url = server.url("/h");
    for (former, now) in [
        ("seed_components", "component_map"),
        ("seed_aggregator", "service_lists"),
        ("seed_component_list", "component_list"),
    ] {
        let config = serde_json::json!({"targets": [{"url": url, "format": former}]}).to_string();
        let out = tokio::task::spawn_blocking(move || {
            run_cli(&["check", "--json"], &[("CANARY_CONFIG", &config)])
        })
        .await
        .expect("cli thread");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{former}: stdout is not JSON ({e}); stderr: {stderr}"));
        assert_eq!(report["targets"][0]["format"], now, "{former}: {report}");
    }
}
