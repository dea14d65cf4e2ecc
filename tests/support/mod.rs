//! Shared test helpers: the sample health service and hostile local servers on ephemeral ports,
//! secrets and a service guarded by them, the built CLI and Lambda binary, LocalStack access.
#![allow(dead_code)]

pub mod cfn;
pub mod fault_proxy;
pub mod guarded;
pub mod lambda_process;

pub use sample_service::{SampleService, Scenario};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The sample health service (the demo's) on 127.0.0.1, answering `scenario` until switched.
pub async fn sample_service(scenario: Scenario) -> SampleService {
    let service = SampleService::start()
        .await
        .expect("start the sample service on 127.0.0.1");
    service.set(scenario);
    service
}

/// A server running on 127.0.0.1 until dropped.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves every connection with `handler`, which owns the raw socket (for hostile behaviour).
pub async fn serve_raw<F, Fut>(handler: F) -> TestServer
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let handler = Arc::new(handler);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let h = handler.clone();
            tokio::spawn(async move { h(stream).await });
        }
    });
    TestServer { addr, task }
}

/// Reads the request head (up to the blank line) so the client is not reset mid-write.
pub async fn read_request_head(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Serves one fixed response to every request.
pub async fn serve_fixed(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> TestServer {
    let body: Arc<Vec<u8>> = Arc::new(body.into());
    let content_type = content_type.to_string();
    serve_raw(move |mut stream| {
        let body = body.clone();
        let content_type = content_type.clone();
        async move {
            read_request_head(&mut stream).await;
            let ct = if content_type.is_empty() {
                String::new()
            } else {
                format!("Content-Type: {content_type}\r\n")
            };
            let head = format!(
                "HTTP/1.1 {status} X\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        }
    })
    .await
}

/// Path of the built `health-canary` binary.
pub fn canary_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_health-canary"))
}

/// Runs the CLI with args and extra env (no inherited `CANARY_*` or `AWS_*` settings).
pub fn run_cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(canary_bin());
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("CANARY_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run health-canary")
}

/// The LocalStack endpoint the test command started (`AWS_ENDPOINT_URL`).
pub fn localstack_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the AWS tests through scripts/test, which starts LocalStack (scripts/localstack start)")
    })
}

/// The moto endpoint the test command started for DynamoDB (`AWS_ENDPOINT_URL_DYNAMODB`).
pub fn moto_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL_DYNAMODB is not set: run the AWS tests through scripts/test, which starts moto (scripts/moto start)")
    })
}
