//! Fresh Lambda processes for tests: a one-invocation Runtime API on 127.0.0.1 and the real
//! `health-canary-lambda` binary started against it, one process per invocation as a cold start
//! has it, alone or several at the same moment.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What one fresh process answered.
#[derive(Debug)]
pub struct Invocation {
    /// `response`, `error` or `init/error`.
    pub kind: String,
    /// The posted body (the summary JSON, or the error's JSON).
    pub body: String,
    /// The process's standard output (EMF documents).
    pub stdout: String,
    /// The process's standard error (its logs).
    pub stderr: String,
}

/// A minimal Lambda Runtime API on 127.0.0.1: hands out `event` once with a deadline
/// `deadline` from now (then holds further polls open), and sends back what the function posts
/// as its response or error.
pub async fn runtime_api(
    event: Vec<u8>,
    deadline: Duration,
) -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
) {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{get, post};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[derive(Clone)]
    struct Shared {
        event: Arc<Vec<u8>>,
        served: Arc<AtomicBool>,
        deadline: Duration,
        tx: tokio::sync::mpsc::UnboundedSender<(String, String)>,
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let state = Shared {
        event: Arc::new(event),
        served: Arc::new(AtomicBool::new(false)),
        deadline,
        tx,
    };
    async fn next(State(s): State<Shared>) -> (HeaderMap, Vec<u8>) {
        if s.served.swap(true, Ordering::SeqCst) {
            // One invocation per process: later polls wait until the function is killed.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        let mut h = HeaderMap::new();
        let deadline = chrono::Utc::now().timestamp_millis()
            + i64::try_from(s.deadline.as_millis()).unwrap_or(i64::MAX);
        h.insert("lambda-runtime-aws-request-id", "req-1".parse().unwrap());
        h.insert(
            "lambda-runtime-deadline-ms",
            deadline.to_string().parse().unwrap(),
        );
        h.insert(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:000000000000:function:health-canary"
                .parse()
                .unwrap(),
        );
        h.insert(
            "lambda-runtime-trace-id",
            "Root=1-6b06201b-92bc501d810796c60a26cdc5;Sampled=1"
                .parse()
                .unwrap(),
        );
        (h, s.event.to_vec())
    }
    async fn done(
        State(s): State<Shared>,
        Path((_id, kind)): Path<(String, String)>,
        body: String,
    ) -> StatusCode {
        let _ = s.tx.send((kind, body));
        StatusCode::ACCEPTED
    }
    async fn init_error(State(s): State<Shared>, body: String) -> StatusCode {
        let _ = s.tx.send(("init/error".into(), body));
        StatusCode::ACCEPTED
    }
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(done))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, rx)
}

/// The function binary as Lambda starts it against `api`: no inherited `CANARY_*` or `AWS_*`
/// variables, the Lambda ones, then `env`; output captured.
pub fn function_command(api: SocketAddr, env: &[(String, String)]) -> Command {
    let mut function = Command::new(env!("CARGO_BIN_EXE_health-canary-lambda"));
    for (k, _) in std::env::vars() {
        if k.starts_with("CANARY_") || k.starts_with("AWS_") {
            function.env_remove(k);
        }
    }
    function
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", "health-canary".to_string()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    function
}

/// Starts a fresh process for one invocation of `event` (deadline `deadline` from now), waits up
/// to `wait` for its answer, then kills it. Panics (with its logs) when it does not answer.
pub async fn invoke_fresh(
    env: &[(String, String)],
    event: &[u8],
    deadline: Duration,
    wait: Duration,
) -> Invocation {
    let (api, mut results) = runtime_api(event.to_vec(), deadline).await;
    let mut child = function_command(api, env)
        .spawn()
        .expect("start health-canary-lambda");
    let got = tokio::time::timeout(wait, results.recv()).await;
    let _ = child.kill();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("function output");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let (kind, body) = match got {
        Ok(Some(result)) => result,
        _ => panic!("no answer within {wait:?}; stderr: {stderr}"),
    };
    Invocation {
        kind,
        body,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    }
}

/// `n` fresh processes invoked at the same moment (concurrent cold starts of one schedule).
pub async fn invoke_fresh_at_once(
    n: usize,
    env: &[(String, String)],
    event: &[u8],
    deadline: Duration,
    wait: Duration,
) -> Vec<Invocation> {
    futures::future::join_all((0..n).map(|_| invoke_fresh(env, event, deadline, wait))).await
}
