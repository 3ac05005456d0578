//! Twofold: a self-hosted account-security server.
//!
//! Layers point one way: `http` → `auth` → {`domain`, `store`, `crypto`, `sms`, `mail`,
//! `clock`};
//! `tests/layering.rs` fails when an import runs the other way.
//! `main.rs` only parses the command line and calls [`cli::run`].

// Production code neither unwraps nor panics: every failure is an error a caller handles
// (unit tests may).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod outbox;
pub mod server;
pub mod sms;
pub mod store;

/// Installs the TLS crypto provider (ring) that outgoing HTTPS (SMS gateways) uses. Call it
/// once before building an HTTP client; later calls do nothing.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Makes glibc give large freed blocks (argon2's working memory) straight back to the
/// system, so an idle server stays small after a burst of logins. Call it first thing.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called at start-up before
    // other threads exist, and M_MMAP_THRESHOLD = 1 MiB is a valid value.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
