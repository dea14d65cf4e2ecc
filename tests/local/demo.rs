//! The built `health-canary demo`: every scenario's status and reason appear, the alert
//! lifecycle shows one FAIL and one RESOLVED, it exits 0, and it finishes well within its time
//! budget.

use crate::support::run_cli;
use std::time::{Duration, Instant};

#[test]
fn demo_runs_every_scenario_and_exits_zero_quickly() {
    let started = Instant::now();
    let out = run_cli(&["demo"], &[]);
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A guard against hangs, not a benchmark: the hanging scenario alone costs its 2 s timeout.
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");

    let sections: Vec<&str> = text.split("━━━ Scenario ").skip(1).collect();
    assert_eq!(sections.len(), 5, "{text}");
    // (title, target line start, what the section must say, summary word, exit code)
    let cases: [(&str, &str, &[&str], &str, u8); 5] = [
        (
            "1 of 5: all healthy",
            "✅ trading-platform  PASS  HTTP 200",
            &["   ✅ market_data", "fresh_symbols=33", "observed 0.21"],
            "PASS",
            0,
        ),
        (
            "2 of 5: market data stale",
            "⚠️ trading-platform  WARN  HTTP 200",
            &[
                "   ⚠️ market_data",
                "stale_symbols=4",
                "max_age_minutes=42",
                "   ⚠️ market_data.max_age_minutes < 30 WARN  observed 42",
            ],
            "WARN",
            0,
        ),
        (
            "3 of 5: signal monitor stopped",
            "❌ trading-platform  FAIL  HTTP 200",
            &["   ❌ signal_monitor", "is_running=false"],
            "FAIL",
            1,
        ),
        (
            "4 of 5: reverse proxy returns an HTML 502 page",
            "❌ trading-platform  FAIL  HTTP 502",
            &["2 attempts", "HTTP 502 (expected 2xx)"],
            "FAIL",
            1,
        ),
        (
            "5 of 5: endpoint hangs",
            "❌ trading-platform  FAIL  ",
            &["timed out after 2s"],
            "FAIL",
            1,
        ),
    ];
    for (section, (title, target_line, needles, word, code)) in sections.iter().zip(cases) {
        assert!(section.starts_with(title), "{section}");
        assert!(
            section.lines().any(|l| l.starts_with(target_line)),
            "{title}: no line starting {target_line:?}\n{section}"
        );
        for needle in needles {
            assert!(
                section.contains(needle),
                "{title}: no {needle:?}\n{section}"
            );
        }
        assert!(
            section.contains(&format!(
                " — {word}\n→ health-canary check would exit {code}\n"
            )),
            "{title}\n{section}"
        );
    }
    // The alert lifecycle: one FAIL when the signal monitor stops, one RESOLVED after recovery.
    let alerts = text
        .split("━━━ Alerts: what the runs above would have sent ")
        .nth(1)
        .unwrap_or_else(|| panic!("no alerts section in {text}"));
    let sent: Vec<&str> = alerts
        .lines()
        .filter(|l| l.contains("subject: ") || l.contains("SMS: "))
        .map(str::trim)
        .collect();
    assert_eq!(sent.len(), 4, "{alerts}");
    assert!(
        sent[0].ends_with("FAIL      subject: [FAIL] demo/trading-platform: signal_monitor"),
        "{alerts}"
    );
    assert!(
        sent[1].starts_with("SMS:     FAIL demo/trading-platform: signal_monitor("),
        "{alerts}"
    );
    assert!(
        sent[2].ends_with(
            "RESOLVED  subject: [RESOLVED] demo/trading-platform no longer failing, after 15 min"
        ),
        "{alerts}"
    );
    assert!(
        sent[3].starts_with("SMS:     RESOLVED demo/trading-platform no longer failing"),
        "{alerts}"
    );
    assert!(sent.iter().all(|l| l.len() <= 160), "{alerts}");
    assert!(
        text.trim_end().lines().last().is_some_and(
            |l| l.starts_with("Next: check your own service with `health-canary check --url ")
        ),
        "{text}"
    );
}
