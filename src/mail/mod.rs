//! Email: a narrow seam ([`MailSender`]) with two providers chosen in the configuration —
//! `outbox` (a JSON-lines file, the default) and `smtp` (lettre) — and the wording of every
//! message Twofold sends by email.
//!
//! Must not: log a code, a link token or a whole address. Sending has a timeout, so a slow
//! or hung mail server never holds a request or the notice worker for long.

mod outbox;
mod smtp;

use std::sync::Arc;
use std::time::Duration;

pub use outbox::OutboxMailer;
pub use smtp::SmtpMailer;

use crate::delivery::{Channel, Delivery};
use crate::domain::Email;

/// A message: plain text, and a simple HTML part saying the same.
#[derive(Clone)]
pub struct Message {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// Why a message was not sent. The text names the server's answer, never the body.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server did not answer in time.
    #[error("the mail server did not answer within {0:?}")]
    Timeout(Duration),
    /// The server refused the message (a permanent or temporary SMTP error).
    #[error("the mail server refused the message: {0}")]
    Refused(String),
    /// The server could not be reached or the outbox could not be written.
    #[error("the mail server could not be reached: {0}")]
    Unreachable(String),
}

/// Sends an email.
#[async_trait::async_trait]
pub trait MailSender: Send + Sync + 'static {
    /// Sends `message` to `to`.
    ///
    /// # Errors
    /// [`MailError`] when the provider fails, refuses or times out.
    async fn send(&self, to: &Email, message: &Message) -> Result<(), MailError>;
}

/// Wraps a sender with a timeout and logging that shows only the masked address.
#[derive(Clone)]
pub struct Mail {
    inner: Arc<dyn MailSender>,
    delivery: Delivery,
}

impl Mail {
    /// A sender that gives up after `timeout` and counts each message into `metrics` under
    /// its `provider`'s name.
    pub fn new(
        inner: Arc<dyn MailSender>,
        timeout: Duration,
        provider: &'static str,
        metrics: crate::metrics::Metrics,
    ) -> Self {
        Self {
            inner,
            delivery: Delivery::new(Channel::Email, timeout, provider, metrics),
        }
    }

    /// Sends a message; failures are logged (masked address, no body) and returned.
    ///
    /// # Errors
    /// [`MailError`] when it was not sent.
    pub async fn send(
        &self,
        to: &Email,
        message: &Message,
        what: &'static str,
    ) -> Result<(), MailError> {
        self.delivery
            .run(
                &to.masked(),
                what,
                self.inner.send(to, message),
                MailError::Timeout,
            )
            .await
    }
}

/// Escapes text for the HTML part.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML part of a message made of paragraphs (and one link, if any), in plain markup
/// that every mail client shows the same.
pub fn html_of(paragraphs: &[String], link: Option<(&str, &str)>) -> String {
    let mut out = String::from(
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5;max-width:36em\">",
    );
    for p in paragraphs {
        out.push_str("<p>");
        out.push_str(&escape(p));
        out.push_str("</p>");
    }
    if let Some((href, words)) = link {
        out.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape(href),
            escape(words)
        ));
    }
    out.push_str("</body></html>");
    out
}

/// The email carrying a 6-digit code that confirms an address. It names the Twofold that
/// sent it (`site`), so a code can be told apart from a phishing copy.
pub fn confirm_message(code: &str, username: &str, site: &str) -> Message {
    let p = vec![
        format!("{code} is the code that confirms this address for @{username} on Twofold at {site}."),
        "Type it on the page that asked for it. It works once, for 15 minutes. If you didn't ask for it, ignore this email: nothing changes without the code.".to_owned(),
    ];
    Message {
        subject: format!("{code} is your Twofold confirmation code"),
        text: format!("{}\n\n{}\n\n-- Twofold, {site}\n", p[0], p[1]),
        html: html_of(&p, None),
    }
}

/// A security notice by email: what happened (`what`, e.g. "Your password was changed"),
/// to which account, when and from where, what to do if it wasn't the owner, and the
/// security page's address when the Twofold knows its own (`page`).
pub fn notice_message(
    what: &str,
    username: &str,
    when_where: &str,
    site: &str,
    page: Option<&str>,
) -> Message {
    let paragraphs = vec![
        format!("{what} on your Twofold account @{username}, {when_where}."),
        "If this was you, there is nothing to do.".to_owned(),
        "If it wasn't you, change your password now and check your two-factor settings and where you're logged in on the security page. If you can't log in any more, contact whoever runs this Twofold.".to_owned(),
    ];
    Message {
        subject: format!("Twofold security notice: {what}"),
        text: format!(
            "{}\n\n{}\n\n{}\n\n{}-- Twofold, {site}\n",
            paragraphs[0],
            paragraphs[1],
            paragraphs[2],
            page.map_or_else(String::new, |p| format!("Security page: {p}\n\n")),
        ),
        html: html_of(&paragraphs, page.map(|p| (p, "Open the security page"))),
    }
}

/// The email carrying a password reset link ("Forgot password?"). It names the account and
/// the Twofold that sent it, says how long the link works, and that nothing changes without
/// it (and without the second factor, when two-factor authentication is on).
pub fn recovery_message(link: &str, username: &str, site: &str) -> Message {
    let from = if site.is_empty() {
        String::new()
    } else {
        format!(" at {site}")
    };
    let p = vec![
        format!("Someone asked to reset the password of @{username} on Twofold{from}. To choose a new password, open this link:"),
        "It works once, for 30 minutes. If two-factor authentication is on, you will also need a code from your authentication app, your phone or a backup code.".to_owned(),
        "If you didn't ask for this, ignore this email: your password stays as it is. Don't forward this email: the link is for you alone.".to_owned(),
    ];
    Message {
        subject: format!("Reset your Twofold password (@{username})"),
        text: format!(
            "{}\n\n{link}\n\n{}\n\n{}\n\n-- Twofold{from}\n",
            p[0], p[1], p[2]
        ),
        html: html_of(&p, Some((link, "Choose a new password"))),
    }
}
