//! Times are whole Unix seconds everywhere below HTTP: portable across SQLite and PostgreSQL.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time, in whole seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// This time plus `secs` seconds.
    pub fn plus(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// RFC 3339 in UTC, as the API speaks it (`2026-11-25T10:00:00Z`).
    pub fn rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
    }

    /// A short human form for pages: `25 Nov 2026, 10:00 UTC`.
    pub fn human(self) -> String {
        let Ok(t) = OffsetDateTime::from_unix_timestamp(self.0) else {
            return self.0.to_string();
        };
        let fmt = time::macros::format_description!(
            "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
        );
        t.format(&fmt).unwrap_or_else(|_| self.rfc3339())
    }
}

/// "45 seconds", "2 minutes", "3 hours" (waits under 90 seconds are told in seconds).
pub fn wait_text(secs: i64) -> String {
    let secs = secs.max(1);
    if secs < 90 {
        format!("{secs} second{}", if secs == 1 { "" } else { "s" })
    } else if secs < 5400 {
        let m = (secs + 59) / 60;
        format!("{m} minute{}", if m == 1 { "" } else { "s" })
    } else {
        let h = (secs + 3599) / 3600;
        format!("{h} hour{}", if h == 1 { "" } else { "s" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = UnixTime(1_764_064_800);
        assert_eq!(t.rfc3339(), "2025-11-25T10:00:00Z");
        assert_eq!(t.human(), "25 Nov 2025, 10:00 UTC");
        assert_eq!(t.plus(60).0, 1_764_064_860);
    }

    #[test]
    fn waits_read_well() {
        assert_eq!(wait_text(1), "1 second");
        assert_eq!(wait_text(45), "45 seconds");
        assert_eq!(wait_text(120), "2 minutes");
        assert_eq!(wait_text(3600), "60 minutes");
        assert_eq!(wait_text(7200), "2 hours");
    }
}
