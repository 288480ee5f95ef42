package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook/internal/testwait"
)

// requireDone waits for ctx to end, failing the test after a few seconds.
func requireDone(t *testing.T, ctx context.Context) {
	t.Helper()
	testwait.Recv(t, ctx.Done(), "context not done")
}

func TestDeadlineTimer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, parent context.Context, cancelParent context.CancelFunc)
	}{
		{name: "an attempt inside its deadline leaves the context for the next", run: func(t *testing.T, parent context.Context, _ context.CancelFunc) {
			at := &deadlineTimer{parent: parent, timeout: time.Hour, cause: errAttemptTimeout}
			defer at.close()
			first := at.start()
			at.stop()
			require.NoError(t, first.Err())
			require.Equal(t, first, at.start(), "the context is reused")
			at.stop()
		}},
		{name: "a deadline that passes cancels with errAttemptTimeout and is replaced", run: func(t *testing.T, parent context.Context, _ context.CancelFunc) {
			at := &deadlineTimer{parent: parent, timeout: time.Millisecond, cause: errAttemptTimeout}
			defer at.close()
			ctx := at.start()
			requireDone(t, ctx)
			require.ErrorIs(t, context.Cause(ctx), errAttemptTimeout)
			require.ErrorIs(t, context.Cause(ctx), context.DeadlineExceeded)
			require.Equal(t, ErrorClassTimeout, classifyAttempt(ctx, errors.New("read: connection reset")))
			at.stop()
			at.timeout = time.Hour
			next := at.start()
			require.NotEqual(t, ctx, next)
			require.NoError(t, next.Err())
			at.stop()
		}},
		{name: "the parent's end reaches the attempt", run: func(t *testing.T, parent context.Context, cancelParent context.CancelFunc) {
			at := &deadlineTimer{parent: parent, timeout: time.Hour, cause: errAttemptTimeout}
			defer at.close()
			ctx := at.start()
			cancelParent()
			requireDone(t, ctx)
			require.NotErrorIs(t, context.Cause(ctx), errAttemptTimeout)
			at.stop()
		}},
		{name: "close cancels the context", run: func(t *testing.T, parent context.Context, _ context.CancelFunc) {
			at := &deadlineTimer{parent: parent, timeout: time.Hour, cause: errAttemptTimeout}
			ctx := at.start()
			at.stop()
			at.close()
			requireDone(t, ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.run(t, parent, cancel)
		})
	}
}

// attemptLog records the attempts an Observer sees.
type attemptLog chan Attempt

func (l attemptLog) AttemptFinished(_ *Delivery, a *Attempt) { l <- *a }
func (attemptLog) DeliveryStateChanged(*Delivery)            {}

// TestDispatcherWorkerAfterTimeout checks that a worker whose attempt ran
// out of time sends its next attempt under a fresh deadline.
func TestDispatcherWorkerAfterTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	first := make(chan struct{}, 1)
	first <- struct{}{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-first: // the first request hangs past the deadline
			select {
			case <-r.Context().Done():
			case <-release:
			}
		default:
		}
	}))
	defer srv.Close()
	defer close(release)

	log := make(attemptLog, 4)
	d, err := NewDispatcher(NewMemoryStore(), &Config{
		Workers:         1,
		AttemptTimeout:  200 * time.Millisecond,
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Observer:        log,
		Logger:          slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	ctx := context.Background()
	// Its ping, the first delivery, hangs; the event published next is
	// claimed by the same (only) worker once the ping's deadline passed.
	_, err = d.CreateSubscription(ctx, SubscriptionParams{OrganizationID: "org_1", URL: srv.URL + "/hook", EventTypes: []string{"task.*"}})
	require.NoError(t, err)
	require.NoError(t, d.Publish(ctx, Event{Type: EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1",
		Data: []byte(`{"task":{"id":"t1"},"diff":{"title":{"before":"a","after":"b"}}}`)}))
	require.NoError(t, d.Start(ctx))
	defer d.Close(ctx)

	var got []Attempt
	for len(got) < 2 {
		select {
		case a := <-log:
			got = append(got, a)
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d attempts", len(got))
		}
	}
	require.Equal(t, ErrorClassTimeout, got[0].ErrorClass, "the first attempt: %+v", got[0])
	require.Equal(t, http.StatusOK, got[1].StatusCode, "the next attempt on the same worker: %+v", got[1])
	require.Empty(t, got[1].ErrorClass)
}
