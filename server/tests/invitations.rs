//! Invitations: an owner or admin pre-approves a person by email with a role; that person's
//! first sign-in through the org's own Okta (the local okta-dev, real sign-ins) creates them
//! with that role, even while just-in-time provisioning is off. On SQLite and PostgreSQL.

use app::model::Role;
use serde_json::{Value, json};
use testkit::{Browser, OktaDev, TestServer, databases, initiate_url, okta_client};

const CLIENT_ID: &str = "tessera-invite";
const SECRET: &str = "invite-secret-0123456789";

struct Env {
    server: TestServer,
    okta: OktaDev,
}

impl Env {
    /// Org `acme` on a fresh okta-dev, alice its owner (first sign-in), JIT then turned off.
    async fn start(db: &testkit::TestDb) -> Env {
        let server = TestServer::start(db).await;
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            CLIENT_ID,
            SECRET,
            "Tessera (Invitations)"
        )]))
        .await;
        server.register_org("acme", &okta.issuer, CLIENT_ID, SECRET);
        let env = Env { server, okta };
        assert!(env.sign_in("alice").await.landed());
        testkit::run_ok(
            env.server
                .cli()
                .args(["sso", "policy", "acme", "--jit", "off"]),
        );
        env
    }

    async fn sign_in(&self, user: &str) -> testkit::SignIn {
        let start = initiate_url(&self.server.url, &self.okta.issuer);
        Browser::new()
            .sign_in(&self.server.url, &start, user, "password")
            .await
    }

    async fn owner(&self) -> testkit::ApiClient {
        let org = testkit::org(&self.server.store, "acme").await;
        let alice = self
            .server
            .store
            .members_by_email(&org.id, "alice@example.com")
            .await
            .unwrap()
            .remove(0);
        self.server.api_as(&alice).await
    }

    async fn role_of(&self, email: &str) -> Option<Role> {
        let org = testkit::org(&self.server.store, "acme").await;
        self.server
            .store
            .members_by_email(&org.id, email)
            .await
            .unwrap()
            .first()
            .map(|m| m.role)
    }
}

fn audit_actions(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r["action"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_person_joins_with_the_role_while_jit_is_off() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let owner = env.owner().await;

        // Not invited: refused, told what they can actually do.
        let refused = env.sign_in("bob").await;
        assert_eq!(refused.response.status, 403, "[{kind}]");
        assert!(
            refused.response.body.contains("invite you"),
            "[{kind}] {}",
            refused.response.body
        );
        assert_eq!(env.role_of("bob@example.com").await, None);

        // Invited as admin (any case, blanks around): bob gets in, as admin.
        let r = owner
            .post(
                "/api/v1/invitations",
                json!({"email": "  Bob@Example.com ", "role": "admin"}),
            )
            .await;
        r.assert_status(200);
        let inv = r.json();
        assert_eq!(inv["email"], "Bob@Example.com", "[{kind}]");
        assert_eq!(inv["role"], "admin");
        let open = owner.get("/api/v1/invitations/open").await.json();
        assert_eq!(open["invitations"].as_array().map(Vec::len), Some(1));
        assert!(env.sign_in("bob").await.landed(), "[{kind}]");
        assert_eq!(env.role_of("bob@example.com").await, Some(Role::Admin));
        // Consumed: no longer open, and audited with who invited.
        let open = owner.get("/api/v1/invitations/open").await.json();
        assert_eq!(open["invitations"], json!([]), "[{kind}]");
        let org = testkit::org(&env.server.store, "acme").await;
        let rows = testkit::sql_rows(
            &env.server.store,
            "SELECT action, actor_email, after FROM audit_log WHERE org_id = $1 ORDER BY at, id",
            &[json!(org.id)],
        )
        .await;
        let actions = audit_actions(&rows);
        assert!(
            actions.contains(&"invitation_created".to_string()),
            "{actions:?}"
        );
        let joined = rows
            .iter()
            .rfind(|r| r["action"] == "member_provisioned")
            .expect("provisioned");
        let after: Value = serde_json::from_str(joined["after"].as_str().unwrap()).unwrap();
        assert_eq!(after["role"], "admin", "[{kind}]");
        assert_eq!(after["invited_by"], "alice@example.com");

        // A revoked invitation admits nobody.
        let r = owner
            .post(
                "/api/v1/invitations",
                json!({"email": "carol@example.com", "role": "member"}),
            )
            .await;
        let id = r.json()["id"].clone();
        owner
            .post("/api/v1/invitations/revoke", json!({"id": id}))
            .await
            .assert_status(200);
        assert_eq!(env.sign_in("carol").await.response.status, 403, "[{kind}]");
        assert_eq!(env.role_of("carol@example.com").await, None);
        // Revoking it again, or an id of nothing: 404, nothing written.
        for id in [id.clone(), json!("nope"), json!("x".repeat(5000))] {
            let r = owner
                .post("/api/v1/invitations/revoke", json!({"id": id}))
                .await;
            assert_eq!(r.status, 404, "[{kind}] {}", r.body);
        }

        // An email Okta does not say is verified picks no invitation.
        env.okta
            .add_user(json!({
                "username": "dave",
                "email": "dave@example.com",
                "name": "Dave Doe",
                "claims": {"email_verified": false}
            }))
            .await;
        owner
            .post(
                "/api/v1/invitations",
                json!({"email": "dave@example.com", "role": "member"}),
            )
            .await
            .assert_status(200);
        assert_eq!(env.sign_in("dave").await.response.status, 403, "[{kind}]");
        assert_eq!(env.role_of("dave@example.com").await, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_are_checked_and_only_owners_and_admins_invite() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let fx = testkit::owner_signed_in(&server, "inv").await;
        let member = fx.add(&server, "mia", Role::Member).await;
        let admin = fx.add(&server, "adam", Role::Admin).await;
        let owner = server.api_as(&fx.owner).await;
        let count = || async {
            testkit::count(
                &server.store,
                "SELECT COUNT(*) AS n FROM invitations WHERE org_id = $1",
                fx.org.id.as_str(),
            )
            .await
        };
        // Bad input: a clear 400, nothing written, nothing echoed whole.
        let huge = format!("{}@example.com", "x".repeat(10_000));
        for (email, role) in [
            (json!("not-an-email"), json!("member")),
            (json!("a b@example.com"), json!("member")),
            (json!(huge), json!("member")),
            (json!("pat@example.com"), json!("owner")),
            (json!("pat@example.com"), json!("superuser")),
            (json!(42), json!("member")),
        ] {
            let r = owner
                .post("/api/v1/invitations", json!({"email": email, "role": role}))
                .await;
            assert_eq!(r.status, 400, "[{kind}] {email} {role}: {}", r.body);
            assert!(r.body.len() < 700, "[{kind}] {}", r.body.len());
        }
        assert_eq!(count().await, 0, "[{kind}]");
        // Already a member: 409.
        let r = owner
            .post(
                "/api/v1/invitations",
                json!({"email": "MIA@example.test", "role": "admin"}),
            )
            .await;
        assert_eq!(r.status, 409, "[{kind}] {}", r.body);
        // Members may not invite; admins may.
        let r = server
            .api_as(&member)
            .await
            .post(
                "/api/v1/invitations",
                json!({"email": "pat@example.com", "role": "member"}),
            )
            .await;
        assert_eq!(r.status, 403, "[{kind}]");
        let r = server
            .api_as(&admin)
            .await
            .post(
                "/api/v1/invitations",
                json!({"email": "pat@example.com", "role": "member"}),
            )
            .await;
        r.assert_status(200);
        // Inviting the same address again replaces the open invitation.
        owner
            .post(
                "/api/v1/invitations",
                json!({"email": "PAT@example.com", "role": "admin"}),
            )
            .await
            .assert_status(200);
        let open = owner.get("/api/v1/invitations/open").await.json();
        assert_eq!(
            open["invitations"].as_array().map(Vec::len),
            Some(1),
            "[{kind}]"
        );
        assert_eq!(open["invitations"][0]["role"], "admin");
        // Another org never sees or revokes them.
        let other = testkit::owner_signed_in(&server, "other").await;
        let outsider = server.api_as(&other.owner).await;
        assert_eq!(
            outsider.get("/api/v1/invitations/open").await.json()["invitations"],
            json!([])
        );
        let id = open["invitations"][0]["id"].clone();
        let r = outsider
            .post("/api/v1/invitations/revoke", json!({"id": id}))
            .await;
        assert_eq!(r.status, 404, "[{kind}]");
        // Anonymous: 401.
        let r = testkit::ApiClient::anonymous(&server)
            .post(
                "/api/v1/invitations",
                json!({"email": "x@example.com", "role": "member"}),
            )
            .await;
        assert_eq!(r.status, 401, "[{kind}]");
    }
}
