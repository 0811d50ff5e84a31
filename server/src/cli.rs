//! The operator commands: orgs, their Okta connections and their members. Membership changes
//! (`member set-role|deactivate|reactivate|remove`, `org transfer-owner`, `org rekey-members`)
//! go through the membership core, and renaming or deleting an org through `ssr::orgs`, with
//! the operator as actor ([`Actor::Operator`], audited as `operator (CLI)`). Bad input gets one
//! line on stderr and a non-zero exit, and writes nothing.

pub use crate::cli_error::CliError;
use crate::config::{Config, MemberCommand, OrgCommand, SsoCommand};
use app::model::{DefaultRole, Member, MemberStatus, Org, ProvisioningMode, Role, SsoConnection};
use app::ssr::connection::{IssuerChange, OperatorSet};
use app::ssr::issuer;
use app::ssr::membership::{self, Action, Actor, DomainError};
use app::ssr::orgs;
use app::ssr::store::{OrgDeleted, Store};
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
                    "Next: tessera org setup-link {}   (send the printed link to {}'s Okta administrator: they connect Okta themselves)",
                    org.slug, org.name
                );
                println!(
                    "  or: tessera sso set {} --okta-domain <their-org>.okta.com --client-id <id> --client-secret-file <path or ->",
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
                let rows: Vec<Vec<String>> = orgs
                    .iter()
                    .map(|o| {
                        vec![
                            o.org.slug.clone(),
                            sso_state(o.sso.as_ref()).to_string(),
                            o.members.to_string(),
                            o.org.name.clone(),
                            o.sso.as_ref().map_or("-".to_string(), |s| s.issuer.clone()),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(&["SLUG", "SSO", "MEMBERS", "NAME", "ISSUER"], &rows, &[2])
                );
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
                    println!("Provisioning mode:    {}", s.provisioning);
                    let word = |b: bool| if b { "on" } else { "off" };
                    println!("Universal Logout:     {}", word(s.universal_logout));
                    println!("Shared Signals:       {}", word(s.shared_signals));
                }
                println!();
                println!("Paste into the Okta app integration (General -> Login):");
                println!("Sign-in redirect URI: {}", config.redirect_uri());
                println!("Initiate login URI:   {}", config.initiate_login_uri());
                println!("Login initiated by:   Either Okta or App");
                println!(
                    "Login flow:           Redirect to app to initiate login (OIDC Compliant)"
                );
                println!();
                println!("SCIM provisioning (Okta: Provisioning -> Integration):");
                println!(
                    "SCIM connector base URL: {}",
                    app::ssr::scim::base_url(&app::ssr::PublicUrl(config.public_url.clone()))
                );
                println!("Unique identifier field for users: userName");
                println!(
                    "Authentication mode: HTTP Header (token: `tessera scim token create {}`)",
                    org.slug
                );
                let public_url = app::ssr::PublicUrl(config.public_url.clone());
                println!();
                println!("Universal Logout (Okta: General -> Logout):");
                println!(
                    "Global token revocation endpoint: {}",
                    public_url.universal_logout_endpoint()
                );
                println!("Subject format: Email or Issuer and Subject identifier");
                println!();
                println!("Shared Signals (SSF stream, push delivery):");
                println!("Receiver endpoint: {}", public_url.ssf_endpoint());
                println!("Audience (aud):    {}", public_url.ssf_audience(&org.slug));
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
        OrgCommand::Rename { slug, name, json } => {
            let slug = validate::slug(&slug).map_err(invalid)?;
            let name = validate::display_name(&name).map_err(invalid)?;
            let org = store.require_org(slug).await?;
            let renamed = orgs::rename(store, &Actor::Operator, &org, name)
                .await
                .map_err(operator_error)?;
            let changed = renamed.name != org.name;
            if json {
                println!(
                    "{}",
                    json!({"slug": org.slug, "name": renamed.name, "previous_name": org.name, "changed": changed})
                );
            } else if changed {
                println!(
                    "Renamed {}: {:?} is now {:?}.",
                    org.slug, org.name, renamed.name
                );
            } else {
                println!(
                    "{} is already named {:?}: nothing changed.",
                    org.slug, org.name
                );
            }
        }
        OrgCommand::Delete { slug, yes, json } => delete_org(store, &slug, yes, json).await?,
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
            provisioning,
            universal_logout,
            shared_signals,
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
            let switches_only = jit.is_none() && default_role.is_none() && provisioning.is_none();
            if universal_logout.is_some() || shared_signals.is_some() {
                let on = |v: &Option<String>| v.as_deref().map(|v| v == "on");
                let sso = app::ssr::signals::set_switches(
                    store,
                    &Actor::Operator,
                    &org,
                    on(&universal_logout),
                    on(&shared_signals),
                )
                .await
                .map_err(operator_error)?;
                let word = |b: bool| if b { "on" } else { "off" };
                println!(
                    "Universal Logout for {} is {}; Shared Signals are {}.",
                    org.slug,
                    word(sso.universal_logout),
                    word(sso.shared_signals)
                );
                if switches_only {
                    return Ok(());
                }
            }
            let jit = jit.map_or(current.jit_enabled, |v| v == "on");
            let role = match default_role.as_deref() {
                Some(r) => DefaultRole::parse(r).map_err(invalid)?,
                None => current.default_role,
            };
            let mode = match provisioning.as_deref() {
                Some(m) => ProvisioningMode::parse(m).map_err(invalid)?,
                None => current.provisioning,
            };
            store
                .set_sso_policy_as_operator(&org, jit, role, mode)
                .await?;
            println!(
                "Just-in-time provisioning for {} is {}; new members get role {}; provisioning mode {mode}.",
                org.slug,
                if jit { "on" } else { "off" },
                role
            );
        }
    }
    Ok(())
}

/// `tessera member …`: the operator's view of an org's members and the changes the admin
/// pages make, through the membership core with [`Actor::Operator`].
pub async fn member(store: &Store, command: MemberCommand) -> Result<(), CliError> {
    match command {
        MemberCommand::List {
            slug,
            role,
            status,
            json,
        } => {
            let role = role.as_deref().map(role_filter).transpose()?;
            let status = status.as_deref().map(status_filter).transpose()?;
            let org = org_named(store, &slug).await?;
            let filter = app::ssr::store::MemberFilter { role, status };
            let members = store.members_of(&org.id, filter).await?;
            if json {
                let list: Vec<_> = members.iter().map(member_json).collect();
                println!("{}", serde_json::Value::Array(list));
            } else if members.is_empty() {
                let only = [role.map(Role::as_str), status.map(MemberStatus::as_str)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ");
                if only.is_empty() {
                    println!(
                        "No members in {} yet: the first person to sign in through Okta becomes its owner.",
                        org.slug
                    );
                } else {
                    println!("No members of {} match ({only}).", org.slug);
                }
            } else {
                let rows: Vec<Vec<String>> = members
                    .iter()
                    .map(|m| {
                        vec![
                            or_dash(&m.email),
                            or_dash(&m.name),
                            m.role.to_string(),
                            m.status.as_str().to_string(),
                            m.last_login_at
                                .map_or_else(|| "never".to_string(), short_time),
                            m.id.to_string(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &["EMAIL", "NAME", "ROLE", "STATUS", "LAST SIGN-IN", "ID"],
                        &rows,
                        &[]
                    )
                );
            }
        }
        MemberCommand::Show { slug, member, json } => {
            let org = org_named(store, &slug).await?;
            let m = member_in(store, &org, &member).await?;
            let sessions = store.live_sessions_of(&m.id).await?;
            if json {
                let mut v = member_json(&m);
                v["org"] = json!(org.slug);
                v["open_sessions"] = json!(sessions);
                println!("{v}");
            } else {
                println!("Email:          {}", or_dash(&m.email));
                println!("Name:           {}", or_dash(&m.name));
                println!("ID:             {}", m.id);
                println!("Org:            {} ({})", org.slug, org.name);
                println!("Role:           {}", m.role);
                println!("Status:         {}", m.status.as_str());
                println!("Okta issuer:    {}", m.issuer);
                println!("Okta subject:   {}", m.subject);
                println!("Member since:   {}", format_time(m.created_at));
                println!(
                    "Last sign-in:   {}",
                    m.last_login_at
                        .map_or_else(|| "never".to_string(), format_time)
                );
                println!("Open sessions:  {sessions}");
            }
        }
        MemberCommand::SetRole {
            slug,
            member,
            role,
            json,
        } => {
            let role = DefaultRole::parse(&role).map_err(|e| match Role::parse(role.trim()) {
                Some(Role::Owner) => invalid(
                    "owner is not a role to set: ownership changes hands only with `tessera org transfer-owner <org> <member>`".into(),
                ),
                _ => invalid(e),
            })?;
            let org = org_named(store, &slug).await?;
            let target = member_in(store, &org, &member).await?;
            let m =
                membership::change_role(store, &Actor::Operator, &org.id, target.id.as_str(), role)
                    .await
                    .map_err(operator_error)?;
            let changed = m.role != target.role;
            let article = if m.role == Role::Admin { "an" } else { "a" };
            print_member_change(
                json,
                &org,
                &m,
                changed,
                format!(
                    "{} ({}) is now {article} {} of {} (was {}).",
                    who(&m),
                    m.id,
                    m.role,
                    org.slug,
                    target.role
                ),
                &format!("{article} {} of", m.role),
            );
        }
        MemberCommand::Deactivate { slug, member, json } => {
            let org = org_named(store, &slug).await?;
            let target = member_in(store, &org, &member).await?;
            let m = membership::deactivate(store, &Actor::Operator, &org.id, target.id.as_str())
                .await
                .map_err(operator_error)?;
            let changed = m.status != target.status;
            print_member_change(
                json,
                &org,
                &m,
                changed,
                format!(
                    "Deactivated {} ({}) in {}: their sessions have ended and Okta sign-ins are refused until `tessera member reactivate {} {}`.",
                    who(&m),
                    m.id,
                    org.slug,
                    org.slug,
                    m.id
                ),
                "deactivated in",
            );
        }
        MemberCommand::SignOut { slug, member, json } => {
            let org = org_named(store, &slug).await?;
            let target = member_in(store, &org, &member).await?;
            let (m, ended) = membership::sign_out_everywhere(
                store,
                &Actor::Operator,
                &org.id,
                target.id.as_str(),
            )
            .await
            .map_err(operator_error)?;
            if json {
                println!(
                    "{}",
                    json!({"org": org.slug, "member": member_json(&m), "sessions_ended": ended})
                );
            } else {
                println!(
                    "Signed {} ({}) out everywhere in {}: {ended} session{} ended. They may sign in again through Okta.",
                    who(&m),
                    m.id,
                    org.slug,
                    if ended == 1 { "" } else { "s" }
                );
            }
        }
        MemberCommand::Reactivate { slug, member, json } => {
            let org = org_named(store, &slug).await?;
            let target = member_in(store, &org, &member).await?;
            let m = membership::reactivate(store, &Actor::Operator, &org.id, target.id.as_str())
                .await
                .map_err(operator_error)?;
            let changed = m.status != target.status;
            print_member_change(
                json,
                &org,
                &m,
                changed,
                format!(
                    "Reactivated {} ({}) in {}: they may sign in again.",
                    who(&m),
                    m.id,
                    org.slug
                ),
                "active in",
            );
        }
        MemberCommand::Remove {
            slug,
            member,
            yes,
            json,
        } => {
            let org = org_named(store, &slug).await?;
            let target = member_in(store, &org, &member).await?;
            // The owner is refused before anyone is asked.
            membership::may_operator(Action::Remove, &target).map_err(invalid)?;
            if !yes {
                let question = format!(
                    "Remove {} ({}, {}) from {}? Their sessions end; with just-in-time provisioning on, their next Okta sign-in makes them a new member. [y/N]",
                    who(&target),
                    target.id,
                    target.role,
                    org.slug
                );
                match ask(&question)? {
                    None => {
                        return Err(invalid(format!(
                            "removing {} ({}) from {} needs confirmation and there is no terminal to ask on: add --yes",
                            who(&target),
                            target.id,
                            org.slug
                        )));
                    }
                    Some(answer) if matches!(answer.to_lowercase().as_str(), "y" | "yes") => {}
                    Some(_) => {
                        return Err(invalid(format!(
                            "not confirmed: {} stays a member of {}",
                            who(&target),
                            org.slug
                        )));
                    }
                }
            }
            let m = membership::remove(store, &Actor::Operator, &org.id, target.id.as_str())
                .await
                .map_err(operator_error)?;
            if json {
                println!("{}", json!({"org": org.slug, "removed": member_json(&m)}));
            } else {
                println!(
                    "Removed {} ({}) from {}: their sessions have ended and the setup links they made are revoked.",
                    who(&m),
                    m.id,
                    org.slug
                );
            }
        }
    }
    Ok(())
}

/// `tessera org delete <slug> [--yes] [--json]`.
async fn delete_org(store: &Store, slug: &str, yes: bool, json: bool) -> Result<(), CliError> {
    let slug = validate::slug(slug).map_err(invalid)?;
    let org = store.require_org(slug).await?;
    if !yes {
        let members = store.count_members(&org.id).await?;
        let question = format!(
            "This deletes org {} ({}) with its {} and everything else of it (Okta connection, setup links, login attempts, audit log). There is no undo. Type the slug to confirm:",
            org.slug,
            org.name,
            plural(
                u64::try_from(members).unwrap_or_default(),
                "member",
                "members"
            )
        );
        match ask(&question)? {
            None => {
                return Err(invalid(format!(
                    "deleting org {} removes its {} and everything else of it, with no undo, and there is no terminal to ask on: add --yes",
                    org.slug,
                    plural(
                        u64::try_from(members).unwrap_or_default(),
                        "member",
                        "members"
                    )
                )));
            }
            Some(answer) if answer == org.slug => {}
            Some(_) => {
                return Err(invalid(format!(
                    "not confirmed (the slug typed was not {}): nothing was deleted",
                    org.slug
                )));
            }
        }
    }
    let d = orgs::delete(store, &Actor::Operator, &org)
        .await
        .map_err(|e| match e {
            DomainError::NotFound => invalid(format!("org {} was deleted meanwhile", org.slug)),
            other => operator_error(other),
        })?;
    if json {
        println!(
            "{}",
            json!({
                "deleted": org.slug,
                "name": org.name,
                "members": d.members,
                "sessions": d.sessions,
                "connections": d.connections,
                "setup_links": d.setup_links,
                "login_flows": d.login_flows,
                "login_attempts": d.login_attempts,
                "audit_entries": d.audit_entries,
            })
        );
    } else {
        println!(
            "Deleted org {} ({}) and everything of it: {}.",
            org.slug,
            org.name,
            deleted_parts(&d)
        );
    }
    Ok(())
}

/// What an org's deletion took with it, in words.
fn deleted_parts(d: &OrgDeleted) -> String {
    [
        plural(d.members, "member", "members"),
        plural(d.sessions, "session", "sessions"),
        plural(d.connections, "Okta connection", "Okta connections"),
        plural(d.setup_links, "setup link", "setup links"),
        plural(d.login_flows, "sign-in in flight", "sign-ins in flight"),
        plural(d.login_attempts, "login attempt", "login attempts"),
        plural(d.audit_entries, "audit entry", "audit entries"),
    ]
    .join(", ")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Asks a question on the terminal (on stderr) and reads the answer (one line of stdin, at
/// most 1 KiB). `None` when stdin is not a terminal: scripts confirm with `--yes` instead.
fn ask(question: &str) -> Result<Option<String>, CliError> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(None);
    }
    eprint!("{question} ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    stdin
        .lock()
        .take(1024)
        .read_line(&mut line)
        .map_err(|e| invalid(format!("cannot read the answer: {e}")))?;
    Ok(Some(line.trim().to_string()))
}

/// The org named by `slug` (validated first).
async fn org_named(store: &Store, slug: &str) -> Result<Org, CliError> {
    let slug = validate::slug(slug).map_err(invalid)?;
    Ok(store.require_org(slug).await?)
}

/// The member of `org` the operator names, by id or email ([`membership::member_named`]).
async fn member_in(store: &Store, org: &Org, member: &str) -> Result<Member, CliError> {
    membership::member_named(store, &org.id, member)
        .await
        .map_err(|e| match e {
            DomainError::NotFound => invalid(format!(
                "no member {} in org {}: give a member id or email (see `tessera member list {}`)",
                validate::quoted(member.trim()),
                org.slug,
                org.slug
            )),
            other => operator_error(other),
        })
}

/// `--role owner|admin|member` of `member list`.
fn role_filter(role: &str) -> Result<Role, CliError> {
    Role::parse(role.trim()).ok_or_else(|| {
        invalid(format!(
            "invalid --role {}: use owner, admin or member",
            validate::quoted(role)
        ))
    })
}

/// `--status active|deactivated` of `member list`.
fn status_filter(status: &str) -> Result<MemberStatus, CliError> {
    MemberStatus::parse(status.trim()).ok_or_else(|| {
        invalid(format!(
            "invalid --status {}: use active or deactivated",
            validate::quoted(status)
        ))
    })
}

/// How messages name a member: their email, else their name.
fn who(m: &Member) -> &str {
    if m.email.is_empty() {
        &m.name
    } else {
        &m.email
    }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

/// The JSON form of a member used by the `member` commands.
fn member_json(m: &Member) -> serde_json::Value {
    json!({
        "id": m.id,
        "email": m.email,
        "name": m.name,
        "role": m.role,
        "status": m.status,
        "issuer": m.issuer,
        "subject": m.subject,
        "created_at": format_time(m.created_at),
        "last_login_at": m.last_login_at.map(format_time),
    })
}

/// Rows under a header, each column as wide as its widest cell (in characters) and two spaces
/// from the next; the columns in `right` (numbers) align right, the last one is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w.saturating_sub(cell.chars().count()));
            if right.contains(&i) {
                out.push_str(&pad);
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if i != last {
                    out.push_str(&pad);
                }
            }
            if i != last {
                out.push_str("  ");
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
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
    let org = org_named(store, slug).await?;
    let target = member_in(store, &org, member).await?;
    let membership::Transferred { owner, previous } =
        membership::transfer_ownership(store, &Actor::Operator, &org.id, target.id.as_str())
            .await
            .map_err(operator_error)?;
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
    let public_url = app::ssr::PublicUrl(config.public_url.clone());
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
            "provisioning": s.provisioning,
            "universal_logout": s.universal_logout,
            "shared_signals": s.shared_signals,
            "updated_at": format_time(s.updated_at),
        })),
        "initiate_login_uri": config.initiate_login_uri(),
        "sign_in_redirect_uri": config.redirect_uri(),
        "scim_base_url": app::ssr::scim::base_url(&public_url),
        "universal_logout_endpoint": public_url.universal_logout_endpoint(),
        "shared_signals": {
            "endpoint": public_url.ssf_endpoint(),
            "audience": public_url.ssf_audience(&org.slug),
        },
    })
}

/// A unix-ms timestamp to the minute, in UTC: `2026-11-26T22:05Z`.
pub(crate) fn short_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
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

/// Prints a member command's outcome: `{"org", "member", "changed"}` with `--json`; else `done`
/// when it changed something, or "… is already {already} {org}: nothing changed."
fn print_member_change(
    json: bool,
    org: &Org,
    m: &Member,
    changed: bool,
    done: String,
    already: &str,
) {
    if json {
        println!(
            "{}",
            json!({"org": org.slug, "member": member_json(m), "changed": changed})
        );
    } else if changed {
        println!("{done}");
    } else {
        println!(
            "{} ({}) is already {already} {}: nothing changed.",
            who(m),
            m.id,
            org.slug
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_whatever_the_lengths() {
        let rows = vec![
            vec!["a".to_string(), "7".to_string(), "Ä long name".to_string()],
            vec![
                "a-much-longer-slug".to_string(),
                "12345".to_string(),
                "x".to_string(),
            ],
        ];
        let text = table(&["SLUG", "N", "NAME"], &rows, &[1]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "SLUG                    N  NAME");
        assert_eq!(lines[1], "a                       7  Ä long name");
        assert_eq!(lines[2], "a-much-longer-slug  12345  x");
    }

    #[test]
    fn short_times_are_utc_minutes() {
        assert_eq!(short_time(0), "1970-01-01T00:00Z");
        assert_eq!(short_time(1_796_335_503_639), "2026-12-03T22:05Z");
    }
}
