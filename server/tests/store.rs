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

#[tokio::test]
async fn twenty_concurrent_first_members_yield_exactly_one_owner() {
    for db in databases().await {
        let store = Store::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let org = store.create_org("race", "Race").await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (store, org_id) = (store.clone(), org.id.clone());
                tokio::spawn(async move {
                    store
                        .insert_member(
                            &org_id,
                            "https://race.okta.com",
                            &format!("sub{i}"),
                            &format!("u{i}@x.com"),
                            "U",
                            Role::Member,
                        )
                        .await
                })
            })
            .collect();
        let mut owners = 0;
        for t in tasks {
            let (m, created) = t.await.unwrap().unwrap();
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
