//! The SCIM 2.0 wire protocol (RFC 7643 resources, RFC 7644 messages) as Okta's lifecycle
//! management speaks it: request bodies parsed into the domain's terms ([`UserRecord`],
//! [`GroupEdit`]), filters ([`filter`]), PATCH operations ([`patch`]), resources and list
//! responses rendered, errors in the SCIM error schema ([`ScimError`]), and the discovery
//! documents ([`discovery`]). No HTTP and no store here: `server/src/scim.rs` is the adapter.

pub mod discovery;
pub mod filter;
pub mod patch;

use crate::model::{GroupId, MemberId};
use crate::ssr::scim::GroupEdit;
use crate::ssr::store::scim::{ScimGroup, ScimUser, UserRecord};
use serde_json::{Map, Value, json};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The media type of every SCIM answer (RFC 7644 section 3.1); requests may also send
/// `application/json`.
pub const MEDIA_TYPE: &str = "application/scim+json";

/// Largest request body, in bytes (RFC 7644's `maxPayloadSize` in `/ServiceProviderConfig`);
/// larger answers 413.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Most resources one list answer holds (`count` above it is lowered to it).
pub const MAX_RESULTS: i64 = 1000;
/// Most operations in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;
/// Most members one group request names.
pub const MAX_MEMBERS_PER_REQUEST: usize = 10_000;
/// Longest userName, externalId, email or name part, in characters.
pub const MAX_VALUE_CHARS: usize = 256;

/// The `scimType` of an error (RFC 7644 section 3.12, table 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
        }
    }
}

/// A SCIM error answer: the HTTP status, the `scimType` (for 400 and 409) and a sentence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with `scim_type`.
    pub fn bad(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(404, None, format!("No such {what} in this organization."))
    }

    /// The body (RFC 7644 section 3.12): `status` is a string, as the RFC writes it.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t.as_str());
        }
        body
    }
}

/// RFC 3339 UTC time of unix milliseconds, as SCIM's `dateTime` (RFC 7643 section 2.3.5).
pub fn date_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A text attribute of a request: absent or null is `None`; a string is trimmed and must have
/// at most [`MAX_VALUE_CHARS`] characters and no control characters; anything else is
/// refused (`invalidValue`).
fn text(v: Option<&Value>, what: &str) -> Result<Option<String>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > MAX_VALUE_CHARS || s.chars().any(char::is_control) {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    format!(
                        "{what} has at most {MAX_VALUE_CHARS} characters and no control characters."
                    ),
                ));
            }
            Ok((!s.is_empty()).then(|| s.to_string()))
        }
        Some(_) => Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("{what} must be a string."),
        )),
    }
}

/// A boolean attribute: `true`/`false`, or the strings "true"/"false" in any case (as some
/// clients send them); absent or null is `None`.
pub fn boolean(v: Option<&Value>, what: &str) -> Result<Option<bool>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("{what} must be true or false."),
        )),
    }
}

/// The value of `key` in `o`, the key matched in any case (attribute names are
/// case-insensitive, RFC 7643 section 2.1).
pub fn get<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The body as a JSON object, or `invalidSyntax`.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, ScimError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ScimError::bad(
            ScimType::InvalidSyntax,
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ScimError::bad(
            ScimType::InvalidSyntax,
            format!("The request body is not valid JSON: {e}"),
        )),
    }
}

/// The `schemas` of a request body, when present, must list `schema`.
fn check_schemas(o: &Map<String, Value>, schema: &str) -> Result<(), ScimError> {
    match get(o, "schemas") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(list)) if list.iter().any(|s| s.as_str() == Some(schema)) => Ok(()),
        Some(_) => Err(ScimError::bad(
            ScimType::InvalidSyntax,
            format!("schemas must list {schema}."),
        )),
    }
}

/// A User resource's body (`POST`, `PUT`, or a user after PATCH operations) as the domain
/// stores it, and its `active` (default true). Unknown attributes and extension schemas are
/// ignored; a password is never read.
pub fn user_record(o: &Map<String, Value>) -> Result<(UserRecord, bool), ScimError> {
    check_schemas(o, USER_SCHEMA)?;
    let user_name = text(get(o, "userName"), "userName")?
        .ok_or_else(|| ScimError::bad(ScimType::InvalidValue, "userName is required."))?;
    let external_id = text(get(o, "externalId"), "externalId")?;
    let name = match get(o, "name") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(n)) => n.clone(),
        Some(_) => {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "name must be an object.",
            ));
        }
    };
    let given_name = text(get(&name, "givenName"), "name.givenName")?.unwrap_or_default();
    let family_name = text(get(&name, "familyName"), "name.familyName")?.unwrap_or_default();
    // `name.formatted` is read-only (Tessera renders it): never read back.
    text(get(&name, "formatted"), "name.formatted")?;
    let display_name = text(get(o, "displayName"), "displayName")?;
    let display = display_name
        .clone()
        .or_else(|| {
            let full = format!("{given_name} {family_name}");
            let full = full.trim();
            (!full.is_empty()).then(|| full.to_string())
        })
        .unwrap_or_else(|| user_name.clone());
    let email = primary_email(get(o, "emails"))?.unwrap_or_default();
    let active = boolean(get(o, "active"), "active")?.unwrap_or(true);
    Ok((
        UserRecord {
            user_name,
            external_id,
            given_name,
            family_name,
            display_name: display_name.unwrap_or_default(),
            name: display,
            email,
        },
        active,
    ))
}

/// The primary email of `emails` (a list of `{value, type, primary}`): the one marked primary,
/// else the work one, else the first.
fn primary_email(v: Option<&Value>) -> Result<Option<String>, ScimError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "emails must be a list.",
            ));
        }
    };
    let mut emails = Vec::new();
    for e in list {
        let Value::Object(e) = e else {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "Each of emails must be an object with a value.",
            ));
        };
        let Some(value) = text(get(e, "value"), "emails.value")? else {
            continue;
        };
        let primary = boolean(get(e, "primary"), "emails.primary")?.unwrap_or(false);
        let work =
            text(get(e, "type"), "emails.type")?.is_some_and(|t| t.eq_ignore_ascii_case("work"));
        emails.push((value, primary, work));
    }
    let pick = emails
        .iter()
        .find(|e| e.1)
        .or_else(|| emails.iter().find(|e| e.2))
        .or_else(|| emails.first());
    Ok(pick.map(|e| e.0.clone()))
}

/// Where resources live: `{base}/Users/{id}`.
pub fn location(base: &str, kind: &str, id: &str) -> String {
    format!("{base}/{kind}/{id}")
}

/// The User resource of `u` (RFC 7643 section 4.1), with its groups.
pub fn user_resource(base: &str, u: &ScimUser, groups: &[(GroupId, String)]) -> Value {
    let m = &u.member;
    let mut r = json!({
        "schemas": [USER_SCHEMA],
        "id": m.id,
        "userName": u.user_name,
        "active": m.status == crate::model::MemberStatus::Active,
        "emails": if m.email.is_empty() { json!([]) } else {
            json!([{"value": m.email, "type": "work"}])
        },
        "groups": groups.iter().map(|(id, name)| json!({
            "value": id,
            "display": name,
            "$ref": location(base, "Groups", id.as_str()),
        })).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "User",
            "created": date_time(m.created_at),
            "lastModified": date_time(u.last_modified),
            "location": location(base, "Users", m.id.as_str()),
            "version": format!("W/\"{}\"", u.last_modified),
        },
    });
    if let Some(e) = &u.external_id {
        r["externalId"] = json!(e);
    }
    // Attributes without a value are left out (RFC 7643 section 2.5): a member Tessera created
    // at sign-in has no given or family name until Okta sends them.
    let mut name = serde_json::Map::new();
    for (key, value) in [("givenName", &u.given_name), ("familyName", &u.family_name)] {
        if !value.is_empty() {
            name.insert(key.into(), json!(value));
        }
    }
    if !name.is_empty() {
        r["name"] = Value::Object(name);
    }
    // A member who never came through SCIM shows the name Tessera has for them.
    let display = if u.display_name.is_empty() && !u.scim_managed {
        &m.name
    } else {
        &u.display_name
    };
    if !display.is_empty() {
        r["displayName"] = json!(display);
    }
    r
}

/// The Group resource of `g` (RFC 7643 section 4.2); `members` `None` leaves them out
/// (`excludedAttributes=members`).
/// Members carry `value`, `$ref` and `type`; their userName (`display`) is left out: it is
/// read-only, and the member's own resource has it.
pub fn group_resource(base: &str, g: &ScimGroup, members: Option<&[(MemberId, String)]>) -> Value {
    let mut r = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id,
        "displayName": g.display_name,
        "meta": {
            "resourceType": "Group",
            "created": date_time(g.created_at),
            "lastModified": date_time(g.updated_at),
            "location": location(base, "Groups", g.id.as_str()),
            "version": format!("W/\"{}\"", g.updated_at),
        },
    });
    if let Some(members) = members {
        r["members"] = members
            .iter()
            .map(|(id, _user_name)| {
                json!({
                    "value": id,
                    "type": "User",
                    "$ref": location(base, "Users", id.as_str()),
                })
            })
            .collect();
    }
    if let Some(e) = &g.external_id {
        r["externalId"] = json!(e);
    }
    r
}

/// A list response (RFC 7644 section 3.4.2): integers, `startIndex` 1-based.
pub fn list_response(resources: Vec<Value>, total: i64, start_index: i64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}

/// A decimal integer (an optional sign, then digits); one beyond `i64` saturates (a
/// `startIndex` past every result is still an integer, and an empty page).
fn integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<i64>().unwrap_or(if s.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

/// `startIndex` and `count` of a list request (RFC 7644 section 3.4.2.4): `startIndex` below
/// 1 is 1, `count` below 0 is 0 and above [`MAX_RESULTS`] is lowered; absent, 1 and
/// [`MAX_RESULTS`]. Anything not an integer is refused (`invalidValue`).
pub fn paging(start_index: Option<&str>, count: Option<&str>) -> Result<(i64, i64), ScimError> {
    let int = |v: Option<&str>, what: &str, default: i64| -> Result<i64, ScimError> {
        match v.map(str::trim) {
            None | Some("") => Ok(default),
            Some(s) => integer(s).ok_or_else(|| {
                ScimError::bad(
                    ScimType::InvalidValue,
                    format!("{what} must be an integer."),
                )
            }),
        }
    };
    let start = int(start_index, "startIndex", 1)?.max(1);
    let count = int(count, "count", MAX_RESULTS)?.clamp(0, MAX_RESULTS);
    Ok((start, count))
}

/// The attributes a list or read asks to leave out or keep (`excludedAttributes`,
/// `attributes`, RFC 7644 section 3.4.2.5), applied to a rendered resource: `id`, `schemas`
/// and `meta` always stay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Projection {
    only: Option<Vec<String>>,
    excluded: Vec<String>,
}

impl Projection {
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Projection {
        let names = |s: &str| -> Vec<String> {
            s.split(',')
                .map(|a| {
                    let a = a.trim();
                    // A URN-qualified name keeps its last part.
                    a.rsplit(':').next().unwrap_or(a).to_ascii_lowercase()
                })
                .filter(|a| !a.is_empty())
                .collect()
        };
        Projection {
            only: attributes.map(names).filter(|l| !l.is_empty()),
            excluded: excluded.map(names).unwrap_or_default(),
        }
    }

    /// Does the projection keep `attribute` (e.g. `members`)?
    pub fn keeps(&self, attribute: &str) -> bool {
        let a = attribute.to_ascii_lowercase();
        let listed = |l: &[String]| {
            l.iter()
                .any(|x| x == &a || x.split('.').next() == Some(a.as_str()))
        };
        !listed(&self.excluded) && self.only.as_deref().is_none_or(listed)
    }

    pub fn apply(&self, mut resource: Value) -> Value {
        if let Value::Object(o) = &mut resource {
            o.retain(|k, _| matches!(k.as_str(), "id" | "schemas" | "meta") || self.keeps(k));
        }
        resource
    }
}

/// A member id named in a group request (`members[].value`): malformed is `invalidValue`.
fn member_id(v: &Value) -> Result<MemberId, ScimError> {
    let id = match v {
        Value::Object(o) => get(o, "value"),
        other => Some(other),
    };
    match id {
        Some(Value::String(s)) => MemberId::parse(s.trim()).map_err(|_| {
            ScimError::bad(
                ScimType::InvalidValue,
                format!(
                    "{} is not the id of a user of this organization.",
                    crate::validate::quoted(s)
                ),
            )
        }),
        _ => Err(ScimError::bad(
            ScimType::InvalidValue,
            "Each member must be an object with a string value (a user's id).",
        )),
    }
}

/// The member ids of a `members` value: a list of `{value}` (or one such object).
pub fn member_ids(v: Option<&Value>) -> Result<Vec<MemberId>, ScimError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "members must be a list of objects with a value.",
            ));
        }
    };
    if list.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(too_many_members());
    }
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    let mut ids: Vec<MemberId> = Vec::with_capacity(list.len());
    for v in list {
        let id = member_id(v)?;
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A request naming more than [`MAX_MEMBERS_PER_REQUEST`] members: 413 `tooMany`.
pub fn too_many_members() -> ScimError {
    ScimError::new(
        413,
        Some(ScimType::TooMany),
        format!(
            "One request names at most {MAX_MEMBERS_PER_REQUEST} members: split them across requests."
        ),
    )
}

/// A Group resource's body (`POST`, `PUT`) as a [`GroupEdit`] setting the whole member list.
pub fn group_edit(o: &Map<String, Value>) -> Result<GroupEdit, ScimError> {
    check_schemas(o, GROUP_SCHEMA)?;
    let display_name = match get(o, "displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "displayName is required and must be a non-empty string.",
            ));
        }
    };
    Ok(GroupEdit {
        display_name,
        external_id: Some(text(get(o, "externalId"), "externalId")?),
        set_members: Some(member_ids(get(o, "members"))?),
        add: Vec::new(),
        remove: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_create_user_body_is_read() {
        let body = br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"primary":true,"value":"ann@example.com","type":"work"}],"displayName":"Ann Lee","locale":"en-US","externalId":"00u1ann","groups":[],"password":"hunter2","active":true}"#;
        let (r, active) = user_record(&object(body).unwrap()).unwrap();
        assert!(active);
        assert_eq!(r.user_name, "ann@example.com");
        assert_eq!(r.external_id.as_deref(), Some("00u1ann"));
        assert_eq!(
            (r.given_name.as_str(), r.family_name.as_str()),
            ("Ann", "Lee")
        );
        assert_eq!(r.name, "Ann Lee");
        assert_eq!(r.email, "ann@example.com");
    }

    #[test]
    fn bad_user_bodies_are_refused_with_their_scim_type() {
        for (body, t) in [
            (&b"not json"[..], ScimType::InvalidSyntax),
            (b"[1]", ScimType::InvalidSyntax),
            (b"{}", ScimType::InvalidValue),
            (br#"{"userName":42}"#, ScimType::InvalidValue),
            (
                br#"{"userName":"a","active":"maybe"}"#,
                ScimType::InvalidValue,
            ),
            (br#"{"userName":"a","emails":"x"}"#, ScimType::InvalidValue),
            (br#"{"userName":"a","name":[]}"#, ScimType::InvalidValue),
            (br#"{"userName":"a\u0007b"}"#, ScimType::InvalidValue),
            (
                br#"{"schemas":["urn:x"],"userName":"a"}"#,
                ScimType::InvalidSyntax,
            ),
        ] {
            let e = object(body).and_then(|o| user_record(&o)).unwrap_err();
            assert_eq!(
                (e.status, e.scim_type),
                (400, Some(t)),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let long = format!(r#"{{"userName":"{}"}}"#, "x".repeat(MAX_VALUE_CHARS + 1));
        assert!(user_record(&object(long.as_bytes()).unwrap()).is_err());
    }

    #[test]
    fn the_primary_email_wins_then_work_then_first() {
        let pick = |v: Value| primary_email(Some(&v)).unwrap();
        assert_eq!(
            pick(json!([{"value":"a@x"},{"value":"b@x","primary":true}])).as_deref(),
            Some("b@x")
        );
        assert_eq!(
            pick(json!([{"value":"a@x","type":"home"},{"value":"b@x","type":"work"}])).as_deref(),
            Some("b@x")
        );
        assert_eq!(pick(json!([{"value":"a@x"}])).as_deref(), Some("a@x"));
        assert_eq!(pick(json!([])), None);
    }

    #[test]
    fn paging_is_bounded_and_integer() {
        assert_eq!(paging(None, None).unwrap(), (1, MAX_RESULTS));
        assert_eq!(paging(Some("0"), Some("-5")).unwrap(), (1, 0));
        assert_eq!(
            paging(Some("251"), Some("100000")).unwrap(),
            (251, MAX_RESULTS)
        );
        assert!(paging(Some("x"), None).is_err());
        assert!(paging(None, Some("1.5")).is_err());
        // Past every i64: saturated, never refused.
        assert_eq!(
            paging(Some("9223372036854775808"), Some("99999999999999999999")).unwrap(),
            (i64::MAX, MAX_RESULTS)
        );
        assert_eq!(
            paging(Some("-99999999999999999999"), Some("-9223372036854775809")).unwrap(),
            (1, 0)
        );
        for bad in ["--1", "+", "-", "1e3", "0x10", "1 2", "١"] {
            assert!(paging(Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_carry_status_as_a_string() {
        let e = ScimError::bad(ScimType::InvalidFilter, "no");
        let b = e.body();
        assert_eq!(b["status"], "400");
        assert_eq!(b["scimType"], "invalidFilter");
        assert_eq!(b["schemas"][0], ERROR_SCHEMA);
        assert!(
            ScimError::not_found("user")
                .body()
                .get("scimType")
                .is_none()
        );
    }

    #[test]
    fn projections_keep_id_and_drop_what_is_excluded() {
        let r = json!({"id": "1", "schemas": [], "meta": {}, "members": [], "displayName": "x"});
        let p = Projection::new(None, Some("members"));
        assert!(!p.keeps("members"));
        assert_eq!(p.apply(r.clone()).get("members"), None);
        let p = Projection::new(Some("displayName"), None);
        let kept = p.apply(r);
        assert!(kept.get("displayName").is_some() && kept.get("id").is_some());
        assert!(kept.get("members").is_none());
    }
}
