//! The `outbox` provider (development and tests): each message is appended as one JSON line
//! `{"to","subject","body","html","sent_at"}` to `<data-dir>/mail-outbox.jsonl`.

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::{MailError, MailSender, Message};
use crate::clock::Clock;
use crate::domain::Email;

/// Appends messages to a JSON-lines file.
pub struct OutboxMailer {
    path: PathBuf,
    clock: std::sync::Arc<dyn Clock>,
    lock: Mutex<()>,
}

impl OutboxMailer {
    /// An outbox at `path`.
    pub fn new(path: PathBuf, clock: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            path,
            clock,
            lock: Mutex::new(()),
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
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        let _guard = self.lock.lock().await;
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| MailError::Unreachable(format!("outbox {}: {e}", self.path.display())))?;
        f.write_all(&bytes)
            .await
            .map_err(|e| MailError::Unreachable(e.to_string()))?;
        f.flush()
            .await
            .map_err(|e| MailError::Unreachable(e.to_string()))?;
        Ok(())
    }
}
