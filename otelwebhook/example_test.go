package otelwebhook_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/otelwebhook"
)

// A Dispatcher reporting its deliveries, attempts and queue as metrics.
// Here a ManualReader collects them once; a program would give the
// MeterProvider a PeriodicReader with an OTLP or Prometheus exporter.
func ExampleObserver() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	obs, err := otelwebhook.NewObserver(&otelwebhook.Config{MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	store := webhook.NewMemoryStore()
	if _, err := obs.ObserveQueue(store); err != nil {
		panic(err)
	}
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		Observer:        obs, // and, with pgstore: pgstore.Config{TraceContext: obs.TraceContext}
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}

	received := make(chan struct{}, 1)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(webhook.DefaultEventHeader) == string(webhook.EventTaskCreated) {
			received <- struct{}{}
		}
	}))
	defer endpoint.Close()
	ctx := context.Background()
	if _, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: endpoint.URL, EventTypes: []string{"task.*"},
	}); err != nil {
		panic(err)
	}
	if err := d.Start(ctx); err != nil {
		panic(err)
	}
	if err := d.Publish(ctx, webhook.Event{Type: webhook.EventTaskCreated, OrganizationID: "org_1", ProjectID: "proj_1", Data: []byte(`{"task":{"id":"task_1"}}`)}); err != nil {
		panic(err)
	}
	<-received
	d.Close(ctx) // waits until the attempt is recorded, and observed

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				if v, _ := dp.Attributes.Value(otelwebhook.EventTypeKey); v.AsString() == "webhook.ping" {
					continue // the ping CreateSubscription sent
				}
				fmt.Printf("%s{%s} %d\n", m.Name, labels(dp.Attributes.ToSlice(), "server.port"), dp.Value)
			}
		}
	}
	// Unordered output:
	// webhook.deliveries{webhook.delivery.state=succeeded,webhook.event.type=task.created} 1
	// webhook.attempts{http.response.status_code=200,server.address=127.0.0.1,webhook.event.type=task.created} 1
	// webhook.queue.deliveries{webhook.delivery.state=delivering} 0
	// webhook.queue.deliveries{webhook.delivery.state=held} 0
	// webhook.queue.deliveries{webhook.delivery.state=pending} 0
}

// labels formats attributes as key=value pairs, leaving out the keys in
// skip (the port of the test server changes from run to run).
func labels(kvs []attribute.KeyValue, skip ...string) string {
	var parts []string
	for _, kv := range kvs {
		if !slices.Contains(skip, string(kv.Key)) {
			parts = append(parts, string(kv.Key)+"="+kv.Value.String())
		}
	}
	return strings.Join(parts, ",")
}

// A receiver reporting what it refuses, with the reason.
func ExampleReceiverObserver() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	obs, err := otelwebhook.NewReceiverObserver(&otelwebhook.Config{MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	handler, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets:  []webhook.Secret{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		Observer: obs,
		Logger:   slog.New(slog.DiscardHandler),
	}, webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error {
		return nil
	}))
	if err != nil {
		panic(err)
	}
	// Middleware adds an HTTP server span per request; leave it out when
	// the server has HTTP instrumentation of its own.
	h := obs.Middleware(handler)

	forged := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(`{"event":"task.deleted"}`))
	forged.Header.Set(webhook.DefaultSignatureHeader, strings.Repeat("0", 64))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, forged)
	fmt.Println("answered", rec.Code)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				fmt.Printf("%s{%s} %d\n", m.Name, labels(dp.Attributes.ToSlice()), dp.Value)
			}
		}
	}
	// Output:
	// answered 401
	// webhook.receiver.rejections{error.type=invalid_signature,http.response.status_code=401} 1
}
