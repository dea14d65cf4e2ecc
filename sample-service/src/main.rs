//! `sample-service [PORT]`: runs the sample health service on 127.0.0.1 until killed, and prints
//! `listening on 127.0.0.1:PORT` once it accepts connections (the bench harness reads that line).
//! Pin a scenario per URL: `/scenario/<name>/…`; `/__stats` counts what was served.

use sample_service::{SampleService, Scenario};
use std::io::Write;

#[tokio::main]
async fn main() {
    let arg = std::env::args().nth(1);
    let port = match arg.as_deref().map(str::parse::<u16>) {
        None => 0,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("usage: sample-service [PORT]  (PORT 0 or none picks a free port)");
            std::process::exit(2);
        }
    };
    let service = match SampleService::start_on(port).await {
        Ok(service) => service,
        Err(e) => {
            eprintln!("sample-service: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
    println!("listening on {}", service.addr());
    eprintln!(
        "sample-service: {} answers healthy; /scenario/<name>/… pins one of: {}",
        service.url(),
        names.join(", ")
    );
    // The harness waits for the line above; a pipe would otherwise hold it back.
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
}
