package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/onplana/webhook"
)

// Slack client limits.
const (
	slackTimeout     = 10 * time.Second
	slackAttempts    = 3                // per message: 429, 5xx and network errors are retried
	slackMaxBackoff  = 30 * time.Second // cap on Retry-After
	slackAnswerBytes = 4 << 10
)

// slackClient posts messages through an incoming webhook, or through the
// Web API with a bot token (conversations.create, chat.postMessage). It is
// safe for concurrent use.
type slackClient struct {
	webhookURL string // a credential: never logged (see webhook.RedactURL)
	token      string // bot token, "xoxb-…"; empty without channel-per-project
	apiURL     string // "https://slack.com/api"
	http       *http.Client
	backoff    func(attempt int) time.Duration
	// dryRun, if set, receives each message as indented JSON instead of
	// Slack: for trying the example without a workspace.
	dryRun io.Writer
}

// newSlackClient returns a client with a timeout that follows no
// redirects (a redirect would re-send the message elsewhere).
func newSlackClient(webhookURL, token, apiURL string) *slackClient {
	return &slackClient{
		webhookURL: webhookURL,
		token:      token,
		apiURL:     strings.TrimRight(apiURL, "/"),
		http: &http.Client{
			Timeout:       slackTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		backoff: func(attempt int) time.Duration { return time.Duration(attempt) * time.Second },
	}
}

// slackError is a failure reported by Slack itself.
type slackError struct {
	Status int    // HTTP status
	Code   string // Slack's error code, such as "channel_not_found" or "invalid_payload"
}

func (e *slackError) Error() string {
	return fmt.Sprintf("slack: HTTP %d: %s", e.Status, e.Code)
}

// post sends m: to its channel through chat.postMessage when it has one,
// else to the incoming webhook.
func (c *slackClient) post(ctx context.Context, m message) error {
	if c.dryRun != nil {
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.dryRun, "dry run: would post to Slack:\n%s\n", b)
		return err
	}
	if m.Channel != "" {
		return c.api(ctx, "chat.postMessage", m, nil)
	}
	if c.webhookURL == "" {
		return errors.New("no SLACK_WEBHOOK_URL and no channel for this project")
	}
	_, err := c.send(ctx, c.webhookURL, "", m)
	return err
}

// createChannel creates a public channel and returns its id.
func (c *slackClient) createChannel(ctx context.Context, name string) (string, error) {
	var out struct {
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
	}
	if err := c.api(ctx, "conversations.create", map[string]any{"name": name}, &out); err != nil {
		return "", err
	}
	if out.Channel.ID == "" {
		return "", errors.New("slack: conversations.create returned no channel id")
	}
	return out.Channel.ID, nil
}

// api calls a Web API method with a JSON body and decodes the answer into
// out. Slack answers 200 with {"ok": false, "error": …} for most failures.
func (c *slackClient) api(ctx context.Context, method string, in, out any) error {
	if c.token == "" {
		return errors.New("slack: " + method + " needs SLACK_BOT_TOKEN")
	}
	answer, err := c.send(ctx, c.apiURL+"/"+method, c.token, in)
	if err != nil {
		return err
	}
	var status struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(answer, &status); err != nil {
		return fmt.Errorf("slack: %s: undecodable answer: %w", method, err)
	}
	if !status.OK {
		return &slackError{Status: http.StatusOK, Code: status.Error}
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			return fmt.Errorf("slack: %s: %w", method, err)
		}
	}
	return nil
}

// send POSTs in as JSON to url and returns the start of a 2xx answer. It
// retries 429, 5xx and network errors, honouring Retry-After, up to
// slackAttempts times or until ctx ends.
func (c *slackClient) send(ctx context.Context, url, token string, in any) ([]byte, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 1; ; attempt++ {
		answer, wait, err := c.once(ctx, url, token, body)
		if err == nil {
			return answer, nil
		}
		lastErr = err
		if wait < 0 || attempt == slackAttempts {
			return nil, lastErr
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(lastErr, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// once makes one attempt. wait is negative when the failure is permanent,
// positive when Slack said when to come back, zero otherwise.
func (c *slackClient) once(ctx context.Context, url, token string, body []byte) (answer []byte, wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, -1, webhook.RedactError(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The error of http.Client holds the URL: the webhook URL is a
		// credential, so it is redacted.
		return nil, 0, webhook.RedactError(err)
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(io.LimitReader(resp.Body, slackAnswerBytes))
	if err != nil {
		return nil, 0, webhook.RedactError(err)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return answer, 0, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		wait = min(max(time.Duration(secs)*time.Second, 0), slackMaxBackoff)
	case resp.StatusCode >= 500:
		wait = 0
	default:
		wait = -1 // 4xx: the message itself is wrong; retrying will not help
	}
	return nil, wait, &slackError{Status: resp.StatusCode, Code: strings.TrimSpace(string(answer))}
}
