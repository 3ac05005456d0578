//! The `outbox` provider (development and tests): each message is appended as one JSON line
//! `{"to","subject","body","html","sent_at"}` to `<data-dir>/mail-outbox.jsonl`.

use std::path::PathBuf;

use super::{MailError, MailSender, Message};
use crate::clock::Clock;
use crate::domain::Email;
use crate::outbox::JsonLines;

/// Appends messages to a JSON-lines file.
pub struct OutboxMailer {
    file: JsonLines,
    clock: std::sync::Arc<dyn Clock>,
}

impl OutboxMailer {
    /// An outbox at `path`.
    pub fn new(path: PathBuf, clock: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            file: JsonLines::new(path),
            clock,
        }
    }
}

#[async_trait::async_trait]
impl MailSender for OutboxMailer {
    async fn send(&self, to: &Email, m: &Message) -> Result<(), MailError> {
        let line = serde_json::json!({
            "to": to.as_str(),
            "subject": m.subject,
            "body": m.text,
            "html": m.html,
            "sent_at": self.clock.now().rfc3339(),
        });
        self.file
            .append(&line)
            .await
            .map_err(MailError::Unreachable)
    }
}
