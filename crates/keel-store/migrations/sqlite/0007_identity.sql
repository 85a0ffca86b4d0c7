-- Keel schema, version 7 (SQLite): identity and access. Accounts (users and service
-- accounts), API tokens (only each secret's SHA-256), roles scoped to a workspace with their
-- grants, and the assignment of roles to accounts. A user's own grants live on a role named
-- `__user_<id>__` in each workspace, as in the reference.

CREATE TABLE auth_users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT,
    email         TEXT,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    kind          TEXT    NOT NULL,
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE auth_tokens (
    id            TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    secret_sha256 BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    revoked_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX auth_tokens_by_user ON auth_tokens (user_id, created_at DESC);

CREATE TABLE auth_roles (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    workspace   TEXT    NOT NULL,
    description TEXT,
    UNIQUE (workspace, name)
);

CREATE TABLE auth_role_permissions (
    id               INTEGER PRIMARY KEY,
    role_id          INTEGER NOT NULL REFERENCES auth_roles (id) ON DELETE CASCADE,
    resource_type    TEXT    NOT NULL,
    resource_pattern TEXT    NOT NULL,
    permission       TEXT    NOT NULL,
    UNIQUE (role_id, resource_type, resource_pattern)
);
CREATE INDEX auth_role_permissions_by_pattern
    ON auth_role_permissions (resource_type, resource_pattern);

CREATE TABLE auth_role_assignments (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES auth_roles (id) ON DELETE CASCADE,
    UNIQUE (user_id, role_id)
);
CREATE INDEX auth_role_assignments_by_role ON auth_role_assignments (role_id);
