//! System and user tags on zones, clusters and hosts.
//!
//! System tags hold facts (`os::distribution::debian`, `hvm::vmx`, ...) and options
//! (`pageTableExtensionDisabled`); `inherent` marks those hostplane writes itself. User tags are
//! free text. Tags go with their resource.

use sqlx::AnyConnection;

use super::{IntBool, Store};

/// Delete every tag of one resource, inside the caller's transaction (resources take their
/// tags with them).
pub(super) async fn delete_tags_of(
    conn: &mut AnyConnection,
    resource_uuid: &str,
) -> sqlx::Result<()> {
    for sql in [
        "DELETE FROM system_tag WHERE resource_uuid = $1",
        "DELETE FROM user_tag WHERE resource_uuid = $1",
    ] {
        sqlx::query(sql)
            .bind(resource_uuid)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Add tags to a resource inside the caller's transaction; an identical tag already there is
/// left alone.
pub(super) async fn add_tags_in(
    conn: &mut AnyConnection,
    system: bool,
    resource_uuid: &str,
    resource_type: &str,
    tags: &[String],
    inherent: bool,
    now: i64,
) -> sqlx::Result<()> {
    for tag in tags {
        let q = if system {
            sqlx::query(
                "INSERT INTO system_tag (uuid, resource_uuid, resource_type, tag, inherent, create_date, last_op_date) \
                 SELECT $1, $2, $3, $4, $5, $6, $6 WHERE NOT EXISTS \
                 (SELECT 1 FROM system_tag WHERE resource_uuid = $2 AND tag = $4)",
            )
        } else {
            sqlx::query(
                "INSERT INTO user_tag (uuid, resource_uuid, resource_type, tag, create_date, last_op_date) \
                 SELECT $1, $2, $3, $4, $5, $5 WHERE NOT EXISTS \
                 (SELECT 1 FROM user_tag WHERE resource_uuid = $2 AND tag = $4)",
            )
        };
        let q = q
            .bind(crate::ids::new_uuid())
            .bind(resource_uuid)
            .bind(resource_type)
            .bind(tag);
        let q = if system { q.bind(inherent as i64) } else { q };
        q.bind(now).execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TagRow {
    pub uuid: String,
    pub tag: String,
    #[sqlx(try_from = "IntBool")]
    pub inherent: bool,
}

impl Store {
    /// Add tags to a resource; an identical tag already there is left alone.
    pub async fn tags_add(
        &self,
        system: bool,
        resource_uuid: &str,
        resource_type: &str,
        tags: &[String],
        inherent: bool,
        now: i64,
    ) -> sqlx::Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        add_tags_in(
            &mut tx,
            system,
            resource_uuid,
            resource_type,
            tags,
            inherent,
            now,
        )
        .await?;
        tx.commit().await
    }

    /// Replace the resource's inherent system tags with `tags` (the facts of its last connect),
    /// keeping the ones that did not change so their uuids and dates stay.
    pub async fn tags_replace_inherent(
        &self,
        resource_uuid: &str,
        resource_type: &str,
        tags: &[String],
        now: i64,
    ) -> sqlx::Result<()> {
        let existing = self.tags_of(true, resource_uuid).await?;
        let mut tx = self.pool().begin().await?;
        for t in existing
            .iter()
            .filter(|t| t.inherent && !tags.contains(&t.tag))
        {
            sqlx::query("DELETE FROM system_tag WHERE uuid = $1")
                .bind(&t.uuid)
                .execute(&mut *tx)
                .await?;
        }
        for tag in tags
            .iter()
            .filter(|tag| !existing.iter().any(|t| &t.tag == *tag))
        {
            sqlx::query(
                "INSERT INTO system_tag (uuid, resource_uuid, resource_type, tag, inherent, create_date, last_op_date) \
                 VALUES ($1, $2, $3, $4, 1, $5, $5)",
            )
            .bind(crate::ids::new_uuid())
            .bind(resource_uuid)
            .bind(resource_type)
            .bind(tag)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    pub async fn tags_of(&self, system: bool, resource_uuid: &str) -> sqlx::Result<Vec<TagRow>> {
        let sql = if system {
            "SELECT uuid, tag, inherent FROM system_tag WHERE resource_uuid = $1 ORDER BY create_date, tag"
        } else {
            "SELECT uuid, tag, 0 AS inherent FROM user_tag WHERE resource_uuid = $1 ORDER BY create_date, tag"
        };
        sqlx::query_as(sql)
            .bind(resource_uuid)
            .fetch_all(self.pool())
            .await
    }

    /// Remove system tags of a resource whose text starts with `prefix` (e.g. `ConnectedTime::`).
    pub async fn tags_remove_prefix(&self, resource_uuid: &str, prefix: &str) -> sqlx::Result<()> {
        // substr instead of LIKE: the prefix is data, not a pattern.
        sqlx::query("DELETE FROM system_tag WHERE resource_uuid = $1 AND substr(tag, 1, CAST($2 AS INTEGER)) = $3")
            .bind(resource_uuid)
            .bind(prefix.chars().count() as i64)
            .bind(prefix)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
