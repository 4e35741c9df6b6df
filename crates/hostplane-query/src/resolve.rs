//! Validation: checks a [`Query`] against the catalogue and turns it into a [`Plan`], in which
//! every field path is resolved to catalogue entries and every value is read as its field's
//! type, or fails with a [`QueryError`].
//!
//! Checks run in ZStack's order: op and value presence first (`SYS.1007`), then names
//! (`SYS.1000`), then value types (`SYS.1007`). This module must never build SQL text; the
//! plan it returns holds only catalogue identifiers and typed values.

use std::collections::HashSet;

use crate::catalogue::{Catalogue, Expansion, Field, FieldType, Resource};
use crate::condition::Condition;
use crate::error::{clip, QueryError};
use crate::limits;
use crate::op::Op;
use crate::query::{filter_name_is_valid, java_split, Query, DEFAULT_LIMIT};
use crate::value::{read_bool, read_date, read_int, Span, Value};

/// The pseudo-field for system tags.
pub const SYSTEM_TAG_FIELD: &str = "__systemTag__";
/// The pseudo-field for user tags.
pub const USER_TAG_FIELD: &str = "__userTag__";
/// The system-tag table the server creates.
pub const SYSTEM_TAG_TABLE: &str = "system_tag";
/// The user-tag table the server creates.
pub const USER_TAG_TABLE: &str = "user_tag";

/// A checked query, ready to become SQL.
#[derive(Debug)]
pub(crate) struct Plan {
    pub resource: &'static Resource,
    /// ANDed.
    pub predicates: Vec<Predicate>,
    /// The SELECT list, in catalogue order.
    pub fields: Vec<&'static Field>,
    /// Field and "descending".
    pub sort: Option<(&'static Field, bool)>,
    pub limit: u64,
    pub offset: Option<u64>,
}

/// One condition: follow `hops` (expansions, outermost first), then test `leaf` on the last
/// resource reached.
#[derive(Debug)]
pub(crate) struct Predicate {
    pub hops: Vec<Hop>,
    pub leaf: Leaf,
}

#[derive(Debug)]
pub(crate) struct Hop {
    pub expansion: &'static Expansion,
    pub target: &'static Resource,
}

#[derive(Debug)]
pub(crate) enum Leaf {
    /// A test on a column of the resource.
    Column { column: &'static str, test: Test },
    /// `key [NOT] IN (SELECT resource_uuid FROM table WHERE resource_type = ? [AND test(tag)])`.
    Tag {
        table: &'static str,
        resource_type: &'static str,
        key: &'static str,
        /// `IN` (has a matching tag) or `NOT IN` (has none).
        has: bool,
        /// `None`: any tag.
        test: Option<Test>,
    },
}

/// A test on one column. Values are typed already.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    IsNull,
    NotNull,
    /// Matches no row (e.g. `cpuNum=2.5`).
    Never,
    /// `col <op> value`; op is one of `= != > >= < <=`.
    Cmp(Op, Value),
    /// `col [NOT] IN (items)`; `items` is never empty.
    InList {
        negate: bool,
        items: Vec<Value>,
    },
    /// `[NOT] (lo <= col <= hi OR …)`; never empty, bounds inside `i64`.
    Ranges {
        negate: bool,
        ranges: Vec<(i64, i64)>,
    },
    /// `col [NOT] LIKE pattern ESCAPE '\'`.
    Like {
        negate: bool,
        pattern: String,
    },
}

/// Checks `q` against `resource` (and, for expansions, the rest of `cat`).
pub(crate) fn plan(
    cat: &Catalogue,
    resource: &'static Resource,
    q: &Query,
) -> Result<Plan, QueryError> {
    if let Some(name) = &q.filter_name {
        if !filter_name_is_valid(name) {
            return Err(QueryError::InvalidFilterName {
                filter_name: clip(name),
            });
        }
    }
    let limit = non_negative("limit", q.limit.unwrap_or(DEFAULT_LIMIT))?;
    let offset = q.start.map(|s| non_negative("start", s)).transpose()?;

    let mut seen = HashSet::new();
    let conditions: Vec<&Condition> = q.conditions.iter().filter(|c| seen.insert(*c)).collect();
    if conditions.len() > limits::MAX_CONDITIONS {
        return Err(QueryError::TooManyConditions {
            count: conditions.len(),
            max: limits::MAX_CONDITIONS,
        });
    }

    // The type switch: top-level `<type_field> = <type>` conditions.
    let types: Vec<&str> = match resource.type_field {
        None => Vec::new(),
        Some(tf) => conditions
            .iter()
            .filter(|c| c.field == tf && c.op == Op::Eq)
            .filter_map(|c| c.value.as_deref())
            .collect(),
    };

    // ZStack's API interceptor checks ops and values (SYS.1007) before any name (SYS.1000).
    for c in &conditions {
        checked_value(c)?;
    }
    let predicates = conditions
        .iter()
        .map(|c| predicate(cat, resource, c, &types))
        .collect::<Result<Vec<_>, _>>()?;

    let sort = match &q.sort_by {
        None => None,
        Some(name) => Some((top_level_field(resource, name, &types)?, q.sort_desc)),
    };

    let fields = match &q.fields {
        Some(names) if !names.is_empty() => {
            let mut wanted = Vec::with_capacity(names.len());
            for name in names {
                wanted.push(top_level_field(resource, name, &types)?.name);
            }
            resource
                .fields
                .iter()
                .filter(|f| wanted.contains(&f.name))
                .collect()
        }
        _ => resource.fields.iter().collect(),
    };

    Ok(Plan {
        resource,
        predicates,
        fields,
        sort,
        limit,
        offset,
    })
}

fn non_negative(name: &'static str, value: i64) -> Result<u64, QueryError> {
    u64::try_from(value).map_err(|_| QueryError::NegativeParameter { name, value })
}

/// A field named by `sort` or `fields`: a top-level field, type-only fields only with the
/// type switch.
fn top_level_field(
    resource: &'static Resource,
    name: &str,
    types: &[&str],
) -> Result<&'static Field, QueryError> {
    let field = resource
        .field(name)
        .ok_or_else(|| QueryError::UnknownField {
            class: resource.inventory_class,
            field: clip(name),
        })?;
    check_type_switch(resource, field, types)?;
    Ok(field)
}

fn check_type_switch(
    resource: &'static Resource,
    field: &'static Field,
    types: &[&str],
) -> Result<(), QueryError> {
    match (field.only_for_type, resource.type_field) {
        (Some(t), Some(tf)) if !types.contains(&t) => Err(QueryError::TypeOnlyField {
            class: resource.inventory_class,
            field: field.name.to_owned(),
            type_field: tf,
            type_value: t,
        }),
        // A type-only field on a resource without a type field: a catalogue bug that
        // `Catalogue::validate` reports; never usable.
        (Some(_), None) => Err(QueryError::Catalogue {
            message: format!(
                "field {} of {} is type-only but the resource has no type field",
                field.name, resource.name
            ),
        }),
        _ => Ok(()),
    }
}

fn predicate(
    cat: &Catalogue,
    resource: &'static Resource,
    c: &Condition,
    types: &[&str],
) -> Result<Predicate, QueryError> {
    let value = checked_value(c)?;

    // 2. The path: expansions, then a field or tag pseudo-field.
    let depth = c.field.matches('.').count();
    if depth > limits::MAX_EXPANSION_DEPTH {
        return Err(QueryError::ExpansionTooDeep {
            field: clip(&c.field),
            max: limits::MAX_EXPANSION_DEPTH,
        });
    }
    let mut segments = c.field.split('.');
    let leaf_name = segments.next_back().unwrap_or_default();
    let mut current = resource;
    let mut hops = Vec::with_capacity(depth);
    for name in segments {
        let expansion = current
            .expansion(name)
            .ok_or_else(|| QueryError::UnknownExpansion {
                class: current.inventory_class,
                expansion: clip(name),
            })?;
        let target = cat
            .resource(expansion.target)
            .ok_or_else(|| QueryError::Catalogue {
                message: format!(
                    "expansion {} of {} targets unknown resource {}",
                    expansion.name, current.name, expansion.target
                ),
            })?;
        hops.push(Hop { expansion, target });
        current = target;
    }

    let tag_table = match leaf_name {
        SYSTEM_TAG_FIELD => Some(SYSTEM_TAG_TABLE),
        USER_TAG_FIELD => Some(USER_TAG_TABLE),
        _ => None,
    };
    let leaf = match (tag_table, current.tag_resource_type) {
        (Some(table), Some(resource_type)) => {
            let (has, test) = match c.op {
                Op::IsNull => (false, None),
                Op::NotNull => (true, None),
                op => match op.positive() {
                    Some(positive) => (false, Some(text_test(positive, value)?)),
                    None => (true, Some(text_test(op, value)?)),
                },
            };
            Leaf::Tag {
                table,
                resource_type,
                key: current.key,
                has,
                test,
            }
        }
        _ => {
            let field = current
                .field(leaf_name)
                .ok_or_else(|| QueryError::UnknownField {
                    class: current.inventory_class,
                    field: clip(leaf_name),
                })?;
            if hops.is_empty() {
                check_type_switch(current, field, types)?;
            } else if field.only_for_type.is_some() {
                // The type switch applies to the queried resource only.
                return Err(QueryError::UnknownField {
                    class: current.inventory_class,
                    field: field.name.to_owned(),
                });
            }
            // 3. The value, read as the field's type.
            let test = typed_test(field.ty, c.op, value, &c.field)?;
            Leaf::Column {
                column: field.column,
                test,
            }
        }
    };
    Ok(Predicate { hops, leaf })
}

/// The condition's value ("" for the null ops), after the checks that need no catalogue:
/// present when the op needs one, not too long, no NUL (PostgreSQL cannot store it).
fn checked_value(c: &Condition) -> Result<&str, QueryError> {
    match (c.op.takes_value(), c.value.as_deref()) {
        (true, None) => Err(QueryError::missing_value(&c.field, c.op)),
        (true, Some(v)) if v.len() > limits::MAX_VALUE_LEN => Err(QueryError::ValueTooLong {
            field: clip(&c.field),
            len: v.len(),
            max: limits::MAX_VALUE_LEN,
        }),
        (true, Some(v)) if v.contains('\0') => Err(QueryError::InvalidValue {
            field: clip(&c.field),
            value: clip(v),
            expected: "text without NUL characters",
        }),
        (true, Some(v)) => Ok(v),
        (false, _) => Ok(""),
    }
}

/// A test on a text column (also the `tag` column of the tag tables).
fn text_test(op: Op, value: &str) -> Result<Test, QueryError> {
    Ok(match op {
        Op::IsNull => Test::IsNull,
        Op::NotNull => Test::NotNull,
        Op::Like | Op::NotLike => Test::Like {
            negate: op == Op::NotLike,
            pattern: like_pattern(value),
        },
        Op::In | Op::NotIn => Test::InList {
            negate: op == Op::NotIn,
            items: list_items(value)?
                .into_iter()
                .map(|s| Value::Text(s.to_owned()))
                .collect(),
        },
        Op::Eq | Op::NotEq | Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            Test::Cmp(op, Value::Text(value.to_owned()))
        }
    })
}

fn typed_test(ty: FieldType, op: Op, value: &str, path: &str) -> Result<Test, QueryError> {
    let read: fn(&str) -> Option<Span> = match ty {
        FieldType::Text => return text_test(op, value),
        FieldType::Int => read_int,
        FieldType::Bool => read_bool,
        FieldType::Date => read_date,
    };
    let read_one = |item: &str| {
        read(item).ok_or_else(|| QueryError::InvalidValue {
            field: clip(path),
            value: clip(item),
            expected: ty.expected(),
        })
    };
    Ok(match op {
        Op::IsNull => Test::IsNull,
        Op::NotNull => Test::NotNull,
        Op::Like | Op::NotLike => {
            return Err(QueryError::UnsupportedOp {
                field: clip(path),
                op: op.rpc_name(),
                ty,
            })
        }
        Op::In | Op::NotIn => {
            let negate = op == Op::NotIn;
            let mut ranges = Vec::new();
            for item in list_items(value)? {
                // An empty item can equal no number, date or boolean (ZStack's `('')`).
                if item.trim().is_empty() {
                    continue;
                }
                if let Some(r) = clamp(read_one(item)?) {
                    ranges.push(r);
                }
            }
            if ranges.is_empty() {
                // `x IN ()` matches nothing; `x NOT IN ()` every non-null x.
                return Ok(if negate { Test::NotNull } else { Test::Never });
            }
            if ranges.iter().all(|(lo, hi)| lo == hi) {
                Test::InList {
                    negate,
                    items: ranges.into_iter().map(|(lo, _)| Value::Int(lo)).collect(),
                }
            } else {
                Test::Ranges { negate, ranges }
            }
        }
        Op::Eq | Op::NotEq => {
            let negate = op == Op::NotEq;
            match clamp(read_one(value)?) {
                None if negate => Test::NotNull,
                None => Test::Never,
                Some((lo, hi)) if lo == hi => Test::Cmp(op, Value::Int(lo)),
                Some(r) => Test::Ranges {
                    negate,
                    ranges: vec![r],
                },
            }
        }
        Op::Gt | Op::Le => bound_test(op, read_one(value)?.hi),
        Op::Ge | Op::Lt => bound_test(op, read_one(value)?.lo),
    })
}

/// The part of a span inside `i64`, or `None` when no BIGINT is in it.
fn clamp(s: Span) -> Option<(i64, i64)> {
    let lo = s.lo.max(i64::MIN.into());
    let hi = s.hi.min(i64::MAX.into());
    if lo > hi {
        return None;
    }
    Some((i64::try_from(lo).ok()?, i64::try_from(hi).ok()?))
}

/// `col <op> b` for `> >= < <=`, where `b` may lie outside `i64`.
fn bound_test(op: Op, b: i128) -> Test {
    let (min, max) = (i128::from(i64::MIN), i128::from(i64::MAX));
    let (never, always) = match op {
        Op::Gt => (b >= max, b < min),
        Op::Ge => (b > max, b <= min),
        Op::Lt => (b <= min, b > max),
        _ => (b < min, b >= max), // Le
    };
    if never {
        Test::Never
    } else if always {
        Test::NotNull
    } else {
        // In range, by the checks above.
        Test::Cmp(op, Value::Int(b as i64))
    }
}

/// The items of an `in` / `not in` value, split as ZStack does (Java's `split(",")`); no
/// items at all becomes one empty item, ZStack's `('')`.
fn list_items(value: &str) -> Result<Vec<&str>, QueryError> {
    let mut items = java_split(value, ',');
    if items.is_empty() {
        items.push("");
    }
    if items.len() > limits::MAX_LIST_ITEMS {
        return Err(QueryError::TooManyValues {
            count: items.len(),
            max: limits::MAX_LIST_ITEMS,
        });
    }
    Ok(items)
}

/// The client's LIKE pattern, as is (`%`, `_` wildcards; `\` escapes), except that a
/// trailing unpaired `\` is doubled so it means a literal backslash: PostgreSQL rejects a
/// pattern ending in the escape character, SQLite silently matches nothing.
fn like_pattern(p: &str) -> String {
    let mut escaped = false;
    for c in p.chars() {
        escaped = !escaped && c == '\\';
    }
    if escaped {
        format!("{p}\\")
    } else {
        p.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert_eq!(like_pattern("a%"), "a%");
        assert_eq!(like_pattern(r"a\"), r"a\\");
        assert_eq!(like_pattern(r"a\\"), r"a\\");
        assert_eq!(like_pattern(r"a\\\"), r"a\\\\");
        assert_eq!(like_pattern(r"\%"), r"\%");
    }

    #[test]
    fn int_tests() {
        fn t(op: Op, v: &str) -> Test {
            typed_test(FieldType::Int, op, v, "cpuNum").unwrap()
        }
        assert_eq!(t(Op::Eq, "4"), Test::Cmp(Op::Eq, Value::Int(4)));
        assert_eq!(t(Op::Eq, "2.5"), Test::Never);
        assert_eq!(t(Op::NotEq, "2.5"), Test::NotNull);
        assert_eq!(t(Op::Gt, "2.5"), Test::Cmp(Op::Gt, Value::Int(2)));
        assert_eq!(t(Op::Ge, "2.5"), Test::Cmp(Op::Ge, Value::Int(3)));
        assert_eq!(t(Op::Lt, "2.5"), Test::Cmp(Op::Lt, Value::Int(3)));
        assert_eq!(t(Op::Le, "2.5"), Test::Cmp(Op::Le, Value::Int(2)));
        assert_eq!(t(Op::Gt, "1e30"), Test::Never);
        assert_eq!(t(Op::Lt, "1e30"), Test::NotNull);
        assert_eq!(t(Op::Gt, "-1e30"), Test::NotNull);
        assert_eq!(t(Op::Gt, &i64::MAX.to_string()), Test::Never);
        assert_eq!(t(Op::Eq, "1e30"), Test::Never);
        assert_eq!(
            t(Op::In, "1,2.5,,3"),
            Test::InList {
                negate: false,
                items: vec![Value::Int(1), Value::Int(3)]
            }
        );
        assert_eq!(t(Op::In, ",,,"), Test::Never);
        assert_eq!(t(Op::NotIn, "2.5"), Test::NotNull);
        let e = typed_test(FieldType::Int, Op::Eq, "four", "cpuNum").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value[four] for field[cpuNum]: expected a number, e.g. 42"
        );
        assert!(e.is_invalid_argument());
        let e = typed_test(FieldType::Int, Op::Like, "4%", "cpuNum").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the operator[like] cannot be used on field[cpuNum] of type integer"
        );
    }

    #[test]
    fn date_tests() {
        fn t(op: Op, v: &str) -> Test {
            typed_test(FieldType::Date, op, v, "createDate").unwrap()
        }
        let s = 1_483_674_676_000_i64;
        assert_eq!(
            t(Op::Eq, "2017-01-06T03:51:16Z"),
            Test::Ranges {
                negate: false,
                ranges: vec![(s, s + 999)]
            }
        );
        assert_eq!(
            t(Op::Gt, "2017-01-06T03:51:16Z"),
            Test::Cmp(Op::Gt, Value::Int(s + 999))
        );
        assert_eq!(
            t(Op::Ge, "2017-01-06T03:51:16Z"),
            Test::Cmp(Op::Ge, Value::Int(s))
        );
        assert_eq!(t(Op::Eq, &s.to_string()), Test::Cmp(Op::Eq, Value::Int(s)));
        let e = typed_test(FieldType::Date, Op::Eq, "soon", "createDate").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("invalid value[soon] for field[createDate]: expected a date"));
    }

    #[test]
    fn bool_and_text_tests() {
        fn t(op: Op, v: &str) -> Test {
            typed_test(FieldType::Bool, op, v, "enabled").unwrap()
        }
        assert_eq!(t(Op::Eq, "True"), Test::Cmp(Op::Eq, Value::Int(1)));
        assert_eq!(
            typed_test(FieldType::Text, Op::In, ",,,,,", "uuid").unwrap(),
            Test::InList {
                negate: false,
                items: vec![Value::Text(String::new())]
            }
        );
    }
}
