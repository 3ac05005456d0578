//! Twofold: a self-hosted account-security server.
//!
//! Layers point one way: `http` → `auth` → {`domain`, `store`, `crypto`, `clock`}.
//! `main.rs` only parses the command line and calls [`cli::run`].

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod http;
pub mod server;
pub mod store;
