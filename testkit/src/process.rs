//! The `tessera` binary as a child process: the operator CLI on a database ([`Flags`]) and
//! `tessera serve` waited on until ready ([`Node`]). Tests use it where the real process
//! matters (several nodes, logs, exit codes); the benchmarks measure a release build this way.
//!
//! Every `TESSERA_*` variable of the calling process is removed from the child's environment,
//! so the flags given here are the whole configuration.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The global flags of one Tessera: the binary and what every command of it shares.
#[derive(Clone, Debug)]
pub struct Flags {
    /// The `tessera` binary (default: [`crate::tessera_bin`]).
    pub bin: PathBuf,
    pub database_url: String,
    /// `--public-url`, when set.
    pub public_url: Option<String>,
    pub secret_key_file: PathBuf,
    /// `--allow-http-issuers` (on by default: the fake providers and the local Okta are http).
    pub allow_http_issuers: bool,
    /// More global flags, e.g. `["--log-format", "json"]`.
    pub extra: Vec<String>,
}

impl Flags {
    /// Flags for the database at `database_url` with the secret key in `secret_key_file`, for
    /// the binary cargo built beside the running program ([`crate::tessera_bin`]).
    pub fn new(database_url: &str, secret_key_file: &Path) -> Flags {
        Flags::for_binary(crate::tessera_bin(), database_url, secret_key_file)
    }

    /// Like [`Flags::new`], for the binary at `bin`.
    pub fn for_binary(bin: PathBuf, database_url: &str, secret_key_file: &Path) -> Flags {
        Flags {
            bin,
            database_url: database_url.to_string(),
            public_url: None,
            secret_key_file: secret_key_file.to_path_buf(),
            allow_http_issuers: true,
            extra: vec![],
        }
    }

    /// With `--public-url url`.
    pub fn public_url(mut self, url: &str) -> Flags {
        self.public_url = Some(url.to_string());
        self
    }

    /// Without `--allow-http-issuers`, as in production.
    pub fn strict(mut self) -> Flags {
        self.allow_http_issuers = false;
        self
    }

    /// With more global flags.
    pub fn with(mut self, extra: &[&str]) -> Flags {
        self.extra.extend(extra.iter().map(|s| s.to_string()));
        self
    }

    /// The global flags as arguments.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--database-url".into(),
            self.database_url.clone(),
            "--secret-key-file".into(),
            self.secret_key_file.display().to_string(),
        ];
        if let Some(url) = &self.public_url {
            args.extend(["--public-url".into(), url.clone()]);
        }
        if self.allow_http_issuers {
            args.push("--allow-http-issuers".into());
        }
        args.extend(self.extra.iter().cloned());
        args
    }

    /// `tessera <flags>`, ready for a command's arguments.
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.bin);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TESSERA_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(self.args());
        cmd
    }

    /// Runs `tessera <flags> <args>`: its stdout, or its stderr as the error.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        if !out.status.success() {
            return Err(format!(
                "tessera {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Creates org `slug` (named `<slug> Inc`) with an Okta connection to `issuer` and enables
    /// SSO, through the CLI; the client secret goes through a file in `dir`.
    pub fn register_org(
        &self,
        dir: &Path,
        slug: &str,
        issuer: &str,
        client_id: &str,
        secret: &str,
    ) -> Result<(), String> {
        self.run(&["org", "create", slug, "--name", &format!("{slug} Inc")])?;
        let secret_file = dir.join(format!("{slug}.secret"));
        std::fs::write(&secret_file, secret)
            .map_err(|e| format!("{}: {e}", secret_file.display()))?;
        let secret_path = secret_file.display().to_string();
        self.run(&[
            "sso",
            "set",
            slug,
            "--issuer",
            issuer,
            "--client-id",
            client_id,
            "--client-secret-file",
            &secret_path,
        ])?;
        self.run(&["sso", "enable", slug])?;
        Ok(())
    }
}

/// How a [`Node`] is started besides its flags.
#[derive(Clone, Debug)]
pub struct Launch {
    /// Extra environment, e.g. `TESSERA_LOG=info`.
    pub env: Vec<(String, String)>,
    /// A command prefix to run it under (e.g. `valgrind --tool=callgrind`), split on spaces.
    pub wrapper: Option<String>,
    /// How long it may take to answer `/readyz`.
    pub ready_within: Duration,
}

impl Default for Launch {
    fn default() -> Launch {
        Launch {
            env: vec![],
            wrapper: None,
            ready_within: Duration::from_secs(60),
        }
    }
}

impl Launch {
    /// With `TESSERA_LOG=<level>`.
    pub fn log_level(mut self, level: &str) -> Launch {
        self.env.push(("TESSERA_LOG".into(), level.into()));
        self
    }
}

/// One `tessera serve` process on 127.0.0.1; killed when dropped.
pub struct Node {
    /// `http://127.0.0.1:<port>`, where it listens.
    pub url: String,
    /// Its process id.
    pub pid: u32,
    /// The file its stderr (the log) goes to.
    pub log: PathBuf,
    child: Option<tokio::process::Child>,
}

impl Node {
    /// Starts `tessera <flags> --bind 127.0.0.1:<port> serve` and waits until `/readyz` answers
    /// 200; panics with the log when it exits or never becomes ready.
    pub async fn start(flags: &Flags, port: u16, log: &Path, launch: &Launch) -> Node {
        match Node::try_start(flags, port, log, launch).await {
            Ok(node) => node,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Node::start`], with what went wrong as the error.
    pub async fn try_start(
        flags: &Flags,
        port: u16,
        log: &Path,
        launch: &Launch,
    ) -> Result<Node, String> {
        let url = format!("http://127.0.0.1:{port}");
        let stderr = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = match &launch.wrapper {
            Some(w) => {
                let mut parts = w.split_whitespace();
                let mut c = tokio::process::Command::new(parts.next().unwrap_or("env"));
                c.args(parts).arg(&flags.bin);
                c
            }
            None => tokio::process::Command::new(&flags.bin),
        };
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TESSERA_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(flags.args())
            .args(["--bind", &format!("127.0.0.1:{port}"), "serve"])
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", flags.bin.display()))?;
        let mut node = Node {
            url,
            pid: child.id().unwrap_or_default(),
            log: log.to_path_buf(),
            child: Some(child),
        };
        let probe = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + launch.ready_within;
        loop {
            if let Some(Ok(Some(status))) = node.child.as_mut().map(|c| c.try_wait()) {
                return Err(format!(
                    "tessera serve on {} exited with {status}:\n{}",
                    node.url,
                    node.log_text()
                ));
            }
            if let Ok(r) = probe.get(format!("{}/readyz", node.url)).send().await
                && r.status() == 200
            {
                return Ok(node);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "tessera serve on {} never became ready:\n{}",
                    node.url,
                    node.log_text()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM (a graceful shutdown; a wrapper such as valgrind writes its profile), then waits
    /// up to 60 s before killing it.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            #[cfg(unix)]
            if let Some(pid) = child.id() {
                // SAFETY: signalling our own child by its pid.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGTERM);
                }
            }
            if tokio::time::timeout(Duration::from_secs(60), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// Runs a command, asserting success; returns stdout.
pub fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command to its end: (success, stdout, stderr).
pub fn run(cmd: &mut std::process::Command) -> (bool, String, String) {
    let out = cmd.output().expect("run command");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
