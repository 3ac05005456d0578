//! The command line: `twofold serve` and the admin commands `twofold user …`,
//! `twofold client …` and `twofold oidc …` (`clients.rs`), `twofold access check`
//! (`access.rs`), `twofold bench seed` (`bench.rs`), and `twofold backup` / `restore`
//! (`backup.rs`).

mod access;
mod backup;
mod bench;
mod clients;
mod groups;
mod invitations;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::auth::{AccountAction, Actor, AuthError};
use crate::clock::SystemClock;
use crate::config::{Config, Location, Overrides};
use crate::domain::EventKind;
use crate::server::Server;

/// Twofold: accounts, passwords, two-factor authentication and backup codes.
#[derive(Debug, Parser)]
#[command(name = "twofold", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    location: Location,
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up; boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (web pages and JSON API).
    Serve(Overrides),
    /// Look after accounts (on the same database as the server).
    #[command(subcommand)]
    User(UserCommand),
    /// Groups, for apps (the `groups` claim) and forward authentication (`group:NAME`).
    #[command(subcommand)]
    Group(groups::GroupCommand),
    /// Invitations for `--sign-up invite`: single-use links, 7 days.
    #[command(subcommand)]
    Invite(invitations::InviteCommand),
    /// Register the apps that sign their users in with Twofold (OpenID Connect clients).
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// The OpenID Connect provider's signing keys.
    #[command(subcommand)]
    Oidc(clients::OidcCommand),
    /// Forward authentication's access rules ([access_control] in the TOML file).
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// Benchmark tools: `twofold bench seed` fills a database with test accounts.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Copy the SQLite database while the server runs (a consistent copy of one moment).
    /// Keep secret.key with it. PostgreSQL: use pg_dump.
    Backup {
        /// Where the copy goes (a new file).
        file: std::path::PathBuf,
    },
    /// Put a backup in place of the database of a stopped server (never under a running one).
    Restore {
        /// The backup made by `twofold backup`.
        file: std::path::PathBuf,
        /// Replace an existing database (everything since the backup is lost).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// List every account.
    List,
    /// Show one account: status, sessions and recent activity.
    Show {
        /// The username.
        username: String,
    },
    /// Disable an account: it can no longer log in, and every session ends at once.
    Disable {
        /// The username.
        username: String,
        /// Why (kept in the account's activity with your OS user name).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Enable a disabled account again; also lifts the wrong-password limits, which after
    /// 100 wrong passwords in a row wait for the owner or you.
    #[command(alias = "unlock")]
    Enable {
        /// The username.
        username: String,
        /// Why (kept in the log with your OS user name).
        #[arg(long)]
        reason: Option<String>,
    },
    /// End every session of an account, everywhere, at once.
    Logout {
        /// The username.
        username: String,
        /// Why (kept in the account's activity with your OS user name).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Turn two-factor authentication off for someone who lost their phone and their backup
    /// codes (check who they are first). They log in with their password and set it up again.
    #[command(name = "reset-2fa", alias = "reset-two-factor")]
    ResetTwoFactor {
        /// The username.
        username: String,
        /// Don't ask for confirmation (for scripts).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Why (kept in the account's activity with your OS user name).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Make an account an admin of the console at /admin (it needs 2FA on).
    GrantAdmin {
        /// The username.
        username: String,
        /// Why (kept in the audit trail with your OS user name).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Take the admin role away (never from the last admin).
    RevokeAdmin {
        /// The username.
        username: String,
        /// Why (kept in the audit trail with your OS user name).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete an account and everything kept about it; every credential ends at once.
    Delete {
        /// The username.
        username: String,
        /// Don't ask for confirmation (for scripts).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Why (kept in the audit trail with your OS user name).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// Who is running the admin command: the OS user (and who used sudo), for the record.
fn operator_name() -> String {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let user = var("USER")
        .or_else(|| var("LOGNAME"))
        .unwrap_or_else(|| format!("uid {uid}"));
    match var("SUDO_USER") {
        Some(by) if by != user => format!("{user} via sudo by {by}"),
        _ => user,
    }
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    // Everything Twofold creates — the database, its journal, the outboxes, the key — is
    // for its own user only (OWASP ASVS 4.0.3 V14.1.x; the key is also created 0600).
    // SAFETY: umask only sets this process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    init_logging(crate::config::log_format(&cli.location));
    // The async threads only parse HTTP and wait on the database: password hashing has its
    // own thread per core. Half the cores for them leaves the hashing threads room
    // (BENCHMARKS.md measures the difference).
    let workers = match &cli.command {
        Command::Serve(o) => o.worker_threads,
        Command::User(_)
        | Command::Group(_)
        | Command::Invite(_)
        | Command::Client(_)
        | Command::Oidc(_)
        | Command::Access(_)
        | Command::Bench(_)
        | Command::Backup { .. }
        | Command::Restore { .. } => Some(1),
    }
    .unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get() / 2)
            .unwrap_or(1)
    })
    .max(1);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("twofold: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("twofold: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: crate::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TWOFOLD_LOG")
        // webauthn-rs-core logs what it could not parse, at `error`, with the bytes it was
        // sent: a stranger's credential, up to 16 KiB, per request. Twofold logs the refusal
        // itself (`auth/webauthn.rs`), without them.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,sqlx=warn,webauthn_rs_core=off")
        });
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(log_colours(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::config::LogFormat::Text => logs.try_init(),
        // One object per line: the event's fields at the top, and the request span's
        // (request_id, method, path) under `span`.
        crate::config::LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// Colour codes only for a person at a terminal: never in a file, a pipe or a journal, and
/// never when `NO_COLOR` is set to anything but the empty string (no-color.org).
fn log_colours(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// The auth service on the configured database, for an admin command.
async fn open_admin(location: &Location) -> anyhow::Result<crate::auth::Auth> {
    let config = Config::resolve(location, &Overrides::default())?;
    let (auth, _keys, _) =
        crate::server::open(&config, Arc::new(SystemClock), crate::server::Opener::Admin).await?;
    Ok(auth)
}

async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(overrides) => {
            let config = Config::resolve(&cli.location, &overrides)?;
            let server = Server::build(&config, Arc::new(SystemClock)).await?;
            server.run(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User(cmd) => {
            let auth = open_admin(&cli.location).await?;
            let code = user_command(&auth, cmd).await?;
            auth.close().await;
            Ok(code)
        }
        Command::Group(cmd) => {
            let auth = open_admin(&cli.location).await?;
            let code = groups::run(&auth, &Actor::cli(&operator_name()), cmd).await?;
            auth.close().await;
            Ok(code)
        }
        Command::Invite(cmd) => {
            let auth = open_admin(&cli.location).await?;
            let code = invitations::run(&auth, &Actor::cli(&operator_name()), cmd).await?;
            auth.close().await;
            Ok(code)
        }
        Command::Client(cmd) => {
            let (oidc, auth) = clients::open(&cli.location).await?;
            let code = clients::client_command(&oidc, &Actor::cli(&operator_name()), cmd).await?;
            auth.close().await;
            Ok(code)
        }
        Command::Oidc(cmd) => {
            let (oidc, auth) = clients::open(&cli.location).await?;
            let code = clients::oidc_command(&oidc, cmd).await?;
            auth.close().await;
            Ok(code)
        }
        Command::Access(cmd) => {
            let config = Config::resolve(&cli.location, &Overrides::default())?;
            access::run(&config, cmd)
        }
        Command::Bench(cmd) => bench::run(&cli.location, cmd).await,
        Command::Backup { file } => backup::backup(&cli.location, &file).await,
        Command::Restore { file, force } => backup::restore(&cli.location, &file, force).await,
    }
}

async fn user_command(auth: &crate::auth::Auth, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCommand::List => {
            print_accounts(auth).await?;
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Show { username } => print_account(auth, &username).await,
        UserCommand::ResetTwoFactor {
            username,
            yes,
            reason,
        } => {
            if !yes
                && !confirm(&format!(
                    "Turn off two-factor authentication for {username}? Their methods and backup codes will be removed. [y/N] "
                ))?
            {
                eprintln!("twofold: nothing changed");
                return Ok(ExitCode::from(1));
            }
            let done = format!(
                "Two-factor authentication is off for {username}; they can log in with their password and set it up again."
            );
            act(
                auth,
                &username,
                AccountAction::ResetTwoFactor,
                reason,
                &done,
            )
            .await
        }
        UserCommand::Disable { username, reason } => {
            let done = format!("{username} is disabled; every session of the account has ended.");
            act(auth, &username, AccountAction::Disable, reason, &done).await
        }
        UserCommand::Enable { username, reason } => {
            let done = format!("{username} is enabled and can log in again.");
            act(auth, &username, AccountAction::Enable, reason, &done).await
        }
        UserCommand::Logout { username, reason } => {
            act(auth, &username, AccountAction::LogOut, reason, "").await
        }
        UserCommand::GrantAdmin { username, reason } => {
            let done =
                format!("{username} is an admin: they can use /admin after a two-factor login.");
            act(auth, &username, AccountAction::GrantAdmin, reason, &done).await
        }
        UserCommand::RevokeAdmin { username, reason } => {
            let done = format!("{username} is no longer an admin.");
            act(auth, &username, AccountAction::RevokeAdmin, reason, &done).await
        }
        UserCommand::Delete {
            username,
            yes,
            reason,
        } => {
            if !yes
                && !confirm(&format!(
                    "Delete {username} and everything kept about the account? This cannot be undone. [y/N] "
                ))?
            {
                eprintln!("twofold: nothing changed");
                return Ok(ExitCode::from(1));
            }
            let done =
                format!("{username} is deleted; every session and app token of it has ended.");
            act(auth, &username, AccountAction::Delete, reason, &done).await
        }
    }
}

/// Does an action on an account as the operator, through the console's use case (the same
/// lifecycle, notices and audit trail), and says how it went.
async fn act(
    auth: &crate::auth::Auth,
    username: &str,
    action: AccountAction,
    reason: Option<String>,
    done: &str,
) -> anyhow::Result<ExitCode> {
    let who = Actor::cli(&operator_name());
    match auth
        .console()
        .act(&who, username, action, reason.as_deref(), true)
        .await
    {
        Ok(Some(n)) => {
            println!(
                "{username} is logged out everywhere ({n} session{} ended).",
                if n == 1 { "" } else { "s" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) => {
            println!("{done}");
            Ok(ExitCode::SUCCESS)
        }
        Err(AuthError::NotFound) => {
            eprintln!(
                "twofold: no account is called {username:?}; `twofold user list` shows them all"
            );
            Ok(ExitCode::from(2))
        }
        Err(e @ AuthError::Console(_)) => {
            eprintln!("twofold: {}", crate::http::error::message(&e));
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// `twofold user list`.
async fn print_accounts(auth: &crate::auth::Auth) -> anyhow::Result<()> {
    let accounts = auth.operator().list_accounts().await?;
    println!("{:<30}  {:<9}  {:<24}  ID", "USERNAME", "STATUS", "CREATED");
    for a in &accounts {
        let status = if a.disabled_at.is_some() {
            "disabled"
        } else {
            "active"
        };
        println!(
            "{:<30}  {:<9}  {:<24}  {}",
            a.username,
            status,
            a.created_at.human(),
            a.id
        );
    }
    println!(
        "{} account{}",
        accounts.len(),
        if accounts.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

/// `twofold user show USERNAME`.
async fn print_account(auth: &crate::auth::Auth, username: &str) -> anyhow::Result<ExitCode> {
    let Some(r) = auth.operator().account_report(username).await? else {
        eprintln!("twofold: no account is called {username:?}; `twofold user list` shows them all");
        return Ok(ExitCode::from(2));
    };
    let a = &r.account;
    println!("username:       {}", a.username);
    println!("id:             {}", a.id);
    println!("created:        {}", a.created_at.human());
    match a.disabled_at {
        Some(t) => println!("status:         disabled since {}", t.human()),
        None => println!("status:         active"),
    }
    println!("wrong passwords in a row: {}", r.wrong_passwords);
    match &r.two_factor {
        Some((since, methods, left)) => println!(
            "two-factor:     on since {} ({}; {left} backup codes left)",
            since.human(),
            methods.join(", ")
        ),
        None => println!("two-factor:     off"),
    }
    println!("sessions:       {}", r.sessions);
    println!("recent activity:");
    for e in &r.activity {
        let what = match &e.detail {
            Some(d) => format!("{} ({d})", EventKind::describe(&e.kind)),
            None => EventKind::describe(&e.kind).to_owned(),
        };
        // Operator changes have no address; their user agent names the operator.
        let from =
            e.ip.as_ref()
                .or(e.user_agent.as_ref())
                .cloned()
                .unwrap_or_default();
        println!("  {}  {what:<60} {from}", e.at.human());
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks a yes/no question on the terminal; without a terminal the answer is no (use `--yes`).
fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        eprintln!("twofold: no terminal to confirm on; pass --yes to do it anyway");
        return Ok(false);
    }
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
