-- Phone enrolment: at most so many codes per day per account (a resend no longer escapes it).
ALTER TABLE sms_pending ADD COLUMN send_count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE sms_pending ADD COLUMN window_start BIGINT NOT NULL DEFAULT 0;
