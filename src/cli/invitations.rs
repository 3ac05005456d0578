//! `twofold invite …`: invitations for `--sign-up invite` (issue 25) — made, listed and
//! revoked by the operator, each in the audit trail with the OS user who acted. The link is
//! printed once; only its SHA-256 is kept.

use std::process::ExitCode;

use clap::Subcommand;

use crate::auth::{Actor, Auth, AuthError};
use crate::domain::{InvitationState, UnixTime};

#[derive(Debug, Subcommand)]
pub(super) enum InviteCommand {
    /// Make an invitation link: single use, 7 days.
    Create {
        /// Bind it to this address (the account gets it, confirmed).
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
        /// Put the new account in this group.
        #[arg(long, value_name = "NAME")]
        group: Option<String>,
        /// Twofold's public address, for the link (else the TOML file's public_url).
        #[arg(long, env = "TWOFOLD_PUBLIC_URL", value_name = "URL")]
        public_url: Option<String>,
        /// As JSON: `{"url","id","expires_at"}`.
        #[arg(long)]
        json: bool,
    },
    /// List the newest invitations: open, used and expired.
    List {
        /// As JSON: `[{"id","email","group","created_by","created_at","expires_at","state","used_by"}]`.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an unused invitation: its link stops working at once.
    Revoke {
        /// The invitation's id (`inv_…`, from `twofold invite list`).
        id: String,
    },
}

fn state_word(s: InvitationState) -> &'static str {
    match s {
        InvitationState::Open => "open",
        InvitationState::Used => "used",
        InvitationState::Expired => "expired",
    }
}

pub(super) async fn run(auth: &Auth, who: &Actor, cmd: InviteCommand) -> anyhow::Result<ExitCode> {
    let invitations = auth.invitations();
    let result = match cmd {
        InviteCommand::Create {
            email,
            group,
            public_url,
            json,
        } => match invitations
            .create(who, email.as_deref(), group.as_deref())
            .await
        {
            Ok(link) => {
                let url = match (link.url.starts_with('/'), public_url) {
                    (true, Some(base)) => format!("{}{}", base.trim_end_matches('/'), link.url),
                    _ => link.url,
                };
                if json {
                    let out = serde_json::json!({
                        "url": url,
                        "id": link.record.id,
                        "expires_at": link.record.expires_at,
                    });
                    println!("{out}");
                } else {
                    println!("{url}");
                    eprintln!(
                        "Invitation {} works once, until {}. Send the link to the person; it is not shown again.",
                        link.record.id,
                        UnixTime(link.record.expires_at).human()
                    );
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
        InviteCommand::List { json } => {
            let list = invitations.list().await?;
            let now = auth.now().0;
            if json {
                let out: Vec<_> = list
                    .iter()
                    .map(|i| {
                        serde_json::json!({
                            "id": i.id, "email": i.email, "group": i.group,
                            "created_by": i.created_by, "created_at": i.created_at,
                            "expires_at": i.expires_at, "state": state_word(i.state(now)),
                            "used_by": i.used_by,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string(&out)?);
            } else {
                for i in &list {
                    println!(
                        "{:<36}  {:<8}  {:<30}  {:<16}  by {}",
                        i.id,
                        state_word(i.state(now)),
                        i.email.as_deref().unwrap_or("-"),
                        i.group.as_deref().unwrap_or("-"),
                        i.created_by
                    );
                }
                println!(
                    "{} invitation{}",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" }
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        InviteCommand::Revoke { id } => invitations.revoke(who, &id).await.map(|()| {
            println!("Invitation {id} revoked.");
        }),
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(AuthError::NotFound) => {
            eprintln!(
                "twofold: no unused invitation has that id; `twofold invite list` shows them"
            );
            Ok(ExitCode::from(2))
        }
        Err(
            e @ (AuthError::Console(_)
            | AuthError::InvalidGroupName(_)
            | AuthError::InvalidEmail(_)),
        ) => {
            eprintln!("twofold: {}", crate::http::error::message(&e));
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
