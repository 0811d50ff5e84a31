//! A release `tessera serve` as a child process on a free port, with its own secret key file,
//! and the `tessera` CLI on the same database for setup: the test kit's [`Flags`] and [`Node`],
//! plus the process figures the benchmarks report.

use crate::proc_stats;
use std::path::PathBuf;
use std::sync::Arc;
use testkit::process::{Flags, Launch, Node};

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

/// One Tessera of a benchmark: prepared by [`Tessera::new`], serving after [`Tessera::start`].
pub struct Tessera {
    /// `http://127.0.0.1:<port>`, its public URL.
    pub url: String,
    /// The serving process's id (0 before [`Tessera::start`]).
    pub pid: u32,
    /// Its log (stderr).
    pub log: PathBuf,
    port: u16,
    flags: Flags,
    /// The secret key file and the logs; shared with [`Tessera::sibling`]s.
    dir: Arc<tempfile::TempDir>,
    node: Option<Node>,
}

impl Tessera {
    /// Prepares a Tessera on `db_url` (a port, a key file, a log file); not yet serving.
    pub fn new(db_url: &str) -> Tessera {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = crate::free_port();
        let url = format!("http://127.0.0.1:{port}");
        let site_root = crate::repo_root().join("target/site").display().to_string();
        let flags = Flags::for_binary(binary(), db_url, &dir.path().join("secret.key"))
            .public_url(&url)
            .with(&["--site-root", &site_root]);
        Tessera {
            url,
            pid: 0,
            log: dir.path().join(format!("tessera-{port}.log")),
            port,
            flags,
            dir: Arc::new(dir),
            node: None,
        }
    }

    /// Another node of the same deployment, not yet serving: the same database and secret key
    /// file (as nodes behind a load balancer share them), its own port, public URL and log.
    pub fn sibling(&self) -> Tessera {
        let port = crate::free_port();
        let url = format!("http://127.0.0.1:{port}");
        Tessera {
            url: url.clone(),
            pid: 0,
            log: self.dir.path().join(format!("tessera-{port}.log")),
            port,
            flags: self.flags.clone().public_url(&url),
            dir: self.dir.clone(),
            node: None,
        }
    }

    /// Runs one CLI command on this Tessera's database; its stdout, or its stderr as the error.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        self.flags.run(args)
    }

    /// Creates org `slug` connected to `issuer` with the given client, SSO enabled.
    pub fn register_org(
        &self,
        slug: &str,
        issuer: &str,
        client_id: &str,
        secret: &str,
    ) -> Result<(), String> {
        self.flags
            .register_org(self.dir.path(), slug, issuer, client_id, secret)
    }

    /// Starts `tessera serve` (under `BENCH_TESSERA_WRAPPER` when set, e.g. valgrind) and waits
    /// until it is ready. Logs (default level `info`, as in production) go to `self.log`.
    pub async fn start(&mut self) -> Result<(), String> {
        let wrapper = crate::wrapper();
        let launch = Launch {
            ready_within: std::time::Duration::from_secs(if wrapper.is_some() { 120 } else { 30 }),
            wrapper,
            ..Launch::default()
        };
        let node = Node::try_start(&self.flags, self.port, &self.log, &launch).await?;
        self.pid = node.pid;
        self.node = Some(node);
        Ok(())
    }

    /// User + system CPU seconds of the serving process so far.
    pub fn cpu_seconds(&self) -> f64 {
        proc_stats::cpu_seconds(self.pid).unwrap_or(f64::NAN)
    }

    /// Peak resident set size of the serving process (VmHWM), MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        proc_stats::peak_rss_mib(self.pid)
    }

    /// SIGTERM (graceful shutdown; valgrind writes its profile), then waits up to 60 s.
    pub async fn stop(&mut self) {
        if let Some(mut node) = self.node.take() {
            node.stop().await;
        }
    }
}
