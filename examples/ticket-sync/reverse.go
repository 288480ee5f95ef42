package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onplana/webhook"
)

// TaskClient is what the reverse direction needs of the Onplana REST API.
type TaskClient interface {
	// UpdateTask changes the given fields of a task (JSON names of
	// onplana.Task) and leaves the others alone.
	UpdateTask(ctx context.Context, taskID string, fields map[string]any) error
}

// onplanaClient implements TaskClient over HTTP with a Personal Access
// Token: PATCH {base}/v1/tasks/{id}.
type onplanaClient struct {
	base  string
	token string
	http  *http.Client
}

var _ TaskClient = (*onplanaClient)(nil)

func newOnplanaClient(base, token string) *onplanaClient {
	return &onplanaClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *onplanaClient) UpdateTask(ctx context.Context, taskID string, fields map[string]any) error {
	body, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, c.base+"/v1/tasks/"+url.PathEscape(taskID), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("onplana: update task %s: %w", taskID, webhook.RedactError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("onplana: update task %s: HTTP %d: %s", taskID, resp.StatusCode, snippet)
	}
	return nil
}

// jiraWebhookMaxBytes caps a Jira webhook body.
const jiraWebhookMaxBytes = 1 << 20

// jiraEvent is the part of a Jira issue webhook the reverse sync reads.
type jiraEvent struct {
	WebhookEvent string `json:"webhookEvent"` // "jira:issue_updated"
	User         struct {
		AccountID string `json:"accountId"`
	} `json:"user"`
	Issue struct {
		Key    string `json:"key"`
		Fields struct {
			Labels []string `json:"labels"`
		} `json:"fields"`
	} `json:"issue"`
	Changelog struct {
		Items []struct {
			Field      string  `json:"field"`
			To         *string `json:"to"`
			ToString   *string `json:"toString"`
			FromString *string `json:"fromString"`
		} `json:"items"`
	} `json:"changelog"`
}

// reverseHandler receives the ticket system's webhooks and writes the
// changed fields back to the linked task. Jira signs a webhook registered
// with a secret like GitHub does: "X-Hub-Signature: sha256=<hex HMAC of the
// body>", which webhook.Verify checks as is.
type reverseHandler struct {
	secret      webhook.Secret
	tasks       TaskClient
	selfAccount string // the ticket-system user the sync writes as
	log         *slog.Logger
}

func (h *reverseHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, jiraWebhookMaxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	// Verify before parsing anything.
	if err := webhook.Verify(body, r.Header.Get("X-Hub-Signature"), h.secret); err != nil {
		h.log.WarnContext(r.Context(), "ticket webhook refused", "error", err, "remote_addr", r.RemoteAddr)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	var ev jiraEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "malformed body", http.StatusBadRequest)
		return
	}
	if err := h.apply(r.Context(), &ev); err != nil {
		h.log.ErrorContext(r.Context(), "ticket change not written back", "ticket", ev.Issue.Key, "error", err)
		http.Error(w, "update failed", http.StatusBadGateway) // Jira retries
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apply writes the changelog of an issue update to its task.
func (h *reverseHandler) apply(ctx context.Context, ev *jiraEvent) error {
	if ev.WebhookEvent != "jira:issue_updated" {
		return nil
	}
	if h.selfAccount != "" && ev.User.AccountID == h.selfAccount {
		return nil // the sync's own write coming back
	}
	var taskID string
	for _, l := range ev.Issue.Fields.Labels {
		if id, ok := strings.CutPrefix(l, labelPrefix); ok {
			taskID = id
			break
		}
	}
	if taskID == "" {
		return nil // a ticket not linked to a task
	}
	fields := taskFields(ev)
	if len(fields) == 0 {
		return nil
	}
	if err := h.tasks.UpdateTask(ctx, taskID, fields); err != nil {
		return err
	}
	h.log.InfoContext(ctx, "task updated from ticket", "ticket", ev.Issue.Key, "task_id", taskID, "fields", len(fields))
	return nil
}

// taskFields maps a Jira changelog to task fields, the inverse of
// ticketUpdate. Unmapped fields and unknown values are left out.
func taskFields(ev *jiraEvent) map[string]any {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	fields := map[string]any{}
	for _, it := range ev.Changelog.Items {
		switch it.Field {
		case "summary":
			fields["title"] = str(it.ToString)
		case "description":
			fields["description"] = str(it.ToString)
		case "duedate":
			if due := str(it.To); due == "" {
				fields["due_date"] = nil
			} else {
				fields["due_date"] = due[:min(len(due), len("2006-01-02"))]
			}
		case "priority":
			if p, ok := taskPriority[str(it.ToString)]; ok {
				fields["priority"] = p
			}
		case "status":
			if s, ok := taskStatus[str(it.ToString)]; ok {
				fields["status"] = s
			}
		}
	}
	return fields
}
