//! SCIM PATCH (RFC 7644 section 3.5.2) as IdPs send it, Okta's habits included:
//!
//! - Users: operations apply to the user's current resource, then the result is read like a
//!   `PUT` body ([`super::user_record`]), so every shape ends in the same checks. `add` and
//!   `replace` with or without `path` (Okta deactivates with
//!   `{"op":"replace","value":{"active":false}}`), value keys that are attribute paths
//!   (`name.givenName`) or schema-qualified, `emails[type eq "work"].value`, and `remove`.
//!   Attributes Tessera does not keep and extension schemas are ignored; `id`, `meta` and
//!   `groups` are read-only (`mutability`).
//! - Groups: operations become one [`GroupEdit`], applied in one transaction: `add` and
//!   `replace` of `members` (values without `type`, as Okta sends them), `remove` with
//!   `path=members[value eq "id"]`, with a list of values or of all members, a rename with
//!   `replace` `value: {id, displayName}` or `path=displayName`, several operations in order.

use super::{
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, MAX_MEMBERS_PER_REQUEST, MAX_OPERATIONS, PATCH_SCHEMA,
    ScimError, ScimType, USER_SCHEMA, boolean, get, member_ids, too_many_members,
};
use crate::model::MemberId;
use crate::ssr::scim::GroupEdit;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// An operation of a PATCH request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// The operations of a PATCH body: `(op, path, value)`.
fn operations(body: &Map<String, Value>) -> Result<Vec<(Op, Option<String>, Value)>, ScimError> {
    match get(body, "schemas") {
        None | Some(Value::Null) => {}
        Some(Value::Array(l)) if l.iter().any(|s| s.as_str() == Some(PATCH_SCHEMA)) => {}
        Some(_) => {
            return Err(ScimError::bad(
                ScimType::InvalidSyntax,
                format!("schemas must list {PATCH_SCHEMA}."),
            ));
        }
    }
    let Some(Value::Array(ops)) = get(body, "Operations") else {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            "A PATCH body holds a list of Operations.",
        ));
    };
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            format!("A PATCH body holds 1 to {MAX_OPERATIONS} operations."),
        ));
    }
    ops.iter()
        .map(|op| {
            let Value::Object(op) = op else {
                return Err(ScimError::bad(
                    ScimType::InvalidSyntax,
                    "Each operation is an object with op, path and value.",
                ));
            };
            let kind = match get(op, "op").and_then(Value::as_str).map(str::trim) {
                Some(o) if o.eq_ignore_ascii_case("add") => Op::Add,
                Some(o) if o.eq_ignore_ascii_case("replace") => Op::Replace,
                Some(o) if o.eq_ignore_ascii_case("remove") => Op::Remove,
                _ => {
                    return Err(ScimError::bad(
                        ScimType::InvalidSyntax,
                        "op must be add, replace or remove.",
                    ));
                }
            };
            let path = match get(op, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) if p.len() <= 1024 => Some(p.trim().to_string()),
                Some(_) => {
                    return Err(ScimError::bad(
                        ScimType::InvalidPath,
                        "path must be a string of at most 1024 bytes.",
                    ));
                }
            };
            let value = get(op, "value").cloned().unwrap_or(Value::Null);
            Ok((kind, path, value))
        })
        .collect()
}

/// What a PATCH path names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// The resource itself: the path is the core schema's URN (some clients send it instead of
    /// leaving `path` out); the value is an object of attributes, as without a path.
    Resource,
    /// An extension schema's attribute: ignored.
    Extension,
    /// An attribute (lowercased, without the core schema's URN), an optional value filter
    /// (`emails[type eq "work"]`, as sent) and an optional sub-attribute (lowercased).
    Attribute(String, Option<String>, Option<String>),
}

fn invalid_path(path: &str) -> ScimError {
    ScimError::bad(
        ScimType::InvalidPath,
        format!(
            "{} is not a valid path: attribute, attribute.subAttribute or attribute[filter].subAttribute (RFC 7644 section 3.5.2).",
            crate::validate::quoted(path)
        ),
    )
}

/// An attribute name (RFC 7643 section 2.1: `ALPHA *(nameChar)`, nameChar `-`, `_`, digit,
/// letter; `$ref` too).
fn attribute_name(s: &str) -> bool {
    s == "$ref"
        || s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// What `path` names (RFC 7644 section 3.5.2's `PATH`): the core `schema`'s URN alone is the
/// resource, another URN an extension's attribute; anything else must be
/// `attribute[.sub]` or `attribute[filter][.sub]`, else `invalidPath`.
fn target(path: &str, schema: &str) -> Result<Target, ScimError> {
    let lower = path.to_ascii_lowercase();
    let core = schema.to_ascii_lowercase();
    if lower == core {
        return Ok(Target::Resource);
    }
    let rest = if let Some(rest) = lower.strip_prefix(&format!("{core}:")) {
        rest
    } else if lower.starts_with("urn:") {
        return Ok(Target::Extension);
    } else {
        lower.as_str()
    };
    // Byte offsets of `rest` in `path` (ASCII lowercasing keeps them).
    let offset = path.len() - rest.len();
    let (head, filter, tail) = match rest.find('[') {
        Some(open) => {
            let close = rest
                .rfind(']')
                .filter(|&close| close > open)
                .ok_or_else(|| invalid_path(path))?;
            let inner = &path[offset + open + 1..offset + close];
            if inner.trim().is_empty() || inner.contains(['[', ']']) {
                return Err(invalid_path(path));
            }
            let after = &rest[close + 1..];
            let tail = match after {
                "" => None,
                _ => Some(after.strip_prefix('.').ok_or_else(|| invalid_path(path))?),
            };
            (&rest[..open], Some(inner.to_string()), tail)
        }
        None if rest.contains(']') => return Err(invalid_path(path)),
        None => match rest.split_once('.') {
            Some((a, b)) => (a, None, Some(b)),
            None => (rest, None, None),
        },
    };
    if !attribute_name(head) || tail.is_some_and(|t| !attribute_name(t)) {
        return Err(invalid_path(path));
    }
    Ok(Target::Attribute(
        head.to_string(),
        filter,
        tail.map(str::to_string),
    ))
}

fn read_only(attribute: &str) -> ScimError {
    ScimError::bad(
        ScimType::Mutability,
        format!("{attribute} is read-only and cannot be changed."),
    )
}

/// Applies the PATCH `body` to `user`, a User resource as rendered, and returns the patched
/// resource (to be read with [`super::user_record`]).
pub fn user(
    mut user: Map<String, Value>,
    body: &Map<String, Value>,
) -> Result<Map<String, Value>, ScimError> {
    for (op, path, value) in operations(body)? {
        let whole = match &path {
            None => true,
            Some(p) => target(p, USER_SCHEMA)? == Target::Resource,
        };
        match path {
            Some(path) if !whole => apply_user(&mut user, op, &path, value)?,
            _ if op == Op::Remove => {
                return Err(ScimError::bad(
                    ScimType::NoTarget,
                    "A remove operation needs a path.",
                ));
            }
            _ => {
                let Value::Object(values) = value else {
                    return Err(ScimError::bad(
                        ScimType::InvalidValue,
                        "An operation without a path takes an object of attributes.",
                    ));
                };
                for (key, v) in values {
                    if key.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA)
                        || key.eq_ignore_ascii_case("schemas")
                    {
                        continue;
                    }
                    apply_user(&mut user, op, &key, v)?;
                }
            }
        }
    }
    Ok(user)
}

fn apply_user(
    user: &mut Map<String, Value>,
    op: Op,
    path: &str,
    value: Value,
) -> Result<(), ScimError> {
    let (attribute, filter, sub) = match target(path.trim(), USER_SCHEMA)? {
        Target::Attribute(a, f, s) => (a, f, s),
        Target::Extension => return Ok(()),
        // The resource's URN as an attribute of itself.
        Target::Resource => return Err(invalid_path(path)),
    };
    let canonical = match attribute.as_str() {
        "username" => "userName",
        "externalid" => "externalId",
        "displayname" => "displayName",
        "active" => "active",
        "name" => "name",
        "emails" => "emails",
        "id" | "meta" | "groups" => return Err(read_only(&attribute)),
        // Attributes Tessera does not keep (title, locale, phoneNumbers…): out of the way.
        _ => return Ok(()),
    };
    match (canonical, sub.as_deref(), op) {
        ("name", Some(part), _) => {
            let part = match part {
                "givenname" => "givenName",
                "familyname" => "familyName",
                "formatted" => "formatted",
                _ => return Ok(()),
            };
            let name = user.entry("name").or_insert_with(|| json!({}));
            if !name.is_object() {
                *name = json!({});
            }
            if let Value::Object(n) = name {
                if op == Op::Remove {
                    n.remove(part);
                } else {
                    n.insert(part.into(), value);
                }
            }
        }
        ("name", None, Op::Add) => {
            let Value::Object(parts) = value else {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    "name must be an object.",
                ));
            };
            for (k, v) in parts {
                apply_user(user, Op::Add, &format!("name.{k}"), v)?;
            }
        }
        ("emails", _, _) if filter.is_some() || sub.is_some() => {
            // emails[type eq "work"].value, emails.value: the (one) email Tessera keeps.
            if op == Op::Remove {
                user.insert("emails".into(), json!([]));
            } else {
                let v = match (&value, sub.as_deref()) {
                    (Value::String(_), _) => value,
                    (Value::Object(o), None) => get(o, "value").cloned().unwrap_or(Value::Null),
                    _ => value,
                };
                user.insert(
                    "emails".into(),
                    json!([{"value": v, "type": "work", "primary": true}]),
                );
            }
        }
        ("emails", None, Op::Add) => {
            let mut list = match user.remove("emails") {
                Some(Value::Array(l)) => l,
                _ => Vec::new(),
            };
            match value {
                Value::Array(more) => {
                    // A new primary email replaces the old one.
                    if more
                        .iter()
                        .any(|e| boolean(e.get("primary"), "primary").ok().flatten() == Some(true))
                    {
                        list.clear();
                    }
                    list.extend(more)
                }
                other => list.push(other),
            }
            user.insert("emails".into(), Value::Array(list));
        }
        // Unassigning active (a remove, or a null value) would read as the default, true:
        // a deactivated member must never come back that way.
        ("active", _, _) if op == Op::Remove || value.is_null() => {
            return Err(ScimError::bad(
                ScimType::Mutability,
                "active cannot be removed or set to null: send true or false.",
            ));
        }
        (attribute, _, Op::Remove) => {
            user.remove(attribute);
        }
        (attribute, _, _) => {
            user.insert(attribute.into(), value);
        }
    }
    Ok(())
}

/// The member id a `members[value eq "id"]` filter names.
fn member_filter(filter: &str) -> Result<MemberId, ScimError> {
    let f = filter.trim();
    let rest = f
        .get(..5)
        .filter(|a| a.eq_ignore_ascii_case("value"))
        .map(|_| f[5..].trim_start())
        .ok_or_else(|| {
            ScimError::bad(
                ScimType::InvalidPath,
                "members can be filtered by value only.",
            )
        })?;
    let rest = rest
        .get(..2)
        .filter(|op| op.eq_ignore_ascii_case("eq"))
        .map(|_| rest[2..].trim())
        .ok_or_else(|| {
            ScimError::bad(
                ScimType::InvalidPath,
                "members can be filtered with eq only.",
            )
        })?;
    match serde_json::from_str::<Value>(rest) {
        Ok(Value::String(id)) => MemberId::parse(id.trim())
            .map_err(|_| ScimError::bad(ScimType::NoTarget, "No member of the group has that id.")),
        _ => Err(ScimError::bad(
            ScimType::InvalidPath,
            "members[value eq \"id\"] takes a string.",
        )),
    }
}

/// The group change a PATCH `body` asks for. All operations together name at most
/// [`MAX_MEMBERS_PER_REQUEST`] members (`tooMany` above).
pub fn group(body: &Map<String, Value>) -> Result<GroupEdit, ScimError> {
    let mut edit = Edit::default();
    for (op, path, value) in operations(body)? {
        let whole = match &path {
            None => true,
            Some(p) => target(p, GROUP_SCHEMA)? == Target::Resource,
        };
        match path {
            Some(path) if !whole => edit.apply(op, &path, value)?,
            _ if op == Op::Remove => {
                return Err(ScimError::bad(
                    ScimType::NoTarget,
                    "A remove operation needs a path.",
                ));
            }
            _ => {
                let Value::Object(values) = value else {
                    return Err(ScimError::bad(
                        ScimType::InvalidValue,
                        "An operation without a path takes an object of attributes.",
                    ));
                };
                for (key, v) in values {
                    // Okta's rename sends the group's own id along: nothing to change there.
                    if key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    edit.apply(op, &key, v)?;
                }
            }
        }
    }
    Ok(edit.finish())
}

/// A group change being read: member sets (ordered, so every step is logarithmic whatever
/// the operations do) and how many members the request named so far.
#[derive(Default)]
struct Edit {
    display_name: Option<String>,
    external_id: Option<Option<String>>,
    set_members: Option<BTreeSet<MemberId>>,
    add: BTreeSet<MemberId>,
    remove: BTreeSet<MemberId>,
    named: usize,
}

impl Edit {
    fn apply(&mut self, op: Op, path: &str, value: Value) -> Result<(), ScimError> {
        let (attribute, filter) = match target(path.trim(), GROUP_SCHEMA)? {
            Target::Attribute(a, f, _) => (a, f),
            Target::Extension => return Ok(()),
            Target::Resource => return Err(invalid_path(path)),
        };
        if attribute == "members" {
            // Counted before the ids are read: a request naming too many is refused at once.
            self.count(value.as_array().map_or(1, Vec::len))?;
        }
        match (attribute.as_str(), op) {
            ("members", Op::Remove) => match filter {
                Some(f) => self.remove(vec![member_filter(&f)?]),
                None if value.is_null() => self.replace(Vec::new()),
                None => self.remove(member_ids(Some(&value))?),
            },
            ("members", Op::Add) => self.add(member_ids(Some(&value))?),
            ("members", Op::Replace) => self.replace(member_ids(Some(&value))?),
            ("displayname", Op::Remove) => {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    "displayName is required.",
                ));
            }
            ("displayname", _) => match value {
                Value::String(s) if !s.trim().is_empty() => {
                    self.display_name = Some(s.trim().into())
                }
                _ => {
                    return Err(ScimError::bad(
                        ScimType::InvalidValue,
                        "displayName must be a non-empty string.",
                    ));
                }
            },
            ("externalid", Op::Remove) => self.external_id = Some(None),
            ("externalid", _) => match value {
                Value::String(s)
                    if s.chars().count() <= super::MAX_VALUE_CHARS
                        && !s.chars().any(char::is_control) =>
                {
                    self.external_id = Some((!s.trim().is_empty()).then(|| s.trim().to_string()))
                }
                _ => {
                    return Err(ScimError::bad(
                        ScimType::InvalidValue,
                        "externalId must be a short string.",
                    ));
                }
            },
            ("id" | "meta", _) => return Err(read_only(&attribute)),
            _ => {}
        }
        Ok(())
    }

    /// Counts `n` more members named by the request: at most [`MAX_MEMBERS_PER_REQUEST`].
    fn count(&mut self, n: usize) -> Result<(), ScimError> {
        self.named = self.named.saturating_add(n);
        if self.named > MAX_MEMBERS_PER_REQUEST {
            return Err(too_many_members());
        }
        Ok(())
    }

    fn add(&mut self, ids: Vec<MemberId>) {
        for id in ids {
            self.remove.remove(&id);
            match &mut self.set_members {
                Some(set) => {
                    set.insert(id);
                }
                None => {
                    self.add.insert(id);
                }
            }
        }
    }

    fn remove(&mut self, ids: Vec<MemberId>) {
        for id in ids {
            self.add.remove(&id);
            match &mut self.set_members {
                Some(set) => {
                    set.remove(&id);
                }
                None => {
                    self.remove.insert(id);
                }
            }
        }
    }

    fn replace(&mut self, ids: Vec<MemberId>) {
        self.set_members = Some(ids.into_iter().collect());
        self.add.clear();
        self.remove.clear();
    }

    fn finish(self) -> GroupEdit {
        GroupEdit {
            display_name: self.display_name,
            external_id: self.external_id,
            set_members: self.set_members.map(|s| s.into_iter().collect()),
            add: self.add.into_iter().collect(),
            remove: self.remove.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::scim::{object, user_record};

    fn ann() -> Map<String, Value> {
        json!({
            "schemas": [USER_SCHEMA], "id": "m1", "userName": "ann@example.com",
            "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
            "displayName": "Ann Lee", "active": true,
            "emails": [{"value": "ann@example.com", "type": "work", "primary": true}],
            "groups": [], "meta": {"resourceType": "User"}
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn patch(ops: Value) -> Map<String, Value> {
        json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn okta_deactivation_without_path_and_reactivation() {
        let off = user(
            ann(),
            &patch(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .unwrap();
        assert!(!user_record(&off).unwrap().1);
        let on = user(
            off,
            &patch(json!([{"op": "Replace", "path": "active", "value": "True"}])),
        )
        .unwrap();
        assert!(user_record(&on).unwrap().1);
    }

    #[test]
    fn profile_changes_in_every_shape() {
        let p = user(ann(), &patch(json!([
            {"op": "replace", "value": {"name.givenName": "Annie", "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Annie Lee"}},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "annie@example.com"},
            {"op": "add", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}, "title": "Boss"}},
            {"op": "replace", "path": "name.familyName", "value": "Li"},
        ]))).unwrap();
        let (r, active) = user_record(&p).unwrap();
        assert!(active);
        assert_eq!(r.given_name, "Annie");
        assert_eq!(r.family_name, "Li");
        assert_eq!(r.name, "Annie Lee");
        assert_eq!(r.email, "annie@example.com");
        let renamed = user(
            ann(),
            &patch(json!([{"op": "replace", "path": "userName", "value": "ANN@example.com"}])),
        )
        .unwrap();
        assert_eq!(
            user_record(&renamed).unwrap().0.user_name,
            "ANN@example.com"
        );
    }

    #[test]
    fn bad_patches_change_nothing_and_say_why() {
        for (ops, t) in [
            (json!([{"op": "remove"}]), ScimType::NoTarget),
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                ScimType::Mutability,
            ),
            (
                json!([{"op": "jump", "path": "active"}]),
                ScimType::InvalidSyntax,
            ),
            (
                json!([{"op": "replace", "value": 3}]),
                ScimType::InvalidValue,
            ),
            (json!([]), ScimType::InvalidSyntax),
            (
                json!([{"op": "remove", "path": "active"}]),
                ScimType::Mutability,
            ),
        ] {
            let e = user(ann(), &patch(ops.clone())).unwrap_err();
            assert_eq!(e.scim_type, Some(t), "{ops}");
        }
        // Removing the userName leaves a user that is refused when read.
        let p = user(ann(), &patch(json!([{"op": "remove", "path": "userName"}]))).unwrap();
        assert_eq!(
            user_record(&p).unwrap_err().scim_type,
            Some(ScimType::InvalidValue)
        );
        assert!(
            object(b"{\"Operations\": 1}")
                .map(|b| user(ann(), &b))
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn okta_group_push_shapes() {
        let add = group(&patch(json!([{"op": "add", "path": "members", "value": [{"value": "u1", "display": "a@x"}, {"value": "u2"}]}]))).unwrap();
        assert_eq!(add.add, vec![MemberId::from("u1"), MemberId::from("u2")]);
        let rm = group(&patch(
            json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]),
        ))
        .unwrap();
        assert_eq!(rm.remove, vec![MemberId::from("u1")]);
        let rename = group(&patch(
            json!([{"op": "replace", "value": {"id": "g1", "displayName": "Admins 2"}}]),
        ))
        .unwrap();
        assert_eq!(rename.display_name.as_deref(), Some("Admins 2"));
        assert!(rename.set_members.is_none() && rename.add.is_empty());
        let set = group(&patch(
            json!([{"op": "replace", "path": "members", "value": [{"value": "u3"}]}]),
        ))
        .unwrap();
        assert_eq!(set.set_members, Some(vec![MemberId::from("u3")]));
        let several = group(&patch(json!([
            {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "remove", "path": "members[value eq \"u2\"]"},
            {"op": "remove", "path": "members", "value": [{"value": "u4"}]},
        ])))
        .unwrap();
        assert_eq!(several.add, vec![MemberId::from("u1")]);
        assert_eq!(
            several.remove,
            vec![MemberId::from("u2"), MemberId::from("u4")]
        );
        let all = group(&patch(json!([{"op": "remove", "path": "members"}]))).unwrap();
        assert_eq!(all.set_members, Some(vec![]));
    }

    #[test]
    fn bad_group_patches_are_refused() {
        for ops in [
            json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
            json!([{"op": "add", "path": "members", "value": [{"value": "bad id!"}]}]),
            json!([{"op": "add", "path": "members", "value": "u1"}]),
            json!([{"op": "replace", "path": "displayName", "value": ""}]),
            json!([{"op": "remove", "path": "displayName"}]),
            json!([{"op": "remove"}]),
        ] {
            assert!(group(&patch(ops.clone())).is_err(), "{ops}");
        }
    }

    #[test]
    fn paths_are_parsed_strictly() {
        let attr = |a: &str, f: Option<&str>, s: Option<&str>| {
            Target::Attribute(a.into(), f.map(str::to_string), s.map(str::to_string))
        };
        for (path, want) in [
            ("userName", attr("username", None, None)),
            ("name.givenName", attr("name", None, Some("givenname"))),
            (
                "emails[type eq \"Work\"].value",
                attr("emails", Some("type eq \"Work\""), Some("value")),
            ),
            (
                "members[value eq \"u1\"]",
                attr("members", Some("value eq \"u1\""), None),
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
                attr("name", None, Some("familyname")),
            ),
            (USER_SCHEMA, Target::Resource),
            (
                "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER",
                Target::Resource,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                Target::Extension,
            ),
        ] {
            assert_eq!(target(path, USER_SCHEMA).unwrap(), want, "{path}");
        }
        for path in [
            "[]",
            "]a[",
            "a]",
            "a[",
            "a[b",
            "a[b]c",
            "a[b]]",
            "a[[b]]",
            "a]b[",
            "a..b",
            "a.b.c",
            ".a",
            "a.",
            "a b",
            "1a",
            "a\u{0}",
            "urn:ietf:params:scim:schemas:core:2.0:User:",
            "é",
        ] {
            let e = target(path, USER_SCHEMA).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{path:?}");
        }
    }

    #[test]
    fn a_path_naming_the_schema_is_the_resource_and_null_active_is_refused() {
        let off = user(
            ann(),
            &patch(json!([{"op": "replace", "path": USER_SCHEMA, "value": {"active": false}}])),
        )
        .unwrap();
        assert!(!user_record(&off).unwrap().1);
        for ops in [
            json!([{"op": "replace", "path": "active", "value": null}]),
            json!([{"op": "replace", "value": {"active": null}}]),
            json!([{"op": "add", "path": "active"}]),
        ] {
            let e = user(off.clone(), &patch(ops.clone())).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::Mutability), "{ops}");
        }
        let renamed = group(&patch(
            json!([{"op": "replace", "path": GROUP_SCHEMA, "value": {"displayName": "X"}}]),
        ))
        .unwrap();
        assert_eq!(renamed.display_name.as_deref(), Some("X"));
    }

    #[test]
    fn a_group_patch_names_at_most_ten_thousand_members_in_all() {
        let ops: Vec<Value> = (0..3)
            .map(|k| {
                json!({"op": "add", "path": "members",
                       "value": (0..4000).map(|i| json!({"value": format!("u{}", k * 4000 + i)})).collect::<Vec<_>>()})
            })
            .collect();
        let e = group(&patch(Value::Array(ops))).unwrap_err();
        assert_eq!((e.status, e.scim_type), (413, Some(ScimType::TooMany)));
        let ops: Vec<Value> = (0..2)
            .map(|k| {
                json!({"op": "add", "path": "members",
                       "value": (0..5000).map(|i| json!({"value": format!("u{}", k * 5000 + i)})).collect::<Vec<_>>()})
            })
            .collect();
        assert_eq!(group(&patch(Value::Array(ops))).unwrap().add.len(), 10_000);
    }
}
