//! Login benchmark: HTTP logins per second against the raw argon2id verification rate of
//! the same parameters on the same machine, measured in one run; plus the server's idle
//! memory and its peak memory under 500 concurrent login attempts.
//!
//! ```sh
//! cargo build --release && cargo run --release --example login_bench -- [--seconds 10] [--concurrency 16]
//! ```
//! The server is the real release binary (`target/release/twofold serve`) with default
//! settings, on a fresh SQLite database, so its memory is measured on its own.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "common/argon2_rate.rs"]
mod argon2_rate;
use argon2_rate::raw_rate;

struct Args {
    seconds: u64,
    concurrency: usize,
    bin: String,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 10,
        concurrency: 16,
        bin: "target/release/twofold".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--concurrency" => a.concurrency = value.parse().expect("--concurrency N"),
            "--bin" => a.bin = value,
            other => panic!("unknown flag {other}; use --seconds, --concurrency, --bin"),
        }
    }
    a
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

// One client thread: the load generator shares the machine with the server, and a single
// event loop is the cheapest way to keep 16 connections busy.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = args();
    twofold::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    // The server logs to a file, as under a service manager, so that reading its log costs
    // the load generator nothing.
    let log_path = dir.path().join("server.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(&a.bin)
        // One client address sends every login here: its per-address limit and the hashing
        // queue's bound (which protect real deployments from floods) are lifted.
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--logins-per-address-minute",
            "0",
            "--hash-queue",
            "100000",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (run `cargo build --release` first)",
                a.bin
            )
        });
    let pid = child.id();
    let started = Instant::now();
    let addr = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(at) = log.find("listening on http://") {
            break log[at + 20..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect::<String>();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let base = format!("http://{addr}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = rss_kib(pid, "VmRSS:");

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let creds = serde_json::json!({"username": "bench", "password": "benchmark password"});
    let res = http
        .post(format!("{base}/api/v1/accounts"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let (login_url, login_creds) = (
        Arc::new(format!("{base}/api/v1/sessions")),
        Arc::new(creds.clone()),
    );
    let login = move |http: reqwest::Client| {
        let (url, creds) = (Arc::clone(&login_url), Arc::clone(&login_creds));
        async move {
            http.post(url.as_str())
                .json(&*creds)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    for _ in 0..10 {
        assert_eq!(login(http.clone()).await, 201);
    }

    // The raw rate is measured just before and just after the HTTP run and averaged, so
    // that a shift in the machine's load during the run shows up on both sides.
    println!("measuring raw argon2id for {}s ...", a.seconds / 2);
    let raw_before = raw_rate(a.seconds / 2);

    println!(
        "measuring HTTP logins for {}s with {} concurrent clients ...",
        a.seconds, a.concurrency
    );
    let ok = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let (http, ok, login) = (http.clone(), Arc::clone(&ok), login.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                if login(http.clone()).await == 201 {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let http_rate = ok.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("measuring raw argon2id again for {}s ...", a.seconds / 2);
    let raw_after = raw_rate(a.seconds / 2);
    let raw = (raw_before + raw_after) / 2.0;

    println!("firing 500 concurrent login attempts ...");
    let burst_start = Instant::now();
    let burst: Vec<_> = (0..500)
        .map(|_| tokio::spawn(login(http.clone())))
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    for t in burst {
        *statuses.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    let burst_secs = burst_start.elapsed().as_secs_f64();
    let peak_kib = rss_kib(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();

    println!();
    println!(
        "raw argon2id verifications/s (m=19456 KiB, t=2, p=1, {} threads): {raw:.1}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "HTTP logins/s (POST /api/v1/sessions, {} clients):              {http_rate:.1}",
        a.concurrency
    );
    println!(
        "ratio HTTP / raw:                                                  {:.3}",
        http_rate / raw
    );
    println!(
        "idle RSS:                                                          {:.1} MiB",
        idle_kib as f64 / 1024.0
    );
    println!(
        "peak RSS after 500 concurrent logins ({burst_secs:.1}s, statuses {statuses:?}): {:.1} MiB",
        peak_kib as f64 / 1024.0
    );
}
