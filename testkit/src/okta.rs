//! The local Okta (`end2end/okta-dev`, Node's oidc-provider shaped like Okta) as a child
//! process, with the client entries Tessera registers in it.

use crate::{free_port, repo_root};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncBufReadExt as _;

/// An okta-dev client entry for a Tessera at `tessera` (its callback and its initiate-login
/// URI, for the dashboard tile); see end2end/okta-dev/README.md.
pub fn okta_client(tessera: &str, client_id: &str, secret: &str, name: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_secret": secret,
        "redirect_uris": [format!("{tessera}/sso/callback")],
        "initiate_login_uri": format!("{tessera}/sso/initiate"),
        "name": name,
    })
}

/// Why okta-dev did not start.
#[derive(Debug)]
pub enum StartError {
    /// It exited before it was ready (e.g. its port was taken).
    Exited(String),
    /// Anything else: node or its modules missing, or no ready line in time.
    Other(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Exited(e) | StartError::Other(e) => f.write_str(e),
        }
    }
}

/// The local Okta running as a child process; killed on drop.
pub struct OktaDev {
    /// Its issuer, as it printed it when ready.
    pub issuer: String,
    child: tokio::process::Child,
}

impl OktaDev {
    /// Starts okta-dev with the given clients (JSON array, see end2end/okta-dev/README.md).
    ///
    /// The port is picked free but another process can take it before okta-dev binds it; when
    /// okta-dev exits before it is ready, it is started again on another port (three tries).
    pub async fn start(clients: Value) -> OktaDev {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(free_port(), clients.clone(), &[], Stdio::inherit()).await {
                Ok(okta) => return okta,
                Err(StartError::Exited(e)) => last = e,
                Err(StartError::Other(e)) => panic!("{e}"),
            }
        }
        panic!("{last}")
    }

    /// Starts okta-dev on `port` (e.g. again on the port of a stopped one: same issuer).
    pub async fn start_on(port: u16, clients: Value) -> OktaDev {
        Self::start_on_with_env(port, clients, &[]).await
    }

    /// Like [`OktaDev::start_on`], with extra environment (e.g. `OKTA_DEV_ISSUER_PATH`).
    pub async fn start_on_with_env(port: u16, clients: Value, env: &[(&str, &str)]) -> OktaDev {
        match Self::try_start(port, clients, env, Stdio::inherit()).await {
            Ok(okta) => okta,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts okta-dev on `port` with its stderr going to `stderr`, and waits until it says it
    /// is ready; what went wrong is the error.
    pub async fn try_start(
        port: u16,
        clients: Value,
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Result<OktaDev, StartError> {
        let root = repo_root().join("end2end");
        if !root.join("node_modules/oidc-provider").is_dir() {
            return Err(StartError::Other(
                "end2end/node_modules is missing: run `npm ci` in end2end/ (make test does)".into(),
            ));
        }
        let mut child = tokio::process::Command::new("node")
            .arg(root.join("okta-dev/server.mjs"))
            .env("PORT", port.to_string())
            .env("OKTA_DEV_CLIENTS", clients.to_string())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                StartError::Other(format!(
                    "cannot start node end2end/okta-dev/server.mjs: {e}"
                ))
            })?;
        match ready_line(&mut child, "okta-dev ready ").await {
            Ok(issuer) => Ok(OktaDev { issuer, child }),
            Err(e) => match child.try_wait() {
                Ok(Some(status)) => Err(StartError::Exited(format!(
                    "okta-dev exited before it was ready ({status}; its stderr says why): {e}"
                ))),
                _ => Err(StartError::Other(format!(
                    "okta-dev did not become ready: {e}"
                ))),
            },
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        url::Url::parse(&self.issuer)
            .ok()
            .and_then(|u| u.port())
            .expect("issuer port")
    }

    /// Its process id (0 once it has exited).
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    /// Kills it and waits until it has exited (its port is closed afterwards).
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
    }

    /// Publishes a new signing key (`drop_old`: and withdraws the old one).
    pub async fn rotate_keys(&self, drop_old: bool) {
        let url = format!(
            "{}/__dev/rotate-keys{}",
            self.issuer,
            if drop_old { "?drop_old=1" } else { "" }
        );
        let r = reqwest::Client::new()
            .post(url)
            .send()
            .await
            .expect("rotate keys");
        assert!(r.status().is_success());
    }

    /// Adds (or replaces) a user: `{"username", "email", "name", "claims": {…}, "assigned"}`
    /// as end2end/okta-dev/README.md describes; their password is `password`.
    pub async fn add_user(&self, user: Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/__dev/users", self.issuer))
            .json(&user)
            .send()
            .await
            .expect("add user");
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// Changes the email address okta-dev gives `user`.
    pub async fn set_email(&self, user: &str, email: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/__dev/users/{user}/email", self.issuer))
            .json(&json!({ "email": email }))
            .send()
            .await
            .expect("set email");
        assert!(r.status().is_success());
    }
}

impl Drop for OktaDev {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Reads a child's stdout until a line starts with `prefix` (within 60 s) and returns the rest
/// of that line; then keeps draining stdout so the child never blocks on a full pipe.
pub async fn ready_line(child: &mut tokio::process::Child, prefix: &str) -> Result<String, String> {
    let stdout = child.stdout.take().ok_or("its stdout is not piped")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let found = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix(prefix) {
                return Some(rest.trim().to_string());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| format!("no `{prefix}` line"))?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(found)
}

impl From<StartError> for String {
    fn from(e: StartError) -> String {
        e.to_string()
    }
}
