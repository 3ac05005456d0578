//! `twofold group …`: groups for apps (the `groups` claim) and forward authentication
//! (`group:NAME`), each change in the audit trail with the OS user who made it.

use std::process::ExitCode;

use clap::Subcommand;

use crate::auth::{Actor, Auth, AuthError};

#[derive(Debug, Subcommand)]
pub(super) enum GroupCommand {
    /// Make a group (a–z, 0–9, '.', '_', '-'; at most 64).
    Add {
        /// The group's name.
        name: String,
    },
    /// Remove a group (its members stay, without it).
    Remove {
        /// The group's name.
        name: String,
    },
    /// Put an account in a group.
    AddMember {
        /// The group's name.
        name: String,
        /// The username.
        username: String,
    },
    /// Take an account out of a group.
    RemoveMember {
        /// The group's name.
        name: String,
        /// The username.
        username: String,
    },
    /// List the groups and their members.
    List {
        /// As JSON: `[{"name","members":[username…]}]`.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn run(auth: &Auth, who: &Actor, cmd: GroupCommand) -> anyhow::Result<ExitCode> {
    let groups = auth.groups();
    let (result, done) = match &cmd {
        GroupCommand::Add { name } => (
            groups.add(who, name).await.map(|_| ()),
            format!("Group {} made.", name.trim().to_ascii_lowercase()),
        ),
        GroupCommand::Remove { name } => (
            groups.remove(who, name).await,
            format!("Group {name} removed."),
        ),
        GroupCommand::AddMember { name, username } => (
            groups.set_member(who, name, username, true).await,
            format!("{username} is in {name}."),
        ),
        GroupCommand::RemoveMember { name, username } => (
            groups.set_member(who, name, username, false).await,
            format!("{username} is not in {name}."),
        ),
        GroupCommand::List { json } => {
            let list = groups.list().await?;
            if *json {
                let out: Vec<_> = list
                    .iter()
                    .map(|g| serde_json::json!({"name": g.name, "members": g.members}))
                    .collect();
                println!("{}", serde_json::to_string(&out)?);
            } else {
                for g in &list {
                    println!("{:<30}  {}", g.name, g.members.join(", "));
                }
                println!(
                    "{} group{}",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" }
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    match result {
        Ok(()) => {
            println!("{done}");
            Ok(ExitCode::SUCCESS)
        }
        Err(AuthError::NotFound) => {
            eprintln!(
                "twofold: no such group or user; `twofold group list` and `twofold user list` show them"
            );
            Ok(ExitCode::from(2))
        }
        Err(e @ (AuthError::Console(_) | AuthError::InvalidGroupName(_))) => {
            eprintln!("twofold: {}", crate::http::error::message(&e));
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
