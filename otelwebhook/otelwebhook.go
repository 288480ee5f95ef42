package otelwebhook

import (
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meters and tracers this
// package obtains from the providers.
const ScopeName = "github.com/onplana/webhook/otelwebhook"

// Config configures an Observer or a ReceiverObserver. The zero value (or a
// nil *Config) is usable: it reports to OpenTelemetry's global providers.
type Config struct {
	// MeterProvider provides the meter of the metrics. Defaults to
	// otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// TracerProvider provides the tracer of the spans. Defaults to
	// otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Propagator encodes the trace context kept with each delivery (see
	// Observer.TraceContext), and the headers PropagateToEndpoints sends
	// and a ReceiverObserver's Middleware reads. Whatever it injects is
	// stored with every delivery: keep it to the trace context. Defaults
	// to propagation.TraceContext{} (W3C traceparent and tracestate),
	// whatever the global propagator is.
	Propagator propagation.TextMapPropagator
	// PropagateToEndpoints sends the trace context of the Publish call
	// to the endpoints, as headers of every attempt (traceparent), so
	// that a receiver's spans join the trace that published the event.
	// Endpoints belong to customers: a trace id tells them nothing useful
	// unless they share the tracing backend. Defaults to false: no trace
	// header is sent.
	PropagateToEndpoints bool
	// SubscriptionMetrics adds the webhook.subscription.id attribute to the
	// attempt metrics, for a series per subscription rather than per
	// endpoint host. Each subscription then costs a series per event type,
	// status and error type: for deployments with hundreds of
	// subscriptions, not hundreds of thousands. Spans always carry it.
	// Defaults to false.
	SubscriptionMetrics bool
	// Now returns the current time, for the ages of the queue gauges.
	// Defaults to time.Now.
	Now func() time.Time
}

// withDefaults returns a copy of c with every zero field set.
func (c *Config) withDefaults() Config {
	var out Config
	if c != nil {
		out = *c
	}
	if out.MeterProvider == nil {
		out.MeterProvider = otel.GetMeterProvider()
	}
	if out.TracerProvider == nil {
		out.TracerProvider = otel.GetTracerProvider()
	}
	if out.Propagator == nil {
		out.Propagator = propagation.TraceContext{}
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	return out
}

// meter and tracer return the instrumentation scope of c's providers.
func (c *Config) meter() metric.Meter {
	return c.MeterProvider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
}

func (c *Config) tracer() trace.Tracer {
	return c.TracerProvider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
}

// Attribute keys of this package, beside the semantic conventions' own
// (error.type, http.*, server.*, url.full).
const (
	// EventTypeKey is the event type, such as "task.updated".
	EventTypeKey = attribute.Key("webhook.event.type")
	// EventIDKey is the event id ("evt_…"), on spans.
	EventIDKey = attribute.Key("webhook.event.id")
	// DeliveryIDKey is the delivery id ("dlv_…"), on spans.
	DeliveryIDKey = attribute.Key("webhook.delivery.id")
	// SubscriptionIDKey is the subscription id ("sub_…"), on spans, and on
	// attempt metrics with Config.SubscriptionMetrics.
	SubscriptionIDKey = attribute.Key("webhook.subscription.id")
	// OrganizationIDKey is the organization of the event, on the
	// receiver's spans.
	OrganizationIDKey = attribute.Key("webhook.organization.id")
	// AttemptNumberKey is the attempt's number, 1 for the first, on spans.
	AttemptNumberKey = attribute.Key("webhook.attempt.number")
	// ErrorClassKey is the webhook.ErrorClass of a failed attempt, on
	// spans ("status", "timeout", "connection", "blocked", "other").
	ErrorClassKey = attribute.Key("webhook.attempt.error_class")
	// DeliveryStateKey is a delivery's state: "succeeded" or "failed" on
	// webhook.deliveries, "pending", "delivering" or "held" on
	// webhook.queue.deliveries.
	DeliveryStateKey = attribute.Key("webhook.delivery.state")
	// DisableReasonKey says why a subscription was disabled: "gone" (410)
	// or "failing" (for Config.DisableAfter).
	DisableReasonKey = attribute.Key("webhook.disable.reason")
	// DedupeResultKey is what Idempotency found of a duplicate: "done"
	// (answered 200) or "in_flight" (answered 409).
	DedupeResultKey = attribute.Key("webhook.dedupe.result")
)
