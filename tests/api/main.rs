//! Black-box API tests: each test spawns the real server on port 0 with a fresh database
//! (SQLite, or PostgreSQL when `TWOFOLD_TEST_DATABASE_URL` is set) and talks HTTP to it.

#[path = "../common/mod.rs"]
mod common;

mod account_deletion;
mod accounts;
mod backup;
mod backup_codes;
mod bad_input;
mod cli;
mod console;
mod console_apps;
mod denial_of_service;
mod deploy;
mod email;
mod forward_auth;
mod groups;
mod helpers;
mod invitations;
mod lifecycle;
mod limits;
mod limits_two_factor;
mod login_throttle;
mod metrics;
mod new_device;
mod nodes;
mod notices_crash;
mod oidc_apps;
mod oidc_bad_input;
mod oidc_codes;
mod oidc_conformance;
mod oidc_cors;
mod oidc_device;
mod oidc_flow;
mod oidc_nodes;
mod passkey_keys;
mod passkeys;
mod password_race;
mod recovery;
mod secret_key;
mod sessions;
mod shutdown;
mod sms;
mod smtp;
mod text_budget;
mod two_factor;
mod web;
mod web_two_factor;
