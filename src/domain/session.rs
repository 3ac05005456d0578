//! The two kinds of session: a browser's (a cookie) and an app's (a bearer token). A token
//! of one kind never stands in for the other.

/// A browser (cookie) or app (bearer token) session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// A browser, holding a cookie.
    Web,
    /// An app or script, holding a bearer token.
    Api,
}

/// A stored session kind that is neither `web` nor `api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown session kind")]
pub struct UnknownSessionKind;

impl SessionKind {
    /// What a login of this kind logs in to, for the log: the pages or the API.
    pub fn login_target(self) -> &'static str {
        match self {
            Self::Web => "the login page (/login)",
            Self::Api => "the API (POST /api/v1/sessions)",
        }
    }

    /// `web` or `api`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Api => "api",
        }
    }

    /// Reads a stored kind.
    ///
    /// # Errors
    /// [`UnknownSessionKind`] for anything but `web` and `api`.
    pub fn parse(s: &str) -> Result<Self, UnknownSessionKind> {
        match s {
            "web" => Ok(Self::Web),
            "api" => Ok(Self::Api),
            _ => Err(UnknownSessionKind),
        }
    }

    /// "browser" or "app", for pages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Web => "browser",
            Self::Api => "app",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in [SessionKind::Web, SessionKind::Api] {
            assert_eq!(SessionKind::parse(k.as_str()), Ok(k));
        }
        assert_eq!(SessionKind::parse("cookie"), Err(UnknownSessionKind));
    }
}
