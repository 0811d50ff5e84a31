//! SCIM 2.0 provisioning from Okta (`/scim/v2`), on SQLite and PostgreSQL: tokens, Okta's
//! documented request shapes for users and groups, error bodies, linking with sign-in (the
//! local okta-dev, real sign-ins), deactivation ending live sessions, roles from groups, the
//! only-owner case, the provisioning mode and tenant isolation.

use app::model::{MemberStatus, Role};
use serde_json::{Value, json};
use testkit::scim::org_with_scim;
use testkit::scim::{GROUP, PATCH, USER};
use testkit::{Browser, OktaDev, ScimClient, TestServer, databases, initiate_url, okta_client};

const CLIENT_ID: &str = "tessera-scim";
const SECRET: &str = "scim-secret-0123456789";

fn audit_rows(rows: &[Value], action: &str) -> Vec<Value> {
    rows.iter()
        .filter(|r| r["action"] == action)
        .cloned()
        .collect()
}

async fn audit(server: &TestServer, org: &app::model::Org) -> Vec<Value> {
    testkit::sql_rows(
        &server.store,
        "SELECT action, actor_email, target_email, before, after FROM audit_log WHERE org_id = $1 ORDER BY at, id",
        &[json!(org.id)],
    )
    .await
}

async fn members(server: &TestServer, org: &app::model::Org) -> i64 {
    testkit::count(
        &server.store,
        "SELECT COUNT(*) AS n FROM members WHERE org_id = $1",
        org.id.as_str(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_shown_once_capped_at_two_revocable_and_counted() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let org = server.store.create_org("tok", "Tok Inc").await.unwrap();
        // No Okta connection yet: refused, nothing stored.
        let (ok, _, err) = server.cli_run(&["scim", "token", "create", "tok", "--json"]);
        assert!(
            !ok && err.contains("Connect the organization's Okta first"),
            "[{kind}] {err}"
        );
        server
            .connect(&org, "https://tok.okta.test", CLIENT_ID, SECRET)
            .await;

        let out = server.cli_ok(&[
            "scim",
            "token",
            "create",
            "tok",
            "--name",
            "Okta prod",
            "--json",
        ]);
        let first: Value = serde_json::from_str(out.trim()).unwrap();
        let token = first["token"].as_str().unwrap().to_string();
        assert!(
            token.starts_with("tscim_") && token.len() >= 40,
            "[{kind}] {token}"
        );
        assert_eq!(first["name"], "Okta prod");
        assert_eq!(first["base_url"], format!("{}/scim/v2", server.url));
        // The mode moved from jit to both, so the token works at once.
        assert_eq!(first["provisioning_mode_switched"], true);
        let scim = ScimClient::with_token(&server, &token);
        let r = scim.get("/Users").await;
        r.assert_status(200);
        assert_eq!(r.header("content-type"), Some("application/scim+json"));
        assert_eq!(r.json()["totalResults"], 0);

        // Stored only as its hash.
        let stored = testkit::sql_rows(&server.store, "SELECT * FROM scim_tokens", &[]).await;
        assert!(
            !Value::Array(stored).to_string().contains(&token[6..]),
            "[{kind}]"
        );

        // Two active at most.
        let second: Value = serde_json::from_str(
            server
                .cli_ok(&["scim", "token", "create", "tok", "--json"])
                .trim(),
        )
        .unwrap();
        let (ok, _, err) = server.cli_run(&["scim", "token", "create", "tok"]);
        assert!(!ok && err.contains("revoke one"), "[{kind}] {err}");
        let list: Value = serde_json::from_str(
            server
                .cli_ok(&["scim", "token", "list", "tok", "--json"])
                .trim(),
        )
        .unwrap();
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(list[0]["last_used_at"].is_string() || list[1]["last_used_at"].is_string());

        // Revoked: the next request gets 401 with a SCIM error body; the other still works.
        server.cli_ok(&[
            "scim",
            "token",
            "revoke",
            "tok",
            first["id"].as_str().unwrap(),
        ]);
        let r = scim.get("/Users").await;
        r.assert_status(401);
        let body = r.json();
        assert_eq!(body["status"], "401", "[{kind}] {body}");
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert!(r.header("www-authenticate").is_some());
        ScimClient::with_token(&server, second["token"].as_str().unwrap())
            .get("/Users")
            .await
            .assert_status(200);
        // Revoking again, or nothing: refused.
        let (ok, _, _) = server.cli_run(&[
            "scim",
            "token",
            "revoke",
            "tok",
            first["id"].as_str().unwrap(),
        ]);
        assert!(!ok);
        // A third may be created now.
        server.cli_ok(&["scim", "token", "create", "tok"]);

        // Missing, malformed, unknown: 401, counted.
        for auth in [
            None,
            Some("Bearer"),
            Some("Bearer nope"),
            Some(&*format!("Basic {token}")),
            Some(&*format!("Bearer {}x", &token[..token.len() - 1])),
        ] {
            let mut req = scim.b.client.get(format!("{}/Users", scim.base));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = scim.b.send(req).await;
            assert_eq!(r.status, 401, "[{kind}] {auth:?}");
            assert_eq!(r.json()["status"], "401");
        }
        let metrics = scim.b.get(&format!("{}/metrics", server.url)).await;
        assert!(
            metrics.body.contains("tessera_scim_unauthorized_total"),
            "[{kind}]"
        );

        let rows = audit(&server, &org).await;
        assert_eq!(audit_rows(&rows, "scim_token_created").len(), 3, "[{kind}]");
        assert_eq!(audit_rows(&rows, "scim_token_revoked").len(), 1);
        assert_eq!(audit_rows(&rows, "provisioning_mode_changed").len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_user_lifecycle_in_its_documented_shapes() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (org, scim) = org_with_scim(&server, "life").await;

        // Okta looks first: not there, an empty list with integers.
        let r = scim
            .get("/Users?filter=userName%20eq%20%22Ann%40Example.com%22&startIndex=1&count=100")
            .await;
        r.assert_status(200);
        let l = r.json();
        assert_eq!(
            (
                l["totalResults"].clone(),
                l["itemsPerPage"].clone(),
                l["startIndex"].clone()
            ),
            (json!(0), json!(0), json!(1)),
            "[{kind}] {l}"
        );

        // Create.
        let r = scim.create_user("ann@example.com", Some("00u1ann")).await;
        r.assert_status(201);
        let ann = r.json();
        let id = ann["id"].as_str().unwrap().to_string();
        assert_eq!(ann["userName"], "ann@example.com");
        assert_eq!(ann["active"], true);
        assert_eq!(ann["externalId"], "00u1ann");
        assert_eq!(ann["meta"]["resourceType"], "User");
        assert!(ann["meta"]["created"].as_str().unwrap().ends_with('Z'));
        assert_eq!(
            r.header("location"),
            Some(format!("{}/Users/{id}", scim.base).as_str())
        );
        assert!(ann.get("password").is_none());
        // A member, listed and counted, never signed in, never the owner.
        let m = server
            .store
            .scim_user(&org.id, &app::model::MemberId::from(id.as_str()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.member.role, m.member.last_login_at),
            (Role::Member, None),
            "[{kind}]"
        );
        assert_eq!(members(&server, &org).await, 1);

        // Found by userName in another case, by externalId, by email, by id.
        assert_eq!(
            scim.user_id("ANN@EXAMPLE.COM").await.as_deref(),
            Some(id.as_str()),
            "[{kind}]"
        );
        for f in [
            "externalId eq \"00u1ann\"",
            "emails.value eq \"Ann@example.com\"",
            &format!("id eq \"{id}\""),
        ] {
            let q: String = url::form_urlencoded::byte_serialize(f.as_bytes()).collect();
            let l = scim.get(&format!("/Users?filter={q}")).await.json();
            assert_eq!(l["totalResults"], 1, "[{kind}] {f}");
        }
        scim.get(&format!("/Users/{id}")).await.assert_status(200);

        // Taken userName (any case): 409 uniqueness, nothing created.
        let r = scim.create_user("Ann@example.com", None).await;
        r.assert_status(409);
        assert_eq!(r.json()["scimType"], "uniqueness");
        assert_eq!(members(&server, &org).await, 1);

        // PATCH name and email (Okta's shape), then PUT with active:false (app wizard).
        let r = scim
            .patch_user(&id, json!([{"op": "replace", "value": {"name.givenName": "Annie", "emails": [{"value": "annie@example.com", "primary": true}]}}]))
            .await;
        r.assert_status(200);
        assert_eq!(r.json()["name"]["givenName"], "Annie", "[{kind}]");
        assert_eq!(r.json()["emails"][0]["value"], "annie@example.com");
        let mut full = r.json();
        full["active"] = json!(false);
        let r = scim.send("PUT", &format!("/Users/{id}"), &full).await;
        r.assert_status(200);
        assert_eq!(r.json()["active"], false, "[{kind}]");
        // Still listed, active:false, as Okta's tests expect.
        assert_eq!(
            scim.get(&format!("/Users/{id}")).await.json()["active"],
            false
        );
        // Reactivation by PATCH with a path.
        let r = scim
            .patch_user(
                &id,
                json!([{"op": "replace", "path": "active", "value": true}]),
            )
            .await;
        assert_eq!(r.json()["active"], true, "[{kind}]");

        // DELETE (other IdPs): gone.
        scim.delete(&format!("/Users/{id}"))
            .await
            .assert_status(204);
        scim.get(&format!("/Users/{id}")).await.assert_status(404);
        assert_eq!(members(&server, &org).await, 0);

        let rows = audit(&server, &org).await;
        for action in [
            "member_provisioned",
            "member_profile_changed",
            "member_deactivated",
            "member_reactivated",
            "member_removed",
        ] {
            let found = audit_rows(&rows, action);
            assert!(!found.is_empty(), "[{kind}] no {action}");
            assert!(
                found.iter().all(|r| r["actor_email"] == "Okta (SCIM)"),
                "[{kind}] {found:?}"
            );
        }
        // The provisioning log saw every request, with no token in it.
        let log = testkit::sql_rows(
            &server.store,
            "SELECT method, path, status, summary FROM scim_requests WHERE org_id = $1",
            &[json!(org.id)],
        )
        .await;
        assert!(log.len() >= 10, "[{kind}] {}", log.len());
        assert!(
            !Value::Array(log.clone())
                .to_string()
                .contains(&scim.token[6..])
        );
        assert!(
            log.iter().any(|r| r["summary"]
                .as_str()
                .is_some_and(|s| s.contains("deactivated"))),
            "{log:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_in_a_stable_order_over_250_users() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (_org, scim) = org_with_scim(&server, "many").await;
        for i in 0..260 {
            scim.create_user(&format!("u{i:03}@example.com"), Some(&format!("00u{i}")))
                .await
                .assert_status(201);
        }
        let mut seen = Vec::new();
        for start in [1, 101, 201] {
            let l = scim
                .get(&format!("/Users?startIndex={start}&count=100"))
                .await
                .json();
            assert_eq!(l["totalResults"], 260, "[{kind}]");
            assert_eq!(l["startIndex"], start);
            assert_eq!(l["itemsPerPage"], if start == 201 { 60 } else { 100 });
            for r in l["Resources"].as_array().unwrap() {
                seen.push(r["id"].as_str().unwrap().to_string());
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (260, 260), "[{kind}]");
        // count=0 is the total only; a bad count is a clear error.
        let l = scim.get("/Users?count=0").await.json();
        assert_eq!(
            (l["totalResults"].clone(), l["itemsPerPage"].clone()),
            (json!(260), json!(0))
        );
        let r = scim.get("/Users?count=ten").await;
        r.assert_status(400);
        assert_eq!(r.json()["scimType"], "invalidValue");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_scim_input_gets_a_scim_error_and_changes_nothing() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (org, scim) = org_with_scim(&server, "bad").await;
        let id = scim.create_user("ok@example.com", None).await.json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let before = members(&server, &org).await;
        let q = |f: &str| url::form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>();
        for (method, path, body, status, scim_type) in [
            (
                "GET",
                format!("/Users?filter={}", q("title eq \"x\"")),
                None,
                400,
                Some("invalidFilter"),
            ),
            (
                "GET",
                format!("/Users?filter={}", q("userName sw \"o\"")),
                None,
                400,
                Some("invalidFilter"),
            ),
            (
                "GET",
                format!(
                    "/Users?filter={}",
                    q("userName eq \"a\" or userName eq \"b\"")
                ),
                None,
                400,
                Some("invalidFilter"),
            ),
            (
                "GET",
                format!("/Groups?filter={}", q("members eq \"x\"")),
                None,
                400,
                Some("invalidFilter"),
            ),
            (
                "POST",
                "/Users".into(),
                Some(json!("not an object")),
                400,
                Some("invalidSyntax"),
            ),
            (
                "POST",
                "/Users".into(),
                Some(json!({"schemas": [USER]})),
                400,
                Some("invalidValue"),
            ),
            (
                "POST",
                "/Users".into(),
                Some(json!({"userName": ["x"]})),
                400,
                Some("invalidValue"),
            ),
            (
                "POST",
                "/Users".into(),
                Some(json!({"userName": "x\u{0}y"})),
                400,
                Some("invalidValue"),
            ),
            (
                "POST",
                "/Users".into(),
                Some(json!({"userName": "x".repeat(300)})),
                400,
                Some("invalidValue"),
            ),
            (
                "POST",
                "/Users".into(),
                Some(json!({"userName": "y@x", "active": "perhaps"})),
                400,
                Some("invalidValue"),
            ),
            (
                "PATCH",
                format!("/Users/{id}"),
                Some(json!({"schemas": [PATCH], "Operations": [{"op": "remove"}]})),
                400,
                Some("noTarget"),
            ),
            (
                "PATCH",
                format!("/Users/{id}"),
                Some(
                    json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "id", "value": "x"}]}),
                ),
                400,
                Some("mutability"),
            ),
            (
                "PATCH",
                format!("/Users/{id}"),
                Some(json!({"schemas": [PATCH]})),
                400,
                Some("invalidSyntax"),
            ),
            (
                "PATCH",
                format!("/Users/{id}"),
                Some(
                    json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": "userName"}]}),
                ),
                400,
                Some("invalidValue"),
            ),
            (
                "PUT",
                format!("/Users/{id}"),
                Some(json!({"userName": ""})),
                400,
                Some("invalidValue"),
            ),
            ("GET", "/Users/no-such-user".into(), None, 404, None),
            ("GET", "/Users/%00".into(), None, 404, None),
            (
                "PATCH",
                "/Users/nobody".into(),
                Some(
                    json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]}),
                ),
                404,
                None,
            ),
            (
                "POST",
                "/Groups".into(),
                Some(
                    json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": "nobody"}]}),
                ),
                400,
                Some("invalidValue"),
            ),
            (
                "POST",
                "/Groups".into(),
                Some(json!({"schemas": [GROUP]})),
                400,
                Some("invalidValue"),
            ),
            ("GET", "/Nothing".into(), None, 404, None),
            ("DELETE", "/ServiceProviderConfig".into(), None, 405, None),
        ] {
            let r = match &body {
                Some(b) => scim.send(method, &path, b).await,
                None if method == "DELETE" => scim.delete(&path).await,
                None => scim.get(&path).await,
            };
            assert_eq!(r.status, status, "[{kind}] {method} {path}: {}", r.body);
            let e = r.json();
            assert_eq!(e["status"], status.to_string(), "[{kind}] {method} {path}");
            assert_eq!(
                e["scimType"].as_str(),
                scim_type,
                "[{kind}] {method} {path}: {e}"
            );
        }
        // Too large: 413 with a SCIM body; another media type: 415.
        let big = json!({"userName": "big@x", "title": "x".repeat(1_100_000)});
        let r = scim.send("POST", "/Users", &big).await;
        assert_eq!(r.status, 413, "[{kind}]");
        assert_eq!(r.json()["status"], "413");
        let req = scim
            .b
            .client
            .post(format!("{}/Users", scim.base))
            .header("authorization", format!("Bearer {}", scim.token))
            .header("content-type", "text/plain")
            .body("{\"userName\":\"t@x\"}");
        assert_eq!(scim.b.send(req).await.status, 415, "[{kind}]");
        assert_eq!(members(&server, &org).await, before, "[{kind}]");
        assert_eq!(
            scim.get(&format!("/Users/{id}")).await.json()["active"],
            true
        );
        assert_eq!(
            testkit::count(
                &server.store,
                "SELECT COUNT(*) AS n FROM scim_groups WHERE org_id = $1",
                org.id.as_str()
            )
            .await,
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_one_org_reaches_nothing_of_another() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (_a, scim_a) = org_with_scim(&server, "orga").await;
        let (b, scim_b) = org_with_scim(&server, "orgb").await;
        let bob = scim_b
            .create_user("bob@b.example", Some("00ub"))
            .await
            .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let group_b = scim_b.create_group("B admins", &[&bob]).await.json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            scim_a.get("/Users").await.json()["totalResults"],
            0,
            "[{kind}]"
        );
        assert_eq!(scim_a.get("/Groups").await.json()["totalResults"], 0);
        scim_a
            .get(&format!("/Users/{bob}"))
            .await
            .assert_status(404);
        scim_a.deactivate(&bob).await.assert_status(404);
        scim_a
            .delete(&format!("/Users/{bob}"))
            .await
            .assert_status(404);
        scim_a
            .get(&format!("/Groups/{group_b}"))
            .await
            .assert_status(404);
        scim_a
            .delete(&format!("/Groups/{group_b}"))
            .await
            .assert_status(404);
        let r = scim_a.create_group("steal", &[&bob]).await;
        r.assert_status(400);
        // The same userName in another org is fine (unique per org).
        scim_a
            .create_user("bob@b.example", None)
            .await
            .assert_status(201);
        let bob_b = server
            .store
            .scim_user(&b.id, &app::model::MemberId::from(bob.as_str()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bob_b.member.status, MemberStatus::Active, "[{kind}]");
        assert_eq!(
            scim_b.get(&format!("/Groups/{group_b}")).await.json()["members"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_follow_mapped_groups_and_never_touch_the_owner() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (org, scim) = org_with_scim(&server, "roles").await;
        let owner = testkit::add_member(
            &server.store,
            &org.id,
            "https://roles.okta.test",
            "00uowner",
            Role::Member,
        )
        .await;
        assert_eq!(owner.role, Role::Owner);
        let ids: Vec<String> = futures_ids(&scim, &["a@r.example", "b@r.example"]).await;
        let role = |id: String| {
            let store = server.store.clone();
            let org_id = org.id.clone();
            async move {
                store
                    .member_by_id(&org_id, &app::model::MemberId::from(id.as_str()))
                    .await
                    .unwrap()
                    .unwrap()
                    .role
            }
        };
        // A group pushed before it is mapped: no role changes.
        let g = scim.create_group("Tessera Admins", &[&ids[0]]).await;
        g.assert_status(201);
        let gid = g.json()["id"].as_str().unwrap().to_string();
        assert_eq!(role(ids[0].clone()).await, Role::Member, "[{kind}]");
        // Unknown group: a clear error.
        let (ok, _, err) = server.cli_run(&[
            "role-map", "set", "roles", "--group", "Nope", "--role", "admin",
        ]);
        assert!(!ok && err.contains("push it first"), "[{kind}] {err}");
        // Mapped (any case): its members become admins at once.
        server.cli_ok(&[
            "role-map",
            "set",
            "roles",
            "--group",
            "tessera admins",
            "--role",
            "admin",
        ]);
        assert_eq!(role(ids[0].clone()).await, Role::Admin, "[{kind}]");
        // Okta adds b (no type in the value) and the owner: b admin, the owner stays owner.
        scim.patch_group(&gid, json!([{"op": "add", "path": "members", "value": [{"value": ids[1], "display": "b@r.example"}, {"value": owner.id}]}]))
            .await
            .assert_status(204);
        assert_eq!(role(ids[1].clone()).await, Role::Admin);
        assert_eq!(role(owner.id.to_string()).await, Role::Owner, "[{kind}]");
        // Removed with a filter path: back to the default role.
        scim.patch_group(
            &gid,
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}]),
        )
        .await
        .assert_status(204);
        assert_eq!(role(ids[1].clone()).await, Role::Member, "[{kind}]");
        // Renamed: the mapping follows the group.
        scim.patch_group(
            &gid,
            json!([{"op": "replace", "value": {"id": gid, "displayName": "Admins (renamed)"}}]),
        )
        .await
        .assert_status(204);
        let list: Value = serde_json::from_str(
            server
                .cli_ok(&["role-map", "list", "roles", "--json"])
                .trim(),
        )
        .unwrap();
        assert_eq!(list[0]["group"], "Admins (renamed)", "[{kind}] {list}");
        assert_eq!(list[0]["role"], "admin");
        // Replace the whole list: a leaves, b joins.
        scim.patch_group(
            &gid,
            json!([{"op": "replace", "path": "members", "value": [{"value": ids[1]}]}]),
        )
        .await
        .assert_status(204);
        assert_eq!(
            (role(ids[0].clone()).await, role(ids[1].clone()).await),
            (Role::Member, Role::Admin),
            "[{kind}]"
        );
        let g = scim.get(&format!("/Groups/{gid}")).await.json();
        assert_eq!(g["members"].as_array().unwrap().len(), 1, "[{kind}] {g}");
        assert!(
            scim.get(&format!("/Groups/{gid}?excludedAttributes=members"))
                .await
                .json()
                .get("members")
                .is_none()
        );
        let filtered = scim
            .get("/Groups?filter=displayName%20eq%20%22admins%20(RENAMED)%22")
            .await
            .json();
        assert_eq!(filtered["totalResults"], 1, "[{kind}]");
        // The group deleted: roles recomputed.
        scim.delete(&format!("/Groups/{gid}"))
            .await
            .assert_status(204);
        assert_eq!(role(ids[1].clone()).await, Role::Member, "[{kind}]");
        assert_eq!(role(owner.id.to_string()).await, Role::Owner);
        let rows = audit(&server, &org).await;
        let changed = audit_rows(&rows, "role_changed");
        assert!(changed.len() >= 5, "[{kind}] {changed:?}");
        assert!(
            changed
                .iter()
                .all(|r| r["actor_email"] == "Okta (SCIM)" || r["actor_email"] == "operator (CLI)")
        );
        for action in [
            "group_pushed",
            "group_renamed",
            "group_deleted",
            "role_mapping_set",
        ] {
            assert!(
                !audit_rows(&rows, action).is_empty(),
                "[{kind}] no {action}"
            );
        }
        // Mapping removed: nothing mapped, roles stay Tessera's.
        let (ok, _, _) =
            server.cli_run(&["role-map", "remove", "roles", "--group", "Admins (renamed)"]);
        assert!(!ok, "[{kind}] the group is gone");
    }
}

async fn futures_ids(scim: &ScimClient, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for n in names {
        let r = scim.create_user(n, None).await;
        r.assert_status(201);
        ids.push(r.json()["id"].as_str().unwrap().to_string());
    }
    ids
}

/// The org `acme` connected to a fresh okta-dev, with SCIM on.
struct Env {
    server: TestServer,
    okta: OktaDev,
    scim: ScimClient,
}

impl Env {
    async fn start(db: &testkit::TestDb) -> Env {
        let server = TestServer::start(db).await;
        let okta = OktaDev::start(json!([okta_client(
            &server.url,
            CLIENT_ID,
            SECRET,
            "Tessera (SCIM)"
        )]))
        .await;
        server.register_org("acme", &okta.issuer, CLIENT_ID, SECRET);
        let scim = ScimClient::for_org(&server, "acme");
        Env { server, okta, scim }
    }

    async fn sign_in(&self, user: &str) -> (Browser, testkit::SignIn) {
        let start = initiate_url(&self.server.url, &self.okta.issuer);
        let b = Browser::new();
        let s = b.sign_in(&self.server.url, &start, user, "password").await;
        (b, s)
    }

    async fn org(&self) -> app::model::Org {
        testkit::org(&self.server.store, "acme").await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_people_sign_in_as_the_same_member_and_the_first_becomes_owner() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let org = env.org().await;
        // Okta provisions bob (with externalId = his sub) and carol (without) before anyone
        // signed in: members, no owner yet.
        let bob = env
            .scim
            .create_user("bob@example.com", Some("00u2bob"))
            .await
            .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let carol = env.scim.create_user("carol@example.com", None).await.json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            env.server.store.owner_of(&org.id).await.unwrap().is_none(),
            "[{kind}]"
        );
        // bob signs in first: the same member (linked by externalId = sub), and the owner.
        let (b, s) = env.sign_in("bob").await;
        assert!(s.landed(), "[{kind}] {}", s.response.body);
        let me = b.get(&format!("{}/api/v1/me", env.server.url)).await.json();
        assert_eq!(me["member"]["id"], bob, "[{kind}] {me}");
        assert_eq!(me["member"]["role"], "owner");
        // carol: linked by userName = preferred_username.
        let (b, s) = env.sign_in("carol").await;
        assert!(s.landed(), "[{kind}]");
        let me = b.get(&format!("{}/api/v1/me", env.server.url)).await.json();
        assert_eq!(me["member"]["id"], carol, "[{kind}]");
        assert_eq!(me["member"]["role"], "member");
        assert_eq!(
            members(&env.server, &org).await,
            2,
            "[{kind}] no duplicates"
        );
        // alice signed in first (JIT), then Okta finds and adopts her by userName.
        let (_, s) = env.sign_in("alice").await;
        assert!(s.landed());
        let alice = env
            .scim
            .user_id("alice@example.com")
            .await
            .expect("found by userName");
        let r = env.scim.send("PUT", &format!("/Users/{alice}"), &json!({"schemas": [USER], "userName": "alice@example.com", "externalId": "00u1alice", "name": {"givenName": "Alice", "familyName": "Anderson"}, "emails": [{"value": "alice@example.com", "primary": true}], "active": true})).await;
        r.assert_status(200);
        assert_eq!(r.json()["externalId"], "00u1alice", "[{kind}]");
        assert_eq!(members(&env.server, &org).await, 3, "[{kind}]");
        // A POST for someone who signed in before (externalId = sub) adopts, never duplicates.
        let (_, s) = env.sign_in("user7").await;
        assert!(s.landed());
        let jit = env
            .server
            .store
            .members_by_email(&org.id, "user7@example.com")
            .await
            .unwrap()
            .remove(0);
        let r = env
            .scim
            .create_user("user7@example.com", Some("00u-user7"))
            .await;
        r.assert_status(201);
        assert_eq!(
            r.json()["id"],
            jit.id.as_str(),
            "[{kind}] adopted, not duplicated"
        );
        assert_eq!(members(&env.server, &org).await, 4);
        // A POST naming a userName someone else has, with another externalId: 409.
        let r = env
            .scim
            .create_user("user7@example.com", Some("00uSomeoneElse"))
            .await;
        r.assert_status(409);
        assert_eq!(r.json()["scimType"], "uniqueness");
        let rows = audit(&env.server, &org).await;
        assert_eq!(audit_rows(&rows, "member_linked").len(), 2, "[{kind}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_in_okta_ends_live_sessions_at_once_and_reactivation_restores() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        let (owner_browser, s) = env.sign_in("alice").await;
        assert!(s.landed());
        let (bob_browser, s) = env.sign_in("bob").await;
        assert!(s.landed(), "[{kind}]");
        let me_url = format!("{}/api/v1/me", env.server.url);
        let bob_before = bob_browser.get(&me_url).await.json()["member"].clone();
        let bob = env
            .scim
            .user_id("bob@example.com")
            .await
            .expect("JIT bob found");
        assert_eq!(bob_before["id"], bob);
        // Okta's deactivation (no path): bob's old cookie is refused the moment it returns.
        let r = env.scim.deactivate(&bob).await;
        r.assert_status(200);
        assert_eq!(r.json()["active"], false, "[{kind}]");
        bob_browser.get(&me_url).await.assert_status(401);
        let (_, s) = env.sign_in("bob").await;
        assert_eq!(s.response.status, 403, "[{kind}]");
        assert!(
            s.response.body.contains("deactivated in Okta"),
            "[{kind}] {}",
            s.response.body
        );
        // Still listed, active:false.
        assert_eq!(
            env.scim.get(&format!("/Users/{bob}")).await.json()["active"],
            false
        );
        // Reactivated: same id, same role.
        env.scim
            .patch_user(&bob, json!([{"op": "replace", "value": {"active": true}}]))
            .await
            .assert_status(200);
        let (b, s) = env.sign_in("bob").await;
        assert!(s.landed(), "[{kind}]");
        let after = b.get(&me_url).await.json()["member"].clone();
        assert_eq!(
            (after["id"].clone(), after["role"].clone()),
            (bob_before["id"].clone(), bob_before["role"].clone())
        );

        // Only the owner leaves: the deactivation takes effect; an admin may claim the org.
        let alice = env.scim.user_id("alice@example.com").await.unwrap();
        env.scim.deactivate(&alice).await.assert_status(200);
        owner_browser.get(&me_url).await.assert_status(401);
        let org = env.org().await;
        let bob_member = env
            .server
            .store
            .member_by_id(&org.id, &app::model::MemberId::from(bob.as_str()))
            .await
            .unwrap()
            .unwrap();
        env.server
            .cli_ok(&["member", "set-role", "acme", "bob@example.com", "admin"]);
        let api = env
            .server
            .api_as(&app::model::Member {
                role: Role::Admin,
                ..bob_member
            })
            .await;
        let r = api
            .post("/api/v1/org/transfer-ownership", json!({"member_id": bob}))
            .await;
        r.assert_status(200);
        let owner = env.server.store.owner_of(&org.id).await.unwrap().unwrap();
        assert_eq!(owner.id.as_str(), bob, "[{kind}]");
        let alice_now = env
            .server
            .store
            .member_by_id(&org.id, &app::model::MemberId::from(alice.as_str()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (alice_now.role, alice_now.status),
            (Role::Admin, MemberStatus::Deactivated),
            "[{kind}]"
        );
        // SCIM never makes or unmakes the owner: a DELETE of the owner deactivates instead.
        env.scim
            .delete(&format!("/Users/{bob}"))
            .await
            .assert_status(204);
        let owner = env.server.store.owner_of(&org.id).await.unwrap().unwrap();
        assert_eq!(
            (owner.id.as_str(), owner.status),
            (bob.as_str(), MemberStatus::Deactivated),
            "[{kind}]"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provisioning_mode_decides_who_comes_in() {
    for db in databases().await {
        let kind = db.kind;
        let env = Env::start(&db).await;
        // scim: only people Okta provisioned.
        env.server
            .cli_ok(&["sso", "policy", "acme", "--provisioning", "scim"]);
        env.scim
            .create_user("carol@example.com", Some("00u3carol"))
            .await
            .assert_status(201);
        let (_, s) = env.sign_in("user8").await;
        assert_eq!(s.response.status, 403, "[{kind}]");
        assert!(
            s.response.body.contains("assign"),
            "[{kind}] {}",
            s.response.body
        );
        assert!(env.sign_in("carol").await.1.landed(), "[{kind}]");
        // jit: SCIM is refused (403, a SCIM error), sign-in admits as before.
        env.server
            .cli_ok(&["sso", "policy", "acme", "--provisioning", "jit"]);
        let r = env.scim.get("/Users").await;
        r.assert_status(403);
        assert_eq!(r.json()["status"], "403");
        assert!(env.sign_in("user8").await.1.landed(), "[{kind}]");
        // A bad mode: refused, nothing changed.
        let (ok, _, _) =
            env.server
                .cli_run(&["sso", "policy", "acme", "--provisioning", "sometimes"]);
        assert!(!ok);
        let org = env.org().await;
        let sso = env
            .server
            .store
            .sso_connection(&org.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            sso.provisioning,
            app::model::ProvisioningMode::Jit,
            "[{kind}]"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_says_what_is_supported() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (_org, scim) = org_with_scim(&server, "disc").await;
        let spc = scim.get("/ServiceProviderConfig").await.json();
        assert_eq!(spc["patch"]["supported"], true, "[{kind}]");
        assert_eq!(spc["filter"]["supported"], true);
        assert_eq!(spc["bulk"]["supported"], false);
        assert_eq!(spc["sort"]["supported"], false);
        assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
        let types = scim.get("/ResourceTypes").await.json();
        assert_eq!(types["totalResults"], 2);
        scim.get("/ResourceTypes/User").await.assert_status(200);
        let schemas = scim.get("/Schemas").await.json();
        assert_eq!(schemas["Resources"][0]["id"], USER);
        scim.get(&format!("/Schemas/{USER}"))
            .await
            .assert_status(200);
        scim.get("/Schemas/urn:nope").await.assert_status(404);
    }
}
