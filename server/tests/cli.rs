//! The operator CLI driven as a real process, on a temp SQLite file and on PostgreSQL.

use serde_json::json;
use std::io::Write as _;
use std::process::{Command, Stdio};
use testkit::{TestDb, databases, okta_client, sql_exec, sql_row, sql_rows, tessera_bin};

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
        // A command refused before it reads stdin closes it: that broken pipe is not a failure.
        if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
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
        let port = testkit::free_port();
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

/// `tessera org list | head -0`: the reader is gone before the command writes; it ends
/// quietly (as command-line tools do), never with a panic and its backtrace.
#[cfg(unix)]
#[tokio::test]
async fn a_closed_pipe_ends_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt as _;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let key = dir.path().join("secret.key");
    let base = |args: &[&str]| {
        let mut c = Command::new(tessera_bin());
        c.env_remove("TESSERA_DATABASE_URL")
            .arg("--database-url")
            .arg(&db)
            .arg("--secret-key-file")
            .arg(&key)
            .args(args);
        c
    };
    for n in 0..30 {
        let out = base(&["org", "create", &format!("org-{n}"), "--name", "Org"])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let mut child = base(&["org", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.success() || out.status.signal() == Some(13),
        "{:?} {stderr}",
        out.status
    );
}

// ---- deliberate issuer changes, re-keying and the operator's transfer -------------------------

/// Everything the commands below may change, as one comparable value.
async fn fingerprint(store: &app::ssr::store::Store, org_id: &str) -> String {
    let members: Vec<String> = sql_rows(
        store,
        "SELECT id, issuer, subject, role, status FROM members WHERE org_id = $1 ORDER BY id",
        &[json!(org_id)],
    )
    .await
    .iter()
    .map(|r| {
        let text = |c: &str| r[c].as_str().unwrap().to_string();
        format!(
            "{} {} {} {} {}",
            text("id"),
            text("issuer"),
            text("subject"),
            text("role"),
            text("status")
        )
    })
    .collect();
    let audits = testkit::count(
        store,
        "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1",
        org_id,
    )
    .await;
    let sso = store.sso_connection(&org_id.into()).await.unwrap();
    let revoked = testkit::count(
        store,
        "SELECT COUNT(*) AS n FROM setup_links WHERE org_id = $1 AND revoked_at IS NOT NULL",
        org_id,
    )
    .await;
    format!(
        "{members:?} audits={audits} sso={:?} revoked={revoked}",
        sso.map(|s| (s.issuer, s.client_id))
    )
}

/// The after-JSON of an org's audit entries with `action`, oldest first, with their actor.
async fn audit_of(
    store: &app::ssr::store::Store,
    org_id: &str,
    action: &str,
) -> Vec<(String, Option<String>, serde_json::Value)> {
    sql_rows(
        store,
        "SELECT actor_email, actor_id, after FROM audit_log WHERE org_id = $1 AND action = $2 ORDER BY at, id",
        &[json!(org_id), json!(action)],
    )
    .await
    .iter()
    .map(|r| {
        (
            r["actor_email"].as_str().unwrap().to_string(),
            r["actor_id"].as_str().map(str::to_string),
            serde_json::from_str(r["after"].as_str().unwrap()).unwrap_or_default(),
        )
    })
    .collect()
}

fn set_args<'a>(slug: &'a str, domain: &'a str, client_id: &'a str) -> Vec<&'a str> {
    vec![
        "sso",
        "set",
        slug,
        "--okta-domain",
        domain,
        "--client-id",
        client_id,
        "--client-secret-file",
        "-",
    ]
}

#[tokio::test]
async fn issuer_changes_are_deliberate_and_members_can_be_rekeyed() {
    use app::model::Role;
    for db in databases().await {
        let cli = Cli::new(db);
        cli.ok(&["org", "create", "acme", "--name", "Acme"], "");
        cli.ok(&["org", "create", "empty", "--name", "Empty"], "");
        cli.ok(&set_args("acme", "a.okta.com", "client-a"), SECRET);
        let store = app::ssr::store::Store::connect(&cli.db.url).await.unwrap();
        let org = store.org_by_slug("acme").await.unwrap().unwrap();
        let a = "https://a.okta.com";
        let b = "https://b.okta.com";
        let (alice, _) = store
            .insert_member(
                &org.id,
                a,
                "sub-alice",
                "alice@example.com",
                "Alice",
                Role::Member,
            )
            .await
            .unwrap();
        assert_eq!(alice.role, Role::Owner);
        let (bob, _) = store
            .insert_member(
                &org.id,
                a,
                "sub-bob",
                "bob@example.com",
                "Bob",
                Role::Member,
            )
            .await
            .unwrap();

        // A new issuer strands both members: refused without the flag, in one line.
        let before = fingerprint(&store, org.id.as_str()).await;
        let err = cli.refused(&set_args("acme", "b.okta.com", "client-b"), SECRET);
        for needle in [
            "2 member(s) keyed to issuer https://a.okta.com",
            "https://b.okta.com",
            "--confirm-issuer-change",
            "tessera org rekey-members acme --from-issuer https://a.okta.com",
        ] {
            assert!(err.contains(needle), "{err} lacks {needle:?}");
        }
        assert_eq!(
            fingerprint(&store, org.id.as_str()).await,
            before,
            "nothing written"
        );

        // The same issuer (a new Client ID and secret) needs no confirmation.
        cli.ok(&set_args("acme", "a.okta.com", "client-a2"), SECRET);
        let set = audit_of(&store, org.id.as_str(), "sso_connection_set").await;
        assert_eq!(set.len(), 2);
        assert_eq!(set[1].0, "operator (CLI)");
        assert_eq!(set[1].2["client_id"], "client-a2");
        assert!(set[1].2.get("issuer_changed").is_none());

        // Confirmed: saved, with the consequence and the way back printed and audited.
        let mut args = set_args("acme", "b.okta.com", "client-b");
        args.push("--confirm-issuer-change");
        let out = cli.ok(&args, SECRET);
        assert!(
            out.contains("Issuer changed from https://a.okta.com to https://b.okta.com"),
            "{out}"
        );
        assert!(
            out.contains("tessera org rekey-members acme --from-issuer https://a.okta.com"),
            "{out}"
        );
        let sso = store.sso_connection(&org.id).await.unwrap().unwrap();
        assert_eq!(
            (sso.issuer.as_str(), sso.client_id.as_str()),
            (b, "client-b")
        );
        let set = audit_of(&store, org.id.as_str(), "sso_connection_set").await;
        assert_eq!(set.len(), 3);
        assert_eq!(set[2].2["issuer"], b);
        assert_eq!(set[2].2["issuer_changed"], true);
        assert_eq!(set[2].2["members_on_previous_issuer"], 2);

        // Someone arrived twice meanwhile: alice's sub is also keyed to the new issuer.
        let (dup, created) = store
            .insert_member(
                &org.id,
                b,
                "sub-alice",
                "alice@example.com",
                "Alice (new)",
                Role::Member,
            )
            .await
            .unwrap();
        assert!(created);

        // Bad input for rekey-members: one line, nothing written.
        let before = fingerprint(&store, org.id.as_str()).await;
        for (args, needle) in [
            (
                vec!["org", "rekey-members", "nope", "--from-issuer", a],
                "no org",
            ),
            (
                vec!["org", "rekey-members", "Bad_Slug", "--from-issuer", a],
                "slug",
            ),
            (
                vec!["org", "rekey-members", "acme", "--from-issuer", " "],
                "--from-issuer",
            ),
            (
                vec![
                    "org",
                    "rekey-members",
                    "acme",
                    "--from-issuer",
                    "https://c.okta.com",
                ],
                "no member of acme is keyed to issuer",
            ),
            (
                vec!["org", "rekey-members", "acme", "--from-issuer", b],
                "already sign in with acme's current issuer",
            ),
            (
                vec!["org", "rekey-members", "empty", "--from-issuer", a],
                "no Okta connection",
            ),
            (
                vec!["org", "rekey-members", "acme", "--from-issuer", a],
                "1 member(s) keyed to https://a.okta.com have the same sub as a member already keyed to https://b.okta.com (e.g. alice@example.com)",
            ),
        ] {
            let err = cli.refused(&args, "");
            assert!(err.contains(needle), "{args:?}: {err}");
            assert_eq!(
                fingerprint(&store, org.id.as_str()).await,
                before,
                "{args:?} wrote"
            );
        }
        let err = cli.refused(
            &[
                "org",
                "rekey-members",
                "acme",
                "--from-issuer",
                "https://c.okta.com",
            ],
            "",
        );
        assert!(
            err.contains("https://a.okta.com (2)") && err.contains("https://b.okta.com (1)"),
            "{err}"
        );

        // Without the duplicate, everyone moves (the old issuer typed loosely), keeping sub.
        sql_exec(
            &store,
            "DELETE FROM members WHERE id = $1",
            &[json!(dup.id)],
        )
        .await;
        let out = cli.ok(
            &[
                "org",
                "rekey-members",
                "acme",
                "--from-issuer",
                "HTTPS://A.okta.com/",
                "--json",
            ],
            "",
        );
        let j: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"org": "acme", "from_issuer": a, "to_issuer": b, "moved": 2})
        );
        for m in [&alice, &bob] {
            let now = store.member_by_id(&org.id, &m.id).await.unwrap().unwrap();
            assert_eq!(
                (now.issuer.as_str(), now.subject.as_str(), now.role),
                (b, m.subject.as_str(), m.role)
            );
        }
        let rekeyed = audit_of(&store, org.id.as_str(), "members_rekeyed").await;
        assert_eq!(rekeyed.len(), 1);
        assert_eq!(rekeyed[0].0, "operator (CLI)");
        assert_eq!(rekeyed[0].2, serde_json::json!({"issuer": b, "moved": 2}));
        let err = cli.refused(&["org", "rekey-members", "acme", "--from-issuer", a], "");
        assert!(
            err.contains("no member of acme is keyed to issuer"),
            "{err}"
        );

        // The same issuer spelled differently (case, trailing slash) is no change at all.
        cli.ok(
            &[
                "sso",
                "set",
                "acme",
                "--issuer",
                "HTTPS://B.okta.com/",
                "--client-id",
                "client-b2",
                "--client-secret-file",
                "-",
            ],
            SECRET,
        );
        let set = audit_of(&store, org.id.as_str(), "sso_connection_set").await;
        assert!(set.last().unwrap().2.get("issuer_changed").is_none());
    }
}

/// A member named by email is found whatever the case of its letters, accented ones included,
/// and the same on both databases.
#[tokio::test]
async fn every_sso_command_leaves_an_operator_audit_entry() {
    for db in databases().await {
        let cli = Cli::new(db);
        cli.ok(&["org", "create", "acme", "--name", "Acme"], "");
        cli.ok(&set_args("acme", "a.okta.com", "client-a"), SECRET);
        cli.ok(&["sso", "enable", "acme"], "");
        cli.ok(
            &[
                "sso",
                "policy",
                "acme",
                "--jit",
                "off",
                "--default-role",
                "admin",
            ],
            "",
        );
        cli.ok(&["sso", "disable", "acme"], "");
        let store = app::ssr::store::Store::connect(&cli.db.url).await.unwrap();
        let org = store.org_by_slug("acme").await.unwrap().unwrap();
        let kind = &cli.db.kind;

        // In the order the commands ran, each by the operator (no member id).
        let actions: Vec<(String, String, Option<String>)> = sql_rows(
            &store,
            "SELECT action, actor_email, actor_id FROM audit_log WHERE org_id = $1 ORDER BY at, id",
            &[json!(org.id)],
        )
        .await
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_string(),
                r["actor_email"].as_str().unwrap().to_string(),
                r["actor_id"].as_str().map(str::to_string),
            )
        })
        .collect();
        let cli_actor = |a: &str| (a.to_string(), "operator (CLI)".to_string(), None);
        assert_eq!(
            actions,
            vec![
                cli_actor("sso_connection_set"),
                cli_actor("sso_enabled"),
                cli_actor("sso_policy_set"),
                cli_actor("sso_disabled"),
            ],
            "on {kind}"
        );

        let enabled = audit_of(&store, org.id.as_str(), "sso_enabled").await;
        assert_eq!(
            enabled[0].2,
            serde_json::json!({"enabled": true}),
            "on {kind}"
        );
        let policy = audit_of(&store, org.id.as_str(), "sso_policy_set").await;
        assert_eq!(
            policy[0].2,
            serde_json::json!({"jit_enabled": false, "default_role": "admin", "provisioning": "jit"}),
            "on {kind}"
        );
        let before = sql_row(
            &store,
            "SELECT before FROM audit_log WHERE org_id = $1 AND action = $2",
            &[json!(org.id), json!("sso_policy_set")],
        )
        .await["before"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&before).unwrap(),
            serde_json::json!({"jit_enabled": true, "default_role": "member", "provisioning": "jit"}),
            "on {kind}"
        );
        let disabled = audit_of(&store, org.id.as_str(), "sso_disabled").await;
        assert_eq!(disabled[0].2["enabled"], false, "on {kind}");

        // A refused command (no connection yet) writes no entry.
        cli.ok(&["org", "create", "bare", "--name", "Bare"], "");
        let bare = store.org_by_slug("bare").await.unwrap().unwrap();
        cli.refused(&["sso", "enable", "bare"], "");
        cli.refused(&["sso", "policy", "bare", "--jit", "on"], "");
        let n = testkit::count(
            &store,
            "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1",
            bare.id.as_str(),
        )
        .await;
        assert_eq!(n, 0, "on {kind}");
    }
}

#[tokio::test]
async fn transfer_owner_finds_an_email_in_any_case_on_both_databases() {
    use app::model::Role;
    for db in databases().await {
        let cli = Cli::new(db);
        cli.ok(&["org", "create", "acme", "--name", "Acme"], "");
        cli.ok(&set_args("acme", "a.okta.com", "client-a"), SECRET);
        let store = app::ssr::store::Store::connect(&cli.db.url).await.unwrap();
        let org = store.org_by_slug("acme").await.unwrap().unwrap();
        let a = "https://a.okta.com";
        let (alice, _) = store
            .insert_member(
                &org.id,
                a,
                "sub-alice",
                "alice@example.com",
                "Alice",
                Role::Member,
            )
            .await
            .unwrap();
        assert_eq!(alice.role, Role::Owner);
        let (adam, _) = store
            .insert_member(
                &org.id,
                a,
                "sub-adam",
                "Ädam@Example.com",
                "Ädam",
                Role::Member,
            )
            .await
            .unwrap();
        // Another member whose email differs only beyond case is not a match.
        store
            .insert_member(
                &org.id,
                a,
                "sub-adan",
                "ädan@example.com",
                "Ädan",
                Role::Member,
            )
            .await
            .unwrap();
        let out = cli.ok(
            &[
                "org",
                "transfer-owner",
                "acme",
                "äDAM@example.COM",
                "--json",
            ],
            "",
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["owner"]["id"], adam.id.as_str(), "{}: {out}", cli.db.kind);
        assert_eq!(v["previous_owner"]["id"], alice.id.as_str());
        let err = cli.refused(&["org", "transfer-owner", "acme", "ädom@example.com"], "");
        assert!(err.contains("no member"), "{err}");
    }
}

#[tokio::test]
async fn the_operator_transfers_ownership_through_the_membership_rules() {
    use app::model::Role;
    use app::ssr::setup_links::Actor;
    for db in databases().await {
        let cli = Cli::new(db);
        cli.ok(&["org", "create", "acme", "--name", "Acme"], "");
        cli.ok(&set_args("acme", "a.okta.com", "client-a"), SECRET);
        let store = app::ssr::store::Store::connect(&cli.db.url).await.unwrap();
        let org = store.org_by_slug("acme").await.unwrap().unwrap();
        let a = "https://a.okta.com";
        let add = |key: &'static str, issuer: &'static str, role: Role| {
            let store = store.clone();
            let org_id = org.id.clone();
            async move {
                store
                    .insert_member(
                        &org_id,
                        issuer,
                        &format!("sub-{key}"),
                        &format!("{key}@example.com"),
                        key,
                        role,
                    )
                    .await
                    .unwrap()
                    .0
            }
        };
        let alice = add("alice", a, Role::Member).await;
        assert_eq!(alice.role, Role::Owner);
        let bob = add("bob", a, Role::Member).await;
        let dora = add("dora", a, Role::Member).await;
        sql_exec(
            &store,
            "UPDATE members SET status = 'deactivated' WHERE id = $1",
            &[json!(dora.id)],
        )
        .await;
        // Two members share an email (a duplicate keyed to another issuer).
        let (carol, _) = store
            .insert_member(
                &org.id,
                a,
                "sub-carol",
                "carol@example.com",
                "Carol",
                Role::Member,
            )
            .await
            .unwrap();
        let (carol2, _) = store
            .insert_member(
                &org.id,
                "https://b.okta.com",
                "sub-carol",
                "Carol@Example.com",
                "Carol",
                Role::Member,
            )
            .await
            .unwrap();
        // Alice's open setup link must die with her ownership.
        let (_, link) = store
            .create_setup_link(
                &org,
                std::time::Duration::from_secs(3600),
                Actor::Member(&alice),
            )
            .await
            .unwrap();

        let before = fingerprint(&store, org.id.as_str()).await;
        let dora_id = dora.id.clone();
        let alice_id = alice.id.clone();
        for (args, needle) in [
            (
                vec!["org", "transfer-owner", "nope", "bob@example.com"],
                "no org",
            ),
            (
                vec!["org", "transfer-owner", "Bad_Slug", "bob@example.com"],
                "slug",
            ),
            (
                vec!["org", "transfer-owner", "acme", "nobody@example.com"],
                "no member \"nobody@example.com\" in org acme",
            ),
            (
                vec!["org", "transfer-owner", "acme", "  "],
                "member id or email",
            ),
            (
                vec!["org", "transfer-owner", "acme", "alice@example.com"],
                "already the owner",
            ),
            (
                vec!["org", "transfer-owner", "acme", alice_id.as_str()],
                "already the owner",
            ),
            (
                vec!["org", "transfer-owner", "acme", dora_id.as_str()],
                "deactivated",
            ),
            (
                vec!["org", "transfer-owner", "acme", "carol@example.com"],
                "2 members have the email",
            ),
        ] {
            let err = cli.refused(&args, "");
            assert!(err.contains(needle), "{args:?}: {err}");
            assert_eq!(
                fingerprint(&store, org.id.as_str()).await,
                before,
                "{args:?} wrote"
            );
        }
        let err = cli.refused(&["org", "transfer-owner", "acme", "carol@example.com"], "");
        assert!(
            err.contains(carol.id.as_str()) && err.contains(carol2.id.as_str()),
            "{err}"
        );
        assert!(
            store
                .setup_link(&link.id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_none()
        );

        // By email (any case): Bob owns acme, Alice is an admin, her link is revoked.
        let out = cli.ok(&["org", "transfer-owner", "acme", "BOB@example.com"], "");
        assert!(
            out.contains(&format!("bob@example.com ({}) now owns acme", bob.id)),
            "{out}"
        );
        assert!(out.contains("alice@example.com"), "{out}");
        let role = |id: app::model::MemberId| {
            let store = store.clone();
            let org_id = org.id.clone();
            async move {
                store
                    .member_by_id(&org_id, &id)
                    .await
                    .unwrap()
                    .unwrap()
                    .role
            }
        };
        assert_eq!(role(bob.id.clone()).await, Role::Owner);
        assert_eq!(role(alice.id.clone()).await, Role::Admin);
        assert!(
            store
                .setup_link(&link.id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
        );
        let moved = audit_of(&store, org.id.as_str(), "ownership_transferred").await;
        assert_eq!(moved.len(), 1);
        assert_eq!(
            (moved[0].0.as_str(), moved[0].1.as_deref()),
            ("operator (CLI)", None)
        );
        assert_eq!(moved[0].2["owner"], "bob@example.com");
        let revoked = audit_of(&store, org.id.as_str(), "setup_link_revoked").await;
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].2["reason"], "creator_no_longer_owner");

        // By id, JSON.
        let out = cli.ok(
            &[
                "org",
                "transfer-owner",
                "acme",
                carol2.id.as_str(),
                "--json",
            ],
            "",
        );
        let j: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(j["org"], "acme");
        assert_eq!(j["owner"]["id"], carol2.id.as_str());
        assert_eq!(j["previous_owner"]["id"], bob.id.as_str());
        assert_eq!(role(bob.id.clone()).await, Role::Admin);
        let counts = store.member_counts(&org.id).await.unwrap();
        assert_eq!(counts.owner, 1);

        // An org without an owner gets one.
        sql_exec(
            &store,
            "DELETE FROM members WHERE id = $1",
            &[json!(carol2.id)],
        )
        .await;
        let out = cli.ok(
            &["org", "transfer-owner", "acme", alice.id.as_str(), "--json"],
            "",
        );
        let j: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(j["owner"]["email"], "alice@example.com");
        assert!(j["previous_owner"].is_null(), "{j}");
        assert_eq!(role(alice.id.clone()).await, Role::Owner);
    }
}

#[tokio::test]
async fn after_a_confirmed_issuer_change_rekeyed_members_sign_in_as_themselves() {
    use testkit::{Browser, OktaDev, TestServer, initiate_url};
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let client =
            |id: &str| serde_json::json!([okta_client(&server.url, id, SECRET, "Tessera (Acme)")]);
        let old = OktaDev::start(client("tessera-old")).await;
        let new = OktaDev::start(client("tessera-new")).await;
        server.register_org("acme", &old.issuer, "tessera-old", SECRET);
        let org = testkit::org(&server.store, "acme").await;
        for user in ["alice", "bob"] {
            let b = Browser::new();
            assert!(
                b.sign_in(
                    &server.url,
                    &initiate_url(&server.url, &old.issuer),
                    user,
                    "password"
                )
                .await
                .landed()
            );
        }
        let secret = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(secret.path(), SECRET).unwrap();
        let set = |confirm: bool| {
            let mut c = server.cli();
            c.args([
                "sso",
                "set",
                "acme",
                "--issuer",
                &new.issuer,
                "--client-id",
                "tessera-new",
                "--client-secret-file",
            ])
            .arg(secret.path());
            if confirm {
                c.arg("--confirm-issuer-change");
            }
            c.output().unwrap()
        };
        let refused = set(false);
        assert!(!refused.status.success());
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(err.contains("2 member(s) keyed to issuer"), "{err}");
        assert_eq!(
            server
                .store
                .sso_connection(&org.id)
                .await
                .unwrap()
                .unwrap()
                .issuer,
            old.issuer
        );
        assert!(set(true).status.success());
        let out = testkit::run_ok(server.cli().args([
            "org",
            "rekey-members",
            "acme",
            "--from-issuer",
            &old.issuer,
        ]));
        assert!(out.contains("Moved 2 member(s)"), "{out}");
        for (user, role) in [("alice", "owner"), ("bob", "member")] {
            let b = Browser::new();
            assert!(
                b.sign_in(
                    &server.url,
                    &initiate_url(&server.url, &new.issuer),
                    user,
                    "password"
                )
                .await
                .landed()
            );
            assert_eq!(
                b.session(&server.url).await.json()["member"]["role"],
                role,
                "{user}"
            );
        }
        assert_eq!(
            server.store.count_members(&org.id).await.unwrap(),
            2,
            "[{}] no duplicates",
            server_kind(&db)
        );
    }
}

fn server_kind(db: &TestDb) -> &'static str {
    db.kind
}

// ---- members, org rename and delete, tables and help -------------------------------------------

/// The character offset at which `needle` starts in `line`.
fn column_of(line: &str, needle: &str) -> usize {
    let at = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {line:?}"));
    line[..at].chars().count()
}

/// Every row's cells start where the header's column titles start (`left`), or end where they
/// end (`right`, numbers).
fn assert_aligned(table: &str, left: &[&str], right: &[&str]) {
    let lines: Vec<Vec<char>> = table.lines().map(|l| l.chars().collect()).collect();
    let header: String = lines[0].iter().collect();
    for title in left {
        let at = column_of(&header, title);
        for line in &lines[1..] {
            let row: String = line.iter().collect();
            assert!(
                line.get(at).is_some_and(|c| *c != ' ')
                    && (at == 0 || line.get(at - 1) == Some(&' ')),
                "{title} is not aligned in {row:?}:\n{table}"
            );
        }
    }
    for title in right {
        let end = column_of(&header, title) + title.chars().count() - 1;
        for line in &lines[1..] {
            let row: String = line.iter().collect();
            assert!(
                line.get(end).is_some_and(|c| *c != ' ') && line.get(end + 1) == Some(&' '),
                "{title} is not right-aligned in {row:?}:\n{table}"
            );
        }
    }
}

/// Runs `tessera <args>` of `cli` on a terminal (`script` gives it one), typing `typed`;
/// returns (success, everything the terminal showed).
fn on_terminal(cli: &Cli, args: &[&str], typed: &str) -> (bool, String) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let line = std::iter::once(tessera_bin().display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|a| quote(&a))
        .collect::<Vec<_>>()
        .join(" ");
    // The same environment as `Cli::cmd` gives the binary.
    let base = cli.cmd(&[]);
    let mut script = Command::new("script");
    script
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(cli.dir.path())
        .envs(base.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env_remove("TESSERA_ALLOW_HTTP_ISSUERS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = script.spawn().expect("script (util-linux) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(typed.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Every row of the org in every table that holds org data, as counts by table.
async fn rows_of_org(store: &app::ssr::store::Store, org_id: &str) -> Vec<(&'static str, i64)> {
    let mut out = vec![];
    for table in [
        "orgs",
        "members",
        "sso_connections",
        "setup_links",
        "login_flows",
        "login_attempts",
        "audit_log",
        "member_stats",
        "connection_test_budget",
    ] {
        let column = if table == "orgs" { "id" } else { "org_id" };
        let n = testkit::count(
            store,
            &format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1"),
            org_id,
        )
        .await;
        out.push((table, n));
    }
    out
}

#[tokio::test]
async fn the_operator_manages_members_through_the_membership_rules() {
    use app::model::Role;
    for db in databases().await {
        let cli = Cli::new(db);
        let kind = cli.db.kind;
        cli.ok(&["org", "create", "acme", "--name", "Acme"], "");
        cli.ok(&["org", "create", "other", "--name", "Other"], "");
        cli.ok(&set_args("acme", "a.okta.com", "client-a"), SECRET);
        let store = app::ssr::store::Store::connect(&cli.db.url).await.unwrap();
        let org = store.org_by_slug("acme").await.unwrap().unwrap();
        let a = "https://a.okta.com";
        let add =
            |sub: &'static str, issuer: &'static str, email: &'static str, name: &'static str| {
                let store = store.clone();
                let org_id = org.id.clone();
                async move {
                    store
                        .insert_member(&org_id, issuer, sub, email, name, Role::Member)
                        .await
                        .unwrap()
                        .0
                }
            };
        let alice = add("sub-alice", a, "alice@example.com", "Alice Owner").await;
        assert_eq!(alice.role, Role::Owner);
        let bob = add("sub-bob", a, "bob@example.com", "Bob").await;
        let carol = add("sub-carol", a, "carol@example.com", "Carol").await;
        let carol2 = add(
            "sub-carol",
            "https://b.okta.com",
            "Carol@Example.com",
            "Carol",
        )
        .await;
        let dan = add(
            "sub-dan",
            a,
            "dan.with.a.much.longer.address@subdivision.example.com",
            "Dän Ülrich-Longname",
        )
        .await;
        let stranger = {
            let other = store.org_by_slug("other").await.unwrap().unwrap();
            store
                .insert_member(&other.id, a, "sub-x", "x@example.com", "X", Role::Member)
                .await
                .unwrap()
                .0
        };
        sql_exec(
            &store,
            "UPDATE members SET last_login_at = $1 WHERE id = $2",
            &[json!(1_796_335_503_639_i64), json!(bob.id)],
        )
        .await;
        sql_exec(
            &store,
            "UPDATE members SET last_login_at = NULL WHERE id = $1",
            &[json!(dan.id)],
        )
        .await;

        // The list: aligned columns, by email, with the filters.
        let list = cli.ok(&["member", "list", "acme"], "");
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 6, "{list}");
        assert!(
            lines[0].starts_with("EMAIL") && lines[0].contains("LAST SIGN-IN"),
            "{list}"
        );
        assert_aligned(
            &list,
            &["EMAIL", "NAME", "ROLE", "STATUS", "LAST SIGN-IN", "ID"],
            &[],
        );
        assert!(lines[1].starts_with("alice@example.com") && lines[1].contains("owner"));
        assert!(lines[2].starts_with("bob@example.com") && lines[2].contains("2026-12-03T22:05Z"));
        assert!(lines[5].starts_with("dan.with") && lines[5].contains("never"));
        assert!(lines[1].ends_with(alice.id.as_str()), "{list}");
        let admins = cli.ok(&["member", "list", "acme", "--role", "admin"], "");
        assert!(
            admins.contains("No members of acme match (admin)"),
            "{admins}"
        );
        let owners = cli.ok(&["member", "list", "acme", "--role", "owner", "--json"], "");
        let owners: serde_json::Value = serde_json::from_str(&owners).unwrap();
        assert_eq!(owners.as_array().unwrap().len(), 1);
        let keys: Vec<&str> = owners[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut keys = keys;
        keys.sort();
        assert_eq!(
            keys,
            [
                "created_at",
                "email",
                "id",
                "issuer",
                "last_login_at",
                "name",
                "role",
                "status",
                "subject"
            ]
        );
        assert_eq!(owners[0]["id"], alice.id.as_str());
        assert_eq!(owners[0]["role"], "owner");
        assert_eq!(owners[0]["status"], "active");
        assert!(owners[0]["last_login_at"].is_string());
        let all: serde_json::Value =
            serde_json::from_str(&cli.ok(&["member", "list", "acme", "--json"], "")).unwrap();
        assert_eq!(all.as_array().unwrap().len(), 5, "on {kind}");
        assert!(!all.to_string().contains(stranger.id.as_str()));

        // Show, by email in any case and by id.
        let show = cli.ok(&["member", "show", "acme", "BOB@example.com"], "");
        assert!(
            show.contains(bob.id.as_str()) && show.contains("Role:           member"),
            "{show}"
        );
        assert!(show.contains("Open sessions:  0"), "{show}");
        testkit::session_for(&store, &bob).await;
        let shown: serde_json::Value = serde_json::from_str(
            &cli.ok(&["member", "show", "acme", bob.id.as_str(), "--json"], ""),
        )
        .unwrap();
        assert_eq!(shown["org"], "acme");
        assert_eq!(shown["email"], "bob@example.com");
        assert_eq!(shown["subject"], "sub-bob");
        assert_eq!(shown["open_sessions"], 1);
        assert_eq!(shown["last_login_at"], "2026-12-03T22:05:03.639Z");

        // Refusals: one line, nothing written.
        let before = fingerprint(&store, org.id.as_str()).await;
        let huge = "m".repeat(100_000);
        let stranger_id = stranger.id.to_string();
        let alice_id = alice.id.to_string();
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (vec!["member", "list", "nope"], "no org"),
            (vec!["member", "list", "Bad_Slug"], "slug"),
            (vec!["member", "list", "acme", "--role", "boss"], "--role"),
            (
                vec!["member", "list", "acme", "--status", "gone"],
                "--status",
            ),
            (
                vec!["member", "show", "acme", "nobody@example.com"],
                "no member \"nobody@example.com\" in org acme",
            ),
            (vec!["member", "show", "acme", "  "], "member id or email"),
            (vec!["member", "show", "acme", &stranger_id], "no member"),
            (vec!["member", "show", "acme", &huge], "no member"),
            (
                vec!["member", "set-role", "nope", "bob@example.com", "admin"],
                "no org",
            ),
            (
                vec!["member", "set-role", "acme", "bob@example.com", "owner"],
                "tessera org transfer-owner",
            ),
            (
                vec!["member", "set-role", "acme", "bob@example.com", "superuser"],
                "admin or member",
            ),
            (
                vec!["member", "set-role", "acme", "bob@example.com", &huge],
                "admin or member",
            ),
            (
                vec!["member", "set-role", "acme", "alice@example.com", "admin"],
                "transfer ownership first",
            ),
            (
                vec!["member", "set-role", "acme", &alice_id, "member"],
                "transfer ownership first",
            ),
            (
                vec!["member", "set-role", "acme", "carol@example.com", "admin"],
                "2 members have the email",
            ),
            (
                vec!["member", "set-role", "acme", "ghost@example.com", "admin"],
                "no member",
            ),
            (
                vec!["member", "deactivate", "acme", "alice@example.com"],
                "transfer ownership first",
            ),
            (
                vec!["member", "deactivate", "acme", &stranger_id],
                "no member",
            ),
            (
                vec!["member", "deactivate", "other", "bob@example.com"],
                "no member",
            ),
            (
                vec!["member", "reactivate", "nope", "bob@example.com"],
                "no org",
            ),
            (
                vec!["member", "remove", "acme", "alice@example.com", "--yes"],
                "transfer ownership first",
            ),
            (
                vec!["member", "remove", "acme", "bob@example.com"],
                "add --yes",
            ),
            (
                vec!["member", "remove", "acme", &huge, "--yes"],
                "no member",
            ),
        ];
        for (args, needle) in &cases {
            let err = cli.refused(args, "yes\n");
            assert!(
                err.contains(needle),
                "{:?}: {err}",
                &args[..args.len().min(4)]
            );
            assert!(
                err.len() < 600,
                "a refused value is quoted bounded: {} bytes",
                err.len()
            );
            assert_eq!(
                fingerprint(&store, org.id.as_str()).await,
                before,
                "{:?} wrote on {kind}",
                &args[..args.len().min(4)]
            );
        }
        let err = cli.refused(&["member", "show", "acme", "CAROL@example.com"], "");
        assert!(
            err.contains(carol.id.as_str()) && err.contains(carol2.id.as_str()),
            "{err}"
        );
        // A usage error (no role) is clap's, and writes nothing either.
        let (ok, _, err) = cli.run(&["member", "set-role", "acme", "bob@example.com"], "");
        assert!(!ok && err.contains("<admin|member>"), "{err}");
        assert_eq!(fingerprint(&store, org.id.as_str()).await, before);

        // set-role: audited as the operator; the same role again changes nothing.
        let out = cli.ok(
            &["member", "set-role", "acme", "bob@example.com", "admin"],
            "",
        );
        assert!(
            out.contains("is now an admin of acme (was member)"),
            "{out}"
        );
        let again: serde_json::Value = serde_json::from_str(&cli.ok(
            &[
                "member",
                "set-role",
                "acme",
                "bob@example.com",
                "admin",
                "--json",
            ],
            "",
        ))
        .unwrap();
        assert_eq!(again["org"], "acme");
        assert_eq!(again["changed"], false);
        assert_eq!(again["member"]["role"], "admin");
        let changed = audit_of(&store, org.id.as_str(), "role_changed").await;
        assert_eq!(changed.len(), 1, "on {kind}");
        assert_eq!(
            (changed[0].0.as_str(), changed[0].1.as_deref()),
            ("operator (CLI)", None)
        );
        assert_eq!(changed[0].2, json!({"role": "admin"}));
        let down: serde_json::Value = serde_json::from_str(&cli.ok(
            &[
                "member",
                "set-role",
                "acme",
                bob.id.as_str(),
                " member ",
                "--json",
            ],
            "",
        ))
        .unwrap();
        assert_eq!(
            (down["changed"].clone(), down["member"]["role"].clone()),
            (json!(true), json!("member"))
        );

        // deactivate ends the member's sessions; reactivate lets them back.
        let sessions = |id: &app::model::MemberId| {
            let store = store.clone();
            let id = id.to_string();
            async move {
                testkit::count(
                    &store,
                    "SELECT COUNT(*) AS n FROM sessions WHERE member_id = $1",
                    &id,
                )
                .await
            }
        };
        assert_eq!(sessions(&bob.id).await, 1);
        let out = cli.ok(&["member", "deactivate", "acme", "bob@example.com"], "");
        assert!(out.contains("Deactivated bob@example.com"), "{out}");
        assert_eq!(sessions(&bob.id).await, 0, "on {kind}");
        let listed = cli.ok(&["member", "list", "acme", "--status", "deactivated"], "");
        assert_eq!(listed.lines().count(), 2, "{listed}");
        assert!(listed.contains("bob@example.com"), "{listed}");
        let again: serde_json::Value = serde_json::from_str(&cli.ok(
            &["member", "deactivate", "acme", "bob@example.com", "--json"],
            "",
        ))
        .unwrap();
        assert_eq!(
            (again["changed"].clone(), again["member"]["status"].clone()),
            (json!(false), json!("deactivated"))
        );
        let back: serde_json::Value = serde_json::from_str(&cli.ok(
            &["member", "reactivate", "acme", "bob@example.com", "--json"],
            "",
        ))
        .unwrap();
        assert_eq!(
            (back["changed"].clone(), back["member"]["status"].clone()),
            (json!(true), json!("active"))
        );
        for action in ["member_deactivated", "member_reactivated"] {
            let entries = audit_of(&store, org.id.as_str(), action).await;
            assert_eq!(entries.len(), 1, "{action} on {kind}");
            assert_eq!(
                (entries[0].0.as_str(), entries[0].1.as_deref()),
                ("operator (CLI)", None)
            );
        }

        // remove: --yes without a terminal; the setup links they made are revoked with them.
        let removed: serde_json::Value = serde_json::from_str(&cli.ok(
            &[
                "member",
                "remove",
                "acme",
                "DAN.with.a.much.longer.address@subdivision.example.com",
                "--yes",
                "--json",
            ],
            "",
        ))
        .unwrap();
        assert_eq!(removed["org"], "acme");
        assert_eq!(removed["removed"]["id"], dan.id.as_str());
        assert!(
            store
                .member_by_id(&org.id, &dan.id)
                .await
                .unwrap()
                .is_none()
        );
        let gone = audit_of(&store, org.id.as_str(), "member_removed").await;
        assert_eq!(gone.len(), 1);
        assert_eq!(
            (gone[0].0.as_str(), gone[0].1.as_deref()),
            ("operator (CLI)", None)
        );
        let err = cli.refused(&["member", "show", "acme", dan.id.as_str()], "");
        assert!(err.contains("no member"), "{err}");

        // On a terminal, remove asks; anything but y/yes keeps the member.
        let (ok, screen) =
            on_terminal(&cli, &["member", "remove", "acme", "carol@example.com"], "");
        assert!(
            !ok && screen.contains("2 members have the email"),
            "{screen}"
        );
        let (ok, screen) = on_terminal(
            &cli,
            &["member", "remove", "acme", carol.id.as_str()],
            "n\n",
        );
        assert!(
            !ok && screen.contains("Remove carol@example.com") && screen.contains("not confirmed"),
            "{screen}"
        );
        assert!(
            store
                .member_by_id(&org.id, &carol.id)
                .await
                .unwrap()
                .is_some()
        );
        let (ok, screen) = on_terminal(
            &cli,
            &["member", "remove", "acme", carol.id.as_str()],
            "y\n",
        );
        assert!(
            ok && screen.contains("Removed carol@example.com"),
            "{screen}"
        );
        assert!(
            store
                .member_by_id(&org.id, &carol.id)
                .await
                .unwrap()
                .is_none()
        );

        // Ownership still moves only by transfer-owner; then the old owner is an ordinary admin.
        cli.ok(&["org", "transfer-owner", "acme", "bob@example.com"], "");
        let out = cli.ok(&["member", "deactivate", "acme", "alice@example.com"], "");
        assert!(out.contains("Deactivated alice@example.com"), "{out}");
        let err = cli.refused(
            &["member", "remove", "acme", "bob@example.com", "--yes"],
            "",
        );
        assert!(err.contains("transfer ownership first"), "{err}");
        let counts = store.member_counts(&org.id).await.unwrap();
        assert_eq!((counts.owner, counts.deactivated), (1, 1), "on {kind}");
    }
}

#[tokio::test]
async fn the_operator_renames_and_deletes_orgs() {
    use app::model::Role;
    use app::ssr::setup_links::Actor;
    for db in databases().await {
        let cli = Cli::new(db);
        let kind = cli.db.kind;
        for (slug, domain) in [("acme", "a.okta.com"), ("globex", "g.okta.com")] {
            cli.ok(
                &["org", "create", slug, "--name", &format!("{slug} Inc")],
                "",
            );
            cli.ok(&set_args(slug, domain, "client"), SECRET);
            cli.ok(&["sso", "enable", slug], "");
        }
        let store = app::ssr::store::Store::connect(&cli.db.url).await.unwrap();
        let acme = store.org_by_slug("acme").await.unwrap().unwrap();
        let globex = store.org_by_slug("globex").await.unwrap().unwrap();
        // Everything an org gathers: members with sessions, a setup link, a sign-in in flight,
        // login attempts, audit entries, connection tests.
        let mut keep = vec![];
        for org in [&acme, &globex] {
            let owner =
                testkit::add_member(&store, &org.id, "https://x", "owner", Role::Member).await;
            let m =
                testkit::add_member(&store, &org.id, "https://x", "someone", Role::Member).await;
            let s1 = testkit::session_for(&store, &owner).await;
            let s2 = testkit::session_for(&store, &m).await;
            store
                .create_setup_link(org, std::time::Duration::from_secs(3600), Actor::Operator)
                .await
                .unwrap();
            sql_exec(
                &store,
                "INSERT INTO login_flows (state, org_id, nonce, pkce_verifier, created_at, expires_at, browser_hash)
                 VALUES ($1, $2, 'n', 'v', 0, 9999999999999, 'h')",
                &[json!(format!("state-{}", org.slug)), json!(org.id)],
            )
            .await;
            sql_exec(
                &store,
                "INSERT INTO login_attempts (id, org_id, at, outcome, reason) VALUES ($1, $2, 0, 'failure', 'x')",
                &[json!(format!("attempt-{}", org.slug)), json!(org.id)],
            )
            .await;
            sql_exec(
                &store,
                "INSERT INTO connection_test_budget (org_id, window_start, attempts) VALUES ($1, 0, 1)",
                &[json!(org.id)],
            )
            .await;
            keep.push((s1, s2));
        }

        // rename: audited; the same name is no change; bad names and unknown orgs write nothing.
        let out = cli.ok(
            &["org", "rename", "acme", "--name", "  Acme Corporation "],
            "",
        );
        assert!(
            out.contains("\"acme Inc\" is now \"Acme Corporation\""),
            "{out}"
        );
        let renamed = audit_of(&store, acme.id.as_str(), "org_renamed").await;
        assert_eq!(renamed.len(), 1, "on {kind}");
        assert_eq!(
            (renamed[0].0.as_str(), renamed[0].1.as_deref()),
            ("operator (CLI)", None)
        );
        assert_eq!(renamed[0].2, json!({"name": "Acme Corporation"}));
        let same: serde_json::Value = serde_json::from_str(&cli.ok(
            &[
                "org",
                "rename",
                "acme",
                "--name",
                "Acme Corporation",
                "--json",
            ],
            "",
        ))
        .unwrap();
        assert_eq!(
            same,
            json!({"slug": "acme", "name": "Acme Corporation", "previous_name": "Acme Corporation", "changed": false})
        );
        assert_eq!(
            audit_of(&store, acme.id.as_str(), "org_renamed")
                .await
                .len(),
            1
        );
        let before = cli.state();
        let rows_before = rows_of_org(&store, acme.id.as_str()).await;
        let long = "n".repeat(201);
        let huge = "z".repeat(100_000);
        for (args, needle) in [
            (
                vec!["org", "rename", "acme", "--name", "   "],
                "must not be empty",
            ),
            (
                vec!["org", "rename", "acme", "--name", &long],
                "at most 200",
            ),
            (
                vec!["org", "rename", "acme", "--name", "Bell\u{7}Inc"],
                "control characters",
            ),
            (vec!["org", "rename", "nope", "--name", "X"], "no org"),
            (
                vec!["org", "rename", &huge, "--name", "X"],
                "invalid org slug",
            ),
            (vec!["org", "delete", "nope", "--yes"], "no org"),
            (
                vec!["org", "delete", "Bad_Slug", "--yes"],
                "invalid org slug",
            ),
            (vec!["org", "delete", &huge, "--yes"], "invalid org slug"),
            (vec!["org", "delete", "acme"], "add --yes"),
        ] {
            let err = cli.refused(&args, "acme\n");
            assert!(err.contains(needle), "{:?}: {err}", &args[..3]);
            assert!(err.len() < 600, "bounded: {} bytes", err.len());
            assert_eq!(
                cli.state(),
                before,
                "{:?} changed orgs on {kind}",
                &args[..3]
            );
            assert_eq!(rows_of_org(&store, acme.id.as_str()).await, rows_before);
        }
        assert!(rows_before.iter().all(|(_, n)| *n > 0), "{rows_before:?}");

        // On a terminal, delete asks for the slug: anything else deletes nothing.
        let (ok, screen) = on_terminal(&cli, &["org", "delete", "acme"], "acm\n");
        assert!(
            !ok && screen.contains("Type the slug to confirm"),
            "{screen}"
        );
        assert!(screen.contains("2 members"), "{screen}");
        assert!(screen.contains("nothing was deleted"), "{screen}");
        assert_eq!(rows_of_org(&store, acme.id.as_str()).await, rows_before);
        let (ok, screen) = on_terminal(&cli, &["org", "delete", "acme"], "acme\n");
        assert!(ok, "{screen}");
        assert!(
            screen.contains("Deleted org acme (Acme Corporation) and everything of it: 2 members, 2 sessions, 1 Okta connection, 1 setup link, 1 sign-in in flight, 1 login attempt"),
            "{screen}"
        );
        for (table, n) in rows_of_org(&store, acme.id.as_str()).await {
            assert_eq!(n, 0, "{table} keeps rows of the deleted org on {kind}");
        }
        assert!(store.session_load(&keep[0].0).await.unwrap().is_none());
        assert!(store.session_load(&keep[0].1).await.unwrap().is_none());
        // The other org is untouched.
        assert!(store.session_load(&keep[1].0).await.unwrap().is_some());
        assert!(
            rows_of_org(&store, globex.id.as_str())
                .await
                .iter()
                .all(|(_, n)| *n > 0)
        );
        let list: serde_json::Value =
            serde_json::from_str(&cli.ok(&["org", "list", "--json"], "")).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["slug"], "globex");
        assert_eq!(list[0]["members"], 2);

        // Its slug and its issuer are free again.
        cli.ok(&["org", "create", "acme", "--name", "Acme again"], "");
        cli.ok(&set_args("acme", "a.okta.com", "client"), SECRET);

        // --yes and --json.
        let out: serde_json::Value =
            serde_json::from_str(&cli.ok(&["org", "delete", "globex", "--yes", "--json"], ""))
                .unwrap();
        assert_eq!(
            out,
            json!({
                "deleted": "globex", "name": "globex Inc", "members": 2, "sessions": 2,
                "connections": 1, "setup_links": 1, "login_flows": 1, "login_attempts": 1,
                "audit_entries": 3
            }),
            "on {kind}"
        );
        assert!(
            rows_of_org(&store, globex.id.as_str())
                .await
                .iter()
                .all(|(_, n)| *n == 0)
        );
    }
}

#[tokio::test]
async fn org_list_aligns_its_columns_and_create_points_to_a_setup_link() {
    for db in databases().await {
        let cli = Cli::new(db);
        let long_slug = format!("a{}", "-b".repeat(31));
        assert_eq!(long_slug.len(), 63);
        let out = cli.ok(&["org", "create", "x", "--name", "X"], "");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[1].starts_with("Next: tessera org setup-link x "),
            "{out}"
        );
        assert!(
            lines[2].contains("tessera sso set x --okta-domain"),
            "{out}"
        );
        cli.ok(
            &[
                "org",
                "create",
                &long_slug,
                "--name",
                &"Ünïcode Name ".repeat(12),
            ],
            "",
        );
        cli.ok(&["org", "create", "mid", "--name", "Mid"], "");
        cli.ok(
            &set_args("mid", "a-rather-long-okta-domain-name.okta.com", "c"),
            SECRET,
        );
        let table = cli.ok(&["org", "list"], "");
        assert_eq!(table.lines().count(), 4, "{table}");
        assert_aligned(&table, &["SLUG", "SSO", "NAME", "ISSUER"], &["MEMBERS"]);
    }
}

#[tokio::test]
async fn each_command_help_lists_the_flags_that_apply_and_variables_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| {
        let out = Command::new(tessera_bin())
            .current_dir(dir.path())
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for args in [
        &["member"][..],
        &["member", "list"],
        &["member", "remove"],
        &["org", "delete"],
    ] {
        let text = help(args);
        assert!(text.contains("--database-url"), "{args:?}: {text}");
        for flag in [
            "--bind",
            "--public-url",
            "--session-idle-timeout",
            "--metrics",
            "--secret-key-file",
        ] {
            assert!(!text.contains(flag), "{args:?} lists {flag}:\n{text}");
        }
    }
    assert!(help(&["member", "remove"]).contains("--yes"));
    assert!(help(&["member", "list"]).contains("--status"));
    let serve = help(&["serve"]);
    for flag in [
        "--bind",
        "--public-url",
        "--secret-key-file",
        "--session-idle-timeout",
        "--metrics",
        "--audit-retention",
    ] {
        assert_eq!(
            serve.matches(flag).count(),
            1,
            "{flag} once on serve:\n{serve}"
        );
    }
    let root = help(&[]);
    assert!(
        !root.contains("--bind") && root.contains("tessera serve --help"),
        "{root}"
    );

    // A flag after the command, before it, or as a variable: the same.
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let org_show = |pre: &[&str], post: &[&str], env: Option<&str>| {
        let mut c = Command::new(tessera_bin());
        c.current_dir(dir.path()).env_remove("TESSERA_PUBLIC_URL");
        if let Some(url) = env {
            c.env("TESSERA_PUBLIC_URL", url);
        }
        let out = c
            .args(["--database-url", &db])
            .args(pre)
            .args(["org", "show", "acme", "--json"])
            .args(post)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["initiate_login_uri"].as_str().unwrap().to_string()
    };
    let out = Command::new(tessera_bin())
        .current_dir(dir.path())
        .args([
            "org",
            "create",
            "acme",
            "--name",
            "Acme",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        org_show(&[], &[], None),
        "http://127.0.0.1:3000/sso/initiate"
    );
    assert_eq!(
        org_show(&[], &[], Some("https://env.example")),
        "https://env.example/sso/initiate"
    );
    assert_eq!(
        org_show(
            &["--public-url", "https://pre.example"],
            &[],
            Some("https://env.example")
        ),
        "https://pre.example/sso/initiate"
    );
    assert_eq!(
        org_show(
            &[],
            &["--public-url", "https://post.example"],
            Some("https://env.example")
        ),
        "https://post.example/sso/initiate"
    );
}

/// Against the local Okta: the people who signed in are listed; deactivating one through the
/// CLI signs them out of the running server and refuses their next sign-in until they are
/// reactivated; a removed person comes back as a new member.
#[tokio::test]
async fn member_commands_act_on_people_signed_in_through_okta() {
    use testkit::{Browser, OktaDev, TestServer, initiate_url};
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let okta = OktaDev::start(serde_json::json!([okta_client(
            &server.url,
            "tessera-acme",
            SECRET,
            "Tessera (Acme)"
        )]))
        .await;
        server.register_org("acme", &okta.issuer, "tessera-acme", SECRET);
        let start = initiate_url(&server.url, &okta.issuer);
        let sign_in = |user: &'static str| {
            let (url, start) = (server.url.clone(), start.clone());
            async move {
                let b = Browser::new();
                let landed = b.sign_in(&url, &start, user, "password").await.landed();
                (b, landed)
            }
        };
        let (_alice, ok) = sign_in("alice").await;
        assert!(ok);
        let (bob, ok) = sign_in("bob").await;
        assert!(ok);
        assert_eq!(bob.session(&server.url).await.status, 200);

        let list = server.cli_ok(&["member", "list", "acme"]);
        assert_eq!(list.lines().count(), 3, "{list}");
        let bob_line = list.lines().find(|l| l.contains("member")).unwrap();
        assert!(bob_line.contains("active"), "{list}");
        let bob_email = bob_line.split_whitespace().next().unwrap().to_string();

        let out = server.cli_ok(&["member", "deactivate", "acme", &bob_email]);
        assert!(out.contains("Deactivated"), "{out}");
        assert_eq!(
            bob.session(&server.url).await.status,
            401,
            "[{}] the running server signed bob out",
            db.kind
        );
        let (_, ok) = sign_in("bob").await;
        assert!(!ok, "[{}] a deactivated member cannot sign in", db.kind);
        server.cli_ok(&["member", "reactivate", "acme", &bob_email]);
        let (_, ok) = sign_in("bob").await;
        assert!(ok, "[{}] reactivated", db.kind);

        let shown: serde_json::Value =
            serde_json::from_str(&server.cli_ok(&["member", "show", "acme", &bob_email, "--json"]))
                .unwrap();
        let first_id = shown["id"].as_str().unwrap().to_string();
        assert!(shown["open_sessions"].as_i64().unwrap() >= 1, "{shown}");
        server.cli_ok(&["member", "remove", "acme", &first_id, "--yes"]);
        let (b, ok) = sign_in("bob").await;
        assert!(
            ok,
            "[{}] just-in-time provisioning makes them anew",
            db.kind
        );
        let again = b.session(&server.url).await.json();
        assert_ne!(again["member"]["id"], first_id.as_str());
        assert_eq!(again["member"]["role"], "member");
    }
}
