package webhook_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	webhook "github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/testwait"
)

// traceKey carries a fake trace context in the tests' contexts.
type traceKey struct{}

// tracingObserver is a testObserver that also implements the optional
// extensions of Observer: it encodes the context's traceKey value, reports
// disablings, and, when inject is set, sends the trace context as a header.
type tracingObserver struct {
	*testObserver
	inject   bool
	disabled chan string
}

func newTracingObserver(inject bool) *tracingObserver {
	return &tracingObserver{testObserver: newTestObserver(), inject: inject, disabled: make(chan string, 16)}
}

func (o *tracingObserver) TraceContext(ctx context.Context) string {
	tc, _ := ctx.Value(traceKey{}).(string)
	return tc
}

func (o *tracingObserver) SubscriptionDisabled(sub *webhook.Subscription, reason string) {
	o.disabled <- sub.ID + ": " + reason
}

func (o *tracingObserver) InjectHeaders(d *webhook.Delivery, h http.Header) {
	if o.inject && d.TraceContext != "" {
		h.Set("Traceparent", d.TraceContext)
	}
}

var (
	_ webhook.TraceObserver   = (*tracingObserver)(nil)
	_ webhook.DisableObserver = (*tracingObserver)(nil)
	_ webhook.HeaderInjector  = (*tracingObserver)(nil)
)

const testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// newTracingHarness is newHarness with obs as the Observer.
func newTracingHarness(t *testing.T, obs *tracingObserver) *harness {
	t.Helper()
	h := newHarness(t, nil, func(c *webhook.Config) { c.Observer = obs })
	h.obs = obs.testObserver
	return h
}

func TestDispatcherKeepsTraceContextWithDeliveries(t *testing.T) {
	t.Parallel()
	obs := newTracingObserver(false)
	h := newTracingHarness(t, obs)
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	h.subscribe(t, ep.URL, "", "*")
	h.start(t)

	ctx := context.WithValue(context.Background(), traceKey{}, testTraceparent)
	require.NoError(t, h.d.Publish(ctx, webhook.Event{
		Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskUpdated),
	}))
	traced := h.waitAttempt(t)
	require.Equal(t, testTraceparent, traced.d.TraceContext, "the observer sees the trace context of Publish")
	stored, err := h.store.GetDelivery(context.Background(), traced.d.ID)
	require.NoError(t, err)
	require.Equal(t, testTraceparent, stored.TraceContext, "the store keeps it")

	h.publish(t, webhook.EventTaskUpdated) // an untraced context
	require.Empty(t, h.waitAttempt(t).d.TraceContext)

	for _, r := range ep.requests() {
		require.Empty(t, r.header.Get("Traceparent"), "no trace header is sent unless an injector adds one")
		for name, values := range r.header {
			for _, v := range values {
				require.NotContains(t, v, "4bf92f3577b34da6", "header %s carries the trace context", name)
			}
		}
	}
}

func TestDispatcherHeaderInjector(t *testing.T) {
	t.Parallel()
	obs := newTracingObserver(true)
	h := newTracingHarness(t, obs)
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	sub := h.subscribe(t, ep.URL, "", "*")
	h.start(t)

	ctx := context.WithValue(context.Background(), traceKey{}, testTraceparent)
	require.NoError(t, h.d.Publish(ctx, webhook.Event{
		Type: webhook.EventTaskUpdated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskUpdated),
	}))
	require.Equal(t, webhook.StateSucceeded, h.waitEnded(t).State)

	reqs := ep.requests()
	require.Len(t, reqs, 1)
	require.Equal(t, testTraceparent, reqs[0].header.Get("Traceparent"))
	// The injected header leaves the signature as it was.
	require.NoError(t, webhook.Verify(reqs[0].body, reqs[0].header.Get(webhook.DefaultSignatureHeader), sub.Secrets[0].Secret))
}

func TestDispatcherDisableObserver(t *testing.T) {
	t.Parallel()
	obs := newTracingObserver(false)
	onDisable := make(chan string, 4)
	h := newHarness(t, nil, func(c *webhook.Config) {
		c.Observer = obs
		c.OnDisable = func(_ context.Context, sub *webhook.Subscription, reason string) { onDisable <- sub.ID }
	})
	h.obs = obs.testObserver
	ep := newEndpoint(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	sub := h.subscribe(t, ep.URL, "", "*")
	h.start(t)
	h.publish(t, webhook.EventTaskUpdated)

	require.Equal(t, webhook.StateFailed, h.waitEnded(t).State)
	got := testwait.Recv(t, obs.disabled, "SubscriptionDisabled not called")
	require.Equal(t, sub.ID+": "+webhook.DisabledGone, got)
	got = testwait.Recv(t, onDisable, "OnDisable not called")
	require.Equal(t, sub.ID, got, "OnDisable is still called")
	require.Empty(t, obs.disabled, "one call per disabling")
}

// endpointObserver is a testObserver that implements AttemptObserver.
type endpointObserver struct {
	*testObserver
	recorded chan string // delivery id and url of each attempt
}

func (o *endpointObserver) AttemptRecorded(d *webhook.Delivery, a *webhook.Attempt, url string) {
	o.recorded <- d.ID + " " + url
}

var _ webhook.AttemptObserver = (*endpointObserver)(nil)

func TestDispatcherAttemptObserver(t *testing.T) {
	t.Parallel()
	obs := &endpointObserver{testObserver: newTestObserver(), recorded: make(chan string, 16)}
	h := newHarness(t, nil, func(c *webhook.Config) { c.Observer = obs })
	h.obs = obs.testObserver
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	h.subscribe(t, ep.URL+"/hooks?token=abc", "", "*")
	h.start(t)
	h.publish(t, webhook.EventTaskUpdated)

	d := h.waitEnded(t) // DeliveryStateChanged is still called
	want := d.ID + " " + ep.URL + "/hooks?token=abc"
	// The ping's attempt comes first, then the event's; both were
	// recorded before the delivery ended.
	for got := ""; got != want; {
		got = testwait.Recv(t, obs.recorded, "AttemptRecorded not called for the event")
		if got != want {
			require.NotContains(t, got, d.ID, "the event's attempt was reported with another URL")
		}
	}
	require.Empty(t, obs.attempts, "AttemptFinished is not called when AttemptRecorded is")
}
