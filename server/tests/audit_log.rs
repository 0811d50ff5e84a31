//! The audit log as owners and admins read it, over real HTTP on SQLite and PostgreSQL: a
//! sentence for every action made through the API, the CLI, setup links and sign-ins through
//! the local Okta; the filters (each and combined, bad and huge values, paging past the end);
//! the page (sentences, relative times, values from outside escaped, filters kept by paging
//! and the export links); the CSV and JSON export (content, headers, permission, formula
//! injection, other orgs, batches and the row cap); failed secret rotations recorded.

use app::api::audit_text::AuditAction;
use app::model::{Member, Org, Role};
use app::ssr::store::Store;
use app::time_text::{format_ms_exact, parse_day, rfc3339};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use testkit::{
    ApiClient, Browser, OktaDev, Resp, TestServer, add_member, databases, dead_issuer, okta_client,
    signed_in_sessions, sql_exec, sql_rows,
};

// ---- helpers ---------------------------------------------------------------------------------

/// The issuer the fixtures' members are keyed to.
const MEMBERS_ISSUER: &str = "https://acme.okta.test";
/// Every check of "Test connection", in words, as an unreachable issuer fails them.
// Against a dead issuer only discovery runs and fails: the later checks are "not checked".
const FAILED_CHECKS: &str = "discovery";
const DAY: i64 = 86_400_000;

#[track_caller]
fn assert_error(r: &Resp, status: u16, code: &str) -> String {
    r.assert_status(status);
    let j = r.json();
    assert_eq!(j["error"], code, "{} {}: {}", r.method, r.url, r.body);
    let message = j["message"].as_str().unwrap_or_default().to_string();
    assert!(!message.is_empty(), "a message: {}", r.body);
    message
}

async fn member(store: &Store, org: &Org, sub: &str, role: Role) -> Member {
    add_member(store, &org.id, MEMBERS_ISSUER, sub, role).await
}

/// `GET /api/v1/audit{query}` as `c`, asserting 200.
async fn log(c: &ApiClient, query: &str) -> Value {
    let r = c.get(&format!("/api/v1/audit{query}")).await;
    r.assert_status(200);
    r.json()
}

fn entries(j: &Value) -> &Vec<Value> {
    j["entries"].as_array().expect("entries")
}

fn field(j: &Value, name: &str) -> Vec<String> {
    entries(j)
        .iter()
        .map(|e| e[name].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The `http://127.0.0.1:port` issuer as a sentence names it.
fn domain(issuer: &str) -> String {
    issuer
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// Asserts every sentence of `expected` is in the log `j`, and that every entry is of an
/// action this build knows, read as its own sentence (never the generic one). Returns the
/// actions seen.
#[track_caller]
fn assert_sentences(j: &Value, expected: &[String]) -> BTreeSet<String> {
    let sentences = field(j, "sentence");
    for s in expected {
        assert!(
            sentences.contains(s),
            "missing sentence:\n  {s}\nthe log says:\n  {}",
            sentences.join("\n  ")
        );
    }
    let mut seen = BTreeSet::new();
    for e in entries(j) {
        let action = e["action"].as_str().unwrap();
        assert!(
            AuditAction::parse(action).is_some(),
            "unknown action {action}"
        );
        let s = e["sentence"].as_str().unwrap();
        assert!(!s.contains("performed “"), "generic sentence: {s}");
        seen.insert(action.to_string());
    }
    seen
}

/// Plants one audit entry as the store writes them, at `at`, with an acting member id when
/// `member_actor` (fixtures for filters, paging and the export: exact times and odd values).
#[allow(clippy::too_many_arguments)]
async fn plant(
    store: &Store,
    org: &Org,
    id: &str,
    at: i64,
    member_actor: bool,
    actor: &str,
    action: &str,
    target: &str,
    after: Value,
) {
    sql_exec(
        store,
        "INSERT INTO audit_log (id, org_id, at, actor_id, actor_email, action, target_id, target_email, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9)",
        &[
            json!(id),
            json!(org.id),
            json!(at),
            if member_actor { json!(format!("m-{id}")) } else { Value::Null },
            json!(actor),
            json!(action),
            if target.is_empty() { Value::Null } else { json!(format!("t-{id}")) },
            json!(target),
            json!(if after.is_null() { String::new() } else { after.to_string() }),
        ],
    )
    .await;
}

/// Plants `n` entries of `actor` at `at(i)` with ids `{prefix}-{i:06}`, in multi-row inserts.
async fn plant_many(
    store: &Store,
    org: &Org,
    prefix: &str,
    n: usize,
    actor: &str,
    at: impl Fn(usize) -> i64,
) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let values: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    "('{prefix}-{i:06}', '{}', {}, NULL, '{actor}', 'role_changed', NULL, '', '', '{{\"role\":\"admin\"}}')",
                    org.id,
                    at(*i)
                )
            })
            .collect();
        sql_exec(
            store,
            &format!(
                "INSERT INTO audit_log (id, org_id, at, actor_id, actor_email, action, target_id, target_email, before, after) VALUES {}",
                values.join(", ")
            ),
            &[],
        )
        .await;
    }
}

/// A CSV file read per RFC 4180: records end in CRLF, quoted fields may hold commas, quotes
/// (doubled) and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                assert!(field.is_empty(), "a quote inside an unquoted field");
                quoted = true;
            }
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "records end in CRLF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("a bare LF outside quotes"),
            c => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "the file ends with a whole record"
    );
    rows
}

/// The actions each sentence test below makes for real; together they are every action.
const MADE_WITHOUT_OKTA: [AuditAction; 22] = [
    AuditAction::RoleChanged,
    AuditAction::MemberDeactivated,
    AuditAction::MemberReactivated,
    AuditAction::MemberRemoved,
    AuditAction::OwnershipTransferred,
    AuditAction::MembersRekeyed,
    AuditAction::InvitationCreated,
    AuditAction::InvitationRevoked,
    AuditAction::SsoConnectionSet,
    AuditAction::SsoEnabled,
    AuditAction::SsoDisabled,
    AuditAction::SsoSettingsChanged,
    AuditAction::SsoPolicySet,
    AuditAction::SsoConnectionTested,
    AuditAction::ClientSecretRotationFailed,
    AuditAction::ClientSecretDropped,
    AuditAction::SetupLinkCreated,
    AuditAction::SetupLinkOpened,
    AuditAction::SetupLinkTestFailed,
    AuditAction::SetupLinkExpired,
    AuditAction::SetupLinkRevoked,
    AuditAction::OrgRenamed,
];
const MADE_WITH_OKTA: [AuditAction; 8] = [
    AuditAction::MemberProvisioned,
    AuditAction::MemberProfileChanged,
    AuditAction::InvitationCreated,
    AuditAction::ClientSecretRotated,
    AuditAction::ClientSecretRotationFailed,
    AuditAction::SetupLinkCreated,
    AuditAction::SetupLinkTestPassed,
    AuditAction::SetupLinkSaved,
];

/// The actions SCIM provisioning makes ([`scim_provisioning_reads_as_sentences`]).
const MADE_BY_SCIM: [AuditAction; 9] = [
    AuditAction::MemberLinked,
    AuditAction::ScimTokenCreated,
    AuditAction::ScimTokenRevoked,
    AuditAction::ProvisioningModeChanged,
    AuditAction::GroupPushed,
    AuditAction::GroupRenamed,
    AuditAction::GroupDeleted,
    AuditAction::RoleMappingSet,
    AuditAction::RoleMappingRemoved,
];

/// The actions Universal Logout, Shared Signals and "Sign out everywhere" make
/// ([`security_signals_read_as_sentences`]).
const MADE_BY_SIGNALS: [AuditAction; 5] = [
    AuditAction::SessionsRevoked,
    AuditAction::SecuritySignalsChanged,
    AuditAction::MemberDeactivated,
    AuditAction::MemberReactivated,
    AuditAction::MemberProvisioned,
];

#[test]
fn the_sentence_tests_make_every_action() {
    for action in AuditAction::ALL {
        assert!(
            MADE_WITHOUT_OKTA.contains(&action)
                || MADE_WITH_OKTA.contains(&action)
                || MADE_BY_SCIM.contains(&action)
                || MADE_BY_SIGNALS.contains(&action),
            "no test makes {} for real",
            action.code()
        );
    }
}

fn codes(actions: &[AuditAction]) -> BTreeSet<String> {
    actions.iter().map(|a| a.code().to_string()).collect()
}

// ---- sentences for real actions ----------------------------------------------------------------

/// Owners, admins and the operator act through the API, the CLI and a setup link's page; the
/// log says each in a sentence.
#[tokio::test]
async fn every_action_made_reads_as_a_sentence() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let org = store.create_org("acme", "Acme Inc").await.unwrap();
        let alice = member(store, &org, "alice", Role::Member).await;
        assert_eq!(alice.role, Role::Owner);
        let bob = member(store, &org, "bob", Role::Admin).await;
        let carol = member(store, &org, "carol", Role::Member).await;
        let dave = member(store, &org, "dave", Role::Member).await;
        let dead = dead_issuer();
        server
            .connect(&org, &dead, "0oa-client", "secret-abcd")
            .await;
        let (a, b) = (server.api_as(&alice).await, server.api_as(&bob).await);
        let id = |m: &Member| json!(m.id);

        // Members, settings and tests through the API.
        for (who, path, body) in [
            (
                &b,
                "/api/v1/members/role",
                json!({"member_id": id(&carol), "role": "admin"}),
            ),
            (
                &a,
                "/api/v1/members/role",
                json!({"member_id": id(&carol), "role": "member"}),
            ),
            (
                &b,
                "/api/v1/members/deactivate",
                json!({"member_id": id(&dave)}),
            ),
            (
                &b,
                "/api/v1/members/reactivate",
                json!({"member_id": id(&dave)}),
            ),
            (
                &a,
                "/api/v1/sso/settings",
                json!({"jit_enabled": false, "default_role": "admin"}),
            ),
            (&b, "/api/v1/sso/test", json!({})),
        ] {
            who.post(path, body).await.assert_status(200);
        }
        let r = a
            .post(
                "/api/v1/sso/rotate-secret",
                json!({"client_secret": "new-secret-wxyz"}),
            )
            .await;
        assert_error(&r, 400, "connection_test_failed");

        // A setup link: made, opened, tested (against an Okta that is not there), revoked.
        let r = a
            .post("/api/v1/sso/setup-link", json!({"expires": "72h"}))
            .await;
        r.assert_status(200);
        let link = r.json()["url"].as_str().unwrap().to_string();
        let admin = Browser::new();
        admin.get(&link).await.assert_status(200);
        admin
            .post_form(
                &format!("{link}/test"),
                &[
                    ("okta_domain", dead.as_str()),
                    ("client_id", "0oa-link"),
                    ("client_secret", "link-secret"),
                ],
            )
            .await
            .assert_status(303);
        let r = a.post("/api/v1/sso/setup-links/revoke", json!({})).await;
        r.assert_status(200);
        assert_eq!(r.json()["revoked"], 1);
        a.post("/api/v1/members/remove", json!({"member_id": id(&dave)}))
            .await
            .assert_status(200);
        // Invitations: made, replaced, revoked.
        for role in ["admin", "member"] {
            a.post(
                "/api/v1/invitations",
                json!({"email": "erin@example.test", "role": role}),
            )
            .await
            .assert_status(200);
        }
        let r = b.get("/api/v1/invitations/open").await;
        let invitation = r.json()["invitations"][0]["id"].clone();
        b.post("/api/v1/invitations/revoke", json!({"id": invitation}))
            .await
            .assert_status(200);
        // A second link stops working when alice hands the org over.
        a.post("/api/v1/sso/setup-link", json!({"expires": "72h"}))
            .await
            .assert_status(200);
        a.post(
            "/api/v1/org/transfer-ownership",
            json!({"member_id": id(&bob)}),
        )
        .await
        .assert_status(200);

        // The operator, through the CLI.
        server.cli_ok(&["member", "set-role", "acme", "carol@example.test", "admin"]);
        server.cli_ok(&[
            "sso",
            "policy",
            "acme",
            "--jit",
            "on",
            "--default-role",
            "member",
        ]);
        server.cli_ok(&["org", "rename", "acme", "--name", "Acme Corporation"]);
        let short = server.cli_ok(&["org", "setup-link", "acme", "--expires", "30m"]);
        let short = short.lines().next().unwrap().trim().to_string();
        server.advance(Duration::from_secs(31 * 60));
        Browser::new().get(&short).await.assert_status(410);
        let sessions = signed_in_sessions(store).await;
        assert!(sessions >= 2);
        server.cli_ok(&["sso", "disable", "acme"]);
        server.cli_ok(&["sso", "enable", "acme"]);
        let dead2 = dead_issuer();
        let secret_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(secret_file.path(), "another-secret").unwrap();
        server.cli_ok(&[
            "sso",
            "set",
            "acme",
            "--issuer",
            &dead2,
            "--client-id",
            "0oa-new",
            "--client-secret-file",
            &secret_file.path().display().to_string(),
        ]);
        server.cli_ok(&[
            "org",
            "rekey-members",
            "acme",
            "--from-issuer",
            MEMBERS_ISSUER,
        ]);
        server.cli_ok(&["org", "transfer-owner", "acme", "carol@example.test"]);
        // The key the client secret was sealed with is lost: the operator drops the secret.
        let dir = tempfile::tempdir().unwrap();
        let other_key = dir.path().join("other.key");
        app::ssr::crypto::SecretKey::load_or_create(&other_key).unwrap();
        let mut drop = std::process::Command::new(testkit::tessera_bin());
        drop.arg("--database-url")
            .arg(&server.config.database_url)
            .arg("--secret-key-file")
            .arg(&other_key)
            .env_remove("TESSERA_DATABASE_URL")
            .env_remove("TESSERA_SECRET_KEY_FILE")
            .args(["secret-key", "drop-unreadable", "--yes"]);
        testkit::run_ok(&mut drop);

        // Bob (an admin again) reads it all.
        let bob = store.member_by_id(&org.id, &bob.id).await.unwrap().unwrap();
        assert_eq!(bob.role, Role::Admin);
        let j = log(&server.api_as(&bob).await, "").await;
        let (d1, d2) = (domain(&dead), domain(&dead2));
        let expected = [
            "bob@example.test made carol@example.test an admin".to_string(),
            "alice@example.test made carol@example.test a member".into(),
            "bob@example.test deactivated dave@example.test".into(),
            "bob@example.test reactivated dave@example.test".into(),
            "alice@example.test turned just-in-time provisioning off and set new members' role to admin".into(),
            format!("bob@example.test tested the Okta connection: it failed ({FAILED_CHECKS})"),
            format!("alice@example.test tried to rotate the Okta client secret, but the new secret failed the connection test ({FAILED_CHECKS}) and was not saved"),
            "alice@example.test created a setup link, valid for 72 hours".into(),
            "Someone opened a setup link".into(),
            format!("Someone with a setup link tested the connection to {d1}: it failed ({FAILED_CHECKS})"),
            "alice@example.test revoked a setup link".into(),
            "alice@example.test removed dave@example.test from the organization".into(),
            "alice@example.test transferred ownership to bob@example.test and is now an admin".into(),
            "A setup link stopped working: the member who made it is no longer the owner".into(),
            "The service operator made carol@example.test an admin".into(),
            "The service operator turned just-in-time provisioning on and set new members' role to member".into(),
            "The service operator renamed the organization from “Acme Inc” to “Acme Corporation”".into(),
            "The service operator created a setup link, valid for 30 minutes".into(),
            "Someone opened a setup link after it had expired".into(),
            format!("The service operator turned single sign-on off, signing everyone out ({sessions} sessions ended)"),
            "The service operator turned single sign-on on".into(),
            format!("The service operator moved the Okta connection from {d1} to {d2} (Client ID 0oa-new)"),
            format!("The service operator moved 3 members from the Okta org acme.okta.test to {d2}"),
            "The service operator made carol@example.test the owner; bob@example.test is now an admin".into(),
            "alice@example.test invited erin@example.test to join as an admin".into(),
            "alice@example.test invited erin@example.test to join as a member, replacing the earlier invitation of that address".into(),
            "bob@example.test revoked the invitation of erin@example.test".into(),
            "The service operator dropped the Okta client secret, which did not open with the server's secret key: sign-ins fail until it is set again".into(),
        ];
        let seen = assert_sentences(&j, &expected);
        assert_eq!(seen, codes(&MADE_WITHOUT_OKTA), "[{}]", db.kind);
        assert_eq!(j["total"].as_i64(), Some(entries(&j).len() as i64));
        // Nothing about the secrets tried.
        for secret in [
            "new-secret-wxyz",
            "link-secret",
            "another-secret",
            "secret-abcd",
        ] {
            assert!(!j.to_string().contains(secret), "{secret} in the log");
        }
    }
}

/// Okta's Universal Logout and security events, an owner's and the operator's "Sign out
/// everywhere", and the switches, through the local Okta: each a sentence naming who and how.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_signals_read_as_sentences() {
    use testkit::signals::{
        ACCOUNT_DISABLED, ACCOUNT_ENABLED, CREDENTIAL_CHANGE, SESSION_REVOKED, email, iss_sub,
        push, revoke,
    };
    const CLIENT: &str = "tessera-signals-audit";
    const SECRET: &str = "signals-audit-secret-0123456789";
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let okta =
            OktaDev::start(json!([okta_client(&server.url, CLIENT, SECRET, "Signals")])).await;
        server.register_org("sigaudit", &okta.issuer, CLIENT, SECRET);
        let start = testkit::initiate_url(&server.url, &okta.issuer);
        let sign_in = |user: &'static str| {
            let start = start.clone();
            let url = server.url.clone();
            async move {
                let b = Browser::new();
                assert!(b.sign_in(&url, &start, user, "password").await.landed());
                b
            }
        };
        let _alice = sign_in("alice").await;
        let _bob = sign_in("bob").await;
        let org = testkit::org(store, "sigaudit").await;
        let alice = store
            .members_by_email(&org.id, "alice@example.com")
            .await
            .unwrap()
            .remove(0);
        let bob = store
            .members_by_email(&org.id, "bob@example.com")
            .await
            .unwrap()
            .remove(0);
        let a = server.api_as(&alice).await;
        a.post("/api/v1/members/sign-out", json!({"member_id": bob.id}))
            .await
            .assert_status(200);
        server.cli_ok(&["member", "sign-out", "sigaudit", "bob@example.com"]);
        let endpoint = format!("{}/oauth/global-token-revocation", server.url);
        let _bob = sign_in("bob").await;
        let jwt = okta.logout_jwt(CLIENT, &endpoint).await;
        let r = revoke(
            &server.url,
            Some(&jwt),
            &json!({"sub_id": iss_sub(&okta.issuer, "00u2bob")}),
        )
        .await;
        assert_eq!(r.status, 204, "{}", r.body);
        let aud = format!("{}/ssf/orgs/sigaudit", server.url);
        for (event, subject) in [
            (SESSION_REVOKED, email("bob@example.com")),
            (CREDENTIAL_CHANGE, email("bob@example.com")),
            (ACCOUNT_DISABLED, email("bob@example.com")),
            (ACCOUNT_ENABLED, email("bob@example.com")),
        ] {
            let set = okta.set_jwt(&aud, event, subject).await;
            assert_eq!(push(&server.url, &set).await.status, 202, "{event}");
        }
        a.post("/api/v1/sso/signals", json!({"universal_logout": false}))
            .await
            .assert_status(200);
        server.cli_ok(&[
            "sso",
            "policy",
            "sigaudit",
            "--universal-logout",
            "on",
            "--shared-signals",
            "off",
        ]);

        let j = log(&a, "").await;
        let expected = [
            "alice@example.com signed bob@example.com out everywhere (1 session ended)",
            "The service operator signed bob@example.com out everywhere (no session was open)",
            "Okta signed bob@example.com out everywhere with Universal Logout (1 session ended)",
            "Okta signed bob@example.com out everywhere after a session-revoked event (no session was open)",
            "Okta signed bob@example.com out everywhere after a credential change (no session was open)",
            "Okta deactivated bob@example.com after an account-disabled event",
            "Okta reactivated bob@example.com after an account-enabled event",
            "alice@example.com turned Universal Logout off",
            "The service operator turned Universal Logout on and Shared Signals off",
        ]
        .map(String::from);
        let seen = assert_sentences(&j, &expected);
        // Besides what registering the org wrote (the connection, SSO on).
        assert!(
            codes(&MADE_BY_SIGNALS).is_subset(&seen),
            "[{}] {seen:?}",
            db.kind
        );
    }
}

/// SCIM provisioning through the local Okta's org: a token, a member Okta provisions who then
/// signs in, a pushed group mapped to a role, renamed and deleted, a deactivation: each a
/// sentence naming Okta, the owner or the operator.
#[tokio::test]
async fn scim_provisioning_reads_as_sentences() {
    const SECRET: &str = "scim-audit-secret-0123456789";
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            "tessera-scim-audit",
            SECRET,
            "Tessera (SCIM audit)"
        )]))
        .await;
        server.register_org("scimaudit", &okta.issuer, "tessera-scim-audit", SECRET);
        let start = testkit::initiate_url(&server.url, &okta.issuer);
        assert!(
            Browser::new()
                .sign_in(&server.url, &start, "alice", "password")
                .await
                .landed()
        );
        let org = testkit::org(store, "scimaudit").await;
        let alice = store
            .members_by_email(&org.id, "alice@example.com")
            .await
            .unwrap()
            .remove(0);
        let out = server.cli_ok(&[
            "scim",
            "token",
            "create",
            "scimaudit",
            "--name",
            "Okta prod",
            "--json",
        ]);
        let token: Value = serde_json::from_str(out.trim()).unwrap();
        let scim = testkit::ScimClient::with_token(&server, token["token"].as_str().unwrap());
        let bob = scim
            .create_user("bob@example.com", Some("00u2bob"))
            .await
            .json()["id"]
            .clone();
        assert!(
            Browser::new()
                .sign_in(&server.url, &start, "bob", "password")
                .await
                .landed()
        );
        let group = scim
            .create_group("Tessera Admins", &[bob.as_str().unwrap()])
            .await
            .json()["id"]
            .clone();
        let a = server.api_as(&alice).await;
        a.post(
            "/api/v1/provisioning/role-map",
            json!({"group": "tessera admins", "role": "admin"}),
        )
        .await
        .assert_status(200);
        let gid = group.as_str().unwrap();
        scim.patch_group(
            gid,
            json!([{"op": "replace", "value": {"id": gid, "displayName": "Admins"}}]),
        )
        .await
        .assert_status(204);
        server.cli_ok(&["role-map", "remove", "scimaudit", "--group", "Admins"]);
        scim.delete(&format!("/Groups/{gid}"))
            .await
            .assert_status(204);
        scim.deactivate(bob.as_str().unwrap())
            .await
            .assert_status(200);
        server.cli_ok(&[
            "scim",
            "token",
            "revoke",
            "scimaudit",
            token["id"].as_str().unwrap(),
        ]);

        let j = log(&a, "").await;
        let expected: Vec<String> = [
            "The service operator created the SCIM token “Okta prod”",
            "The service operator changed the provisioning mode from jit to both",
            "Okta provisioned bob@example.com over SCIM (member; not signed in yet)",
            "bob@example.com signed in for the first time as the member Okta provisioned",
            "Okta pushed the group “Tessera Admins” and added 1 member",
            "alice@example.com mapped the Okta group “Tessera Admins” to the admin role",
            "alice@example.com made bob@example.com an admin (from their Okta groups)",
            "Okta renamed the group “Tessera Admins” to “Admins”",
            "The service operator removed the role mapping of the Okta group “Admins”",
            "The service operator made bob@example.com a member (from their Okta groups)",
            "Okta deleted the group “Admins”",
            "Okta deactivated bob@example.com",
            "The service operator revoked the SCIM token “Okta prod”",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let seen = assert_sentences(&j, &expected);
        for action in MADE_BY_SCIM {
            assert!(
                seen.contains(action.code()),
                "[{}] no {}",
                db.kind,
                action.code()
            );
        }
        assert!(
            !j.to_string().contains(token["token"].as_str().unwrap()),
            "the token in the log"
        );
    }
}

/// Sign-ins through the local Okta, a refused and an accepted secret rotation, and a setup
/// link that passes and saves: each a sentence, and the refused rotation recorded with the
/// failing checks but never the secret.
#[tokio::test]
async fn sign_ins_rotations_and_setup_saves_against_the_local_okta() {
    const GOOD: &str = "good-secret-0123456789-abcd";
    const WRONG: &str = "wrong-secret-0000-zzzz";
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            "tessera-audit",
            GOOD,
            "Tessera (Audit)"
        )]))
        .await;
        let org = store.create_org("oktaaudit", "Okta Audit").await.unwrap();
        server
            .connect(&org, &okta.issuer, "tessera-audit", GOOD)
            .await;
        let start = testkit::initiate_url(&server.url, &okta.issuer);
        let alice = Browser::new();
        assert!(
            alice
                .sign_in(&server.url, &start, "alice", "password")
                .await
                .landed()
        );
        let bob = Browser::new();
        assert!(
            bob.sign_in(&server.url, &start, "bob", "password")
                .await
                .landed()
        );
        let post = |b: &Browser, path: &str, body: Value| {
            let req = b
                .client
                .post(format!("{}{path}", server.url))
                .header("origin", &server.url)
                .json(&body);
            let b = b.clone();
            async move { b.send(req).await }
        };

        // A wrong secret: refused, the old one kept, and the attempt recorded.
        let before = store.sealed_client_secret(&org.id).await.unwrap();
        let r = post(
            &alice,
            "/api/v1/sso/rotate-secret",
            json!({"client_secret": WRONG}),
        )
        .await;
        assert_error(&r, 400, "connection_test_failed");
        assert_eq!(store.sealed_client_secret(&org.id).await.unwrap(), before);
        let rows = sql_rows(
            store,
            "SELECT actor_email, actor_id, before, after FROM audit_log WHERE org_id = $1 AND action = 'client_secret_rotation_failed'",
            &[json!(org.id)],
        )
        .await;
        assert_eq!(rows.len(), 1, "[{}] {rows:?}", db.kind);
        assert_eq!(rows[0]["actor_email"], "alice@example.com");
        assert!(rows[0]["actor_id"].is_string());
        assert_eq!(rows[0]["before"], "");
        assert_eq!(
            serde_json::from_str::<Value>(rows[0]["after"].as_str().unwrap()).unwrap(),
            json!({"failed": ["client_credentials"]})
        );
        // bob, a member, may not rotate: refused before any test, nothing recorded.
        let r = post(
            &bob,
            "/api/v1/sso/rotate-secret",
            json!({"client_secret": WRONG}),
        )
        .await;
        assert_error(&r, 403, "forbidden");
        // The right one.
        post(
            &alice,
            "/api/v1/sso/rotate-secret",
            json!({"client_secret": GOOD}),
        )
        .await
        .assert_status(200);

        // An invitation: carol joins as an admin on her first sign-in.
        post(
            &alice,
            "/api/v1/invitations",
            json!({"email": "carol@example.com", "role": "admin"}),
        )
        .await
        .assert_status(200);
        let carol = Browser::new();
        assert!(
            carol
                .sign_in(&server.url, &start, "carol", "password")
                .await
                .landed()
        );
        // Bob's email changes at Okta: his next sign-in refreshes it.
        okta.set_email("bob", "bob.brown@example.org").await;
        assert!(
            Browser::new()
                .sign_in(&server.url, &start, "bob", "password")
                .await
                .landed()
        );

        // A setup link whose test passes and which saves.
        let r = post(&alice, "/api/v1/sso/setup-link", json!({"expires": "72h"})).await;
        r.assert_status(200);
        let link = r.json()["url"].as_str().unwrap().to_string();
        let admin = Browser::new();
        let form = [
            ("okta_domain", okta.issuer.as_str()),
            ("client_id", "tessera-audit"),
            ("client_secret", GOOD),
        ];
        // Each post answers 303 to where its result shows.
        admin
            .post_form(&format!("{link}/test"), &form)
            .await
            .assert_status(303);
        admin
            .post_form(&format!("{link}/save"), &form)
            .await
            .assert_status(303);

        let r = alice.get(&format!("{}/api/v1/audit", server.url)).await;
        r.assert_status(200);
        let j = r.json();
        let d = domain(&okta.issuer);
        let expected = [
            "Okta added alice@example.com on their first sign-in (owner: the organization's first member)".to_string(),
            "Okta added bob@example.com on their first sign-in (member)".into(),
            "alice@example.com invited carol@example.com to join as an admin".into(),
            "Okta added carol@example.com on their first sign-in (admin, invited by alice@example.com)".into(),
            "Okta updated the profile of bob.brown@example.org: email from bob@example.com to bob.brown@example.org".into(),
            "alice@example.com tried to rotate the Okta client secret, but the new secret failed the connection test (client credentials) and was not saved".into(),
            "alice@example.com rotated the Okta client secret".into(),
            "alice@example.com created a setup link, valid for 72 hours".into(),
            format!("Someone with a setup link tested the connection to {d}: every check passed"),
            format!("Someone with a setup link saved the Okta connection to {d}"),
        ];
        let seen = assert_sentences(&j, &expected);
        assert!(
            seen.is_superset(&codes(&MADE_WITH_OKTA)),
            "[{}] {seen:?}",
            db.kind
        );
        assert_eq!(
            field(&j, "action")
                .iter()
                .filter(|a| *a == "client_secret_rotation_failed")
                .count(),
            1
        );
        // Neither secret is stored anywhere in the log.
        let all = sql_rows(store, "SELECT * FROM audit_log", &[]).await;
        let text = serde_json::to_string(&all).unwrap();
        assert!(
            !text.contains(WRONG) && !text.contains(GOOD),
            "a secret in the log"
        );
    }
}

// ---- filters -------------------------------------------------------------------------------------

/// Who, action and dates narrow the log, each and combined, on both databases alike; bad
/// values are refused (400, the API's error form, nothing quoted whole); paging keeps the
/// filters and a page past the end shows the last.
#[tokio::test]
async fn filters_narrow_the_log_each_and_combined() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let org = store.create_org("acme", "Acme Inc").await.unwrap();
        let owner = member(store, &org, "owner", Role::Member).await;
        let other = store.create_org("other", "Other Inc").await.unwrap();
        let d0 = parse_day("2026-03-01").unwrap();
        let change = json!({"role": "admin"});
        plant(
            store,
            &org,
            "e1",
            d0,
            true,
            "alice@example.test",
            "role_changed",
            "x@example.test",
            change.clone(),
        )
        .await;
        plant(
            store,
            &org,
            "e2",
            d0 + DAY - 1,
            true,
            "bob@example.test",
            "member_deactivated",
            "x@example.test",
            Value::Null,
        )
        .await;
        plant(
            store,
            &org,
            "e3",
            d0 + DAY,
            false,
            "operator (CLI)",
            "sso_disabled",
            "",
            json!({"enabled": false, "sessions_ended": 2}),
        )
        .await;
        plant(
            store,
            &org,
            "e4",
            d0 + 2 * DAY,
            false,
            "Okta (just-in-time sign-in)",
            "member_provisioned",
            "y@example.test",
            json!({"role": "member"}),
        )
        .await;
        plant(
            store,
            &org,
            "e5",
            d0 + 3 * DAY,
            true,
            "ALICE@Example.TEST",
            "role_changed",
            "x@example.test",
            change.clone(),
        )
        .await;
        plant(
            store,
            &org,
            "e6",
            d0 + 4 * DAY,
            true,
            "a_b%c@example.test",
            "org_renamed",
            "",
            json!({"name": "N"}),
        )
        .await;
        // Another org's entries match the same filters and are never seen.
        plant(
            store,
            &other,
            "o1",
            d0,
            true,
            "alice@example.test",
            "role_changed",
            "x@example.test",
            change.clone(),
        )
        .await;
        plant(
            store,
            &other,
            "o2",
            d0 + DAY,
            false,
            "operator (CLI)",
            "sso_disabled",
            "",
            Value::Null,
        )
        .await;
        let c = server.api_as(&owner).await;

        let ids = |j: &Value| field(j, "id");
        for (query, expected) in [
            ("", vec!["e6", "e5", "e4", "e3", "e2", "e1"]),
            ("?who=alice", vec!["e5", "e1"]),
            ("?who=ALICE%40example", vec!["e5", "e1"]),
            ("?who=+alice+", vec!["e5", "e1"]),
            ("?who=operator", vec!["e3"]),
            ("?who=okta", vec!["e4"]),
            ("?who=_b%25", vec!["e6"]),
            ("?who=%25", vec!["e6"]),
            ("?who=_", vec!["e6"]),
            ("?who=nobody", vec![]),
            ("?action=role_changed", vec!["e5", "e1"]),
            ("?action=sso_disabled", vec!["e3"]),
            ("?action=setup_link_saved", vec![]),
            ("?from=2026-03-01&to=2026-03-01", vec!["e2", "e1"]),
            ("?from=2026-03-02", vec!["e6", "e5", "e4", "e3"]),
            ("?to=2026-03-02", vec!["e3", "e2", "e1"]),
            ("?from=2026-03-03&to=2026-03-04", vec!["e5", "e4"]),
            ("?from=2026-03-06", vec![]),
            ("?who=alice&action=role_changed&from=2026-03-02", vec!["e5"]),
            ("?who=bob&action=role_changed", vec![]),
            (
                "?who=example&from=2026-03-01&to=2026-03-02&action=member_deactivated",
                vec!["e2"],
            ),
            (
                "?who=&action=&from=&to=&page=",
                vec!["e6", "e5", "e4", "e3", "e2", "e1"],
            ),
        ] {
            let j = log(&c, query).await;
            assert_eq!(ids(&j), expected, "[{}] {query}", db.kind);
            assert_eq!(
                j["total"].as_i64(),
                Some(expected.len() as i64),
                "[{}] {query}",
                db.kind
            );
            assert_eq!(j["page"], 1);
        }
        // The sentences of planted rows too, and `now` is the server's.
        let j = log(&c, "?action=sso_disabled").await;
        assert_eq!(
            j["entries"][0]["sentence"],
            "The service operator turned single sign-on off, signing everyone out (2 sessions ended)"
        );
        let now = j["now"].as_i64().unwrap();
        assert!((now - server.now_ms()).abs() < 60_000);

        // Bad values: 400 in the API's form, never quoted whole.
        let huge = "x".repeat(5000);
        for (query, needle) in [
            (format!("?who={}", "w".repeat(201)), "at most 200"),
            (format!("?who={huge}"), "at most 200"),
            ("?who=a%09b".to_string(), "control"),
            ("?action=nope".to_string(), "action must be one of"),
            ("?action=ROLE_CHANGED".to_string(), "action must be one of"),
            (format!("?action={huge}"), "action must be one of"),
            ("?from=2026-02-30".to_string(), "from must be a day"),
            ("?from=yesterday".to_string(), "from must be a day"),
            ("?to=2026-13-01".to_string(), "to must be a day"),
            ("?to=1969-12-31".to_string(), "to must be a day"),
            (format!("?from={huge}"), "from must be a day"),
            (
                "?from=2026-03-02&to=2026-03-01".to_string(),
                "from is after to",
            ),
            ("?page=0".to_string(), "page must be"),
        ] {
            let r = c.get(&format!("/api/v1/audit{query}")).await;
            let message = assert_error(&r, 400, "invalid");
            assert!(message.contains(needle), "[{}] {query}: {message}", db.kind);
            assert!(message.len() < 400, "bounded: {message}");
            assert!(!r.body.contains(&"x".repeat(200)) && !r.body.contains(&"w".repeat(150)));
        }
        // A NUL is refused before the handler (the same on both databases).
        assert_error(&c.get("/api/v1/audit?who=a%00b").await, 400, "invalid");

        // Paging keeps the filters; a page past the end shows the last page.
        plant_many(store, &org, "p", 120, "pager@example.test", |i| {
            d0 + 10 * DAY + i as i64
        })
        .await;
        let p1 = log(&c, "?who=pager&action=role_changed").await;
        let p2 = log(&c, "?who=pager&action=role_changed&page=2").await;
        let p3 = log(&c, "?who=pager&action=role_changed&page=3").await;
        let past = log(&c, "?who=pager&action=role_changed&page=999999").await;
        assert_eq!(p1["total"], 120);
        assert_eq!(
            (entries(&p1).len(), entries(&p2).len(), entries(&p3).len()),
            (50, 50, 20)
        );
        assert_eq!(ids(&p1)[0], "p-000119");
        assert_eq!(ids(&p3)[19], "p-000000");
        assert_eq!(past["page"], 3);
        assert_eq!(ids(&past), ids(&p3));
        let all: BTreeSet<String> = [&p1, &p2, &p3].iter().flat_map(|p| ids(p)).collect();
        assert_eq!(all.len(), 120);
        let none = log(&c, "?who=nobody&page=7").await;
        assert_eq!(
            (none["page"].as_u64(), none["total"].as_i64()),
            (Some(1), Some(0))
        );
        // Other orgs' owners see only theirs.
        let stranger = member(store, &other, "stranger", Role::Member).await;
        let j = log(&server.api_as(&stranger).await, "?who=alice").await;
        assert_eq!(ids(&j), ["o1"]);
    }
}

// ---- the page ----------------------------------------------------------------------------------

/// The page: sentences, "3 minutes ago" with the exact UTC time on hover, details folded
/// away, the filters echoed and kept by paging and the export links, and values from outside
/// rendered as text.
#[tokio::test]
async fn the_page_reads_as_sentences_and_renders_outside_values_as_text() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let org = store.create_org("acme", "Acme Inc").await.unwrap();
        let owner = member(store, &org, "owner", Role::Member).await;
        let plain = member(store, &org, "plain", Role::Member).await;
        let now = server.now_ms();
        let at = now - 3 * 60_000 - 5_000;
        let evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>@evil.test";
        plant(
            store,
            &org,
            "e1",
            at,
            true,
            evil,
            "role_changed",
            "bob@example.test",
            json!({"role": "admin"}),
        )
        .await;
        plant(
            store,
            &org,
            "e2",
            now - 2 * DAY,
            false,
            "operator (CLI)",
            "sso_enabled",
            "",
            json!({"enabled": true}),
        )
        .await;
        let c = server.api_as(&owner).await;

        let r = c.get("/audit").await;
        r.assert_status(200);
        let html = &r.body;
        assert!(!html.contains("<script>alert(1)"), "script injected");
        assert!(!html.contains("<img src=x"), "markup injected");
        assert!(
            html.contains(
                "&lt;img src=x onerror=alert(2)&gt;@evil.test made bob@example.test an admin"
            ),
            "{html}"
        );
        assert!(html.contains("The service operator turned single sign-on on"));
        assert!(html.contains(r#"<tr data-action="role_changed""#));
        assert!(html.contains(&format!(r#"datetime="{}""#, rfc3339(at))));
        assert!(html.contains(&format!(r#"title="{}""#, format_ms_exact(at))));
        assert!(html.contains(">3 minutes ago<"), "relative time");
        assert!(html.contains(">2 days ago<"));
        assert!(html.contains("<details"));
        assert!(html.contains("2 entries"));
        assert!(html.contains(r#"href="/api/v1/audit/export?format=csv""#));

        // Filters are echoed, and the export links carry them.
        let r = c
            .get("/audit?who=evil&action=role_changed&from=2020-01-01")
            .await;
        r.assert_status(200);
        let html = &r.body;
        assert!(html.contains(r#"value="evil""#));
        assert!(html.contains(r#"value="2020-01-01""#));
        assert!(
            html.contains(r#"<option value="role_changed" selected"#),
            "{html}"
        );
        assert!(html.contains(
            "export?format=csv&amp;who=evil&amp;action=role_changed&amp;from=2020-01-01"
        ));
        assert!(html.contains(
            "export?format=json&amp;who=evil&amp;action=role_changed&amp;from=2020-01-01"
        ));
        assert!(html.contains("1 entry"));
        assert!(!html.contains("The service operator turned single sign-on on"));
        assert!(html.contains("Clear filters"));

        // Paging keeps them.
        plant_many(store, &org, "p", 60, "pager@example.test", |i| {
            now - DAY + i as i64
        })
        .await;
        let html = c.get("/audit?who=pager").await.body;
        assert!(html.contains("1–50 of 60 entries"), "{html}");
        assert!(
            html.contains(r#"href="/audit?who=pager&amp;page=2""#),
            "{html}"
        );
        let html = c.get("/audit?who=pager&page=9").await.body;
        assert!(
            html.contains("51–60 of 60 entries"),
            "a page past the end shows the last"
        );
        assert!(html.contains(r#"href="/audit?who=pager&amp;page=1""#));

        // A bad filter: the form stays, with what to fix.
        let r = c.get("/audit?action=nope").await;
        assert!(r.body.contains("action must be one of"), "{}", r.body);
        assert!(r.body.contains(r#"id="audit-filters""#));
        let r = c.get("/audit?who=no+match+at+all").await;
        assert!(r.body.contains("No entries match these filters."));

        // A member sees no log.
        let html = server.api_as(&plain).await.get("/audit").await.body;
        assert!(!html.contains("made bob@example.test an admin"));
    }
}

// ---- the export ----------------------------------------------------------------------------------

/// CSV and JSON exports: the same entries as the log with the same filters, newest first,
/// RFC 4180 with formula cells defused, as attachments; owners and admins only, their own org
/// only; bad values refused in the API's form.
#[tokio::test]
async fn exports_are_csv_or_json_attachments_for_owners_and_admins() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let org = store.create_org("acme", "Acme Inc").await.unwrap();
        let owner = member(store, &org, "owner", Role::Member).await;
        let admin = member(store, &org, "admin", Role::Admin).await;
        let plain = member(store, &org, "plain", Role::Member).await;
        let other = store.create_org("other", "Other Inc").await.unwrap();
        // The other org's owner.
        let stranger = member(store, &other, "stranger", Role::Member).await;
        let d0 = parse_day("2026-03-01").unwrap();
        plant(
            store,
            &org,
            "e1",
            d0,
            true,
            "=HYPERLINK(\"http://evil.test\",\"x\")@evil.test",
            "role_changed",
            "+1@example.test",
            json!({"role": "admin"}),
        )
        .await;
        plant(
            store,
            &org,
            "e2",
            d0 + 1,
            true,
            "-2+3@example.test",
            "member_deactivated",
            "@sum@example.test",
            Value::Null,
        )
        .await;
        plant(
            store,
            &org,
            "e3",
            d0 + 2,
            false,
            "operator (CLI)",
            "org_renamed",
            "",
            json!({"name": "Acme, \"the\"\nbest"}),
        )
        .await;
        plant(
            store,
            &other,
            "o1",
            d0,
            true,
            "x@example.test",
            "role_changed",
            "y@example.test",
            json!({"role": "admin"}),
        )
        .await;
        let c = server.api_as(&owner).await;

        // CSV.
        let r = c.get("/api/v1/audit/export?format=csv").await;
        r.assert_status(200);
        assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
        let day = app::time_text::day_of(server.now_ms());
        assert_eq!(
            r.header("content-disposition"),
            Some(format!("attachment; filename=\"tessera-audit-acme-{day}.csv\"").as_str())
        );
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(
            (
                r.header("tessera-audit-total"),
                r.header("tessera-audit-rows")
            ),
            (Some("3"), Some("3"))
        );
        let rows = parse_csv(&r.body);
        assert_eq!(
            rows[0],
            [
                "time",
                "actor",
                "actor_id",
                "action",
                "sentence",
                "target",
                "target_id",
                "before",
                "after",
                "id"
            ]
        );
        let ids: Vec<&str> = rows[1..].iter().map(|r| r[9].as_str()).collect();
        assert_eq!(ids, ["e3", "e2", "e1"], "newest first, this org only");
        let e1 = &rows[3];
        assert_eq!(e1[0], rfc3339(d0));
        assert_eq!(
            e1[1], "'=HYPERLINK(\"http://evil.test\",\"x\")@evil.test",
            "formula defused"
        );
        assert_eq!(e1[2], "m-e1");
        assert_eq!(e1[3], "role_changed");
        assert_eq!(
            e1[4],
            "'=HYPERLINK(\"http://evil.test\",\"x\")@evil.test made +1@example.test an admin"
        );
        assert_eq!(e1[5], "'+1@example.test");
        assert_eq!(e1[8], r#"{"role":"admin"}"#);
        let e2 = &rows[2];
        assert_eq!(
            (e2[1].as_str(), e2[5].as_str()),
            ("'-2+3@example.test", "'@sum@example.test")
        );
        assert_eq!(e2[4], "'-2+3@example.test deactivated @sum@example.test");
        let e3 = &rows[1];
        assert_eq!(
            e3[4],
            "The service operator renamed the organization “Acme, \"the\"best”"
        );
        assert_eq!(
            e3[8], r#"{"name":"Acme, \"the\"\nbest"}"#,
            "quotes and commas survive"
        );
        // The same sentences as the log.
        let j = log(&c, "").await;
        let sentences: Vec<String> = rows[1..]
            .iter()
            .map(|r| r[4].trim_start_matches('\'').to_string())
            .collect();
        assert_eq!(sentences, field(&j, "sentence"));

        // JSON, with the filters.
        let r = server
            .api_as(&admin)
            .await
            .get("/api/v1/audit/export?format=json&action=role_changed&who=evil&from=2026-03-01&to=2026-03-01")
            .await;
        r.assert_status(200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(
            r.header("content-disposition")
                .unwrap()
                .ends_with(".json\"")
        );
        let j: Value = r.json();
        let list = j.as_array().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["id"], "e1");
        assert_eq!(list[0]["at"], d0);
        assert_eq!(list[0]["time"], rfc3339(d0));
        assert_eq!(
            list[0]["after"],
            json!({"role": "admin"}),
            "before/after as JSON"
        );
        assert_eq!(list[0]["before"], Value::Null);
        assert_eq!(
            list[0]["actor"], "=HYPERLINK(\"http://evil.test\",\"x\")@evil.test",
            "JSON as it is"
        );
        assert_eq!(list[0]["target_id"], "t-e1");
        let none = c.get("/api/v1/audit/export?format=json&who=nobody").await;
        none.assert_status(200);
        assert_eq!(none.json(), json!([]));
        let none = c.get("/api/v1/audit/export?who=nobody").await;
        assert_eq!(
            parse_csv(&none.body).len(),
            1,
            "only the header row; CSV by default"
        );

        // Who may: owners and admins of the org; members 403, nobody 401, other orgs their own.
        let r = server
            .api_as(&plain)
            .await
            .get("/api/v1/audit/export?format=csv")
            .await;
        assert_error(&r, 403, "forbidden");
        let r = ApiClient::anonymous(&server)
            .get("/api/v1/audit/export?format=csv")
            .await;
        assert_error(&r, 401, "unauthenticated");
        let r = server
            .api_as(&stranger)
            .await
            .get("/api/v1/audit/export?format=json")
            .await;
        r.assert_status(200);
        let theirs: Vec<String> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(theirs, ["o1"]);

        // Bad values: 400 in the API's form, bounded.
        let huge = "z".repeat(4000);
        for query in [
            "format=xml".to_string(),
            format!("format={huge}"),
            "format=csv&action=nope".to_string(),
            format!("format=csv&who={huge}"),
            "format=json&from=2026-02-30".to_string(),
            "format=json&from=2026-03-02&to=2026-03-01".to_string(),
        ] {
            let r = c.get(&format!("/api/v1/audit/export?{query}")).await;
            let message = assert_error(&r, 400, "invalid");
            assert!(
                message.len() < 400 && !r.body.contains(&"z".repeat(200)),
                "{query}: {message}"
            );
            assert!(r.header("content-disposition").is_none());
        }
        // A state change it is not: POST is not routed.
        let r = c.post("/api/v1/audit/export?format=csv", json!({})).await;
        assert_eq!(r.status, 405);
    }
}

/// A large log is read in batches (entries sharing a time across a batch boundary included,
/// each once, newest first) and an export holds at most 100,000 entries: the newest.
#[tokio::test]
async fn large_exports_come_whole_in_order_and_stop_at_the_cap() {
    for db in databases().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let org = store.create_org("acme", "Acme Inc").await.unwrap();
        let owner = member(store, &org, "owner", Role::Member).await;
        let c = server.api_as(&owner).await;
        let d0 = parse_day("2026-03-01").unwrap();
        // 1,234 entries on only 5 distinct times: every batch boundary falls inside a tie.
        plant_many(store, &org, "t", 1234, "tie@example.test", |i| {
            d0 + (i % 5) as i64
        })
        .await;
        let r = c.get("/api/v1/audit/export?format=csv").await;
        r.assert_status(200);
        let rows = parse_csv(&r.body);
        assert_eq!(rows.len(), 1 + 1234);
        let keys: Vec<(String, String)> = rows[1..]
            .iter()
            .map(|r| (r[0].clone(), r[9].clone()))
            .collect();
        let distinct: BTreeSet<&String> = keys.iter().map(|(_, id)| id).collect();
        assert_eq!(distinct.len(), 1234, "[{}] each entry once", db.kind);
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(keys, sorted, "newest first, then by id");

        // Past the cap: the newest 100,000.
        let n = 100_003;
        sql_exec(
            store,
            &format!(
                "INSERT INTO audit_log (id, org_id, at, actor_id, actor_email, action, target_id, target_email, before, after)
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
                 SELECT 'bulk-' || i, '{}', {} + i, NULL, 'operator (CLI)', 'sso_enabled', NULL, '', '', '' FROM n",
                org.id,
                d0 + DAY
            ),
            &[],
        )
        .await;
        let r = c
            .get("/api/v1/audit/export?format=json&action=sso_enabled")
            .await;
        r.assert_status(200);
        assert_eq!(r.header("tessera-audit-total"), Some("100003"));
        assert_eq!(r.header("tessera-audit-rows"), Some("100000"));
        let list = r.json();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 100_000);
        assert_eq!(list[0]["id"], format!("bulk-{n}"));
        assert_eq!(list[99_999]["id"], "bulk-4", "the oldest 3 are left out");
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for e in list {
            *by_id.entry(e["id"].as_str().unwrap()).or_default() += 1;
        }
        assert!(by_id.values().all(|n| *n == 1));
        assert_eq!(
            list[0]["sentence"],
            "The service operator turned single sign-on on"
        );
    }
}
