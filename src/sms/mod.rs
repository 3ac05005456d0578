//! Text messages: a narrow seam ([`SmsSender`]) with three providers chosen in the
//! configuration, and the wording of every message Twofold sends.
//!
//! Must not: log a code or a whole phone number. Sending has a timeout, so a slow gateway
//! never holds a request for long.

mod http;
mod outbox;
mod twilio;

use std::sync::Arc;
use std::time::Duration;

pub use http::HttpSender;
pub use outbox::OutboxSender;
pub use twilio::TwilioSender;

use crate::delivery::{Channel, Delivery};
use crate::domain::{OtpCode, PhoneNumber};

/// Why a message was not sent. The text may name the provider's HTTP status, never the
/// message body (which can hold a code).
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The provider did not answer in time.
    #[error("the SMS provider did not answer within {0:?}")]
    Timeout(Duration),
    /// The provider refused the message.
    #[error("the SMS provider refused the message (HTTP {0})")]
    Refused(u16),
    /// The provider could not be reached or the outbox could not be written.
    #[error("the SMS provider could not be reached: {0}")]
    Unreachable(String),
}

/// Sends a text message.
#[async_trait::async_trait]
pub trait SmsSender: Send + Sync + 'static {
    /// Sends `body` to `to`.
    ///
    /// # Errors
    /// [`SmsError`] when the provider fails, refuses or times out.
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<(), SmsError>;
}

/// Wraps a sender with a timeout and logging that shows only the masked number.
#[derive(Clone)]
pub struct Sms {
    inner: Arc<dyn SmsSender>,
    delivery: Delivery,
}

impl Sms {
    /// A sender that gives up after `timeout` and counts each message into `metrics` under
    /// its `provider`'s name.
    pub fn new(
        inner: Arc<dyn SmsSender>,
        timeout: Duration,
        provider: &'static str,
        metrics: crate::metrics::Metrics,
    ) -> Self {
        Self {
            inner,
            delivery: Delivery::new(Channel::Text, timeout, provider, metrics),
        }
    }

    /// Sends a message; failures are logged (masked number, no body) and returned.
    ///
    /// # Errors
    /// [`SmsError`] when it was not sent.
    pub async fn send(
        &self,
        to: &PhoneNumber,
        body: &str,
        what: &'static str,
    ) -> Result<(), SmsError> {
        self.delivery
            .run(
                &to.masked(),
                what,
                self.inner.send(to, body),
                SmsError::Timeout,
            )
            .await
    }
}

/// "123456 is your Twofold security code. Don't share it." and the origin-bound line
/// `@host #123456` (the format browsers and phones use to offer the code for autofill).
pub fn code_message(code: &OtpCode, host: &str) -> String {
    let c = code.digits();
    format!("{c} is your Twofold security code. Don't share it.\n\n@{host} #{c}")
}

/// A texted password reset code ("Forgot password?", for an account without an email
/// address); like login codes it names the site in the origin-bound last line.
pub fn recovery_code_message(code: &OtpCode, host: &str) -> String {
    let c = code.digits();
    format!(
        "{c} is your Twofold password reset code. Don't share it: nobody from Twofold will ask for it.\n\n@{host} #{c}"
    )
}

/// A notice about a change to the account's security, texted to the phone that was on it
/// (OWASP ASVS 4.0.3 V2.2.3, V2.5.5): what happened (`what`, "The password was changed"),
/// to which account, when and from where, and the security page when it is known.
pub fn notice_message(what: &str, username: &str, when_where: &str, page: Option<&str>) -> String {
    let mut what = what.to_owned();
    if let Some(first) = what.get_mut(0..1) {
        first.make_ascii_lowercase();
    }
    let check = page.map_or_else(|| ".".to_owned(), |p| format!(": {p}"));
    format!(
        "Twofold: {what} on your account @{username}, {when_where}. If this wasn't you, change your password and check your security settings now{check}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_messages_carry_the_code_first_and_in_the_origin_line() {
        let code = OtpCode::parse("042917").unwrap();
        let m = code_message(&code, "auth.example.com");
        assert!(m.starts_with("042917 is your Twofold security code. Don't share it."));
        assert!(m.ends_with("\n@auth.example.com #042917"));
        let first_run: String = m
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        assert_eq!(first_run, "042917");
    }

    #[test]
    fn notices_have_no_six_digit_runs() {
        let m = notice_message(
            "Two-factor authentication was turned off",
            "alice",
            "on 2 Dec 2026, 18:20 UTC from 203.0.113.7",
            Some("https://auth.example.com/settings/security"),
        );
        assert!(m.starts_with(
            "Twofold: two-factor authentication was turned off on your account @alice, on 2 Dec"
        ));
        assert!(m.ends_with("settings now: https://auth.example.com/settings/security"));
        assert!(
            !m.chars()
                .collect::<Vec<_>>()
                .windows(6)
                .any(|w| w.iter().all(char::is_ascii_digit))
        );
    }
}
