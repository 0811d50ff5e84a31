//! The SCIM 2.0 endpoint at `/scim/v2` (RFC 7644), HTTP <-> domain only: the bearer token names
//! the org ([`app::ssr::scim::authenticate`]), the wire protocol is `app::api::scim`, members
//! change through the membership core (`membership::scim_*`) and groups through `ssr::scim`.
//!
//! Outside the browser stack: no session, no CSRF check (Okta calls server to server), and
//! its own limits: bodies up to 1 MiB (413 with a SCIM error above), the same target, header
//! and body-time limits as every route. Every answer is `application/scim+json`; every error
//! is a SCIM error body (RFC 7644 section 3.12) — 401 for a missing, malformed, unknown or
//! revoked token (counted in `tessera_scim_unauthorized`), 403 when the org does not accept
//! SCIM (no Okta connection, provisioning mode `jit`). Every authenticated request is written
//! to the org's provisioning log and counted in `tessera_scim_requests`.

use crate::limits::BodyRead;
use crate::state::AppState;
use app::api::scim::{self as wire, Projection, ScimError, ScimType, discovery, filter, patch};
use app::model::{GroupId, MemberId, MemberStatus};
use app::ssr::PublicUrl;
use app::ssr::membership::{self, DomainError, ScimCreated};
use app::ssr::scim::{self as domain, AuthError, Refused, ScimCaller};
use app::ssr::store::scim::{ScimRequest, ScimUser, UserFilter};
use app::ssr::store::{Store, StoreError};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use std::time::Instant;

/// The routes under `/scim/v2`, with their own guards.
pub fn routes(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route("/Users", get(list_users).post(create_user))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route(
            "/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route("/.search", axum::routing::post(search_not_supported))
        .route("/Users/.search", axum::routing::post(search_not_supported))
        .route("/Groups/.search", axum::routing::post(search_not_supported))
        .fallback(unknown)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        .layer(axum::middleware::from_fn(bounded));
    Router::new().nest("/scim/v2", api)
}

// ---- answers -------------------------------------------------------------------------------------

/// A SCIM answer: status, JSON body (none for 204), and what the provisioning log records.
struct Answer {
    status: StatusCode,
    body: Option<Value>,
    location: Option<String>,
    note: Note,
}

/// What the provisioning log records about a request besides method, path and status.
#[derive(Clone, Debug, Default)]
struct Note {
    operation: &'static str,
    summary: String,
    member_id: Option<MemberId>,
    about: String,
    scim_type: String,
}

impl Answer {
    fn ok(body: Value, note: Note) -> Answer {
        Answer {
            status: StatusCode::OK,
            body: Some(body),
            location: None,
            note,
        }
    }
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    resp
}

fn error_response(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = scim_json(status, &e.body());
    if e.status == 401 {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"tessera-scim\""),
        );
    }
    resp
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut resp = match &self.body {
            Some(body) => scim_json(self.status, body),
            None => self.status.into_response(),
        };
        if let Some(l) = self
            .location
            .as_deref()
            .and_then(|l| HeaderValue::from_str(l).ok())
        {
            resp.headers_mut().insert(header::LOCATION, l);
        }
        resp.extensions_mut().insert(self.note);
        resp
    }
}

/// A failed request: its SCIM error, and the operation for the log.
struct Failed(ScimError, &'static str);

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        let mut resp = error_response(&self.0);
        resp.extensions_mut().insert(Note {
            operation: self.1,
            summary: app::validate::bounded(&self.0.detail, 200),
            scim_type: self
                .0
                .scim_type
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            ..Note::default()
        });
        resp
    }
}

type Result<T> = std::result::Result<T, Failed>;

/// The SCIM error of a domain error.
fn domain_error(e: DomainError) -> ScimError {
    match e {
        DomainError::NotFound => {
            ScimError::new(404, None, "No such resource in this organization.")
        }
        DomainError::Forbidden(m) => ScimError::new(403, None, m),
        DomainError::Invalid(m) => ScimError::bad(ScimType::InvalidValue, m),
        DomainError::Taken(m) => ScimError::new(409, Some(ScimType::Uniqueness), m),
        DomainError::Conflict(m) => ScimError::new(409, None, m),
        DomainError::RateLimited { .. } => ScimError::new(429, None, "Too many requests."),
        DomainError::ConnectionTestFailed(_) => {
            ScimError::new(400, None, "The connection test failed.")
        }
        DomainError::Store(e) => store_error(e),
    }
}

fn store_error(e: StoreError) -> ScimError {
    if e.is_unavailable() {
        tracing::warn!(error = %e, "SCIM request: the database is unavailable");
        ScimError::new(503, None, "The database is unavailable: retry later.")
    } else if e.is_bad_input() {
        ScimError::bad(
            ScimType::InvalidValue,
            "The database refused a value of the request.",
        )
    } else if e.is_gone() {
        tracing::info!(error = %e, "SCIM request: what it names was deleted meanwhile");
        ScimError::new(404, None, "No such resource in this organization.")
    } else {
        tracing::error!(error = %e, "SCIM request failed");
        ScimError::new(500, None, "Tessera failed to complete the request.")
    }
}

trait OrFail<T> {
    fn or_fail(self, operation: &'static str) -> Result<T>;
}

impl<T> OrFail<T> for std::result::Result<T, ScimError> {
    fn or_fail(self, operation: &'static str) -> Result<T> {
        self.map_err(|e| Failed(e, operation))
    }
}

impl<T> OrFail<T> for std::result::Result<T, DomainError> {
    fn or_fail(self, operation: &'static str) -> Result<T> {
        self.map_err(|e| Failed(domain_error(e), operation))
    }
}

impl<T> OrFail<T> for std::result::Result<T, StoreError> {
    fn or_fail(self, operation: &'static str) -> Result<T> {
        self.map_err(|e| Failed(store_error(e), operation))
    }
}

// ---- guards --------------------------------------------------------------------------------------

/// The refusal of a SCIM request whose target, headers, announced body length or media type is
/// out of bounds, before any of its body is read.
fn refused_head(req: &Request) -> Option<Response> {
    let refuse = |status: u16, scim_type: Option<ScimType>, detail: String| {
        error_response(&ScimError::new(status, scim_type, detail))
    };
    match crate::limits::refused_head(req, wire::MAX_PAYLOAD_BYTES) {
        Some((413, _)) => return Some(too_large()),
        Some((status, why)) => return Some(refuse(status, None, why.into())),
        None => {}
    }
    if matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        let media = crate::limits::media_type(req.headers());
        if let Some(media) = media
            && media != wire::MEDIA_TYPE
            && media != "application/json"
        {
            return Some(refuse(
                415,
                None,
                "Send the body as application/scim+json (or application/json).".into(),
            ));
        }
    }
    None
}

/// The 413 of a body over [`wire::MAX_PAYLOAD_BYTES`].
fn too_large() -> Response {
    error_response(&ScimError::new(
        413,
        None,
        format!(
            "A SCIM request body has at most {} MiB.",
            wire::MAX_PAYLOAD_BYTES / (1024 * 1024)
        ),
    ))
}

/// Bounds a SCIM request ([`refused_head`], then a body of at most [`wire::MAX_PAYLOAD_BYTES`]
/// arriving within the usual time) and checks a body's media type; every refusal is a SCIM
/// error body.
async fn bounded(req: Request, next: Next) -> Response {
    let refuse = |status: u16, scim_type: Option<ScimType>, detail: String| {
        error_response(&ScimError::new(status, scim_type, detail))
    };
    if let Some(refused) = refused_head(&req) {
        return refused;
    }
    let (parts, body) = req.into_parts();
    let bytes = match crate::limits::read_body(body, wire::MAX_PAYLOAD_BYTES).await {
        BodyRead::TooSlow => {
            return refuse(
                408,
                None,
                "The request body took too long to arrive.".into(),
            );
        }
        BodyRead::Whole(bytes) => bytes,
        BodyRead::TooLarge => return too_large(),
        BodyRead::Broken => {
            return refuse(
                400,
                Some(ScimType::InvalidSyntax),
                "The request body could not be read.".into(),
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Resolves the bearer token to the org it provisions, runs the request, and records it in the
/// org's provisioning log and the metrics.
async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .unwrap_or("");
    let caller = match domain::authenticate(&state.store, token).await {
        Ok(caller) => caller,
        Err(AuthError::Refused(Refused::Unauthenticated)) => {
            state.metrics.scim_unauthorized();
            return error_response(&ScimError::new(
                401,
                None,
                "Send a valid SCIM token of the organization: Authorization: Bearer <token>. A token is created by the organization's owner in Tessera (SSO page, Provisioning).",
            ));
        }
        Err(AuthError::Refused(Refused::Off)) => {
            return error_response(&ScimError::new(
                403,
                None,
                "SCIM provisioning is off for this organization: its provisioning mode is jit, or it has no Okta connection. The owner sets the mode to scim or both on the SSO page.",
            ));
        }
        Err(AuthError::Store(e)) => return error_response(&store_error(e)),
    };
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    let org_id = caller.org.id.clone();
    req.extensions_mut().insert(caller);
    let started = Instant::now();
    let resp = next.run(req).await;
    let note = resp.extensions().get::<Note>().cloned().unwrap_or_default();
    let operation = if note.operation.is_empty() {
        "other"
    } else {
        note.operation
    };
    state.metrics.scim_request(operation, resp.status());
    let entry = ScimRequest {
        at: state.store.now_ms(),
        method,
        path,
        status: resp.status().as_u16(),
        scim_type: note.scim_type,
        summary: note.summary,
        member_id: note.member_id,
        about: note.about,
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
    };
    domain::record(&state.store, &org_id, &entry).await;
    resp
}

fn caller(req: &axum::http::Extensions) -> std::result::Result<&ScimCaller, Failed> {
    req.get::<ScimCaller>().ok_or_else(|| {
        Failed(
            ScimError::new(500, None, "The SCIM caller is not resolved."),
            "other",
        )
    })
}

async fn unknown() -> Response {
    error_response(&ScimError::new(
        404,
        None,
        "No such SCIM endpoint: Tessera serves /ServiceProviderConfig, /ResourceTypes, /Schemas, /Users and /Groups.",
    ))
}

/// `POST /.search` (RFC 7644 section 3.4.3): not offered; lists take `filter` in the query.
async fn search_not_supported() -> Response {
    error_response(&ScimError::new(
        501,
        None,
        "Searching with POST /.search is not supported: use GET with filter, startIndex and count.",
    ))
}

async fn method_not_allowed(method: Method) -> Response {
    error_response(&ScimError::new(
        405,
        None,
        format!("This SCIM endpoint does not take {method}."),
    ))
}

// ---- request pieces ------------------------------------------------------------------------------

fn base(state: &AppState) -> String {
    domain::base_url(&PublicUrl(state.config.public_url.clone()))
}

/// The query's parameters (last value wins), names in any case.
fn query(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The whole body (already bounded by [`bounded`]).
async fn read_body(req: Request, operation: &'static str) -> Result<axum::body::Bytes> {
    axum::body::to_bytes(req.into_body(), wire::MAX_PAYLOAD_BYTES)
        .await
        .map_err(|_| {
            Failed(
                ScimError::bad(ScimType::InvalidSyntax, "The body could not be read."),
                operation,
            )
        })
}

fn body(bytes: &[u8], operation: &'static str) -> Result<serde_json::Map<String, Value>> {
    wire::object(bytes).or_fail(operation)
}

/// The member a `/Users/{id}` names (a malformed id is as unknown as a missing one).
async fn user(store: &Store, c: &ScimCaller, id: &str, op: &'static str) -> Result<ScimUser> {
    let Ok(id) = MemberId::parse(id) else {
        return Err(Failed(ScimError::not_found("user"), op));
    };
    store
        .scim_user(&c.org.id, &id)
        .await
        .or_fail(op)?
        .ok_or_else(|| Failed(ScimError::not_found("user"), op))
}

async fn user_json(state: &AppState, u: &ScimUser, op: &'static str) -> Result<Value> {
    let groups = state
        .store
        .groups_of_member(&u.member.id)
        .await
        .or_fail(op)?;
    Ok(wire::user_resource(&base(state), u, &groups))
}

fn user_note(op: &'static str, u: &ScimUser, summary: impl Into<String>) -> Note {
    Note {
        operation: op,
        summary: summary.into(),
        member_id: Some(u.member.id.clone()),
        about: u.user_name.clone(),
        scim_type: String::new(),
    }
}

// ---- discovery -----------------------------------------------------------------------------------

fn discovered(body: Value) -> Answer {
    Answer::ok(
        body,
        Note {
            operation: "discovery",
            ..Note::default()
        },
    )
}

/// The resource of `list` whose `id` is `id`, or 404 naming `what`.
fn one_of(list: Vec<Value>, id: &str, what: &str) -> Result<Answer> {
    list.into_iter()
        .find(|r| r["id"] == id)
        .map(discovered)
        .ok_or_else(|| Failed(ScimError::not_found(what), "discovery"))
}

async fn service_provider_config(State(state): State<AppState>) -> Answer {
    discovered(discovery::service_provider_config(&base(&state)))
}

async fn resource_types(State(state): State<AppState>) -> Answer {
    discovered(discovery::list(discovery::resource_types(&base(&state))))
}

async fn resource_type(State(state): State<AppState>, Path(id): Path<String>) -> Result<Answer> {
    one_of(
        discovery::resource_types(&base(&state)),
        &id,
        "resource type",
    )
}

async fn schemas(State(state): State<AppState>) -> Answer {
    discovered(discovery::list(discovery::schemas(&base(&state))))
}

async fn schema(State(state): State<AppState>, Path(id): Path<String>) -> Result<Answer> {
    one_of(discovery::schemas(&base(&state)), &id, "schema")
}

// ---- users ---------------------------------------------------------------------------------------

async fn list_users(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    req: Request,
) -> Result<Answer> {
    const OP: &str = "users_list";
    let c = caller(req.extensions())?;
    let q = query(raw.as_deref());
    let filter = match param(&q, "filter").map(str::trim) {
        None | Some("") => UserFilter::All,
        Some(f) => filter::users(f).or_fail(OP)?,
    };
    let (start, count) = wire::paging(param(&q, "startindex"), param(&q, "count")).or_fail(OP)?;
    let projection = Projection::new(param(&q, "attributes"), param(&q, "excludedattributes"));
    let (users, total) = state
        .store
        .scim_users(&c.org.id, &filter, start - 1, count)
        .await
        .or_fail(OP)?;
    let b = base(&state);
    let mut resources = Vec::with_capacity(users.len());
    for u in &users {
        let groups = if projection.keeps("groups") {
            state
                .store
                .groups_of_member(&u.member.id)
                .await
                .or_fail(OP)?
        } else {
            Vec::new()
        };
        resources.push(projection.apply(wire::user_resource(&b, u, &groups)));
    }
    let note = Note {
        operation: OP,
        summary: format!("{} of {total}", users.len()),
        about: param(&q, "filter")
            .map(|f| app::validate::bounded(f, 200))
            .unwrap_or_default(),
        ..Note::default()
    };
    Ok(Answer::ok(
        wire::list_response(resources, total, start),
        note,
    ))
}

async fn create_user(State(state): State<AppState>, req: Request) -> Result<Answer> {
    const OP: &str = "users_create";
    let c = caller(req.extensions())?.clone();
    let bytes = read_body(req, OP).await?;
    let (record, active) = wire::user_record(&body(&bytes, OP)?).or_fail(OP)?;
    let created = membership::scim_create(&state.store, &c.org, &c.sso, &record, active)
        .await
        .or_fail(OP)?;
    let (user, summary) = match created {
        ScimCreated::Created(u) => (u, "created"),
        ScimCreated::Adopted(u) => (u, "adopted (signed in before)"),
    };
    let json = user_json(&state, &user, OP).await?;
    Ok(Answer {
        status: StatusCode::CREATED,
        location: Some(wire::location(
            &base(&state),
            "Users",
            user.member.id.as_str(),
        )),
        body: Some(json),
        note: user_note(OP, &user, summary),
    })
}

async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    req: Request,
) -> Result<Answer> {
    const OP: &str = "users_get";
    let c = caller(req.extensions())?;
    let u = user(&state.store, c, &id, OP).await?;
    let q = query(raw.as_deref());
    let projection = Projection::new(param(&q, "attributes"), param(&q, "excludedattributes"));
    let json = projection.apply(user_json(&state, &u, OP).await?);
    Ok(Answer::ok(json, user_note(OP, &u, "")))
}

/// What changed between two states of a user, in a few words for the log.
fn changes(before: &ScimUser, after: &ScimUser) -> String {
    let mut said = Vec::new();
    match (before.member.status, after.member.status) {
        (MemberStatus::Active, MemberStatus::Deactivated) => said.push("deactivated"),
        (MemberStatus::Deactivated, MemberStatus::Active) => said.push("reactivated"),
        _ => {}
    }
    if before.member.email != after.member.email
        || before.member.name != after.member.name
        || before.user_name != after.user_name
    {
        said.push("profile changed");
    }
    if before.external_id != after.external_id {
        said.push("externalId set");
    }
    if said.is_empty() {
        "no change".into()
    } else {
        said.join(", ")
    }
}

async fn write_user(
    state: &AppState,
    c: &ScimCaller,
    before: &ScimUser,
    patched: serde_json::Map<String, Value>,
    op: &'static str,
) -> Result<Answer> {
    let (record, active) = wire::user_record(&patched).or_fail(op)?;
    let after = membership::scim_replace(&state.store, &c.org, before, &record, active)
        .await
        .or_fail(op)?;
    let json = user_json(state, &after, op).await?;
    Ok(Answer::ok(
        json,
        user_note(op, &after, changes(before, &after)),
    ))
}

async fn replace_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Answer> {
    const OP: &str = "users_replace";
    let c = caller(req.extensions())?.clone();
    let before = user(&state.store, &c, &id, OP).await?;
    let bytes = read_body(req, OP).await?;
    let replaced = body(&bytes, OP)?;
    write_user(&state, &c, &before, replaced, OP).await
}

async fn patch_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Answer> {
    const OP: &str = "users_patch";
    let c = caller(req.extensions())?.clone();
    let before = user(&state.store, &c, &id, OP).await?;
    let bytes = read_body(req, OP).await?;
    let ops = body(&bytes, OP)?;
    let current = match wire::user_resource(&base(&state), &before, &[]) {
        Value::Object(o) => o,
        _ => serde_json::Map::new(),
    };
    let patched = patch::user(current, &ops).or_fail(OP)?;
    write_user(&state, &c, &before, patched, OP).await
}

async fn delete_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Answer> {
    const OP: &str = "users_delete";
    let c = caller(req.extensions())?;
    let u = user(&state.store, c, &id, OP).await?;
    membership::scim_delete(&state.store, &c.org, &u)
        .await
        .or_fail(OP)?;
    let summary = if u.member.role == app::model::Role::Owner {
        "the owner: deactivated, not removed"
    } else {
        "removed"
    };
    Ok(Answer {
        status: StatusCode::NO_CONTENT,
        body: None,
        location: None,
        note: user_note(OP, &u, summary),
    })
}

// ---- groups --------------------------------------------------------------------------------------

fn group_id(id: &str, op: &'static str) -> Result<GroupId> {
    GroupId::parse(id).map_err(|_| Failed(ScimError::not_found("group"), op))
}

fn group_note(op: &'static str, name: &str, summary: String) -> Note {
    Note {
        operation: op,
        summary,
        about: name.to_string(),
        ..Note::default()
    }
}

fn delta_summary(d: &app::ssr::store::scim::MemberDelta) -> String {
    format!("added {}, removed {}", d.added.len(), d.removed.len())
}

async fn group_json(
    state: &AppState,
    g: &app::ssr::store::scim::ScimGroup,
    projection: &Projection,
    op: &'static str,
) -> Result<Value> {
    let members = if projection.keeps("members") {
        Some(state.store.scim_group_members(&g.id).await.or_fail(op)?)
    } else {
        None
    };
    Ok(projection.apply(wire::group_resource(&base(state), g, members.as_deref())))
}

async fn list_groups(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    req: Request,
) -> Result<Answer> {
    const OP: &str = "groups_list";
    let c = caller(req.extensions())?;
    let q = query(raw.as_deref());
    let filter = match param(&q, "filter").map(str::trim) {
        None | Some("") => app::ssr::store::scim::GroupFilter::All,
        Some(f) => filter::groups(f).or_fail(OP)?,
    };
    let (start, count) = wire::paging(param(&q, "startindex"), param(&q, "count")).or_fail(OP)?;
    let projection = Projection::new(param(&q, "attributes"), param(&q, "excludedattributes"));
    let (groups, total) = state
        .store
        .scim_groups(&c.org.id, &filter, start - 1, count)
        .await
        .or_fail(OP)?;
    let mut resources = Vec::with_capacity(groups.len());
    for g in &groups {
        resources.push(group_json(&state, g, &projection, OP).await?);
    }
    let note = Note {
        operation: OP,
        summary: format!("{} of {total}", groups.len()),
        about: param(&q, "filter")
            .map(|f| app::validate::bounded(f, 200))
            .unwrap_or_default(),
        ..Note::default()
    };
    Ok(Answer::ok(
        wire::list_response(resources, total, start),
        note,
    ))
}

async fn create_group(State(state): State<AppState>, req: Request) -> Result<Answer> {
    const OP: &str = "groups_create";
    let c = caller(req.extensions())?.clone();
    let bytes = read_body(req, OP).await?;
    let edit = wire::group_edit(&body(&bytes, OP)?).or_fail(OP)?;
    let (group, delta) = domain::write_group(&state.store, &c, None, &edit)
        .await
        .or_fail(OP)?;
    let json = group_json(&state, &group, &Projection::default(), OP).await?;
    Ok(Answer {
        status: StatusCode::CREATED,
        location: Some(wire::location(&base(&state), "Groups", group.id.as_str())),
        body: Some(json),
        note: group_note(
            OP,
            &group.display_name,
            format!("created, {}", delta_summary(&delta)),
        ),
    })
}

async fn get_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    req: Request,
) -> Result<Answer> {
    const OP: &str = "groups_get";
    let c = caller(req.extensions())?;
    let id = group_id(&id, OP)?;
    let group = state
        .store
        .scim_group(&c.org.id, &id)
        .await
        .or_fail(OP)?
        .ok_or_else(|| Failed(ScimError::not_found("group"), OP))?;
    let q = query(raw.as_deref());
    let projection = Projection::new(param(&q, "attributes"), param(&q, "excludedattributes"));
    let json = group_json(&state, &group, &projection, OP).await?;
    Ok(Answer::ok(
        json,
        group_note(OP, &group.display_name, String::new()),
    ))
}

async fn replace_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Answer> {
    const OP: &str = "groups_replace";
    let c = caller(req.extensions())?.clone();
    let id = group_id(&id, OP)?;
    let bytes = read_body(req, OP).await?;
    let edit = wire::group_edit(&body(&bytes, OP)?).or_fail(OP)?;
    let (group, delta) = domain::write_group(&state.store, &c, Some(&id), &edit)
        .await
        .or_fail(OP)?;
    let json = group_json(&state, &group, &Projection::default(), OP).await?;
    Ok(Answer::ok(
        json,
        group_note(OP, &group.display_name, delta_summary(&delta)),
    ))
}

async fn patch_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Answer> {
    const OP: &str = "groups_patch";
    let c = caller(req.extensions())?.clone();
    let id = group_id(&id, OP)?;
    let bytes = read_body(req, OP).await?;
    let edit = patch::group(&body(&bytes, OP)?).or_fail(OP)?;
    let (group, delta) = domain::write_group(&state.store, &c, Some(&id), &edit)
        .await
        .or_fail(OP)?;
    // Okta expects 204 for a group PATCH (no need to send a large member list back).
    Ok(Answer {
        status: StatusCode::NO_CONTENT,
        body: None,
        location: None,
        note: group_note(OP, &group.display_name, delta_summary(&delta)),
    })
}

async fn delete_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Answer> {
    const OP: &str = "groups_delete";
    let c = caller(req.extensions())?;
    let id = group_id(&id, OP)?;
    let group = domain::delete_group(&state.store, c, &id)
        .await
        .or_fail(OP)?;
    Ok(Answer {
        status: StatusCode::NO_CONTENT,
        body: None,
        location: None,
        note: group_note(OP, &group.display_name, "deleted".into()),
    })
}
