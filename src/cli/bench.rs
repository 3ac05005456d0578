//! `twofold bench seed`: fills a benchmark database with accounts that have two-factor
//! authentication on (an authenticator app and 10 backup codes each), so logins can be
//! measured at the size of a real service (BENCHMARKS.md). The accounts share one real
//! argon2id hash of a known password; `--export` writes a sample of usernames and codes for
//! the benchmark client. It refuses a database that already holds accounts unless `--force`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::auth::SeededAccount;
use crate::clock::SystemClock;
use crate::config::{Config, Location, Overrides};

/// Accounts per transaction: large enough that commits (each an fsync) do not matter,
/// small enough that the batch being made and the one being written fit in memory easily.
const BATCH: u64 = 10_000;

#[derive(Debug, Subcommand)]
pub(super) enum BenchCommand {
    /// Fill the database with benchmark accounts (two-factor on, 10 backup codes each).
    Seed {
        /// How many accounts to make.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        accounts: u64,
        /// Add to a database that already holds accounts (never do this to a real one).
        #[arg(long)]
        force: bool,
        /// Usernames are this prefix and a number: seed0, seed1, …
        #[arg(long, default_value = "seed")]
        prefix: String,
        /// The password every seeded account shares (it is hashed once with argon2id).
        #[arg(long, default_value = "bench-password-twofold")]
        password: String,
        /// Write a sample of the accounts made (usernames, the password, backup codes) to
        /// this JSON file, for the benchmark client.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        /// How many accounts the sample holds (spread evenly over all of them).
        #[arg(long, value_name = "K", default_value_t = 2_000)]
        export_count: u64,
    },
}

/// The `--export` file.
#[derive(serde::Serialize)]
struct Export<'a> {
    password: &'a str,
    accounts: Vec<ExportedAccount>,
}

#[derive(serde::Serialize)]
struct ExportedAccount {
    username: String,
    codes: Vec<String>,
}

/// Runs `twofold bench …`.
pub(super) async fn run(location: &Location, cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    let BenchCommand::Seed {
        accounts,
        force,
        prefix,
        password,
        export,
        export_count,
    } = cmd;
    let config = Config::resolve(location, &Overrides::default())?;
    // Like `serve`: a new folder gets its database and key, so a benchmark can start empty.
    let (auth, _keys, _) = crate::server::open(
        &config,
        Arc::new(SystemClock),
        crate::server::Opener::Server,
    )
    .await?;
    let auth = Arc::new(auth);
    let existing = auth.operator().account_count().await?;
    if existing > 0 && !force {
        eprintln!(
            "twofold: the database ({}) already holds {existing} account{}; `bench seed` is for an empty benchmark database. Point --data-dir at a new folder, or pass --force to add to it anyway",
            crate::server::redact_url(&config.database_url),
            if existing == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::from(2));
    }
    // Numbers go on after the accounts already there, so a forced run meets no taken name.
    let first = u64::try_from(existing).unwrap_or(0);
    crate::domain::Username::parse(&format!("{prefix}{}", first + accounts - 1))
        .map_err(|e| anyhow::anyhow!("--prefix {prefix:?} makes bad usernames: {e}"))?;
    let hash = auth.operator().seed_password_hash(&password).await?;
    let every = (accounts / export_count.max(1)).max(1);
    let mut sample: Vec<ExportedAccount> = Vec::new();

    let bar = ProgressBar::new(accounts);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} accounts, {per_sec}, about {eta} left",
        )
        .context("the progress bar template")?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    // Making a batch (random secrets, keyed hashes, sealing) runs on a blocking thread while
    // the previous one is written.
    let make = |from: u64| {
        let auth = Arc::clone(&auth);
        let prefix = prefix.clone();
        let n = BATCH.min(first + accounts - from);
        tokio::task::spawn_blocking(move || auth.operator().seed_batch(&prefix, from, n))
    };
    let mut next = first;
    let mut codes = 0_u64;
    let mut pending = Some(make(next));
    while let Some(job) = pending.take() {
        let batch = job.await.context("making seed accounts")??;
        let n = batch.made.len() as u64;
        codes += batch.made.iter().map(|a| a.codes.len() as u64).sum::<u64>();
        let from = next;
        next += n;
        if next < first + accounts {
            pending = Some(make(next));
        }
        auth.operator()
            .store_seed_batch(&batch, &hash)
            .await
            .with_context(|| format!("storing accounts {prefix}{from} to {prefix}{}", next - 1))?;
        keep_sample(&mut sample, batch.made, from - first, every, export_count);
        bar.inc(n);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {accounts} accounts ({codes} backup codes) in {secs:.1} s: {:.0} accounts/s",
        accounts as f64 / secs.max(f64::EPSILON)
    );
    if let Some(path) = export {
        let file = Export {
            password: &password,
            accounts: sample,
        };
        std::fs::write(&path, serde_json::to_vec(&file)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "wrote a sample of {} accounts to {}",
            file.accounts.len(),
            path.display()
        );
    }
    if let Ok(auth) = Arc::try_unwrap(auth) {
        auth.close().await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Keeps every `every`-th account of a batch (numbered from `offset`) for the sample.
fn keep_sample(
    sample: &mut Vec<ExportedAccount>,
    made: Vec<SeededAccount>,
    offset: u64,
    every: u64,
    limit: u64,
) {
    for (i, a) in (offset..).zip(made) {
        if i % every == 0 && (sample.len() as u64) < limit {
            sample.push(ExportedAccount {
                username: a.username,
                codes: a.codes,
            });
        }
    }
}
