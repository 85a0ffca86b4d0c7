//! MLflow's permission levels and what each one allows.
//!
//! The levels are ordered: NO_PERMISSIONS < READ < USE < EDIT < MANAGE. Each action needs a
//! [`Capability`]; a level grants the capabilities at or below it. DENY is a grantable veto:
//! among grants on the same key it beats every other level, and it allows nothing.

use keel_core::{Error, Result};

/// A permission level on one resource, as MLflow names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    Deny,
    NoPermissions,
    Read,
    Use,
    Edit,
    Manage,
}

impl Permission {
    /// In the order the reference lists them in its errors.
    pub const ALL: [Self; 6] = [
        Self::Read,
        Self::Use,
        Self::Edit,
        Self::Manage,
        Self::NoPermissions,
        Self::Deny,
    ];

    /// MLflow's name (`READ`, `EDIT`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "DENY",
            Self::NoPermissions => "NO_PERMISSIONS",
            Self::Read => "READ",
            Self::Use => "USE",
            Self::Edit => "EDIT",
            Self::Manage => "MANAGE",
        }
    }

    /// Parses MLflow's name, refusing anything else in the reference's words.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL
                    .iter()
                    .map(|p| format!("'{}'", p.as_str()))
                    .collect();
                Error::invalid(format!(
                    "Invalid permission '{name}'. Valid permissions are: ({})",
                    names.join(", ")
                ))
            })
    }

    /// The level as a number, as policies see it in `context.permission`: -1 for DENY, 0 for
    /// NO_PERMISSIONS up to 4 for MANAGE (the reference's priorities).
    pub fn rank(self) -> i64 {
        self as i64 - 1
    }

    /// Whether this level grants `capability`.
    pub fn allows(self, capability: Capability) -> bool {
        match capability {
            Capability::Read => self >= Self::Read,
            Capability::Use => self >= Self::Use,
            Capability::Update => self >= Self::Edit,
            Capability::Delete | Capability::Manage => self >= Self::Manage,
            // Not a per-resource capability: decided on who the principal is.
            Capability::Create
            | Capability::Authenticated
            | Capability::OwnCredentials
            | Capability::Admin
            | Capability::Public => false,
        }
    }
}

/// What an action needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// READ on the resource.
    Read,
    /// USE on the resource (invoke it: a gateway endpoint, a scorer).
    Use,
    /// EDIT on the resource.
    Update,
    /// MANAGE on the resource (MLflow lets only MANAGE delete).
    Delete,
    /// MANAGE on the resource: change who may access it.
    Manage,
    /// Any authenticated caller may create a new top-level resource (it then holds MANAGE).
    Create,
    /// Any authenticated caller (their own account, server facts).
    Authenticated,
    /// Any authenticated caller changing their own credentials (API tokens, the password), but
    /// never with a token limited to scopes: such a token cannot widen itself.
    OwnCredentials,
    /// Administrators only.
    Admin,
    /// Anyone, without credentials (health, version, the UI's static shell, the login).
    Public,
}

impl Capability {
    /// The Cedar action group every action needing this capability is in.
    pub fn group(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Use => "use",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Manage => "manage",
            Self::Create => "create",
            Self::Authenticated => "authenticated",
            Self::OwnCredentials => "own_credentials",
            Self::Admin => "admin",
            Self::Public => "public",
        }
    }

    pub const ALL: [Self; 10] = [
        Self::Read,
        Self::Use,
        Self::Update,
        Self::Delete,
        Self::Manage,
        Self::Create,
        Self::Authenticated,
        Self::OwnCredentials,
        Self::Admin,
        Self::Public,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()).ok(), Some(p));
        }
        let e = Permission::parse("read").expect_err("case matters");
        assert!(e.message.contains("MANAGE"), "{}", e.message);
    }

    #[test]
    fn levels_grant_what_mlflow_grants() {
        use Capability as C;
        use Permission as P;
        assert!(!P::NoPermissions.allows(C::Read));
        assert!(!P::Deny.allows(C::Read) && P::Deny < P::NoPermissions && P::Deny.rank() == -1);
        assert_eq!(P::Manage.rank(), 4);
        assert!(P::Read.allows(C::Read) && !P::Read.allows(C::Use) && !P::Read.allows(C::Update));
        assert!(P::Use.allows(C::Use) && !P::Use.allows(C::Update));
        assert!(
            P::Edit.allows(C::Update) && !P::Edit.allows(C::Delete) && !P::Edit.allows(C::Manage)
        );
        assert!(P::Manage.allows(C::Delete) && P::Manage.allows(C::Manage));
    }
}
