//! Command-line flags and their `TESSERA_*` environment variables.
//!
//! Every flag is global: it may come before or after the command (`tessera --bind … serve`
//! and `tessera serve --bind …` alike), and every command reads the same [`Config`]. Help lists
//! each flag only where it applies ([`command`]): `--database-url` everywhere, the server's
//! flags on `serve`, and `--public-url`, `--secret-key-file` and `--allow-http-issuers` also on
//! the few commands that use them.

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "tessera",
    version,
    about = "Okta SSO and organization membership for SaaS apps",
    after_help = "Each command's --help lists the flags it uses; `tessera serve --help` lists the server's. \
                  Every flag may come before or after the command and has a TESSERA_* environment variable."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings shared by every command. Flags win over environment variables, which win over
/// the laptop-friendly defaults. All but `--database-url` are hidden from the help of commands
/// they do not apply to (see [`command`]).
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
    /// Database connections this node opens at most (default: 16 on PostgreSQL; 5 on SQLite,
    /// one writer and the rest for reads, at least 2). Across all nodes, keep the sum below
    /// PostgreSQL's `max_connections`.
    #[arg(long, env = "TESSERA_DATABASE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..=1000), global = true, hide = true)]
    pub database_max_connections: Option<u32>,
    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "TESSERA_BIND",
        default_value = "127.0.0.1:3000",
        global = true,
        hide = true
    )]
    pub bind: SocketAddr,
    /// The URL browsers use to reach Tessera (scheme, host, port); Okta redirects here.
    #[arg(long, env = "TESSERA_PUBLIC_URL", default_value = "http://127.0.0.1:3000", value_parser = parse_public_url, global = true, hide = true)]
    pub public_url: String,
    /// File holding the 32-byte key that encrypts client secrets; created (mode 0600) when absent.
    #[arg(
        long,
        env = "TESSERA_SECRET_KEY_FILE",
        default_value = "data/secret.key",
        global = true,
        hide = true
    )]
    pub secret_key_file: PathBuf,
    /// Allow http:// issuers (local development IdPs and tests only).
    #[arg(long, env = "TESSERA_ALLOW_HTTP_ISSUERS", global = true, hide = true)]
    pub allow_http_issuers: bool,
    /// Log format.
    #[arg(long, env = "TESSERA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true, hide = true)]
    pub log_format: LogFormat,
    /// A session ends after this long without requests (e.g. 8h, 30m).
    #[arg(long, env = "TESSERA_SESSION_IDLE_TIMEOUT", default_value = "8h", value_parser = parse_duration, global = true, hide = true)]
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however active (e.g. 7d).
    #[arg(long, env = "TESSERA_SESSION_ABSOLUTE_TIMEOUT", default_value = "7d", value_parser = parse_duration, global = true, hide = true)]
    pub session_absolute_timeout: Duration,
    /// Timeout for each request to an Okta org (discovery, JWKS, token, userinfo).
    #[arg(long, env = "TESSERA_IDP_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true, hide = true)]
    pub idp_timeout: Duration,
    /// Directory with the built site (`pkg/` with the WASM bundle and stylesheet).
    /// Defaults to `LEPTOS_SITE_ROOT` (set by cargo-leptos and `end2end/run.sh`) or `target/site`
    /// (where `scripts/site.sh` builds it).
    #[arg(long, env = "TESSERA_SITE_ROOT", default_value_t = default_site_root(), global = true, hide = true)]
    pub site_root: String,
    /// Login attempts older than this are deleted (at start-up and every 5 minutes), e.g. 90d.
    #[arg(long, env = "TESSERA_ATTEMPT_RETENTION", allow_hyphen_values = true, default_value = "90d", value_parser = parse_duration, global = true, hide = true)]
    pub attempt_retention: Duration,
    /// Audit log entries older than this are deleted (at start-up and every 5 minutes), e.g. 400d.
    #[arg(long, env = "TESSERA_AUDIT_RETENTION", allow_hyphen_values = true, default_value = "400d", value_parser = parse_duration, global = true, hide = true)]
    pub audit_retention: Duration,
    /// Serve Prometheus metrics at `GET /metrics` (`on` or `off`). Unauthenticated: keep the
    /// path off the public internet (block it at the load balancer) or turn it off.
    #[arg(long, env = "TESSERA_METRICS", default_value = "on", value_parser = parse_switch, action = clap::ArgAction::Set, global = true, hide = true)]
    pub metrics: bool,
}

impl Cli {
    /// Parses the process's arguments with the help laid out by [`command`].
    pub fn try_parse_args() -> Result<Cli, clap::Error> {
        Cli::try_parse_args_from(std::env::args_os())
    }

    /// Parses `args` (the program name first) with the help laid out by [`command`].
    pub fn try_parse_args_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = command().try_get_matches_from(args)?;
        Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command()))
    }
}

/// The flags `tessera serve --help` lists: all but `--database-url` (listed everywhere).
const SERVER_FLAGS: &[&str] = &[
    "bind",
    "public_url",
    "secret_key_file",
    "allow_http_issuers",
    "database_max_connections",
    "log_format",
    "session_idle_timeout",
    "session_absolute_timeout",
    "idp_timeout",
    "site_root",
    "attempt_retention",
    "audit_retention",
    "metrics",
];

/// The other commands that use one of the server's flags, and which: their help lists them.
const FLAGS_USED_BY: &[(&[&str], &[&str])] = &[
    (&["org", "create"], &["public_url"]),
    (&["org", "list"], &["public_url"]),
    (&["org", "show"], &["public_url"]),
    (&["org", "setup-link"], &["public_url"]),
    (&["sso", "set"], &["secret_key_file", "allow_http_issuers"]),
    (&["sso", "enable"], &["public_url"]),
    (&["secret-key", "rotate"], &["secret_key_file"]),
    (&["secret-key", "check"], &["secret_key_file"]),
    (&["secret-key", "drop-unreadable"], &["secret_key_file"]),
];

/// The `tessera` command line: [`Cli`], with each hidden global flag listed again in the help
/// of the commands it applies to. The listed copy has the same id, variable and default as
/// the global one, so clap parses it in the command's place and hands its value up to the
/// global one: a flag given before the command, after it, or as a variable reads the same.
pub fn command() -> clap::Command {
    let cli = Cli::command();
    let flags: Vec<clap::Arg> = cli.get_arguments().cloned().collect();
    let listed = |cmd: clap::Command, ids: &[&str]| {
        ids.iter().fold(cmd, |cmd, id| {
            match flags.iter().find(|a| a.get_id().as_str() == *id) {
                Some(flag) => cmd.arg(flag.clone().global(false).hide(false)),
                None => cmd,
            }
        })
    };
    let mut cli = cli.mut_subcommand("serve", |c| listed(c, SERVER_FLAGS));
    for (path, ids) in FLAGS_USED_BY {
        cli = in_subcommand(cli, path, |c| listed(c, ids));
    }
    cli
}

/// `cmd` with `f` applied to its subcommand at `path` (e.g. `["org", "show"]`).
fn in_subcommand(
    cmd: clap::Command,
    path: &[&str],
    f: impl FnOnce(clap::Command) -> clap::Command,
) -> clap::Command {
    match path {
        [] => f(cmd),
        [first, rest @ ..] => cmd.mut_subcommand(*first, |c| in_subcommand(c, rest, f)),
    }
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
    /// Manage an org's members (list, show, set-role, deactivate, reactivate, remove).
    ///
    /// Changes go through the same rules as the admin pages (never the owner: ownership moves
    /// only with `tessera org transfer-owner`) and are audited as `operator (CLI)`.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Manage the secret key that encrypts stored client secrets.
    #[command(subcommand)]
    SecretKey(SecretKeyCommand),
    /// SCIM 2.0 provisioning from an org's Okta: the bearer tokens Okta uses.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// Map groups Okta pushes over SCIM to Tessera roles (the highest mapped role wins; the
    /// org's default role otherwise; the owner is never changed).
    #[command(subcommand, name = "role-map")]
    RoleMap(RoleMapCommand),
}

#[derive(Subcommand, Debug)]
pub enum ScimCommand {
    /// Create, list or revoke an org's SCIM tokens (at most two active at once).
    #[command(subcommand)]
    Token(ScimTokenCommand),
}

#[derive(Subcommand, Debug)]
pub enum ScimTokenCommand {
    /// Create a token and print it once (with the base URL to paste into Okta). Turns the
    /// provisioning mode from jit to both.
    Create {
        /// The org's slug.
        slug: String,
        /// A name to tell tokens apart (default "Okta").
        #[arg(long)]
        name: Option<String>,
        /// Print `{"id", "token", "name", "created_at", "base_url"}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List an org's tokens (never the tokens themselves): id, name, created, last used, state.
    List {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: Okta's next request with it gets 401.
    Revoke {
        slug: String,
        /// The token's id (from `tessera scim token list`).
        token_id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RoleMapCommand {
    /// Map a pushed group (by its current name) to a role; members' roles change at once.
    Set {
        slug: String,
        /// The group's displayName as Okta pushed it (any case).
        #[arg(long)]
        group: String,
        #[arg(long, value_parser = ["admin", "member"])]
        role: String,
    },
    /// List an org's mapped groups: group, role, members.
    List {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a group's mapping; its members' roles are recomputed.
    Remove {
        slug: String,
        #[arg(long)]
        group: String,
    },
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
    /// Change an org's display name (audited as `org_renamed`).
    Rename {
        /// The org's slug (it stays).
        slug: String,
        /// The new display name, e.g. "Acme Corporation".
        #[arg(long)]
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Delete an org and everything of it (asks to type the slug; elsewhere needs --yes).
    ///
    /// Its members (signed out at once), Okta connection, setup links, sign-ins in flight,
    /// login attempts and audit log go in one transaction. There is no undo. On a terminal it
    /// asks to type the slug; without one it needs --yes.
    Delete {
        /// The org's slug.
        slug: String,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
        /// Print JSON instead of text.
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

/// The member commands; `member` is a member id, or an email in any case (refused with the
/// ids when several members share it).
#[derive(Subcommand, Debug)]
pub enum MemberCommand {
    /// List an org's members by email: email, name, role, status, last sign-in, id.
    List {
        /// The org's slug.
        slug: String,
        /// Only members with this role.
        #[arg(long, value_name = "owner|admin|member")]
        role: Option<String>,
        /// Only members with this status.
        #[arg(long, value_name = "active|deactivated")]
        status: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one member: role, status, Okta issuer and subject, sign-ins, open sessions.
    Show {
        /// The org's slug.
        slug: String,
        /// Member id or email.
        member: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make a member an admin or a plain member.
    ///
    /// Never the owner, and never to owner: ownership moves only with
    /// `tessera org transfer-owner`.
    SetRole {
        /// The org's slug.
        slug: String,
        /// Member id or email.
        member: String,
        /// `admin` or `member`.
        #[arg(value_name = "admin|member")]
        role: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Deactivate a member: their sessions end, their sign-ins are refused.
    ///
    /// Their sessions end at once and their Okta sign-ins are refused until they are
    /// reactivated. Never the owner (transfer ownership first).
    Deactivate {
        /// The org's slug.
        slug: String,
        /// Member id or email.
        member: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Reactivate a member: they may sign in again.
    Reactivate {
        /// The org's slug.
        slug: String,
        /// Member id or email.
        member: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Sign a member out everywhere: every session of theirs ends at once, on every node.
    ///
    /// They stay a member and may sign in again through Okta (the same path as Okta's
    /// Universal Logout and the members page's "Sign out everywhere"). The owner too.
    SignOut {
        /// The org's slug.
        slug: String,
        /// Member id or email.
        member: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove a member (asks first on a terminal; elsewhere needs --yes).
    ///
    /// Their sessions end and the setup links they made are revoked; with just-in-time
    /// provisioning on, their next Okta sign-in makes them a new member. Never the owner
    /// (transfer ownership first).
    Remove {
        /// The org's slug.
        slug: String,
        /// Member id or email.
        member: String,
        /// Remove without asking.
        #[arg(long)]
        yes: bool,
        /// Print JSON instead of text.
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
    /// Provisioning policy for an org: just-in-time, default role, provisioning mode.
    Policy {
        slug: String,
        /// Create members on their first Okta sign-in (on) or admit only existing members (off).
        #[arg(long, value_parser = ["on", "off"])]
        jit: Option<String>,
        /// Role of new members.
        #[arg(long, value_parser = ["member", "admin"])]
        default_role: Option<String>,
        /// Who may come in: jit (sign-in admits people; SCIM refused), scim (only members Okta
        /// provisioned over SCIM) or both.
        #[arg(long, value_parser = ["jit", "scim", "both"])]
        provisioning: Option<String>,
        /// Okta's Universal Logout may end members' sessions (on by default).
        #[arg(long, value_parser = ["on", "off"])]
        universal_logout: Option<String>,
        /// The Shared Signals receiver acts on Okta's security events (on by default).
        #[arg(long, value_parser = ["on", "off"])]
        shared_signals: Option<String>,
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

    fn help(path: &[&str]) -> String {
        let mut cmd = command();
        cmd.build();
        let mut sub = &mut cmd;
        for name in path {
            sub = sub.find_subcommand_mut(name).unwrap();
        }
        sub.render_long_help().to_string()
    }

    #[test]
    fn the_command_line_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn each_help_lists_the_flags_that_apply() {
        let serve = help(&["serve"]);
        for flag in [
            "--database-url",
            "--bind",
            "--public-url",
            "--metrics",
            "--site-root",
        ] {
            assert!(serve.contains(flag), "serve lacks {flag}: {serve}");
        }
        for path in [
            &["member"][..],
            &["member", "list"],
            &["org", "delete"],
            &["migrate"],
        ] {
            let text = help(path);
            assert!(text.contains("--database-url"), "{path:?}: {text}");
            for flag in ["--bind", "--public-url", "--metrics", "--secret-key-file"] {
                assert!(!text.contains(flag), "{path:?} lists {flag}: {text}");
            }
        }
        let set = help(&["sso", "set"]);
        assert!(set.contains("--secret-key-file") && set.contains("--allow-http-issuers"));
        assert!(!set.contains("--bind"), "{set}");
        assert!(help(&["org", "show"]).contains("--public-url"));
        let root = help(&[]);
        assert!(
            !root.contains("--bind") && root.contains("tessera serve --help"),
            "{root}"
        );
    }

    #[test]
    fn flags_read_the_same_before_and_after_the_command() {
        for args in [
            &["tessera", "--bind", "127.0.0.1:9", "serve"][..],
            &["tessera", "serve", "--bind", "127.0.0.1:9"],
            &["tessera", "--bind", "127.0.0.1:9"],
        ] {
            let cli = Cli::try_parse_args_from(args).unwrap();
            assert_eq!(cli.config.bind.port(), 9, "{args:?}");
        }
        for args in [
            &[
                "tessera",
                "--public-url",
                "https://x.example",
                "org",
                "show",
                "acme",
            ][..],
            &[
                "tessera",
                "org",
                "show",
                "acme",
                "--public-url",
                "https://x.example",
            ],
            &[
                "tessera",
                "org",
                "show",
                "--public-url",
                "https://x.example",
                "acme",
            ],
            &[
                "tessera",
                "member",
                "list",
                "acme",
                "--public-url",
                "https://x.example",
            ],
        ] {
            let cli = Cli::try_parse_args_from(args).unwrap();
            assert_eq!(cli.config.public_url, "https://x.example", "{args:?}");
        }
        let cli =
            Cli::try_parse_args_from(["tessera", "--allow-http-issuers", "member", "list", "a"])
                .unwrap();
        assert!(cli.config.allow_http_issuers);
        let cli = Cli::try_parse_args_from([
            "tessera",
            "sso",
            "set",
            "a",
            "--issuer",
            "http://x",
            "--client-id",
            "c",
            "--client-secret-file",
            "-",
            "--allow-http-issuers",
        ])
        .unwrap();
        assert!(cli.config.allow_http_issuers);
        let cli = Cli::try_parse_args_from(["tessera", "migrate"]).unwrap();
        assert!(!cli.config.allow_http_issuers);
        assert_eq!(cli.config.bind.port(), 3000);
    }

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
