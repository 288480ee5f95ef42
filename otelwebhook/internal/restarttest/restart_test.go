package restarttest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/pgtest"
	"github.com/onplana/webhook/otelwebhook"
	"github.com/onplana/webhook/pgstore"
	"github.com/onplana/webhook/sqlitestore"
)

// The environment of a publisher process: the test binary run again.
const (
	envStore  = "WEBHOOK_OTEL_PUBLISHER_STORE"  // "sqlite" or "postgres"
	envTarget = "WEBHOOK_OTEL_PUBLISHER_TARGET" // the database file or DSN
)

// The events the publisher publishes, by id: one with Publish, and with
// pgstore one with PublishTx.
const (
	viaPublish   = "evt_viapublish"
	viaPublishTx = "evt_viapublishtx"
)

const waitTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	if kind := os.Getenv(envStore); kind != "" {
		if err := publish(kind, os.Getenv(envTarget), os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "publisher:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// openStore opens the store kind at target, keeping trace contexts with
// obs (the Dispatcher's Observer does it for Publish; pgstore's Config for
// PublishTx). close releases it.
func openStore(ctx context.Context, kind, target string, obs *otelwebhook.Observer) (store webhook.Store, close func(), err error) {
	switch kind {
	case "sqlite":
		s, err := sqlitestore.Open(target, nil)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	case "postgres":
		pool, err := pgxpool.New(ctx, target)
		if err != nil {
			return nil, nil, err
		}
		s, err := pgstore.New(pool, &pgstore.Config{TraceContext: obs.TraceContext, Logger: slog.New(slog.DiscardHandler)})
		if err == nil {
			err = s.Migrate(ctx)
		}
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return s, func() { s.Close(); pool.Close() }, nil
	}
	return nil, nil, errors.New("unknown store " + kind)
}

// newDispatcher returns a Dispatcher over store, sending to local
// endpoints, reporting to obs.
func newDispatcher(store webhook.Store, obs webhook.Observer) (*webhook.Dispatcher, error) {
	return webhook.NewDispatcher(store, &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		PollInterval:    50 * time.Millisecond,
		Observer:        obs,
		Logger:          slog.New(slog.DiscardHandler),
	})
}

// publish is the publisher process: it publishes events of org_1, each in
// a span of its own, prints for each "<event id> <trace id> <span id>",
// and exits without delivering anything.
func publish(kind, target string, out io.Writer) error {
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider() // the spans need ids, not an exporter
	defer tp.Shutdown(ctx)
	obs, err := otelwebhook.NewObserver(&otelwebhook.Config{TracerProvider: tp})
	if err != nil {
		return err
	}
	store, closeStore, err := openStore(ctx, kind, target, obs)
	if err != nil {
		return err
	}
	defer closeStore()
	d, err := newDispatcher(store, obs)
	if err != nil {
		return err
	}
	defer d.Close(ctx)
	event := func(id string) webhook.Event {
		return webhook.Event{ID: id, Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1",
			Data: []byte(`{"task":{"id":"task_1"},"diff":{"title":{"before":"a","after":"b"}}}`)}
	}
	traced := func(id string, publish func(context.Context) error) error {
		ctx, span := tp.Tracer("publisher").Start(ctx, "update task")
		defer span.End()
		if err := publish(ctx); err != nil {
			return err
		}
		_, err := fmt.Fprintln(out, id, span.SpanContext().TraceID(), span.SpanContext().SpanID())
		return err
	}
	if err := traced(viaPublish, func(ctx context.Context) error { return d.Publish(ctx, event(viaPublish)) }); err != nil {
		return err
	}
	if ps, ok := store.(*pgstore.Store); ok {
		pool, err := pgxpool.New(ctx, target)
		if err != nil {
			return err
		}
		defer pool.Close()
		err = traced(viaPublishTx, func(ctx context.Context) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				_, err := ps.PublishTx(ctx, tx, event(viaPublishTx))
				return err
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// signalling is an otelwebhook.Observer that also reports each delivery
// that ended.
type signalling struct {
	*otelwebhook.Observer
	ended chan webhook.Delivery
}

func (s *signalling) DeliveryStateChanged(d *webhook.Delivery) {
	s.Observer.DeliveryStateChanged(d)
	s.ended <- *d
}

// runRestart subscribes an endpoint in a store kind at target, has another
// process publish into it, then delivers from this process and checks that
// every attempt span links to the span the publisher made around the event.
func runRestart(t *testing.T, kind, target string, want []string) {
	ctx := context.Background()
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(endpoint.Close)

	// Before: the subscription, by a dispatcher that then stops.
	plain, err := otelwebhook.NewObserver(&otelwebhook.Config{TracerProvider: noop.NewTracerProvider()})
	require.NoError(t, err)
	store, closeStore, err := openStore(ctx, kind, target, plain)
	require.NoError(t, err)
	d, err := newDispatcher(store, plain)
	require.NoError(t, err)
	_, err = d.CreateSubscription(ctx, webhook.SubscriptionParams{OrganizationID: "org_1", URL: endpoint.URL, EventTypes: []string{"task.*"}})
	require.NoError(t, err)
	require.NoError(t, d.Close(ctx))
	closeStore()

	// The publisher: another process, which exits before any attempt.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envStore+"="+kind, envTarget+"="+target)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "publisher: %s", stderr.String())
	publishers := map[string][2]string{} // event id → trace id, span id
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		f := strings.Fields(sc.Text())
		require.Len(t, f, 3, "publisher printed %q", sc.Text())
		publishers[f[0]] = [2]string{f[1], f[2]}
	}
	require.Len(t, publishers, len(want))

	// After: this process delivers, with a tracer of its own.
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	o, err := otelwebhook.NewObserver(&otelwebhook.Config{TracerProvider: tp})
	require.NoError(t, err)
	obs := &signalling{Observer: o, ended: make(chan webhook.Delivery, 16)}
	store, closeStore, err = openStore(ctx, kind, target, o)
	require.NoError(t, err)
	t.Cleanup(closeStore)
	d, err = newDispatcher(store, obs)
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	delivered := map[string]string{} // event id → delivery id
	timeout := time.After(waitTimeout)
	for len(delivered) < len(want) {
		select {
		case dl := <-obs.ended:
			if dl.EventType != webhook.EventPing {
				require.Equal(t, webhook.StateSucceeded, dl.State)
				delivered[dl.EventID] = dl.ID
			}
		case <-timeout:
			require.FailNow(t, "timed out waiting for the deliveries", "delivered %v of %v", delivered, want)
		}
	}

	for _, id := range want {
		var attempt sdktrace.ReadOnlySpan
		for _, s := range spans.Ended() {
			for _, kv := range s.Attributes() {
				if kv.Key == otelwebhook.DeliveryIDKey && kv.Value.AsString() == delivered[id] {
					attempt = s
				}
			}
		}
		require.NotNil(t, attempt, "no attempt span for %s", id)
		require.Len(t, attempt.Links(), 1, "the attempt of %s links to its publisher", id)
		link := attempt.Links()[0].SpanContext
		require.Equal(t, publishers[id], [2]string{link.TraceID().String(), link.SpanID().String()},
			"the attempt of %s links to the span around its publishing, in the other process", id)
		require.True(t, link.IsRemote())
	}
}

func TestTraceLinkAcrossRestartSQLite(t *testing.T) {
	t.Parallel()
	runRestart(t, "sqlite", filepath.Join(t.TempDir(), "hooks.db"), []string{viaPublish})
}

func TestTraceLinkAcrossRestartPostgres(t *testing.T) {
	t.Parallel()
	runRestart(t, "postgres", pgtest.NewDatabase(t), []string{viaPublish, viaPublishTx})
}
