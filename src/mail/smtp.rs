//! The `smtp` provider, with lettre: `smtp://host:port` requires STARTTLS (only a relay on
//! this machine may go without it), `smtps://host:port` is TLS from the first byte;
//! `user:pass@` in the URL logs in.
//! Every message has a plain-text part and an HTML part.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Tls, TlsParameters};

use crate::domain::is_loopback_host;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{MailError, MailSender, Message};
use crate::domain::Email;

/// Sends through one SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `url` (`smtp[s]://[user:pass@]host[:port]`) sending as `from`, giving up
    /// on a connection or command after `timeout`.
    ///
    /// # Errors
    /// A message naming what is wrong with the URL or the sender address (never the
    /// password).
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|_| {
            "--smtp-url is not a URL; write it like smtp://mail.example.com:587".to_owned()
        })?;
        let host = parsed
            .host_str()
            .ok_or("--smtp-url names no host")?
            .to_owned();
        let tls =
            |h: &str| TlsParameters::new(h.to_owned()).map_err(|e| format!("TLS for {h}: {e}"));
        let builder = match parsed.scheme() {
            "smtps" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                .port(parsed.port().unwrap_or(465))
                .tls(Tls::Wrapper(tls(&host)?)),
            // Codes and reset links never cross a network in clear (ASVS 4.0.3 9.2.2):
            // STARTTLS is required unless the relay is on this machine.
            "smtp" if is_loopback_host(&host) => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                    .port(parsed.port().unwrap_or(587))
                    .tls(Tls::Opportunistic(tls(&host)?))
            }
            "smtp" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                .port(parsed.port().unwrap_or(587))
                .tls(Tls::Required(tls(&host)?)),
            other => {
                return Err(format!(
                    "--smtp-url must start with smtp:// or smtps://, not {other}://"
                ));
            }
        };
        let builder = if parsed.username().is_empty() {
            builder
        } else {
            let user = percent(parsed.username());
            let pass = percent(parsed.password().unwrap_or(""));
            builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                user, pass,
            ))
        };
        let from: Mailbox = from
            .parse()
            .map_err(|_| format!("--mail-from {from:?} is not an email address"))?;
        Ok(Self {
            transport: builder.timeout(Some(timeout)).build(),
            from,
        })
    }
}

fn percent(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl MailSender for SmtpMailer {
    async fn send(&self, to: &Email, m: &Message) -> Result<(), MailError> {
        let to: Mailbox = to
            .as_str()
            .parse()
            .map_err(|_| MailError::Refused("the address cannot be written in a message".into()))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                m.text.clone(),
                m.html.clone(),
            ))
            .map_err(|e| MailError::Refused(e.to_string()))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() || e.is_transient() => Err(MailError::Refused(
                e.status()
                    .map_or_else(|| "an SMTP error".to_owned(), |c| format!("SMTP {c}")),
            )),
            Err(e) if e.is_timeout() => Err(MailError::Timeout(Duration::ZERO)),
            Err(e) => Err(MailError::Unreachable(e.to_string())),
        }
    }
}
