// Package e2e drives the examples' end-to-end tests: a real Dispatcher
// with a MemoryStore delivers over real HTTP on 127.0.0.1 to the example
// under test, and the test waits for each delivery's outcome.
package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
	"github.com/stretchr/testify/require"
)

// Timeout bounds every wait of a test.
const Timeout = 15 * time.Second

// Sender is a Dispatcher with one subscription pointing at an example.
type Sender struct {
	D      *webhook.Dispatcher
	Store  *webhook.MemoryStore
	Sub    *webhook.Subscription
	Secret webhook.Secret // the subscription's secret: configure the example with it
	ended  chan *webhook.Delivery
}

// observer forwards ended deliveries to a channel. The dispatcher calls
// it from its workers; the buffer is large enough for any test here.
type observer struct{ ended chan *webhook.Delivery }

func (o observer) AttemptFinished(*webhook.Delivery, *webhook.Attempt) {}
func (o observer) DeliveryStateChanged(d *webhook.Delivery) {
	cp := *d
	o.ended <- &cp
}

// Listen returns a listener on a free port of 127.0.0.1 and the URL of
// path on it.
func Listen(t *testing.T, path string) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln, "http://" + ln.Addr().String() + path
}

// NewSender creates a dispatcher and a subscription of org_abc123 to url
// for eventTypes. It is not started: give the example Secret, start it,
// then call Start. The creation ping is the first delivery.
func NewSender(t *testing.T, url string, scheme webhook.Scheme, eventTypes ...string) *Sender {
	t.Helper()
	s := &Sender{Store: webhook.NewMemoryStore(), ended: make(chan *webhook.Delivery, 256)}
	var err error
	s.D, err = webhook.NewDispatcher(s.Store, &webhook.Config{
		Validator:       onplana.Validator(), // as the examples' READMEs advise
		Scheme:          scheme,
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		AttemptTimeout:  5 * time.Second,
		Observer:        observer{s.ended},
	})
	require.NoError(t, err)
	s.Sub, err = s.D.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_abc123",
		URL:            url,
		EventTypes:     eventTypes,
		Description:    "example under test",
	})
	require.NoError(t, err)
	s.Secret = s.Sub.Secrets[0].Secret
	return s
}

// Start starts the dispatcher and waits for the creation ping to be
// delivered; Close runs at the end of the test.
func (s *Sender) Start(t *testing.T) {
	t.Helper()
	require.NoError(t, s.D.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := s.D.Close(ctx); err != nil {
			t.Errorf("close dispatcher: %v", err)
		}
	})
	ping := s.Wait(t)
	require.Equal(t, webhook.EventPing, ping.EventType)
	require.Equal(t, webhook.StateSucceeded, ping.State, "the example must answer the creation ping: %s", ping.LastError)
}

// Wait returns the next delivery that ended, failing after Timeout.
func (s *Sender) Wait(t *testing.T) *webhook.Delivery {
	t.Helper()
	select {
	case d := <-s.ended:
		return d
	case <-time.After(Timeout):
		t.Fatal("no delivery ended in time")
		return nil
	}
}

// Send publishes an event of type typ in project proj of org_abc123 with
// data, waits for its delivery to end and returns it; it fails the test
// unless the delivery succeeded.
func (s *Sender) Send(t *testing.T, typ webhook.EventType, proj string, data any) *webhook.Delivery {
	t.Helper()
	ev, err := webhook.NewEvent(typ, "org_abc123", proj, data)
	require.NoError(t, err)
	require.NoError(t, s.D.Publish(context.Background(), ev))
	d := s.Wait(t)
	require.Equal(t, typ, d.EventType)
	require.Equal(t, webhook.StateSucceeded, d.State, "delivery of %s: status %d, %s", typ, d.LastStatusCode, d.LastError)
	return d
}

// Redeliver sends delivery id again (same id, same bytes), as an operator
// does from the delivery log, and returns its outcome.
func (s *Sender) Redeliver(t *testing.T, id string) *webhook.Delivery {
	t.Helper()
	require.NoError(t, s.D.Redeliver(context.Background(), id))
	d := s.Wait(t)
	require.Equal(t, id, d.ID)
	return d
}

// Sample returns the catalog sample's data of typ decoded into v, a
// pointer to the payload type: a realistic starting point for a test.
func Sample(t *testing.T, typ webhook.EventType, v any) {
	t.Helper()
	info, ok := onplana.LookupEvent(typ)
	require.True(t, ok, typ)
	var ev webhook.Event
	require.NoError(t, json.Unmarshal(info.Sample, &ev))
	require.NoError(t, ev.DecodeData(v))
}
