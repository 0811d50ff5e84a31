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
pub mod signals;
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

    /// Okta's "Global token revocation endpoint" (Universal Logout), and the `aud` its JWTs
    /// must carry: `{public_url}/oauth/global-token-revocation`.
    pub fn universal_logout_endpoint(&self) -> String {
        format!(
            "{}/oauth/global-token-revocation",
            self.0.trim_end_matches('/')
        )
    }

    /// The Shared Signals receiver's push endpoint: `{public_url}/ssf/events`.
    pub fn ssf_endpoint(&self) -> String {
        format!("{}/ssf/events", self.0.trim_end_matches('/'))
    }

    /// The start of every org's receiver audience: `{public_url}/ssf/orgs/`.
    pub fn ssf_audience_prefix(&self) -> String {
        format!("{}/ssf/orgs/", self.0.trim_end_matches('/'))
    }

    /// The `aud` SETs for the org `slug` carry: `{public_url}/ssf/orgs/{slug}`.
    pub fn ssf_audience(&self, slug: &str) -> String {
        format!("{}{slug}", self.ssf_audience_prefix())
    }
}
