//! Cryptographic seams: the server secret and the keys derived from it, session tokens,
//! and the password hasher.
//!
//! Must not: know about HTTP or SQL. Nothing here logs a secret.

mod jwt;
mod keys;
mod passwords;
mod seal;
mod tokens;
mod totp;

pub use jwt::{
    ALG as JWT_ALG, SigningKey, VerifyingKey, generate_rsa_pkcs8, kid_of as jwt_kid,
    verified_claims,
};
pub use keys::{Keys, create_secret, read_secret};
pub use passwords::{Argon2Params, HasherBusy, PasswordHasher, Verification};
pub use seal::{SealError, open, seal};
pub use tokens::{Token, TokenHash};
pub use totp::{STEP_SECS, TotpSecret, step_of};
