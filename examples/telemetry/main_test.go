package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTelemetry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, false), out.String())

	// The stdout exporter prints the metrics as JSON.
	var printed struct {
		ScopeMetrics []struct {
			Metrics []struct {
				Name string
				Data struct {
					DataPoints []struct {
						Attributes []struct {
							Key   string
							Value struct{ Value any }
						}
						Value any
						Count uint64
					}
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &printed), out.String())
	// value returns the value (or count) of metric name's data point
	// with the attributes in attrs, as the exporter prints it.
	value := func(name string, attrs map[string]any) float64 {
		t.Helper()
		for _, sm := range printed.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
			points:
				for _, dp := range m.Data.DataPoints {
					got := map[string]any{}
					for _, a := range dp.Attributes {
						got[a.Key] = a.Value.Value
					}
					for k, v := range attrs {
						if got[k] != v {
							continue points
						}
					}
					if dp.Count > 0 {
						return float64(dp.Count)
					}
					v, _ := dp.Value.(float64)
					return v
				}
			}
		}
		require.FailNow(t, "metric not printed", "%s %v in\n%s", name, attrs, out.String())
		return 0
	}
	updated := map[string]any{"webhook.event.type": "task.updated"}
	require.EqualValues(t, 5, value("webhook.deliveries", map[string]any{"webhook.event.type": "task.updated", "webhook.delivery.state": "succeeded"}),
		"two events to two endpoints, and one of them resent by hand")
	require.EqualValues(t, 1, value("webhook.deliveries", map[string]any{"webhook.event.type": "task.deleted", "webhook.delivery.state": "failed"}))
	require.EqualValues(t, 1, value("webhook.attempts", map[string]any{"webhook.event.type": "task.updated", "error.type": "503"}))
	require.EqualValues(t, 1, value("webhook.subscriptions.disabled", map[string]any{"webhook.disable.reason": "gone"}))
	require.EqualValues(t, 1, value("webhook.receiver.rejections", map[string]any{"error.type": "missing_signature"}))
	require.EqualValues(t, 1, value("webhook.receiver.duplicates", map[string]any{"webhook.dedupe.result": "done"}))
	require.Positive(t, value("webhook.attempt.duration", updated))
	require.EqualValues(t, 0, value("webhook.queue.deliveries", map[string]any{"webhook.delivery.state": "pending"}))
}
