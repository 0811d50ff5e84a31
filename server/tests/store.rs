//! Store behaviour on SQLite and PostgreSQL: migrations, uniqueness rules, the one-owner rule.

mod support;

use app::model::{MemberStatus, Role};
use app::ssr::store::Store;
use support::databases;

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
    org_id: &str,
    issuer: &str,
    n: usize,
    subjects: usize,
) -> Vec<(app::model::Member, bool)> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (store, org_id, issuer) = (store.clone(), org_id.to_string(), issuer.to_string());
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
    let counted = sqlx::query(
        "SELECT
            SUM(CASE WHEN role = 'owner' THEN 1 ELSE 0 END) AS owners,
            SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END) AS admins,
            SUM(CASE WHEN role = 'member' THEN 1 ELSE 0 END) AS members,
            SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS active,
            SUM(CASE WHEN status = 'deactivated' THEN 1 ELSE 0 END) AS deactivated
         FROM members WHERE org_id = $1",
    )
    .bind(org_id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    use sqlx::Row as _;
    let get = |c: &str| -> i64 {
        // SUM over no rows is NULL; PostgreSQL sums to NUMERIC, so read through text.
        counted
            .try_get::<Option<i64>, _>(c)
            .ok()
            .flatten()
            .or_else(|| {
                counted
                    .try_get::<Option<String>, _>(c)
                    .ok()
                    .flatten()
                    .map(|s| s.parse().unwrap())
            })
            .unwrap_or(0)
    };
    let c = store.member_counts(org_id).await.unwrap();
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
        assert_counts_exact(&store, &org.id, db.kind).await;
        // Many rows at once, a role change, status changes, deletions, a transaction.
        for sql in [
            "UPDATE members SET role = 'admin' WHERE org_id = $1 AND subject IN ('sub3', 'sub4', 'sub5')",
            "UPDATE members SET status = 'deactivated' WHERE org_id = $1 AND role = 'member' AND subject LIKE 'sub1%'",
            "UPDATE members SET status = 'active' WHERE org_id = $1 AND subject = 'sub12'",
            "UPDATE members SET name = 'Renamed', last_login_at = 1 WHERE org_id = $1",
            "DELETE FROM members WHERE org_id = $1 AND subject IN ('sub20', 'sub3', 'sub13')",
        ] {
            sqlx::query(sql)
                .bind(&org.id)
                .execute(store.pool())
                .await
                .unwrap();
            assert_counts_exact(&store, &org.id, db.kind).await;
        }
        let mut tx = store.pool().begin().await.unwrap();
        for sql in [
            "UPDATE members SET role = 'admin' WHERE org_id = $1 AND role = 'owner'",
            "UPDATE members SET role = 'owner' WHERE org_id = $1 AND subject = 'sub4'",
        ] {
            sqlx::query(sql)
                .bind(&org.id)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        assert_counts_exact(&store, &org.id, db.kind).await;
        // A rolled-back change leaves the counts alone.
        let mut tx = store.pool().begin().await.unwrap();
        sqlx::query("DELETE FROM members WHERE org_id = $1")
            .bind(&org.id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_counts_exact(&store, &org.id, db.kind).await;
        let c = store.member_counts(&other.id).await.unwrap();
        assert_eq!((c.owner, c.active), (1, 1), "[{}] the other org", db.kind);
    }
}
