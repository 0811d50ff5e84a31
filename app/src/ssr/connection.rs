//! Deliberate changes of an org's Okta connection.
//!
//! Members are keyed by (org, issuer, sub), so a connection with a new issuer strands everyone
//! keyed to the old one: their next sign-in creates a second member and the owner becomes
//! unreachable. Changing the issuer while members are keyed to the current one therefore needs
//! an explicit confirmation (the operator's `tessera sso set --confirm-issuer-change`, a
//! checkbox on the setup page), and is written to the org's audit log. Afterwards the operator
//! can move the members keyed to the old issuer onto the current one, matched by `sub`
//! ([`Store::rekey_members`], `tessera org rekey-members`).

use super::actor::Actor;
use super::issuer::{key, same_key};
use super::store::connections::{self, ConnectionValues, no_connection};
use super::store::dialect::lock_org_connection;
use super::store::{NewAudit, Store, StoreError, Tx, audit, members, sessions};
use crate::model::OrgId;
use crate::model::{DefaultRole, Org, ProvisioningMode, SsoConnection};
use serde_json::json;

/// An issuer change and how many members it strands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerChange {
    /// The current (old) issuer.
    pub from: String,
    /// The new issuer.
    pub to: String,
    /// Members keyed to `from`: none of them is recognised at their next sign-in through `to`.
    pub members: i64,
}

/// How `tessera sso set` ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorSet {
    /// Stored; `issuer_change` is `Some` when the issuer changed.
    Saved {
        connection: SsoConnection,
        previous: Option<SsoConnection>,
        issuer_change: Option<IssuerChange>,
    },
    /// The issuer would change while members are keyed to the current one, and the change was
    /// not confirmed: nothing was written.
    NeedsConfirmation(IssuerChange),
}

/// How many members moved from one issuer to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rekeyed {
    pub from: String,
    pub to: String,
    pub moved: i64,
}

/// How many members of the org are keyed to `issuer` (members carry the issuer's key).
async fn members_keyed_to(tx: &mut Tx, org_id: &OrgId, issuer: &str) -> Result<i64, StoreError> {
    members::keyed_to(tx, org_id, &key(issuer)).await
}

/// What [`write_connection_in`] did inside the caller's transaction.
pub(crate) enum ConnectionWrite {
    /// Written; the caller audits it and commits.
    Written {
        previous: Option<SsoConnection>,
        change: Option<IssuerChange>,
    },
    /// The issuer changes while members are keyed to the current one, without confirmation:
    /// nothing was written (the caller rolls back).
    NeedsConfirmation(IssuerChange),
    /// The issuer is connected to another org (`slug`): nothing was written.
    IssuerTaken { slug: String },
}

/// The one write of an org's Okta connection, for every entry point (operator CLI, setup
/// link, tests): reads the previous connection, refuses an unconfirmed issuer change while
/// members are keyed to the current issuer, refuses an issuer connected to another org
/// (compared by issuer key, and by the unique index under a race), then upserts. `enable`
/// turns SSO on; otherwise a new connection starts disabled and an existing one keeps its
/// enabled flag and policy.
pub(crate) async fn write_connection_in(
    tx: &mut Tx,
    org_id: &OrgId,
    issuer: &str,
    client_id: &str,
    sealed_secret: &str,
    enable: bool,
    confirm_issuer_change: bool,
) -> Result<ConnectionWrite, StoreError> {
    lock_org_connection(tx, org_id).await?;
    let previous = connections::current(tx, org_id).await?;
    let change = match &previous {
        Some(p) if !same_key(&p.issuer, issuer) => Some(IssuerChange {
            from: p.issuer.clone(),
            to: issuer.to_string(),
            members: members_keyed_to(tx, org_id, &p.issuer).await?,
        }),
        _ => None,
    };
    if let Some(c) = &change
        && c.members > 0
        && !confirm_issuer_change
    {
        return Ok(ConnectionWrite::NeedsConfirmation(c.clone()));
    }
    let issuer_key = key(issuer);
    if let Some(slug) = connections::issuer_owner(tx, &issuer_key, org_id).await? {
        return Ok(ConnectionWrite::IssuerTaken { slug });
    }
    let values = ConnectionValues {
        org_id,
        issuer,
        issuer_key: &issuer_key,
        client_id,
        sealed_secret,
        enable,
    };
    if connections::upsert(tx, &values).await? {
        Ok(ConnectionWrite::Written { previous, change })
    } else {
        Ok(ConnectionWrite::IssuerTaken {
            slug: "another org".into(),
        })
    }
}

/// The operator's audit entry.
fn operator_audit(org_id: &OrgId, action: &str) -> NewAudit {
    Actor::Operator.audit(org_id, action, None)
}

impl Store {
    /// What connecting `issuer` would do to the org's members: `Some` when it differs from the
    /// current connection's issuer and members are keyed to that one (none of them would be
    /// recognised at their next sign-in).
    pub async fn issuer_change(
        &self,
        org_id: &OrgId,
        issuer: &str,
    ) -> Result<Option<IssuerChange>, StoreError> {
        let mut tx = self.begin().await?;
        let Some(current) = connections::current(&mut tx, org_id).await? else {
            return Ok(None);
        };
        if same_key(&current.issuer, issuer) {
            return Ok(None);
        }
        let members = members_keyed_to(&mut tx, org_id, &current.issuer).await?;
        tx.rollback().await?;
        Ok((members > 0).then(|| IssuerChange {
            from: current.issuer,
            to: issuer.to_string(),
            members,
        }))
    }

    /// `tessera sso set`: creates or replaces the org's Okta connection, in one transaction
    /// with its `sso_connection_set` audit entry (actor `operator (CLI)`; `before`/`after`:
    /// issuer and Client ID, `after.issuer_changed` and `after.members_on_previous_issuer`
    /// when the issuer changed). A new connection starts disabled; an existing one keeps its
    /// enabled flag and policy. A changed issuer while members are keyed to the current one
    /// needs `confirm_issuer_change`. An issuer connected to another org is
    /// [`StoreError::Conflict`].
    pub async fn set_sso_connection_as_operator(
        &self,
        org: &Org,
        issuer: &str,
        client_id: &str,
        sealed_secret: &str,
        confirm_issuer_change: bool,
    ) -> Result<OperatorSet, StoreError> {
        let mut tx = self.begin().await?;
        let (previous, change) = match write_connection_in(
            &mut tx,
            &org.id,
            issuer,
            client_id,
            sealed_secret,
            false,
            confirm_issuer_change,
        )
        .await?
        {
            ConnectionWrite::Written { previous, change } => (previous, change),
            ConnectionWrite::NeedsConfirmation(c) => {
                tx.rollback().await?;
                return Ok(OperatorSet::NeedsConfirmation(c));
            }
            ConnectionWrite::IssuerTaken { slug } => {
                tx.rollback().await?;
                return Err(StoreError::Conflict(format!(
                    "issuer {issuer} is already connected to org {slug:?}"
                )));
            }
        };
        let mut audit = operator_audit(&org.id, "sso_connection_set");
        if let Some(p) = &previous {
            audit.before = json!({"issuer": p.issuer, "client_id": p.client_id}).to_string();
        }
        let mut after = json!({"issuer": issuer, "client_id": client_id});
        if let Some(c) = &change {
            after["issuer_changed"] = json!(true);
            after["members_on_previous_issuer"] = json!(c.members);
        }
        audit.after = after.to_string();
        audit::insert(&mut tx, &audit).await?;
        let connection = connections::current(&mut tx, &org.id)
            .await?
            .ok_or_else(|| StoreError::NotFound("connection vanished".into()))?;
        tx.commit().await?;
        Ok(OperatorSet::Saved {
            connection,
            previous,
            issuer_change: change,
        })
    }

    /// `tessera org rekey-members <org> --from-issuer <old>`: moves every member keyed to the
    /// old issuer onto the org's current issuer (its key, as sign-in looks members up), keeping
    /// their `sub`, in one transaction with a `members_rekeyed` audit entry (actor
    /// `operator (CLI)`). `from_issuer` is matched against the issuers members are keyed to
    /// (exactly, else by issuer key: case of scheme and host, default port, trailing slash). Refused with [`StoreError::Invalid`], writing nothing, when the org has no
    /// connection, no member is keyed to that issuer, it is the current issuer, or a member
    /// with the same `sub` is already keyed to the current issuer (an (issuer, sub) collision).
    pub async fn rekey_members(&self, org: &Org, from_issuer: &str) -> Result<Rekeyed, StoreError> {
        let input = from_issuer.trim();
        let mut tx = self.begin().await?;
        lock_org_connection(&mut tx, &org.id).await?;
        let Some(current) = connections::current(&mut tx, &org.id).await? else {
            return Err(StoreError::Invalid(format!(
                "org {:?} has no Okta connection: run `tessera sso set {}` first",
                org.slug, org.slug
            )));
        };
        let issuers = members::issuers(&mut tx, &org.id).await?;
        let exact = issuers.iter().find(|(i, _)| i == input);
        let loose: Vec<_> = issuers.iter().filter(|(i, _)| same_key(i, input)).collect();
        let Some((from, _)) = exact.or(match loose.as_slice() {
            [one] => Some(*one),
            _ => None,
        }) else {
            let keyed: Vec<String> = issuers.iter().map(|(i, n)| format!("{i} ({n})")).collect();
            return Err(StoreError::Invalid(format!(
                "no member of {} is keyed to issuer {:?}; members are keyed to: {}",
                org.slug,
                crate::validate::bounded(input, 300),
                if keyed.is_empty() {
                    "nothing (the org has no members)".to_string()
                } else {
                    keyed.join(", ")
                }
            )));
        };
        let from = from.clone();
        let to_key = key(&current.issuer);
        if from == to_key {
            return Err(StoreError::Invalid(format!(
                "the members keyed to {from} already sign in with {}'s current issuer: nothing to move",
                org.slug
            )));
        }
        let clashes: Vec<String> = members::subject_clashes(&mut tx, &org.id, &from, &to_key)
            .await?
            .into_iter()
            .map(|(email, sub)| {
                if email.is_empty() {
                    format!("sub {sub}")
                } else {
                    email
                }
            })
            .collect();
        if !clashes.is_empty() {
            let shown: Vec<&str> = clashes.iter().take(3).map(String::as_str).collect();
            return Err(StoreError::Invalid(format!(
                "{} member(s) keyed to {from} have the same sub as a member already keyed to {} (e.g. {}): remove those newer duplicates first (`tessera org transfer-owner` if one is the owner), then run this again; nothing was changed",
                clashes.len(),
                current.issuer,
                shown.join(", ")
            )));
        }
        let Some(moved) = members::rekey(&mut tx, &org.id, &from, &to_key).await? else {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "a member with the same sub signed in through {} meanwhile: run this again; nothing was changed",
                current.issuer
            )));
        };
        let moved = i64::try_from(moved).unwrap_or(i64::MAX);
        let mut audit = operator_audit(&org.id, "members_rekeyed");
        audit.before = json!({"issuer": from}).to_string();
        audit.after = json!({"issuer": current.issuer, "moved": moved}).to_string();
        audit::insert(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(Rekeyed {
            from,
            to: current.issuer,
            moved,
        })
    }

    /// Creates or replaces an org's Okta connection. A new connection starts disabled; an
    /// existing one keeps its enabled flag and policy. One issuer belongs to at most one org.
    pub async fn set_sso_connection(
        &self,
        org: &Org,
        issuer: &str,
        client_id: &str,
        sealed_secret: &str,
    ) -> Result<SsoConnection, StoreError> {
        let mut tx = self.begin().await?;
        match write_connection_in(
            &mut tx,
            &org.id,
            issuer,
            client_id,
            sealed_secret,
            false,
            true,
        )
        .await?
        {
            ConnectionWrite::Written { .. } => tx.commit().await?,
            ConnectionWrite::NeedsConfirmation(_) => {
                return Err(StoreError::Conflict(
                    "the issuer change needs confirmation".into(),
                ));
            }
            ConnectionWrite::IssuerTaken { slug } => {
                return Err(StoreError::Conflict(format!(
                    "issuer {issuer} is already connected to org {slug:?}"
                )));
            }
        }
        self.sso_connection(&org.id)
            .await?
            .ok_or_else(|| StoreError::NotFound("connection vanished".into()))
    }

    /// Turns SSO off (the operator's `tessera sso disable`) and, in the same transaction,
    /// deletes every session of the org's members: nobody stays signed in to an org nobody can
    /// sign in to. Audited as `sso_disabled` (actor `operator (CLI)`, after
    /// `{"enabled":false,"sessions_ended":n}`). Returns how many sessions ended.
    pub async fn disable_sso(&self, org: &Org) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        if !connections::disable(&mut tx, &org.id).await? {
            tx.rollback().await?;
            return Err(no_connection(org));
        }
        let ended = sessions::delete_of_org(&mut tx, &org.id).await?;
        let mut audit = operator_audit(&org.id, "sso_disabled");
        audit.after = json!({"enabled": false, "sessions_ended": ended}).to_string();
        audit::insert(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// `tessera sso enable`: turns SSO on for an org that has a connection, in one transaction
    /// with its `sso_enabled` audit entry (actor `operator (CLI)`; `after`:
    /// `{"enabled":true}`). No connection is [`StoreError::NotFound`] and writes nothing.
    pub async fn enable_sso_as_operator(&self, org: &Org) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if let Err(e) = connections::enable(&mut tx, org).await {
            tx.rollback().await?;
            return Err(e);
        }
        let mut audit = operator_audit(&org.id, "sso_enabled");
        audit.after = json!({"enabled": true}).to_string();
        audit::insert(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `tessera sso policy`: sets the just-in-time provisioning policy, in one transaction
    /// with its `sso_policy_set` audit entry (actor `operator (CLI)`; `before`/`after`:
    /// `{"jit_enabled":bool,"default_role":"member"|"admin"}`). No connection is
    /// [`StoreError::NotFound`] and writes nothing.
    pub async fn set_sso_policy_as_operator(
        &self,
        org: &Org,
        jit_enabled: bool,
        default_role: DefaultRole,
        provisioning: ProvisioningMode,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let before = connections::current(&mut tx, &org.id).await?;
        if let Err(e) =
            connections::set_policy(&mut tx, org, jit_enabled, default_role, provisioning).await
        {
            tx.rollback().await?;
            return Err(e);
        }
        let mut audit = operator_audit(&org.id, "sso_policy_set");
        if let Some(b) = before {
            audit.before =
                json!({"jit_enabled": b.jit_enabled, "default_role": b.default_role.as_str(), "provisioning": b.provisioning})
                    .to_string();
        }
        audit.after =
            json!({"jit_enabled": jit_enabled, "default_role": default_role.as_str(), "provisioning": provisioning}).to_string();
        audit::insert(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
