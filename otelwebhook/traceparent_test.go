package otelwebhook

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceparents are stored trace contexts, valid and not, for
// parseTraceparent to read as propagation.TraceContext does.
var traceparents = []string{
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-04",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
	"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-x",
	"fe-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09",
	"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
	"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
	"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
	"00",
	"-",
	"not a traceparent",
}

// TestParseTraceparent checks the shortcut publisher takes against
// propagation.TraceContext's Extract, which it stands for.
func TestParseTraceparent(t *testing.T) {
	for _, h := range traceparents {
		if got, want := parseTraceparent(h), extractTraceparent(h); !got.Equal(want) || got.IsRemote() != want.IsRemote() {
			t.Errorf("parseTraceparent(%q) = %v, Extract gives %v", h, got, want)
		}
	}
}

func FuzzParseTraceparent(f *testing.F) {
	for _, h := range traceparents {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if got, want := parseTraceparent(h), extractTraceparent(h); !got.Equal(want) || got.IsRemote() != want.IsRemote() {
			t.Errorf("parseTraceparent(%q) = %v, Extract gives %v", h, got, want)
		}
	})
}

// extractTraceparent returns the span context propagation.TraceContext
// extracts from traceparent h.
func extractTraceparent(h string) trace.SpanContext {
	carrier := propagation.MapCarrier{"traceparent": h}
	return trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
}
