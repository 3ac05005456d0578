//! What a batch of backup codes says about itself wherever it goes — copied, downloaded,
//! saved as a picture or printed: the service, whose codes they are, the server they work
//! on, when they were made, and that each works once. A sheet found in a drawer a year later
//! must still explain itself (NIST SP 800-63B §5.1.2: look-up secrets are used once).

use crate::domain::UnixTime;
use crate::http::extract::Site;

/// The words around the codes.
pub struct CodesLabel {
    /// The account, without the `@`.
    pub username: String,
    /// The Twofold they work on: the public URL or the host the browser used.
    pub server: String,
    /// When the batch was made, as people read dates.
    pub made: String,
}

/// The first line of advice under the codes.
pub const WORKS_ONCE: &str = "Each code works once. Getting new codes cancels these.";
/// The second.
pub const KEEP_SAFE: &str = "Keep them somewhere safe, away from your phone.";

impl CodesLabel {
    /// The label of `username`'s batch made at `made`, on `site`.
    pub fn new(username: &str, site: Site, made: UnixTime) -> Self {
        Self {
            username: username.to_owned(),
            server: site.0,
            made: made.human(),
        }
    }

    /// "Twofold backup codes for @alice".
    pub fn title(&self) -> String {
        format!("Twofold backup codes for @{}", self.username)
    }

    /// "127.0.0.1:8080 · made 2 Dec 2026".
    pub fn subtitle(&self) -> String {
        format!("{} · made {}", self.server, self.made)
    }

    /// The codes as text, one a line between the label and the advice: what "Copy codes"
    /// puts on the clipboard (the unused ones) and what the page's "Download" saves (all,
    /// used ones marked).
    pub fn text<'a>(&self, codes: impl IntoIterator<Item = (&'a str, bool)>) -> String {
        let mut out = format!("{}\n{}\n\n", self.title(), self.subtitle());
        for (code, used) in codes {
            out.push_str(code);
            if used {
                out.push_str(" (used)");
            }
            out.push('\n');
        }
        out.push('\n');
        out.push_str(WORKS_ONCE);
        out.push('\n');
        out.push_str(KEEP_SAFE);
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_says_what_the_codes_are() {
        let label = CodesLabel {
            username: "alice".into(),
            server: "auth.example.com".into(),
            made: "2 Dec 2026".into(),
        };
        let text = label.text([("1234 5678", false), ("8765 4321", true)]);
        assert_eq!(
            text,
            "Twofold backup codes for @alice\nauth.example.com · made 2 Dec 2026\n\n\
             1234 5678\n8765 4321 (used)\n\n\
             Each code works once. Getting new codes cancels these.\n\
             Keep them somewhere safe, away from your phone.\n"
        );
    }
}
