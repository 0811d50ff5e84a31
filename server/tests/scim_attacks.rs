//! SCIM 2.0 provisioning attacked from outside (`/scim/v2`), on SQLite and PostgreSQL: PATCH
//! paths in every spelling, requests naming very many members, paging and filter extremes.
//! Every answer is a SCIM answer within a second, never a 5xx, and bad input changes nothing.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use testkit::scim::org_with_scim;
use testkit::scim::{GROUP, PATCH, USER};
use testkit::{ScimClient, TestServer, databases};

fn id_of(r: &testkit::Resp) -> String {
    r.json()["id"].as_str().expect("id").to_string()
}

/// A SCIM error of `status` and `scim_type`.
fn assert_scim_error(r: &testkit::Resp, status: u16, scim_type: Option<&str>, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    let e = r.json();
    assert_eq!(e["status"], status.to_string(), "{what}: {e}");
    assert_eq!(e["scimType"].as_str(), scim_type, "{what}: {e}");
    assert_eq!(
        e["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_path_naming_the_core_schema_applies_its_value() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (_org, scim) = org_with_scim(&server, "urnpath").await;
        let id = id_of(&scim.create_user("ann@example.com", Some("00uann")).await);
        // The whole resource named by its schema's URN: the value's attributes apply, so a
        // deactivation sent this way is never silently dropped.
        for urn in [
            USER.to_string(),
            USER.to_ascii_lowercase(),
            format!(" {USER} "),
        ] {
            let r = scim
                .patch_user(
                    &id,
                    json!([{"op": "replace", "path": urn, "value": {"active": false}}]),
                )
                .await;
            r.assert_status(200);
            assert_eq!(r.json()["active"], false, "[{kind}] {urn}");
            assert_eq!(
                scim.get(&format!("/Users/{id}")).await.json()["active"],
                false,
                "[{kind}] {urn}"
            );
            scim.patch_user(
                &id,
                json!([{"op": "replace", "path": "active", "value": true}]),
            )
            .await
            .assert_status(200);
        }
        let g = id_of(&scim.create_group("Engineers", &[]).await);
        scim.patch_group(
            &g,
            json!([{"op": "replace", "path": GROUP, "value": {"displayName": "Engineering"}}]),
        )
        .await
        .assert_status(204);
        assert_eq!(
            scim.get(&format!("/Groups/{g}")).await.json()["displayName"],
            "Engineering",
            "[{kind}]"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_null_is_refused_and_never_reactivates() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (_org, scim) = org_with_scim(&server, "nullact").await;
        let id = id_of(&scim.create_user("bob@example.com", Some("00ubob")).await);
        scim.deactivate(&id).await.assert_status(200);
        for ops in [
            json!([{"op": "replace", "path": "active", "value": null}]),
            json!([{"op": "add", "path": "active", "value": null}]),
            json!([{"op": "replace", "value": {"active": null}}]),
            json!([{"op": "replace", "path": "active"}]),
        ] {
            let r = scim.patch_user(&id, ops.clone()).await;
            assert_scim_error(&r, 400, Some("mutability"), &format!("[{kind}] {ops}"));
            assert_eq!(
                scim.get(&format!("/Users/{id}")).await.json()["active"],
                false,
                "[{kind}] {ops}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_patch_paths_are_invalid_path_and_change_nothing() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (_org, scim) = org_with_scim(&server, "badpath").await;
        let id = id_of(&scim.create_user("cy@example.com", Some("00ucy")).await);
        let g = id_of(&scim.create_group("Staff", &[&id]).await);
        let user_before = scim.get(&format!("/Users/{id}")).await.json();
        let group_before = scim.get(&format!("/Groups/{g}")).await.json();
        for path in [
            "[]",
            "]userName[",
            "userName]",
            "userName[",
            "emails[type eq \"work\"",
            "emails[type eq \"work\"]x",
            "emails[type eq \"work\"]].value",
            "name..givenName",
            ".userName",
            "userName.",
            "user name",
            "9userName",
            "userName\u{0}",
            "urn:ietf:params:scim:schemas:core:2.0:User:",
            "emails[]",
        ] {
            let r = scim
                .patch_user(
                    &id,
                    json!([{"op": "replace", "path": path, "value": "x@y"}]),
                )
                .await;
            assert_scim_error(&r, 400, Some("invalidPath"), &format!("[{kind}] {path:?}"));
        }
        for path in [
            "members[value eq \"x\"] extra",
            "members[value eq \"x\"",
            "members]",
            "[members]",
            "displayName[",
        ] {
            let r = scim
                .patch_group(&g, json!([{"op": "remove", "path": path}]))
                .await;
            assert_scim_error(&r, 400, Some("invalidPath"), &format!("[{kind}] {path:?}"));
        }
        // Well-formed paths of attributes Tessera does not keep are still accepted.
        scim.patch_user(
            &id,
            json!([{"op": "replace", "path": "title", "value": "Boss"},
                   {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"}]),
        )
        .await
        .assert_status(200);
        let user_after = scim.get(&format!("/Users/{id}")).await.json();
        for key in ["userName", "emails", "active", "name", "externalId"] {
            assert_eq!(user_after[key], user_before[key], "[{kind}] {key}");
        }
        assert_eq!(
            scim.get(&format!("/Groups/{g}")).await.json(),
            group_before,
            "[{kind}]"
        );
    }
}

/// A bound that work per named member (a query or a round trip each: minutes for 10,000)
/// would break on any machine, and set-wise work keeps even on a loaded one. Not a speed
/// target: speed is measured by `make bench-scim`.
const NO_PER_MEMBER_WORK: Duration = Duration::from_secs(5);

/// `method path` with `body` serialized before the clock starts: the answer and how long the
/// server took.
async fn timed(
    scim: &ScimClient,
    method: &str,
    path: &str,
    body: &Value,
) -> (testkit::Resp, Duration) {
    let req = scim
        .b
        .client
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", scim.base),
        )
        .header("authorization", format!("Bearer {}", scim.token))
        .header("content-type", "application/scim+json")
        .body(body.to_string());
    let started = Instant::now();
    let r = scim.b.send(req).await;
    (r, started.elapsed())
}

/// `n` member ids of the org's shape nobody has.
fn unknown_ids(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({"value": format!("a{i}")})).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_naming_very_many_members_do_set_wise_work() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (org, scim) = org_with_scim(&server, "many").await;
        let g = id_of(&scim.create_group("Everyone", &[]).await);
        // More than 10,000 members in one request, spread over operations: refused, at once.
        let ops: Vec<Value> = (0..6)
            .map(|k| {
                json!({"op": "add", "path": "members",
                       "value": (0..8000).map(|i| json!({"value": format!("a{}", k * 8000 + i)})).collect::<Vec<_>>()})
            })
            .collect();
        let body = json!({"schemas": [PATCH], "Operations": ops});
        let (r, took) = timed(&scim, "PATCH", &format!("/Groups/{g}"), &body).await;
        assert!(took < NO_PER_MEMBER_WORK, "[{kind}] {took:?}");
        assert_scim_error(&r, 413, Some("tooMany"), &format!("[{kind}] 48,000"));
        // 10,000 unknown members, in one operation or many: refused without a query each.
        for body in [
            json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": unknown_ids(10_000)}]}),
            json!({"schemas": [PATCH], "Operations": (0..1000).map(|k| json!({"op": "add", "path": "members", "value": (0..10).map(|i| json!({"value": format!("b{}", k * 10 + i)})).collect::<Vec<_>>()})).collect::<Vec<_>>()}),
        ] {
            let (r, took) = timed(&scim, "PATCH", &format!("/Groups/{g}"), &body).await;
            assert!(took < NO_PER_MEMBER_WORK, "[{kind}] {took:?}");
            assert_scim_error(&r, 400, Some("invalidValue"), &format!("[{kind}]"));
        }
        let body =
            json!({"schemas": [GROUP], "displayName": "Big", "members": unknown_ids(10_000)});
        let (r, took) = timed(&scim, "POST", "/Groups", &body).await;
        assert!(took < NO_PER_MEMBER_WORK, "[{kind}] {took:?}");
        assert_scim_error(&r, 400, Some("invalidValue"), &format!("[{kind}]"));
        // 2,000 real members pushed into a mapped group at once, then out again.
        testkit::sql_exec(
            &server.store,
            "INSERT INTO members (id, org_id, issuer, subject, email, name, role, status, created_at, user_name, user_name_key, scim_managed)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             SELECT 'm' || CAST(i AS TEXT), $1, '', 'm' || CAST(i AS TEXT), 'm' || CAST(i AS TEXT) || '@example.com', 'M', 'member', 'active', i, 'm' || CAST(i AS TEXT), 'm' || CAST(i AS TEXT), 1 FROM n",
            &[json!(org.id)],
        )
        .await;
        server.cli_ok(&[
            "role-map", "set", "many", "--group", "Everyone", "--role", "admin",
        ]);
        let all: Vec<Value> = (1..=2000)
            .map(|i| json!({"value": format!("m{i}")}))
            .collect();
        for op in ["add", "remove"] {
            let body = json!({"schemas": [PATCH], "Operations": [{"op": op, "path": "members", "value": all}]});
            let (r, took) = timed(&scim, "PATCH", &format!("/Groups/{g}"), &body).await;
            r.assert_status(204);
            assert!(took < NO_PER_MEMBER_WORK, "[{kind}] {op}: {took:?}");
        }
        let admins = testkit::count(
            &server.store,
            "SELECT COUNT(*) AS n FROM members WHERE org_id = $1 AND role = 'admin'",
            org.id.as_str(),
        )
        .await;
        assert_eq!(admins, 0, "[{kind}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_past_every_integer_and_odd_filter_values_answer_lists() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (_org, scim) = org_with_scim(&server, "paging").await;
        scim.create_user("dee@example.com", Some("00udee"))
            .await
            .assert_status(201);
        scim.create_group("Dees", &[]).await.assert_status(201);
        for resource in ["Users", "Groups"] {
            for (query, items) in [
                ("startIndex=9223372036854775807&count=10", 0),
                ("startIndex=9223372036854775808&count=10", 0),
                ("startIndex=99999999999999999999999999&count=1", 0),
                ("startIndex=-99999999999999999999999999&count=1", 1),
                ("startIndex=1&count=9223372036854775808", 1),
                ("startIndex=1&count=-99999999999999999999", 0),
                ("startIndex=0&count=0", 0),
            ] {
                let r = scim.get(&format!("/{resource}?{query}")).await;
                assert_eq!(r.status, 200, "[{kind}] {resource}?{query}: {}", r.body);
                let l = r.json();
                assert_eq!(
                    l["Resources"].as_array().unwrap().len(),
                    items,
                    "[{kind}] {resource}?{query}"
                );
                assert_eq!(l["totalResults"], 1, "[{kind}] {resource}?{query}");
                assert!(l["startIndex"].as_i64().is_some_and(|s| s >= 1), "{l}");
            }
            for query in [
                "startIndex=1.5",
                "count=ten",
                "count=0x10",
                "startIndex=--1",
            ] {
                let r = scim.get(&format!("/{resource}?{query}")).await;
                assert_scim_error(&r, 400, Some("invalidValue"), &format!("[{kind}] {query}"));
            }
        }
        // A NUL or another control character in a compared value matches nobody, on both
        // databases (PostgreSQL text cannot hold NUL).
        let q = |f: &str| url::form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>();
        for (resource, attribute) in [
            ("Users", "userName"),
            ("Users", "externalId"),
            ("Users", "emails.value"),
            ("Users", "id"),
            ("Groups", "displayName"),
            ("Groups", "externalId"),
            ("Groups", "id"),
        ] {
            for value in ["dee\\u0000@example.com", "\\u0000", "a\\u0001b"] {
                let f = format!("{attribute} eq \"{value}\"");
                let r = scim.get(&format!("/{resource}?filter={}", q(&f))).await;
                assert_eq!(r.status, 200, "[{kind}] {resource} {f}: {}", r.body);
                assert_eq!(r.json()["totalResults"], 0, "[{kind}] {resource} {f}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_requests_settle_without_errors_or_duplicates() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        let (org, scim) = org_with_scim(&server, "races").await;
        // The same userName posted eight times at once: one member, the rest 409 uniqueness.
        let posts = (0..8).map(|_| scim.create_user("eve@example.com", None));
        let answers = futures_util::future::join_all(posts).await;
        let created = answers.iter().filter(|r| r.status == 201).count();
        assert_eq!(created, 1, "[{kind}]");
        for r in answers.iter().filter(|r| r.status != 201) {
            assert_scim_error(r, 409, Some("uniqueness"), &format!("[{kind}]"));
        }
        assert_eq!(
            testkit::count(
                &server.store,
                "SELECT COUNT(*) AS n FROM members WHERE org_id = $1 AND user_name_key = 'eve@example.com'",
                org.id.as_str()
            )
            .await,
            1,
            "[{kind}]"
        );
        // Creates of one userName lock only that name: a rename to it racing creates of it
        // (other cases) still leaves exactly one holder, the others refused as uniqueness.
        let gil = id_of(&scim.create_user("gil@example.com", None).await);
        let rename = scim.patch_user(
            &gil,
            json!([{"op": "replace", "path": "userName", "value": "Fay@Example.com"}]),
        );
        let creates = ["fay@example.com", "FAY@example.com", "fay@EXAMPLE.COM"]
            .map(|u| scim.create_user(u, None));
        let (renamed, created) = tokio::join!(rename, futures_util::future::join_all(creates));
        let all: Vec<_> = created.iter().chain(std::iter::once(&renamed)).collect();
        let won = all
            .iter()
            .filter(|r| r.status == 200 || r.status == 201)
            .count();
        assert_eq!(
            won,
            1,
            "[{kind}] {:?}",
            all.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        for r in all.iter().filter(|r| r.status != 200 && r.status != 201) {
            assert_scim_error(r, 409, Some("uniqueness"), &format!("[{kind}]"));
        }
        let holders = "SELECT COUNT(*) AS n FROM members WHERE org_id = $1 AND user_name_key = 'fay@example.com'";
        assert_eq!(
            testkit::count(&server.store, holders, org.id.as_str()).await,
            1,
            "[{kind}]"
        );
        // Many people at once (distinct userNames): all created, and the org's counts exact.
        let names: Vec<String> = (0..12).map(|i| format!("crowd{i}@example.com")).collect();
        let many = names.iter().map(|u| scim.create_user(u, None));
        for r in futures_util::future::join_all(many).await {
            assert_eq!(r.status, 201, "[{kind}] {}", r.body);
        }
        let counted = testkit::count(
            &server.store,
            "SELECT COUNT(*) AS n FROM members WHERE org_id = $1 AND status = 'active'",
            org.id.as_str(),
        )
        .await;
        let stats = server.store.member_counts(&org.id).await.unwrap();
        assert_eq!(stats.active, counted, "[{kind}]");
        // Half of them deactivated at once (on PostgreSQL through other connections than
        // created them, so other counter slots): the counts stay exact.
        let ids: Vec<String> =
            futures_util::future::join_all(names.iter().map(|u| scim.user_id(u)))
                .await
                .into_iter()
                .map(|id| id.expect("created user listed"))
                .collect();
        let offs = ids.iter().step_by(2).map(|id| scim.deactivate(id));
        for r in futures_util::future::join_all(offs).await {
            assert_eq!(r.status, 200, "[{kind}] {}", r.body);
        }
        let stats = server.store.member_counts(&org.id).await.unwrap();
        for (status, n) in [("active", stats.active), ("deactivated", stats.deactivated)] {
            let sql = format!(
                "SELECT COUNT(*) AS n FROM members WHERE org_id = $1 AND status = '{status}'"
            );
            let counted = testkit::count(&server.store, &sql, org.id.as_str()).await;
            assert_eq!(n, counted, "[{kind}] {status}");
        }
        // Okta retrying a deactivation while the first is under way: every answer is 200.
        let id = id_of(answers.iter().find(|r| r.status == 201).unwrap());
        let offs = (0..6).map(|_| scim.deactivate(&id));
        for r in futures_util::future::join_all(offs).await {
            assert_eq!(r.status, 200, "[{kind}] {}", r.body);
            assert_eq!(r.json()["active"], false, "[{kind}]");
        }
        let ons = (0..6).map(|_| {
            scim.patch_user(
                &id,
                json!([{"op": "replace", "path": "active", "value": true}]),
            )
        });
        for r in futures_util::future::join_all(ons).await {
            assert_eq!(r.status, 200, "[{kind}] {}", r.body);
            assert_eq!(r.json()["active"], true, "[{kind}]");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_org_while_okta_provisions_it_settles_without_server_errors() {
    for db in databases().await {
        let kind = db.kind;
        let server = TestServer::start(&db).await;
        for round in 0..3 {
            let slug = format!("doomed{round}");
            let (org, scim) = org_with_scim(&server, &slug).await;
            let mut ids = Vec::new();
            for i in 0..8 {
                ids.push(id_of(
                    &scim.create_user(&format!("p{i}@example.com"), None).await,
                ));
            }
            // Okta deactivating and creating people while the operator deletes the org: each
            // write lands before the delete (and is deleted with the org) or finds the org
            // gone, or loses a deadlock to it (503, which Okta retries); never a 500.
            let offs = ids.iter().map(|id| scim.deactivate(id));
            let new_names: Vec<String> = (0..8).map(|i| format!("n{i}@example.com")).collect();
            let news = new_names.iter().map(|u| scim.create_user(u, None));
            let delete = async {
                tokio::time::sleep(Duration::from_millis(5 * round)).await;
                server.store.delete_org(&org.id).await
            };
            let (offs, news, deleted) = tokio::join!(
                futures_util::future::join_all(offs),
                futures_util::future::join_all(news),
                delete
            );
            let deleted = deleted.unwrap_or_else(|e| panic!("[{kind}] delete: {e}"));
            assert!(deleted.is_some(), "[{kind}] the org was there to delete");
            for r in offs.iter().chain(news.iter()) {
                assert!(
                    [200, 201, 401, 404, 503].contains(&r.status),
                    "[{kind}] round {round}: {} {}",
                    r.status,
                    r.body
                );
            }
            for table in ["members", "member_stats", "audit_log", "scim_tokens"] {
                let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE org_id = $1");
                assert_eq!(
                    testkit::count(&server.store, &sql, org.id.as_str()).await,
                    0,
                    "[{kind}] {table} emptied"
                );
            }
        }
    }
}
