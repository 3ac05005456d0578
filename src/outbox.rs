//! The outbox files of the development providers (`sms-outbox.jsonl`, `mail-outbox.jsonl`):
//! one JSON object per line, appended whole under a lock, so that concurrent messages never
//! interleave and a reader always sees complete lines.

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// An append-only JSON-lines file.
pub struct JsonLines {
    path: PathBuf,
    lock: Mutex<()>,
}

impl JsonLines {
    /// The file at `path` (created on the first line).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }

    /// Appends `value` as one line.
    ///
    /// # Errors
    /// A message naming the file when it cannot be opened or written.
    pub async fn append(&self, value: &serde_json::Value) -> Result<(), String> {
        let mut bytes = value.to_string().into_bytes();
        bytes.push(b'\n');
        let _guard = self.lock.lock().await;
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| format!("outbox {}: {e}", self.path.display()))?;
        f.write_all(&bytes).await.map_err(|e| e.to_string())?;
        f.flush().await.map_err(|e| e.to_string())
    }
}
