//! Server-only code: the domain (sign-in, membership, orgs, connections, setup links), the
//! store, encryption at rest, issuer rules and session lookup.

pub mod actor;
pub mod api_support;
pub mod auth;
pub mod connection;
pub mod crypto;
pub mod issuer;
pub mod login;
pub mod membership;
pub mod orgs;
pub mod outbound;
pub mod rate_limit;
pub mod scim;
pub mod setup_links;
pub mod signin;
pub mod sso_check;
pub mod store;

/// The URL browsers use to reach Tessera (`--public-url`, no trailing slash), provided to
/// server functions via context: the URIs to paste into Okta derive from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl(pub String);

impl PublicUrl {
    /// Okta's "Initiate login URI".
    pub fn initiate_login_uri(&self) -> String {
        format!("{}/sso/initiate", self.0.trim_end_matches('/'))
    }

    /// Okta's "Sign-in redirect URI".
    pub fn redirect_uri(&self) -> String {
        format!("{}/sso/callback", self.0.trim_end_matches('/'))
    }
}
