//! What an API token may be used for. A token issued with scopes acts for its owner only
//! within them (the owner's own permissions still decide); one issued without scopes acts
//! with everything its owner may do, as the password does. Web sessions are never limited.
//!
//! | scope    | lets the token take actions that need                                   |
//! |----------|-------------------------------------------------------------------------|
//! | `read`   | READ, and what any signed-in caller may do without changing anything   |
//! | `use`    | USE (invoking a gateway endpoint or a scorer)                           |
//! | `write`  | EDIT and MANAGE-to-delete, and creating experiments and models          |
//! | `manage` | MANAGE (changing who may access a resource)                            |
//! | `admin`  | what only administrators may do                                         |
//!
//! No scope lets a token change its owner's credentials (issue or revoke tokens, change the
//! password): a limited token can never widen itself.

use keel_core::{Error, Result};

use crate::permission::Capability;

/// The scopes a token may be limited to.
pub const NAMES: [&str; 5] = ["read", "use", "write", "manage", "admin"];

/// A token's scopes as a set (no bits: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// Not limited: everything the owner may do.
    pub const UNLIMITED: Self = Self(0);

    /// The access scopes among a stored token's scopes (others, like a session's, are not
    /// limits); none: unlimited.
    pub fn of(stored: &[String]) -> Self {
        Self(
            stored
                .iter()
                .filter_map(|s| NAMES.iter().position(|n| n == s))
                .fold(0, |bits, i| bits | 1 << i),
        )
    }

    pub fn is_limited(self) -> bool {
        self.0 != 0
    }

    fn has(self, name: &str) -> bool {
        NAMES
            .iter()
            .position(|n| *n == name)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// Whether a token with these scopes may take an action needing `capability`.
    pub fn allow(self, capability: Capability) -> bool {
        if !self.is_limited() {
            return true;
        }
        match capability {
            Capability::Public => true,
            Capability::Read | Capability::Authenticated => self.has("read"),
            Capability::Use => self.has("use"),
            Capability::Update | Capability::Delete | Capability::Create => self.has("write"),
            Capability::Manage => self.has("manage"),
            Capability::Admin => self.has("admin"),
            Capability::OwnCredentials => false,
        }
    }
}

/// Checks the scopes a client asks a token to be limited to: known names, each once, in the
/// order of [`NAMES`].
pub fn parse(asked: &[String]) -> Result<Vec<String>> {
    if let Some(unknown) = asked.iter().find(|s| !NAMES.contains(&s.as_str())) {
        let shown: String = unknown.chars().take(64).collect();
        return Err(Error::invalid(format!(
            "Invalid value '{shown}' for parameter 'scopes' supplied: a token's scopes are {}.",
            NAMES.join(", ")
        )));
    }
    Ok(NAMES
        .iter()
        .filter(|n| asked.iter().any(|s| s == *n))
        .map(|n| (*n).to_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(names: &[&str]) -> Scopes {
        Scopes::of(&names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn no_scopes_is_everything_but_scopes_limit() {
        for c in Capability::ALL {
            assert!(Scopes::UNLIMITED.allow(c), "{c:?}");
        }
        let read = scopes(&["read"]);
        assert!(read.allow(Capability::Read) && read.allow(Capability::Authenticated));
        assert!(read.allow(Capability::Public));
        for c in [
            Capability::Use,
            Capability::Update,
            Capability::Delete,
            Capability::Create,
            Capability::Manage,
            Capability::Admin,
            Capability::OwnCredentials,
        ] {
            assert!(!read.allow(c), "{c:?}");
        }
        let write = scopes(&["read", "write"]);
        assert!(write.allow(Capability::Update) && write.allow(Capability::Create));
        assert!(!write.allow(Capability::Manage));
        let all = scopes(&NAMES);
        assert!(
            !all.allow(Capability::OwnCredentials),
            "never from a limited token"
        );
        assert!(all.allow(Capability::Admin));
    }

    #[test]
    fn a_session_is_not_limited_and_names_are_checked() {
        assert!(!scopes(&["session", "session-group:ml"]).is_limited());
        assert_eq!(
            parse(&["write".into(), "read".into(), "read".into()]).expect("known"),
            ["read", "write"]
        );
        let e = parse(&["session".into()]).expect_err("reserved");
        assert!(
            e.message.contains("read, use, write, manage, admin"),
            "{}",
            e.message
        );
        assert!(parse(&[]).expect("none").is_empty());
    }
}
