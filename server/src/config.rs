//! Command-line flags and their `TESSERA_*` environment variables.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "tessera",
    version,
    about = "Okta SSO and organization membership for SaaS apps"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings shared by every command. Flags win over environment variables, which win over
/// the laptop-friendly defaults.
#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Database: `sqlite://path/file.db` (embedded default) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "TESSERA_DATABASE_URL",
        default_value = "sqlite://data/tessera.db",
        global = true
    )]
    pub database_url: String,
    /// Size of this node's database connection pool (default: 16 on PostgreSQL, 8 on SQLite).
    /// Across all nodes, keep the sum below PostgreSQL's `max_connections`.
    #[arg(long, env = "TESSERA_DATABASE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub database_max_connections: Option<u32>,
    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "TESSERA_BIND",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub bind: SocketAddr,
    /// The URL browsers use to reach Tessera (scheme, host, port); Okta redirects here.
    #[arg(long, env = "TESSERA_PUBLIC_URL", default_value = "http://127.0.0.1:3000", value_parser = parse_public_url, global = true)]
    pub public_url: String,
    /// File holding the 32-byte key that encrypts client secrets; created (mode 0600) when absent.
    #[arg(
        long,
        env = "TESSERA_SECRET_KEY_FILE",
        default_value = "data/secret.key",
        global = true
    )]
    pub secret_key_file: PathBuf,
    /// Allow http:// issuers (local development IdPs and tests only).
    #[arg(long, env = "TESSERA_ALLOW_HTTP_ISSUERS", global = true)]
    pub allow_http_issuers: bool,
    /// Log format.
    #[arg(long, env = "TESSERA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// A session ends after this long without requests (e.g. 8h, 30m).
    #[arg(long, env = "TESSERA_SESSION_IDLE_TIMEOUT", default_value = "8h", value_parser = parse_duration, global = true)]
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however active (e.g. 7d).
    #[arg(long, env = "TESSERA_SESSION_ABSOLUTE_TIMEOUT", default_value = "7d", value_parser = parse_duration, global = true)]
    pub session_absolute_timeout: Duration,
    /// Timeout for each request to an Okta org (discovery, JWKS, token, userinfo).
    #[arg(long, env = "TESSERA_IDP_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub idp_timeout: Duration,
    /// Directory with the built site (`pkg/` with the WASM bundle and stylesheet).
    /// Defaults to `LEPTOS_SITE_ROOT` (set by cargo-leptos) or `target/site`.
    #[arg(long, env = "TESSERA_SITE_ROOT", default_value_t = default_site_root(), global = true)]
    pub site_root: String,
    /// Login attempts older than this are deleted (at start-up and every 5 minutes), e.g. 90d.
    #[arg(long, env = "TESSERA_ATTEMPT_RETENTION", allow_hyphen_values = true, default_value = "90d", value_parser = parse_duration, global = true)]
    pub attempt_retention: Duration,
    /// Audit log entries older than this are deleted (at start-up and every 5 minutes), e.g. 400d.
    #[arg(long, env = "TESSERA_AUDIT_RETENTION", allow_hyphen_values = true, default_value = "400d", value_parser = parse_duration, global = true)]
    pub audit_retention: Duration,
    /// Serve Prometheus metrics at `GET /metrics` (`on` or `off`). Unauthenticated: keep the
    /// path off the public internet (block it at the load balancer) or turn it off.
    #[arg(long, env = "TESSERA_METRICS", default_value = "on", value_parser = parse_switch, action = clap::ArgAction::Set, global = true)]
    pub metrics: bool,
}

impl Config {
    pub fn initiate_login_uri(&self) -> String {
        format!("{}/sso/initiate", self.public_url)
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/sso/callback", self.public_url)
    }

    /// Cookies get `Secure` when browsers reach Tessera over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage orgs.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage an org's Okta connection.
    #[command(subcommand)]
    Sso(SsoCommand),
    /// Manage the secret key that encrypts stored client secrets.
    #[command(subcommand)]
    SecretKey(SecretKeyCommand),
}

#[derive(Subcommand, Debug)]
pub enum SecretKeyCommand {
    /// Re-encrypt every stored client secret from the current key (--secret-key-file) to a new
    /// key, in one transaction; then swap the key files on every node and restart them.
    Rotate {
        /// The new key; created (32 random bytes, mode 0600) when absent.
        /// Default: `<secret-key-file>.new`.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
    /// Check that every stored client secret opens with the current key (--secret-key-file).
    Check,
    /// After the key was lost: forget the client secrets that do not open with the current key
    /// (--secret-key-file), so they can be registered again with `tessera sso set`.
    DropUnreadable {
        /// Really drop them (without it, only list them).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Create an org.
    Create {
        /// Lowercase letters, digits and hyphens, e.g. `acme`.
        slug: String,
        /// Display name, e.g. "Acme Inc".
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List orgs with their SSO state.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show an org, its SSO state and the URIs to paste into Okta.
    Show {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Print a one-time link with which the org's Okta administrator sets up SSO themselves.
    /// Older links stay valid; `--revoke` revokes all open links of the org instead.
    SetupLink {
        slug: String,
        /// How long the link stays valid, e.g. 30m, 72h, 7d (at most 30d; default 72h).
        #[arg(long, conflicts_with = "revoke")]
        expires: Option<String>,
        /// Revoke every open setup link of the org (creates none).
        #[arg(long)]
        revoke: bool,
        #[arg(long)]
        json: bool,
    },
    /// Move the members keyed to an old Okta issuer onto the org's current issuer, matched by
    /// their `sub` (after `sso set --confirm-issuer-change`, when the same people arrive through
    /// the new issuer with the same `sub`). Refused, writing nothing, when a member with the
    /// same `sub` is already keyed to the current issuer.
    RekeyMembers {
        slug: String,
        /// The issuer the members are keyed to now (the old one), e.g. https://acme.okta.com.
        #[arg(long)]
        from_issuer: String,
        #[arg(long)]
        json: bool,
    },
    /// Make a member the org's owner (by member id or email); the current owner becomes an
    /// admin. For recovery, e.g. when the owner cannot sign in any more.
    TransferOwner {
        slug: String,
        /// Member id, or email (refused when several members share it: give the id).
        member: String,
        #[arg(long)]
        json: bool,
    },
    /// Recent login attempts of an org, newest first.
    Events {
        slug: String,
        /// How many to show.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum SsoCommand {
    /// Register (or replace) an org's Okta app: issuer, Client ID and Client Secret.
    Set {
        slug: String,
        /// Okta domain, e.g. acme.okta.com (becomes issuer https://acme.okta.com).
        #[arg(long, conflicts_with = "issuer", required_unless_present = "issuer")]
        okta_domain: Option<String>,
        /// Issuer URL, for a custom authorization server or a local IdP.
        #[arg(long)]
        issuer: Option<String>,
        #[arg(long)]
        client_id: String,
        /// File holding the client secret, or `-` for standard input. Never pass it on argv.
        #[arg(long)]
        client_secret_file: PathBuf,
        /// Change the issuer although members are keyed to the current one (their next
        /// sign-in creates new members until `tessera org rekey-members` moves them).
        #[arg(long)]
        confirm_issuer_change: bool,
    },
    /// Turn SSO on for an org.
    Enable { slug: String },
    /// Turn SSO off for an org (members cannot sign in until it is enabled again).
    Disable { slug: String },
    /// Just-in-time provisioning policy for an org.
    Policy {
        slug: String,
        /// Create members on their first Okta sign-in (on) or admit only existing members (off).
        #[arg(long, value_parser = ["on", "off"])]
        jit: Option<String>,
        /// Role of new members.
        #[arg(long, value_parser = ["member", "admin"])]
        default_role: Option<String>,
    },
}

/// `on`/`off` (also `true`/`false`, `yes`/`no`, `1`/`0`).
pub fn parse_switch(input: &str) -> Result<bool, String> {
    match input.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(format!("invalid switch {input:?}: use on or off")),
    }
}

fn default_site_root() -> String {
    std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into())
}

/// Accepts `http(s)://host[:port]` with no path, query or fragment; drops a trailing slash.
pub fn parse_public_url(input: &str) -> Result<String, String> {
    let url = url::Url::parse(input.trim()).map_err(|e| format!("invalid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("the public URL must be http:// or https:// with a host".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("the public URL must not have a path, query or fragment".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Parses `90s`, `30m`, `8h`, `7d` (a bare number is seconds).
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    app::validate::duration(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("8h").unwrap(), Duration::from_secs(8 * 3600));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("8x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn public_urls() {
        assert_eq!(
            parse_public_url("https://sso.example.com/").unwrap(),
            "https://sso.example.com"
        );
        assert!(parse_public_url("https://x.com/app").is_err());
        assert!(parse_public_url("ftp://x.com").is_err());
    }
}
