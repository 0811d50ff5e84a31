//! Test support: a fresh database per test (a temp SQLite file, and a fresh PostgreSQL
//! database when one is reachable), the real server in-process on a free port, and the local
//! Okta (end2end/okta-dev) as a child process.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncBufReadExt as _;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database for one test; dropped PostgreSQL databases are removed.
pub struct TestDb {
    pub kind: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_admin.take() {
            // Best effort: drop the per-test database on a separate thread/runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        use sqlx::Connection as _;
                        if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
    TestDb { kind: "sqlite", url, _dir: Some(dir), pg_admin: None }
}

/// A fresh PostgreSQL database, or `None` (said loudly) when no server answers. With
/// `TESSERA_REQUIRE_POSTGRES=1` (set by `make test` in CI) an absent server fails the test.
pub async fn postgres() -> Option<TestDb> {
    use sqlx::Connection as _;
    let admin = std::env::var("TESSERA_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_string());
    let required = std::env::var("TESSERA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            if required {
                panic!("TESSERA_REQUIRE_POSTGRES=1 but PostgreSQL at {admin} is unreachable: {e}");
            }
            eprintln!("!!!!! SKIPPING the PostgreSQL leg of this test: {admin} is unreachable ({e}) !!!!!");
            return None;
        }
    };
    let name = format!("tessera_t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&admin).expect("postgres url");
    url.set_path(&format!("/{name}"));
    Some(TestDb { kind: "postgres", url: url.to_string(), _dir: None, pg_admin: Some((admin, name)) })
}

/// SQLite always, plus PostgreSQL when reachable: run a test body on each.
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    if let Some(pg) = postgres().await {
        dbs.push(pg);
    }
    dbs
}

/// Path of the built `tessera` binary (integration tests run it as a real process).
pub fn tessera_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tessera"))
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The local Okta (end2end/okta-dev) running as a child process; killed on drop.
pub struct OktaDev {
    pub issuer: String,
    child: tokio::process::Child,
}

impl OktaDev {
    /// Starts okta-dev with the given clients (JSON array, see end2end/okta-dev/README.md).
    pub async fn start(clients: serde_json::Value) -> OktaDev {
        let root = repo_root().join("end2end");
        assert!(
            root.join("node_modules/oidc-provider").is_dir(),
            "end2end/node_modules is missing: run `npm ci` in end2end/ (make test does)"
        );
        let port = free_port();
        let mut child = tokio::process::Command::new("node")
            .arg(root.join("okta-dev/server.mjs"))
            .env("PORT", port.to_string())
            .env("OKTA_DEV_CLIENTS", clients.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start node end2end/okta-dev/server.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(issuer) = line.strip_prefix("okta-dev ready ") {
                    return Some(issuer.trim().to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("okta-dev did not become ready");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        OktaDev { issuer: ready, child }
    }

    pub async fn rotate_keys(&self, drop_old: bool) {
        let url = format!("{}/__dev/rotate-keys{}", self.issuer, if drop_old { "?drop_old=1" } else { "" });
        let r = reqwest::Client::new().post(url).send().await.expect("rotate keys");
        assert!(r.status().is_success());
    }

    pub async fn set_email(&self, user: &str, email: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/__dev/users/{user}/email", self.issuer))
            .json(&serde_json::json!({ "email": email }))
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

/// The real Tessera router and store, in-process on a free port, with its own secret key.
pub struct TestServer {
    pub url: String,
    pub store: app::ssr::store::Store,
    pub config: tessera::config::Config,
    dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    /// Starts Tessera on `db` with http issuers allowed (the local Okta is http).
    pub async fn start(db: &TestDb) -> TestServer {
        Self::start_with(db, &[]).await
    }

    /// Starts Tessera with extra global flags, e.g. `["--session-idle-timeout", "2s"]`.
    pub async fn start_with(db: &TestDb, extra: &[&str]) -> TestServer {
        use clap::Parser as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let url = format!("http://{addr}");
        let key_file = dir.path().join("secret.key");
        let mut args: Vec<String> = vec![
            "tessera".into(),
            "--database-url".into(),
            db.url.clone(),
            "--public-url".into(),
            url.clone(),
            "--bind".into(),
            addr.to_string(),
            "--secret-key-file".into(),
            key_file.display().to_string(),
            "--allow-http-issuers".into(),
            "--idp-timeout".into(),
            "5s".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push("serve".into());
        let cli = tessera::config::Cli::try_parse_from(&args).expect("test config");
        let config = cli.config;
        let store = tessera::open_store(&config).await.expect("open store");
        let key = app::ssr::crypto::SecretKey::load_or_create(&key_file).expect("key");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (c, s) = (config.clone(), store.clone());
        tokio::spawn(async move {
            let _ = tessera::http::serve_on(listener, c, s, key, async {
                let _ = rx.await;
            })
            .await;
        });
        TestServer { url, store, config, dir, shutdown: Some(tx) }
    }

    /// The `tessera` binary as a real process with this server's database, key and public URL.
    pub fn cli(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(tessera_bin());
        cmd.arg("--database-url")
            .arg(&self.config.database_url)
            .arg("--public-url")
            .arg(&self.config.public_url)
            .arg("--secret-key-file")
            .arg(&self.config.secret_key_file)
            .arg("--allow-http-issuers")
            .env_remove("TESSERA_DATABASE_URL");
        cmd
    }

    /// Registers org `slug` with an Okta connection to `issuer` and enables SSO (via the CLI).
    pub fn register_org(&self, slug: &str, issuer: &str, client_id: &str, secret: &str) {
        run_ok(self.cli().args(["org", "create", slug, "--name", &format!("{slug} Inc")]));
        let secret_file = self.dir.path().join(format!("{slug}.secret"));
        std::fs::write(&secret_file, secret).expect("write secret");
        run_ok(self.cli().args(["sso", "set", slug, "--issuer", issuer, "--client-id", client_id, "--client-secret-file"]).arg(&secret_file));
        run_ok(self.cli().args(["sso", "enable", slug]));
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
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
