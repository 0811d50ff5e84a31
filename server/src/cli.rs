//! The operator commands: orgs, their Okta connections and their members. Membership changes
//! (`org transfer-owner`, `org rekey-members`) go through the membership core with the operator
//! as actor ([`Actor::Operator`], audited as `operator (CLI)`). Bad input gets one line on
//! stderr and a non-zero exit, and writes nothing.

pub use crate::cli_error::CliError;
use crate::config::{Config, OrgCommand, SsoCommand};
use app::model::{DefaultRole, Member, Org, SsoConnection};
use app::ssr::connection::{IssuerChange, OperatorSet};
use app::ssr::issuer;
use app::ssr::membership::{self, Actor, DomainError};
use app::ssr::store::Store;
use app::validate;
use serde_json::json;
use std::io::Read as _;
use std::path::Path;

fn invalid(e: String) -> CliError {
    CliError::Invalid(e)
}

pub async fn org(config: &Config, store: &Store, command: OrgCommand) -> Result<(), CliError> {
    match command {
        OrgCommand::Create { slug, name, json } => {
            let slug = validate::slug(&slug).map_err(invalid)?;
            let name = validate::display_name(&name).map_err(invalid)?;
            let org = store.create_org(slug, name).await?;
            if json {
                println!("{}", org_json(config, &org, None, 0));
            } else {
                println!("Created org {} ({}).", org.slug, org.name);
                println!(
                    "Next: tessera sso set {} --okta-domain <your-org>.okta.com --client-id <id> --client-secret-file <path or ->",
                    org.slug
                );
            }
        }
        OrgCommand::List { json } => {
            let orgs = store.list_orgs().await?;
            if json {
                let list: Vec<_> = orgs
                    .iter()
                    .map(|o| org_json(config, &o.org, o.sso.as_ref(), o.members))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else if orgs.is_empty() {
                println!(
                    "No orgs yet. Create one: tessera org create <slug> --name <display name>"
                );
            } else {
                println!(
                    "{:<24} {:<10} {:>8}  {:<32} ISSUER",
                    "SLUG", "SSO", "MEMBERS", "NAME"
                );
                for o in &orgs {
                    println!(
                        "{:<24} {:<10} {:>8}  {:<32} {}",
                        o.org.slug,
                        sso_state(o.sso.as_ref()),
                        o.members,
                        o.org.name,
                        o.sso.as_ref().map_or("-", |s| s.issuer.as_str())
                    );
                }
            }
        }
        OrgCommand::Show { slug, json } => {
            let slug = validate::slug(&slug).map_err(invalid)?;
            let org = store.require_org(slug).await?;
            let sso = store.sso_connection(&org.id).await?;
            let members = store.count_members(&org.id).await?;
            if json {
                println!("{}", org_json(config, &org, sso.as_ref(), members));
            } else {
                println!("Org:                  {} ({})", org.slug, org.name);
                println!("Members:              {members}");
                println!("SSO:                  {}", sso_state(sso.as_ref()));
                if let Some(s) = &sso {
                    println!("Issuer:               {}", s.issuer);
                    println!("Client ID:            {}", s.client_id);
                    println!(
                        "Just-in-time:         {} (new members get role {})",
                        if s.jit_enabled { "on" } else { "off" },
                        s.default_role
                    );
                }
                println!();
                println!("Paste into the Okta app integration (General -> Login):");
                println!("Sign-in redirect URI: {}", config.redirect_uri());
                println!("Initiate login URI:   {}", config.initiate_login_uri());
                println!("Login initiated by:   Either Okta or App");
                println!(
                    "Login flow:           Redirect to app to initiate login (OIDC Compliant)"
                );
            }
        }
        OrgCommand::SetupLink {
            slug,
            expires,
            revoke,
            json,
        } => setup_link(config, store, &slug, expires.as_deref(), revoke, json).await?,
        OrgCommand::RekeyMembers {
            slug,
            from_issuer,
            json,
        } => {
            let slug = validate::slug(&slug).map_err(invalid)?;
            if from_issuer.trim().is_empty() {
                return Err(invalid(
                    "give the old issuer: --from-issuer https://<old-okta-org>".into(),
                ));
            }
            let org = store.require_org(slug).await?;
            let r = membership::rekey_members(store, &Actor::Operator, &org, &from_issuer)
                .await
                .map_err(operator_error)?;
            if json {
                println!(
                    "{}",
                    json!({"org": org.slug, "from_issuer": r.from, "to_issuer": r.to, "moved": r.moved})
                );
            } else {
                println!(
                    "Moved {} member(s) of {} from issuer {} to {}: they sign in as before.",
                    r.moved, org.slug, r.from, r.to
                );
            }
        }
        OrgCommand::TransferOwner { slug, member, json } => {
            transfer_owner(store, &slug, &member, json).await?;
        }
        OrgCommand::Events { slug, limit, json } => {
            let slug = validate::slug(&slug).map_err(invalid)?;
            let org = store.require_org(slug).await?;
            let events = store
                .recent_login_attempts(&org.id, i64::from(limit))
                .await?;
            if json {
                println!("{}", serde_json::to_string(&events).unwrap_or_default());
            } else if events.is_empty() {
                println!("No login attempts yet for {}.", org.slug);
            } else {
                for e in &events {
                    println!(
                        "{}  {:<7}  {:<26} {:<28} {}",
                        format_time(e.at),
                        e.outcome.as_str(),
                        e.reason,
                        e.email.as_deref().or(e.subject.as_deref()).unwrap_or("-"),
                        e.detail
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn sso(config: &Config, store: &Store, command: SsoCommand) -> Result<(), CliError> {
    match command {
        SsoCommand::Set {
            slug,
            okta_domain,
            issuer,
            client_id,
            client_secret_file,
            confirm_issuer_change,
        } => {
            // Validate everything before touching the store: bad input writes nothing.
            let slug = validate::slug(&slug).map_err(invalid)?;
            let issuer = match (okta_domain, issuer) {
                (Some(domain), None) => issuer::from_okta_domain(&domain).map_err(invalid)?,
                (None, Some(url)) => {
                    issuer::published(&url, config.allow_http_issuers).map_err(invalid)?
                }
                _ => {
                    return Err(invalid(
                        "give exactly one of --okta-domain or --issuer".into(),
                    ));
                }
            };
            let client_id = validate::client_id(&client_id).map_err(invalid)?;
            let raw_secret = read_secret(&client_secret_file)?;
            let secret = validate::client_secret(&raw_secret).map_err(invalid)?;
            let org = store.require_org(slug).await?;
            // Refused before anything is written (the key file included).
            if !confirm_issuer_change && let Some(c) = store.issuer_change(&org.id, &issuer).await?
            {
                return Err(needs_confirmation(&org, &c));
            }
            let key = crate::keys::checked_key(store, &config.secret_key_file, |w| {
                eprintln!("warning: {w}");
            })
            .await?;
            let sealed = key.seal(&org.id, secret);
            let sso = match store
                .set_sso_connection_as_operator(
                    &org,
                    &issuer,
                    client_id,
                    &sealed,
                    confirm_issuer_change,
                )
                .await?
            {
                OperatorSet::NeedsConfirmation(c) => return Err(needs_confirmation(&org, &c)),
                OperatorSet::Saved {
                    connection,
                    issuer_change,
                    ..
                } => {
                    if let Some(c) = issuer_change.filter(|c| c.members > 0) {
                        println!(
                            "Issuer changed from {} to {}: the {} member(s) keyed to the old issuer are not recognised at their next sign-in. When the same people arrive with the same sub, move them: tessera org rekey-members {} --from-issuer {}",
                            c.from, c.to, c.members, org.slug, c.from
                        );
                    }
                    connection
                }
            };
            println!(
                "Saved the Okta connection of {}: issuer {}, client ID {}.",
                org.slug, sso.issuer, sso.client_id
            );
            if sso.enabled {
                println!("SSO is enabled.");
            } else {
                println!(
                    "SSO is disabled: run `tessera sso enable {}` to turn it on.",
                    org.slug
                );
            }
        }
        SsoCommand::Enable { slug } => {
            let org = store
                .require_org(validate::slug(&slug).map_err(invalid)?)
                .await?;
            store.enable_sso_as_operator(&org).await?;
            println!("SSO enabled for {}.", org.slug);
            println!("Initiate login URI: {}", config.initiate_login_uri());
        }
        SsoCommand::Disable { slug } => {
            let org = store
                .require_org(validate::slug(&slug).map_err(invalid)?)
                .await?;
            let ended = store.disable_sso(&org).await?;
            println!("SSO disabled for {}: nobody can sign in to it.", org.slug);
            println!(
                "Signed out {ended} session{} of its members. Turn it back on with `tessera sso enable {}`.",
                if ended == 1 { "" } else { "s" },
                org.slug
            );
        }
        SsoCommand::Policy {
            slug,
            jit,
            default_role,
        } => {
            let org = store
                .require_org(validate::slug(&slug).map_err(invalid)?)
                .await?;
            let current = store.sso_connection(&org.id).await?.ok_or_else(|| {
                invalid(format!(
                    "org {:?} has no Okta connection yet: run `tessera sso set {}` first",
                    org.slug, org.slug
                ))
            })?;
            let jit = jit.map_or(current.jit_enabled, |v| v == "on");
            let role = match default_role.as_deref() {
                Some(r) => DefaultRole::parse(r).map_err(invalid)?,
                None => current.default_role,
            };
            store.set_sso_policy_as_operator(&org, jit, role).await?;
            println!(
                "Just-in-time provisioning for {} is {}; new members get role {}.",
                org.slug,
                if jit { "on" } else { "off" },
                role
            );
        }
    }
    Ok(())
}

/// The one line refusing an unconfirmed issuer change.
fn needs_confirmation(org: &Org, c: &IssuerChange) -> CliError {
    invalid(format!(
        "org {} has {} member(s) keyed to issuer {}: with issuer {} their next sign-in creates new members and the owner loses access; to change it anyway add --confirm-issuer-change, then move them with `tessera org rekey-members {} --from-issuer {}`",
        org.slug, c.members, c.from, c.to, org.slug, c.from
    ))
}

/// A refused membership change as the operator reads it: the store's own errors as they are,
/// everything else as its sentence.
fn operator_error(e: DomainError) -> CliError {
    match e {
        DomainError::Store(e) => CliError::Store(e),
        other => invalid(other.to_string()),
    }
}

/// `tessera org transfer-owner <slug> <member id or email> [--json]`.
async fn transfer_owner(
    store: &Store,
    slug: &str,
    member: &str,
    json: bool,
) -> Result<(), CliError> {
    let slug = validate::slug(slug).map_err(invalid)?;
    let org = store.require_org(slug).await?;
    let shown = validate::bounded(member.trim(), 200);
    let domain = |e: DomainError| match e {
        DomainError::NotFound => invalid(format!(
            "no member {shown:?} in org {}: give a member id or email (see the members page or /api/v1/members)",
            org.slug
        )),
        other => operator_error(other),
    };
    let target = membership::member_named(store, &org.id, member)
        .await
        .map_err(domain)?;
    let membership::Transferred { owner, previous } =
        membership::transfer_ownership(store, &Actor::Operator, &org.id, target.id.as_str())
            .await
            .map_err(domain)?;
    let person = |m: &Member| json!({"id": m.id, "email": m.email, "name": m.name});
    if json {
        println!(
            "{}",
            json!({
                "org": org.slug,
                "owner": person(&owner),
                "previous_owner": previous.as_ref().map(person),
            })
        );
    } else {
        println!(
            "{} ({}) now owns {}.",
            if owner.email.is_empty() {
                &owner.name
            } else {
                &owner.email
            },
            owner.id,
            org.slug
        );
        if let Some(p) = &previous {
            println!(
                "The previous owner {} ({}) is now an admin; their open setup links are revoked.",
                if p.email.is_empty() {
                    &p.name
                } else {
                    &p.email
                },
                p.id
            );
        }
    }
    Ok(())
}

/// `tessera org setup-link <slug> [--expires 72h] [--revoke] [--json]`.
async fn setup_link(
    config: &Config,
    store: &Store,
    slug: &str,
    expires: Option<&str>,
    revoke: bool,
    json: bool,
) -> Result<(), CliError> {
    use app::ssr::setup_links;
    let slug = validate::slug(slug).map_err(invalid)?;
    let ttl = if revoke {
        None
    } else {
        Some(setup_links::parse_expiry(expires).map_err(invalid)?)
    };
    let org = store.require_org(slug).await?;
    let Some(ttl) = ttl else {
        let n = store.revoke_setup_links(&org, Actor::Operator).await?;
        if json {
            println!("{}", json!({ "revoked": n }));
        } else {
            println!("Revoked {n} open setup link(s) of {}.", org.slug);
        }
        return Ok(());
    };
    let (token, link) = store.create_setup_link(&org, ttl, Actor::Operator).await?;
    let url = setup_links::setup_url(&config.public_url, &token);
    if json {
        println!(
            "{}",
            json!({ "url": url, "expires_at": format_time(link.expires_at) })
        );
    } else {
        println!("{url}");
        println!(
            "One-time setup link for {} ({}), valid until {}.",
            org.name,
            org.slug,
            format_time(link.expires_at)
        );
        println!(
            "Send it to the Okta administrator of {}: the page walks them through creating the Okta app, tests it and connects it; saving uses the link up.",
            org.name
        );
        println!(
            "Older open links of {} stay valid; revoke them all with `tessera org setup-link {} --revoke`.",
            org.slug, org.slug
        );
    }
    Ok(())
}

/// Reads the client secret from a file, or from standard input for `-`.
fn read_secret(path: &Path) -> Result<String, CliError> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            invalid(format!(
                "cannot read the client secret from standard input: {e}"
            ))
        })?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(|e| {
            invalid(format!(
                "cannot read the client secret file {}: {e}",
                path.display()
            ))
        })
    }
}

fn sso_state(sso: Option<&SsoConnection>) -> &'static str {
    match sso {
        None => "not_configured",
        Some(s) if s.enabled => "enabled",
        Some(_) => "disabled",
    }
}

/// The JSON form of an org used by `org create/list/show --json`.
fn org_json(
    config: &Config,
    org: &Org,
    sso: Option<&SsoConnection>,
    members: i64,
) -> serde_json::Value {
    json!({
        "slug": org.slug,
        "name": org.name,
        "created_at": format_time(org.created_at),
        "members": members,
        "sso_state": sso_state(sso),
        "sso": sso.map(|s| json!({
            "issuer": s.issuer,
            "client_id": s.client_id,
            "enabled": s.enabled,
            "jit_enabled": s.jit_enabled,
            "default_role": s.default_role,
            "updated_at": format_time(s.updated_at),
        })),
        "initiate_login_uri": config.initiate_login_uri(),
        "sign_in_redirect_uri": config.redirect_uri(),
    })
}

/// RFC 3339 UTC time of a unix-ms timestamp.
pub fn format_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
