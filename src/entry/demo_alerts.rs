//! The demo's alert lifecycle: the demo's runs, as if five minutes apart, then once more after
//! the service recovered, through the real alert engine with the in-memory store (DynamoDB in
//! AWS) and the default settings, and what each notice would say (subject and SMS).

use crate::check::report::Report;
use crate::sinks::alert::engine::{self, Notifier, NotifyError, Outgoing, RunContext};
use crate::sinks::alert::memory::MemoryStore;
use crate::sinks::alert::message::{render, About, Message};
use crate::sinks::alert::settings::Settings;
use crate::sinks::alert::transition::Observation;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Minutes between the demo's runs as the engine sees them.
pub const DEMO_INTERVAL_MINUTES: i64 = 5;

/// A notifier that keeps what it would have sent.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<(DateTime<Utc>, Message)>>,
    urls: BTreeMap<String, String>,
}

impl Notifier for Recorder {
    async fn publish(&self, out: &Outgoing<'_>) -> Result<String, NotifyError> {
        let about = About {
            url: self.urls.get(out.target).map(String::as_str),
            hints: None,
        };
        let message = render(out, &about);
        // A panic elsewhere cannot leave the list half-written; its contents stay usable.
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.push((out.now, message));
        Ok(format!("demo-{}", sent.len()))
    }
}

/// Runs `reports` in order through the engine, the i-th as if checked `i × 5` minutes after the
/// first; returns every notice sent, with when.
pub async fn lifecycle(reports: &[Report]) -> Vec<(DateTime<Utc>, Message)> {
    let Some(first) = reports.first() else {
        return Vec::new();
    };
    let store = MemoryStore::new();
    let recorder = Recorder {
        urls: first
            .targets
            .iter()
            .map(|t| (t.name.clone(), t.url.clone()))
            .collect(),
        ..Recorder::default()
    };
    let settings = Settings::default();
    for (i, report) in reports.iter().enumerate() {
        let at = first.checked_at + Duration::minutes(DEMO_INTERVAL_MINUTES * i as i64);
        let ctx = RunContext {
            canary: &report.canary,
            checked_at: at,
            now: at,
            settings: &settings,
            claim_until: None,
        };
        let observations: Vec<(String, Observation)> = report
            .targets
            .iter()
            .map(|t| (t.name.clone(), Observation::of(t)))
            .collect();
        engine::run(&store, &recorder, &ctx, &observations).await;
    }
    recorder
        .sent
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
}

/// What was sent, for the terminal: per notice its time, subject and SMS.
pub fn render_lifecycle(sent: &[(DateTime<Utc>, Message)]) -> String {
    if sent.is_empty() {
        return "  nothing would have been sent\n".into();
    }
    let mut out = String::new();
    for (at, m) in sent {
        out.push_str(&format!(
            "  {}  {:<8}  subject: {}\n                   SMS:     {}\n",
            at.format("%H:%M"),
            m.kind.as_str(),
            m.subject,
            m.sms
        ));
    }
    out
}
