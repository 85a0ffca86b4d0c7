//! Compiles registered-model and model-version searches to parameterized SQL, following the
//! reference's SQL store (`mlflow/store/model_registry/sqlalchemy_store.py`):
//!
//! - `name` (and for versions `run_id`, `source_path`, `version_number`) compare the column;
//!   `LIKE` / `ILIKE` behave as in run searches (case-sensitive `LIKE`, see the parent module).
//! - A tag comparison, `!=` included, matches only rows that have the tag.
//! - Unless the query asks for prompts, models tagged `mlflow.prompt.is_prompt = 'true'` (for
//!   versions: whose model has a version so tagged) are left out.
//! - Registered models sort by the order_by terms, then `name` unless named. Versions default to
//!   `last_updated_timestamp DESC, name ASC, version_number DESC`; with explicit terms, `name
//!   ASC` and `version DESC` break ties unless named.

use keel_core::registry::{IS_PROMPT_TAG, ModelVersionQuery, RegisteredModelQuery};
use keel_core::store::{ModelVisibility, Visible};
use keel_filter::{Comparison, KeyKind, OrderBy};

use super::{CompiledQuery, Dialect, Sql, SqlValue, condition};

fn direction(o: &OrderBy) -> &'static str {
    if o.ascending { "ASC" } else { "DESC" }
}

/// `EXISTS` on a tag table row of the entity (`owner` joins it to the outer row).
fn tag_condition(sql: &mut Sql, table: &str, owner: &str, c: &Comparison) -> String {
    let k = sql.text(&c.key.name);
    let cond = condition(sql, "t.value", c.op, &c.value);
    format!("EXISTS (SELECT 1 FROM {table} t WHERE {owner} AND t.key = {k} AND {cond})")
}

/// Leaves out prompts: rows of a model with a tag `mlflow.prompt.is_prompt = 'true'`.
fn not_prompt(sql: &mut Sql, table: &str) -> String {
    let k = sql.text(IS_PROMPT_TAG);
    let v = sql.text("true");
    let owner = if table == "registered_model_tags" {
        "rm.model_key"
    } else {
        "mv.model_key"
    };
    format!(
        "NOT EXISTS (SELECT 1 FROM {table} p WHERE p.model_key = {owner} AND p.key = {k} \
         AND p.value = {v})"
    )
}

/// Models of one workspace only (names are unique per workspace).
fn in_workspace(sql: &mut Sql, workspace: &str) -> String {
    format!("rm.workspace = {}", sql.text(workspace))
}

/// `rm.name` restricted to what `visible` allows.
fn visible_names(sql: &mut Sql, visible: &Visible) -> String {
    let (names, negate) = match visible {
        Visible::All => return "1 = 1".to_owned(),
        Visible::Only(names) => (names, false),
        Visible::AllExcept(names) => (names, true),
    };
    if names.is_empty() {
        return if negate { "1 = 1" } else { "1 = 0" }.to_owned();
    }
    let params: Vec<String> = names.iter().map(|n| sql.text(n)).collect();
    format!(
        "rm.name {}IN ({})",
        if negate { "NOT " } else { "" },
        params.join(", ")
    )
}

/// The condition keeping only the models (by their name, prompts by theirs) the caller may see.
fn visible_models(sql: &mut Sql, table: &str, visible: &ModelVisibility) -> Option<String> {
    if visible.models == Visible::All && visible.prompts == Visible::All {
        return None;
    }
    let models = visible_names(sql, &visible.models);
    let prompts = visible_names(sql, &visible.prompts);
    let not_prompt_a = not_prompt(sql, table);
    let not_prompt_b = not_prompt(sql, table);
    Some(format!(
        "(({not_prompt_a} AND {models}) OR (NOT ({not_prompt_b}) AND {prompts}))"
    ))
}

fn page(sql: &mut Sql, offset: i64, limit: i64) -> String {
    let limit_p = sql.bind(SqlValue::Int(limit));
    let offset_p = sql.bind(SqlValue::Int(offset.max(0)));
    format!(" LIMIT {limit_p} OFFSET {offset_p}")
}

/// `SELECT rm.model_key ...` for one page of a registered-model search, in `dialect`.
pub(crate) fn registered_model_search_sql(
    dialect: Dialect,
    q: &RegisteredModelQuery,
) -> CompiledQuery {
    let mut sql = Sql::new(dialect);
    let mut conditions = vec![in_workspace(&mut sql, &q.workspace)];
    for c in &q.filter {
        conditions.push(match c.key.kind {
            KeyKind::Attribute if c.key.name == "name" => {
                condition(&mut sql, "rm.name", c.op, &c.value)
            }
            KeyKind::Tag => tag_condition(
                &mut sql,
                "registered_model_tags",
                "t.model_key = rm.model_key",
                c,
            ),
            // The registry grammar yields nothing else.
            _ => sql.never(),
        });
    }
    if !q.include_prompts {
        conditions.push(not_prompt(&mut sql, "registered_model_tags"));
    }
    conditions.extend(visible_models(
        &mut sql,
        "registered_model_tags",
        &q.visible,
    ));
    let mut order_terms = Vec::new();
    let mut has_name = false;
    for o in &q.order_by {
        let col = match o.key.name.as_str() {
            "name" => {
                has_name = true;
                "rm.name"
            }
            "last_updated_timestamp" => "rm.last_updated_time",
            _ => continue,
        };
        order_terms.push(format!("{col} {}", direction(o)));
    }
    if !has_name {
        order_terms.push("rm.name ASC".into());
    }
    let mut text = String::from("SELECT rm.model_key FROM registered_models rm WHERE ");
    text.push_str(&conditions.join(" AND "));
    text.push_str(" ORDER BY ");
    text.push_str(&order_terms.join(", "));
    text.push_str(&page(&mut sql, q.offset, q.limit));
    sql.finish(text)
}

/// `SELECT mv.model_key, mv.version ...` for one page of a model-version search, in `dialect`.
pub(crate) fn model_version_search_sql(dialect: Dialect, q: &ModelVersionQuery) -> CompiledQuery {
    let mut sql = Sql::new(dialect);
    let mut conditions = vec![in_workspace(&mut sql, &q.workspace)];
    for c in &q.filter {
        let column = match c.key.name.as_str() {
            "name" => "rm.name",
            "version_number" => "mv.version",
            "run_id" => "mv.run_id",
            "source_path" => "mv.source",
            _ => "",
        };
        conditions.push(match c.key.kind {
            KeyKind::Tag => tag_condition(
                &mut sql,
                "model_version_tags",
                "t.model_key = mv.model_key AND t.version = mv.version",
                c,
            ),
            KeyKind::Attribute if !column.is_empty() => condition(&mut sql, column, c.op, &c.value),
            _ => sql.never(),
        });
    }
    if !q.include_prompts {
        conditions.push(not_prompt(&mut sql, "model_version_tags"));
    }
    conditions.extend(visible_models(&mut sql, "model_version_tags", &q.visible));
    let mut order_terms = Vec::new();
    let (mut has_name, mut has_version) = (false, false);
    if q.order_by.is_empty() {
        order_terms.push("mv.last_updated_time DESC".to_string());
    }
    for o in &q.order_by {
        let col = match o.key.name.as_str() {
            "name" => {
                has_name = true;
                "rm.name"
            }
            "version_number" => {
                has_version = true;
                "mv.version"
            }
            "creation_timestamp" => "mv.creation_time",
            "last_updated_timestamp" => "mv.last_updated_time",
            _ => continue,
        };
        order_terms.push(format!("{col} {}", direction(o)));
    }
    if !has_name {
        order_terms.push("rm.name ASC".into());
    }
    if !has_version {
        order_terms.push("mv.version DESC".into());
    }
    let mut text = String::from(
        "SELECT mv.model_key, mv.version FROM model_versions mv \
         JOIN registered_models rm ON rm.model_key = mv.model_key WHERE ",
    );
    text.push_str(&conditions.join(" AND "));
    text.push_str(" ORDER BY ");
    text.push_str(&order_terms.join(", "));
    text.push_str(&page(&mut sql, q.offset, q.limit));
    sql.finish(text)
}

#[cfg(test)]
mod tests {
    use keel_filter::{Target, parse_filter, parse_order_by_list};
    use rusqlite::Connection;

    use super::*;

    const SCHEMA: &[&str] = &[
        include_str!("../../migrations/sqlite/0001_tracking.sql"),
        include_str!("../../migrations/sqlite/0002_logged_models.sql"),
        include_str!("../../migrations/sqlite/0003_registry.sql"),
        include_str!("../../migrations/sqlite/0004_webhooks.sql"),
        include_str!("../../migrations/sqlite/0007_identity.sql"),
        include_str!("../../migrations/sqlite/0008_workspaces.sql"),
        include_str!("../../migrations/sqlite/0009_registry_workspaces.sql"),
    ];

    /// Models alpha (versions 1-3), Beta (1-2) and a prompt (1), with tags chosen to tell the
    /// operators apart.
    fn fixture() -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        for s in SCHEMA {
            conn.execute_batch(s).expect("schema");
        }
        conn.execute_batch(
            "INSERT INTO workspaces (name) VALUES ('other');
             INSERT INTO registered_models (model_key, name, creation_time, last_updated_time,
                                            description, last_version, workspace) VALUES
               (1, 'alpha', 10, 50, NULL, 3, 'default'), (2, 'Beta', 20, 40, 'd', 2, 'default'),
               (3, 'prompt', 30, 30, NULL, 1, 'default'), (4, 'alpha', 10, 50, NULL, 1, 'other');
             INSERT INTO registered_model_tags VALUES
               (1, 'team', 'Core'), (2, 'team', 'core'), (3, 'mlflow.prompt.is_prompt', 'true');
             INSERT INTO model_versions VALUES
               (1, 1, 10, 11, NULL, NULL, 'None', 'runs:/r1/m', NULL, 'r1', NULL, 'READY', NULL, NULL),
               (1, 2, 12, 60, NULL, NULL, 'Production', 's3://b/x', NULL, 'r2', NULL, 'READY', NULL, NULL),
               (1, 3, 14, 15, NULL, NULL, 'None', 'models:/m-1', NULL, '', NULL, 'READY', NULL, 'm-1'),
               (2, 1, 21, 22, NULL, NULL, 'Staging', 'runs:/r1/b', NULL, 'r1', NULL, 'READY', NULL, NULL),
               (2, 2, 23, 24, NULL, NULL, 'None', 'runs:/r3/b', NULL, 'r3', NULL, 'READY', NULL, NULL),
               (3, 1, 31, 32, NULL, NULL, 'None', 'mlflow-artifacts:/p', NULL, '', NULL, 'READY', NULL, NULL),
               (4, 1, 12, 60, NULL, NULL, 'None', 's3://b/y', NULL, 'r2', NULL, 'READY', NULL, NULL);
             INSERT INTO model_version_tags VALUES
               (1, 1, 'env', 'prod'), (1, 2, 'env', 'Prod'), (2, 2, 'env', 'dev'),
               (3, 1, 'mlflow.prompt.is_prompt', 'true');",
        )
        .expect("fixture");
        conn
    }

    fn models(conn: &Connection, filter: &str, order_by: &[&str], prompts: bool) -> Vec<i64> {
        let q = RegisteredModelQuery {
            workspace: "default".into(),
            filter: parse_filter(Target::RegisteredModels, filter).expect("filter"),
            include_prompts: prompts,
            order_by: parse_order_by_list(Target::RegisteredModels, order_by).expect("order"),
            offset: 0,
            limit: 100,
            ..Default::default()
        };
        let c = registered_model_search_sql(Dialect::Sqlite, &q);
        let mut stmt = conn.prepare(&c.sql).expect("prepare");
        stmt.query_map(rusqlite::params_from_iter(c.params.iter()), |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    fn versions(conn: &Connection, filter: &str, order_by: &[&str]) -> Vec<(i64, i64)> {
        let q = ModelVersionQuery {
            workspace: "default".into(),
            filter: parse_filter(Target::ModelVersions, filter).expect("filter"),
            include_prompts: false,
            order_by: parse_order_by_list(Target::ModelVersions, order_by).expect("order"),
            offset: 0,
            limit: 100,
            ..Default::default()
        };
        let c = model_version_search_sql(Dialect::Sqlite, &q);
        let mut stmt = conn.prepare(&c.sql).expect("prepare");
        stmt.query_map(rusqlite::params_from_iter(c.params.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
    }

    #[test]
    fn registered_models_filter_by_name_and_tags() {
        let conn = fixture();
        // Byte order: upper case first.
        assert_eq!(models(&conn, "", &[], false), vec![2, 1]);
        assert_eq!(models(&conn, "", &[], true), vec![2, 1, 3]);
        assert_eq!(models(&conn, "name LIKE 'a%'", &[], false), vec![1]);
        assert_eq!(models(&conn, "name LIKE 'B%'", &[], false), vec![2]);
        assert_eq!(models(&conn, "name ILIKE 'b%'", &[], false), vec![2]);
        assert_eq!(models(&conn, "name IN ('alpha', 'x')", &[], false), vec![1]);
        assert_eq!(models(&conn, "name NOT IN ('alpha')", &[], false), vec![2]);
        assert_eq!(models(&conn, "name != 'alpha'", &[], false), vec![2]);
        assert_eq!(models(&conn, "tags.team = 'core'", &[], false), vec![2]);
        assert_eq!(
            models(&conn, "tags.team ILIKE 'CORE'", &[], false),
            vec![2, 1]
        );
        assert_eq!(models(&conn, "tags.team != 'core'", &[], false), vec![1]);
        assert!(models(&conn, "tags.missing != 'x'", &[], false).is_empty());
    }

    #[test]
    fn registered_models_order() {
        let conn = fixture();
        assert_eq!(models(&conn, "", &["timestamp DESC"], false), vec![1, 2]);
        assert_eq!(
            models(&conn, "", &["last_updated_timestamp"], false),
            vec![2, 1]
        );
        assert_eq!(models(&conn, "", &["name DESC"], false), vec![1, 2]);
    }

    #[test]
    fn model_versions_filter_and_order() {
        let conn = fixture();
        // Default: last update DESC, then name, then version DESC; prompts left out.
        assert_eq!(
            versions(&conn, "", &[]),
            vec![(1, 2), (2, 2), (2, 1), (1, 3), (1, 1)]
        );
        assert_eq!(
            versions(&conn, "name = 'alpha'", &["version_number ASC"]),
            vec![(1, 1), (1, 2), (1, 3)]
        );
        assert_eq!(
            versions(&conn, "version_number >= 2", &["name"]),
            vec![(2, 2), (1, 3), (1, 2)]
        );
        assert_eq!(
            versions(&conn, "run_id IN ('r1', 'r3')", &["creation_timestamp"]),
            vec![(1, 1), (2, 1), (2, 2)]
        );
        assert_eq!(versions(&conn, "run_id = ''", &[]), vec![(1, 3)]);
        assert_eq!(
            versions(&conn, "run_id != 'r1'", &[]),
            vec![(1, 2), (2, 2), (1, 3)]
        );
        assert_eq!(
            versions(&conn, "source_path LIKE 's3://%'", &[]),
            vec![(1, 2)]
        );
        assert_eq!(versions(&conn, "tags.env = 'prod'", &[]), vec![(1, 1)]);
        assert_eq!(
            versions(&conn, "tags.env ILIKE 'PROD'", &[]),
            vec![(1, 2), (1, 1)]
        );
        assert_eq!(
            versions(&conn, "tags.env != 'prod'", &[]),
            vec![(1, 2), (2, 2)]
        );
        assert_eq!(
            versions(&conn, "version_number = '2' AND name = 'Beta'", &[]),
            vec![(2, 2)]
        );
    }

    #[test]
    fn user_values_are_bound() {
        let q = RegisteredModelQuery {
            filter: parse_filter(Target::RegisteredModels, "name = \"x' OR 1=1 --\"")
                .expect("filter"),
            include_prompts: true,
            order_by: Vec::new(),
            offset: 0,
            limit: 10,
            ..Default::default()
        };
        let c = registered_model_search_sql(Dialect::Postgres, &q);
        assert!(!c.sql.contains("OR 1=1"), "{}", c.sql);
        assert!(c.sql.contains("$1"), "{}", c.sql);
    }
}
