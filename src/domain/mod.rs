//! Pure types of Twofold's vocabulary, parsed at the boundary.
//!
//! Owns: the rules for what a username or password may be, typed ids, times, activity kinds,
//! session kinds, wait wording — and the one capability the types need, the OS random
//! generator that fresh ids and codes come from.
//! Must not: touch the database, HTTP or the clock, or import any other layer of Twofold.

mod access;
mod activity;
mod codes;
mod console;
mod email;
mod group;
mod ids;
mod invitation;
mod lifecycle;
mod loopback;
mod passkey;
mod password;
mod phone;
mod random;
mod session;
mod time;
mod two_factor;
mod user_code;
mod username;

pub use access::{
    AccessControl, AccessRule, AccessTarget, AnonymousDecision, Decision, DomainPattern,
    PathRefusal, Policy, UnknownPolicy, canonical_path,
};
pub use activity::{ClientInfo, EventKind, describe_user_agent, notice_when_where};
pub use codes::{BackupCode, CodeError, OtpCode};
pub use console::{AuditFilter, AuditRecord, ConsoleCounts, GroupRecord};
pub use email::{Email, EmailError};
pub use group::{GroupName, GroupNameError};
pub use ids::{
    AccountId, BatchId, ChallengeId, GroupId, InvitationId, PasskeyId, RecoveryId, SessionId,
};
pub use invitation::{
    INVITATION_SECS, InvitationRecord, InvitationState, SignUpMode, UnknownSignUpMode,
};
pub use lifecycle::{CredentialEvent, Ends};
pub use loopback::is_loopback_host;
pub use passkey::{PASSKEY_NAME_MAX, PasskeyName, PasskeyNameError};
pub use password::{
    MAX_PASSWORD_LEN, MIN_STRENGTH, Password, PasswordContext, PasswordError, strength,
};
pub use phone::{PhoneError, PhoneNumber};
pub use random::{os_rng, random_bytes};
pub use session::{SessionKind, UnknownSessionKind};
pub use time::{UnixTime, wait_text};
pub use two_factor::{ACR_VALUES, FirstFactor, Method, UnknownMethod, acr, amr};
pub use user_code::{UserCode, UserCodeError};
pub use username::{Username, UsernameError};
