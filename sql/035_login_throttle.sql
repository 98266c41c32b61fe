-- 033_login_throttle: sign-in attempts are recorded *before* the password is checked, under a lock, so
-- that parallel attempts see each other (16 parallel guesses used to get 11 checks against a limit of
-- 5). An attempt is pending (success NULL) while its check runs; `verified` is false when the throttle
-- refused it without checking the password. Frozen once applied: change it with a new numbered file.

ALTER TABLE login_attempts
    ADD COLUMN verified     boolean NOT NULL DEFAULT true,  -- false: refused by the throttle, password not checked
    ADD COLUMN finished_at  timestamptz;                    -- end of the password check; NULL while it runs
ALTER TABLE login_attempts ALTER COLUMN success DROP NOT NULL;  -- NULL: the check is still running
UPDATE login_attempts SET finished_at = at;

-- Delays are keyed on (username, address) first.
CREATE INDEX login_attempts_pair_idx ON login_attempts (username, address, at DESC);
