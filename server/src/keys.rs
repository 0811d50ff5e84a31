//! The secret key against the data: `serve` and the commands that write client secrets refuse
//! a key that opens none of the stored secrets (a missing key file is created only while no
//! secret is stored), and `tessera secret-key rotate|check|drop-unreadable`.
//!
//! Rotation decrypts every client secret with the current key first and refuses, changing
//! nothing, if any of them does not open. Only then is the new key file created (or read), and
//! every secret re-encrypted in one database transaction; each row is updated only while it still
//! holds the value that was decrypted, so a concurrent change aborts the whole rotation.

use crate::cli_error::CliError;
use crate::config::{Config, SecretKeyCommand};
use app::ssr::actor::Actor;
use app::ssr::crypto::SecretKey;
use app::ssr::store::audit;
use app::ssr::store::secrets::{self, Sealed};
use app::ssr::store::{Store, Tx};
use std::path::{Path, PathBuf};

pub async fn secret_key(
    config: &Config,
    store: &Store,
    command: SecretKeyCommand,
) -> Result<(), CliError> {
    if let Some(w) = exposed(&config.secret_key_file) {
        eprintln!("warning: {w}");
    }
    match command {
        SecretKeyCommand::Rotate { new_key_file } => {
            let new_path =
                new_key_file.unwrap_or_else(|| default_new_key_file(&config.secret_key_file));
            let n = rotate(store, &config.secret_key_file, &new_path).await?;
            let current = config.secret_key_file.display();
            let new = new_path.display();
            println!("Re-encrypted {n} client secret(s) with the new key {new}.");
            println!("Now, on every node:");
            println!(
                "  1. keep a copy of the old key until every node runs with the new one: cp {current} {current}.old"
            );
            println!("  2. put the new key in place (same file on every node): cp {new} {current}");
            println!("  3. restart tessera.");
            println!(
                "Until a node restarts with the new key, Okta sign-ins through it fail (reason secret_unreadable); signed-in sessions are not affected."
            );
            println!(
                "Then `tessera secret-key check` confirms every stored secret opens with {current}."
            );
        }
        SecretKeyCommand::DropUnreadable { yes } => {
            let path = &config.secret_key_file;
            let slugs = drop_unreadable(store, path, yes).await?;
            if slugs.is_empty() {
                println!(
                    "Every stored client secret opens with {}: nothing to drop.",
                    path.display()
                );
            } else if yes {
                println!(
                    "Dropped the client secrets of {} (they did not open with {}).",
                    slugs.join(", "),
                    path.display()
                );
                println!(
                    "Register each again: tessera sso set <org> --okta-domain … --client-id … --client-secret-file …"
                );
            } else {
                return Err(CliError::Invalid(format!(
                    "the client secrets of {} do not open with {}: if the key they were sealed with is lost, run `tessera secret-key drop-unreadable --yes` to drop them (their sign-ins stop until `tessera sso set` registers them again)",
                    slugs.join(", "),
                    path.display()
                )));
            }
        }
        SecretKeyCommand::Check => {
            let key = load_current(&config.secret_key_file)?;
            let rows = store.sealed_secrets().await?;
            let bad = unreadable(&key, &rows);
            if !bad.is_empty() {
                return Err(CliError::Invalid(format!(
                    "the client secrets of {} do not open with {}: wrong key file, or register them again with `tessera sso set`",
                    bad.join(", "),
                    config.secret_key_file.display()
                )));
            }
            let dropped = store.dropped_secret_orgs().await?;
            if !dropped.is_empty() {
                return Err(CliError::Invalid(format!(
                    "the client secrets of {} were dropped (`secret-key drop-unreadable`): register them again with `tessera sso set`",
                    dropped.join(", ")
                )));
            }
            println!(
                "All {} stored client secret(s) open with {}.",
                rows.len(),
                config.secret_key_file.display()
            );
        }
    }
    Ok(())
}

/// The secret key for `serve` and for commands that seal client secrets, checked against the
/// database first:
///
/// - no key file: created (32 random bytes, mode 0600) only while no client secret is stored;
///   otherwise refused, since a new key could open none of them;
/// - a key that opens none of the stored secrets: refused (a wrong `--secret-key-file`);
/// - a key that opens some but not all: accepted, with a warning naming the orgs whose secrets
///   do not open (their sign-ins fail with `secret_unreadable` until registered again).
///
/// A key file readable by group or others is warned about (`warn` is given the sentence: a
/// log line for `serve`, stderr for the CLI).
pub async fn checked_key(
    store: &Store,
    path: &Path,
    warn: impl Fn(&str),
) -> Result<SecretKey, CliError> {
    let rows = store.sealed_secrets().await?;
    if !path.exists() {
        if !rows.is_empty() {
            return Err(CliError::Invalid(format!(
                "no secret key file at {}, but the database holds {} client secret(s) sealed with a key: point --secret-key-file (TESSERA_SECRET_KEY_FILE) at the key they were sealed with (nothing was changed)",
                path.display(),
                rows.len()
            )));
        }
        return Ok(SecretKey::load_or_create(path)?);
    }
    if let Some(w) = exposed(path) {
        warn(&w);
    }
    let key = SecretKey::load(path)?;
    let bad = unreadable(&key, &rows);
    if !rows.is_empty() && bad.len() == rows.len() {
        return Err(CliError::Invalid(format!(
            "the secret key in {} opens none of the {} stored client secret(s) ({}): point --secret-key-file at the key they were sealed with (`tessera secret-key check` confirms it); if that key is lost, see `tessera secret-key drop-unreadable` (nothing was changed)",
            path.display(),
            rows.len(),
            bad.join(", ")
        )));
    }
    if !bad.is_empty() {
        warn(&format!(
            "the client secrets of {} do not open with the secret key in {}: their sign-ins fail (secret_unreadable) until they are registered again with `tessera sso set`",
            bad.join(", "),
            path.display()
        ));
    }
    Ok(key)
}

/// A warning when the key file can be read by its group or by others (Unix permissions).
pub fn exposed(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Some(format!(
                "the secret key file {} is accessible to other users (mode {:o}): restrict it with `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}

/// Forgets the client secrets that do not open with the current key (after the key they were
/// sealed with was lost): each becomes empty, so its org's sign-ins fail with
/// `secret_unreadable` until `tessera sso set` registers it again, and each org's audit log
/// gets `client_secret_dropped` (actor `operator (CLI)`). Returns the orgs' slugs.
/// Without `yes` nothing changes and the slugs are only listed.
pub async fn drop_unreadable(
    store: &Store,
    path: &Path,
    yes: bool,
) -> Result<Vec<String>, CliError> {
    let key = load_current(path)?;
    let mut tx = store.begin().await?;
    let rows = secrets::sealed(&mut tx).await?;
    let bad: Vec<&Sealed> = rows
        .iter()
        .filter(|r| key.open(&r.org_id, &r.sealed).is_err())
        .collect();
    if !yes {
        return Ok(bad.iter().map(|r| r.slug.clone()).collect());
    }
    for r in &bad {
        if secrets::replace(&mut tx, &r.org_id, &r.sealed, "").await? {
            // A connection change like any other: the org's audit log says who broke its
            // sign-ins, in the same transaction.
            let entry = Actor::Operator
                .audit(&r.org_id, "client_secret_dropped", None)
                .change(
                    serde_json::json!({"client_secret": "does not open with the current key"}),
                    serde_json::json!({"client_secret": ""}),
                );
            audit::insert(&mut tx, &entry).await?;
        }
    }
    tx.commit().await?;
    Ok(bad.iter().map(|r| r.slug.clone()).collect())
}

/// `<file>.new` next to the current key file.
pub fn default_new_key_file(current: &Path) -> PathBuf {
    let mut name = current.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

fn unreadable(key: &SecretKey, rows: &[Sealed]) -> Vec<String> {
    rows.iter()
        .filter(|r| key.open(&r.org_id, &r.sealed).is_err())
        .map(|r| r.slug.clone())
        .collect()
}

fn load_current(path: &Path) -> Result<SecretKey, CliError> {
    if !path.exists() {
        return Err(CliError::Invalid(format!(
            "no secret key file at {}: give the key the nodes run with (--secret-key-file)",
            path.display()
        )));
    }
    Ok(SecretKey::load(path)?)
}

/// Re-encrypts every stored client secret from the key in `current` to the key in `new`
/// (created when absent). Returns how many secrets were re-encrypted.
pub async fn rotate(store: &Store, current: &Path, new: &Path) -> Result<usize, CliError> {
    let old_key = load_current(current)?;
    if same_file(current, new) {
        return Err(CliError::Invalid(format!(
            "the new key file must differ from the current one ({})",
            current.display()
        )));
    }
    let mut tx = store.begin().await?;
    let rows = secrets::sealed(&mut tx).await?;
    let mut plain = Vec::with_capacity(rows.len());
    let mut bad = Vec::new();
    for r in &rows {
        match old_key.open(&r.org_id, &r.sealed) {
            Ok(secret) => plain.push(secret),
            Err(_) => bad.push(r.slug.clone()),
        }
    }
    if !bad.is_empty() {
        // Dropping the transaction rolls it back; no key file has been created yet.
        return Err(CliError::Invalid(format!(
            "refusing to rotate: the client secrets of {} do not open with {} (wrong key file, or a tampered value). Nothing was changed. Use the key the nodes run with, or register those secrets again with `tessera sso set`.",
            bad.join(", "),
            current.display()
        )));
    }
    if new.exists() && std::fs::read(new).ok() == std::fs::read(current).ok() {
        return Err(CliError::Invalid(format!(
            "{} holds the same key as {}: nothing to rotate to",
            new.display(),
            current.display()
        )));
    }
    let new_key = SecretKey::load_or_create(new)?;
    for (r, secret) in rows.iter().zip(&plain) {
        let sealed = new_key.seal(&r.org_id, secret);
        if new_key.open(&r.org_id, &sealed).ok().as_deref() != Some(secret.as_str()) {
            return Err(CliError::Invalid(format!(
                "re-encrypting the client secret of {} did not round-trip: nothing was changed",
                r.slug
            )));
        }
        if !secrets::replace(&mut tx, &r.org_id, &r.sealed, &sealed).await? {
            return Err(CliError::Invalid(format!(
                "the client secret of {} changed during the rotation: nothing was changed, run it again",
                r.slug
            )));
        }
    }
    let pending = reseal_pending_setup_secrets(&mut tx, &old_key, &new_key).await?;
    tx.commit().await?;
    tracing::info!(count = rows.len(), pending, new_key_file = %new.display(), "re-encrypted the client secrets");
    Ok(rows.len())
}

/// Setup links hold the client secret of their last passing test until it is saved: re-seal
/// those too, so an Okta administrator half-way through a setup can still press "Save". One
/// that does not open is dropped (the administrator runs "Test connection" again).
async fn reseal_pending_setup_secrets(
    tx: &mut Tx,
    old_key: &SecretKey,
    new_key: &SecretKey,
) -> Result<usize, CliError> {
    let kept = secrets::kept_on_links(tx).await?;
    let mut count = 0;
    for (id, sealed) in &kept {
        let context = app::ssr::setup_links::seal_context(id);
        let resealed = old_key
            .open(&context, sealed)
            .ok()
            .map(|secret| new_key.seal(&context, &secret));
        secrets::keep_on_link(tx, id, resealed.as_deref()).await?;
        count += usize::from(resealed.is_some());
    }
    Ok(count)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_new_key_file_sits_next_to_the_key() {
        assert_eq!(
            default_new_key_file(Path::new("data/secret.key")),
            PathBuf::from("data/secret.key.new")
        );
    }
}
