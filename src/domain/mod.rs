//! Pure types of Twofold's vocabulary, parsed at the boundary.
//!
//! Owns: the rules for what a username or password may be, typed ids, times, activity kinds.
//! Must not: touch the database, HTTP or the clock.

mod activity;
mod ids;
mod password;
mod time;
mod username;

pub use activity::{ClientInfo, EventKind, describe_user_agent};
pub use ids::{AccountId, SessionId};
pub use password::{Password, PasswordError};
pub use time::UnixTime;
pub use username::{Username, UsernameError};
