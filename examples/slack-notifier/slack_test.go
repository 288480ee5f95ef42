package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSlackClientRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answers   []int // status of each attempt; the last repeats
		wantCalls int32
		wantErr   string
	}{
		{name: "ok", answers: []int{200}, wantCalls: 1},
		{name: "rate limited then ok", answers: []int{429, 200}, wantCalls: 2},
		{name: "server error then ok", answers: []int{503, 500, 200}, wantCalls: 3},
		{name: "server errors exhaust the attempts", answers: []int{500}, wantCalls: slackAttempts, wantErr: "HTTP 500"},
		{name: "bad request is not retried", answers: []int{400}, wantCalls: 1, wantErr: "HTTP 400: invalid_blocks"},
		{name: "redirect is not followed", answers: []int{302}, wantCalls: 1, wantErr: "HTTP 302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				status := tt.answers[min(n, len(tt.answers))-1]
				switch status {
				case 429:
					w.Header().Set("Retry-After", "0")
				case 302:
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(status)
				if status == 400 {
					io.WriteString(w, "invalid_blocks")
				} else {
					io.WriteString(w, "ok")
				}
			}))
			t.Cleanup(srv.Close)
			c := newSlackClient(srv.URL+"/services/T0/B0/SECRETPART", "", "")
			c.backoff = func(int) time.Duration { return 0 }
			err := c.post(context.Background(), message{Text: "hi"})
			require.Equal(t, tt.wantCalls, calls.Load())
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			var se *slackError
			require.True(t, errors.As(err, &se))
		})
	}
}

func TestSlackClientRedactsWebhookURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // connection refused
	c := newSlackClient(srv.URL+"/services/T0/B0/SECRETPART", "", "")
	c.backoff = func(int) time.Duration { return 0 }
	err := c.post(context.Background(), message{Text: "hi"})
	require.Error(t, err)
	require.False(t, strings.Contains(err.Error(), "SECRETPART"), "the webhook URL is a credential: %v", err)
}

func TestSlackAPIError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":false,"error":"name_taken"}`)
	}))
	t.Cleanup(srv.Close)
	_, err := newSlackClient("", "xoxb-1", srv.URL).createChannel(context.Background(), "proj-x")
	var se *slackError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "name_taken", se.Code)

	_, err = newSlackClient("", "", srv.URL).createChannel(context.Background(), "proj-x")
	require.ErrorContains(t, err, "SLACK_BOT_TOKEN")
}
