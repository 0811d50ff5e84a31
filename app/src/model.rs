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

/// Longest id accepted from outside (a request's path, query or body), in bytes. Ids Tessera
/// makes are UUIDs (36 bytes).
pub const MAX_ID_LEN: usize = 64;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// On the wire it is a JSON string (`#[serde(transparent)]`); one from outside is refused
        /// when it is empty, longer than [`MAX_ID_LEN`] bytes or holds anything but ASCII letters,
        /// digits and `-`. An id no row has simply finds nothing.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(#[serde(deserialize_with = "id_from_wire")] String);

        impl $name {
            /// A new random id (a UUID v4).
            #[cfg(feature = "ssr")]
            pub fn generate() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// An id as the store keeps it (read back from a row; not checked again).
            pub fn from_stored(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// An id from outside, checked as the wire form is; the error is a sentence.
            pub fn parse(id: &str) -> Result<Self, String> {
                check_id(id).map(|()| Self(id.to_string()))
            }

            /// The id as stored and sent.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// An id the store made (fixtures, rows), not checked: ids from outside go through
        /// [`Self::parse`] or the wire form.
        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_string())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&$name> for $name {
            fn eq(&self, other: &&$name) -> bool {
                self == *other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// An org's id.
    OrgId
);
id_type!(
    /// A member's id (one person in one org).
    MemberId
);
id_type!(
    /// An invitation's id.
    InvitationId
);
id_type!(
    /// A setup link's id (not its token: the id names the link in lists and the audit log).
    SetupLinkId
);
id_type!(
    /// A SCIM bearer token's id (not the token: the id names it in lists and the audit log).
    ScimTokenId
);
id_type!(
    /// A group Okta pushed over SCIM (its SCIM `id`).
    GroupId
);

fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!("An id has 1 to {MAX_ID_LEN} characters."));
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("An id holds only letters, digits and '-'.".into());
    }
    Ok(())
}

fn id_from_wire<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    check_id(&id).map_err(serde::de::Error::custom)?;
    Ok(id)
}

/// A customer organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// An org's Okta connection, without its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoConnection {
    pub org_id: OrgId,
    pub issuer: String,
    pub client_id: String,
    pub enabled: bool,
    pub jit_enabled: bool,
    pub default_role: DefaultRole,
    /// Who may come in: just-in-time, SCIM-provisioned members only, or both.
    #[serde(default)]
    pub provisioning: ProvisioningMode,
    /// Okta's Universal Logout may end members' sessions (`POST /oauth/global-token-revocation`)
    /// while SSO is enabled. On by default.
    #[serde(default = "on")]
    pub universal_logout: bool,
    /// The Shared Signals receiver (`POST /ssf/events`) acts on Okta's security events while
    /// SSO is enabled. On by default.
    #[serde(default = "on")]
    pub shared_signals: bool,
    pub updated_at: i64,
}

fn on() -> bool {
    true
}

/// How people become members of an org, set by the operator (`tessera sso policy
/// --provisioning`) or the owner (the SSO page).
///
/// - `jit` (the default): sign-in admits members, invitations and (with just-in-time
///   provisioning on) anyone the org's Okta vouches for; SCIM requests are refused (403).
/// - `scim`: only members Okta provisioned (or adopted) over SCIM, while active, may sign in;
///   anyone else is told to ask their Okta admin to assign them. No JIT, no invitations.
/// - `both`: SCIM provisioning, and sign-in admits as under `jit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum ProvisioningMode {
    #[default]
    Jit,
    Scim,
    Both,
}

impl ProvisioningMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisioningMode::Jit => "jit",
            ProvisioningMode::Scim => "scim",
            ProvisioningMode::Both => "both",
        }
    }

    /// `jit`, `scim` or `both` (surrounding blanks ignored, any case); anything else is
    /// refused with the sentence to show.
    pub fn parse(s: &str) -> Result<ProvisioningMode, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jit" => Ok(ProvisioningMode::Jit),
            "scim" => Ok(ProvisioningMode::Scim),
            "both" => Ok(ProvisioningMode::Both),
            _ => Err(format!(
                "The provisioning mode must be jit, scim or both, not {}.",
                crate::validate::quoted(s)
            )),
        }
    }

    /// Does the org accept SCIM requests?
    pub fn scim(self) -> bool {
        self != ProvisioningMode::Jit
    }

    /// Does sign-in admit people SCIM did not provision (just-in-time, invitations)?
    pub fn admits_unprovisioned(self) -> bool {
        self != ProvisioningMode::Scim
    }
}

impl TryFrom<String> for ProvisioningMode {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        ProvisioningMode::parse(&s)
    }
}

impl std::fmt::Display for ProvisioningMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person in an org, keyed by (org, issuer, subject).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub org_id: OrgId,
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
    fn ids_from_outside_are_bounded_and_plain() {
        let id: MemberId =
            serde_json::from_str("\"6f1c0c1e-8a4b-4d7e-9f00-0123456789ab\"").unwrap();
        assert_eq!(id.as_str(), "6f1c0c1e-8a4b-4d7e-9f00-0123456789ab");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"6f1c0c1e-8a4b-4d7e-9f00-0123456789ab\""
        );
        let long = format!("\"{}\"", "a".repeat(MAX_ID_LEN + 1));
        for bad in [
            "\"\"",
            long.as_str(),
            "\"a b\"",
            "\"a/../b\"",
            "\"x\\u0000\"",
            "42",
            "null",
        ] {
            assert!(serde_json::from_str::<OrgId>(bad).is_err(), "{bad}");
        }
        assert!(SetupLinkId::parse("a;drop").is_err());
        assert!(SetupLinkId::parse(&"a".repeat(MAX_ID_LEN)).is_ok());
    }

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
