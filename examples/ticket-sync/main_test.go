package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/examples/internal/e2e"
	"github.com/onplana/webhook/onplana"
	"github.com/stretchr/testify/require"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// call is one write request a fake server received.
type call struct {
	method, path, auth string
	body               map[string]any
}

// fakeJira is a tiny Jira: issues with fields, labels and a status that
// changes only through transitions. It records every write.
type fakeJira struct {
	*httptest.Server
	writes chan call

	mu     sync.Mutex
	issues map[string]map[string]any // key → fields
	status map[string]string
	next   int
}

var (
	jqlLabel   = regexp.MustCompile(`^project = "OPS" AND labels = "([^"]+)"$`)
	statusList = []string{"To Do", "In Progress", "Blocked", "In Review", "Done", "Won't Do"}
)

func newFakeJira(t *testing.T) *fakeJira {
	f := &fakeJira{writes: make(chan call, 100), issues: map[string]map[string]any{}, status: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeJira) serve(w http.ResponseWriter, r *http.Request) {
	if user, pass, ok := r.BasicAuth(); !ok || user != "sync@acme.example" || pass != "jira-token" {
		http.Error(w, `{"errorMessages":["unauthorized"]}`, http.StatusUnauthorized)
		return
	}
	var body map[string]any
	if r.Method != http.MethodGet {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"errorMessages":["bad json"]}`, http.StatusBadRequest)
			return
		}
		f.writes <- call{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), body: body}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/rest/api/2/issue/"), "/transitions")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/rest/api/2/search":
		m := jqlLabel.FindStringSubmatch(r.URL.Query().Get("jql"))
		if m == nil {
			http.Error(w, `{"errorMessages":["bad jql"]}`, http.StatusBadRequest)
			return
		}
		issues := []any{}
		for k, fields := range f.issues {
			for _, l := range fields["labels"].([]any) {
				if l == m[1] {
					issues = append(issues, map[string]any{"key": k, "fields": map[string]any{"summary": fields["summary"], "labels": fields["labels"]}})
				}
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"issues": issues})
	case r.Method == http.MethodPost && r.URL.Path == "/rest/api/2/issue":
		fields := body["fields"].(map[string]any)
		if fields["project"].(map[string]any)["key"] != "OPS" || fields["summary"] == "" || fields["issuetype"] == nil {
			http.Error(w, `{"errors":{"project":"required"}}`, http.StatusBadRequest)
			return
		}
		f.next++
		k := fmt.Sprintf("OPS-%d", f.next)
		f.issues[k], f.status[k] = fields, "To Do"
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"id": fmt.Sprint(10000 + f.next), "key": k})
	case r.Method == http.MethodPut && f.issues[key] != nil:
		for name, v := range body["fields"].(map[string]any) {
			f.issues[key][name] = v
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/transitions") && f.issues[key] != nil:
		var trs []any
		for i, s := range statusList {
			trs = append(trs, map[string]any{"id": fmt.Sprint(11 + i), "name": "Move to " + s, "to": map[string]string{"name": s}})
		}
		json.NewEncoder(w).Encode(map[string]any{"transitions": trs})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/transitions") && f.issues[key] != nil:
		var id int
		fmt.Sscan(body["transition"].(map[string]any)["id"].(string), &id)
		if id < 11 || id >= 11+len(statusList) {
			http.Error(w, `{"errorMessages":["no such transition"]}`, http.StatusBadRequest)
			return
		}
		f.status[key] = statusList[id-11]
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func nextCall(t *testing.T, ch <-chan call) call {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(e2e.Timeout):
		t.Fatal("no request arrived")
		return call{}
	}
}

// fakeOnplana records the REST API calls of the reverse direction.
func fakeOnplana(t *testing.T) (*httptest.Server, <-chan call) {
	calls := make(chan call, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		calls <- call{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), body: body}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	return srv, calls
}

const (
	jiraSecret  = "jira-webhook-shared-secret"
	selfActor   = "usr_sync_bot"
	selfAccount = "acc-sync-bot"
)

type harness struct {
	s       *e2e.Sender
	jira    *fakeJira
	onplana <-chan call
	url     string // base URL of the example
}

func start(t *testing.T) *harness {
	ln, url := e2e.Listen(t, "/webhook")
	h := &harness{jira: newFakeJira(t), url: strings.TrimSuffix(url, "/webhook")}
	api, calls := fakeOnplana(t)
	h.onplana = calls
	h.s = e2e.NewSender(t, url, webhook.SchemeOnplana, "task.*")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{
			Listener: ln, Secrets: []webhook.Secret{h.s.Secret},
			JiraURL: h.jira.URL, JiraProject: "OPS", JiraEmail: "sync@acme.example", JiraToken: "jira-token",
			JiraWebhookSecret: jiraSecret, JiraAccountID: selfAccount,
			OnplanaAPIURL: api.URL, OnplanaToken: "pat-123", OnplanaActorID: selfActor,
			Log: testWriter{t},
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
	h.s.Start(t)
	return h
}

func TestTicketSync(t *testing.T) {
	t.Parallel()
	h := start(t)
	s := h.s

	var created onplana.TaskEventData
	e2e.Sample(t, webhook.EventTaskCreated, &created)
	task := created.Task
	label := "onplana-task:" + task.ID

	t.Run("task.created creates the ticket", func(t *testing.T) {
		s.Send(t, webhook.EventTaskCreated, task.ProjectID, created)
		c := nextCall(t, h.jira.writes)
		require.Equal(t, "POST /rest/api/2/issue", c.method+" "+c.path)
		fields := c.body["fields"].(map[string]any)
		require.Equal(t, task.Title, fields["summary"])
		require.Equal(t, []any{label}, fields["labels"])
		require.Equal(t, map[string]any{"name": jiraPriority[task.Priority]}, fields["priority"])
		if task.DueDate != "" {
			require.Equal(t, task.DueDate, fields["duedate"])
		}
		if task.Status != onplana.TaskStatusTodo {
			c = nextCall(t, h.jira.writes)
			require.Equal(t, "/rest/api/2/issue/OPS-1/transitions", c.path)
		}
	})

	// The task changes: new due date and status; its updated_at changes too.
	after := task
	after.DueDate = "2026-08-01"
	after.Status = onplana.TaskStatusBlocked
	after.UpdatedAt = task.UpdatedAt.Add(time.Hour)
	diff, err := onplana.Diff(task, after)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"due_date", "status", "updated_at"}, diff.Fields())
	var updated *webhook.Delivery

	t.Run("task.updated changes only the diff fields", func(t *testing.T) {
		updated = s.Send(t, webhook.EventTaskUpdated, task.ProjectID, onplana.TaskEventData{Task: after, Diff: diff, Actor: created.Actor})
		c := nextCall(t, h.jira.writes)
		require.Equal(t, "PUT /rest/api/2/issue/OPS-1", c.method+" "+c.path)
		require.Equal(t, map[string]any{"fields": map[string]any{"duedate": "2026-08-01"}}, c.body,
			"only the changed, mapped fields: not the summary, not updated_at")
		c = nextCall(t, h.jira.writes)
		require.Equal(t, "POST /rest/api/2/issue/OPS-1/transitions", c.method+" "+c.path)
		h.jira.mu.Lock()
		require.Equal(t, "Blocked", h.jira.status["OPS-1"])
		require.Equal(t, task.Title, h.jira.issues["OPS-1"]["summary"])
		h.jira.mu.Unlock()
	})

	t.Run("redelivery and our own changes write nothing", func(t *testing.T) {
		again := s.Redeliver(t, updated.ID)
		require.Equal(t, webhook.StateSucceeded, again.State)
		require.Equal(t, http.StatusOK, again.LastStatusCode, "a processed duplicate is acknowledged")

		// An update made by the sync's own Onplana identity (the reverse
		// direction) is not sent back to the ticket.
		echo := after
		echo.Title = "Set from the ticket"
		echoDiff, err := onplana.Diff(after, echo)
		require.NoError(t, err)
		s.Send(t, webhook.EventTaskUpdated, task.ProjectID, onplana.TaskEventData{
			Task: echo, Diff: echoDiff, Actor: &onplana.Actor{Type: onplana.ActorIntegration, ID: selfActor}})

		// The next write to the ticket system is the next real change.
		title := after
		title.Title = "Renamed by a person"
		titleDiff, err := onplana.Diff(after, title)
		require.NoError(t, err)
		s.Send(t, webhook.EventTaskUpdated, task.ProjectID, onplana.TaskEventData{Task: title, Diff: titleDiff, Actor: created.Actor})
		c := nextCall(t, h.jira.writes)
		require.Equal(t, "PUT /rest/api/2/issue/OPS-1", c.method+" "+c.path)
		require.Equal(t, map[string]any{"fields": map[string]any{"summary": "Renamed by a person"}}, c.body)
	})

	t.Run("task.updated without a ticket creates it", func(t *testing.T) {
		other := after
		other.ID, other.Title = "task_other1", "Predates the sync"
		otherDiff, err := onplana.NewChanges(map[string]onplana.FieldChange{"priority": {Before: json.RawMessage(`"low"`), After: json.RawMessage(`"urgent"`)}})
		require.NoError(t, err)
		s.Send(t, webhook.EventTaskUpdated, other.ProjectID, onplana.TaskEventData{Task: other, Diff: otherDiff})
		c := nextCall(t, h.jira.writes)
		require.Equal(t, "POST /rest/api/2/issue", c.method+" "+c.path)
		fields := c.body["fields"].(map[string]any)
		require.Equal(t, "Predates the sync", fields["summary"])
		require.Equal(t, []any{"onplana-task:task_other1"}, fields["labels"])
		c = nextCall(t, h.jira.writes) // and moves it to the task's status
		require.Equal(t, "/rest/api/2/issue/OPS-2/transitions", c.path)
	})

	t.Run("a payload that does not decode is acknowledged, not retried", func(t *testing.T) {
		// Publish refuses such an event (it breaks the catalog), so it is
		// signed and sent by hand, as a sender of another version might.
		body := []byte(`{"delivery_id":"dlv_bad1","event_id":"evt_bad1","event":"task.updated",` +
			`"timestamp":"2026-06-27T09:15:23Z","organization_id":"org_abc123","project_id":"` + task.ProjectID + `",` +
			`"data":{"task":"not an object"}}`)
		req, err := http.NewRequest(http.MethodPost, s.Sub.URL, bytes.NewReader(body))
		require.NoError(t, err)
		require.NoError(t, webhook.Signer{}.SignRequest(req.Header, []webhook.Secret{s.Secret}, "dlv_bad1", webhook.EventTaskUpdated, time.Now(), body))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "a permanent failure: acknowledged so that the sender stops")
	})

	t.Run("ticket webhook updates the task", func(t *testing.T) {
		jiraHook := func(account string, items ...map[string]any) []byte {
			b, err := json.Marshal(map[string]any{
				"webhookEvent": "jira:issue_updated",
				"user":         map[string]any{"accountId": account},
				"issue":        map[string]any{"key": "OPS-1", "fields": map[string]any{"labels": []string{"backend", label}}},
				"changelog":    map[string]any{"items": items},
			})
			require.NoError(t, err)
			return b
		}
		post := func(body []byte, secret string) int {
			req, err := http.NewRequest(http.MethodPost, h.url+"/jira/webhook", bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("X-Hub-Signature", "sha256="+webhook.Sign(webhook.Secret(secret), body))
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		summary := map[string]any{"field": "summary", "fromString": "Renamed by a person", "toString": "Renamed in Jira"}
		status := map[string]any{"field": "status", "fromString": "Blocked", "toString": "Done"}
		due := map[string]any{"field": "duedate", "to": "2026-09-01", "toString": "1/Sep/26"}
		labels := map[string]any{"field": "labels", "toString": "backend"}

		require.Equal(t, http.StatusUnauthorized, post(jiraHook("acc-person", summary), "not-the-jira-secret"))
		require.Equal(t, http.StatusNoContent, post(jiraHook(selfAccount, summary), jiraSecret), "the sync's own edit is ignored")
		require.Equal(t, http.StatusNoContent, post(jiraHook("acc-person", summary, status, due, labels), jiraSecret))

		c := nextCall(t, h.onplana) // the first call: the two before made none
		require.Equal(t, "PATCH /v1/tasks/"+task.ID, c.method+" "+c.path)
		require.Equal(t, "Bearer pat-123", c.auth)
		require.Equal(t, map[string]any{"title": "Renamed in Jira", "status": "done", "due_date": "2026-09-01"}, c.body)
	})
}

func TestTicketSyncConfig(t *testing.T) {
	t.Parallel()
	secret := []webhook.Secret{webhook.NewSecret()}
	tests := []struct {
		name string
		cfg  config
		want string
	}{
		{name: "no secret", cfg: config{JiraURL: "https://jira.example"}, want: "WEBHOOK_SECRET"},
		{name: "no ticket system", cfg: config{Secrets: secret}, want: "--dry-run"},
		{name: "reverse without token", cfg: config{Secrets: secret, JiraURL: "https://jira.example", JiraWebhookSecret: jiraSecret}, want: "ONPLANA_TOKEN"},
		{name: "short jira secret", cfg: config{Secrets: secret, JiraURL: "https://jira.example", JiraWebhookSecret: "short", OnplanaToken: "x"}, want: "shorter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorContains(t, run(context.Background(), tt.cfg), tt.want)
		})
	}
}

func TestTicketUpdateMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		diff string
		want TicketUpdate
	}{
		{name: "title and description", diff: `{"title":{"before":"a","after":"b"},"description":{"before":null,"after":"d"}}`,
			want: TicketUpdate{Fields: map[string]any{"summary": "b", "description": "d"}}},
		{name: "due date cleared", diff: `{"due_date":{"before":"2026-07-01","after":null}}`,
			want: TicketUpdate{Fields: map[string]any{"duedate": nil}}},
		{name: "priority and status", diff: `{"priority":{"before":"low","after":"urgent"},"status":{"before":"todo","after":"done"}}`,
			want: TicketUpdate{Fields: map[string]any{"priority": map[string]string{"name": "Highest"}}, Status: "Done"}},
		{name: "unmapped fields only", diff: `{"assignee_ids":{"before":[],"after":["u1"]},"updated_at":{"before":"2026-06-27T09:15:23Z","after":"2026-06-28T09:15:23Z"}}`,
			want: TicketUpdate{Fields: map[string]any{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var diff onplana.Changes
			require.NoError(t, json.Unmarshal([]byte(tt.diff), &diff))
			u, err := ticketUpdate(diff)
			require.NoError(t, err)
			require.Equal(t, tt.want, u)
		})
	}
}

func TestMemTickets(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	m := &memTickets{out: &out}
	ctx := context.Background()
	_, err := m.FindByLabel(ctx, "onplana-task:t1")
	require.ErrorIs(t, err, ErrNoTicket)
	created, err := m.CreateTicket(ctx, TicketFields{Summary: "One", Labels: []string{"onplana-task:t1"}, Status: "To Do"})
	require.NoError(t, err)
	require.Equal(t, "DRY-1", created.Key)
	require.NoError(t, m.UpdateTicket(ctx, "DRY-1", TicketUpdate{Fields: map[string]any{"summary": "Two"}, Status: "Done"}))
	found, err := m.FindByLabel(ctx, "onplana-task:t1")
	require.NoError(t, err)
	require.Equal(t, "Two", found.Fields.Summary)
	require.Equal(t, "Done", found.Fields.Status)
	require.Error(t, m.UpdateTicket(ctx, "DRY-9", TicketUpdate{}))
	require.Contains(t, out.String(), `dry run: created DRY-1 "One"`)
	require.Contains(t, out.String(), "dry run: updated DRY-1")
}
