package main

import (
	"database/sql"
	"strings"
)

// dialect is what differs between the two databases the example runs on.
type dialect struct {
	name   string   // "sqlite" or "postgres"
	schema []string // CREATE statements, idempotent
}

// rebind turns the $1, $2 … placeholders the queries are written with into
// the database's form. SQLite reads ?NNN as the NNN-th argument, so the
// numbering is kept.
func (d dialect) rebind(q string) string {
	if d.name == "sqlite" {
		return strings.ReplaceAll(q, "$", "?")
	}
	return q
}

// The staging table takes every delivery as it arrives: the primary key on
// delivery_id is what makes a duplicate delivery (a retry after a lost 2xx,
// a manual redelivery) a no-op. Dimension tables hold the latest state of
// each entity; a row is only replaced by a state at least as recent
// (updated_at), so events processed out of order cannot roll it back. Fact
// tables are append-only, keyed by event_id so that the same event reaching
// the warehouse through two subscriptions is counted once.
//
// Times are stored as fixed-width RFC 3339 UTC strings in SQLite (which
// sorts them correctly as text) and as timestamptz in PostgreSQL.
var sqliteDialect = dialect{name: "sqlite", schema: []string{
	`CREATE TABLE IF NOT EXISTS staging_events (
		delivery_id     TEXT PRIMARY KEY,
		event_id        TEXT NOT NULL,
		event_type      TEXT NOT NULL,
		organization_id TEXT NOT NULL,
		project_id      TEXT,
		occurred_at     TEXT NOT NULL,
		received_at     TEXT NOT NULL,
		payload         TEXT NOT NULL,
		processed       BOOLEAN NOT NULL DEFAULT FALSE,
		processed_at    TEXT,
		error           TEXT
	)`,
	`CREATE INDEX IF NOT EXISTS staging_events_todo ON staging_events (occurred_at) WHERE NOT processed`,
	`CREATE TABLE IF NOT EXISTS dim_projects (
		id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
		owner_id TEXT, start_date TEXT, due_date TEXT, url TEXT,
		archived BOOLEAN NOT NULL, deleted BOOLEAN NOT NULL, updated_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS dim_tasks (
		id TEXT PRIMARY KEY, project_id TEXT NOT NULL, milestone_id TEXT, title TEXT NOT NULL,
		status TEXT NOT NULL, priority TEXT NOT NULL, assignee_ids TEXT NOT NULL, due_date TEXT,
		completed_at TEXT, url TEXT, deleted BOOLEAN NOT NULL, updated_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS dim_milestones (
		id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
		due_date TEXT, completed_at TEXT, url TEXT, updated_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS dim_members (
		id TEXT PRIMARY KEY, user_id TEXT NOT NULL, organization_id TEXT NOT NULL, scope TEXT NOT NULL,
		project_id TEXT, email TEXT NOT NULL, name TEXT, role TEXT NOT NULL, status TEXT NOT NULL,
		updated_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS fact_events (
		event_id TEXT PRIMARY KEY, delivery_id TEXT NOT NULL, event_type TEXT NOT NULL,
		organization_id TEXT NOT NULL, project_id TEXT, entity_type TEXT NOT NULL, entity_id TEXT,
		actor_id TEXT, occurred_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS fact_changes (
		event_id TEXT NOT NULL, entity_id TEXT NOT NULL, field TEXT NOT NULL,
		before_value TEXT NOT NULL, after_value TEXT NOT NULL, occurred_at TEXT NOT NULL,
		PRIMARY KEY (event_id, field))`,
}}

var postgresDialect = dialect{name: "postgres", schema: []string{
	`CREATE TABLE IF NOT EXISTS staging_events (
		delivery_id     TEXT PRIMARY KEY,
		event_id        TEXT NOT NULL,
		event_type      TEXT NOT NULL,
		organization_id TEXT NOT NULL,
		project_id      TEXT,
		occurred_at     TIMESTAMPTZ NOT NULL,
		received_at     TIMESTAMPTZ NOT NULL,
		payload         JSONB NOT NULL,
		processed       BOOLEAN NOT NULL DEFAULT FALSE,
		processed_at    TIMESTAMPTZ,
		error           TEXT
	)`,
	`CREATE INDEX IF NOT EXISTS staging_events_todo ON staging_events (occurred_at) WHERE NOT processed`,
	`CREATE TABLE IF NOT EXISTS dim_projects (
		id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
		owner_id TEXT, start_date DATE, due_date DATE, url TEXT,
		archived BOOLEAN NOT NULL, deleted BOOLEAN NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS dim_tasks (
		id TEXT PRIMARY KEY, project_id TEXT NOT NULL, milestone_id TEXT, title TEXT NOT NULL,
		status TEXT NOT NULL, priority TEXT NOT NULL, assignee_ids JSONB NOT NULL, due_date DATE,
		completed_at TIMESTAMPTZ, url TEXT, deleted BOOLEAN NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS dim_milestones (
		id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
		due_date DATE, completed_at TIMESTAMPTZ, url TEXT, updated_at TIMESTAMPTZ NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS dim_members (
		id TEXT PRIMARY KEY, user_id TEXT NOT NULL, organization_id TEXT NOT NULL, scope TEXT NOT NULL,
		project_id TEXT, email TEXT NOT NULL, name TEXT, role TEXT NOT NULL, status TEXT NOT NULL,
		updated_at TIMESTAMPTZ NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS fact_events (
		event_id TEXT PRIMARY KEY, delivery_id TEXT NOT NULL, event_type TEXT NOT NULL,
		organization_id TEXT NOT NULL, project_id TEXT, entity_type TEXT NOT NULL, entity_id TEXT,
		actor_id TEXT, occurred_at TIMESTAMPTZ NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS fact_changes (
		event_id TEXT NOT NULL, entity_id TEXT NOT NULL, field TEXT NOT NULL,
		before_value JSONB NOT NULL, after_value JSONB NOT NULL, occurred_at TIMESTAMPTZ NOT NULL,
		PRIMARY KEY (event_id, field))`,
}}

// nullString maps "" to NULL, so that optional dates and ids are NULL in
// the warehouse rather than empty strings (which PostgreSQL's DATE refuses).
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
