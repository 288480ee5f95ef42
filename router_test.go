package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// taskData is a payload type of the tests' own, as a receiver that does not
// use package onplana would write it.
type taskData struct {
	Task struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"task"`
}

// routed records which registration of a Router handled an event.
type routed struct {
	route string
	typ   webhook.EventType
	title string
}

// newRecordingRouter registers a recording handler for each pattern, and a
// recording fallback unless fallback is false.
func newRecordingRouter(patterns []webhook.EventType, fallback bool) (*webhook.Router, *[]routed) {
	var got []routed
	r := webhook.NewRouter()
	for _, p := range patterns {
		webhook.Handle(r, p, func(_ context.Context, e *webhook.Event, data *taskData) error {
			got = append(got, routed{string(p), e.Type, data.Task.Title})
			return nil
		})
	}
	if fallback {
		r.Fallback(webhook.EventHandlerFunc(func(_ context.Context, e *webhook.Event, _ []byte) error {
			got = append(got, routed{"fallback", e.Type, ""})
			return nil
		}))
	}
	return r, &got
}

func eventOf(typ webhook.EventType, data string) *webhook.Event {
	return &webhook.Event{DeliveryID: "dlv_1", ID: "evt_1", Type: typ, OrganizationID: "org_1", Data: json.RawMessage(data)}
}

func TestRouterRoutesToTheMostSpecificPattern(t *testing.T) {
	t.Parallel()
	all := []webhook.EventType{"task.updated", "task.*", "*"}
	tests := []struct {
		name       string
		registered []webhook.EventType
		fallback   bool
		typ        webhook.EventType
		want       string // the route that handles it; "" for none
	}{
		{"exact type first", all, true, "task.updated", "task.updated"},
		{"then its category", all, true, "task.created", "task.*"},
		{"a category's type added later", all, true, "task.archived", "task.*"},
		{"then every type", all, true, "project.created", "*"},
		{"a category added later", all, true, "invoice.paid", "*"},
		{"fallback when nothing matches", []webhook.EventType{"task.updated"}, true, "task.created", "fallback"},
		{"an unknown type reaches the fallback", []webhook.EventType{"task.*"}, true, "invoice.paid", "fallback"},
		{"a type without a dot", []webhook.EventType{"task.*"}, true, "ping", "fallback"},
		{"acknowledged without a fallback", []webhook.EventType{"task.updated"}, false, "invoice.paid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, got := newRecordingRouter(tt.registered, tt.fallback)
			err := r.HandleEvent(context.Background(), eventOf(tt.typ, `{"task":{"title":"Ship"}}`), nil)
			require.NoError(t, err)
			if tt.want == "" {
				require.Empty(t, *got)
				return
			}
			require.Len(t, *got, 1)
			require.Equal(t, tt.want, (*got)[0].route)
			require.Equal(t, tt.typ, (*got)[0].typ)
			if tt.want != "fallback" {
				require.Equal(t, "Ship", (*got)[0].title, "the data is decoded into the handler's type")
			}
		})
	}
}

func TestRouterReturnsTheHandlersError(t *testing.T) {
	t.Parallel()
	boom := errors.New("ticket system down")
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"nil", nil, false},
		{"retryable", boom, false},
		{"permanent", webhook.Permanent(boom), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := webhook.NewRouter()
			webhook.Handle(r, webhook.EventTaskUpdated, func(context.Context, *webhook.Event, *taskData) error { return tt.err })
			err := r.HandleEvent(context.Background(), eventOf(webhook.EventTaskUpdated, `{}`), nil)
			if tt.err == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, boom)
			var pe *webhook.PermanentError
			require.Equal(t, tt.permanent, errors.As(err, &pe))
		})
	}
}

// Data that does not fit the handler's type is an error the sender retries
// (the receiver may be the one to fix), and the handler is not called.
func TestRouterDataOfTheWrongShape(t *testing.T) {
	t.Parallel()
	called := false
	r := webhook.NewRouter()
	webhook.Handle(r, webhook.EventTaskUpdated, func(context.Context, *webhook.Event, *taskData) error {
		called = true
		return nil
	})
	err := r.HandleEvent(context.Background(), eventOf(webhook.EventTaskUpdated, `{"task":42}`), nil)
	require.ErrorIs(t, err, webhook.ErrInvalidEnvelope)
	require.Contains(t, err.Error(), "task.updated")
	var pe *webhook.PermanentError
	require.False(t, errors.As(err, &pe), "not permanent")
	require.False(t, called)

	require.ErrorIs(t, r.HandleEvent(context.Background(), nil, nil), webhook.ErrInvalidEnvelope)
}

// selfDecodingCalls counts the calls of selfDecoding.UnmarshalJSON.
var selfDecodingCalls atomic.Int32

// selfDecoding is a payload type that decodes itself.
type selfDecoding struct{}

func (*selfDecoding) UnmarshalJSON([]byte) error {
	selfDecodingCalls.Add(1)
	return nil
}

// A type that decodes itself gets only validated JSON: data that did not
// come through Receiver.Middleware goes through encoding/json, which
// refuses what is not JSON before calling UnmarshalJSON.
func TestRouterNeverHandsUnvalidatedDataToUnmarshalJSON(t *testing.T) {
	selfDecodingCalls.Store(0) // with -count, the test runs again
	r := webhook.NewRouter()
	webhook.Handle(r, "*", func(context.Context, *webhook.Event, *selfDecoding) error { return nil })
	for _, data := range []string{`{"task":`, `{"a":1} {"b":2}`, "{\"a\":\"\x01\"}"} {
		err := r.HandleEvent(context.Background(), eventOf("task.updated", data), nil)
		require.ErrorIs(t, err, webhook.ErrInvalidEnvelope, "%q", data)
	}
	require.Zero(t, selfDecodingCalls.Load())
	require.NoError(t, r.HandleEvent(context.Background(), eventOf("task.updated", `{"a":1}`), nil))
	require.EqualValues(t, 1, selfDecodingCalls.Load())
}

func TestHandlePanicsOnProgrammingErrors(t *testing.T) {
	t.Parallel()
	ok := func(context.Context, *webhook.Event, *taskData) error { return nil }
	tests := []struct {
		name     string
		register func(r *webhook.Router)
		want     string
	}{
		{"empty pattern", func(r *webhook.Router) { webhook.Handle(r, "", ok) }, "invalid Router pattern"},
		{"double wildcard", func(r *webhook.Router) { webhook.Handle(r, "task.**", ok) }, "invalid Router pattern"},
		{"wildcard type", func(r *webhook.Router) { webhook.Handle(r, "*.updated", ok) }, "invalid Router pattern"},
		{"bare category wildcard", func(r *webhook.Router) { webhook.Handle(r, ".*", ok) }, "invalid Router pattern"},
		{"space", func(r *webhook.Router) { webhook.Handle(r, "task updated", ok) }, "invalid Router pattern"},
		{"nil function", func(r *webhook.Router) { webhook.Handle[taskData](r, "task.updated", nil) }, "nil function"},
		{"nil raw handler", func(r *webhook.Router) { r.HandleRaw("task.updated", nil) }, "nil handler"},
		{"registered twice", func(r *webhook.Router) {
			webhook.Handle(r, "task.*", ok)
			r.HandleRaw("task.*", webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error { return nil }))
		}, "already has a handler for task.*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Contains(t, panicMessage(t, tt.register), tt.want)
		})
	}
}

// panicMessage returns the string register panics with on a new Router.
func panicMessage(t *testing.T, register func(*webhook.Router)) (msg string) {
	t.Helper()
	defer func() {
		p := recover()
		require.NotNil(t, p, "no panic")
		msg = fmt.Sprint(p)
	}()
	register(webhook.NewRouter())
	return ""
}

func TestRouterRawHandlerGetsTheBody(t *testing.T) {
	t.Parallel()
	var got []byte
	var r webhook.Router // the zero value is ready to use
	r.HandleRaw("task.*", webhook.EventHandlerFunc(func(_ context.Context, _ *webhook.Event, body []byte) error {
		got = body
		return nil
	}))
	require.NoError(t, r.HandleEvent(context.Background(), eventOf("task.deleted", `{}`), []byte("the envelope")))
	require.Equal(t, "the envelope", string(got))
}

// Registering while events are routed is safe (run with -race).
func TestRouterConcurrentRegistration(t *testing.T) {
	t.Parallel()
	r := webhook.NewRouter()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			typ := webhook.EventType(fmt.Sprintf("kind%d.created", i))
			webhook.Handle(r, typ, func(context.Context, *webhook.Event, *taskData) error { return nil })
			for range 50 {
				if err := r.HandleEvent(context.Background(), eventOf(typ, `{}`), nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
