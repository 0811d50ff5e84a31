//! A release `tessera serve` as a child process on a free port, with its own secret key file,
//! and the `tessera` CLI on the same database for setup.

use crate::proc_stats;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The release binary: `TESSERA_BIN`, else `$CARGO_TARGET_DIR/release/tessera`, else
/// `target/release/tessera` in the repository.
pub fn binary() -> PathBuf {
    if let Ok(b) = std::env::var("TESSERA_BIN")
        && !b.is_empty()
    {
        return PathBuf::from(b);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::repo_root().join("target"));
    target.join("release").join("tessera")
}

pub struct Tessera {
    pub url: String,
    pub pid: u32,
    pub log: PathBuf,
    bin: PathBuf,
    db_url: String,
    dir: tempfile::TempDir,
    child: Option<tokio::process::Child>,
}

impl Tessera {
    /// Prepares a Tessera on `db_url` (a port, a key file, a log file); not yet serving.
    pub fn new(db_url: &str) -> Tessera {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = crate::free_port();
        Tessera {
            url: format!("http://127.0.0.1:{port}"),
            pid: 0,
            log: dir.path().join("tessera.log"),
            bin: binary(),
            db_url: db_url.to_string(),
            dir,
            child: None,
        }
    }

    fn global_args(&self) -> Vec<String> {
        let bind = self.url.trim_start_matches("http://").to_string();
        vec![
            "--database-url".into(),
            self.db_url.clone(),
            "--public-url".into(),
            self.url.clone(),
            "--bind".into(),
            bind,
            "--secret-key-file".into(),
            self.dir.path().join("secret.key").display().to_string(),
            "--allow-http-issuers".into(),
            "--site-root".into(),
            crate::repo_root().join("target/site").display().to_string(),
        ]
    }

    /// Runs one CLI command on this Tessera's database; its stdout, or its stderr as the error.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let out = std::process::Command::new(&self.bin)
            .args(self.global_args())
            .args(args)
            .env_remove("TESSERA_DATABASE_URL")
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

    /// Creates org `slug` connected to `issuer` with the given client, SSO enabled.
    pub fn register_org(
        &self,
        slug: &str,
        issuer: &str,
        client_id: &str,
        secret: &str,
    ) -> Result<(), String> {
        self.cli(&["org", "create", slug, "--name", &format!("{slug} Inc")])?;
        let secret_file = self.dir.path().join(format!("{slug}.secret"));
        std::fs::write(&secret_file, secret).map_err(|e| e.to_string())?;
        let secret_path = secret_file.display().to_string();
        self.cli(&[
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
        self.cli(&["sso", "enable", slug])?;
        Ok(())
    }

    /// Starts `tessera serve` (under `BENCH_TESSERA_WRAPPER` when set, e.g. valgrind) and waits
    /// for `/healthz`. Logs (default level `info`, as in production) go to `self.log`.
    pub async fn start(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(&self.log).map_err(|e| e.to_string())?;
        let wrapper = crate::wrapper();
        let mut cmd = match &wrapper {
            Some(w) => {
                let mut parts = w.split_whitespace();
                let mut c = tokio::process::Command::new(parts.next().unwrap_or("env"));
                c.args(parts).arg(&self.bin);
                c
            }
            None => tokio::process::Command::new(&self.bin),
        };
        cmd.args(self.global_args())
            .arg("serve")
            .env_remove("TESSERA_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        self.pid = child.id().ok_or("tessera exited at once")?;
        self.child = Some(child);
        let client = reqwest::Client::new();
        let deadline =
            Instant::now() + Duration::from_secs(if wrapper.is_some() { 120 } else { 30 });
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.url)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(format!(
                    "tessera serve exited ({status}); log: {}",
                    self.tail_log()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "tessera serve did not answer /healthz; log: {}",
                    self.tail_log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// User + system CPU seconds of the serving process so far.
    pub fn cpu_seconds(&self) -> f64 {
        proc_stats::cpu_seconds(self.pid).unwrap_or(f64::NAN)
    }

    /// Peak resident set size of the serving process (VmHWM), MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        proc_stats::peak_rss_mib(self.pid)
    }

    /// The last lines of the server log.
    pub fn tail_log(&self) -> String {
        tail(&self.log, 8)
    }

    /// SIGTERM (graceful shutdown; valgrind writes its profile), then waits up to 60 s.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if self.pid != 0 {
                // SAFETY: signalling our own child by its pid.
                unsafe {
                    libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
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

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
