//! Store behaviour on SQLite and PostgreSQL: migrations, uniqueness rules, the one-owner rule,
//! values from outside stored bounded, retention of login attempts and audit entries, and values
//! the database refuses answered as bad input.

use app::api::login_reason::LoginReason;
use app::model::{MemberStatus, Role};
use app::ssr::login::{LoginAttempt, LoginFlow, Outcome};
use app::ssr::store::NewAudit;
use app::ssr::store::{ManualClock, Store, StoreError};
use serde_json::{Value, json};
use std::time::Duration;
use testkit::{TestServer, databases, sql_exec, sql_row, sql_rows};

#[tokio::test]
async fn migrations_are_idempotent_and_readyz_follows_the_database() {
    for db in databases().await {
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert!(store.ping().await);
    }
}

#[tokio::test]
async fn one_issuer_belongs_to_one_org() {
    for db in databases().await {
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let a = store.create_org("a", "A").await.unwrap();
        let b = store.create_org("b", "B").await.unwrap();
        assert!(store.create_org("a", "again").await.is_err());
        store
            .set_sso_connection(&a, "https://a.okta.com", "id", "v1:x")
            .await
            .unwrap();
        // Replacing your own connection is fine; taking another org's issuer is not.
        store
            .set_sso_connection(&a, "https://a.okta.com", "id2", "v1:y")
            .await
            .unwrap();
        let err = store
            .set_sso_connection(&b, "https://a.okta.com", "id", "v1:x")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("already connected"), "{err}");
        let (org, sso) = store
            .sso_by_issuer("https://a.okta.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(org.slug, "a");
        assert_eq!(sso.client_id, "id2");
        assert!(!sso.enabled);
        assert!(store.sso_connection(&b.id).await.unwrap().is_none());
    }
}

/// `n` concurrent first sign-ins into `org_id` of subjects `sub0` .. `sub{subjects - 1}`
/// (repeating when `n` is larger): what each got back from `insert_member`.
async fn first_sign_ins(
    store: &Store,
    org_id: &app::model::OrgId,
    issuer: &str,
    n: usize,
    subjects: usize,
) -> Vec<(app::model::Member, bool)> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (store, org_id, issuer) = (store.clone(), org_id.clone(), issuer.to_string());
            tokio::spawn(async move {
                store
                    .insert_member(
                        &org_id,
                        &issuer,
                        &format!("sub{}", i % subjects),
                        &format!("u{i}@x.com"),
                        "U",
                        Role::Member,
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn twenty_concurrent_first_members_yield_exactly_one_owner() {
    for db in databases().await {
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let org = store.create_org("race", "Race").await.unwrap();
        let results = first_sign_ins(&store, &org.id, "https://race.okta.com", 20, 20).await;
        let mut owners = 0;
        for (m, created) in results {
            assert!(created);
            assert_eq!(m.status, MemberStatus::Active);
            owners += usize::from(m.role == Role::Owner);
        }
        assert_eq!(owners, 1, "on {}", db.kind);
        assert_eq!(store.count_members(&org.id).await.unwrap(), 20);
        // The same subject again is the same member, never a second row.
        let (again, created) = store
            .insert_member(
                &org.id,
                "https://race.okta.com",
                "sub3",
                "new@x.com",
                "U",
                Role::Member,
            )
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(again.email, "u3@x.com");
        assert_eq!(store.count_members(&org.id).await.unwrap(), 20);
    }
}

/// The org-wide counts (kept by triggers) against a fresh count of the members table.
async fn assert_counts_exact(store: &Store, org_id: &str, kind: &str) {
    let counted = sql_row(
        store,
        "SELECT
            SUM(CASE WHEN role = 'owner' THEN 1 ELSE 0 END) AS owners,
            SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END) AS admins,
            SUM(CASE WHEN role = 'member' THEN 1 ELSE 0 END) AS members,
            SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS active,
            SUM(CASE WHEN status = 'deactivated' THEN 1 ELSE 0 END) AS deactivated
         FROM members WHERE org_id = $1",
        &[json!(org_id)],
    )
    .await;
    let get = |c: &str| -> i64 {
        // SUM over no rows is NULL; PostgreSQL sums to NUMERIC, so read through text.
        match &counted[c] {
            Value::Null => 0,
            Value::String(s) => s.parse().unwrap(),
            n => n.as_i64().unwrap(),
        }
    };
    let c = store.member_counts(&org_id.into()).await.unwrap();
    assert_eq!(
        (c.owner, c.admin, c.member, c.active, c.deactivated),
        (
            get("owners"),
            get("admins"),
            get("members"),
            get("active"),
            get("deactivated")
        ),
        "[{kind}] kept counts differ from the members table"
    );
}

#[tokio::test]
async fn member_counts_stay_exact_through_every_kind_of_change() {
    for db in databases().await {
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let org = store.create_org("counted", "Counted").await.unwrap();
        let other = store.create_org("other", "Other").await.unwrap();
        let c = store.member_counts(&org.id).await.unwrap();
        assert_eq!((c.active, c.owner), (0, 0), "[{}] a new org", db.kind);
        // Concurrent first sign-ins, including a race for the owner and repeated subjects.
        first_sign_ins(&store, &org.id, "https://counted.okta.test", 40, 30).await;
        store
            .insert_member(
                &other.id,
                "https://other.okta.test",
                "x",
                "",
                "",
                Role::Admin,
            )
            .await
            .unwrap();
        let c = store.member_counts(&org.id).await.unwrap();
        assert_eq!(
            (c.owner, c.member, c.active),
            (1, 29, 30),
            "[{}] after the first sign-ins",
            db.kind
        );
        assert_counts_exact(&store, org.id.as_str(), db.kind).await;
        // Many rows at once, a role change, status changes, deletions, a transaction.
        for sql in [
            "UPDATE members SET role = 'admin' WHERE org_id = $1 AND subject IN ('sub3', 'sub4', 'sub5')",
            "UPDATE members SET status = 'deactivated' WHERE org_id = $1 AND role = 'member' AND subject LIKE 'sub1%'",
            "UPDATE members SET status = 'active' WHERE org_id = $1 AND subject = 'sub12'",
            "UPDATE members SET name = 'Renamed', last_login_at = 1 WHERE org_id = $1",
            "DELETE FROM members WHERE org_id = $1 AND subject IN ('sub20', 'sub3', 'sub13')",
        ] {
            sql_exec(&store, sql, &[json!(org.id)]).await;
            assert_counts_exact(&store, org.id.as_str(), db.kind).await;
        }
        let mut tx = store.begin().await.unwrap();
        for sql in [
            "UPDATE members SET role = 'admin' WHERE org_id = $1 AND role = 'owner'",
            "UPDATE members SET role = 'owner' WHERE org_id = $1 AND subject = 'sub4'",
        ] {
            tx.execute_for_tests(sql, &[json!(org.id)]).await.unwrap();
        }
        tx.commit().await.unwrap();
        assert_counts_exact(&store, org.id.as_str(), db.kind).await;
        // A rolled-back change leaves the counts alone.
        let mut tx = store.begin().await.unwrap();
        tx.execute_for_tests("DELETE FROM members WHERE org_id = $1", &[json!(org.id)])
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_counts_exact(&store, org.id.as_str(), db.kind).await;
        let c = store.member_counts(&other.id).await.unwrap();
        assert_eq!((c.owner, c.active), (1, 1), "[{}] the other org", db.kind);
    }
}

const DAY_MS: i64 = 86_400_000;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

#[tokio::test]
async fn values_from_outside_are_stored_bounded_and_printed_without_control_characters() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let org = store.create_org("bound", "Bound").await.unwrap();
        let huge = format!("\u{1b}[31mred\u{1b}[0m {}\0\n", "x".repeat(5 * 1024 * 1024));
        let mut a = LoginAttempt::new(
            server.now_ms(),
            Some(&org.id),
            Outcome::Failure,
            LoginReason::IdpError,
            &huge,
        );
        a.issuer = Some(huge.clone());
        a.subject = Some(huge.clone());
        a.email = Some(huge.clone());
        store.record_login_attempt(&a).await.unwrap();
        let audit = NewAudit {
            org_id: org.id.clone(),
            actor_id: None,
            actor_email: huge.clone(),
            action: "setup_link_opened".into(),
            target_id: None,
            target_email: huge.clone(),
            before: huge.clone(),
            after: huge.clone(),
        };
        store.record_audit(&audit).await.unwrap();
        // What a row holds, whatever the caller passed.
        let row = sql_row(
            store,
            "SELECT detail, issuer, subject, email FROM login_attempts WHERE org_id = $1",
            &[json!(org.id)],
        )
        .await;
        for col in ["detail", "issuer", "subject", "email"] {
            let v = row[col].as_str().unwrap();
            assert!(
                v.chars().count() <= 513,
                "[{kind}] {col}: {} chars",
                v.len()
            );
            assert!(!has_control(v), "[{kind}] {col} holds control characters");
            assert!(
                v.starts_with("[31mred[0m xxx"),
                "[{kind}] {col}: {}",
                &v[..20]
            );
        }
        let row = sql_row(
            store,
            "SELECT actor_email, target_email, before, after FROM audit_log WHERE org_id = $1",
            &[json!(org.id)],
        )
        .await;
        for col in ["actor_email", "target_email", "before", "after"] {
            let v = row[col].as_str().unwrap();
            assert!(
                v.chars().count() <= 2049,
                "[{kind}] {col}: {} chars",
                v.len()
            );
            assert!(!has_control(v), "[{kind}] {col} holds control characters");
        }
        // A row written before this change, raw: shown without control characters anyway.
        sql_exec(
            store,
            "INSERT INTO login_attempts (id, org_id, at, outcome, reason, detail, issuer, subject, email)
             VALUES ('old-raw', $1, $2, 'failure', 'idp_error', $3, $3, $3, $3)",
            &[
                json!(org.id),
                json!(server.now_ms()),
                json!("evil\u{1b}]0;pwned\u{7}\u{1b}[2J done"),
            ],
        )
        .await;
        for json in [false, true] {
            let mut cmd = server.cli();
            cmd.args(["org", "events", "bound"]);
            if json {
                cmd.arg("--json");
            }
            let out = testkit::run_ok(&mut cmd);
            assert!(out.contains("evil]0;pwned[2J done"), "[{kind}] {out:.300}");
            assert!(
                !out.contains('\u{1b}') && !out.contains('\u{7}'),
                "[{kind}] raw escapes printed"
            );
            assert!(out.len() < 8 * 1024, "[{kind}] {} bytes printed", out.len());
            if json {
                // JSON escapes would spell a control character as \u001b: none either.
                assert!(
                    !out.to_ascii_lowercase().contains("\\u001b"),
                    "[{kind}] {out:.300}"
                );
            }
        }
        // The API (and the activity and audit pages it feeds) shows the same safe text.
        let owner = store
            .insert_member(
                &org.id,
                "https://idp.example",
                "owner-1",
                "o@example.com",
                "Owner",
                Role::Member,
            )
            .await
            .unwrap()
            .0;
        let (b, _) = testkit::signed_in_as(&server, &owner).await;
        for path in ["/api/v1/login-attempts", "/api/v1/audit"] {
            let r = b.get(&format!("{}{path}", server.url)).await;
            r.assert_status(200);
            assert!(
                !has_control(&r.body),
                "[{kind}] {path} carries control characters"
            );
            assert!(
                !r.body.to_ascii_lowercase().contains("\\u001b"),
                "[{kind}] {path}: {:.300}",
                r.body
            );
            assert!(
                r.body.len() < 64 * 1024,
                "[{kind}] {path}: {} bytes",
                r.body.len()
            );
        }
        for (path, shown) in [
            ("/activity", "evil]0;pwned[2J done"),
            ("/audit", "[31mred[0m"),
        ] {
            let r = b.get(&format!("{}{path}", server.url)).await;
            r.assert_status(200);
            assert!(
                r.body.contains(shown),
                "[{kind}] {path} does not show {shown}"
            );
            assert!(
                !r.body.contains(['\u{1b}', '\u{7}', '\0']),
                "[{kind}] {path} carries control characters"
            );
        }
        // Claims are stored the same way.
        let m = store
            .insert_member(
                &org.id,
                "https://idp.example",
                "sub-2",
                &huge,
                "Bad\0\u{1b}Name",
                Role::Member,
            )
            .await
            .unwrap()
            .0;
        assert_eq!(m.name, "BadName", "[{kind}]");
        assert!(
            m.email.chars().count() <= 513 && !has_control(&m.email),
            "[{kind}]"
        );
    }
}

#[tokio::test]
async fn retention_deletes_old_attempts_and_audit_entries_and_keeps_recent_ones() {
    for db in databases().await {
        let kind = db.kind;
        let clock = ManualClock::new();
        let store = Store::connect(&db.url)
            .await
            .unwrap()
            .with_clock(clock.clock());
        store.migrate().await.unwrap();
        let org = store.create_org("keep", "Keep").await.unwrap();
        // Audit entries 500 and 100 days old: written, then time goes on.
        for age in [500, 500, 500, 100] {
            if age == 100 {
                clock.advance(Duration::from_millis((400 * DAY_MS) as u64));
            }
            let audit = NewAudit {
                org_id: org.id.clone(),
                actor_id: None,
                actor_email: "operator (CLI)".into(),
                action: format!("aged_{age}"),
                target_id: None,
                target_email: String::new(),
                before: String::new(),
                after: String::new(),
            };
            store.record_audit(&audit).await.unwrap();
        }
        clock.advance(Duration::from_millis((100 * DAY_MS) as u64));
        let now = clock.now_ms();
        // Attempts 100 and 10 days old.
        for (i, age) in [100, 100, 100, 100, 100, 10, 10].iter().enumerate() {
            let mut a = LoginAttempt::new(
                now - age * DAY_MS,
                Some(&org.id),
                Outcome::Failure,
                LoginReason::IdpError,
                "x",
            );
            a.id = format!("a{i}-{age}");
            store.record_login_attempt(&a).await.unwrap();
        }
        drop(store);
        // Applied at start-up with the defaults (90 days, 400 days).
        let server = TestServer::start_with_clock(&db, &clock, &[]).await;
        let mut seen = (0, 0);
        for _ in 0..100 {
            seen = counts(&server.store).await;
            if seen == (2, 1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            seen,
            (2, 1),
            "[{kind}] attempts and audit entries left after start-up"
        );
        let ages: Vec<i64> = sql_rows(&server.store, "SELECT at FROM login_attempts", &[])
            .await
            .iter()
            .map(|r| (now - r["at"].as_i64().unwrap()) / DAY_MS)
            .collect();
        assert_eq!(ages, vec![10, 10], "[{kind}]");
        // In batches: a batch of 2 still deletes all 5 rows past a 5-day retention.
        for i in 0..3 {
            let mut a = LoginAttempt::new(
                now - 6 * DAY_MS,
                Some(&org.id),
                Outcome::Success,
                LoginReason::Success,
                "",
            );
            a.id = format!("b{i}");
            server.store.record_login_attempt(&a).await.unwrap();
        }
        let (attempts, audit) = server
            .store
            .purge_retention(now - 5 * DAY_MS, now - 5 * DAY_MS, 2)
            .await
            .unwrap();
        assert_eq!((attempts, audit), (5, 1), "[{kind}]");
        assert_eq!(counts(&server.store).await, (0, 0), "[{kind}]");
    }
}

/// Login attempts and audit entries, all orgs.
async fn counts(store: &Store) -> (i64, i64) {
    let mut out = [0i64; 2];
    for (i, table) in ["login_attempts", "audit_log"].iter().enumerate() {
        out[i] = sql_row(store, &format!("SELECT COUNT(*) AS n FROM {table}"), &[]).await["n"]
            .as_i64()
            .unwrap();
    }
    (out[0], out[1])
}

#[tokio::test]
async fn retention_flags_parse_like_other_durations() {
    use clap::Parser as _;
    let cli = tessera::config::Cli::try_parse_from([
        "tessera",
        "--attempt-retention",
        "30d",
        "--audit-retention",
        "12h",
        "migrate",
    ])
    .unwrap();
    assert_eq!(cli.config.attempt_retention.as_secs(), 30 * 86_400);
    assert_eq!(cli.config.audit_retention.as_secs(), 12 * 3_600);
    let defaults = tessera::config::Cli::try_parse_from(["tessera", "migrate"]).unwrap();
    assert_eq!(defaults.config.attempt_retention.as_secs(), 90 * 86_400);
    assert_eq!(defaults.config.audit_retention.as_secs(), 400 * 86_400);
    assert!(
        tessera::config::Cli::try_parse_from(["tessera", "--audit-retention", "0d", "migrate"])
            .is_err()
    );
    assert!(
        tessera::config::Cli::try_parse_from(["tessera", "--attempt-retention", "soon", "migrate"])
            .is_err()
    );
}

#[tokio::test]
async fn a_value_the_database_refuses_is_bad_input_never_a_server_error() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let org = store.create_org("nul", "Nul").await.unwrap();
        // PostgreSQL refuses a NUL byte in text (SQLSTATE 22021): a bad-input store error.
        if kind == "postgres" {
            let e = store.create_org("nul-2", "a\0b").await.unwrap_err();
            assert!(matches!(e, StoreError::BadInput(_)), "[{kind}] {e:?}");
            assert!(e.is_bad_input() && !e.is_unavailable());
            let e = store.org_by_slug("a\0b").await.unwrap_err();
            assert!(e.is_bad_input(), "[{kind}] {e:?}");
        }
        let owner = store
            .insert_member(
                &org.id,
                "https://idp.example",
                "o",
                "o@example.com",
                "Owner",
                Role::Member,
            )
            .await
            .unwrap()
            .0;
        let (b, _) = testkit::signed_in_as(&server, &owner).await;
        // The same 400 on both databases, for the API's query values and JSON bodies.
        let r = b
            .get(&format!("{}/api/v1/members?q=a%00b", server.url))
            .await;
        r.assert_status(400);
        assert_eq!(r.json()["error"], "invalid", "[{kind}] {}", r.body);
        for body in [
            serde_json::json!({"member_id": "a\u{0}b", "role": "admin"}),
            serde_json::json!({"member_id": owner.id, "role": "ad\u{0}min"}),
        ] {
            let r = b
                .send(
                    b.post(&server.url, &format!("{}/api/v1/members/role", server.url))
                        .json(&body),
                )
                .await;
            r.assert_status(400);
            assert_eq!(r.json()["error"], "invalid", "[{kind}] {}", r.body);
        }
        // A page with such a query answers 400 too (a page, not JSON).
        let r = b.get(&format!("{}/members?q=a%00b", server.url)).await;
        r.assert_status(400);
        assert_eq!(r.reason().as_deref(), Some("bad_request"), "[{kind}]");
        // Nothing changed.
        let again = store
            .member_by_id(&org.id, &owner.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.role, Role::Owner);
    }
}

/// `/readyz` checks that the database takes writes: a PostgreSQL that only reads (as a replica
/// after a failover does; here `default_transaction_read_only`) makes the node not ready, and
/// it is ready again as soon as writes work, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_not_ready_while_postgres_only_reads() {
    let Some(db) = testkit::postgres().await else {
        return;
    };
    let server = TestServer::start(&db).await;
    let ready = format!("{}/readyz", server.url);
    let b = testkit::Browser::new();
    b.get(&ready).await.assert_status(200);
    let name = url::Url::parse(&db.url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_string();
    let admin_url = std::env::var("TESSERA_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| testkit::DEFAULT_POSTGRES_URL.to_string());
    let admin = Store::connect(&admin_url).await.unwrap();
    let set = |on: bool| {
        let (admin, name) = (admin.clone(), name.clone());
        async move {
            let sql = if on {
                format!("ALTER DATABASE \"{name}\" SET default_transaction_read_only = on")
            } else {
                format!("ALTER DATABASE \"{name}\" RESET default_transaction_read_only")
            };
            sql_exec(&admin, &sql, &[]).await;
            // The pool's connections reconnect and pick the setting up.
            sql_exec(
                &admin,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                &[json!(name)],
            )
            .await;
        }
    };
    set(true).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(b.get(&ready).await.status);
    }
    assert_eq!(statuses, vec![503, 503, 503]);
    let r = b.get(&ready).await;
    assert_eq!(r.json()["status"], "unavailable");
    set(false).await;
    let mut back = false;
    for _ in 0..50 {
        if b.get(&ready).await.status == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back, "ready again once writes work");
}

/// A re-key racing an issuer change behaves as if one ran after the other: the members always
/// end up keyed to the org's current issuer (the change is refused once they are on the old
/// one, or they move onto the new one), and neither fails with a lock error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rekey_racing_an_issuer_change_never_strands_the_members() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let org = store.create_org("race", "Race").await.unwrap();
        store
            .set_sso_connection(&org, "https://x0.example.com", "id", "v1:x")
            .await
            .unwrap();
        for n in 0..5 {
            testkit::add_member(
                store,
                &org.id,
                "https://old.example.com",
                &format!("s{n}"),
                Role::Member,
            )
            .await;
        }
        for round in 1..=10 {
            sql_exec(
                store,
                "UPDATE members SET issuer = 'https://old.example.com' WHERE org_id = $1",
                &[json!(org.id)],
            )
            .await;
            let issuer = format!("https://nc{round}.example.com");
            let (rekeyed, set) = tokio::join!(
                store.rekey_members(&org, "https://old.example.com"),
                store.set_sso_connection_as_operator(&org, &issuer, "id", "v1:x", false),
            );
            for e in [rekeyed.err(), set.err()].into_iter().flatten() {
                assert!(!e.is_unavailable(), "[{kind}] round {round}: {e}");
            }
            let current = store.sso_connection(&org.id).await.unwrap().unwrap().issuer;
            let stranded = sql_row(
                store,
                "SELECT COUNT(*) AS n FROM members WHERE org_id = $1 AND issuer <> $2",
                &[json!(org.id), json!(current)],
            )
            .await["n"]
                .as_i64()
                .unwrap();
            assert_eq!(stranded, 0, "[{kind}] round {round}: members off {current}");
        }
    }
}

/// A reason code Tessera never writes is a fault of the data, as an unknown role or status is:
/// the activity API answers 500, it does not invent generic advice for it.
#[tokio::test]
async fn an_unknown_stored_reason_is_a_data_fault() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let org = store.create_org("odd", "Odd").await.unwrap();
        let owner =
            testkit::add_member(store, &org.id, "https://idp.example", "o", Role::Member).await;
        let (b, _) = testkit::signed_in_as(&server, &owner).await;
        let url = format!("{}/api/v1/login-attempts", server.url);
        b.get(&url).await.assert_status(200);
        testkit::sql_exec(
            store,
            "INSERT INTO login_attempts (id, org_id, at, outcome, reason, detail)
             VALUES ('odd-1', $1, $2, 'failure', 'something_new', '')",
            &[json!(org.id), json!(store.now_ms())],
        )
        .await;
        let r = b.get(&url).await;
        r.assert_status(500);
        assert_eq!(r.json()["error"], "internal", "[{kind}] {}", r.body);
    }
}

/// A search's total is right whether it is counted or read off a short page: a first page that
/// holds every match, a full page with more after it, the short last page of a long list, and
/// a page past the end (counted, so the caller can show the last page).
#[tokio::test]
async fn search_totals_are_exact_on_short_full_and_past_the_end_pages() {
    use app::ssr::store::MemberFilter;
    for db in databases().await {
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let org = store.create_org("searched", "Searched").await.unwrap();
        for i in 0..60 {
            let (email, name) = if i < 3 {
                (format!("rare{i}@example.test"), format!("Rare Person {i}"))
            } else {
                (
                    format!("common{i}@example.test"),
                    format!("Common Person {i}"),
                )
            };
            store
                .insert_member(
                    &org.id,
                    "https://searched.okta.test",
                    &format!("sub{i}"),
                    &email,
                    &name,
                    Role::Member,
                )
                .await
                .unwrap();
        }
        let kind = db.kind;
        let page = |q: &'static str, filter: MemberFilter, offset: i64| {
            let store = store.clone();
            let org_id = org.id.clone();
            async move {
                let found = store
                    .members_page(&org_id, Some(q), filter, 50, offset)
                    .await
                    .unwrap();
                (found.members.len(), found.total)
            }
        };
        let none = MemberFilter::default();
        assert_eq!(
            page("rare", none, 0).await,
            (3, 3),
            "[{kind}] every match on page 1"
        );
        assert_eq!(page("nobody", none, 0).await, (0, 0), "[{kind}] no match");
        assert_eq!(
            page("common", none, 0).await,
            (50, 57),
            "[{kind}] a full page counts"
        );
        assert_eq!(
            page("common", none, 50).await,
            (7, 57),
            "[{kind}] the short last page"
        );
        assert_eq!(
            page("common", none, 100).await,
            (0, 57),
            "[{kind}] past the end counts"
        );
        let deactivated = MemberFilter {
            status: Some(MemberStatus::Deactivated),
            ..MemberFilter::default()
        };
        assert_eq!(
            page("rare", deactivated, 0).await,
            (0, 0),
            "[{kind}] with a filter"
        );
        // Case does not matter, and the search matches names as well as emails.
        assert_eq!(
            page("RARE PERSON", none, 0).await,
            (3, 3),
            "[{kind}] any case"
        );
    }
}

/// PostgreSQL's search indexes take each new member at once: with GIN's default pending list,
/// every search read all members added since the last vacuum (4-9 ms per search after a bulk
/// import of 100,000, BENCHMARKS.md section 4), instead of under 2 ms.
#[tokio::test]
async fn postgres_search_indexes_keep_no_pending_list() {
    let Some(db) = testkit::postgres().await else {
        return;
    };
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let rows = sql_rows(
        &store,
        "SELECT relname::text AS name, COALESCE(array_to_string(reloptions, ','), '') AS options
         FROM pg_class WHERE relname IN ('members_name_trgm', 'members_email_trgm')
         ORDER BY relname",
        &[],
    )
    .await;
    assert_eq!(
        rows,
        vec![
            json!({"name": "members_email_trgm", "options": "fastupdate=off"}),
            json!({"name": "members_name_trgm", "options": "fastupdate=off"}),
        ]
    );
}

/// The org's pending-flow counters (kept by triggers) against a fresh count of its flows.
async fn assert_flow_counts_exact(store: &Store, org_id: &str, kind: &str) {
    // SUM is NUMERIC on PostgreSQL: read through text.
    let int = |v: &Value| -> i64 {
        match v {
            Value::Null => 0,
            Value::String(s) => s.parse().unwrap(),
            n => n.as_i64().unwrap(),
        }
    };
    let kept = sql_row(
        store,
        "SELECT CAST(COALESCE(SUM(anonymous), 0) AS BIGINT) AS anonymous,
                CAST(COALESCE(SUM(known), 0) AS BIGINT) AS known
         FROM login_flow_counts WHERE org_id = $1",
        &[json!(org_id)],
    )
    .await;
    let counted = sql_row(
        store,
        "SELECT SUM(CASE WHEN known = 0 THEN 1 ELSE 0 END) AS anonymous,
                SUM(CASE WHEN known = 0 THEN 0 ELSE 1 END) AS known
         FROM login_flows WHERE org_id = $1",
        &[json!(org_id)],
    )
    .await;
    assert_eq!(
        (int(&kept["anonymous"]), int(&kept["known"])),
        (int(&counted["anonymous"]), int(&counted["known"])),
        "[{kind}] kept flow counts differ from the login_flows table"
    );
}

fn flow(org_id: &app::model::OrgId, state: &str, browser: &str, now: i64) -> LoginFlow {
    LoginFlow {
        state: state.into(),
        org_id: org_id.clone(),
        nonce: "n".into(),
        pkce_verifier: "v".into(),
        target: None,
        browser_hash: browser.into(),
        expires_at: now + 600_000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_flow_counts_stay_exact_and_bound_each_start() {
    use app::ssr::login::{MAX_PENDING_FLOWS_PER_BROWSER, MAX_PENDING_FLOWS_PER_ORG as CAP};
    for db in databases().await {
        let kind = db.kind;
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let org = store.create_org("flows", "Flows").await.unwrap();
        let other = store.create_org("elsewhere", "Elsewhere").await.unwrap();
        let id = org.id.as_str();
        let now = store.now_ms();
        // Starts from new browsers, from one browser again and again (it keeps its newest
        // few), concurrent ones (on PostgreSQL through different connections, so different
        // counter slots), and another org's.
        for i in 0..6 {
            let f = flow(&org.id, &format!("new{i}"), &format!("b{i}"), now);
            assert!(store.save_login_flow(&f, true).await.unwrap().is_some());
        }
        for i in 0..8 {
            let f = flow(&org.id, &format!("tab{i}"), "one-browser", now + i);
            store.save_login_flow(&f, false).await.unwrap();
        }
        let tabs = sql_row(
            &store,
            "SELECT COUNT(*) AS n FROM login_flows WHERE browser_hash = 'one-browser'",
            &[],
        )
        .await;
        assert_eq!(tabs["n"], json!(MAX_PENDING_FLOWS_PER_BROWSER), "[{kind}]");
        let starts = (0..16).map(|i| {
            let store = store.clone();
            let f = flow(&org.id, &format!("crowd{i}"), &format!("c{i}"), now);
            async move { store.save_login_flow(&f, true).await.unwrap() }
        });
        futures_util::future::join_all(starts).await;
        let f = flow(&other.id, "theirs", "b0", now);
        store.save_login_flow(&f, true).await.unwrap();
        assert_flow_counts_exact(&store, id, kind).await;
        // Callbacks take flows; a known browser's flow, written directly; a rolled-back
        // delete; expired flows purged.
        assert!(store.take_login_flow("new1", "b1").await.unwrap().is_some());
        assert!(
            store
                .take_login_flow("crowd3", "c3")
                .await
                .unwrap()
                .is_some()
        );
        sql_exec(
            &store,
            "INSERT INTO login_flows (state, org_id, nonce, pkce_verifier, created_at, expires_at, browser_hash, known)
             VALUES ('kn', $1, 'n', 'v', $2, $3, 'k', 1)",
            &[json!(id), json!(now), json!(now + 600_000)],
        )
        .await;
        assert_flow_counts_exact(&store, id, kind).await;
        let mut tx = store.begin().await.unwrap();
        tx.execute_for_tests("DELETE FROM login_flows WHERE org_id = $1", &[json!(id)])
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_flow_counts_exact(&store, id, kind).await;
        sql_exec(
            &store,
            "UPDATE login_flows SET expires_at = 0 WHERE state IN ('new2', 'kn')",
            &[],
        )
        .await;
        store.purge_expired().await.unwrap();
        assert_flow_counts_exact(&store, id, kind).await;
        // At the cap, a start evicts exactly the oldest anonymous flows beyond it, walking
        // only those: the org's anonymous flows stay at the cap.
        sql_exec(
            &store,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
             INSERT INTO login_flows (state, org_id, nonce, pkce_verifier, created_at, expires_at, browser_hash)
             SELECT 'planted-' || i, $2, 'n', 'v', $3 + i, $3 + i + 600000, 'p' || i FROM n",
            &[json!(CAP + 3), json!(id), json!(now - 60_000)],
        )
        .await;
        assert_flow_counts_exact(&store, id, kind).await;
        let f = flow(&org.id, "last", "fresh", now);
        assert!(store.save_login_flow(&f, true).await.unwrap().is_some());
        let anonymous = sql_row(
            &store,
            "SELECT COUNT(*) AS n FROM login_flows WHERE org_id = $1 AND known = 0",
            &[json!(id)],
        )
        .await;
        assert_eq!(anonymous["n"], json!(CAP), "[{kind}]");
        // 24 real anonymous flows besides the planted ones: the 28 oldest planted went.
        let kept = sql_rows(
            &store,
            "SELECT state FROM login_flows WHERE state IN ('planted-1', 'planted-28', 'planted-29', 'tab3')
             ORDER BY state",
            &[],
        )
        .await;
        assert_eq!(
            kept,
            vec![json!({"state": "planted-29"}), json!({"state": "tab3"})],
            "[{kind}] the oldest went first"
        );
        assert_flow_counts_exact(&store, id, kind).await;
        // Deleting the org takes its counters with it; the other org's stay.
        store.delete_org(&org.id).await.unwrap();
        let left = sql_row(
            &store,
            "SELECT COUNT(*) AS n FROM login_flow_counts WHERE org_id = $1",
            &[json!(id)],
        )
        .await;
        assert_eq!(left["n"], json!(0), "[{kind}]");
        assert_flow_counts_exact(&store, other.id.as_str(), kind).await;
    }
}
