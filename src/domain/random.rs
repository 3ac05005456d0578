//! Randomness for secrets comes straight from the operating system's generator
//! (`getrandom`), as NIST SP 800-63B §5.1.2.1/§5.1.3.1 and OWASP ASVS 4.0.3 V6.3 ask for
//! codes, tokens and keys. A failing OS generator is fatal: no secret is made without it.

use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;

/// The OS random generator, as an infallible `Rng` (it panics if the OS cannot give
/// randomness, which no login should survive).
pub fn os_rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    #[test]
    fn draws_differ() {
        let a: [u8; 32] = super::os_rng().random();
        let b: [u8; 32] = super::os_rng().random();
        assert_ne!(a, b);
    }
}
