//! Counters that limit what one party can make Twofold do: fixed-window budgets (text
//! messages, sign-ups) and wrong-password throttles. Every charge is one conditional upsert
//! in the database, so parallel requests on any number of nodes cannot overspend a budget
//! or lose a failure (a conditional update, never read-then-write).

use sqlx::Row;

use super::{NewEvent, StoreResult};
use crate::domain::UnixTime;

/// One fixed-window budget: at most `limit` uses per `window_secs` under `key`.
/// A `limit` of 0 or less means no limit (the bucket is skipped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// What is counted, e.g. `sms:to:<hash>:d`.
    pub key: String,
    /// The window's length.
    pub window_secs: i64,
    /// Uses allowed per window.
    pub limit: i64,
}

/// The outcome of spending from several budgets at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spend {
    /// Every budget had room; one use was taken from each.
    Spent,
    /// A budget was empty; nothing was taken from any of them.
    Refused {
        /// The empty budget's key.
        key: String,
        /// Seconds until it refills.
        retry_after: i64,
    },
}

const SPEND: &str = "INSERT INTO rate_buckets (key, window_start, used) VALUES ($1, $2, 1) \
     ON CONFLICT (key) DO UPDATE SET \
     used = CASE WHEN rate_buckets.window_start <= $3 THEN 1 ELSE rate_buckets.used + 1 END, \
     window_start = CASE WHEN rate_buckets.window_start <= $3 THEN $2 ELSE rate_buckets.window_start END \
     WHERE rate_buckets.window_start <= $3 OR rate_buckets.used < $4";

/// A wrong-password throttle for one attempt: the subject's running total (first) and the
/// narrower counters this attempt falls under (per address, per unknown device, per known
/// device, per session), each pausing at every multiple of its threshold.
#[derive(Clone, Debug)]
pub struct Throttle {
    /// The account id, or a keyed hash of a username that has no account.
    pub subject: String,
    /// The consecutive-failure total of the subject.
    pub total_key: String,
    /// Failures in a row after which this path is refused until the owner acts.
    pub cap: i64,
    /// The narrower counters and their thresholds.
    pub keys: Vec<(String, i64)>,
}

/// What a throttle says before a password is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleState {
    /// Go ahead; `dirty` when some counter is not zero (a success then clears them).
    Open {
        /// Some counter of the subject is above zero.
        dirty: bool,
    },
    /// Paused until then.
    Paused(UnixTime),
    /// The total reached the cap: refused until the owner acts.
    Capped,
}

/// What a recorded wrong password led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Counted; `paused_until` when this failure started a pause.
    Counted {
        /// The pause it started, if it did.
        paused_until: Option<UnixTime>,
        /// The subject's total after it.
        total: i64,
    },
    /// A pause or the cap began meanwhile: nothing was counted, and the caller answers as
    /// for a paused login whether the password was right or wrong.
    AlreadyPaused(Option<UnixTime>),
}

const COUNT_FAILURE: &str = "INSERT INTO login_throttle (key, subject, failures, locked_until, updated_at) \
     VALUES ($1, $2, 1, NULL, $3) \
     ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, updated_at = $3 \
     WHERE (login_throttle.locked_until IS NULL OR login_throttle.locked_until <= $3) \
     AND login_throttle.failures < $4 \
     RETURNING failures";

impl Throttle {
    /// Every key, the total first.
    fn all_keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.total_key.as_str()).chain(self.keys.iter().map(|(k, _)| k.as_str()))
    }

    /// The first three keys (padded with the total), for the fixed-width guard statements.
    pub(crate) fn guard_keys(&self) -> [&str; 3] {
        let mut out = [self.total_key.as_str(); 3];
        for (slot, (k, _)) in out.iter_mut().skip(1).zip(self.keys.iter()) {
            *slot = k.as_str();
        }
        out
    }
}

impl super::Limits<'_> {
    /// Takes one use from every bucket, or from none of them: one conditional upsert per
    /// bucket in one transaction.
    ///
    /// # Errors
    /// On a database failure (then nothing was spent).
    pub async fn spend(&self, buckets: &[Bucket], now: UnixTime) -> StoreResult<Spend> {
        let mut tx = self.write_tx().await?;
        for b in buckets.iter().filter(|b| b.limit > 0) {
            let took = sqlx::query(SPEND)
                .bind(b.key.as_str())
                .bind(now.0)
                .bind(now.0 - b.window_secs)
                .bind(b.limit)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if took != 1 {
                let start: Option<i64> =
                    sqlx::query_scalar("SELECT window_start FROM rate_buckets WHERE key = $1")
                        .bind(b.key.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                tx.rollback().await?;
                let retry_after = start.map_or(1, |s| s + b.window_secs - now.0).max(1);
                return Ok(Spend::Refused {
                    key: b.key.clone(),
                    retry_after,
                });
            }
        }
        tx.commit().await?;
        Ok(Spend::Spent)
    }

    /// Gives one use back to every bucket charged at `charged_at` (a text the provider
    /// refused never left) — only while that window lasts, so a refund never adds to a
    /// later window.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn refund(&self, buckets: &[Bucket], charged_at: UnixTime) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        for b in buckets.iter().filter(|b| b.limit > 0) {
            sqlx::query(
                "UPDATE rate_buckets SET used = used - 1 WHERE key = $1 AND used > 0 AND window_start <= $2",
            )
            .bind(b.key.as_str())
            .bind(charged_at.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Reads a throttle before a password is checked (one indexed read).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn throttle_state(&self, t: &Throttle, now: UnixTime) -> StoreResult<ThrottleState> {
        let [a, b, c] = t.guard_keys();
        let rows = sqlx::query(
            "SELECT key, failures, locked_until FROM login_throttle WHERE key IN ($1, $2, $3)",
        )
        .bind(a)
        .bind(b)
        .bind(c)
        .fetch_all(&self.pool)
        .await?;
        let mut dirty = false;
        let mut paused: Option<i64> = None;
        for row in &rows {
            let key: String = row.try_get("key")?;
            let failures: i64 = row.try_get("failures")?;
            let until: Option<i64> = row.try_get("locked_until")?;
            dirty |= failures > 0;
            if key == t.total_key && failures >= t.cap {
                return Ok(ThrottleState::Capped);
            }
            if let Some(u) = until.filter(|u| *u > now.0) {
                paused = Some(paused.map_or(u, |p| p.max(u)));
            }
        }
        Ok(match paused {
            Some(u) => ThrottleState::Paused(UnixTime(u)),
            None => ThrottleState::Open { dirty },
        })
    }

    /// Counts one wrong password on every counter of the throttle, in one transaction, and
    /// records `event` (none for a username without an account). A counter that reaches a
    /// multiple of its threshold pauses for `pause_for(round)` seconds.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn record_password_failure(
        &self,
        t: &Throttle,
        now: UnixTime,
        pause_for: impl Fn(i64) -> i64,
        event: Option<&NewEvent<'_>>,
    ) -> StoreResult<Failure> {
        let mut tx = self.write_tx().await?;
        let mut total = 0;
        let mut paused_until: Option<UnixTime> = None;
        let thresholds = std::iter::once(0).chain(t.keys.iter().map(|(_, n)| *n));
        for (key, threshold) in t.all_keys().zip(thresholds) {
            let cap = if key == t.total_key { t.cap } else { i64::MAX };
            let counted: Option<i64> = sqlx::query_scalar(COUNT_FAILURE)
                .bind(key)
                .bind(t.subject.as_str())
                .bind(now.0)
                .bind(cap)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(failures) = counted else {
                tx.rollback().await?;
                let state = self.throttle_state(t, now).await?;
                return Ok(match state {
                    ThrottleState::Paused(u) => Failure::AlreadyPaused(Some(u)),
                    ThrottleState::Capped => Failure::AlreadyPaused(None),
                    // Cleared meanwhile by a success: this guess was simply wrong.
                    ThrottleState::Open { .. } => Failure::Counted {
                        paused_until: None,
                        total: 0,
                    },
                });
            };
            if key == t.total_key {
                total = failures;
            }
            if threshold > 0 && failures % threshold == 0 {
                let until = now.plus(pause_for(failures / threshold));
                sqlx::query("UPDATE login_throttle SET locked_until = $1 WHERE key = $2")
                    .bind(until.0)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                paused_until = Some(paused_until.map_or(until, |p| p.max(until)));
            }
        }
        if let Some(event) = event {
            // A pause is told in the failure's detail: the activity kinds are a fixed list.
            let detail = paused_until.map(|u| {
                let paused = format!(
                    "logins paused for {}",
                    crate::domain::wait_text(u.0 - now.0)
                );
                match event.detail {
                    Some(d) => format!("{d}; {paused}"),
                    None => paused,
                }
            });
            NewEvent {
                detail: detail.as_deref().or(event.detail),
                ..*event
            }
            .insert(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Failure::Counted {
            paused_until,
            total,
        })
    }

    /// Forgets every wrong-password counter of a subject (the operator unlocked it).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn clear_throttle(&self, subject: &str) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM login_throttle WHERE subject = $1")
            .bind(subject)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// The subject's consecutive wrong passwords (for the admin CLI).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn throttle_total(&self, total_key: &str) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT failures FROM login_throttle WHERE key = $1")
                .bind(total_key)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    /// Housekeeping: budgets whose window ended over a day ago, and counters untouched for
    /// `idle_secs` that are neither paused nor at a cap. Real and unknown usernames are
    /// treated alike, so the purge reveals nothing.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_limits(&self, now: UnixTime, idle_secs: i64, cap: i64) -> StoreResult<u64> {
        let a = sqlx::query("DELETE FROM rate_buckets WHERE window_start <= $1")
            .bind(now.0 - 2 * 86_400)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let b = sqlx::query(
            "DELETE FROM login_throttle WHERE updated_at <= $1 AND failures < $2 \
             AND (locked_until IS NULL OR locked_until <= $3)",
        )
        .bind(now.0 - idle_secs)
        .bind(cap)
        .bind(now.0)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(a + b)
    }
}
