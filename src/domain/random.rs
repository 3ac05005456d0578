//! Randomness for secrets comes straight from the operating system's generator
//! (`getrandom`), as NIST SP 800-63B §5.1.2.1/§5.1.3.1 and OWASP ASVS 4.0.3 V6.3 ask for
//! codes, tokens and keys. A failing OS generator is fatal: no secret is made without it.

use rand::RngExt;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;

/// The OS random generator, as an infallible `Rng` (it panics if the OS cannot give
/// randomness, which no login should survive).
pub fn os_rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

/// `N` bytes from the OS generator in one call. (`os_rng().random::<[u8; N]>()` would draw
/// each byte from a 4-byte call of its own: 48 system calls for a session's id and token.)
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    os_rng().fill(&mut bytes[..]);
    bytes
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

    #[test]
    fn random_bytes_fill_every_byte_and_differ() {
        let a: [u8; 64] = super::random_bytes();
        let b: [u8; 64] = super::random_bytes();
        assert_ne!(a, b);
        // Each byte is random, not only the first few: over 64 draws, no position stays 0.
        let mut seen = [0u8; 64];
        for _ in 0..64 {
            let c: [u8; 64] = super::random_bytes();
            for (s, x) in seen.iter_mut().zip(c) {
                *s |= x;
            }
        }
        assert!(seen.iter().all(|&s| s != 0), "{seen:?}");
    }
}
