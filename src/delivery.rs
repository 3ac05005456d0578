//! What the text-message and mail senders share: a time limit on each message, a count per
//! provider and outcome, and one log line naming the masked destination — never the message,
//! which holds codes and links.
//!
//! Owns: that wrapping, written once. Must not: know any provider or message wording.

use std::future::Future;
use std::time::Duration;

/// Which channel a [`Delivery`] serves: how it is counted and named in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Text messages.
    Text,
    /// Email.
    Email,
}

/// The time limit, the provider's name and the metrics a sender delivers under.
#[derive(Clone)]
pub struct Delivery {
    channel: Channel,
    timeout: Duration,
    provider: &'static str,
    metrics: crate::metrics::Metrics,
}

impl Delivery {
    /// Deliveries on `channel` through `provider`, each given up after `timeout`.
    pub fn new(
        channel: Channel,
        timeout: Duration,
        provider: &'static str,
        metrics: crate::metrics::Metrics,
    ) -> Self {
        Self {
            channel,
            timeout,
            provider,
            metrics,
        }
    }

    /// Runs `send` within the time limit (a late one is `timed_out(limit)`), counts the
    /// outcome and logs it with `to` (already masked) and `what` the message was.
    ///
    /// # Errors
    /// The sender's error, or the time limit's.
    pub async fn run<E: std::fmt::Display>(
        &self,
        to: &str,
        what: &'static str,
        send: impl Future<Output = Result<(), E>>,
        timed_out: impl FnOnce(Duration) -> E,
    ) -> Result<(), E> {
        let result = match tokio::time::timeout(self.timeout, send).await {
            Ok(r) => r,
            Err(_) => Err(timed_out(self.timeout)),
        };
        let noun = match self.channel {
            Channel::Text => {
                self.metrics.text(self.provider, result.is_ok());
                "a text message"
            }
            Channel::Email => {
                self.metrics.email(self.provider, result.is_ok());
                "an email"
            }
        };
        match &result {
            Ok(()) => tracing::info!(to, what, "sent {noun}"),
            Err(e) => tracing::warn!(to, what, error = %e, "could not send {noun}"),
        }
        result
    }
}
