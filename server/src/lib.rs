//! The `tessera` server: configuration, operator CLI, HTTP router, Okta sign-in and sessions.

// No unwrap, expect or panic on request paths; tests and proven spots allow them locally.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod assets;
pub mod audit_export;
pub mod cli;
pub mod cli_error;
pub mod cli_scim;
pub mod config;
pub mod csrf;
pub mod http;
pub mod keys;
pub mod limits;
pub mod logs;
pub mod metrics;
pub mod oidc;
pub mod pages;
pub mod scim;
pub mod sessions;
pub mod setup;
pub mod signals;
pub mod sso;
pub mod state;

use app::ssr::store::Store;
use config::{Cli, Command, Config, LogFormat};

/// Runs one `tessera` invocation; the error is printed by `main` as one line.
pub async fn run(cli: Cli) -> Result<(), String> {
    let command = cli.command.unwrap_or(config::Command::Serve);
    let serving = matches!(command, Command::Serve);
    init_tracing(cli.config.log_format, serving);
    let config = cli.config;
    let store = open_store(&config).await?;
    match command {
        Command::Serve => {
            let key = keys::checked_key(&store, &config.secret_key_file, |w| {
                tracing::warn!("{w}");
            })
            .await
            .map_err(|e| format!("refusing to start: {e}"))?;
            http::serve(config, store, key)
                .await
                .map_err(|e| e.to_string())
        }
        Command::Migrate => {
            println!(
                "Database is migrated: {}",
                app::ssr::store::redact_url(&config.database_url)
            );
            Ok(())
        }
        Command::Org(c) => cli::org(&config, &store, c)
            .await
            .map_err(|e| e.to_string()),
        Command::Sso(c) => cli::sso(&config, &store, c)
            .await
            .map_err(|e| e.to_string()),
        Command::Member(c) => cli::member(&store, c).await.map_err(|e| e.to_string()),
        Command::SecretKey(c) => keys::secret_key(&config, &store, c)
            .await
            .map_err(|e| e.to_string()),
        Command::Scim(c) => cli_scim::scim(&config, &store, c)
            .await
            .map_err(|e| e.to_string()),
        Command::RoleMap(c) => cli_scim::role_map(&store, c)
            .await
            .map_err(|e| e.to_string()),
    }
}

/// Connects and applies pending migrations; every command works on a fresh database.
pub async fn open_store(config: &Config) -> Result<Store, String> {
    let store = Store::connect_with(&config.database_url, config.database_max_connections)
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(store)
}

fn init_tracing(format: LogFormat, serving: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if serving { "info" } else { "warn" };
    let mut filter =
        EnvFilter::try_from_env("TESSERA_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // Quiet the database driver where it would log secrets or start-up noise (see the doc
    // of the directives).
    for directive in app::ssr::store::dialect::DRIVER_LOG_DIRECTIVES {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    // tower-sessions warns "possibly suspicious activity" for every cookie whose session is
    // gone: after a sign-out, an expiry or a deactivation. That is the normal life of a
    // session, not an attack: only its errors are logged.
    if let Ok(d) = "tower_sessions_core::session=error".parse() {
        filter = filter.add_directive(d);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(logs::RedactedStderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
