//! Typed ids: an account id can never be passed where a session id is expected.

macro_rules! text_id {
    ($name:ident, $prefix:literal) => {
        #[doc = concat!("A `", $prefix, "_…` id: 128 random bits, stored as text.")]
        #[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id.
            pub fn generate() -> Self {
                let bytes: [u8; 16] = crate::domain::random_bytes();
                Self(format!(concat!($prefix, "_{}"), hex::encode(bytes)))
            }

            /// Takes an id read back from the database or a URL. Ids are opaque and nothing
            /// is checked: any text is taken, and a wrong one simply matches no row.
            pub fn from_stored(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            /// The text form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(AccountId, "acc");
text_id!(SessionId, "ses");
text_id!(PasskeyId, "pk");
text_id!(RecoveryId, "rec");
text_id!(BatchId, "bat");
text_id!(ChallengeId, "chl");
text_id!(GroupId, "grp");
text_id!(InvitationId, "inv");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let a = AccountId::generate();
        let b = AccountId::generate();
        assert!(a.as_str().starts_with("acc_"));
        assert_eq!(a.as_str().len(), 4 + 32);
        assert_ne!(a, b);
        assert!(SessionId::generate().as_str().starts_with("ses_"));
    }
}
