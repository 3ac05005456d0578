//! `twofold client add|list|remove|rotate-secret` and `twofold oidc rotate-key`: the apps
//! that sign their users in with Twofold, and the keys their ID tokens are signed with. Every
//! change is in the audit trail with the OS user who made it, as the console's are.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;

use crate::auth::oidc::{NewClient, Oidc, OidcClient};
use crate::auth::{Actor, Auth, AuthError};
use crate::clock::SystemClock;
use crate::config::{Config, Location, Overrides};

#[derive(Debug, Subcommand)]
pub(super) enum ClientCommand {
    /// Register an app. Prints its client_id and, for a confidential app, its secret (shown
    /// once; only a hash is kept).
    Add {
        /// The name people see on the consent page.
        #[arg(long)]
        name: String,
        /// Where the app receives the code, exactly as it sends it (repeat for several).
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may send the browser back (repeat for several).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// A public app (single-page, mobile, command line): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// Only users who completed two factors get in; others set 2FA up first.
        #[arg(long)]
        require_two_factor: bool,
        /// Don't ask users for consent (for the organisation's own apps).
        #[arg(long)]
        skip_consent: bool,
        /// What the app may receive, space-separated; offline_access (refresh tokens)
        /// only when listed [default: "openid profile email phone"].
        #[arg(long, value_name = "SCOPES")]
        scopes: Option<String>,
        /// Admit a confidential app that cannot send PKCE (legacy; every other app must).
        #[arg(long)]
        allow_no_pkce: bool,
        /// Where the app takes its back-channel logout tokens (https, or http to a loopback
        /// host): every end of a session it holds tokens from is POSTed there.
        #[arg(long, value_name = "URI")]
        backchannel_logout_uri: Option<String>,
        /// The app may use the device authorization grant (TVs, command-line tools): the
        /// person approves it at /device with the code it shows.
        #[arg(long)]
        device: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the registered apps.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an app: its tokens stop working and its users' consents go.
    Remove {
        /// The client_id.
        client_id: String,
        /// Why, for the audit trail.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Give a confidential app a new secret; the old one stops working at once.
    RotateSecret {
        /// The client_id.
        client_id: String,
        /// Why, for the audit trail.
        #[arg(long)]
        reason: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum OidcCommand {
    /// Make a new signing key; the old one stays published until what it signed expires.
    RotateKey,
}

/// Opens the provider on the configured database, as the admin commands do.
pub(super) async fn open(location: &Location) -> anyhow::Result<(Oidc, Auth)> {
    let config = Config::resolve(location, &Overrides::default())?;
    let (auth, _keys, _) =
        crate::server::open(&config, Arc::new(SystemClock), crate::server::Opener::Admin).await?;
    let addr = config.listen;
    Ok((crate::server::oidc_provider(&config, &auth, addr), auth))
}

fn client_json(c: &OidcClient) -> serde_json::Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "public": c.public,
        "require_two_factor": c.require_two_factor,
        "skip_consent": c.skip_consent,
        "created_at": c.created_at,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "device": c.device,
    })
}

pub(super) async fn client_command(
    oidc: &Oidc,
    who: &Actor,
    cmd: ClientCommand,
) -> anyhow::Result<ExitCode> {
    match cmd {
        ClientCommand::Add {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            require_two_factor,
            skip_consent,
            scopes,
            allow_no_pkce,
            backchannel_logout_uri,
            device,
            json,
        } => {
            let new = NewClient {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                public,
                require_two_factor,
                skip_consent,
                scopes: scopes.map(|s| s.split_ascii_whitespace().map(str::to_owned).collect()),
                allow_no_pkce,
                backchannel_logout_uri,
                device,
                known_scopes_only: false,
            };
            match oidc.clients().add_client(who, &new).await {
                Ok(made) => {
                    print_secret(oidc, &made, json, false);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            }
        }
        ClientCommand::List { json } => {
            let clients = oidc.clients().list_clients().await?;
            print_clients(&clients, json);
            Ok(ExitCode::SUCCESS)
        }
        ClientCommand::Remove { client_id, reason } => {
            match oidc
                .clients()
                .remove_client(who, &client_id, reason.as_deref())
                .await
            {
                Ok(()) => {
                    println!("Removed {client_id}: its tokens no longer work.");
                    Ok(ExitCode::SUCCESS)
                }
                Err(AuthError::NotFound) => {
                    eprintln!(
                        "twofold: no client has the id {client_id:?}; `twofold client list` shows them all"
                    );
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e.into()),
            }
        }
        ClientCommand::RotateSecret {
            client_id,
            reason,
            json,
        } => match oidc
            .clients()
            .rotate_client_secret(who, &client_id, reason.as_deref())
            .await
        {
            Ok(made) => {
                print_secret(oidc, &made, json, true);
                Ok(ExitCode::SUCCESS)
            }
            Err(AuthError::NotFound) => {
                eprintln!(
                    "twofold: no client has the id {client_id:?}; `twofold client list` shows them all"
                );
                Ok(ExitCode::from(2))
            }
            Err(e) => refused(e),
        },
    }
}

/// A refusal the operator can mend: its sentence and exit code 2; anything else fails.
fn refused(e: AuthError) -> anyhow::Result<ExitCode> {
    match e {
        AuthError::InvalidClient(_) | AuthError::Console(_) => {
            eprintln!("twofold: {}", crate::http::error::message(&e));
            Ok(ExitCode::from(2))
        }
        e => Err(e.into()),
    }
}

/// What `client add` and `client rotate-secret` print: the id and, once, the secret.
fn print_secret(oidc: &Oidc, made: &crate::auth::oidc::ClientSecret, json: bool, rotated: bool) {
    let secret = made.client_secret.as_ref().map(|s| s.reveal().to_owned());
    if json {
        println!(
            "{}",
            json!({"client_id": made.client_id, "client_secret": secret})
        );
        return;
    }
    println!("client_id:     {}", made.client_id);
    match secret {
        Some(s) if rotated => {
            println!("client_secret: {s}");
            println!("The old secret no longer works; give the new one to the app now.");
            return;
        }
        Some(s) => {
            println!("client_secret: {s}");
            println!(
                "Keep the secret now: it is not shown again (`twofold client rotate-secret` makes a new one)."
            );
        }
        None => println!("A public client: no secret; the app must use PKCE (S256)."),
    }
    println!(
        "Discovery:     {}/.well-known/openid-configuration",
        oidc.issuer()
    );
}

/// What `client list` prints.
fn print_clients(clients: &[crate::auth::oidc::OidcClient], json: bool) {
    if json {
        let list: Vec<_> = clients.iter().map(client_json).collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        println!(
            "{:<26}  {:<24}  {:<12}  REDIRECT URIS",
            "CLIENT ID", "NAME", "TYPE"
        );
        for c in clients {
            let kind = if c.public { "public" } else { "confidential" };
            let mut flags = Vec::new();
            if c.require_two_factor {
                flags.push("2FA required");
            }
            if c.skip_consent {
                flags.push("no consent page");
            }
            if c.device {
                flags.push("device flow");
            }
            if c.backchannel_logout_uri.is_some() {
                flags.push("back-channel logout");
            }
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!(" ({})", flags.join(", "))
            };
            println!(
                "{:<26}  {:<24}  {:<12}  {}{flags}",
                c.client_id,
                c.name,
                kind,
                c.redirect_uris.join(" ")
            );
        }
        println!(
            "{} client{}",
            clients.len(),
            if clients.len() == 1 { "" } else { "s" }
        );
    }
}

pub(super) async fn oidc_command(oidc: &Oidc, cmd: OidcCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        OidcCommand::RotateKey => {
            let kid = oidc.keys().rotate_key().await?;
            println!(
                "New signing key {kid}: every node publishes it within {} seconds and signs with it {} seconds from now; the previous one stays in the JWKS until its tokens expire.",
                crate::auth::oidc::KEY_CACHE_SECS,
                crate::auth::oidc::PUBLISH_AHEAD_SECS,
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
