package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 27, 9, 0, 0, 0, time.UTC)
	const limit = time.Hour
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "120", 2 * time.Minute},
		{"spaces", " 5 ", 5 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"capped", "86400", limit},
		{"huge", "99999999999999999999", 0},
		{"overflowing seconds", "9223372036854775807", limit},
		{"HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"date far ahead", now.Add(48 * time.Hour).Format(http.TimeFormat), limit},
		{"garbage", "soon", 0},
		{"fraction", "1.5", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, parseRetryAfter(tt.value, now, limit))
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	urlErr := func(err error) error { return &url.Error{Op: "Post", URL: "https://h/x", Err: err} }
	tests := []struct {
		name string
		err  error
		want ErrorClass
	}{
		{"blocked", urlErr(&net.OpError{Op: "dial", Err: &BlockedAddressError{Reason: "loopback"}}), ErrorClassBlocked},
		{"deadline", urlErr(context.DeadlineExceeded), ErrorClassTimeout},
		{"net timeout", urlErr(&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}), ErrorClassTimeout},
		{"refused", urlErr(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), ErrorClassConnection},
		{"reset", urlErr(&net.OpError{Op: "read", Err: syscall.ECONNRESET}), ErrorClassConnection},
		{"eof", urlErr(io.EOF), ErrorClassConnection},
		{"dns", urlErr(&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}), ErrorClassConnection},
		{"body cut", fmt.Errorf("webhook: read response: %w", io.ErrUnexpectedEOF), ErrorClassConnection},
		{"other", errors.New("boom"), ErrorClassOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, classify(tt.err))
		})
	}
}

func TestEndpointLookup(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, want string }{
		{"https://Hooks.Example.com/a", "hooks.example.com:https"},
		{"https://hooks.example.com:8443/a?b", "hooks.example.com:8443"},
		{"http://127.0.0.1:9000/", "127.0.0.1:9000"},
		{"http://[::1]:9000/", "[::1]:9000"},
	}
	l := newEndpointQueues(1, 1)
	for _, tt := range tests {
		ep := l.lookup(tt.url)
		require.Equal(t, tt.want, ep.key, tt.url)
		require.Equal(t, tt.url, ep.url.String())
		require.Same(t, ep.url, l.lookup(tt.url).url, "parsed once")
	}
	require.Equal(t, l.lookup("https://a.example.com/x").key, l.lookup("https://a.example.com/y").key,
		"one endpoint host, whatever the path")
	bad := l.lookup("https://a.example.com/%zz")
	require.Nil(t, bad.url, "an unparseable URL has no URL to send to")
	require.Equal(t, "https://a.example.com/%zz", bad.key)
}

// TestNewPost checks that newPost builds, from an endpoint's URL as
// lookup parsed it, the request http.NewRequestWithContext would.
func TestNewPost(t *testing.T) {
	t.Parallel()
	type ctxKey struct{}
	ctx := context.WithValue(context.Background(), ctxKey{}, "attempt")
	body := []byte(`{"event":"task.created"}`)
	for _, raw := range []string{"https://hooks.example.com/a?b=c", "http://127.0.0.1:9000/hook", "https://hooks.example.com:/x"} {
		u := newEndpointQueues(1, 1).lookup(raw).url
		want, err := http.NewRequestWithContext(ctx, http.MethodPost, raw, bytes.NewReader(body))
		require.NoError(t, err)
		got := newPost(ctx, u, body)

		require.Equal(t, want.Method, got.Method)
		require.Equal(t, want.URL.String(), got.URL.String())
		require.Equal(t, want.Host, got.Host)
		require.Equal(t, want.Proto, got.Proto)
		require.Equal(t, want.ProtoMajor, got.ProtoMajor)
		require.Equal(t, want.ProtoMinor, got.ProtoMinor)
		require.Equal(t, want.ContentLength, got.ContentLength)
		require.Equal(t, "attempt", got.Context().Value(ctxKey{}))
		require.NotNil(t, got.Header)
		read, err := io.ReadAll(got.Body)
		require.NoError(t, err)
		require.Equal(t, body, read)
		again, err := got.GetBody()
		require.NoError(t, err)
		read, err = io.ReadAll(again)
		require.NoError(t, err)
		require.Equal(t, body, read, "GetBody rewinds")
	}
}

func TestActiveSecrets(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 27, 9, 0, 0, 0, time.UTC)
	sub := &Subscription{Secrets: []SigningSecret{
		{Secret: "whsec_current"},
		{Secret: "whsec_grace", ExpiresAt: now.Add(time.Minute)},
		{Secret: "whsec_expired", ExpiresAt: now},
	}}
	require.Equal(t, []Secret{"whsec_current", "whsec_grace"}, activeSecrets(sub, now))
}

func TestNewDeliveries(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 27, 9, 15, 23, 0, time.UTC)
	subs := []string{"sub_a", "sub_b"}
	e := Event{
		Type: EventTaskUpdated, OrganizationID: "org_abc123", ProjectID: "proj_xyz789",
		Data: []byte("{ \"task\": {\"id\": \"t<1>\"},\n \"diff\": {\"title\": {}} }"),
	}
	dls, err := NewDeliveries(e, subs, now, 0)
	require.NoError(t, err)
	require.Len(t, dls, 2)
	require.NotEqual(t, dls[0].ID, dls[1].ID)
	require.Equal(t, dls[0].EventID, dls[1].EventID, "one event id across subscriptions")
	for i, d := range dls {
		require.Equal(t, subs[i], d.SubscriptionID)
		require.True(t, strings.HasPrefix(d.ID, prefixDelivery))
		require.True(t, strings.HasPrefix(d.EventID, prefixEvent))
		require.NotContains(t, d.ID+d.EventID, ".")
		require.Equal(t, StatePending, d.State)
		require.Equal(t, now, d.NextAttemptAt)
		require.Equal(t, now, d.CreatedAt)
		require.Equal(t, EventTaskUpdated, d.EventType)
		require.Equal(t, "org_abc123", d.OrganizationID)
		require.Equal(t, "proj_xyz789", d.ProjectID)

		want := `{"delivery_id":"` + d.ID + `","event_id":"` + d.EventID + `","event":"task.updated",` +
			`"timestamp":"2026-06-27T09:15:23Z","organization_id":"org_abc123","project_id":"proj_xyz789",` +
			`"data":{ "task": {"id": "t<1>"},` + "\n" + ` "diff": {"title": {}} }}`
		require.Equal(t, want, string(d.Body))

		// Both decoders read the same event from the body.
		parsed, err := ParseEvent(d.Body)
		require.NoError(t, err)
		var std Event
		require.NoError(t, json.Unmarshal(d.Body, &std))
		for _, got := range []*Event{parsed, &std} {
			require.Equal(t, d.ID, got.DeliveryID)
			require.Equal(t, d.EventID, got.ID)
			require.Equal(t, now, got.Timestamp.UTC())
		}
	}

	// A given id and timestamp are kept; no project means no project_id.
	e = Event{ID: "evt_mine", Type: EventMemberInvited, OrganizationID: "org_1",
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.FixedZone("x", 3600)), Data: []byte(`{"member":{"id":"m"}}`)}
	dls, err = NewDeliveries(e, subs[:1], now, 0)
	require.NoError(t, err)
	require.Contains(t, string(dls[0].Body), `"event_id":"evt_mine","event":"member.invited","timestamp":"2026-01-02T02:04:05.6Z","organization_id":"org_1","data":{"member":{"id":"m"}}}`)

	// No subscription, no delivery.
	dls, err = NewDeliveries(e, nil, now, 0)
	require.NoError(t, err)
	require.Empty(t, dls)

	// The cap counts the whole body.
	big := e
	big.Data = []byte(`{"member":{"id":"m"},"x":"` + strings.Repeat("a", 1000) + `"}`)
	_, err = NewDeliveries(big, subs, now, 1000)
	require.ErrorIs(t, err, ErrPayloadTooLarge)
	dls, err = NewDeliveries(big, subs, now, 1200)
	require.NoError(t, err)
	require.LessOrEqual(t, len(dls[0].Body), 1200)

	// Data nested so deep that the envelope would pass encoding/json's
	// limit is refused: no receiver could parse the body.
	deep := e
	deep.Data = []byte(`{"member":{"id":"m"},"x":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}`)
	dls, err = NewDeliveries(deep, subs[:1], now, 0)
	require.NoError(t, err)
	_, err = ParseEvent(dls[0].Body)
	require.NoError(t, err, "at the limit")
	deep.Data = []byte(`{"member":{"id":"m"},"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`)
	_, err = NewDeliveries(deep, subs[:1], now, 0)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "Data", ve.Field)

	_, err = NewDeliveries(e, []string{"sub_a", ""}, now, 0)
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "subscriptionIDs", ve.Field)
	e.Type = EventPing
	_, err = NewDeliveries(e, subs, now, 0)
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "Type", ve.Field)
}

func FuzzNewDeliveries(f *testing.F) {
	f.Add("org_1", "proj_1", "evt_1", []byte(`{"task":{"id":"t"}}`))
	f.Add("org\"1", "", "", []byte(`{"a":"\u2028<>&"}`))
	f.Fuzz(func(t *testing.T, org, project, id string, data []byte) {
		e := Event{ID: id, Type: EventTaskCreated, OrganizationID: org, ProjectID: project, Data: data}
		dls, err := NewDeliveries(e, []string{"sub_1"}, time.Unix(1e9, 0), 0)
		if err != nil {
			return
		}
		parsed, err := ParseEvent(dls[0].Body)
		if err != nil {
			t.Fatalf("body of a valid event does not parse: %v\n%s", err, dls[0].Body)
		}
		if parsed.OrganizationID != org || parsed.ProjectID != project || (id != "" && parsed.ID != id) {
			t.Fatalf("fields changed: %+v", parsed)
		}
	})
}
