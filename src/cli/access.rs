//! `twofold access check`: which forward-authentication rule a URL meets, and why, for an
//! operator debugging `[access_control]` (it reads the configuration only, no database).

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;
use crate::domain::{AccessTarget, Policy};

/// `twofold access …`.
#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Show which rule of [access_control] a request meets, and why.
    Check {
        /// The URL a browser asks the protected site for, like https://wiki.example.com/admin.
        #[arg(long)]
        url: String,
        /// Who asks (a username); without it, an anonymous visitor.
        #[arg(long)]
        user: Option<String>,
        /// The HTTP method.
        #[arg(long, default_value = "GET")]
        method: String,
    },
}

/// Runs it on the resolved configuration.
///
/// # Errors
/// When the URL cannot be read.
pub fn run(config: &Config, cmd: AccessCommand) -> anyhow::Result<ExitCode> {
    let AccessCommand::Check { url, user, method } = cmd;
    let parsed = url::Url::parse(&url).map_err(|e| {
        anyhow::anyhow!(
            "--url {url:?} is not a URL ({e}); write it like https://wiki.example.com/path"
        )
    })?;
    let target = AccessTarget::from_url(&parsed, &method).ok_or_else(|| {
        anyhow::anyhow!("--url {url:?} must be http(s)://host/… without a user name in it")
    })?;
    let rules = &config.access_control;
    println!(
        "{} {}{} as {}",
        target.method,
        target.host,
        target.path_and_query,
        user.as_deref().map_or_else(
            || "an anonymous visitor".to_owned(),
            |u| format!("user:{u}")
        )
    );
    if rules.rules.is_empty() {
        println!("no rules are configured ([[access_control.rules]] in the TOML file)");
    }
    for line in rules.explain(&target, user.as_deref()) {
        println!("  {line}");
    }
    let verdict = match user.as_deref() {
        Some(u) => match rules.decide(&target, u).policy {
            Policy::Bypass => "allowed, no login needed".to_owned(),
            Policy::OneFactor => format!("allowed for {u} once logged in"),
            Policy::TwoFactor => format!("allowed for {u} after a login with a second factor"),
            Policy::Deny => format!("denied to {u} (403)"),
        },
        None => match rules.decide_anonymous(&target) {
            crate::domain::AnonymousDecision::Known(d) => match d.policy {
                Policy::Bypass => "allowed, no login needed".to_owned(),
                Policy::Deny => "denied to everyone (403)".to_owned(),
                Policy::OneFactor => "log in first (302 to the login page, or 401)".to_owned(),
                Policy::TwoFactor => {
                    "log in first, with a second factor (302 to the login page, or 401)".to_owned()
                }
            },
            crate::domain::AnonymousDecision::NeedsIdentity => {
                "log in first: a rule for named users may apply".to_owned()
            }
        },
    };
    println!("→ {verdict}");
    Ok(ExitCode::SUCCESS)
}
