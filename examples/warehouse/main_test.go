package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/examples/internal/e2e"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/onplana"
	"github.com/stretchr/testify/require"
)

// testWriter sends the program's log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// harness is a running warehouse fed by a dispatcher.
type harness struct {
	s         *e2e.Sender
	url       string
	db        *sql.DB
	d         dialect
	processed chan int
	total     int // rows processed so far
}

// start runs the warehouse on dsn behind a dispatcher subscription.
func start(t *testing.T, dsn string) *harness {
	ln, url := e2e.Listen(t, "/webhook")
	h := &harness{url: url, processed: make(chan int, 100)}
	h.s = e2e.NewSender(t, url, webhook.SchemeOnplana, "*")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{
			Listener: ln, Path: "/webhook", Secrets: []webhook.Secret{h.s.Secret}, DSN: dsn,
			// An hour: processing must be driven by the wake-up from ingest,
			// not by the poll.
			Poll: time.Hour, Log: testWriter{t},
			OnProcessed: func(n int) { h.processed <- n },
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(e2e.Timeout):
			t.Error("run did not return after its context ended")
		}
	})
	var err error
	h.db, h.d, err = openDB(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { h.db.Close() })

	h.s.Start(t) // the ping is staged and processed like any event
	h.waitProcessed(t, 1)
	return h
}

// waitProcessed waits until the processor has processed total rows.
func (h *harness) waitProcessed(t *testing.T, total int) {
	t.Helper()
	for h.total < total {
		select {
		case n := <-h.processed:
			h.total += n
		case <-time.After(e2e.Timeout):
			t.Fatalf("processed %d rows, want %d", h.total, total)
		}
	}
	require.Equal(t, total, h.total)
}

func (h *harness) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, h.db.QueryRow(h.d.rebind(query), args...).Scan(&n))
	return n
}

// post sends body signed with the subscription's secret, bypassing the
// dispatcher, and returns the status.
func (h *harness) post(t *testing.T, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(webhook.DefaultSignatureHeader, webhook.Sign(h.s.Secret, body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestWarehouseSQLite(t *testing.T) {
	t.Parallel()
	testWarehouse(t, filepath.Join(t.TempDir(), "warehouse.db"))
}

func TestWarehousePostgres(t *testing.T) {
	t.Parallel()
	testWarehouse(t, pgtest.NewDatabase(t))
}

func testWarehouse(t *testing.T, dsn string) {
	h := start(t, dsn)
	s := h.s

	var project onplana.ProjectEventData
	e2e.Sample(t, webhook.EventProjectCreated, &project)
	s.Send(t, webhook.EventProjectCreated, project.Project.ID, project)

	var created onplana.TaskEventData
	e2e.Sample(t, webhook.EventTaskCreated, &created)
	s.Send(t, webhook.EventTaskCreated, created.Task.ProjectID, created)

	// An update: new title and status, one second later.
	after := created.Task
	after.Title = "Ship the pricing page"
	after.Status = onplana.TaskStatusBlocked
	after.UpdatedAt = created.Task.UpdatedAt.Add(time.Second)
	diff, err := onplana.Diff(created.Task, after)
	require.NoError(t, err)
	updated := s.Send(t, webhook.EventTaskUpdated, after.ProjectID, onplana.TaskEventData{Task: after, Diff: diff})

	var milestone onplana.MilestoneEventData
	e2e.Sample(t, webhook.EventMilestoneCompleted, &milestone)
	s.Send(t, webhook.EventMilestoneCompleted, milestone.Milestone.ProjectID, milestone)

	var member onplana.MemberEventData
	e2e.Sample(t, webhook.EventMemberInvited, &member)
	s.Send(t, webhook.EventMemberInvited, member.Member.ProjectID, member)

	var comment onplana.CommentEventData
	e2e.Sample(t, webhook.EventCommentCreated, &comment)
	s.Send(t, webhook.EventCommentCreated, comment.Comment.ProjectID, comment)

	h.waitProcessed(t, 7)
	require.Equal(t, 7, h.count(t, `SELECT COUNT(*) FROM staging_events`))
	require.Equal(t, 0, h.count(t, `SELECT COUNT(*) FROM staging_events WHERE NOT processed`))
	require.Equal(t, 6, h.count(t, `SELECT COUNT(*) FROM fact_events`), "one fact per event; the ping has none")
	require.Equal(t, 1, h.count(t, `SELECT COUNT(*) FROM dim_projects WHERE id = $1 AND name = $2`, project.Project.ID, project.Project.Name))
	require.Equal(t, 1, h.count(t, `SELECT COUNT(*) FROM dim_tasks WHERE id = $1 AND title = $2 AND status = 'blocked'`, after.ID, after.Title),
		"the task dimension holds the state after the update")
	require.Equal(t, 1, h.count(t, `SELECT COUNT(*) FROM dim_milestones WHERE id = $1 AND status = 'completed'`, milestone.Milestone.ID))
	require.Equal(t, 1, h.count(t, `SELECT COUNT(*) FROM dim_members WHERE id = $1 AND role = $2`, member.Member.ID, string(member.Member.Role)))
	require.Equal(t, diff.Len(), h.count(t, `SELECT COUNT(*) FROM fact_changes WHERE entity_id = $1`, after.ID), "one change row per diff field")
	require.Equal(t, 1, h.count(t, `SELECT COUNT(*) FROM fact_changes WHERE entity_id = $1 AND field = 'status'`, after.ID))

	t.Run("redelivery is not inserted twice", func(t *testing.T) {
		d := s.Redeliver(t, updated.ID)
		require.Equal(t, webhook.StateSucceeded, d.State, "a duplicate is acknowledged with a 2xx")
		require.Equal(t, 7, h.count(t, `SELECT COUNT(*) FROM staging_events`))
		require.Equal(t, 6, h.count(t, `SELECT COUNT(*) FROM fact_events`))
		require.Equal(t, diff.Len(), h.count(t, `SELECT COUNT(*) FROM fact_changes`))
	})

	t.Run("same event under another delivery id is one fact", func(t *testing.T) {
		// As when the warehouse is subscribed twice: the event id is the same.
		body := bytes.Replace(updated.Body, []byte(updated.ID), []byte("dlv_other_subscription"), 1)
		require.NotEqual(t, updated.Body, body)
		require.Equal(t, http.StatusNoContent, h.post(t, body))
		h.waitProcessed(t, 8)
		require.Equal(t, 8, h.count(t, `SELECT COUNT(*) FROM staging_events`))
		require.Equal(t, 6, h.count(t, `SELECT COUNT(*) FROM fact_events`))
		require.Equal(t, diff.Len(), h.count(t, `SELECT COUNT(*) FROM fact_changes`))
	})

	t.Run("an older state arriving late does not roll the dimension back", func(t *testing.T) {
		ev, err := webhook.NewEvent(webhook.EventTaskUpdated, "org_abc123", created.Task.ProjectID, created)
		require.NoError(t, err)
		ev.ID, ev.DeliveryID, ev.Timestamp = "evt_late", "dlv_late", time.Now().UTC()
		body, err := json.Marshal(ev)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, h.post(t, body))
		h.waitProcessed(t, 9)
		require.Equal(t, 1, h.count(t, `SELECT COUNT(*) FROM dim_tasks WHERE id = $1 AND title = $2`, after.ID, after.Title))
		require.Equal(t, 7, h.count(t, `SELECT COUNT(*) FROM fact_events`), "the late event is still a fact")
	})

	t.Run("a payload that cannot be processed is set aside", func(t *testing.T) {
		bad, err := webhook.NewEvent(webhook.EventTaskUpdated, "org_abc123", "proj_xyz789", map[string]any{"task": "not an object"})
		require.NoError(t, err)
		bad.ID, bad.DeliveryID, bad.Timestamp = "evt_bad", "dlv_bad", time.Now().UTC()
		body, err := json.Marshal(bad)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, h.post(t, body), "staged: the sender must not retry it forever")

		// The pipeline goes on: the next event is processed.
		var m onplana.MemberEventData
		e2e.Sample(t, webhook.EventMemberActivated, &m)
		s.Send(t, webhook.EventMemberActivated, m.Member.ProjectID, m)
		h.waitProcessed(t, 10)
		require.Equal(t, 1, h.count(t, `SELECT COUNT(*) FROM staging_events WHERE delivery_id = 'dlv_bad' AND NOT processed AND error LIKE 'bad payload:%'`))
		require.Equal(t, 1, h.count(t, `SELECT COUNT(*) FROM dim_members WHERE id = $1 AND status = 'active'`, m.Member.ID))
	})

	t.Run("bad signature is refused and not staged", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(updated.Body))
		require.NoError(t, err)
		req.Header.Set(webhook.DefaultSignatureHeader, webhook.Sign("another-secret-entirely", updated.Body))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, 11, h.count(t, `SELECT COUNT(*) FROM staging_events`))
	})
}

func TestOpenDBDialect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dsn, want, redacted string
	}{
		{name: "sqlite file", dsn: filepath.Join(t.TempDir(), "a.db"), want: "sqlite"},
		{name: "postgres url", dsn: "postgres://u:secret@db.example:5432/analytics", want: "postgres", redacted: "postgres://db.example:5432/[REDACTED]"},
		{name: "postgresql url", dsn: "postgresql://db.example/analytics", want: "postgres", redacted: "postgresql://db.example/[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, d, err := openDB(tt.dsn) // sql.Open does not connect
			require.NoError(t, err)
			db.Close()
			require.Equal(t, tt.want, d.name)
			if tt.redacted != "" {
				require.Equal(t, tt.redacted, redactDSN(tt.dsn))
			}
		})
	}
	require.Equal(t, "SELECT ?1, ?2", sqliteDialect.rebind("SELECT $1, $2"))
	require.Equal(t, "SELECT $1, $2", postgresDialect.rebind("SELECT $1, $2"))
}

func TestWarehouseRequiresSecret(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), config{DSN: filepath.Join(t.TempDir(), "w.db")})
	require.ErrorContains(t, err, "WEBHOOK_SECRET")
}
