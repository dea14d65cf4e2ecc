//! The built `health-canary check` against local servers: exit codes, the table, the JSON shape,
//! logging on stderr only, and header secrets never printed; `silence` and `incidents` usage
//! errors (their work against the table is in the AWS tests).

use crate::support::{read_request_head, run_cli, sample_service, serve_raw, Scenario};
use serde_json::{json, Value};
use std::process::Output;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn check_url(url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["check", "--url", url];
    args.extend_from_slice(extra);
    run_cli(&args, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_code_follows_the_judged_status() {
    let healthy = Scenario::Healthy;
    let stale = Scenario::MarketDataStale;
    let stopped = Scenario::SignalMonitorStopped;
    let cases = [
        ("healthy", healthy, &[][..], 0),
        ("stale", stale, &[][..], 0),
        ("stale, --fail-on-warn", stale, &["--fail-on-warn"][..], 1),
        ("stopped", stopped, &[][..], 1),
        (
            "stopped, --fail-on-warn",
            stopped,
            &["--fail-on-warn"][..],
            1,
        ),
        (
            "healthy, --fail-on-warn",
            healthy,
            &["--fail-on-warn"][..],
            0,
        ),
    ];
    let service = sample_service(healthy).await;
    for (name, scenario, flags, want) in cases {
        service.set(scenario);
        let out = check_url(&service.url(), flags);
        assert_eq!(
            out.status.code(),
            Some(want),
            "{name}\nstdout:\n{}\nstderr:\n{}",
            stdout(&out),
            stderr(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_shows_target_components_and_summary_for_a_healthy_service() {
    let service = sample_service(Scenario::Healthy).await;
    let out = check_url(&service.url(), &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[2].starts_with("✅ 127.0.0.1  PASS  HTTP 200 · ")
            && lines[2].ends_with(" ms · component_map"),
        "{text}"
    );
    assert!(
        text.contains(
            "   ✅ market_data    PASS  fresh_symbols=33 stale_symbols=0 max_age_minutes=0.21\n"
        ),
        "{text}"
    );
    assert!(text.contains("   ✅ signal_monitor PASS  "), "{text}");
    assert!(
        text.ends_with("Summary: ✅ 5 passed  ⚠️ 0 warnings  ❌ 0 failed — PASS\n"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI colour when piped: {text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_marks_the_failing_component_with_its_reason_and_numbers() {
    let service = sample_service(Scenario::SignalMonitorStopped).await;
    let out = check_url(&service.url(), &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("❌ 127.0.0.1  FAIL  HTTP 200"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("signal_monitor"))
        .unwrap_or_default();
    assert!(line.starts_with("   ❌ signal_monitor FAIL  "), "{text}");
    assert!(text.contains("is_running=false"), "{text}");
    assert!(text.contains("last_cycle_age_minutes=47.5"), "{text}");
    assert!(
        text.lines().last().is_some_and(|l| l
            .starts_with("Summary: ✅ 4 passed  ⚠️ 0 warnings  ❌ 1 failed")
            && l.ends_with("— FAIL")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_from_a_config_file_appear_under_the_target() {
    let service = sample_service(Scenario::MarketDataStale).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("canary.json");
    let config = json!({
        "canary": "cli-test",
        "targets": [{
            "name": "trading",
            "url": service.url(),
            "conditions": [
                {"expr": "market_data.max_age_minutes < 30", "severity": "WARN"},
                "trade_system.open_orders <= 50"
            ]
        }]
    });
    std::fs::write(&path, config.to_string()).unwrap();
    let out = run_cli(&["check", "--config", path.to_str().unwrap()], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.starts_with("cli-test · checked "), "{text}");
    assert!(text.contains("⚠️ trading  WARN  HTTP 200"), "{text}");
    assert!(
        text.contains("   ⚠️ market_data.max_age_minutes < 30 WARN  observed 42\n"),
        "{text}"
    );
    assert!(
        text.contains("   ✅ trade_system.open_orders <= 50   PASS  observed 22\n"),
        "{text}"
    );
    assert!(
        text.contains("Summary: ✅ 5 passed  ⚠️ 2 warnings  ❌ 0 failed — WARN"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_target_fails_with_the_transport_reason() {
    // Bind then drop: nothing listens on the port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("canary.json");
    let config = json!({"targets": [{"name": "gone", "url": format!("http://127.0.0.1:{port}/health"), "retries": 0}]});
    std::fs::write(&path, config.to_string()).unwrap();
    let out = run_cli(&["check", "--config", path.to_str().unwrap()], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = text.lines().nth(2).unwrap_or_default();
    assert!(line.starts_with("❌ gone  FAIL  "), "{text}");
    assert!(line.ends_with("  connection refused"), "{text}");
    assert!(
        text.contains("Summary: ✅ 0 passed  ⚠️ 0 warnings  ❌ 1 failed — FAIL"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_has_statuses_targets_and_components() {
    let service = sample_service(Scenario::SignalMonitorStopped).await;
    let out = check_url(&service.url(), &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(report["status"], "FAIL");
    assert_eq!(report["canary"], "health-canary");
    let target = &report["targets"][0];
    assert_eq!(target["name"], "127.0.0.1");
    assert_eq!(target["status"], "FAIL");
    assert_eq!(target["http_status"], 200);
    assert_eq!(target["format"], "component_map");
    let components = target["components"].as_array().unwrap();
    let names: Vec<&str> = components
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "market_data",
            "market_updater",
            "signal_monitor",
            "telegram",
            "trade_system"
        ]
    );
    for c in components {
        let want = if c["name"] == "signal_monitor" {
            "FAIL"
        } else {
            "PASS"
        };
        assert_eq!(c["status"], want, "{c}");
    }
    // The body gives no per-component reason; the declared status is the target's reason.
    assert_eq!(target["reason"], "service reports FAIL", "{target}");
    assert_eq!(components[2]["measurements"][0]["name"], "is_running");
    assert_eq!(components[2]["measurements"][0]["value"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_and_full_mode_come_from_the_environment_too() {
    let service = sample_service(Scenario::Healthy).await;
    let url = service.url();
    let out = run_cli(&["check"], &[("CANARY_URL", &url)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("✅ 127.0.0.1  PASS"));

    let inline = json!({"canary": "from-env", "targets": [{"name": "env-target", "url": url}]});
    let out = run_cli(&["check"], &[("CANARY_CONFIG", &inline.to_string())]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("from-env · checked "));
    assert!(stdout(&out).contains("✅ env-target  PASS"));
}

#[test]
fn usage_and_config_errors_exit_two_with_what_to_fix_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"targets":[{"url":"ftp://example.com/health"}]}"#).unwrap();
    let bad = bad.to_str().unwrap().to_string();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"targets":[{"name":"trading","url":"https://example.com/health"}],"alerts":{"state_table":"canary-state"}}"#,
    )
    .unwrap();
    let good = good.to_str().unwrap().to_string();
    let cases: [(&[&str], &str); 12] = [
        (
            &["check", "--config", &bad],
            "must be an http:// or https:// URL",
        ),
        (
            &["check", "--config", "/nonexistent/canary.json"],
            "cannot read config file /nonexistent/canary.json",
        ),
        (&["check"], "no targets: give a URL (--url or CANARY_URL)"),
        (&["check", "--nope"], "unexpected argument '--nope'"),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (
            &["check", "--url", "http://example.com/health"],
            "plain http to 'example.com' is refused",
        ),
        (
            &["silence", "list"],
            "no alert state table: give --table or CANARY_STATE_TABLE",
        ),
        (
            &[
                "silence", "add", "--target", "a", "--all", "--for", "2h", "--reason", "x",
            ],
            "'--target <TARGET>' cannot be used with '--all'",
        ),
        (
            &[
                "silence", "add", "--for", "2h", "--reason", "x", "--table", "t",
            ],
            "--target <TARGET>",
        ),
        (
            &[
                "silence", "add", "--all", "--for", "soon", "--reason", "x", "--table", "t",
            ],
            "--for soon: not a duration (write 2h, 30m, 7d or 1h 30m)",
        ),
        (
            &[
                "silence", "add", "--target", "nope", "--for", "2h", "--reason", "x", "--config",
                &good,
            ],
            "--target nope: not a configured target (targets: trading)",
        ),
        (
            &["incidents", "--since", "a while", "--table", "t"],
            "--since a while: not a duration",
        ),
    ];
    for (args, want) in cases {
        let out = run_cli(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "{args:?}: stdout must stay clean");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_go_to_stderr_and_stdout_stays_parseable() {
    let service = sample_service(Scenario::Healthy).await;
    let quiet = check_url(&service.url(), &["--json"]);
    assert_eq!(stderr(&quiet), "", "no logs without -v");

    let out = run_cli(&["-v", "check", "--url", &service.url(), "--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is only the JSON");
    assert_eq!(report["status"], "PASS");
    assert!(stderr(&out).contains("config loaded"), "{}", stderr(&out));
    assert!(stderr(&out).contains("check finished"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_secrets_never_reach_stdout_or_stderr_with_debug_logs() {
    const SECRET: &str = "hunter2-9f8e7d6c5b4a";
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let heads = seen.clone();
    // A raw server, to see the request head exactly as it went on the wire.
    let body = Scenario::Healthy
        .body()
        .expect("a JSON scenario")
        .to_string();
    let server = serve_raw(move |mut stream| {
        let heads = heads.clone();
        let body = body.clone();
        async move {
            let head = read_request_head(&mut stream).await;
            heads.lock().unwrap().push(head);
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("canary.json");
    let config = json!({"targets": [{
        "name": "secured",
        "url": server.url("/api/health/system"),
        "headers": {"Authorization": "Bearer ${HC_TEST_TOKEN}", "X-Api-Key": "${HC_TEST_TOKEN}"}
    }]});
    std::fs::write(&path, config.to_string()).unwrap();
    for json_flag in [&[][..], &["--json"][..]] {
        let mut args = vec!["-vv", "check", "--config", path.to_str().unwrap()];
        args.extend_from_slice(json_flag);
        let out = run_cli(&args, &[("HC_TEST_TOKEN", SECRET)]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("target judged"),
            "-vv logs debug events: {}",
            stderr(&out)
        );
        assert!(!stdout(&out).contains(SECRET), "{}", stdout(&out));
        assert!(!stderr(&out).contains(SECRET), "{}", stderr(&out));
        assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    }
    // The secret really went on the wire, so its absence above means something.
    let heads = seen.lock().unwrap();
    assert!(!heads.is_empty());
    assert!(heads.iter().all(|h| h
        .to_ascii_lowercase()
        .contains(&format!("authorization: bearer {SECRET}"))));
}
