//! The operator's SCIM commands: `tessera scim token create|list|revoke` and
//! `tessera role-map set|list|remove`, through `ssr::scim` with the operator as actor
//! (audited as `operator (CLI)`). Bad input gets one line on stderr and writes nothing.

use crate::cli::{format_time, short_time, table};
use crate::cli_error::CliError;
use crate::config::{Config, RoleMapCommand, ScimCommand, ScimTokenCommand};
use app::model::{DefaultRole, Org};
use app::ssr::PublicUrl;
use app::ssr::membership::{Actor, DomainError};
use app::ssr::scim;
use app::ssr::store::Store;
use app::validate;
use serde_json::json;

fn invalid(e: String) -> CliError {
    CliError::Invalid(e)
}

/// A domain refusal as one line for the operator.
fn refused(e: DomainError) -> CliError {
    match e {
        DomainError::Store(e) => CliError::Store(e),
        DomainError::NotFound => invalid("not found in this org".into()),
        other => invalid(other.to_string()),
    }
}

async fn org(store: &Store, slug: &str) -> Result<Org, CliError> {
    Ok(store
        .require_org(validate::slug(slug).map_err(invalid)?)
        .await?)
}

pub async fn scim(config: &Config, store: &Store, command: ScimCommand) -> Result<(), CliError> {
    let ScimCommand::Token(command) = command;
    let base = scim::base_url(&PublicUrl(config.public_url.clone()));
    match command {
        ScimTokenCommand::Create { slug, name, json } => {
            let org = org(store, &slug).await?;
            let new =
                scim::create_token(store, &Actor::Operator, &org, name.as_deref().unwrap_or(""))
                    .await
                    .map_err(refused)?;
            if json {
                println!(
                    "{}",
                    json!({
                        "id": new.token.id,
                        "token": new.secret,
                        "name": new.token.name,
                        "created_at": format_time(new.token.created_at),
                        "base_url": base,
                        "provisioning_mode_switched": new.mode_switched,
                    })
                );
            } else {
                println!(
                    "Created SCIM token {:?} for {} (id {}).",
                    new.token.name, org.slug, new.token.id
                );
                println!("Token (shown once; Tessera keeps only its hash):");
                println!("  {}", new.secret);
                println!();
                println!(
                    "In the Okta Admin Console: Applications -> the Tessera app -> Provisioning -> Integration"
                );
                println!("  SCIM connector base URL:            {base}");
                println!("  Unique identifier field for users:  userName");
                println!("  Authentication Mode:                HTTP Header (paste the token)");
                if new.mode_switched {
                    println!();
                    println!(
                        "The provisioning mode of {} changed from jit to both: SCIM is accepted now.",
                        org.slug
                    );
                }
            }
        }
        ScimTokenCommand::List { slug, json } => {
            let org = org(store, &slug).await?;
            let tokens = scim::tokens(store, &Actor::Operator, &org)
                .await
                .map_err(refused)?;
            if json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        json!({
                            "id": t.id,
                            "name": t.name,
                            "hint": t.hint,
                            "created_at": format_time(t.created_at),
                            "created_by": t.created_by,
                            "last_used_at": t.last_used_at.map(format_time),
                            "revoked_at": t.revoked_at.map(format_time),
                            "active": t.revoked_at.is_none(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else if tokens.is_empty() {
                println!(
                    "No SCIM tokens for {}. Create one: tessera scim token create {}",
                    org.slug, org.slug
                );
            } else {
                let rows: Vec<Vec<String>> = tokens
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.name.clone(),
                            format!("…{}", t.hint),
                            short_time(t.created_at),
                            t.last_used_at.map_or("never".into(), short_time),
                            t.revoked_at
                                .map_or("active".into(), |r| format!("revoked {}", short_time(r))),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &["ID", "NAME", "ENDS", "CREATED", "LAST USED", "STATE"],
                        &rows,
                        &[]
                    )
                );
            }
        }
        ScimTokenCommand::Revoke { slug, token_id } => {
            let org = org(store, &slug).await?;
            let t = scim::revoke_token(store, &Actor::Operator, &org, &token_id)
                .await
                .map_err(|e| match e {
                    DomainError::NotFound => invalid(format!(
                        "{} has no active SCIM token with id {}: see `tessera scim token list {}`",
                        org.slug,
                        validate::quoted(&token_id),
                        org.slug
                    )),
                    other => refused(other),
                })?;
            println!(
                "Revoked SCIM token {:?} ({}) of {}: Okta's requests with it now get 401.",
                t.name, t.id, org.slug
            );
        }
    }
    Ok(())
}

pub async fn role_map(store: &Store, command: RoleMapCommand) -> Result<(), CliError> {
    match command {
        RoleMapCommand::Set { slug, group, role } => {
            let org = org(store, &slug).await?;
            let role = DefaultRole::parse(&role).map_err(invalid)?;
            let g = scim::set_role_mapping(store, &Actor::Operator, &org, &group, Some(role))
                .await
                .map_err(refused)?;
            println!(
                "Members of the Okta group {:?} in {} are now at least {}; roles were recomputed.",
                g.display_name, org.slug, role
            );
        }
        RoleMapCommand::Remove { slug, group } => {
            let org = org(store, &slug).await?;
            let g = scim::set_role_mapping(store, &Actor::Operator, &org, &group, None)
                .await
                .map_err(|e| match e {
                    DomainError::NotFound => invalid(format!(
                        "the group {} is not mapped in {}",
                        validate::quoted(&group),
                        org.slug
                    )),
                    other => refused(other),
                })?;
            println!(
                "Removed the mapping of {:?} in {}; roles were recomputed.",
                g.display_name, org.slug
            );
        }
        RoleMapCommand::List { slug, json } => {
            let org = org(store, &slug).await?;
            let maps = scim::role_mappings(store, &Actor::Operator, &org)
                .await
                .map_err(refused)?;
            if json {
                let list: Vec<_> = maps
                    .iter()
                    .map(|(g, n)| json!({"group": g.display_name, "group_id": g.id, "role": g.role, "members": n}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else if maps.is_empty() {
                println!(
                    "No groups are mapped in {}: roles are Tessera's. Map one: tessera role-map set {} --group \"<name>\" --role admin",
                    org.slug, org.slug
                );
            } else {
                let rows: Vec<Vec<String>> = maps
                    .iter()
                    .map(|(g, n)| {
                        vec![
                            g.display_name.clone(),
                            g.role.map_or("-".into(), |r| r.to_string()),
                            n.to_string(),
                        ]
                    })
                    .collect();
                print!("{}", table(&["GROUP", "ROLE", "MEMBERS"], &rows, &[2]));
            }
        }
    }
    Ok(())
}
