package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
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

// slackCall is one request the fake Slack received.
type slackCall struct {
	path  string
	auth  string
	body  map[string]any
	msg   message
	ctype string
}

// fakeSlack serves the incoming webhook path and the Web API methods the
// notifier uses, and checks what a real Slack would refuse.
type fakeSlack struct {
	*httptest.Server
	calls chan slackCall
	gate  chan struct{} // when non-nil, incoming-webhook answers wait for it
}

const (
	hookPath = "/services/T000/B000/XXXXSECRET"
	botToken = "xoxb-test-token"
)

func newFakeSlack(t *testing.T, gated bool) *fakeSlack {
	f := &fakeSlack{calls: make(chan slackCall, 100)}
	if gated {
		f.gate = make(chan struct{})
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		c := slackCall{path: r.URL.Path, auth: r.Header.Get("Authorization"), ctype: r.Header.Get("Content-Type")}
		if err := json.Unmarshal(raw, &c.body); err != nil || json.Unmarshal(raw, &c.msg) != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		f.calls <- c
		switch r.URL.Path {
		case hookPath:
			if f.gate != nil {
				<-f.gate
			}
			io.WriteString(w, "ok")
		case "/api/conversations.create":
			if c.auth != "Bearer "+botToken {
				io.WriteString(w, `{"ok":false,"error":"not_authed"}`)
				return
			}
			io.WriteString(w, `{"ok":true,"channel":{"id":"C0PROJ","name":"`+c.body["name"].(string)+`"}}`)
		case "/api/chat.postMessage":
			io.WriteString(w, `{"ok":true,"ts":"1.2"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(func() {
		if f.gate != nil {
			select {
			case <-f.gate:
			default:
				close(f.gate)
			}
		}
		f.Close()
	})
	return f
}

func (f *fakeSlack) next(t *testing.T) slackCall {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(e2e.Timeout):
		t.Fatal("Slack received nothing")
		return slackCall{}
	}
}

// start runs the notifier behind a dispatcher subscription (Standard
// Webhooks scheme) and returns the sender.
func start(t *testing.T, slack *fakeSlack, botToken string) *e2e.Sender {
	ln, url := e2e.Listen(t, "/webhook")
	s := e2e.NewSender(t, url, webhook.SchemeStandard,
		"project.created", "project.status_changed", "milestone.completed", "task.created", "task.updated")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{
			Listener: ln, Path: "/webhook", Scheme: webhook.SchemeStandard, Secrets: []webhook.Secret{s.Secret},
			SlackWebhookURL: slack.URL + hookPath, SlackBotToken: botToken, SlackAPIURL: slack.URL + "/api",
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
	s.Start(t)
	return s
}

// requireBlockKit checks the shape Slack requires of a Block Kit message
// and returns its header and fields as text.
func requireBlockKit(t *testing.T, c slackCall) (header string, fields map[string]string, link string) {
	t.Helper()
	require.Equal(t, "application/json; charset=utf-8", c.ctype)
	require.NotEmpty(t, c.msg.Text, "a fallback text is required for notifications")
	blocks, ok := c.body["blocks"].([]any)
	require.True(t, ok, "blocks is an array")
	fields = map[string]string{}
	for _, b := range blocks {
		b := b.(map[string]any)
		switch b["type"] {
		case "header":
			text := b["text"].(map[string]any)
			require.Equal(t, "plain_text", text["type"], "a header's text must be plain_text")
			header = text["text"].(string)
			require.LessOrEqual(t, len([]rune(header)), 150)
		case "section":
			fs := b["fields"].([]any)
			require.LessOrEqual(t, len(fs), 10, "Slack allows at most 10 fields")
			for _, f := range fs {
				f := f.(map[string]any)
				require.Equal(t, "mrkdwn", f["type"])
				name, value, ok := strings.Cut(f["text"].(string), "\n")
				require.True(t, ok)
				fields[strings.Trim(name, "*")] = value
			}
		case "actions":
			el := b["elements"].([]any)[0].(map[string]any)
			require.Equal(t, "button", el["type"])
			require.Equal(t, "plain_text", el["text"].(map[string]any)["type"])
			link = el["url"].(string)
		case "context":
			require.Equal(t, "mrkdwn", b["elements"].([]any)[0].(map[string]any)["type"])
		default:
			t.Fatalf("unexpected block type %v", b["type"])
		}
	}
	require.NotEmpty(t, header, "a header block")
	return header, fields, link
}

func TestSlackNotifier(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t, false)
	s := start(t, slack, "")

	// project.created teaches the notifier the project's name; without a bot
	// token it posts nothing.
	var project onplana.ProjectEventData
	e2e.Sample(t, webhook.EventProjectCreated, &project)
	s.Send(t, webhook.EventProjectCreated, project.Project.ID, project)

	t.Run("status changed to at risk", func(t *testing.T) {
		var d onplana.ProjectEventData
		e2e.Sample(t, webhook.EventProjectStatusChanged, &d)
		require.Equal(t, onplana.ProjectStatusAtRisk, d.Project.Status)
		dl := s.Send(t, webhook.EventProjectStatusChanged, d.Project.ID, d)
		require.Equal(t, http.StatusAccepted, dl.LastStatusCode, "answered before posting")

		c := slack.next(t)
		require.Equal(t, hookPath, c.path)
		require.Empty(t, c.auth)
		header, fields, link := requireBlockKit(t, c)
		require.Contains(t, header, "at risk")
		require.Equal(t, d.Project.Name, fields["Project"])
		require.Equal(t, "on track → at risk", fields["Status"])
		require.Equal(t, d.Actor.Name, fields["Changed by"])
		require.Equal(t, d.Project.URL, link)
	})

	t.Run("back on track is not posted; milestone completed is", func(t *testing.T) {
		var d onplana.ProjectEventData
		e2e.Sample(t, webhook.EventProjectStatusChanged, &d)
		d.Project.Status = onplana.ProjectStatusOnTrack
		d.Diff = statusChange(t, `"at_risk"`, `"on_track"`)
		s.Send(t, webhook.EventProjectStatusChanged, d.Project.ID, d)

		var m onplana.MilestoneEventData
		e2e.Sample(t, webhook.EventMilestoneCompleted, &m)
		milestone := s.Send(t, webhook.EventMilestoneCompleted, m.Milestone.ProjectID, m)
		header, fields, link := requireBlockKit(t, slack.next(t)) // the milestone's, not the status's
		require.Contains(t, header, "Milestone completed: "+m.Milestone.Name)
		require.Equal(t, m.Milestone.Name, fields["Milestone"])
		require.Equal(t, project.Project.Name, fields["Project"], "the project's name, learnt from project.created")
		require.Equal(t, m.Actor.Name, fields["Completed by"])
		require.Equal(t, m.Milestone.URL, link)

		// The next event's message: with one worker, the milestone's
		// delivery is then fully processed (its dedupe claim marked done).
		var task onplana.TaskEventData
		e2e.Sample(t, webhook.EventTaskUpdated, &task)
		s.Send(t, webhook.EventTaskUpdated, task.Task.ProjectID, task)
		header, _, _ = requireBlockKit(t, slack.next(t))
		require.Contains(t, header, "Task blocked")

		// A redelivery of the milestone's delivery is acknowledged and not
		// posted again: the next message Slack sees is the next event's.
		again := s.Redeliver(t, milestone.ID)
		require.Equal(t, webhook.StateSucceeded, again.State)
		require.Equal(t, http.StatusOK, again.LastStatusCode, "the idempotency middleware answers a processed duplicate")
		d.Project.Status = onplana.ProjectStatusOffTrack
		d.Diff = statusChange(t, `"on_track"`, `"off_track"`)
		s.Send(t, webhook.EventProjectStatusChanged, d.Project.ID, d)
		header, fields, _ = requireBlockKit(t, slack.next(t))
		require.Equal(t, "🔴 Project Website Relaunch is off track", header)
		require.Equal(t, "on track → off track", fields["Status"])
	})

	t.Run("task updated to blocked", func(t *testing.T) {
		var d onplana.TaskEventData
		e2e.Sample(t, webhook.EventTaskUpdated, &d)
		d.Task.Title = "Fix <!channel> & the pricing page"
		s.Send(t, webhook.EventTaskUpdated, d.Task.ProjectID, d)
		c := slack.next(t)
		header, fields, link := requireBlockKit(t, c)
		require.Equal(t, "⛔ Task blocked: Fix <!channel> & the pricing page", header, "plain_text is not markup")
		require.Equal(t, "Fix &lt;!channel&gt; &amp; the pricing page", fields["Task"], "mrkdwn is escaped: no channel-wide ping")
		require.NotContains(t, c.msg.Text, "<!channel>", "the fallback text is escaped too")
		require.Equal(t, project.Project.Name, fields["Project"])
		require.Equal(t, "in progress → blocked", fields["Status"])
		require.Equal(t, d.Actor.Name, fields["Changed by"])
		require.Equal(t, d.Task.URL, link)
	})

	t.Run("routine task update is not posted", func(t *testing.T) {
		var d onplana.TaskEventData
		e2e.Sample(t, webhook.EventTaskUpdated, &d)
		routine := maps.Collect(d.Diff.All())
		delete(routine, "status")
		var err error
		d.Diff, err = onplana.NewChanges(routine)
		require.NoError(t, err)
		s.Send(t, webhook.EventTaskUpdated, d.Task.ProjectID, d)
		var created onplana.TaskEventData
		e2e.Sample(t, webhook.EventTaskCreated, &created)
		created.Task.Title = "Born blocked"
		created.Task.Status = onplana.TaskStatusBlocked
		s.Send(t, webhook.EventTaskCreated, created.Task.ProjectID, created)
		header, fields, _ := requireBlockKit(t, slack.next(t))
		require.Equal(t, "⛔ Task blocked: Born blocked", header)
		require.Equal(t, "blocked", fields["Status"])
	})
}

func TestSlackNotifierAnswersBeforePosting(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t, true) // Slack hangs until the gate opens
	s := start(t, slack, "")

	var m onplana.MilestoneEventData
	e2e.Sample(t, webhook.EventMilestoneCompleted, &m)
	dl := s.Send(t, webhook.EventMilestoneCompleted, m.Milestone.ProjectID, m)
	require.Equal(t, http.StatusAccepted, dl.LastStatusCode)
	c := slack.next(t) // the post is in flight, held by the gate
	require.Equal(t, hookPath, c.path)
	close(slack.gate)
}

func TestSlackNotifierChannelPerProject(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t, false)
	s := start(t, slack, botToken)

	var project onplana.ProjectEventData
	e2e.Sample(t, webhook.EventProjectCreated, &project)
	s.Send(t, webhook.EventProjectCreated, project.Project.ID, project)
	c := slack.next(t)
	require.Equal(t, "/api/conversations.create", c.path)
	require.Equal(t, "Bearer "+botToken, c.auth)
	require.Equal(t, map[string]any{"name": "proj-website-relaunch-xyz789"}, c.body)

	var d onplana.ProjectEventData
	e2e.Sample(t, webhook.EventProjectStatusChanged, &d)
	s.Send(t, webhook.EventProjectStatusChanged, d.Project.ID, d)
	c = slack.next(t)
	require.Equal(t, "/api/chat.postMessage", c.path, "the project's messages go to its channel")
	require.Equal(t, "Bearer "+botToken, c.auth)
	require.Equal(t, "C0PROJ", c.msg.Channel)
	header, _, _ := requireBlockKit(t, c)
	require.Contains(t, header, "at risk")
}

func TestChannelName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		project onplana.Project
		want    string
	}{
		{name: "plain", project: onplana.Project{ID: "proj_xyz789", Name: "Website Relaunch"}, want: "proj-website-relaunch-xyz789"},
		{name: "punctuation and unicode", project: onplana.Project{ID: "proj_ab.12Z", Name: "  Q3: Ünïcode & Co.  "}, want: "proj-q3-n-code-co-ab12z"},
		{name: "long name cut to 80", project: onplana.Project{ID: "proj_1", Name: strings.Repeat("a", 200)}, want: "proj-" + strings.Repeat("a", 73) + "-1"},
		{name: "empty name", project: onplana.Project{ID: "proj_777", Name: "!!!"}, want: "proj-777"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := channelName("proj-", tt.project)
			require.Equal(t, tt.want, got)
			require.LessOrEqual(t, len(got), 80)
			require.Regexp(t, `^[a-z0-9_-]+$`, got)
		})
	}
}

// syncWriter collects output written from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
	ch chan struct{} // signalled on every write
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.ch <- struct{}{}:
	default:
	}
	return w.b.Write(p)
}

func (w *syncWriter) waitFor(t *testing.T, s string) string {
	t.Helper()
	deadline := time.After(e2e.Timeout)
	for {
		w.mu.Lock()
		out := w.b.String()
		w.mu.Unlock()
		if strings.Contains(out, s) {
			return out
		}
		select {
		case <-w.ch:
		case <-deadline:
			t.Fatalf("output never contained %q:\n%s", s, out)
		}
	}
}

func TestSlackNotifierDryRun(t *testing.T) {
	t.Parallel()
	ln, url := e2e.Listen(t, "/webhook")
	s := e2e.NewSender(t, url, webhook.SchemeOnplana, "milestone.completed")
	out := &syncWriter{ch: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{Listener: ln, Secrets: []webhook.Secret{s.Secret}, DryRun: true, Log: out})
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
	s.Start(t)
	var m onplana.MilestoneEventData
	e2e.Sample(t, webhook.EventMilestoneCompleted, &m)
	s.Send(t, webhook.EventMilestoneCompleted, m.Milestone.ProjectID, m)
	printed := out.waitFor(t, "dry run: would post to Slack:")
	require.Contains(t, printed, "posting to Slack: dry run")
	require.Contains(t, printed, `"type": "header"`)
	require.Contains(t, printed, "Milestone completed: "+m.Milestone.Name)
}

func TestSlackNotifierConfig(t *testing.T) {
	t.Parallel()
	require.ErrorContains(t, run(context.Background(), config{SlackWebhookURL: "https://hooks.slack.com/x"}), "WEBHOOK_SECRET")
	require.ErrorContains(t, run(context.Background(), config{Secrets: []webhook.Secret{webhook.NewSecret()}}), "SLACK_WEBHOOK_URL")
}

// statusChange returns the diff of a status that went from before to
// after, two JSON strings.
func statusChange(t *testing.T, before, after string) onplana.Changes {
	t.Helper()
	c, err := onplana.NewChanges(map[string]onplana.FieldChange{"status": {Before: json.RawMessage(before), After: json.RawMessage(after)}})
	require.NoError(t, err)
	return c
}
