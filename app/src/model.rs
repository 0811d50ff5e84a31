//! Types shared by the server, the pages and the JSON API.

use serde::{Deserialize, Serialize};

/// A member's role in an org. Exactly one owner per org.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role just-in-time provisioning gives new members, and the role an owner or admin may
/// give a member: admin or member. Owner is not a value of this type, so no org's default
/// role, and no role change, can make an owner: ownership changes hands only by a transfer (and
/// an org's first member becomes its owner, see `membership::provision`).
///
/// Parsed at the boundary: JSON `"admin"`/`"member"` (surrounding blanks ignored); anything else
/// is refused with a sentence saying so, the refused value quoted at most 100 characters long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum DefaultRole {
    Admin,
    Member,
}

impl DefaultRole {
    pub fn as_str(self) -> &'static str {
        self.role().as_str()
    }

    /// The same role as a [`Role`].
    pub fn role(self) -> Role {
        match self {
            DefaultRole::Admin => Role::Admin,
            DefaultRole::Member => Role::Member,
        }
    }

    /// `admin` or `member`; anything else (`owner` included) is refused with the sentence to
    /// show.
    pub fn parse(s: &str) -> Result<DefaultRole, String> {
        match Role::parse(s.trim()) {
            Some(Role::Admin) => Ok(DefaultRole::Admin),
            Some(Role::Member) => Ok(DefaultRole::Member),
            Some(Role::Owner) => Err(
                "The role must be admin or member: ownership changes hands only by a transfer."
                    .into(),
            ),
            None => Err(format!(
                "The role must be admin or member, not {}.",
                crate::validate::quoted(s)
            )),
        }
    }
}

impl TryFrom<String> for DefaultRole {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        DefaultRole::parse(&s)
    }
}

impl From<DefaultRole> for Role {
    fn from(r: DefaultRole) -> Role {
        r.role()
    }
}

impl std::fmt::Display for DefaultRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a member may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Active,
    Deactivated,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Deactivated => "deactivated",
        }
    }

    pub fn parse(s: &str) -> Option<MemberStatus> {
        match s {
            "active" => Some(MemberStatus::Active),
            "deactivated" => Some(MemberStatus::Deactivated),
            _ => None,
        }
    }
}

/// A customer organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// An org's Okta connection, without its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoConnection {
    pub org_id: String,
    pub issuer: String,
    pub client_id: String,
    pub enabled: bool,
    pub jit_enabled: bool,
    pub default_role: DefaultRole,
    pub updated_at: i64,
}

/// A person in an org, keyed by (org, issuer, subject).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub org_id: String,
    pub issuer: String,
    pub subject: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: MemberStatus,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_role_is_never_owner() {
        assert_eq!(DefaultRole::parse(" admin "), Ok(DefaultRole::Admin));
        assert_eq!(DefaultRole::parse("member"), Ok(DefaultRole::Member));
        let owner = DefaultRole::parse("owner").unwrap_err();
        assert!(owner.contains("only by a transfer"), "{owner}");
        let huge = format!("\u{1b}[31m{}", "x".repeat(10_000));
        let refused = DefaultRole::parse(&huge).unwrap_err();
        assert!(refused.starts_with("The role must be admin or member, not \"[31mxxx"));
        assert!(refused.len() < 200, "{refused}");
        let json: Result<DefaultRole, _> = serde_json::from_str("\"owner\"");
        assert!(json.is_err());
        assert_eq!(
            serde_json::to_string(&DefaultRole::Admin).ok().as_deref(),
            Some("\"admin\"")
        );
        assert_eq!(
            serde_json::from_str::<DefaultRole>("\"member\"").ok(),
            Some(DefaultRole::Member)
        );
    }
}
