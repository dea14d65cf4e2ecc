//! A fault-injecting HTTP/1.1 proxy for tests: sits on 127.0.0.1 in front of LocalStack (or of
//! moto for DynamoDB), tells CloudWatch, SNS and DynamoDB requests apart, and per service (or per
//! operation) passes them through or answers with a 500, throttling, a connection reset or a stall. It records every request so
//! tests can assert that the SDK retried and scan what was sent.
//!
//! Point a client at it with `AWS_ENDPOINT_URL=proxy.url()`. One request per connection: every
//! answer says `Connection: close`, so the SDK never reuses a socket the proxy is about to break.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Which AWS service a request was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// CloudWatch (`monitoring`): Smithy RPC v2 CBOR.
    CloudWatch,
    /// SNS: AWS Query (form body, XML answers).
    Sns,
    /// DynamoDB: AWS JSON 1.0 (`X-Amz-Target: DynamoDB_20120810.<Operation>`).
    DynamoDb,
    /// Anything else (SQS, STS, …): always passed through.
    Other,
}

/// What the proxy does with a matching request.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Forward to LocalStack and relay the answer.
    Pass,
    /// HTTP 500 with the protocol's `InternalFailure` error shape.
    InternalError,
    /// HTTP 400 with the protocol's throttling error shape.
    Throttle,
    /// Read the request, then reset the connection (RST, no answer).
    Reset,
    /// Read the request, say nothing for this long, then close without an answer.
    Stall(Duration),
    /// Apply the inner fault to the first N matching requests, then pass.
    FailFirst(u32, Box<Fault>),
    /// One fault per matching request, in order; the last one repeats.
    Each(Vec<Fault>),
}

impl Fault {
    /// Shorthand for `FailFirst(n, Box::new(fault))`.
    pub fn first(n: u32, fault: Fault) -> Fault {
        Fault::FailFirst(n, Box::new(fault))
    }
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The service it was routed to.
    pub service: Service,
    /// The operation (`PutMetricData`, `Publish`, …), if it could be read.
    pub operation: Option<String>,
    /// What the proxy did with it (`Pass`, or the fault applied).
    pub action: Fault,
    /// The raw request (head and body) as it arrived, for scanning.
    pub raw: Vec<u8>,
}

#[derive(Default)]
struct State {
    /// Rules by (service, operation); an operation rule beats a service-wide one.
    rules: HashMap<(Service, Option<String>), Fault>,
    seen: Vec<Seen>,
}

impl State {
    /// Picks this request's action and consumes one failure of a `FailFirst` rule.
    fn decide(&mut self, service: Service, operation: Option<&str>) -> Fault {
        let key = match operation {
            Some(op) if self.rules.contains_key(&(service, Some(op.to_string()))) => {
                (service, Some(op.to_string()))
            }
            _ => (service, None),
        };
        let Some(rule) = self.rules.get_mut(&key) else {
            return Fault::Pass;
        };
        match rule {
            Fault::FailFirst(0, _) => Fault::Pass,
            Fault::FailFirst(n, inner) => {
                *n -= 1;
                (**inner).clone()
            }
            Fault::Each(list) if list.len() > 1 => list.remove(0),
            Fault::Each(list) => list.first().cloned().unwrap_or(Fault::Pass),
            other => other.clone(),
        }
    }
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1:0 forwarding to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let upstream_url = url::Url::parse(upstream).expect("upstream is a URL");
        let upstream_addr = upstream_url
            .socket_addrs(|| Some(80))
            .expect("upstream resolves")
            .into_iter()
            .next()
            .expect("upstream has an address");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move { handle(stream, state, upstream_addr).await });
            }
        });
        FaultProxy { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Applies `fault` to every request for `service` (unless an operation rule matches).
    pub fn set(&self, service: Service, fault: Fault) {
        self.lock().rules.insert((service, None), fault);
    }

    /// Applies `fault` to one operation of `service` (`GetMetricData`), beating a service rule.
    pub fn set_operation(&self, service: Service, operation: &str, fault: Fault) {
        self.lock()
            .rules
            .insert((service, Some(operation.to_string())), fault);
    }

    /// Every request seen so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// How many requests reached the proxy for `service`.
    pub fn count(&self, service: Service) -> usize {
        self.lock()
            .seen
            .iter()
            .filter(|s| s.service == service)
            .count()
    }

    /// How many requests reached the proxy for one operation of `service`.
    pub fn count_operation(&self, service: Service, operation: &str) -> usize {
        self.lock()
            .seen
            .iter()
            .filter(|s| s.service == service && s.operation.as_deref() == Some(operation))
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A parsed request: the head as text, the headers lower-cased, the raw bytes, the body.
struct Request {
    method_path: String,
    headers: Vec<(String, String)>,
    raw: Vec<u8>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.method_path.split(' ').nth(1).unwrap_or("/")
    }
}

async fn handle(mut client: TcpStream, state: Arc<Mutex<State>>, upstream: SocketAddr) {
    let Some(request) = read_request(&mut client).await else {
        return;
    };
    let service = classify(&request);
    let operation = operation(&request);
    let action = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let action = if service == Service::Other {
            Fault::Pass
        } else {
            state.decide(service, operation.as_deref())
        };
        state.seen.push(Seen {
            service,
            operation: operation.clone(),
            action: action.clone(),
            raw: request.raw.clone(),
        });
        action
    };
    match action {
        Fault::Pass | Fault::FailFirst(..) | Fault::Each(_) => {
            pass(client, &request, upstream).await
        }
        Fault::InternalError | Fault::Throttle => {
            let answer = error_response(service, &action);
            let _ = client.write_all(&answer).await;
            let _ = client.shutdown().await;
        }
        Fault::Reset => {
            // SO_LINGER 0 makes the close an RST: the client sees "connection reset by peer".
            let _ = client.set_zero_linger();
            drop(client);
        }
        Fault::Stall(d) => {
            tokio::time::sleep(d).await;
            drop(client);
        }
    }
}

/// Reads one request head and its body (Content-Length or chunked).
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if raw.len() > 1024 * 1024 {
            return None;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let method_path = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut request = Request {
        method_path,
        headers,
        raw: Vec::new(),
        body: Vec::new(),
    };
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        // Read until the terminating zero-size chunk, then decode.
        loop {
            if let Some(body) = dechunk(&raw[head_end..]) {
                request.body = body;
                break;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
        }
    } else {
        let len: usize = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while raw.len() < head_end + len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
        }
        request.body = raw[head_end..head_end + len].to_vec();
    }
    request.raw = raw;
    Some(request)
}

/// Decodes a complete chunked body; `None` while incomplete.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            // Trailers end with an empty line.
            return data.windows(2).any(|w| w == b"\r\n").then_some(body);
        }
        if data.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Routes by the SigV4 credential scope, then the protocol headers, then the body.
fn classify(request: &Request) -> Service {
    if let Some(auth) = request.header("authorization") {
        if let Some(scope) = auth.split("Credential=").nth(1) {
            match scope.split('/').nth(3) {
                Some("monitoring") => return Service::CloudWatch,
                Some("sns") => return Service::Sns,
                Some("dynamodb") => return Service::DynamoDb,
                Some(_) => return Service::Other,
                None => {}
            }
        }
    }
    if request
        .header("x-amz-target")
        .is_some_and(|t| t.starts_with("DynamoDB_"))
    {
        return Service::DynamoDb;
    }
    if request.header("smithy-protocol").is_some()
        || request.path().contains("GraniteServiceVersion20100801")
    {
        return Service::CloudWatch;
    }
    let body = String::from_utf8_lossy(&request.body);
    if body.contains("Version=2010-03-31") {
        return Service::Sns;
    }
    Service::Other
}

/// The operation: RPC v2 path, `X-Amz-Target`, or the Query body's `Action=`.
fn operation(request: &Request) -> Option<String> {
    if let Some(op) = request.path().split("/operation/").nth(1) {
        return Some(op.split('?').next().unwrap_or(op).to_string());
    }
    if let Some(target) = request.header("x-amz-target") {
        return target.rsplit('.').next().map(str::to_string);
    }
    url::form_urlencoded::parse(&request.body)
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned())
}

/// Forwards the request to LocalStack on a fresh connection and relays the answer, closing.
async fn pass(mut client: TcpStream, request: &Request, upstream: SocketAddr) {
    let Ok(mut up) = TcpStream::connect(upstream).await else {
        let _ = client.set_zero_linger();
        return;
    };
    let forwarded = with_connection_close(&request.raw);
    if up.write_all(&forwarded).await.is_err() {
        return;
    }
    let mut answer = Vec::new();
    if up.read_to_end(&mut answer).await.is_err() && answer.is_empty() {
        let _ = client.set_zero_linger();
        return;
    }
    let _ = client.write_all(&with_connection_close(&answer)).await;
    let _ = client.shutdown().await;
}

/// Rewrites a message head so it carries exactly `Connection: close` (body untouched).
fn with_connection_close(message: &[u8]) -> Vec<u8> {
    let Some(end) = message.windows(4).position(|w| w == b"\r\n\r\n") else {
        return message.to_vec();
    };
    let head = String::from_utf8_lossy(&message[..end]);
    let mut out = String::new();
    for (i, line) in head.split("\r\n").enumerate() {
        let lower = line.to_ascii_lowercase();
        if i > 0 && (lower.starts_with("connection:") || lower.starts_with("keep-alive:")) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&message[end + 4..]);
    bytes
}

/// The error each protocol really sends: CBOR envelope for CloudWatch, Query XML for SNS, a
/// JSON 1.0 document for DynamoDB.
fn error_response(service: Service, fault: &Fault) -> Vec<u8> {
    let (status, reason, code, query_code, kind, message) = match fault {
        Fault::Throttle => (
            400,
            "Bad Request",
            "ThrottlingException",
            "Throttling",
            "Sender",
            "Rate exceeded",
        ),
        _ => (
            500,
            "Internal Server Error",
            "InternalFailure",
            "InternalFailure",
            "Receiver",
            "The request processing has failed because of an unknown error (injected by the fault proxy).",
        ),
    };
    let (extra_headers, body) = match service {
        Service::CloudWatch => (
            format!(
                "Content-Type: application/cbor\r\nsmithy-protocol: rpc-v2-cbor\r\n\
                 x-amzn-errortype: {code}\r\nx-amzn-query-error: {query_code};{kind}\r\n"
            ),
            cbor_text_map(&[("__type", code), ("message", message)]),
        ),
        Service::DynamoDb => {
            // DynamoDB's own names: an on-demand table throttles with ThrottlingException.
            let code = match fault {
                Fault::Throttle => "ThrottlingException",
                _ => "InternalServerError",
            };
            (
                "Content-Type: application/x-amz-json-1.0\r\n".to_string(),
                serde_json::json!({
                    "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
                    "message": message,
                })
                .to_string()
                .into_bytes(),
            )
        }
        Service::Sns | Service::Other => (
            "Content-Type: text/xml\r\n".to_string(),
            format!(
                "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error>\
                 <Type>{kind}</Type><Code>{query_code}</Code><Message>{message}</Message>\
                 </Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
            )
            .into_bytes(),
        ),
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\n{extra_headers}x-amzn-RequestId: fault-proxy\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// A definite-length CBOR map of text keys to text values (all the error envelope needs).
fn cbor_text_map(entries: &[(&str, &str)]) -> Vec<u8> {
    fn head(major: u8, len: usize, out: &mut Vec<u8>) {
        let m = major << 5;
        match len {
            0..=23 => out.push(m | len as u8),
            24..=0xff => out.extend_from_slice(&[m | 24, len as u8]),
            _ => {
                out.push(m | 25);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
        }
    }
    let mut out = Vec::new();
    head(5, entries.len(), &mut out);
    for (k, v) in entries {
        for s in [k, v] {
            head(3, s.len(), &mut out);
            out.extend_from_slice(s.as_bytes());
        }
    }
    out
}
