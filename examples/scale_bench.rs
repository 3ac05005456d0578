//! Scale benchmark: the backup-code second step on a seeded database, against one node or
//! several (BENCHMARKS.md, "At a million accounts").
//!
//! ```sh
//! target/release/twofold --data-dir D bench seed --accounts 1000000 --export D/sample.json
//! target/release/twofold --data-dir D serve --listen 127.0.0.1:18080 --logins-per-address-minute 0 --hash-queue 100000 &
//! cargo run --release --example scale_bench -- --export D/sample.json --nodes http://127.0.0.1:18080 latency
//! ```
//!
//! Modes (the last argument):
//! - `latency`: `--logins` logins one after another (default 1000), each a password step and
//!   then a backup code; the second step's round trip is timed (p50, p90, p99, max), and the
//!   servers' own mean for that route is read from their `/metrics` before and after.
//! - `throughput`: `--concurrency` clients (default 8) for `--seconds` (default 20): whole
//!   logins per second against the raw argon2id rate of this machine's cores, measured just
//!   before and after; then 1000 challenges are made and their backup codes sent with the
//!   same concurrency: backup-code steps per second.
//! - `race`: 200 challenges for one account (the sample's last), split over the nodes, then
//!   one backup code sent on all of them at the same moment: exactly one session must come
//!   back, and no 5xx.
//! - `passkeys`: `--logins` accounts log in (password and backup code) and add a passkey (a
//!   software P-256 key, `common/test_key.rs`); then each logs in with it and no password,
//!   one after another, twice. The servers' own timings of the passwordless login, of its
//!   options and of the password step are read from their `/metrics`. Start the servers
//!   without `--public-url` (the key signs for `http://localhost`).
//!
//! Each backup code works once, so runs go on through the sample's codes: `--from P` starts
//! at pair P (account P mod the sample size, its code P div the sample size), and each run
//! prints where the next may start.

#[path = "common/argon2_rate.rs"]
mod argon2_rate;
#[allow(dead_code)]
#[path = "common/test_key.rs"]
mod test_key;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The `--export` file of `twofold bench seed`.
#[derive(serde::Deserialize)]
struct Sample {
    password: String,
    accounts: Vec<SampleAccount>,
}

#[derive(serde::Deserialize)]
struct SampleAccount {
    username: String,
    codes: Vec<String>,
}

struct Args {
    export: String,
    nodes: Vec<String>,
    logins: usize,
    seconds: u64,
    concurrency: usize,
    from: usize,
    mode: String,
}

fn args() -> Args {
    let mut a = Args {
        export: String::new(),
        nodes: Vec::new(),
        logins: 1000,
        seconds: 20,
        concurrency: 8,
        from: 0,
        mode: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if !flag.starts_with("--") {
            a.mode = flag;
            continue;
        }
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--export" => a.export = value,
            "--nodes" => a.nodes = value.split(',').map(str::to_owned).collect(),
            "--logins" => a.logins = value.parse().expect("--logins N"),
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--concurrency" => a.concurrency = value.parse().expect("--concurrency N"),
            "--from" => a.from = value.parse().expect("--from P"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        !a.export.is_empty() && !a.nodes.is_empty(),
        "--export FILE and --nodes URL[,URL] are needed"
    );
    a
}

/// The sample's (username, code) pairs in the order runs use them, and the shared password.
struct Pairs {
    password: String,
    sample: Vec<SampleAccount>,
    next: AtomicUsize,
}

impl Pairs {
    /// The next unused pair, or `None` when the sample is spent.
    fn take(&self) -> Option<(String, String)> {
        let p = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.sample.len();
        let a = &self.sample[p % n];
        a.codes.get(p / n).map(|c| (a.username.clone(), c.clone()))
    }
}

/// A client to the nodes, round robin.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    nodes: Arc<Vec<String>>,
    turn: Arc<AtomicUsize>,
}

impl Client {
    fn node(&self) -> &str {
        &self.nodes[self.turn.fetch_add(1, Ordering::Relaxed) % self.nodes.len()]
    }

    /// The password step on `node`: the challenge.
    async fn challenge(&self, node: &str, username: &str, password: &str) -> Value {
        let res = self
            .http
            .post(format!("{node}/api/v1/sessions"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202, "the password step of {username}");
        res.json().await.unwrap()
    }

    /// The backup-code step on `node`: its status.
    async fn backup_code(&self, node: &str, challenge: &Value, code: &str) -> u16 {
        self.http
            .post(format!("{node}/api/v1/sessions/two-factor"))
            .json(&json!({"challenge": challenge["challenge"], "method": "backup_code", "code": code}))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    /// The servers' own timings of the second step, from `/metrics`, summed over the nodes.
    async fn server_timings(&self) -> ServerTimings {
        self.route_timings("/api/v1/sessions/two-factor", "201")
            .await
    }

    /// The servers' own timings of `route` answered with `status`, summed over the nodes.
    async fn route_timings(&self, route: &str, status: &str) -> ServerTimings {
        let (route, status) = (format!("route=\"{route}\""), format!("status=\"{status}\""));
        let mut total = ServerTimings::default();
        for node in self.nodes.iter() {
            let text = self
                .http
                .get(format!("{node}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            for line in text
                .lines()
                .filter(|l| l.contains(&route) && l.contains(&status))
            {
                let value: f64 = line
                    .rsplit(' ')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
                if line.starts_with("twofold_http_request_duration_seconds_sum") {
                    total.sum += value;
                } else if line.starts_with("twofold_http_request_duration_seconds_count") {
                    total.count += value;
                } else if let Some(i) = WITHIN_MS
                    .iter()
                    .position(|ms| line.contains(&format!("le=\"{}\"", ms / 1000.0)))
                {
                    total.within[i] += value;
                }
            }
        }
        total
    }
}

/// The histogram bounds the server-side share is told for (`metrics.rs` has these buckets).
const WITHIN_MS: [f64; 7] = [1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0];

/// Sum, count and the count within each of [`WITHIN_MS`] of the server's histogram.
#[derive(Default, Clone, Copy)]
struct ServerTimings {
    sum: f64,
    count: f64,
    within: [f64; 7],
}

impl ServerTimings {
    /// What happened between `before` and `self`: mean ms and the share within each bound.
    fn since(&self, before: &Self) -> (f64, Vec<String>) {
        let n = (self.count - before.count).max(1.0);
        let shares = WITHIN_MS
            .iter()
            .zip(self.within.iter().zip(before.within))
            .map(|(ms, (a, b))| format!("{ms} ms {:.1} %", (a - b) / n * 100.0))
            .collect();
        ((self.sum - before.sum) / n * 1000.0, shares)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    ms(sorted[i])
}

async fn latency(c: &Client, pairs: &Pairs, logins: usize) {
    let before = c.server_timings().await;
    let mut second = Vec::with_capacity(logins);
    let mut first = Vec::with_capacity(logins);
    for _ in 0..logins {
        let (user, code) = pairs.take().expect("the sample has codes left");
        let node = c.node().to_owned();
        let t = Instant::now();
        let challenge = c.challenge(&node, &user, &pairs.password).await;
        first.push(t.elapsed());
        let t = Instant::now();
        let status = c.backup_code(&node, &challenge, &code).await;
        second.push(t.elapsed());
        assert_eq!(status, 201, "the backup code of {user}");
    }
    let after = c.server_timings().await;
    second.sort();
    first.sort();
    let (server_mean, within) = after.since(&before);
    println!(
        "backup-code second step, {logins} logins one after another over {} node(s):",
        c.nodes.len()
    );
    println!(
        "  round trip ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
        percentile(&second, 0.5),
        percentile(&second, 0.9),
        percentile(&second, 0.99),
        percentile(&second, 1.0)
    );
    println!("  server-side mean ms (its /metrics): {server_mean:.3}");
    // The p99 is within a bound when at least 99 % are.
    println!("  server-side share within: {}", within.join(", "));
    println!(
        "  (password step p50 {:.1} ms, p99 {:.1} ms)",
        percentile(&first, 0.5),
        percentile(&first, 0.99)
    );
}

async fn throughput(c: &Client, pairs: &Arc<Pairs>, seconds: u64, concurrency: usize) {
    println!("measuring raw argon2id for {}s ...", seconds / 2);
    let raw_before = argon2_rate::raw_rate(seconds / 2);
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (c, pairs, done) = (c.clone(), Arc::clone(pairs), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let Some((user, code)) = pairs.take() else {
                    return;
                };
                let node = c.node().to_owned();
                let challenge = c.challenge(&node, &user, &pairs.password).await;
                if c.backup_code(&node, &challenge, &code).await == 201 {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let logins = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("measuring raw argon2id again for {}s ...", seconds / 2);
    let raw = (raw_before + argon2_rate::raw_rate(seconds / 2)) / 2.0;

    // Backup-code steps alone: challenges first, then their codes as fast as they go.
    let mut ready = Vec::new();
    for _ in 0..1000 {
        let (user, code) = pairs.take().expect("the sample has codes left");
        let node = c.node().to_owned();
        let challenge = c.challenge(&node, &user, &pairs.password).await;
        ready.push((node, challenge, code));
    }
    let queue = Arc::new(std::sync::Mutex::new(ready));
    let ok = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (c, queue, ok) = (c.clone(), Arc::clone(&queue), Arc::clone(&ok));
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((node, challenge, code)) = queue.lock().unwrap().pop() else {
                    return;
                };
                if c.backup_code(&node, &challenge, &code).await == 201 {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let steps = ok.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("{} node(s), {concurrency} clients:", c.nodes.len());
    println!("  raw argon2id verifications/s on this machine's cores: {raw:.1}");
    println!("  whole logins/s (password + backup code):             {logins:.1}");
    println!(
        "  ratio logins / raw argon2id:                          {:.3}",
        logins / raw
    );
    println!(
        "  backup-code steps/s ({} of 1000 accepted):            {steps:.0}",
        ok.load(Ordering::Relaxed)
    );
}

async fn race(c: &Client, pairs: &Pairs) {
    const RACERS: usize = 200;
    // The sample's last account and code, which the other modes reach last: the 199
    // refusals count against that account's second step.
    let last = pairs.sample.last().expect("a sample");
    let (user, code) = (
        last.username.clone(),
        last.codes.last().expect("codes").clone(),
    );
    let mut ready = Vec::new();
    for _ in 0..RACERS {
        let node = c.node().to_owned();
        let challenge = c.challenge(&node, &user, &pairs.password).await;
        ready.push((node, challenge));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = ready
        .into_iter()
        .map(|(node, challenge)| {
            let (c, code, barrier) = (c.clone(), code.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                c.backup_code(&node, &challenge, &code).await
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    println!(
        "{RACERS} second steps with one backup code over {} node(s): {statuses:?}",
        c.nodes.len()
    );
    assert_eq!(statuses.get(&201), Some(&1), "exactly one session");
    assert!(
        statuses.keys().all(|s| *s != 0 && *s < 500),
        "no 5xx, no lost request"
    );
}

/// POSTs `body` (with `token` as the bearer) and returns the answer's JSON, asserting `status`.
async fn post(c: &Client, url: String, token: Option<&str>, body: Value, status: u16) -> Value {
    let mut req = c.http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// One line of server-side timings.
fn told(what: &str, (mean, within): (f64, Vec<String>)) {
    println!(
        "  {what}: server mean {mean:.3} ms; within {}",
        within.join(", ")
    );
}

async fn passkeys(c: &Client, pairs: &Pairs, logins: usize) {
    let node = c.nodes[0].clone();
    let before = c.route_timings("/api/v1/sessions", "202").await;
    let mut keys = Vec::with_capacity(logins);
    for _ in 0..logins {
        let (user, code) = pairs.take().expect("the sample has codes left");
        let challenge = c.challenge(&node, &user, &pairs.password).await;
        let session = post(
            c,
            format!("{node}/api/v1/sessions/two-factor"),
            None,
            json!({"challenge": challenge["challenge"], "method": "backup_code", "code": code}),
            201,
        )
        .await;
        let token = session["token"].as_str().unwrap();
        let options = post(
            c,
            format!("{node}/api/v1/me/passkeys/options"),
            Some(token),
            json!({}),
            201,
        )
        .await;
        let mut key = test_key::TestKey::new(true);
        let credential = key.create(&options["publicKey"]);
        post(
            c,
            format!("{node}/api/v1/me/passkeys"),
            Some(token),
            json!({"flow": options["flow"], "name": "Bench key", "credential": credential}),
            201,
        )
        .await;
        keys.push(key);
    }
    let password = c
        .route_timings("/api/v1/sessions", "202")
        .await
        .since(&before);
    let (before, options_before) = (
        c.route_timings("/api/v1/sessions/passkey", "201").await,
        c.route_timings("/api/v1/sessions/passkey/options", "201")
            .await,
    );
    let mut round = Vec::with_capacity(logins * 2);
    for i in 0..logins * 2 {
        let key = &mut keys[i % logins];
        let options = post(
            c,
            format!("{node}/api/v1/sessions/passkey/options"),
            None,
            json!({}),
            201,
        )
        .await;
        let credential = key.get(&options["publicKey"]);
        let t = Instant::now();
        post(
            c,
            format!("{node}/api/v1/sessions/passkey"),
            None,
            json!({"flow": options["flow"], "credential": credential}),
            201,
        )
        .await;
        round.push(t.elapsed());
    }
    let login = c
        .route_timings("/api/v1/sessions/passkey", "201")
        .await
        .since(&before);
    let options = c
        .route_timings("/api/v1/sessions/passkey/options", "201")
        .await
        .since(&options_before);
    round.sort();
    println!(
        "{} passwordless logins with a passkey, one after another ({logins} keys, twice):",
        round.len()
    );
    println!(
        "  round trip ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
        percentile(&round, 0.5),
        percentile(&round, 0.9),
        percentile(&round, 0.99),
        percentile(&round, 1.0)
    );
    told("POST /api/v1/sessions/passkey", login);
    told("POST /api/v1/sessions/passkey/options", options);
    told("the password step, POST /api/v1/sessions (202)", password);
}

#[tokio::main]
async fn main() {
    let a = args();
    twofold::install_tls_provider();
    let sample: Sample = serde_json::from_slice(&std::fs::read(&a.export).unwrap()).unwrap();
    let pairs = Arc::new(Pairs {
        password: sample.password,
        sample: sample.accounts,
        next: AtomicUsize::new(a.from),
    });
    let c = Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .build()
            .unwrap(),
        nodes: Arc::new(a.nodes),
        turn: Arc::new(AtomicUsize::new(0)),
    };
    match a.mode.as_str() {
        "latency" => latency(&c, &pairs, a.logins).await,
        "throughput" => throughput(&c, &pairs, a.seconds, a.concurrency).await,
        "race" => race(&c, &pairs).await,
        "passkeys" => passkeys(&c, &pairs, a.logins).await,
        other => panic!("mode {other:?}: use latency, throughput, race or passkeys"),
    }
    println!("next run: --from {}", pairs.next.load(Ordering::Relaxed));
}
