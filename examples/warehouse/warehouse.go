package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)
)

// batchSize is how many staging rows the processor loads at a time.
const batchSize = 100

// tsFormat is fixed-width, so that SQLite, which stores times as text,
// compares them in time order.
const tsFormat = "2006-01-02T15:04:05.000000Z"

// ts formats t for the database; the zero time is NULL.
func ts(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: t.UTC().Format(tsFormat), Valid: true}
}

// warehouse stages deliveries and folds them into dimension and fact tables.
// It is safe for concurrent use: ingest runs in HTTP handlers while one
// processor goroutine runs processBatch.
type warehouse struct {
	db   *sql.DB
	d    dialect
	log  *slog.Logger
	wake chan struct{} // ingest → processor: new rows are staged
	now  func() time.Time
}

// openDB opens dsn: a postgres:// or postgresql:// URL selects PostgreSQL
// through pgx, anything else is the path of an SQLite file (created if
// missing).
func openDB(dsn string) (*sql.DB, dialect, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		return db, postgresDialect, err
	}
	// One connection: SQLite allows one writer at a time, and the busy
	// timeout covers another process holding the file briefly. WAL lets
	// a BI tool read while the warehouse writes.
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := sql.Open("sqlite", dsn+sep+"_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, sqliteDialect, err
	}
	db.SetMaxOpenConns(1)
	return db, sqliteDialect, nil
}

// migrate creates the tables if they do not exist.
func (w *warehouse) migrate(ctx context.Context) error {
	for _, stmt := range w.d.schema {
		if _, err := w.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	return nil
}

// ingest stores one verified delivery in the staging table and returns:
// the 2xx goes out before any processing. A delivery already staged is
// ignored, so a retry or a redelivery never inserts twice.
func (w *warehouse) ingest(ctx context.Context, e *webhook.Event, body []byte) error {
	res, err := w.db.ExecContext(ctx, w.d.rebind(`
		INSERT INTO staging_events (delivery_id, event_id, event_type, organization_id, project_id,
			occurred_at, received_at, payload, processed)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE)
		ON CONFLICT (delivery_id) DO NOTHING`),
		e.DeliveryID, e.ID, string(e.Type), e.OrganizationID, nullString(e.ProjectID),
		ts(e.Timestamp), ts(w.now()), string(body))
	if err != nil {
		return fmt.Errorf("stage %s: %w", e.DeliveryID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		w.log.InfoContext(ctx, "duplicate delivery ignored", "delivery_id", e.DeliveryID, "event", e.Type)
		return nil
	}
	w.log.InfoContext(ctx, "staged", "delivery_id", e.DeliveryID, "event", e.Type)
	select {
	case w.wake <- struct{}{}:
	default: // the processor is already due to run
	}
	return nil
}

// stagedRow is one unprocessed staging row.
type stagedRow struct {
	deliveryID string
	payload    string
}

// processBatch processes up to batchSize staged rows, oldest event first,
// each in its own transaction, and returns how many it processed. A row
// whose payload cannot be processed gets its error recorded and is skipped
// from then on (clear the error to retry it), so one bad row cannot stall
// the pipeline.
func (w *warehouse) processBatch(ctx context.Context) (int, error) {
	rows, err := w.db.QueryContext(ctx, w.d.rebind(`
		SELECT delivery_id, payload FROM staging_events
		WHERE NOT processed AND error IS NULL
		ORDER BY occurred_at, received_at LIMIT $1`), batchSize)
	if err != nil {
		return 0, fmt.Errorf("load staging rows: %w", err)
	}
	// Read them all before writing: SQLite runs on a single connection.
	var todo []stagedRow
	for rows.Next() {
		var r stagedRow
		if err := rows.Scan(&r.deliveryID, &r.payload); err != nil {
			rows.Close()
			return 0, fmt.Errorf("load staging rows: %w", err)
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("load staging rows: %w", err)
	}
	done := 0
	for _, r := range todo {
		err := w.processRow(ctx, r)
		var bad *badPayloadError
		switch {
		case errors.As(err, &bad):
			w.log.ErrorContext(ctx, "staging row skipped", "delivery_id", r.deliveryID, "error", err)
			if _, err := w.db.ExecContext(ctx, w.d.rebind(`UPDATE staging_events SET error = $1 WHERE delivery_id = $2`),
				err.Error(), r.deliveryID); err != nil {
				return done, fmt.Errorf("record error of %s: %w", r.deliveryID, err)
			}
		case err != nil:
			return done, err // the database is failing: retry the batch later
		default:
			done++
		}
	}
	return done, nil
}

// badPayloadError reports a staged payload that can never be processed.
type badPayloadError struct{ err error }

func (e *badPayloadError) Error() string { return "bad payload: " + e.err.Error() }
func (e *badPayloadError) Unwrap() error { return e.err }

// processRow applies one staged event and marks it processed, atomically.
func (w *warehouse) processRow(ctx context.Context, r stagedRow) (err error) {
	e, err := webhook.ParseEvent([]byte(r.payload))
	if err != nil {
		return &badPayloadError{err}
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	f := fact{event: e}
	if err := w.apply(ctx, tx, e, &f); err != nil {
		return err
	}
	if f.entityType != "" {
		if err := w.appendFacts(ctx, tx, &f); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, w.d.rebind(`
		UPDATE staging_events SET processed = TRUE, processed_at = $1 WHERE delivery_id = $2`),
		ts(w.now()), r.deliveryID); err != nil {
		return fmt.Errorf("mark %s processed: %w", r.deliveryID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", r.deliveryID, err)
	}
	w.log.InfoContext(ctx, "processed", "delivery_id", r.deliveryID, "event", e.Type)
	return nil
}

// fact is the fact row of one event, filled in by apply.
type fact struct {
	event      *webhook.Event
	entityType string // empty: no fact row (webhook.ping)
	entityID   string
	actor      *onplana.Actor
	diff       onplana.Changes
}

// apply upserts the dimension row the event describes and fills f. A
// Router decodes the data into the payload type of the event's category;
// webhook.ping and types added to the catalog later reach no handler: they
// are staged and marked processed, with nothing to fold in.
func (w *warehouse) apply(ctx context.Context, tx *sql.Tx, e *webhook.Event, f *fact) error {
	r := webhook.NewRouter()
	onplana.OnProject(r, func(ctx context.Context, e *webhook.Event, d *onplana.ProjectEventData) error {
		p := d.Project
		*f = fact{event: e, entityType: "project", entityID: p.ID, actor: d.Actor, diff: d.Diff}
		_, err := tx.ExecContext(ctx, w.d.rebind(`
			INSERT INTO dim_projects (id, organization_id, name, status, owner_id, start_date, due_date, url, archived, deleted, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id, name = excluded.name,
				status = excluded.status, owner_id = excluded.owner_id, start_date = excluded.start_date,
				due_date = excluded.due_date, url = excluded.url, archived = excluded.archived,
				deleted = excluded.deleted, updated_at = excluded.updated_at
			WHERE excluded.updated_at >= dim_projects.updated_at`),
			p.ID, p.OrganizationID, p.Name, string(p.Status), nullString(p.OwnerID), nullString(p.StartDate),
			nullString(p.DueDate), nullString(p.URL), !p.ArchivedAt.IsZero() || e.Type == webhook.EventProjectArchived,
			!p.DeletedAt.IsZero() || e.Type == webhook.EventProjectDeleted, ts(p.UpdatedAt))
		return err
	})
	onplana.OnTask(r, func(ctx context.Context, e *webhook.Event, d *onplana.TaskEventData) error {
		t := d.Task
		*f = fact{event: e, entityType: "task", entityID: t.ID, actor: d.Actor, diff: d.Diff}
		assignees, _ := json.Marshal(t.AssigneeIDs)
		if t.AssigneeIDs == nil {
			assignees = []byte("[]")
		}
		_, err := tx.ExecContext(ctx, w.d.rebind(`
			INSERT INTO dim_tasks (id, project_id, milestone_id, title, status, priority, assignee_ids, due_date, completed_at, url, deleted, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, milestone_id = excluded.milestone_id,
				title = excluded.title, status = excluded.status, priority = excluded.priority,
				assignee_ids = excluded.assignee_ids, due_date = excluded.due_date,
				completed_at = excluded.completed_at, url = excluded.url, deleted = excluded.deleted,
				updated_at = excluded.updated_at
			WHERE excluded.updated_at >= dim_tasks.updated_at`),
			t.ID, t.ProjectID, nullString(t.MilestoneID), t.Title, string(t.Status), string(t.Priority),
			string(assignees), nullString(t.DueDate), ts(t.CompletedAt), nullString(t.URL),
			!t.DeletedAt.IsZero() || e.Type == webhook.EventTaskDeleted, ts(t.UpdatedAt))
		return err
	})
	onplana.OnMilestone(r, func(ctx context.Context, e *webhook.Event, d *onplana.MilestoneEventData) error {
		m := d.Milestone
		*f = fact{event: e, entityType: "milestone", entityID: m.ID, actor: d.Actor, diff: d.Diff}
		_, err := tx.ExecContext(ctx, w.d.rebind(`
			INSERT INTO dim_milestones (id, project_id, name, status, due_date, completed_at, url, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, name = excluded.name,
				status = excluded.status, due_date = excluded.due_date, completed_at = excluded.completed_at,
				url = excluded.url, updated_at = excluded.updated_at
			WHERE excluded.updated_at >= dim_milestones.updated_at`),
			m.ID, m.ProjectID, m.Name, string(m.Status), nullString(m.DueDate), ts(m.CompletedAt),
			nullString(m.URL), ts(m.UpdatedAt))
		return err
	})
	onplana.OnMember(r, func(ctx context.Context, e *webhook.Event, d *onplana.MemberEventData) error {
		m := d.Member
		*f = fact{event: e, entityType: "member", entityID: m.ID, actor: d.Actor, diff: d.Diff}
		_, err := tx.ExecContext(ctx, w.d.rebind(`
			INSERT INTO dim_members (id, user_id, organization_id, scope, project_id, email, name, role, status, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, organization_id = excluded.organization_id,
				scope = excluded.scope, project_id = excluded.project_id, email = excluded.email,
				name = excluded.name, role = excluded.role, status = excluded.status,
				updated_at = excluded.updated_at
			WHERE excluded.updated_at >= dim_members.updated_at`),
			m.ID, m.UserID, m.OrganizationID, string(m.Scope), nullString(m.ProjectID), m.Email,
			nullString(m.Name), string(m.Role), string(m.Status), ts(m.UpdatedAt))
		return err
	})
	onplana.OnComment(r, func(ctx context.Context, e *webhook.Event, d *onplana.CommentEventData) error {
		// Comments are facts only: no dimension of their own.
		*f = fact{event: e, entityType: "comment", entityID: d.Comment.ID, actor: d.Actor}
		return nil
	})
	err := r.HandleEvent(ctx, e, nil)
	switch {
	case errors.Is(err, webhook.ErrInvalidEnvelope):
		return &badPayloadError{err} // the data does not fit its payload type
	case err != nil:
		return fmt.Errorf("upsert %s %s: %w", f.entityType, f.entityID, err)
	}
	return nil
}

// appendFacts appends the fact rows of f. The keys make a second delivery
// of the same event (through another subscription) a no-op.
func (w *warehouse) appendFacts(ctx context.Context, tx *sql.Tx, f *fact) error {
	e := f.event
	var actorID string
	if f.actor != nil {
		actorID = f.actor.ID
	}
	if _, err := tx.ExecContext(ctx, w.d.rebind(`
		INSERT INTO fact_events (event_id, delivery_id, event_type, organization_id, project_id, entity_type, entity_id, actor_id, occurred_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (event_id) DO NOTHING`),
		e.ID, e.DeliveryID, string(e.Type), e.OrganizationID, nullString(e.ProjectID), f.entityType,
		nullString(f.entityID), nullString(actorID), ts(e.Timestamp)); err != nil {
		return fmt.Errorf("append fact of %s: %w", e.ID, err)
	}
	for field, c := range f.diff.All() {
		if _, err := tx.ExecContext(ctx, w.d.rebind(`
			INSERT INTO fact_changes (event_id, entity_id, field, before_value, after_value, occurred_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (event_id, field) DO NOTHING`),
			e.ID, f.entityID, field, string(orNull(c.Before)), string(orNull(c.After)), ts(e.Timestamp)); err != nil {
			return fmt.Errorf("append change of %s: %w", e.ID, err)
		}
	}
	return nil
}

func orNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("null")
	}
	return v
}

// processLoop runs processBatch whenever rows are staged, and every poll
// interval in case a wake-up was missed (rows staged by another process,
// or left by a crash). It returns when ctx ends. onBatch, if set, is told
// after each batch that processed rows.
func (w *warehouse) processLoop(ctx context.Context, poll time.Duration, onBatch func(n int)) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		n, err := w.processBatch(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.ErrorContext(ctx, "processing failed; retrying at the next tick", "error", err)
		}
		if n > 0 && onBatch != nil {
			onBatch(n)
		}
		if err == nil && n == batchSize {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-tick.C:
		}
	}
}
