//! The operator CLI driven as a real process, on a temp SQLite file and on PostgreSQL.

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use support::{TestDb, databases, tessera_bin};

const SECRET: &str = "Zq8-very-secret-client-secret-4711";

struct Cli {
    db: TestDb,
    dir: tempfile::TempDir,
}

impl Cli {
    fn new(db: TestDb) -> Cli {
        Cli {
            db,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(tessera_bin());
        c.current_dir(self.dir.path())
            .env_remove("TESSERA_ALLOW_HTTP_ISSUERS")
            .env("TESSERA_DATABASE_URL", &self.db.url)
            .env(
                "TESSERA_SECRET_KEY_FILE",
                self.dir.path().join("secret.key"),
            )
            .env("TESSERA_PUBLIC_URL", "https://sso.example.com")
            .args(args);
        c
    }

    /// Runs with `stdin` piped in; returns (success, stdout, stderr).
    fn run(&self, args: &[&str], stdin: &str) -> (bool, String, String) {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let (ok, out, err) = self.run(args, stdin);
        assert!(ok, "{args:?} failed on {}: {out}{err}", self.db.kind);
        out
    }

    /// Must fail with exactly one line on stderr, starting with `error:`.
    fn refused(&self, args: &[&str], stdin: &str) -> String {
        let (ok, out, err) = self.run(args, stdin);
        assert!(!ok, "{args:?} should fail on {}: {out}", self.db.kind);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {err:?}");
        assert!(lines[0].starts_with("error:"), "{err}");
        err
    }

    fn state(&self) -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_str(&self.ok(&["org", "list", "--json"], "")).unwrap();
        // Timestamps are not part of "nothing changed" except where they change with writes.
        for o in v.as_array_mut().unwrap() {
            o.as_object_mut().unwrap().remove("created_at");
        }
        v
    }
}

#[tokio::test]
async fn operator_registers_an_org_and_its_okta_connection() {
    for db in databases().await {
        let cli = Cli::new(db);
        cli.ok(&["migrate"], "");
        let out = cli.ok(&["org", "create", "acme", "--name", "Acme Inc"], "");
        assert!(out.contains("Created org acme"), "{out}");

        // http issuer refused without the flag, accepted with it.
        let err = cli.refused(
            &[
                "sso",
                "set",
                "acme",
                "--issuer",
                "http://127.0.0.1:4000",
                "--client-id",
                "x",
                "--client-secret-file",
                "-",
            ],
            SECRET,
        );
        assert!(err.contains("--allow-http-issuers"), "{err}");
        cli.ok(
            &[
                "--allow-http-issuers",
                "sso",
                "set",
                "acme",
                "--issuer",
                "http://127.0.0.1:4000/",
                "--client-id",
                "x",
                "--client-secret-file",
                "-",
            ],
            &format!("{SECRET}\n"),
        );

        let show = cli.ok(&["org", "show", "acme"], "");
        assert!(
            show.contains("Initiate login URI:   https://sso.example.com/sso/initiate"),
            "{show}"
        );
        assert!(
            show.contains("Sign-in redirect URI: https://sso.example.com/sso/callback"),
            "{show}"
        );
        assert!(show.contains("disabled"), "{show}");

        cli.ok(&["sso", "enable", "acme"], "");
        let json: serde_json::Value =
            serde_json::from_str(&cli.ok(&["org", "show", "acme", "--json"], "")).unwrap();
        assert_eq!(json["slug"], "acme");
        assert_eq!(json["name"], "Acme Inc");
        assert_eq!(json["sso_state"], "enabled");
        assert_eq!(json["sso"]["issuer"], "http://127.0.0.1:4000");
        assert_eq!(json["sso"]["client_id"], "x");
        assert_eq!(
            json["initiate_login_uri"],
            "https://sso.example.com/sso/initiate"
        );
        assert_eq!(
            json["sign_in_redirect_uri"],
            "https://sso.example.com/sso/callback"
        );
        assert!(!json.to_string().contains(SECRET));

        // --okta-domain becomes the https org issuer; the secret may come from a file.
        cli.ok(&["org", "create", "globex", "--name", "Globex"], "");
        let secret_file = cli.dir.path().join("globex.secret");
        std::fs::write(&secret_file, "globex-secret-value\n").unwrap();
        cli.ok(
            &[
                "sso",
                "set",
                "globex",
                "--okta-domain",
                "Globex.okta.com",
                "--client-id",
                "0oa1",
                "--client-secret-file",
                secret_file.to_str().unwrap(),
            ],
            "",
        );
        let list: serde_json::Value =
            serde_json::from_str(&cli.ok(&["org", "list", "--json"], "")).unwrap();
        let slugs: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["acme", "globex"]);
        assert_eq!(list[1]["sso"]["issuer"], "https://globex.okta.com");
        assert_eq!(list[1]["sso_state"], "disabled");
        let table = cli.ok(&["org", "list"], "");
        assert!(
            table.contains("acme") && table.contains("enabled") && table.contains("globex"),
            "{table}"
        );

        cli.ok(&["sso", "disable", "acme"], "");
        let json: serde_json::Value =
            serde_json::from_str(&cli.ok(&["org", "show", "acme", "--json"], "")).unwrap();
        assert_eq!(json["sso_state"], "disabled");

        assert_secret_not_stored(&cli.db, SECRET).await;
        assert_secret_not_stored(&cli.db, "globex-secret-value").await;
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_one_line_and_changes_nothing() {
    for db in databases().await {
        let cli = Cli::new(db);
        cli.ok(&["org", "create", "acme", "--name", "Acme"], "");
        cli.ok(&["org", "create", "other", "--name", "Other"], "");
        cli.ok(
            &[
                "sso",
                "set",
                "acme",
                "--okta-domain",
                "acme.okta.com",
                "--client-id",
                "x",
                "--client-secret-file",
                "-",
            ],
            SECRET,
        );
        let before = cli.state();
        let missing = cli.dir.path().join("missing.secret");
        let cases: Vec<(Vec<&str>, &str, &str)> = vec![
            (vec!["org", "create", "Bad_Slug", "--name", "X"], "", "slug"),
            (vec!["org", "create", "x-", "--name", "X"], "", "slug"),
            (
                vec!["org", "create", "acme", "--name", "Again"],
                "",
                "already exists",
            ),
            (vec!["org", "create", "fresh", "--name", "   "], "", "name"),
            (vec!["org", "show", "nope"], "", "no org"),
            (vec!["sso", "enable", "nope"], "", "no org"),
            (vec!["sso", "enable", "other"], "", "no Okta connection"),
            (
                vec![
                    "sso",
                    "set",
                    "nope",
                    "--okta-domain",
                    "n.okta.com",
                    "--client-id",
                    "x",
                    "--client-secret-file",
                    "-",
                ],
                SECRET,
                "no org",
            ),
            (
                vec![
                    "sso",
                    "set",
                    "other",
                    "--okta-domain",
                    "acme.okta.com",
                    "--client-id",
                    "x",
                    "--client-secret-file",
                    "-",
                ],
                SECRET,
                "already connected",
            ),
            (
                vec![
                    "sso",
                    "set",
                    "other",
                    "--issuer",
                    "https://ACME.okta.com/",
                    "--client-id",
                    "x",
                    "--client-secret-file",
                    "-",
                ],
                SECRET,
                "already connected",
            ),
            (
                vec![
                    "sso",
                    "set",
                    "other",
                    "--issuer",
                    "not a url",
                    "--client-id",
                    "x",
                    "--client-secret-file",
                    "-",
                ],
                SECRET,
                "invalid issuer",
            ),
            (
                vec![
                    "sso",
                    "set",
                    "other",
                    "--issuer",
                    "https://x.okta.com/?q=1",
                    "--client-id",
                    "x",
                    "--client-secret-file",
                    "-",
                ],
                SECRET,
                "query",
            ),
            (
                vec![
                    "sso",
                    "set",
                    "other",
                    "--okta-domain",
                    "not a domain",
                    "--client-id",
                    "x",
                    "--client-secret-file",
                    "-",
                ],
                SECRET,
                "Okta domain",
            ),
            (
                vec![
                    "sso",
                    "set",
                    "other",
                    "--okta-domain",
                    "o.okta.com",
                    "--client-id",
                    "x",
                    "--client-secret-file",
                    "-",
                ],
                "  \n",
                "empty",
            ),
            (
                vec![
                    "sso",
                    "set",
                    "other",
                    "--okta-domain",
                    "o.okta.com",
                    "--client-id",
                    "",
                    "--client-secret-file",
                    "-",
                ],
                SECRET,
                "client ID",
            ),
            (
                vec![
                    "sso",
                    "set",
                    "other",
                    "--okta-domain",
                    "o.okta.com",
                    "--client-id",
                    "x",
                    "--client-secret-file",
                    missing.to_str().unwrap(),
                ],
                "",
                "cannot read",
            ),
            (
                vec!["--database-url", "mysql://x/y", "org", "list"],
                "",
                "unsupported database",
            ),
        ];
        for (args, stdin, expect) in &cases {
            let err = cli.refused(args, stdin);
            assert!(err.contains(expect), "{args:?}: {err}");
            assert_eq!(
                cli.state(),
                before,
                "{args:?} changed the store on {}",
                cli.db.kind
            );
        }
        // Usage errors come from clap (exit 2) and change nothing either.
        let (ok, _, err) = cli.run(
            &[
                "sso",
                "set",
                "acme",
                "--client-id",
                "x",
                "--client-secret-file",
                "-",
            ],
            SECRET,
        );
        assert!(!ok && err.contains("--okta-domain"), "{err}");
        let (ok, _, _) = cli.run(
            &[
                "sso",
                "set",
                "acme",
                "--okta-domain",
                "a.okta.com",
                "--issuer",
                "https://a.okta.com",
                "--client-id",
                "x",
                "--client-secret-file",
                "-",
            ],
            SECRET,
        );
        assert!(!ok);
        let (ok, _, _) = cli.run(&["org", "frobnicate"], "");
        assert!(!ok);
        assert_eq!(cli.state(), before);
    }
}

/// The secret's bytes appear nowhere in the database (the SQLite files, or any PostgreSQL row).
async fn assert_secret_not_stored(db: &TestDb, secret: &str) {
    match db.kind {
        "sqlite" => {
            let path = db.url.trim_start_matches("sqlite://");
            for suffix in ["", "-wal", "-shm"] {
                if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                        "plaintext secret found in {path}{suffix}"
                    );
                }
            }
        }
        _ => {
            use sqlx::{Connection as _, Row as _};
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let rows = sqlx::query("SELECT row_to_json(s)::text AS j FROM sso_connections s")
                .fetch_all(&mut c)
                .await
                .unwrap();
            assert!(!rows.is_empty());
            for r in rows {
                let j: String = r.get("j");
                assert!(
                    !j.contains(secret),
                    "plaintext secret in sso_connections: {j}"
                );
                assert!(j.contains("v1:"), "secret is not sealed: {j}");
            }
        }
    }
}

#[tokio::test]
async fn serve_answers_health_probes_and_stops_on_sigterm() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let port = support::free_port();
        let mut child = Command::new(tessera_bin())
            .current_dir(dir.path())
            .args([
                "--database-url",
                &db.url,
                "--bind",
                &format!("127.0.0.1:{port}"),
                "serve",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut up = false;
        for _ in 0..100 {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
                assert_eq!(r.status(), 200);
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(up, "server did not come up on {}", db.kind);
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        // The default key file is created with mode 0600 on first start.
        let key = dir.path().join("data/secret.key");
        assert_eq!(std::fs::read(&key).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
                0o600
            );
            let pid = child.id().to_string();
            assert!(
                Command::new("kill")
                    .args(["-TERM", &pid])
                    .status()
                    .unwrap()
                    .success()
            );
            let status = child.wait().unwrap();
            assert!(status.success(), "exit after SIGTERM: {status:?}");
        }
        #[cfg(not(unix))]
        let _ = child.kill();
    }
}

#[tokio::test]
async fn default_database_is_a_sqlite_file_under_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(tessera_bin())
        .current_dir(dir.path())
        .env_remove("TESSERA_DATABASE_URL")
        .args(["migrate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/tessera.db").is_file());
}
