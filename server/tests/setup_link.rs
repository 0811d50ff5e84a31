//! Self-service SSO setup links, on SQLite and PostgreSQL: the token life-cycle (expiry,
//! single use, revocation, hash-only storage), the CLI, the setup page against the local Okta
//! (test, save, sign-in), bad input, the rate limit shared across nodes, the audit log, and
//! the owner's `POST /api/v1/sso/setup-link`.

use app::model::{Org, Role};
use app::ssr::crypto::SecretKey;
use app::ssr::setup_links::{TEST_LIMIT, token_hash};
use app::ssr::store::Store;
use serde_json::{Value, json};
use sqlx::Row as _;
use std::time::Duration;
use testkit::{
    Browser, OktaDev, Resp, TestDb, TestServer, count, databases, dead_issuer, initiate_url,
    okta_client, session_for, sql_exec, sql_row, sql_rows,
};

const SECRET: &str = "globex-secret-Zq8wX1c4v7b2n5m8";
const WRONG_SECRET: &str = "not-the-globex-secret-31415";

// ---- helpers ---------------------------------------------------------------------------------

/// Must fail with one line on stderr containing `needle`.
#[track_caller]
fn cli_refused(server: &TestServer, args: &[&str], needle: &str) {
    let (ok, out, err) = server.cli_run(args);
    assert!(!ok, "{args:?} should fail: {out}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {err:?}");
    assert!(lines[0].starts_with("error:"), "{err}");
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
}

/// `tessera org setup-link <slug> [extra]`: the URL from the first line of stdout.
#[track_caller]
fn new_link(server: &TestServer, slug: &str, extra: &[&str]) -> String {
    let mut args = vec!["org", "setup-link", slug];
    args.extend_from_slice(extra);
    let out = server.cli_ok(&args);
    let url = out.lines().next().expect("a first line").trim().to_string();
    assert!(
        url.starts_with(&format!("{}/setup/", server.url)),
        "first line is the URL: {out}"
    );
    url
}

fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

async fn links_of(store: &Store, org: &Org) -> i64 {
    count(
        store,
        "SELECT COUNT(*) AS n FROM setup_links WHERE org_id = $1",
        org.id.as_str(),
    )
    .await
}

async fn connections_of(store: &Store, org: &Org) -> i64 {
    count(
        store,
        "SELECT COUNT(*) AS n FROM sso_connections WHERE org_id = $1",
        org.id.as_str(),
    )
    .await
}

/// (action, actor_email, after) of an org's audit entries with `action`.
async fn audit(store: &Store, org: &Org, action: &str) -> Vec<(String, Option<String>, Value)> {
    sql_rows(
        store,
        "SELECT actor_email, actor_id, after FROM audit_log WHERE org_id = $1 AND action = $2 ORDER BY at, id",
        &[json!(org.id), json!(action)],
    )
    .await
    .iter()
    .map(|r| {
        (
            r["actor_email"].as_str().expect("actor_email").to_string(),
            r["actor_id"].as_str().map(str::to_string),
            serde_json::from_str(r["after"].as_str().expect("after")).unwrap_or(Value::Null),
        )
    })
    .collect()
}

async fn link_row(store: &Store, token: &str) -> app::ssr::setup_links::SetupLink {
    let row = sql_row(
        store,
        "SELECT id FROM setup_links WHERE token_hash = $1",
        &[json!(token_hash(token))],
    )
    .await;
    let id = row["id"].as_str().expect("link by hash");
    store
        .setup_link(&id.into())
        .await
        .expect("link")
        .expect("exists")
}

/// Does `needle` appear anywhere in the database (every table and column; for SQLite every
/// byte of the files, freed pages and the WAL included)?
async fn stored(db: &TestDb, needle: &str) -> bool {
    match db.kind {
        "sqlite" => {
            // Read the files in another process: opening and closing the database file in this
            // one (which runs the server) would drop SQLite's POSIX locks on it.
            let path = db.url.trim_start_matches("sqlite://");
            let mut found = false;
            for suffix in ["", "-wal", "-shm"] {
                let file = format!("{path}{suffix}");
                let status = std::process::Command::new("grep")
                    .args(["-q", "-a", "-F", "--", needle, &file])
                    .status()
                    .expect("run grep");
                match status.code() {
                    Some(0) => found = true,
                    Some(1) => {}
                    _ => assert!(!suffix.is_empty(), "grep failed on {file}"),
                }
            }
            found
        }
        _ => {
            use sqlx::Connection as _;
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let tables: Vec<String> = sqlx::query(
                "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("t"))
            .collect();
            assert!(tables.iter().any(|t| t == "setup_links"));
            for t in tables {
                let rows = sqlx::query(&format!("SELECT row_to_json(x)::text AS j FROM \"{t}\" x"))
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
                if rows
                    .iter()
                    .any(|r| r.get::<String, _>("j").contains(needle))
                {
                    return true;
                }
            }
            false
        }
    }
}

async fn assert_not_stored(db: &TestDb, needle: &str, what: &str) {
    assert!(
        !stored(db, needle).await,
        "[{}] {what} is stored in the clear",
        db.kind
    );
}

/// The start tag of the element with `id`.
#[track_caller]
fn tag<'a>(body: &'a str, id: &str) -> &'a str {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}: {body}"));
    let start = body[..at].rfind('<').unwrap();
    &body[start..at + body[at..].find('>').unwrap() + 1]
}

/// Is the page's Save button enabled?
fn save_enabled(body: &str) -> bool {
    let start = body.find("id=\"save\"").expect("a Save button");
    let end = start + body[start..].find('>').expect("end of tag");
    !body[start..end].contains("disabled")
}

/// The `data-check` items of a test report: (name, ok), for the checks that ran.
fn checks(body: &str) -> Vec<(String, bool)> {
    body.match_indices("<li class=\"check ")
        .filter(|(i, _)| !body[*i..].starts_with("<li class=\"check skipped"))
        .map(|(i, _)| {
            let rest = &body[i + "<li class=\"check ".len()..];
            let ok = rest.starts_with("ok");
            let n = rest.find("data-check=\"").unwrap() + "data-check=\"".len();
            let name = &rest[n..n + rest[n..].find('"').unwrap()];
            (name.to_string(), ok)
        })
        .collect()
}

/// The checks of a report that could not run (`data-not-checked`), and the one line.
fn not_checked(body: &str) -> Option<(Vec<String>, String)> {
    let start = body.find("<li class=\"check skipped\"")?;
    let li = &body[start..start + body[start..].find("</li>")?];
    let names = li.split("data-not-checked=\"").nth(1)?.split('"').next()?;
    let text = &li[li.find('>')? + 1..];
    Some((
        names.split(' ').map(str::to_string).collect(),
        text.to_string(),
    ))
}

fn form<'a>(domain: &'a str, client_id: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("okta_domain", domain),
        ("client_id", client_id),
        ("client_secret", secret),
    ]
}

/// Posts the setup form as a browser does and follows the answer. A post the form's logic
/// handled answers `303 See Other` (no-store) back to the page's result region,
/// `/setup/<token>#report`, or after a save to `/setup/<token>/done`: the page it leads to is
/// returned. Any other answer (410, 429, 413, …) is returned as it is.
async fn submit(b: &Browser, url: &str, fields: &[(&str, &str)]) -> Resp {
    let r = b.post_form(url, fields).await;
    if r.status != 303 {
        return r;
    }
    let page = url.rsplit_once('/').expect("…/test or …/save").0;
    let path = url::Url::parse(page).unwrap().path().to_string();
    let location = r.location_raw().expect("a Location");
    assert!(
        location == format!("{path}#report") || location == format!("{path}/done"),
        "{url} redirected to {location}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let mut next = r.location().unwrap();
    next.set_fragment(None);
    b.get(next.as_str()).await
}

/// The page after a post that did nothing: the form again, with why in its result region.
#[track_caller]
fn assert_refused(r: &Resp, why: &str) {
    r.assert_status(200);
    assert!(r.body.contains("id=\"form-error\""), "{}", r.body);
    assert!(r.body.contains(why), "lacks {why:?}: {}", r.body);
    assert!(!r.body.contains("id=\"setup-done\""));
}

#[track_caller]
fn assert_gone(r: &Resp) {
    r.assert_status(410);
    assert!(
        r.body
            .contains("This setup link has expired or was already used: ask your Tessera contact for a new one."),
        "{}",
        r.body
    );
    assert_eq!(r.reason().as_deref(), Some("setup_link_invalid"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

async fn api_post(server: &TestServer, sid: Option<&str>, origin: &str, body: Value) -> Resp {
    let b = Browser::new();
    if let Some(sid) = sid {
        b.set_cookie(&server.url, "tessera_session", sid);
    }
    let req = b
        .client
        .post(format!("{}/api/v1/sso/setup-link", server.url))
        .header("origin", origin)
        .json(&body);
    b.send(req).await
}

// ---- the CLI and the token life-cycle ----------------------------------------------------------

#[tokio::test]
async fn cli_creates_lists_expires_and_revokes_links() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        server.cli_ok(&["org", "create", "globex", "--name", "Globex Corp"]);
        let org = testkit::org(store, "globex").await;

        // Text: the URL alone on the first line, then a short explanation.
        let (ok, out, _) = server.cli_run(&["org", "setup-link", "globex"]);
        assert!(ok);
        let first = out.lines().next().unwrap();
        let token = token_of(first);
        assert_eq!(first, format!("{}/setup/{token}", server.url));
        assert_eq!(token.len(), 43, "32 random bytes, URL-safe base64");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(out.contains("Globex Corp"), "{out}");
        assert!(out.contains("Older open links"), "{out}");
        assert!(out.contains("--revoke"), "{out}");
        let link = link_row(store, &token).await;
        let ttl = link.expires_at - link.created_at;
        assert_eq!(ttl, 72 * 3600 * 1000, "default 72h");
        assert_eq!(link.created_by, "operator (CLI)");

        // JSON.
        let j: Value = serde_json::from_str(&server.cli_ok(&[
            "org",
            "setup-link",
            "globex",
            "--expires",
            "30m",
            "--json",
        ]))
        .unwrap();
        let json_token = token_of(j["url"].as_str().unwrap());
        assert_eq!(j.as_object().unwrap().len(), 2, "{j}");
        let l = link_row(store, &json_token).await;
        assert_eq!(l.expires_at - l.created_at, 30 * 60 * 1000);
        let expires_at = j["expires_at"].as_str().unwrap();
        assert!(
            expires_at.ends_with('Z') && expires_at.contains('T'),
            "{expires_at}"
        );
        let seven = new_link(&server, "globex", &["--expires", "7d"]);
        let l = link_row(store, &token_of(&seven)).await;
        assert_eq!(l.expires_at - l.created_at, 7 * 86_400 * 1000);
        new_link(&server, "globex", &["--expires", "30d"]);
        assert_eq!(links_of(store, &org).await, 4);

        // Refused input: one line, nothing written.
        let before = (
            links_of(store, &org).await,
            count(
                store,
                "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1",
                org.id.as_str(),
            )
            .await,
        );
        for (args, needle) in [
            (
                vec!["org", "setup-link", "globex", "--expires", "31d"],
                "at most 30 days",
            ),
            (
                vec!["org", "setup-link", "globex", "--expires", "0h"],
                "more than zero",
            ),
            (
                vec!["org", "setup-link", "globex", "--expires", "soon"],
                "invalid duration",
            ),
            (
                vec!["org", "setup-link", "globex", "--expires", ""],
                "invalid duration",
            ),
            (vec!["org", "setup-link", "nope"], "no org"),
            (vec!["org", "setup-link", "Bad_Slug"], "invalid org slug"),
            (vec!["org", "setup-link", "nope", "--revoke"], "no org"),
        ] {
            cli_refused(&server, &args, needle);
        }
        let after = (
            links_of(store, &org).await,
            count(
                store,
                "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1",
                org.id.as_str(),
            )
            .await,
        );
        assert_eq!(
            before, after,
            "[{}] refused commands wrote nothing",
            db.kind
        );

        // Creating a new link did not revoke the older ones.
        let b = Browser::new();
        b.get(first).await.assert_status(200);
        b.get(&seven).await.assert_status(200);

        // Only hashes are stored.
        assert_eq!(link.id.as_str().len(), 36);
        assert!(
            stored(&db, &token_hash(&token)).await,
            "the scan finds what is stored"
        );
        assert_not_stored(&db, &token, "the token").await;
        assert_not_stored(&db, &json_token, "the token").await;

        // Expiry: past its expires_at the link is gone, with the same message as any other.
        // (The revocation below runs the CLI, another process on the system clock: for it to
        // see these links expired too, this one's expiry is planted and the next one's really
        // elapses, rather than moving the server's clock.)
        let short = new_link(&server, "globex", &["--expires", "1h"]);
        sql_exec(
            store,
            "UPDATE setup_links SET expires_at = $1 WHERE token_hash = $2",
            &[
                json!(server.now_ms() - 1),
                json!(token_hash(&token_of(&short))),
            ],
        )
        .await;
        for _ in 0..5 {
            assert_gone(&b.get(&short).await);
            assert_gone(
                &b.post_form(&format!("{short}/test"), &form("x.okta.com", "id", "s"))
                    .await,
            );
        }
        // Written once per link, however often it is requested.
        let expired = audit(store, &org, "setup_link_expired").await;
        assert_eq!(expired.len(), 1, "{expired:?}");
        assert!(expired.iter().all(|(actor, _, _)| actor == "setup link"));
        let onesec = new_link(&server, "globex", &["--expires", "1s"]);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_gone(&b.get(&onesec).await);

        // Unknown tokens look exactly the same.
        let unknown = format!(
            "{}/setup/{}",
            server.url,
            app::ssr::setup_links::new_token()
        );
        assert_gone(&b.get(&unknown).await);
        assert_gone(&b.get(&format!("{}/setup/short", server.url)).await);
        assert_gone(&b.get(&format!("{}/setup/%ZZ%00", server.url)).await);

        // Revocation: every open link (the four above; two have expired), once.
        let open_links = 4;
        let out = server.cli_ok(&["org", "setup-link", "globex", "--revoke"]);
        assert!(
            out.contains(&format!("Revoked {open_links} open setup link(s)")),
            "{out}"
        );
        assert_eq!(
            server
                .cli_ok(&["org", "setup-link", "globex", "--revoke", "--json"])
                .trim(),
            r#"{"revoked":0}"#
        );
        assert_gone(&b.get(first).await);
        assert_gone(&b.get(&seven).await);

        // The audit log has it all, with the operator as the actor.
        let created = audit(store, &org, "setup_link_created").await;
        assert_eq!(created.len(), 6);
        assert!(created.iter().all(|(a, id, after)| a == "operator (CLI)"
            && id.is_none()
            && after["link_id"].is_string()
            && after["expires_at"].is_i64()));
        let revoked = audit(store, &org, "setup_link_revoked").await;
        assert_eq!(revoked.len() as i64, open_links);
        assert!(revoked.iter().all(|(a, _, _)| a == "operator (CLI)"));
        assert_eq!(audit(store, &org, "setup_link_opened").await.len(), 2);
    }
}

// ---- the setup page against the local Okta ---------------------------------------------------

#[tokio::test]
async fn okta_admin_tests_and_saves_then_the_first_sign_in_becomes_owner() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            "tessera-globex",
            SECRET,
            "Tessera (Globex)"
        )]))
        .await;
        server.cli_ok(&["org", "create", "globex", "--name", "Globex Corp"]);
        let org = testkit::org(store, "globex").await;
        let url = new_link(&server, "globex", &[]);
        let token = token_of(&url);
        let b = Browser::new();

        // The page: steps in Okta's words and the values to paste.
        let page = b.get(&url).await;
        page.assert_status(200);
        assert_eq!(page.header("cache-control"), Some("no-store"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert!(
            page.header("content-security-policy")
                .is_some_and(|c| c.contains("frame-ancestors 'none'"))
        );
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        for text in [
            "Connect Globex Corp to Okta",
            "Applications → Applications",
            "Create App Integration",
            "OIDC - OpenID Connect",
            "Web Application",
            &format!("{}/sso/callback", server.url),
            &format!("{}/sso/initiate", server.url),
            "Either Okta or App",
            "Display application icon to users",
            "Redirect to app to initiate login (OIDC Compliant)",
            "Assign to People",
            "Client Credentials",
            "Test connection",
            &format!("action=\"/setup/{token}/test\""),
            &format!("formaction=\"/setup/{token}/save\""),
        ] {
            assert!(page.body.contains(text), "page lacks {text:?}");
        }
        assert!(!save_enabled(&page.body), "Save waits for a passing test");
        assert!(page.body.contains("type=\"password\""));

        // A wrong secret: the credentials check fails with what to fix; nothing is saved.
        let r = submit(
            &b,
            &format!("{url}/test"),
            &form(&okta.issuer, "tessera-globex", WRONG_SECRET),
        )
        .await;
        r.assert_status(200);
        let c = checks(&r.body);
        assert_eq!(c.len(), 5, "{c:?}");
        assert!(c.contains(&("discovery".into(), true)), "{c:?}");
        assert!(c.contains(&("client_credentials".into(), false)), "{c:?}");
        assert!(r.body.contains("Client Credentials"), "fix text");
        assert!(
            r.body.contains("paste it into the form below"),
            "fix speaks to the form"
        );
        assert!(!r.body.contains("tessera sso set"));
        assert!(!r.body.contains(WRONG_SECRET), "the secret is never echoed");
        assert!(
            r.body.contains("value=\"tessera-globex\""),
            "values are kept"
        );
        assert!(r.body.contains("Leave empty to reuse"));
        assert!(!save_enabled(&r.body));
        assert_eq!(connections_of(store, &org).await, 0);

        // Saving what failed (or was never tested) is refused.
        for secret in [WRONG_SECRET, "", SECRET] {
            let r = submit(
                &b,
                &format!("{url}/save"),
                &form(&okta.issuer, "tessera-globex", secret),
            )
            .await;
            assert_refused(&r, "Test the connection first");
            assert!(!r.body.contains(SECRET) && !r.body.contains(WRONG_SECRET));
        }
        assert_eq!(connections_of(store, &org).await, 0);

        // The right values pass every check.
        let r = submit(
            &b,
            &format!("{url}/test"),
            &form(&format!("{}/", okta.issuer), " tessera-globex ", SECRET),
        )
        .await;
        r.assert_status(200);
        let c = checks(&r.body);
        assert_eq!(c.len(), 5);
        assert!(c.iter().all(|(_, ok)| *ok), "{c:?}\n{}", r.body);
        assert!(r.body.contains("All checks passed"));
        assert!(!r.body.contains(SECRET), "the secret is never echoed");
        assert!(save_enabled(&r.body));
        let link = link_row(store, &token).await;
        assert!(link.last_test_ok_at.is_some() && link.passed_hash.is_some());
        assert_eq!(link.test_attempts, 2);
        let sealed = link.pending_secret_enc.clone().expect("kept, sealed");
        assert!(sealed.starts_with("v1:") && !sealed.contains(SECRET));
        assert_eq!(
            connections_of(store, &org).await,
            0,
            "testing saves nothing"
        );

        // Different values than the passing test cannot be saved.
        let r = submit(
            &b,
            &format!("{url}/save"),
            &form(&okta.issuer, "tessera-globex", WRONG_SECRET),
        )
        .await;
        assert_refused(&r, "Test the connection first");
        // An empty secret with another Client ID: the kept secret is not used for it.
        let r = submit(
            &b,
            &format!("{url}/save"),
            &form(&okta.issuer, "tessera-other", ""),
        )
        .await;
        assert_refused(&r, "paste the Client secret again");
        assert!(r.body.contains("value=\"tessera-other\""), "as typed");
        assert_eq!(connections_of(store, &org).await, 0);

        // Save (the secret field left empty reuses the tested one): stored, enabled, consumed.
        let r = submit(
            &b,
            &format!("{url}/save"),
            &form(&okta.issuer, "tessera-globex", ""),
        )
        .await;
        r.assert_status(200);
        assert!(
            r.body.contains("Click the app's tile in your Okta dashboard now: the first person to sign in becomes the owner"),
            "{}",
            r.body
        );
        assert!(r.body.contains("id=\"setup-done\""));
        let sso = store
            .sso_connection(&org.id)
            .await
            .unwrap()
            .expect("connection");
        assert_eq!(sso.issuer, okta.issuer);
        assert_eq!(sso.client_id, "tessera-globex");
        assert!(sso.enabled && sso.jit_enabled);
        let key = SecretKey::load_or_create(&server.config.secret_key_file).unwrap();
        let stored = store.sealed_client_secret(&org.id).await.unwrap().unwrap();
        assert_eq!(key.open(&org.id, &stored).unwrap(), SECRET);
        let link = link_row(store, &token).await;
        assert!(link.used_at.is_some());
        assert!(
            link.pending_secret_enc.is_none(),
            "the kept secret is dropped"
        );

        // Single use: the link is gone for good.
        assert_gone(&b.get(&url).await);
        assert_gone(
            &b.post_form(
                &format!("{url}/test"),
                &form(&okta.issuer, "tessera-globex", SECRET),
            )
            .await,
        );
        assert_gone(
            &b.post_form(
                &format!("{url}/save"),
                &form(&okta.issuer, "tessera-globex", SECRET),
            )
            .await,
        );

        // The Okta tile now signs people in: the first one becomes the owner.
        let person = Browser::new();
        let flow = person
            .sign_in(
                &server.url,
                &initiate_url(&server.url, &okta.issuer),
                "user9001",
                "password",
            )
            .await;
        assert!(flow.landed(), "{flow:#?}");
        let s = person.session(&server.url).await;
        s.assert_status(200);
        assert_eq!(s.json()["member"]["role"], "owner");
        assert_eq!(s.json()["org"]["slug"], "globex");

        // Audit: created by the operator, everything else by the setup link.
        let actors = |v: Vec<(String, Option<String>, Value)>| {
            v.into_iter().map(|(a, _, _)| a).collect::<Vec<_>>()
        };
        assert_eq!(
            actors(audit(store, &org, "setup_link_created").await),
            ["operator (CLI)"]
        );
        assert_eq!(
            actors(audit(store, &org, "setup_link_opened").await),
            ["setup link"]
        );
        let failed = audit(store, &org, "setup_link_test_failed").await;
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, "setup link");
        assert_eq!(failed[0].2["failed"], json!(["client_credentials"]));
        assert_eq!(failed[0].2["client_id"], "tessera-globex");
        let passed = audit(store, &org, "setup_link_test_passed").await;
        assert_eq!(passed.len(), 1);
        assert_eq!(passed[0].2["issuer"], okta.issuer);
        let saved = audit(store, &org, "setup_link_saved").await;
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].0, "setup link");
        assert_eq!(saved[0].2["enabled"], true);
        assert_eq!(saved[0].2["client_id"], "tessera-globex");

        // Neither the token nor the secret is stored in the clear anywhere.
        assert_not_stored(&db, &token, "the token").await;
        assert_not_stored(&db, SECRET, "the client secret").await;
        assert_not_stored(&db, WRONG_SECRET, "the wrong client secret").await;
    }
}

type Snapshot = (i64, Option<String>, Option<String>, i64, i64);

/// What bad input must not change.
async fn snapshot(store: &Store, token: &str, org: &Org) -> Snapshot {
    let l = link_row(store, token).await;
    (
        l.test_attempts,
        l.pending_issuer,
        l.passed_hash,
        connections_of(store, org).await,
        count(
            store,
            "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1",
            org.id.as_str(),
        )
        .await,
    )
}

// ---- bad input -------------------------------------------------------------------------------

#[tokio::test]
async fn bad_input_gets_a_clear_page_and_changes_nothing() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let taken = dead_issuer();
        server.register_org("acme", &taken, "acme-client", "acme-secret");
        server.cli_ok(&["org", "create", "globex", "--name", "Globex <Corp>"]);
        let org = testkit::org(store, "globex").await;
        let url = new_link(&server, "globex", &[]);
        let token = token_of(&url);
        let b = Browser::new();
        let page = b.get(&url).await;
        page.assert_status(200);
        assert!(
            page.body.contains("Globex &lt;Corp&gt;"),
            "the org name is escaped"
        );

        let before = snapshot(store, &token, &org).await;

        let long_id = "x".repeat(300);
        let long_secret = "s".repeat(1100);
        let long_domain = format!("{}.okta.com", "a".repeat(400));
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "Enter your Okta domain"),
            (form("", "id", "secret"), "Enter your Okta domain"),
            (
                form("not a domain", "id", "secret"),
                "is not an Okta domain",
            ),
            (
                form("<script>alert(1)</script>", "id", "secret"),
                "is not an Okta domain",
            ),
            (
                form("ftp://acme.okta.com", "id", "secret"),
                "is not an Okta domain",
            ),
            (
                form("https://acme.okta.com/?q=1", "id", "secret"),
                "is not an Okta domain",
            ),
            (form(&long_domain, "id", "secret"), "too long"),
            (form("acme.okta.com", "", "secret"), "Enter the Client ID"),
            (
                form("acme.okta.com", "has space", "secret"),
                "is not a Client ID",
            ),
            (
                form("acme.okta.com", &long_id, "secret"),
                "is not a Client ID",
            ),
            (form("acme.okta.com", "id", ""), "Paste the Client secret"),
            (
                form("acme.okta.com", "id", &long_secret),
                "is not a Client secret",
            ),
            (
                vec![("okta_domain", "acme.okta.com"), ("client_id", "id")],
                "Paste the Client secret",
            ),
        ];
        for (fields, needle) in &cases {
            for step in ["test", "save"] {
                let r = submit(&b, &format!("{url}/{step}"), fields).await;
                assert_refused(&r, needle);
                assert!(!r.body.contains("<script>alert"), "input is escaped");
                assert!(!r.body.contains(&long_secret));
                // Shown once: a reload shows the page without it.
                assert!(!b.get(&url).await.body.contains("id=\"form-error\""));
            }
        }
        // The rejected domain is shown again, escaped, for correcting.
        let r = submit(
            &b,
            &format!("{url}/test"),
            &form("<script>alert(1)</script>", "id", "s"),
        )
        .await;
        assert!(
            r.body
                .contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\"")
        );

        // Not a form, too large, cross-site.
        let r = b
            .send(
                b.post(&url, &format!("{url}/test"))
                    .json(&json!({"okta_domain": "acme.okta.com"})),
            )
            .await;
        r.assert_status(415);
        assert_eq!(r.reason().as_deref(), Some("bad_request"));
        let huge = "a".repeat(64 * 1024);
        let r = b
            .post_form(&format!("{url}/test"), &form("acme.okta.com", "id", &huge))
            .await;
        r.assert_status(413);
        assert_eq!(r.reason().as_deref(), Some("too_large"));
        let r = b
            .post_form_from(
                "https://evil.example/",
                &format!("{url}/save"),
                &form("acme.okta.com", "id", "s"),
            )
            .await;
        r.assert_status(403);
        assert_eq!(r.json()["error"], "cross_site");
        // Chromium's form POST under `Referrer-Policy: no-referrer`: `Origin: null`, and the
        // browser's own Sec-Fetch-Site decides.
        let null_origin = |site: &'static str| {
            b.client
                .post(format!("{url}/test"))
                .header("origin", "null")
                .header("sec-fetch-site", site)
                .form(&form("not a domain", "id", "s"))
        };
        b.send(null_origin("same-origin")).await.assert_status(303);
        for site in ["cross-site", "same-site"] {
            let r = b.send(null_origin(site)).await;
            r.assert_status(403);
            assert_eq!(r.json()["error"], "cross_site");
        }
        // A reload of a POST result lands on the page.
        let r = b.get(&format!("{url}/test")).await;
        r.assert_status(303);
        assert_eq!(r.location_raw(), Some(format!("/setup/{token}").as_str()));

        assert_eq!(
            snapshot(store, &token, &org).await,
            before,
            "[{}] bad input changed nothing",
            db.kind
        );

        // An issuer that belongs to another org is refused (the test counts, nothing is saved).
        let r = submit(
            &b,
            &format!("{url}/test"),
            &form(&taken, "id", "some-secret"),
        )
        .await;
        assert_refused(&r, "already connected to another organization");
        assert!(!r.body.contains("acme Inc"), "the other org is not named");
        assert!(!save_enabled(&r.body));
        assert!(!r.body.contains("id=\"test-report\""), "no test ran");
        let r = submit(
            &b,
            &format!("{url}/save"),
            &form(&taken, "id", "some-secret"),
        )
        .await;
        assert_refused(&r, "Test the connection first");
        assert_eq!(connections_of(store, &org).await, 0);
        let failed = audit(store, &org, "setup_link_test_failed").await;
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].2["failed"], json!(["issuer_in_use"]));

        // An unreachable Okta fails discovery with the fix; the rest is one "not checked" line.
        let r = submit(
            &b,
            &format!("{url}/test"),
            &form(&dead_issuer(), "id", "some-secret"),
        )
        .await;
        r.assert_status(200);
        let c = checks(&r.body);
        assert_eq!(c, [("discovery".to_string(), false)]);
        let (names, line) = not_checked(&r.body).expect("one not-checked line");
        assert_eq!(
            names,
            [
                "issuer",
                "signing_keys",
                "client_credentials",
                "redirect_uri"
            ]
        );
        assert_eq!(
            line,
            "Not checked because “Okta answers” failed: Okta domain (issuer), Signing keys (RS256), Client ID and Client secret, Sign-in redirect URI."
        );
        assert_eq!(r.body.matches("✗").count(), 1, "one red cross");
        assert!(r.body.contains("the Okta domain you entered"), "{}", r.body);
        assert_eq!(connections_of(store, &org).await, 0);
        assert!(link_row(store, &token).await.used_at.is_none());
    }
}

// ---- the rate limit --------------------------------------------------------------------------

#[tokio::test]
async fn connection_tests_are_rate_limited_per_link_across_nodes() {
    for db in databases().await {
        let a = TestServer::start(&db).await;
        let b_node = TestServer::start_with_clock(&db, &a.clock, &[]).await;
        a.cli_ok(&["org", "create", "globex", "--name", "Globex"]);
        let org = testkit::org(&a.store, "globex").await;
        let url_a = new_link(&a, "globex", &[]);
        let token = token_of(&url_a);
        let url_b = format!("{}/setup/{token}", b_node.url);
        let other = new_link(&a, "globex", &[]);
        let dead = dead_issuer();
        let browser = Browser::new();
        for i in 0..TEST_LIMIT {
            let url = if i % 2 == 0 { &url_a } else { &url_b };
            let r = submit(
                &browser,
                &format!("{url}/test"),
                &form(&dead, "id", "secret"),
            )
            .await;
            r.assert_status(200);
            assert!(r.body.contains("id=\"test-report\""), "{}", r.body);
        }
        for url in [&url_a, &url_b] {
            let r = browser
                .post_form(&format!("{url}/test"), &form(&dead, "id", "secret"))
                .await;
            r.assert_status(429);
            assert_eq!(r.reason().as_deref(), Some("rate_limited"));
            assert!(r.body.contains("Too many connection tests"));
            assert!(r.body.contains("10 connection tests per 10 minutes"));
            assert!(r.body.contains(&format!("href=\"/setup/{token}\"")));
            let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=600).contains(&retry), "{retry}");
        }
        let link = link_row(&a.store, &token).await;
        assert_eq!(link.test_attempts, TEST_LIMIT, "refused tests are not run");
        assert_eq!(
            audit(&a.store, &org, "setup_link_test_failed").await.len() as i64,
            TEST_LIMIT
        );
        // The page and other links are not affected.
        browser.get(&url_a).await.assert_status(200);
        browser
            .post_form(&format!("{other}/test"), &form(&dead, "id", "secret"))
            .await
            .assert_status(303);
        // A new window (both nodes share the clock).
        a.advance(Duration::from_secs(11 * 60));
        browser
            .post_form(&format!("{url_b}/test"), &form(&dead, "id", "secret"))
            .await
            .assert_status(303);
        assert_eq!(
            link_row(&a.store, &token).await.test_attempts,
            TEST_LIMIT + 1
        );
    }
}

// ---- the owner's API ---------------------------------------------------------------------------

#[tokio::test]
async fn owner_creates_a_link_and_the_okta_admin_replaces_the_app() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let okta = OktaDev::start(json!([
            okta_client(
                &server.url,
                "tessera-acme",
                "acme-old-secret-0123456789",
                "Tessera (Acme)"
            ),
            okta_client(
                &server.url,
                "tessera-acme-2",
                "acme-new-secret-9876543210",
                "Tessera (Acme, new)"
            ),
        ]))
        .await;
        server.register_org(
            "acme",
            &okta.issuer,
            "tessera-acme",
            "acme-old-secret-0123456789",
        );
        let org = testkit::org(store, "acme").await;
        let alice = Browser::new();
        let flow = alice
            .sign_in(
                &server.url,
                &initiate_url(&server.url, &okta.issuer),
                "alice",
                "password",
            )
            .await;
        assert!(flow.landed());
        let owner = store
            .member_by_subject(&org.id, &okta.issuer, "00u1alice")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(owner.role, Role::Owner);
        let (admin, _) = store
            .insert_member(
                &org.id,
                &okta.issuer,
                "00u-admin",
                "adam@example.com",
                "Adam",
                Role::Admin,
            )
            .await
            .unwrap();
        let sid = session_for(store, &owner).await;
        let admin_sid = session_for(store, &admin).await;
        let origin = server.url.clone();

        // Who may.
        let r = api_post(&server, None, &origin, json!({})).await;
        r.assert_status(401);
        assert_eq!(r.json()["error"], "unauthenticated");
        let r = api_post(&server, Some(&admin_sid), &origin, json!({})).await;
        r.assert_status(403);
        assert_eq!(r.json()["error"], "forbidden");
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .contains("Only the owner")
        );
        let r = api_post(&server, Some(&sid), "https://evil.example", json!({})).await;
        r.assert_status(403);
        assert_eq!(r.json()["error"], "cross_site");
        for bad in ["31d", "soon", "0m"] {
            let r = api_post(&server, Some(&sid), &origin, json!({"expires": bad})).await;
            r.assert_status(400);
            assert_eq!(r.json()["error"], "invalid", "{bad}");
        }
        assert_eq!(links_of(store, &org).await, 0);

        // The owner's links.
        let t0 = server.now_ms();
        let r = api_post(&server, Some(&sid), &origin, json!({"expires": "30m"})).await;
        r.assert_status(200);
        let j = r.json();
        let short_url = j["url"].as_str().unwrap().to_string();
        assert!(short_url.starts_with(&format!("{}/setup/", server.url)));
        let expires = j["expires_at"].as_i64().unwrap();
        assert!((t0 + 30 * 60_000..=server.now_ms() + 30 * 60_000).contains(&expires));
        let r = api_post(&server, Some(&sid), &origin, json!({})).await;
        r.assert_status(200);
        let url = r.json()["url"].as_str().unwrap().to_string();
        let expires = r.json()["expires_at"].as_i64().unwrap();
        let now = server.now_ms();
        assert!(expires - now > 71 * 3_600_000 && expires - now <= 72 * 3_600_000);
        let created = audit(store, &org, "setup_link_created").await;
        assert_eq!(created.len(), 2);
        assert!(
            created
                .iter()
                .all(|(a, id, _)| a == "alice@example.com"
                    && id.as_deref() == Some(owner.id.as_str()))
        );
        assert_eq!(
            link_row(store, &token_of(&url)).await.created_by,
            "alice@example.com"
        );

        // The Okta administrator connects the new app.
        let b = Browser::new();
        b.get(&url).await.assert_status(200);
        let r = submit(
            &b,
            &format!("{url}/test"),
            &form(&okta.issuer, "tessera-acme-2", "acme-new-secret-9876543210"),
        )
        .await;
        let c = checks(&r.body);
        assert!(c.len() == 5 && c.iter().all(|(_, ok)| *ok), "{}", r.body);
        let r = submit(
            &b,
            &format!("{url}/save"),
            &form(&okta.issuer, "tessera-acme-2", "acme-new-secret-9876543210"),
        )
        .await;
        r.assert_status(200);
        assert!(
            r.body.contains("Single sign-on for acme Inc is updated"),
            "{}",
            r.body
        );
        assert!(!r.body.contains("becomes the owner"));
        let sso = store.sso_connection(&org.id).await.unwrap().unwrap();
        assert_eq!(sso.client_id, "tessera-acme-2");
        assert!(sso.enabled);
        let saved = audit(store, &org, "setup_link_saved").await;
        assert_eq!(saved.len(), 1);
        let before: Value = serde_json::from_str(
            sql_row(
                store,
                "SELECT before FROM audit_log WHERE org_id = $1 AND action = 'setup_link_saved'",
                &[json!(org.id)],
            )
            .await["before"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(before["client_id"], "tessera-acme");

        // The other (older) link is still open; alice signs in again with the new app.
        b.get(&short_url).await.assert_status(200);
        let again = Browser::new();
        let flow = again
            .sign_in(
                &server.url,
                &initiate_url(&server.url, &okta.issuer),
                "alice",
                "password",
            )
            .await;
        assert!(flow.landed(), "{flow:#?}");
        assert_eq!(
            again.session(&server.url).await.json()["member"]["role"],
            "owner"
        );
        assert_gone(&b.get(&url).await);
    }
}

// ---- a kept secret stays with its issuer and Client ID ------------------------------------------

/// A local listener that records every request it receives (and answers 404): the "other
/// host" someone holding a link might point the test at.
struct Spy {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Spy {
    async fn start() -> Spy {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut got = Vec::new();
                    while let Ok(Ok(n)) = tokio::time::timeout(
                        std::time::Duration::from_millis(500),
                        sock.read(&mut buf),
                    )
                    .await
                    {
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                        if got.windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                    log.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&got).into_owned());
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        Spy { url, seen, task }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Spy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn a_kept_secret_is_used_only_with_its_own_issuer_and_client_id() {
    use base64::Engine as _;
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            "tessera-globex",
            SECRET,
            "Tessera (Globex)"
        )]))
        .await;
        let spy = Spy::start().await;
        let other_okta = OktaDev::start(json!([{
            "client_id": "tessera-globex",
            "client_secret": "the-other-okta-secret-000",
            "redirect_uris": [format!("{}/sso/callback", server.url)],
            "name": "Tessera (elsewhere)",
        }]))
        .await;
        server.cli_ok(&["org", "create", "globex", "--name", "Globex Corp"]);
        let org = testkit::org(store, "globex").await;
        let url = new_link(&server, "globex", &[]);
        let token = token_of(&url);
        let b = Browser::new();
        b.get(&url).await.assert_status(200);

        // The Okta admin passes the test with the real values: the secret is kept.
        let r = submit(
            &b,
            &format!("{url}/test"),
            &form(&okta.issuer, "tessera-globex", SECRET),
        )
        .await;
        r.assert_status(200);
        let c = checks(&r.body);
        assert!(c.len() == 5 && c.iter().all(|(_, ok)| *ok), "{}", r.body);
        assert!(
            r.body
                .contains("only with the same Okta domain and Client ID")
        );
        let before = snapshot(store, &token, &org).await;

        // Someone else holding the link: another host or another Client ID with the secret
        // field empty. Refused with a clear message, before any request leaves Tessera.
        let spy_slash = format!("{}/", spy.url);
        let spy_upper = spy.url.replace("http://", "HTTP://");
        for (domain, client_id) in [
            (spy.url.as_str(), "tessera-globex"),
            (spy_slash.as_str(), "tessera-globex"),
            (spy_upper.as_str(), "tessera-globex"),
            (spy.url.as_str(), "tessera-other"),
            (other_okta.issuer.as_str(), "tessera-globex"),
            (okta.issuer.as_str(), "tessera-other"),
            (okta.issuer.as_str(), "tessera-globex2"),
        ] {
            for step in ["test", "save"] {
                let r = submit(&b, &format!("{url}/{step}"), &form(domain, client_id, "")).await;
                assert_refused(&r, "paste the Client secret again");
                assert!(!r.body.contains(SECRET));
            }
        }
        assert!(
            spy.requests().is_empty(),
            "[{}] the other host was contacted: {:?}",
            db.kind,
            spy.requests()
        );
        assert_eq!(
            snapshot(store, &token, &org).await,
            before,
            "[{}] the refused attempts changed nothing",
            db.kind
        );
        assert_eq!(connections_of(store, &org).await, 0);

        // The kept secret still serves exactly its own values: Save with the field empty.
        let r = submit(
            &b,
            &format!("{url}/save"),
            &form(&okta.issuer, "tessera-globex", ""),
        )
        .await;
        r.assert_status(200);
        assert!(r.body.contains("id=\"setup-done\""), "{}", r.body);
        let key = SecretKey::load_or_create(&server.config.secret_key_file).unwrap();
        let sealed = store.sealed_client_secret(&org.id).await.unwrap().unwrap();
        assert_eq!(key.open(&org.id, &sealed).unwrap(), SECRET);

        // Control: with a secret typed in, a test does reach the other host (so the spy would
        // have seen the earlier attempts), and it never carries the kept secret.
        let url2 = new_link(&server, "globex", &[]);
        let r = submit(
            &b,
            &format!("{url2}/test"),
            &form(&okta.issuer, "tessera-globex", SECRET),
        )
        .await;
        r.assert_status(200);
        let r = submit(
            &b,
            &format!("{url2}/test"),
            &form(&spy.url, "tessera-globex", "typed-for-elsewhere"),
        )
        .await;
        r.assert_status(200);
        assert_eq!(checks(&r.body)[0], ("discovery".to_string(), false));
        let seen = spy.requests();
        assert!(!seen.is_empty(), "the spy answers");
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("tessera-globex:{SECRET}"));
        for req in &seen {
            assert!(!req.contains(SECRET) && !req.contains(&basic), "{req}");
            assert!(!req.to_ascii_lowercase().contains("authorization"), "{req}");
        }
        // The newly typed secret replaced the kept one: the real Okta's secret is gone from
        // the link, so an empty field with the real values now asks for it again.
        let r = submit(
            &b,
            &format!("{url2}/test"),
            &form(&okta.issuer, "tessera-globex", ""),
        )
        .await;
        assert_refused(&r, "paste the Client secret again");
        assert_not_stored(&db, SECRET, "the client secret").await;
    }
}

// ---- links die with their creator's ownership ---------------------------------------------------

#[tokio::test]
async fn a_members_links_die_when_they_stop_being_owner_on_every_node() {
    for db in databases().await {
        let a = TestServer::start(&db).await;
        let b_node = TestServer::start(&db).await;
        let store = &a.store;
        let issuer = dead_issuer();
        a.register_org("acme", &issuer, "acme-client", "acme-secret");
        let org = testkit::org(store, "acme").await;
        let (alice, _) = store
            .insert_member(
                &org.id,
                &issuer,
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
                &issuer,
                "sub-bob",
                "bob@example.com",
                "Bob",
                Role::Admin,
            )
            .await
            .unwrap();
        let alice_sid = session_for(store, &alice).await;
        let bob_sid = session_for(store, &bob).await;

        // Alice (owner) makes two links; the operator one.
        let mut alice_links = vec![];
        for _ in 0..2 {
            let r = api_post(&a, Some(&alice_sid), &a.url, json!({})).await;
            r.assert_status(200);
            alice_links.push(token_of(r.json()["url"].as_str().unwrap()));
        }
        let operator = token_of(&new_link(&a, "acme", &[]));
        let on_b = |t: &str| format!("{}/setup/{t}", b_node.url);
        let browser = Browser::new();
        browser.get(&on_b(&alice_links[0])).await.assert_status(200);
        browser
            .post_form(
                &format!("{}/test", on_b(&alice_links[0])),
                &form(&dead_issuer(), "id", "secret"),
            )
            .await
            .assert_status(303);

        // Alice hands the org to Bob (on node A): her links die on node B at once.
        let transfer = Browser::new();
        transfer.set_cookie(&a.url, "tessera_session", &alice_sid);
        let r = transfer
            .send(
                transfer
                    .post(&a.url, &format!("{}/api/v1/org/transfer-ownership", a.url))
                    .json(&json!({"member_id": bob.id})),
            )
            .await;
        r.assert_status(200);
        for t in &alice_links {
            assert_gone(&browser.get(&on_b(t)).await);
            assert_gone(
                &browser
                    .post_form(
                        &format!("{}/test", on_b(t)),
                        &form(&dead_issuer(), "id", "secret"),
                    )
                    .await,
            );
            assert_gone(
                &browser
                    .post_form(
                        &format!("{}/save", on_b(t)),
                        &form(&dead_issuer(), "id", "secret"),
                    )
                    .await,
            );
            let l = link_row(store, t).await;
            assert!(l.revoked_at.is_some() && l.pending_secret_enc.is_none());
        }
        let revoked = audit(store, &org, "setup_link_revoked").await;
        assert_eq!(revoked.len(), 2, "{revoked:?}");
        assert!(
            revoked
                .iter()
                .all(|(actor, _, after)| actor == "alice@example.com"
                    && after["reason"] == "creator_no_longer_owner")
        );
        // The operator's link is unaffected.
        browser.get(&on_b(&operator)).await.assert_status(200);
        // Alice may no longer make links.
        let r = api_post(&a, Some(&alice_sid), &a.url, json!({})).await;
        r.assert_status(403);

        // Bob's link; then Bob stops being the owner by a path that revokes nothing (here:
        // straight in the database, as an older node might): the link is refused at use,
        // on either node, and stays dead when he is the owner again.
        let r = api_post(&a, Some(&bob_sid), &a.url, json!({})).await;
        r.assert_status(200);
        let bobs = token_of(r.json()["url"].as_str().unwrap());
        browser.get(&on_b(&bobs)).await.assert_status(200);
        sql_exec(
            store,
            "UPDATE members SET role = 'admin' WHERE id = $1",
            &[json!(bob.id)],
        )
        .await;
        assert_gone(
            &browser
                .post_form(
                    &format!("{}/save", on_b(&bobs)),
                    &form(&dead_issuer(), "id", "secret"),
                )
                .await,
        );
        assert_gone(&browser.get(&format!("{}/setup/{bobs}", a.url)).await);
        sql_exec(
            store,
            "UPDATE members SET role = 'owner' WHERE id = $1",
            &[json!(bob.id)],
        )
        .await;
        assert_gone(&browser.get(&on_b(&bobs)).await);
        assert!(link_row(store, &bobs).await.revoked_at.is_some());

        // A removed creator: Bob makes a link, then is deleted (with the API's rules he could
        // not be, being the owner; the link still must not outlive him).
        let r = api_post(&a, Some(&bob_sid), &a.url, json!({})).await;
        r.assert_status(200);
        let last = token_of(r.json()["url"].as_str().unwrap());
        sql_exec(store, "DELETE FROM members WHERE id = $1", &[json!(bob.id)]).await;
        assert_gone(&browser.get(&on_b(&last)).await);
        assert_eq!(connections_of(store, &org).await, 1);
        let sso = store.sso_connection(&org.id).await.unwrap().unwrap();
        assert_eq!(sso.issuer, issuer, "[{}] nothing was re-pointed", db.kind);
    }
}

// ---- bounded writes from unauthenticated requests ----------------------------------------------

async fn audit_rows(store: &Store, org: &Org) -> i64 {
    count(
        store,
        "SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1",
        org.id.as_str(),
    )
    .await
}

#[tokio::test]
async fn anonymous_requests_write_a_bounded_number_of_audit_rows() {
    use app::ssr::setup_links::PAGE_AUDIT_BUDGET;
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        server.cli_ok(&["org", "create", "globex", "--name", "Globex"]);
        let org = testkit::org(store, "globex").await;
        let url = new_link(&server, "globex", &[]);
        let token = token_of(&url);
        let start = audit_rows(store, &org).await;

        // 1,000 opens: one `setup_link_opened`.
        let b = Browser::new();
        for _ in 0..20 {
            let mut gets = tokio::task::JoinSet::new();
            for _ in 0..50 {
                let (b, url) = (b.clone(), url.clone());
                gets.spawn(async move { b.get(&url).await.status });
            }
            while let Some(status) = gets.join_next().await {
                assert_eq!(status.unwrap(), 200);
            }
        }
        assert_eq!(
            audit_rows(store, &org).await - start,
            1,
            "[{}] 1,000 opens wrote one row",
            db.kind
        );
        assert_eq!(audit(store, &org, "setup_link_opened").await.len(), 1);
        // An hour later, the next open is recorded again (once).
        server.advance(Duration::from_secs(61 * 60));
        for _ in 0..5 {
            b.get(&url).await.assert_status(200);
        }
        assert_eq!(audit(store, &org, "setup_link_opened").await.len(), 2);

        // Refused saves write nothing: never tested, bad input (nor does the page they lead to).
        let before = audit_rows(store, &org).await;
        for _ in 0..20 {
            assert_refused(
                &submit(&b, &format!("{url}/save"), &form(&dead_issuer(), "id", "s")).await,
                "Test the connection first",
            );
            assert_refused(
                &submit(&b, &format!("{url}/save"), &form("", "id", "s")).await,
                "Enter your Okta domain",
            );
            assert_refused(
                &submit(&b, &format!("{url}/test"), &form("not a domain", "id", "s")).await,
                "is not an Okta domain",
            );
        }
        assert_eq!(audit_rows(store, &org).await, before);

        // Failed tests: written while the link's budget lasts, then only counted.
        sql_exec(
            store,
            "UPDATE setup_links SET page_audit_rows = $1 WHERE token_hash = $2",
            &[json!(PAGE_AUDIT_BUDGET - 1), json!(token_hash(&token))],
        )
        .await;
        let attempts = link_row(store, &token).await.test_attempts;
        for _ in 0..3 {
            b.post_form(&format!("{url}/test"), &form(&dead_issuer(), "id", "s"))
                .await
                .assert_status(303);
        }
        assert_eq!(audit_rows(store, &org).await, before + 1);
        assert_eq!(link_row(store, &token).await.test_attempts, attempts + 3);
        // Opens too stop at the budget.
        sql_exec(
            store,
            "UPDATE setup_links SET opened_noted_at = NULL WHERE token_hash = $1",
            &[json!(token_hash(&token))],
        )
        .await;
        b.get(&url).await.assert_status(200);
        assert_eq!(audit_rows(store, &org).await, before + 1);

        // An expired link: one `setup_link_expired`, however often it is requested.
        let short = new_link(&server, "globex", &["--expires", "1h"]);
        server.advance(Duration::from_secs(3_600));
        let before = audit_rows(store, &org).await;
        for _ in 0..50 {
            assert_gone(&b.get(&short).await);
            assert_gone(
                &b.post_form(&format!("{short}/test"), &form("x.okta.com", "i", "s"))
                    .await,
            );
        }
        assert_eq!(audit_rows(store, &org).await, before + 1);
        // Unknown tokens write nothing at all.
        let unknown = format!(
            "{}/setup/{}",
            server.url,
            app::ssr::setup_links::new_token()
        );
        for _ in 0..50 {
            assert_gone(&b.get(&unknown).await);
        }
        assert_eq!(audit_rows(store, &org).await, before + 1);
    }
}

/// A connection test that is still waiting on the IdP when its link expires keeps nothing: the
/// secret is not stored on the expired link, no test entry is written, and the page says the
/// link cannot be used.
#[tokio::test]
async fn a_test_outliving_its_link_keeps_no_secret() {
    for db in databases().await {
        let server = TestServer::start_with(&db, &["--idp-timeout", "4s"]).await;
        let store = &server.store;
        // An IdP that accepts connections and answers nothing until it hangs up.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hanging = format!("http://{}", listener.local_addr().unwrap());
        let (accepted_tx, accepted) = tokio::sync::oneshot::channel::<()>();
        let (hang_up, mut hung_up) = tokio::sync::oneshot::channel::<()>();
        let held = tokio::spawn(async move {
            let (mut socks, mut accepted_tx) = (Vec::new(), Some(accepted_tx));
            loop {
                tokio::select! {
                    Ok((sock, _)) = listener.accept() => {
                        socks.push(sock);
                        if let Some(tx) = accepted_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    _ = &mut hung_up => break,
                }
            }
        });
        server.cli_ok(&["org", "create", "globex", "--name", "Globex"]);
        let org = testkit::org(store, "globex").await;
        let url = new_link(&server, "globex", &["--expires", "2s"]);
        let token = token_of(&url);
        let test = {
            let (url, hanging) = (url.clone(), hanging.clone());
            tokio::spawn(async move {
                Browser::new()
                    .post_form(
                        &format!("{url}/test"),
                        &form(&hanging, "tessera-globex", "secret-of-an-expired-link"),
                    )
                    .await
            })
        };
        // The test waits on the IdP; meanwhile the link expires; then the IdP hangs up.
        accepted.await.expect("the test reached the IdP");
        server.advance(Duration::from_secs(3));
        let _ = hang_up.send(());
        let r = test.await.unwrap();
        let link = link_row(store, &token).await;
        assert!(
            link.expires_at <= server.now_ms(),
            "the test outlived the link"
        );
        assert_gone(&r);
        assert!(link.pending_secret_enc.is_none(), "a secret was kept");
        assert!(link.pending_issuer.is_none());
        for action in ["setup_link_test_passed", "setup_link_test_failed"] {
            assert!(audit(store, &org, action).await.is_empty(), "{action}");
        }
        held.await.unwrap();
    }
}

/// The secret kept by a test is dropped once its link expires, even when nobody opens the link
/// again: the purge at start-up (and every few minutes) clears it.
#[tokio::test]
async fn an_expired_link_nobody_opens_keeps_no_secret() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let spy = Spy::start().await;
        server.cli_ok(&["org", "create", "globex", "--name", "Globex"]);
        let url = new_link(&server, "globex", &["--expires", "2s"]);
        let token = token_of(&url);
        let r = Browser::new()
            .post_form(
                &format!("{url}/test"),
                &form(&spy.url, "tessera-globex", "secret-kept-by-a-failed-test"),
            )
            .await;
        r.assert_status(303);
        assert!(link_row(store, &token).await.pending_secret_enc.is_some());
        server.advance(Duration::from_millis(2500));
        // Another node (on the same clock) starts: its start-up purge drops the expired link's
        // secret.
        let _second = TestServer::start_with_clock(&db, &server.clock, &[]).await;
        let mut link = link_row(store, &token).await;
        for _ in 0..50 {
            if link.pending_secret_enc.is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            link = link_row(store, &token).await;
        }
        assert!(link.expires_at <= server.now_ms());
        assert!(
            link.pending_secret_enc.is_none(),
            "the secret outlived its link"
        );
    }
}

// ---- no token in any log line -----------------------------------------------------------------

#[tokio::test]
async fn no_log_line_contains_a_setup_link_token() {
    for db in databases().await {
        for format in ["human", "json"] {
            let dir = tempfile::tempdir().unwrap();
            let port = testkit::free_port();
            let base = format!("http://127.0.0.1:{port}");
            let key = dir.path().join("secret.key");
            let log_path = dir.path().join("stderr.log");
            let common = |c: &mut std::process::Command| {
                c.current_dir(dir.path())
                    .env_remove("TESSERA_DATABASE_URL")
                    .args(["--database-url", &db.url, "--public-url", &base])
                    .arg("--secret-key-file")
                    .arg(&key)
                    .arg("--allow-http-issuers");
            };
            let mut serve = std::process::Command::new(testkit::tessera_bin());
            common(&mut serve);
            let mut child = serve
                .args([
                    "--bind",
                    &format!("127.0.0.1:{port}"),
                    "--log-format",
                    format,
                ])
                .env("TESSERA_LOG", "debug")
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(&log_path).unwrap())
                .arg("serve")
                .spawn()
                .unwrap();
            let b = Browser::new();
            let mut up = false;
            for _ in 0..100 {
                if b.client.get(format!("{base}/healthz")).send().await.is_ok() {
                    up = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(up, "tessera serve did not come up");
            let run = |args: &[&str]| {
                let mut c = std::process::Command::new(testkit::tessera_bin());
                common(&mut c);
                let out = c.args(args).output().unwrap();
                assert!(out.status.success(), "{args:?}: {out:?}");
                String::from_utf8_lossy(&out.stdout).into_owned()
            };
            let slug = format!("globex-{format}");
            run(&["org", "create", &slug, "--name", "Globex"]);
            let url = run(&["org", "setup-link", &slug])
                .lines()
                .next()
                .unwrap()
                .to_string();
            let token = token_of(&url);
            b.get(&url).await.assert_status(200);
            // Refused cross-site POSTs are logged with their path (at info).
            for step in ["test", "save"] {
                let r = b
                    .post_form_from(
                        "https://evil.example/",
                        &format!("{url}/{step}"),
                        &form("acme.okta.com", "id", "s"),
                    )
                    .await;
                r.assert_status(403);
            }
            // A refusal with a 20,000-character Origin logs it bounded.
            let long_origin = format!("https://{}.example", "o".repeat(20_000));
            b.send(
                b.client
                    .post(format!("{url}/test"))
                    .header("origin", &long_origin)
                    .form(&form("acme.okta.com", "id", "s")),
            )
            .await
            .assert_status(403);
            // The form's posts and the pages their redirects lead to.
            submit(&b, &format!("{url}/test"), &form(&dead_issuer(), "id", "s"))
                .await
                .assert_status(200);
            assert_refused(
                &submit(&b, &format!("{url}/save"), &form(&dead_issuer(), "id", "s")).await,
                "Test the connection first",
            );
            b.get(&format!("{url}/test")).await.assert_status(303);
            b.get(&format!("{}/setup/{}", base, token.to_uppercase()))
                .await
                .assert_status(410);
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap();
            assert!(
                log.contains("refused a cross-site request"),
                "[{} {format}] the refusal is logged:\n{log}",
                db.kind
            );
            assert!(
                log.contains("/setup/…/test"),
                "[{} {format}]\n{log}",
                db.kind
            );
            assert!(
                !log.contains(&token) && !log.contains(&token.to_uppercase()),
                "[{} {format}] a token is in the log:\n{log}",
                db.kind
            );
            assert!(
                !log.contains(&"o".repeat(1_000)),
                "[{} {format}] a log line carries the long Origin whole",
                db.kind
            );
        }
    }
}

// ---- a different Okta org needs the explicit confirmation ---------------------------------------

#[tokio::test]
async fn saving_a_different_okta_org_while_members_exist_needs_confirmation() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let client = |id: &str, secret: &str| {
            json!([okta_client(&server.url, id, secret, "Tessera (Acme)")])
        };
        let okta_a = OktaDev::start(client("tessera-acme", "acme-a-secret-0123456789")).await;
        let okta_b = OktaDev::start(client("tessera-acme-b", "acme-b-secret-0123456789")).await;
        server.register_org(
            "acme",
            &okta_a.issuer,
            "tessera-acme",
            "acme-a-secret-0123456789",
        );
        let org = testkit::org(store, "acme").await;
        let alice = Browser::new();
        assert!(
            alice
                .sign_in(
                    &server.url,
                    &initiate_url(&server.url, &okta_a.issuer),
                    "alice",
                    "password"
                )
                .await
                .landed()
        );

        // The Okta admin tests the other Okta org: it passes, and the page spells out what
        // saving it would do, with the confirmation checkbox.
        let url = new_link(&server, "acme", &[]);
        let b = Browser::new();
        let page = b.get(&url).await;
        assert!(!page.body.contains("issuer-change-warning"));
        let values = form(&okta_b.issuer, "tessera-acme-b", "acme-b-secret-0123456789");
        let r = submit(&b, &format!("{url}/test"), &values).await;
        r.assert_status(200);
        let c = checks(&r.body);
        assert!(c.len() == 5 && c.iter().all(|(_, ok)| *ok), "{}", r.body);
        assert!(save_enabled(&r.body));
        for text in [
            "id=\"issuer-change-warning\"",
            "data-members=\"1\"",
            "This is a different Okta org than the one acme Inc uses now",
            "1 member of acme Inc",
            "name=\"confirm_issuer_change\"",
            "I understand: connect acme Inc to the new Okta org",
        ] {
            assert!(r.body.contains(text), "lacks {text:?}: {}", r.body);
        }
        // Reopened, the page warns again (the tested values are kept).
        assert!(
            b.get(&url)
                .await
                .body
                .contains("id=\"issuer-change-warning\"")
        );

        // Save without the checkbox: nothing saved, the link stays usable, Save stays enabled.
        let r = submit(
            &b,
            &format!("{url}/save"),
            &form(&okta_b.issuer, "tessera-acme-b", ""),
        )
        .await;
        assert_refused(&r, "Tick the box below");
        let warning = tag(&r.body, "issuer-change-warning");
        assert!(warning.contains("notice error"), "highlighted: {warning}");
        assert!(save_enabled(&r.body));
        let sso = store.sso_connection(&org.id).await.unwrap().unwrap();
        assert_eq!(sso.issuer, okta_a.issuer);
        assert!(link_row(store, &token_of(&url)).await.used_at.is_none());
        assert!(audit(store, &org, "setup_link_saved").await.is_empty());

        // With it: saved, the consequence stated, the change audited.
        let mut confirmed = form(&okta_b.issuer, "tessera-acme-b", "");
        confirmed.push(("confirm_issuer_change", "yes"));
        let r = submit(&b, &format!("{url}/save"), &confirmed).await;
        r.assert_status(200);
        assert!(r.body.contains("id=\"setup-done\""));
        assert!(r.body.contains("data-members=\"1\""), "{}", r.body);
        assert!(
            r.body
                .contains("are not recognised until your Tessera contact moves them")
        );
        let sso = store.sso_connection(&org.id).await.unwrap().unwrap();
        assert_eq!(
            (sso.issuer.as_str(), sso.client_id.as_str()),
            (okta_b.issuer.as_str(), "tessera-acme-b")
        );
        let saved = audit(store, &org, "setup_link_saved").await;
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].2["issuer_changed"], true);
        assert_eq!(saved[0].2["members_on_previous_issuer"], 1);

        // The same Okta org again needs no confirmation.
        let url2 = new_link(&server, "acme", &[]);
        let r = submit(&b, &format!("{url2}/test"), &values).await;
        r.assert_status(200);
        assert!(r.body.contains("id=\"test-report\""), "{}", r.body);
        assert!(!r.body.contains("issuer-change-warning"), "{}", r.body);

        // The operator moves alice over; her next sign-in through the new Okta org finds her.
        let out = server.cli_ok(&[
            "org",
            "rekey-members",
            "acme",
            "--from-issuer",
            &okta_a.issuer,
        ]);
        assert!(out.contains("Moved 1 member(s)"), "{out}");
        let again = Browser::new();
        assert!(
            again
                .sign_in(
                    &server.url,
                    &initiate_url(&server.url, &okta_b.issuer),
                    "alice",
                    "password"
                )
                .await
                .landed()
        );
        assert_eq!(
            again.session(&server.url).await.json()["member"]["role"],
            "owner"
        );
        assert_eq!(
            store.count_members(&org.id).await.unwrap(),
            1,
            "[{}] no duplicate",
            db.kind
        );
    }
}

// ---- what the checks blame, with the same words on the setup page and the SSO page -----------

/// The labels of the checks that ran, as the setup page shows them (`✓ label` / `✗ label`).
fn labels_shown(body: &str) -> Vec<String> {
    body.match_indices("<strong>✓ ")
        .chain(body.match_indices("<strong>✗ "))
        .map(|(i, m)| {
            let rest = &body[i + m.len()..];
            rest[..rest.find("</strong>").unwrap()].to_string()
        })
        .collect()
}

#[tokio::test]
async fn checks_blame_only_what_they_can_know() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let elsewhere = json!({
            "client_id": "tessera-elsewhere",
            "client_secret": "elsewhere-secret-0123456789",
            "redirect_uris": ["https://elsewhere.example/sso/callback"],
            "name": "Tessera (elsewhere)",
        });
        let okta = OktaDev::start(json!([
            okta_client(&server.url, "tessera-globex", SECRET, "Tessera (Globex)"),
            elsewhere,
        ]))
        .await;
        server.cli_ok(&["org", "create", "globex", "--name", "Globex"]);
        let url = new_link(&server, "globex", &[]);
        let b = Browser::new();
        let test = |client_id: &'static str, secret: &'static str| {
            let (b, url, issuer) = (b.clone(), url.clone(), okta.issuer.clone());
            async move {
                submit(
                    &b,
                    &format!("{url}/test"),
                    &form(&issuer, client_id, secret),
                )
                .await
            }
        };
        let redirect_fix = "to Sign-in redirect URIs";

        // A Client ID Okta does not know: the credentials fail, and the redirect URI (which
        // Okta checks only for a known client) is not blamed but not checked, in one line.
        let r = test("tessera-nobody", SECRET).await;
        r.assert_status(200);
        assert_eq!(
            checks(&r.body),
            [
                ("discovery".to_string(), true),
                ("issuer".to_string(), true),
                ("signing_keys".to_string(), true),
                ("client_credentials".to_string(), false),
            ]
        );
        assert!(
            r.body
                .contains("Okta refused the Client ID tessera-nobody or the Client secret"),
            "{}",
            r.body
        );
        assert!(r.body.contains("paste both into the form below"));
        let (names, line) = not_checked(&r.body).expect("the redirect URI is not checked");
        assert_eq!(names, ["redirect_uri"]);
        assert_eq!(
            line,
            "Not checked because “Client ID and Client secret” failed: Sign-in redirect URI (it needs a valid Client ID)."
        );
        assert!(!r.body.contains(redirect_fix), "{}", r.body);
        assert_eq!(r.body.matches("✗").count(), 1, "one red cross");
        assert_eq!(
            labels_shown(&r.body),
            [
                "Okta answers",
                "Okta domain (issuer)",
                "Signing keys (RS256)",
                "Client ID and Client secret"
            ]
        );
        // The report stays on the link: reopened (in any browser), the page shows it again.
        let again = Browser::new().get(&url).await;
        assert_eq!(not_checked(&again.body).map(|n| n.0), Some(names));

        // A known Client ID with a wrong secret: Okta's authorization endpoint knows the
        // client, so the redirect URI is checked (and passes) and only the secret is blamed.
        let r = test("tessera-globex", WRONG_SECRET).await;
        let c = checks(&r.body);
        assert_eq!(c.len(), 5, "{c:?}");
        assert!(c.contains(&("redirect_uri".into(), true)), "{c:?}");
        assert!(c.contains(&("client_credentials".into(), false)), "{c:?}");
        assert!(
            r.body
                .contains("Okta knows the Client ID tessera-globex but refused the Client secret"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("paste it into the form below"),
            "{}",
            r.body
        );
        assert!(not_checked(&r.body).is_none());
        assert!(!r.body.contains(redirect_fix));

        // Right credentials, a redirect URI the app does not list: now the redirect URI is it.
        let r = test("tessera-elsewhere", "elsewhere-secret-0123456789").await;
        let c = checks(&r.body);
        assert!(c.contains(&("client_credentials".into(), true)), "{c:?}");
        assert!(c.contains(&("redirect_uri".into(), false)), "{c:?}");
        assert!(r.body.contains(redirect_fix), "{}", r.body);
        assert!(r.body.contains(&format!("{}/sso/callback", server.url)));
        // ... and with a wrong secret as well, the redirect URI cannot be judged.
        let r = test("tessera-elsewhere", WRONG_SECRET).await;
        assert_eq!(
            not_checked(&r.body).map(|n| n.0),
            Some(vec!["redirect_uri".to_string()])
        );
        assert!(!r.body.contains(redirect_fix));

        // The SSO page's "Test connection" gives the same checks, labels and line.
        let org = testkit::org(store, "globex").await;
        let (owner, _) = store
            .insert_member(
                &org.id,
                &okta.issuer,
                "00u-owner",
                "olga@example.com",
                "Olga",
                Role::Owner,
            )
            .await
            .unwrap();
        server
            .connect(&org, &okta.issuer, "tessera-nobody", SECRET)
            .await;
        let (api, _) = testkit::signed_in_as(&server, &owner).await;
        let r = api
            .send(
                api.post(&server.url, &format!("{}/api/v1/sso/test", server.url))
                    .json(&json!({})),
            )
            .await;
        r.assert_status(200);
        let report: app::api::ConnectionReport = serde_json::from_str(&r.body).unwrap();
        assert!(!report.ok);
        let labels: Vec<&str> = report.checks.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Okta answers",
                "Okta domain (issuer)",
                "Signing keys (RS256)",
                "Client ID and Client secret"
            ]
        );
        assert!(report.check("redirect_uri").is_none());
        assert!(report.not_checked("redirect_uri"));
        assert_eq!(
            report.not_checked.unwrap().message,
            "Not checked because “Client ID and Client secret” failed: Sign-in redirect URI (it needs a valid Client ID)."
        );
        // Its audit entry names only the check that failed.
        let tested = audit(store, &org, "sso_connection_tested").await;
        assert_eq!(tested.len(), 1);
        assert_eq!(tested[0].2["failed"], json!(["client_credentials"]));
    }
}

// ---- post/redirect/get: results land in view, Back never re-posts ------------------------------

#[tokio::test]
async fn each_post_redirects_to_the_result_region() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            "tessera-globex",
            SECRET,
            "Tessera (Globex)"
        )]))
        .await;
        server.cli_ok(&["org", "create", "globex", "--name", "Globex Corp"]);
        let org = testkit::org(store, "globex").await;
        let url = new_link(&server, "globex", &[]);
        let token = token_of(&url);
        let b = Browser::new();
        let page = b.get(&url).await;
        assert!(!page.body.contains("id=\"report\""), "no result yet");

        // Test: 303 to the page's result region, which holds the report.
        let r = b
            .post_form(
                &format!("{url}/test"),
                &form(&okta.issuer, "tessera-globex", WRONG_SECRET),
            )
            .await;
        r.assert_status(303);
        assert_eq!(
            r.location_raw(),
            Some(format!("/setup/{token}#report").as_str())
        );
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(r.body.is_empty() || !r.body.contains("test-report"));
        // Any earlier flash is dropped: the page shows the link's latest test.
        assert!(
            r.set_cookies()
                .iter()
                .all(|c| c.starts_with("tessera_setup=;") && c.contains("Max-Age=0")),
            "{:?}",
            r.set_cookies()
        );
        let page = b.get(&url).await;
        page.assert_status(200);
        let region = tag(&page.body, "report");
        assert!(
            region.contains("tabindex=\"-1\"")
                && region.contains("aria-label=\"Result of the last step\""),
            "a focusable, named region: {region}"
        );
        let at = |id: &str| page.body.find(&format!("id=\"{id}\"")).unwrap();
        assert!(at("report") < at("test-report") && at("test-report") < at("test-connection"));
        assert!(at("client-secret") < at("report"), "next to the buttons");

        // A refused save: 303 to the same region, with why in a sealed, short-lived cookie.
        let r = b
            .post_form(
                &format!("{url}/save"),
                &form(&okta.issuer, "tessera-typed-here", WRONG_SECRET),
            )
            .await;
        r.assert_status(303);
        assert_eq!(
            r.location_raw(),
            Some(format!("/setup/{token}#report").as_str())
        );
        let cookies = r.set_cookies();
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        let cookie = &cookies[0];
        for attr in [
            "tessera_setup=v1:",
            "Path=/setup/",
            "HttpOnly",
            "SameSite=Lax",
            "Max-Age=600",
        ] {
            assert!(cookie.contains(attr), "{cookie} lacks {attr}");
        }
        assert!(!cookie.contains("tessera-typed-here") && !cookie.contains("Test the"));
        let page = b.get(&url).await;
        assert_refused(&page, "Test the connection first");
        assert!(page.body.contains("value=\"tessera-typed-here\""));
        assert!(
            page.set_cookies().iter().any(|c| c.contains("Max-Age=0")),
            "shown once"
        );
        assert!(!b.get(&url).await.body.contains("id=\"form-error\""));
        // The flash is this browser's alone, for this link alone, and cannot be forged.
        let flash = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("tessera_setup=")
            .to_string();
        let other_url = new_link(&server, "globex", &[]);
        for (target, value) in [
            (&other_url, flash.as_str()),
            (&url, "v1:AAAA"),
            (&url, "not-sealed"),
        ] {
            let forged = Browser::new();
            forged.set_cookie(&server.url, "tessera_setup", value);
            let p = forged.get(target).await;
            p.assert_status(200);
            assert!(!p.body.contains("id=\"form-error\""), "{target} {value}");
        }
        let replayed = Browser::new();
        replayed.set_cookie(&server.url, "tessera_setup", &flash);
        assert!(
            replayed
                .get(&url)
                .await
                .body
                .contains("Test the connection first"),
            "the sealed flash opens for its own link"
        );

        // A reload of a post's address is a GET: back to the page, nothing re-posted.
        let attempts = link_row(store, &token).await.test_attempts;
        for step in ["test", "save"] {
            let r = b.get(&format!("{url}/{step}")).await;
            r.assert_status(303);
            assert_eq!(r.location_raw(), Some(format!("/setup/{token}").as_str()));
        }
        assert_eq!(link_row(store, &token).await.test_attempts, attempts);

        // "Okta is connected" is at its own address: only after the save, only for the
        // browser that saved (a reload shows it again), the page of a used link for anyone else.
        let done = format!("{url}/done");
        let r = b.get(&done).await;
        r.assert_status(303);
        assert_eq!(r.location_raw(), Some(format!("/setup/{token}").as_str()));
        submit(
            &b,
            &format!("{url}/test"),
            &form(&okta.issuer, "tessera-globex", SECRET),
        )
        .await
        .assert_status(200);
        let r = b
            .post_form(
                &format!("{url}/save"),
                &form(&okta.issuer, "tessera-globex", ""),
            )
            .await;
        r.assert_status(303);
        assert_eq!(
            r.location_raw(),
            Some(format!("/setup/{token}/done").as_str())
        );
        for _ in 0..2 {
            let p = b.get(&done).await;
            p.assert_status(200);
            assert!(
                p.body
                    .contains("<title>Okta is connected · Tessera</title>")
            );
            assert!(p.body.contains(&okta.issuer) && p.body.contains("tessera-globex"));
            assert!(
                p.body
                    .contains("Only people assigned to the app can sign in."),
                "the next step: {}",
                p.body
            );
            assert!(p.body.contains("tile in their Okta dashboard"));
            assert!(tag(&p.body, "sign-in-now").contains("href=\"/sso/start?org=globex\""));
            assert!(tag(&p.body, "tessera-sign-in").contains("href=\"/login\""));
        }
        assert_gone(&Browser::new().get(&done).await);
        assert_gone(&b.get(&url).await);
        let unknown = app::ssr::setup_links::new_token();
        assert_gone(&b.get(&format!("{}/setup/{unknown}/done", server.url)).await);
        assert_eq!(connections_of(store, &org).await, 1);
        assert_not_stored(&db, SECRET, "the client secret").await;
    }
}

// ---- the page's script and its CSP ---------------------------------------------------------------

/// The `script-src` directive of a CSP.
fn script_src(csp: &str) -> &str {
    csp.split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or_else(|| panic!("no script-src in {csp}"))
}

#[tokio::test]
async fn the_setup_pages_run_only_the_servers_own_script() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        server.cli_ok(&["org", "create", "globex", "--name", "Globex"]);
        let url = new_link(&server, "globex", &[]);
        let b = Browser::new();
        let page = b.get(&url).await;
        page.assert_status(200);
        let csp = page.header("content-security-policy").expect("a CSP");
        let scripts = script_src(csp);
        assert!(
            !scripts.contains("unsafe-inline") && !scripts.contains("'unsafe-eval'"),
            "{csp}"
        );
        assert!(
            !scripts.contains("nonce-"),
            "no inline script to allow: {csp}"
        );
        assert!(scripts.contains("'self'"), "{csp}");
        // Its one script is the server's file, on its own origin; no inline handlers.
        assert_eq!(page.body.matches("<script").count(), 1, "{}", page.body);
        assert!(page.body.contains("<script src=\"/assets/setup.js\" defer"));
        assert!(!page.body.contains(" onclick="));
        // Without the script the Copy buttons are hidden and the values plain text.
        for id in ["redirect-uri", "initiate-login-uri"] {
            let button = tag(&page.body, &format!("copy-{id}"));
            assert!(button.contains("hidden") && button.contains(&format!("data-copy=\"{id}\"")));
        }
        let r = b.get(&format!("{}/assets/setup.js", server.url)).await;
        r.assert_status(200);
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("text/javascript"))
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert!(r.body.contains("navigator.clipboard") && r.body.contains("#report"));
        // The pages after a post carry the same policy.
        let r = submit(&b, &format!("{url}/save"), &form("", "id", "s")).await;
        assert_refused(&r, "Enter your Okta domain");
        assert_eq!(r.header("content-security-policy"), Some(csp));
    }
}
