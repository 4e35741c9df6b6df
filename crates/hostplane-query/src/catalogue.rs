//! The catalogue: static descriptions of the resources a query can target (their table,
//! columns, types, expansions, tags). The server writes one `static` [`Catalogue`] for zones,
//! clusters, hosts, global configs and management nodes; this crate only reads it.
//!
//! Every SQL identifier the compiler emits comes from here (or is one of the fixed tag-table
//! names). This module must never hold user text, and must never build SQL.

use std::fmt;

use crate::error::QueryError;

/// How a field is stored and how a condition's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// TEXT; compared as text, case-sensitively.
    Text,
    /// BIGINT; the value is read as a number.
    Int,
    /// INTEGER 0/1; the value is `true` / `false` (any case) or `1` / `0`.
    Bool,
    /// BIGINT epoch milliseconds; the value is a date (see the crate docs for formats).
    Date,
}

impl FieldType {
    /// What a value for this type must look like (used in error messages).
    pub(crate) fn expected(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Int => "a number, e.g. 42",
            FieldType::Bool => "true or false",
            FieldType::Date => {
                "a date such as 'Jan 6, 2017 3:51:16 AM', '2017-01-06T03:51:16Z', \
                 '2017-01-06 03:51:16', '2017-01-06', or epoch milliseconds"
            }
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldType::Text => "text",
            FieldType::Int => "integer",
            FieldType::Bool => "boolean",
            FieldType::Date => "date",
        })
    }
}

/// One queryable, selectable top-level field of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The JSON (inventory) name, e.g. `managementIp`.
    pub name: &'static str,
    /// The column, e.g. `management_ip`.
    pub column: &'static str,
    /// The column's type.
    pub ty: FieldType,
    /// `Some("KVM")`: the field exists only on that subtype and can be used in conditions,
    /// `sort` and `fields` only when the query has the top-level condition
    /// `<type_field> = KVM` (op `=`). Always part of the unprojected SELECT.
    pub only_for_type: Option<&'static str>,
}

/// A cross-resource link usable as `<name>.<field>` in conditions. Compiles to
/// `local_column IN (SELECT target_column FROM <target table> WHERE …)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expansion {
    /// The name used in queries, e.g. `cluster`.
    pub name: &'static str,
    /// The column of this resource, e.g. `cluster_uuid`.
    pub local_column: &'static str,
    /// The target resource's [`Resource::name`], e.g. `Cluster`.
    pub target: &'static str,
    /// The target's column, e.g. `uuid`.
    pub target_column: &'static str,
}

/// A resource a query can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// The name expansions refer to, e.g. `Cluster`.
    pub name: &'static str,
    /// The table.
    pub table: &'static str,
    /// The key column, e.g. `uuid`: the tiebreak of every sort, and what tags refer to.
    pub key: &'static str,
    /// The fields, in the order the SELECT lists them.
    pub fields: &'static [Field],
    /// The expansions.
    pub expansions: &'static [Expansion],
    /// The JSON name of the type field, e.g. `hypervisorType` (see [`Field::only_for_type`]).
    pub type_field: Option<&'static str>,
    /// The tags' `resource_type`, e.g. `HostVO`; `Some` enables `__systemTag__` and
    /// `__userTag__`.
    pub tag_resource_type: Option<&'static str>,
    /// The ZStack inventory class, e.g. `org.zstack.header.zone.ZoneInventory`, for error
    /// texts.
    pub inventory_class: &'static str,
}

impl Resource {
    /// The field with this JSON name.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The expansion with this name.
    pub fn expansion(&self, name: &str) -> Option<&'static Expansion> {
        self.expansions.iter().find(|e| e.name == name)
    }
}

/// All resources, so expansions can be followed by name.
#[derive(Debug, Clone, Copy)]
pub struct Catalogue {
    /// The resources.
    pub resources: &'static [&'static Resource],
}

impl Catalogue {
    /// The resource with this [`Resource::name`].
    pub fn resource(&self, name: &str) -> Option<&'static Resource> {
        self.resources.iter().copied().find(|r| r.name == name)
    }

    /// Checks the catalogue is consistent: unique names, every resource has fields and a key
    /// field, every expansion names a known resource and columns, the type field exists, and
    /// no field or expansion name contains `.` or a REST operator. The server calls this once
    /// in a test; [`crate::compile`] reports the same faults as [`QueryError::Catalogue`] when
    /// it meets them.
    pub fn validate(&self) -> Result<(), QueryError> {
        let bad = |message: String| Err(QueryError::Catalogue { message });
        for (i, r) in self.resources.iter().enumerate() {
            if self.resources[..i].iter().any(|o| o.name == r.name) {
                return bad(format!("resource {} appears twice", r.name));
            }
            if r.fields.is_empty() {
                return bad(format!("resource {} has no fields", r.name));
            }
            if !r.fields.iter().any(|f| f.column == r.key) {
                return bad(format!(
                    "resource {}: no field has the key column {}",
                    r.name, r.key
                ));
            }
            for (j, f) in r.fields.iter().enumerate() {
                if r.fields[..j].iter().any(|o| o.name == f.name) {
                    return bad(format!(
                        "resource {}: field {} appears twice",
                        r.name, f.name
                    ));
                }
                if !plain_name(f.name) {
                    return bad(format!("resource {}: bad field name {:?}", r.name, f.name));
                }
                if f.only_for_type.is_some() && r.type_field.is_none() {
                    return bad(format!(
                        "resource {}: field {} is type-only but there is no type field",
                        r.name, f.name
                    ));
                }
            }
            if let Some(tf) = r.type_field {
                if r.field(tf).is_none_or(|f| f.only_for_type.is_some()) {
                    return bad(format!(
                        "resource {}: type field {tf} is not a common field",
                        r.name
                    ));
                }
            }
            for (j, e) in r.expansions.iter().enumerate() {
                if r.expansions[..j].iter().any(|o| o.name == e.name) || !plain_name(e.name) {
                    return bad(format!(
                        "resource {}: bad or repeated expansion {:?}",
                        r.name, e.name
                    ));
                }
                if !r.fields.iter().any(|f| f.column == e.local_column) {
                    return bad(format!(
                        "resource {}: expansion {} uses unknown column {}",
                        r.name, e.name, e.local_column
                    ));
                }
                match self.resource(e.target) {
                    None => {
                        return bad(format!(
                            "resource {}: expansion {} targets unknown resource {}",
                            r.name, e.name, e.target
                        ))
                    }
                    Some(t) if !t.fields.iter().any(|f| f.column == e.target_column) => {
                        return bad(format!(
                            "resource {}: expansion {} targets unknown column {}.{}",
                            r.name, e.name, t.name, e.target_column
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
}

/// A name usable in a field path: non-empty, no `.`, no operator characters or spaces.
fn plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| !matches!(c, '.' | '=' | '!' | '<' | '>' | '?' | '~' | ',' | ' '))
}
