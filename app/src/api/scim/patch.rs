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
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, MAX_OPERATIONS, PATCH_SCHEMA, ScimError, ScimType,
    USER_SCHEMA, boolean, get, member_ids,
};
use crate::model::MemberId;
use crate::ssr::scim::GroupEdit;
use serde_json::{Map, Value, json};

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

/// A path split into its attribute (lowercased, without the core schema's URN), an optional
/// value filter (`emails[type eq "work"]`) and sub-attribute. `None` for an extension
/// schema's attribute (ignored).
fn split_path(path: &str, schema: &str) -> Option<(String, Option<String>, Option<String>)> {
    let lower = path.to_ascii_lowercase();
    let core = format!("{}:", schema.to_ascii_lowercase());
    let rest = if let Some(rest) = lower.strip_prefix(&core) {
        rest.to_string()
    } else if lower.starts_with("urn:") {
        return None;
    } else {
        lower
    };
    let (head, filter, tail) = match (rest.find('['), rest.rfind(']')) {
        (Some(open), Some(close)) if close > open => (
            rest[..open].to_string(),
            Some(
                path[path.len() - rest.len() + open + 1..path.len() - rest.len() + close]
                    .to_string(),
            ),
            rest[close + 1..].trim_start_matches('.').to_string(),
        ),
        _ => match rest.split_once('.') {
            Some((a, b)) => (a.to_string(), None, b.to_string()),
            None => (rest.clone(), None, String::new()),
        },
    };
    Some((head, filter, (!tail.is_empty()).then_some(tail)))
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
        match path {
            Some(path) => apply_user(&mut user, op, &path, value)?,
            None if op == Op::Remove => {
                return Err(ScimError::bad(
                    ScimType::NoTarget,
                    "A remove operation needs a path.",
                ));
            }
            None => {
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
    let Some((attribute, filter, sub)) = split_path(path, USER_SCHEMA) else {
        return Ok(());
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
        ("active", _, Op::Remove) => {
            return Err(ScimError::bad(
                ScimType::Mutability,
                "active cannot be removed.",
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

/// The group change a PATCH `body` asks for.
pub fn group(body: &Map<String, Value>) -> Result<GroupEdit, ScimError> {
    let mut edit = Edit::default();
    for (op, path, value) in operations(body)? {
        let Some(path) = path else {
            if op == Op::Remove {
                return Err(ScimError::bad(
                    ScimType::NoTarget,
                    "A remove operation needs a path.",
                ));
            }
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
            continue;
        };
        edit.apply(op, &path, value)?;
    }
    Ok(edit.0)
}

#[derive(Default)]
struct Edit(GroupEdit);

impl Edit {
    fn apply(&mut self, op: Op, path: &str, value: Value) -> Result<(), ScimError> {
        let Some((attribute, filter, _)) = split_path(path, GROUP_SCHEMA) else {
            return Ok(());
        };
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
                    self.0.display_name = Some(s.trim().into())
                }
                _ => {
                    return Err(ScimError::bad(
                        ScimType::InvalidValue,
                        "displayName must be a non-empty string.",
                    ));
                }
            },
            ("externalid", Op::Remove) => self.0.external_id = Some(None),
            ("externalid", _) => match value {
                Value::String(s)
                    if s.chars().count() <= super::MAX_VALUE_CHARS
                        && !s.chars().any(char::is_control) =>
                {
                    self.0.external_id = Some((!s.trim().is_empty()).then(|| s.trim().to_string()))
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

    fn add(&mut self, ids: Vec<MemberId>) {
        for id in ids {
            self.0.remove.retain(|r| r != &id);
            match &mut self.0.set_members {
                Some(set) if !set.contains(&id) => set.push(id),
                Some(_) => {}
                None if !self.0.add.contains(&id) => self.0.add.push(id),
                None => {}
            }
        }
    }

    fn remove(&mut self, ids: Vec<MemberId>) {
        for id in ids {
            self.0.add.retain(|a| a != &id);
            match &mut self.0.set_members {
                Some(set) => set.retain(|s| s != &id),
                None if !self.0.remove.contains(&id) => self.0.remove.push(id),
                None => {}
            }
        }
    }

    fn replace(&mut self, ids: Vec<MemberId>) {
        self.0.set_members = Some(ids);
        self.0.add.clear();
        self.0.remove.clear();
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
}
