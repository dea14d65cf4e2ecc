//! The bench's health server: answers every GET with a seed-format (`/api/health/system`) body of
//! five components, on 127.0.0.1, one thread per keep-alive connection. Paths starting `/fail`
//! report `market_data` FAIL; everything else is all PASS. `/__stats` returns the request and
//! connection counts (the bench checks connection reuse with them).
//! Standard library only, so it builds in a second and is never the bottleneck of a scale run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sample-server: cannot bind 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sample-server: no local address: {e}");
            std::process::exit(1);
        }
    };
    // The harness reads this line to learn the port.
    println!("listening on {addr}");
    let _ = std::io::stdout().flush();
    let served = Arc::new(AtomicU64::new(0));
    let connections = Arc::new(AtomicU64::new(0));
    for stream in listener.incoming().flatten() {
        let served = served.clone();
        let connections = connections.clone();
        std::thread::spawn(move || serve(stream, &served, &connections));
    }
}

/// Serves one connection until the peer closes it or asks to.
fn serve(stream: TcpStream, served: &AtomicU64, connections: &AtomicU64) {
    let _ = stream.set_nodelay(true);
    let mut counted = false;
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = write_half;
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut content_length = 0usize;
        let mut close = false;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap_or(0);
            } else if lower.starts_with("connection:") && lower.contains("close") {
                close = true;
            }
        }
        // Drain any request body so the next request on this connection starts clean.
        let mut body = vec![0u8; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        let payload = if path == "/__stats" {
            format!(
                "{{\"served\":{},\"connections\":{}}}",
                served.load(Ordering::Relaxed),
                connections.load(Ordering::Relaxed)
            )
        } else {
            // Connections that only ever asked for /__stats (the harness) are not counted.
            if !counted {
                connections.fetch_add(1, Ordering::Relaxed);
                counted = true;
            }
            served.fetch_add(1, Ordering::Relaxed);
            seed_body(path.starts_with("/fail"))
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
            payload.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        if writer.write_all(head.as_bytes()).is_err()
            || writer.write_all(payload.as_bytes()).is_err()
        {
            return;
        }
        if close {
            return;
        }
    }
}

/// The seed `/api/health/system` shape: five components, each with its status and measurements.
fn seed_body(failing: bool) -> String {
    let (global, market) = if failing {
        ("FAIL", "FAIL")
    } else {
        ("PASS", "PASS")
    };
    let stale = if failing { 33 } else { 0 };
    let age = if failing { 95.5 } else { 0.21 };
    format!(
        concat!(
            "{{\"global_status\":\"{global}\",\"timestamp\":\"{ts}\",",
            "\"market_data\":{{\"status\":\"{market}\",\"fresh_symbols\":{fresh},\"stale_symbols\":{stale},\"max_age_minutes\":{age}}},",
            "\"market_updater\":{{\"status\":\"PASS\",\"is_running\":true,\"last_heartbeat_age_minutes\":0.21}},",
            "\"signal_monitor\":{{\"status\":\"PASS\",\"is_running\":true,\"last_cycle_age_minutes\":16.33}},",
            "\"telegram\":{{\"status\":\"PASS\",\"enabled\":true,\"chat_id_set\":true,\"last_send_ok\":true}},",
            "\"trade_system\":{{\"status\":\"PASS\",\"open_orders\":22,\"max_open_orders\":null,\"last_check_ok\":true}}}}"
        ),
        global = global,
        ts = rfc3339_now(),
        market = market,
        fresh = 33 - stale,
        stale = stale,
        age = age,
    )
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SS+00:00` (civil-from-days, no date crate needed).
fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
