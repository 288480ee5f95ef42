// Command telemetry runs a sender and a receiver in one process with
// package otelwebhook reporting both to OpenTelemetry, whose SDK prints
// the metrics (and, with -traces, the spans) to the terminal through its
// stdout exporters. It publishes a few events to three endpoints: one
// healthy, one that answers 503 once (a retry), one that answers 410 Gone
// (its subscription is disabled); a forged request and a duplicate reach
// the receiver too. It exits by itself once every delivery has ended.
//
//	go run ./examples/telemetry
//	go run ./examples/telemetry -traces
//
// A real program exports to its collector instead: see the README's
// "Observability" section for Prometheus and OTLP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/otelwebhook"
)

func main() {
	traces := flag.Bool("traces", false, "print the spans too")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *traces); err != nil {
		fmt.Fprintln(os.Stderr, "telemetry:", err)
		os.Exit(1)
	}
}

// endpoint is a customer endpoint of the example.
type endpoint struct {
	path   string
	events []string        // the subscription's event types
	status func(n int) int // the status of its n-th event, before its handler
}

var endpoints = []endpoint{
	{"/healthy", []string{"task.*"}, func(int) int { return http.StatusNoContent }},
	{"/flaky", []string{"task.updated"}, func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable // retried
		}
		return http.StatusNoContent
	}},
	{"/gone", []string{"task.deleted"}, func(int) int { return http.StatusGone }}, // disabled
}

// ending is an otelwebhook.Observer that also reports each delivery of an
// event that ended, so that run knows when to stop. Embedding keeps the
// optional interfaces the Observer implements.
type ending struct {
	*otelwebhook.Observer
	ended chan struct{}
}

func (e ending) DeliveryStateChanged(d *webhook.Delivery) {
	e.Observer.DeliveryStateChanged(d)
	if d.EventType != webhook.EventPing {
		e.ended <- struct{}{}
	}
}

// run runs the example, writing the telemetry to out.
func run(ctx context.Context, out io.Writer, traces bool) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()

	// The OpenTelemetry SDK, printing to out. Metrics are printed when the
	// MeterProvider shuts down, at the end (a PeriodicReader also prints
	// them every interval: a minute by default).
	metrics, err := stdoutmetric.New(stdoutmetric.WithWriter(out), stdoutmetric.WithPrettyPrint())
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics)))
	defer mp.Shutdown(context.Background())
	cfg := &otelwebhook.Config{MeterProvider: mp, TracerProvider: noop.NewTracerProvider()}
	if traces {
		spans, err := stdouttrace.New(stdouttrace.WithWriter(out), stdouttrace.WithPrettyPrint())
		if err != nil {
			return err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
		defer tp.Shutdown(context.Background())
		cfg.TracerProvider = tp
	}

	// The sending side: a Dispatcher reporting through an Observer, and
	// its store's queue gauges.
	obs, err := otelwebhook.NewObserver(cfg)
	if err != nil {
		return err
	}
	store := webhook.NewMemoryStore()
	if _, err := obs.ObserveQueue(store); err != nil {
		return err
	}
	observer := ending{Observer: obs, ended: make(chan struct{}, 16)}
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		RetryPolicy:     webhook.ExponentialRetry{InitialInterval: 200 * time.Millisecond, MaxElapsed: 5 * time.Second},
		Observer:        observer,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	defer d.Close(context.Background())

	// The receiving side: a Receiver per endpoint, with idempotency,
	// reporting through a ReceiverObserver.
	robs, err := otelwebhook.NewReceiverObserver(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	idem, err := webhook.NewIdempotency(webhook.NewMemoryDedupeStore(0), &webhook.IdempotencyConfig{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	handle := webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error { return nil })
	for _, ep := range endpoints {
		sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
			OrganizationID: "org_acme", URL: base + ep.path, EventTypes: ep.events,
		})
		if err != nil {
			return err
		}
		rv, err := webhook.NewReceiver(webhook.ReceiverConfig{
			Secrets: []webhook.Secret{sub.Secrets[0].Secret}, Observer: robs, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			return err
		}
		mux.Handle(ep.path, robs.Middleware(rv.Middleware(idem.Middleware(answer(ep.status, rv.ServeEvents(handle))))))
	}

	if err := d.Start(ctx); err != nil {
		return err
	}
	for i, typ := range []webhook.EventType{webhook.EventTaskUpdated, webhook.EventTaskUpdated, webhook.EventTaskDeleted} {
		data := fmt.Sprintf(`{"task":{"id":"task_%d"}}`, i)
		if typ.HasDiff() {
			data = fmt.Sprintf(`{"task":{"id":"task_%d"},"diff":{"status":{"before":"todo","after":"done"}}}`, i)
		}
		e := webhook.Event{Type: typ, OrganizationID: "org_acme", ProjectID: "proj_launch", Data: []byte(data)}
		if err := d.Publish(ctx, e); err != nil {
			return err
		}
	}
	// healthy and flaky receive both task.updated, healthy and gone the
	// task.deleted.
	if err := wait(ctx, observer.ended, 6); err != nil {
		return err
	}

	// A forged request, answered 401, and a delivery resent by hand after
	// it succeeded, which the receiver answers as a duplicate.
	forged, err := http.Post(base+"/healthy", "application/json", strings.NewReader(`{"event":"task.deleted"}`))
	if err != nil {
		return err
	}
	forged.Body.Close()
	dls, _, err := store.ListDeliveries(ctx, webhook.DeliveryQuery{State: webhook.StateSucceeded, EventType: webhook.EventTaskUpdated})
	if err != nil {
		return err
	}
	if len(dls) == 0 {
		return errors.New("no delivery succeeded")
	}
	if err := d.Redeliver(ctx, dls[0].ID); err != nil {
		return err
	}
	if err := wait(ctx, observer.ended, 1); err != nil {
		return err
	}

	// Close waits for the attempts in flight; Shutdown prints the metrics.
	if err := d.Close(ctx); err != nil {
		return err
	}
	return mp.Shutdown(ctx)
}

// answer returns a handler that answers the n-th event with status(n)
// when it is not a 2xx, and otherwise calls next.
func answer(status func(n int) int, next http.Handler) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e, _ := webhook.EventFromContext(r.Context()); e.Type != webhook.EventPing {
			if code := status(int(n.Add(1))); code >= 300 {
				http.Error(w, http.StatusText(code), code)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// wait waits for n values from ch.
func wait(ctx context.Context, ch <-chan struct{}, n int) error {
	for range n {
		select {
		case <-ch:
		case <-ctx.Done():
			return errors.New("timed out waiting for the deliveries")
		}
	}
	return nil
}
