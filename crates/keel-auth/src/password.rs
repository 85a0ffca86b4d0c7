//! Passwords: argon2id hashes in PHC string form, and what a new password must be.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use keel_core::{Error, Result};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password accepted, in bytes (argon2 reads all of it; a megabyte-long password
/// would only cost the server).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks a new password against the rules, in the words the API returns.
pub fn check_new(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(format!(
            "Password must be at least {MIN_PASSWORD_CHARS} characters."
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid(format!(
            "Password must be at most {MAX_PASSWORD_BYTES} bytes long."
        )));
    }
    Ok(())
}

/// Hashes a password with argon2id (OWASP's parameters: 19 MiB, 2 passes, 1 lane) and a fresh
/// random salt, as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash(password: &str) -> Result<String> {
    check_new(password)?;
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("cannot hash a password: {e}")))
}

/// Whether `password` matches the PHC string `stored`. An unparsable `stored` never matches.
/// Runs the full argon2 computation: call it off the async runtime.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok()
}

/// Spends the time a real verification takes, for a username that does not exist, so that the
/// response time does not tell which usernames exist.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"keel: no such user")
            .map(|h| h.to_string())
            .unwrap_or_default()
    });
    let _ = verify(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let phc = hash("correct horse battery").expect("hash");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
        assert!(!verify("correct horse battery", "not a phc string"));
        assert_ne!(phc, hash("correct horse battery").expect("hash"), "salted");
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(hash("short").is_err());
        assert!(hash(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(!verify(&"x".repeat(MAX_PASSWORD_BYTES + 1), "$argon2id$"));
    }
}
