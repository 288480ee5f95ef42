package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// ErrNoTicket is returned by TicketClient.FindByLabel when no ticket
// carries the label.
var ErrNoTicket = errors.New("ticket-sync: no ticket with that label")

// Ticket is a ticket in the ticket system.
type Ticket struct {
	Key    string // "OPS-42"
	Fields TicketFields
}

// TicketFields are the fields the sync writes, in the ticket system's
// vocabulary. Empty strings are cleared fields.
type TicketFields struct {
	Summary     string
	Description string
	DueDate     string // "YYYY-MM-DD"
	Priority    string // "Highest", "High", "Medium", "Low"
	Status      string // the workflow status, such as "In Progress"
	Labels      []string
}

// TicketUpdate names the fields to change on a ticket: only those, so an
// edit made in the ticket system to another field is never overwritten.
type TicketUpdate struct {
	Fields map[string]any // Jira field id → value, e.g. "duedate": "2026-07-03"
	Status string         // the workflow status to move to; empty to leave it
}

// TicketClient is what the sync needs of a ticket system. The HTTP
// implementation below speaks a subset of Jira's REST API v2; Linear,
// Azure DevOps and others fit the same three methods.
type TicketClient interface {
	// FindByLabel returns the ticket carrying label, or ErrNoTicket.
	FindByLabel(ctx context.Context, label string) (*Ticket, error)
	// CreateTicket creates a ticket and returns it with its key.
	CreateTicket(ctx context.Context, f TicketFields) (*Ticket, error)
	// UpdateTicket changes the fields of u on the ticket key.
	UpdateTicket(ctx context.Context, key string, u TicketUpdate) error
}

// jiraClient implements TicketClient against Jira's REST API v2.
type jiraClient struct {
	base    string // "https://acme.atlassian.net"
	project string // project key, such as "OPS"
	email   string // basic auth: account email and API token
	token   string
	http    *http.Client
}

var _ TicketClient = (*jiraClient)(nil)

func newJiraClient(base, project, email, token string) *jiraClient {
	return &jiraClient{
		base: strings.TrimRight(base, "/"), project: project, email: email, token: token,
		http: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// jiraError is a non-2xx answer of Jira.
type jiraError struct {
	Op     string
	Status int
	Body   string // the start of the answer, for the log
}

func (e *jiraError) Error() string {
	return fmt.Sprintf("jira: %s: HTTP %d: %s", e.Op, e.Status, e.Body)
}

// do sends a JSON request and decodes a JSON answer into out (if non-nil).
func (c *jiraClient) do(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.email != "" || c.token != "" {
		req.SetBasicAuth(c.email, c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("jira: %s: %w", op, webhook.RedactError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &jiraError{Op: op, Status: resp.StatusCode, Body: string(snippet)}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("jira: %s: decode answer: %w", op, err)
	}
	return nil
}

// jqlString quotes s for JQL.
func jqlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

type jiraIssue struct {
	Key    string `json:"key"`
	Fields struct {
		Summary string   `json:"summary"`
		Labels  []string `json:"labels"`
	} `json:"fields"`
}

func (c *jiraClient) FindByLabel(ctx context.Context, label string) (*Ticket, error) {
	q := url.Values{
		"jql":        {"project = " + jqlString(c.project) + " AND labels = " + jqlString(label)},
		"fields":     {"summary,labels"},
		"maxResults": {"2"},
	}
	var out struct {
		Issues []jiraIssue `json:"issues"`
	}
	if err := c.do(ctx, "search", http.MethodGet, "/rest/api/2/search?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	if len(out.Issues) == 0 {
		return nil, ErrNoTicket
	}
	is := out.Issues[0]
	return &Ticket{Key: is.Key, Fields: TicketFields{Summary: is.Fields.Summary, Labels: is.Fields.Labels}}, nil
}

func (c *jiraClient) CreateTicket(ctx context.Context, f TicketFields) (*Ticket, error) {
	fields := map[string]any{
		"project":   map[string]string{"key": c.project},
		"issuetype": map[string]string{"name": "Task"},
		"summary":   f.Summary,
		"labels":    f.Labels,
	}
	if f.Description != "" {
		fields["description"] = f.Description
	}
	if f.DueDate != "" {
		fields["duedate"] = f.DueDate
	}
	if f.Priority != "" {
		fields["priority"] = map[string]string{"name": f.Priority}
	}
	var out struct {
		Key string `json:"key"`
	}
	if err := c.do(ctx, "create issue", http.MethodPost, "/rest/api/2/issue", map[string]any{"fields": fields}, &out); err != nil {
		return nil, err
	}
	t := &Ticket{Key: out.Key, Fields: f}
	// A new issue starts in the workflow's first status; move it if the
	// task is elsewhere already.
	if f.Status != "" && f.Status != jiraStatus[onplana.TaskStatusTodo] {
		if err := c.transition(ctx, out.Key, f.Status); err != nil {
			return t, err
		}
	}
	return t, nil
}

func (c *jiraClient) UpdateTicket(ctx context.Context, key string, u TicketUpdate) error {
	if len(u.Fields) > 0 {
		if err := c.do(ctx, "update issue", http.MethodPut, "/rest/api/2/issue/"+url.PathEscape(key),
			map[string]any{"fields": u.Fields}, nil); err != nil {
			return err
		}
	}
	if u.Status != "" {
		return c.transition(ctx, key, u.Status)
	}
	return nil
}

// transition moves an issue to status. Jira changes status only through
// the workflow's transitions, found by the status they lead to.
func (c *jiraClient) transition(ctx context.Context, key, status string) error {
	path := "/rest/api/2/issue/" + url.PathEscape(key) + "/transitions"
	var out struct {
		Transitions []struct {
			ID string `json:"id"`
			To struct {
				Name string `json:"name"`
			} `json:"to"`
		} `json:"transitions"`
	}
	if err := c.do(ctx, "list transitions", http.MethodGet, path, nil, &out); err != nil {
		return err
	}
	for _, tr := range out.Transitions {
		if strings.EqualFold(tr.To.Name, status) {
			return c.do(ctx, "transition", http.MethodPost, path, map[string]any{"transition": map[string]string{"id": tr.ID}}, nil)
		}
	}
	return fmt.Errorf("jira: no transition of %s leads to status %q", key, status)
}
