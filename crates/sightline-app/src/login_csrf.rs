//! The login form's CSRF token, bound to a pre-session (issue #15, finding
//! 14: the login form used a double-submit cookie, so any cookie and field
//! pair an attacker chose was accepted).
//!
//! The login page gives the browser a pre-session cookie (256 random bits and
//! the time it was issued) and puts in the form a token that only the server
//! can compute from it: BLAKE3 keyed with a secret that never leaves the
//! process. A submitted form counts only with a pre-session this server
//! issued, within [`LOGIN_FORM_SECONDS_MAX`], and that pre-session's token.
//!
//! The key is made when the process starts, so a login page served before a
//! restart (or by another process) asks the user to sign in again.

use chrono::{DateTime, Utc};

/// How long a login page's token stays good.
pub const LOGIN_FORM_SECONDS_MAX: i64 = 2 * 60 * 60;

/// The longest pre-session cookie value read.
const PRE_SESSION_BYTES_MAX: usize = 128;

/// The server's secret for login tokens.
pub struct LoginCsrfKey([u8; 32]);

impl std::fmt::Debug for LoginCsrfKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("LoginCsrfKey(..)")
    }
}

impl LoginCsrfKey {
    /// A new key from the operating system's random source.
    pub fn random() -> LoginCsrfKey {
        use rand::RngCore as _;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        LoginCsrfKey(key)
    }

    /// A new pre-session (the cookie's value) and the token for its form.
    pub fn issue(&self, now: DateTime<Utc>) -> (String, String) {
        let pre_session = format!("{}.{}", crate::accounts::random_token(), now.timestamp());
        let token = self.token(&pre_session);
        (pre_session, token)
    }

    fn token(&self, pre_session: &str) -> String {
        let mut hasher = blake3::Hasher::new_keyed(&self.0);
        hasher.update(b"sightline login csrf\0");
        hasher.update(pre_session.as_bytes());
        hasher.finalize().to_hex().to_string()
    }

    /// Whether `token` is the token of `pre_session`, issued by this key no
    /// longer than [`LOGIN_FORM_SECONDS_MAX`] before `now`.
    pub fn check(&self, pre_session: &str, token: &str, now: DateTime<Utc>) -> bool {
        if pre_session.is_empty() || pre_session.len() > PRE_SESSION_BYTES_MAX {
            return false;
        }
        let Some(issued) = pre_session
            .rsplit_once('.')
            .and_then(|(_, seconds)| seconds.parse::<i64>().ok())
        else {
            return false;
        };
        let age = now.timestamp().saturating_sub(issued);
        if !(0..=LOGIN_FORM_SECONDS_MAX).contains(&age) {
            return false;
        }
        crate::accounts::tokens_match(&self.token(pre_session), token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn only_the_issued_pair_within_its_time_counts() {
        let key = LoginCsrfKey::random();
        let (pre_session, token) = key.issue(now());
        assert_eq!(token.len(), 64);
        assert!(key.check(&pre_session, &token, now()));
        assert!(key.check(&pre_session, &token, now() + chrono::Duration::minutes(119)));
        assert!(!key.check(&pre_session, &token, now() + chrono::Duration::minutes(121)));
        assert!(!key.check(&pre_session, &token, now() - chrono::Duration::minutes(1)));
        // Double-submit: an attacker's own value in both places.
        let chosen = format!("{}.{}", "a".repeat(64), now().timestamp());
        assert!(!key.check(&chosen, &chosen, now()));
        assert!(!key.check(&chosen, &"a".repeat(64), now()));
        // Another pre-session's token, or another process's key.
        let (other, _) = key.issue(now());
        assert!(!key.check(&other, &token, now()));
        assert!(!LoginCsrfKey::random().check(&pre_session, &token, now()));
        assert!(!key.check("", "", now()));
        assert!(!key.check(&"1".repeat(500), &token, now()));
    }
}
