//! What each OpenID Connect scope lets an app see, in the words people read: on the consent
//! page (`oidc`) and on "Connected apps" (`web`).

/// What each scope lets an app see, in words.
pub(crate) fn scope_words(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "profile" => "Your username",
        "phone" => "Your verified phone number",
        "email" => "Your email address, once you add one",
        "groups" => "The groups you are in",
        _ => return None,
    })
}
