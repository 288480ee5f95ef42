package webhook_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhook "github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/testwait"
)

// Subscriptions seen from the Dispatcher: rotation, pings, validation,
// and subscriptions changed or deleted while deliveries are claimed.

func TestDispatcherRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	sub := h.subscribe(t, ep.URL, "", "*")
	old := sub.Secrets[0].Secret
	fresh, err := h.d.RotateSecret(context.Background(), sub.ID, time.Hour)
	require.NoError(t, err)
	require.NotEqual(t, old, fresh)
	h.start(t)

	verifies := func(r received, s webhook.Secret) bool {
		rv, err := webhook.NewReceiver(webhook.ReceiverConfig{Secrets: []webhook.Secret{s}, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		_, err = rv.VerifyEvent(r.header, r.body)
		return err == nil
	}
	h.publish(t, webhook.EventTaskUpdated)
	h.waitEnded(t)
	r := ep.requests()[0]
	require.True(t, verifies(r, old), "old secret verifies during the grace period")
	require.True(t, verifies(r, fresh), "new secret verifies")

	newest, err := h.d.RotateSecret(context.Background(), sub.ID, webhook.RotateImmediately)
	require.NoError(t, err)
	h.publish(t, webhook.EventTaskUpdated)
	h.waitEnded(t)
	r = ep.requests()[1]
	require.True(t, verifies(r, newest))
	require.False(t, verifies(r, fresh), "rotated out at once")
	require.False(t, verifies(r, old))
}

func TestDispatcherStandardSchemeResignsEachAttempt(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	h := newHarness(t, nil, func(c *webhook.Config) {
		c.Scheme = webhook.SchemeStandard
		c.Now = clock.Now
		c.RetryPolicy = webhook.ExponentialRetry{InitialInterval: time.Minute, Multiplier: 1, RandomizationFactor: -1, MaxElapsed: time.Hour}
	})
	ep := newEndpoint(t, failFirst(1, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	sub := h.subscribe(t, ep.URL, "", "*")
	h.start(t)
	h.publish(t, webhook.EventTaskUpdated)
	h.waitAttempt(t)
	clock.Advance(2 * time.Minute)
	d := h.waitEnded(t)
	require.Equal(t, webhook.StateSucceeded, d.State)

	reqs := ep.requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		require.Equal(t, d.ID, r.header.Get(webhook.StandardIDHeader), "same webhook-id on every attempt")
		require.Equal(t, d.Body, r.body)
	}
	ts0, ts1 := reqs[0].header.Get(webhook.StandardTimestampHeader), reqs[1].header.Get(webhook.StandardTimestampHeader)
	require.NotEqual(t, ts0, ts1, "each attempt is signed with a fresh timestamp")
	rv, err := webhook.NewReceiver(webhook.ReceiverConfig{
		Scheme: webhook.SchemeStandard, Secrets: []webhook.Secret{sub.Secrets[0].Secret}, Now: clock.Now, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	_, err = rv.VerifyEvent(reqs[1].header, reqs[1].body)
	require.NoError(t, err)
}

func TestDispatcherPing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	var status atomic.Int32
	status.Store(200)
	pings := make(chan received, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		pings <- received{r.Header.Clone(), body}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	sub := h.subscribe(t, srv.URL, "", "task.*")

	// Ping works without Start and records the attempt.
	a, err := h.d.Ping(context.Background(), sub.ID)
	require.NoError(t, err)
	require.Equal(t, 200, a.StatusCode)
	require.Empty(t, a.ErrorClass)
	r := <-pings
	require.NoError(t, webhook.Verify(r.body, r.header.Get(webhook.DefaultSignatureHeader), sub.Secrets[0].Secret))
	e, err := webhook.ParseEvent(r.body)
	require.NoError(t, err)
	require.Equal(t, webhook.EventPing, e.Type)
	require.Equal(t, a.DeliveryID, e.DeliveryID)
	dl, err := h.store.GetDelivery(context.Background(), a.DeliveryID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateSucceeded, dl.State)

	// A failed ping is reported and not retried.
	status.Store(503)
	a, err = h.d.Ping(context.Background(), sub.ID)
	require.NoError(t, err)
	require.Equal(t, 503, a.StatusCode)
	require.Equal(t, webhook.ErrorClassStatus, a.ErrorClass)
	dl, err = h.store.GetDelivery(context.Background(), a.DeliveryID)
	require.NoError(t, err)
	require.Equal(t, webhook.StateFailed, dl.State)

	// The creation ping, enqueued at creation, goes out once started.
	status.Store(200)
	h.start(t)
	r = testwait.Recv(t, pings, "creation ping not sent")
	e, err = webhook.ParseEvent(r.body)
	require.NoError(t, err)
	require.Equal(t, webhook.EventPing, e.Type)
	require.Contains(t, string(e.Data), sub.ID)

	// A disabled subscription can be pinged (to test it before enabling
	// it again); that ping is not recorded.
	_, err = h.d.SetSubscriptionEnabled(context.Background(), sub.ID, false)
	require.NoError(t, err)
	a, err = h.d.Ping(context.Background(), sub.ID)
	require.NoError(t, err)
	require.Equal(t, 200, a.StatusCode)
	<-pings
	_, err = h.store.GetDelivery(context.Background(), a.DeliveryID)
	require.ErrorIs(t, err, webhook.ErrNotFound)

	_, err = h.d.Ping(context.Background(), "sub_missing")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// TestDispatcherPingWhileRunning checks that a Ping made while workers run
// is sent once: the workers must not claim the delivery Ping holds.
func TestDispatcherPingWhileRunning(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(webhook.DefaultEventHeader) == string(webhook.EventPing) {
			hits.Add(1)
		}
		time.Sleep(300 * time.Millisecond) // a slow endpoint: the workers poll meanwhile
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	sub := h.subscribe(t, srv.URL, "", "task.*")
	h.start(t)
	// Wait for the creation ping to be sent and recorded.
	require.Eventually(t, func() bool {
		ds, _, err := h.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{SubscriptionID: sub.ID})
		return err == nil && len(ds) == 1 && ds[0].State == webhook.StateSucceeded
	}, waitTimeout, 10*time.Millisecond)
	hits.Store(0)

	a, err := h.d.Ping(context.Background(), sub.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, a.StatusCode)
	// A worker that wrongly claimed the held ping did so while the ping was
	// being sent (the harness polls every 20 ms): Close waits for it.
	require.NoError(t, h.d.Close(context.Background()))
	require.Equal(t, int32(1), hits.Load(), "one Ping must reach the endpoint once")
	as, err := h.store.ListAttempts(context.Background(), a.DeliveryID)
	require.NoError(t, err)
	require.Len(t, as, 1)
}

func TestDispatcherSubscriptionValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *webhook.Config) { c.AllowHTTP = false })
	valid := webhook.SubscriptionParams{OrganizationID: "org_1", URL: "https://hooks.example.com/a", EventTypes: []string{"task.*"}}
	tests := []struct {
		name  string
		edit  func(*webhook.SubscriptionParams)
		field string
	}{
		{"no organization", func(p *webhook.SubscriptionParams) { p.OrganizationID = "" }, "OrganizationID"},
		{"plain http", func(p *webhook.SubscriptionParams) { p.URL = "http://hooks.example.com/a" }, "URL"},
		{"other scheme", func(p *webhook.SubscriptionParams) { p.URL = "gopher://hooks.example.com/" }, "URL"},
		{"relative", func(p *webhook.SubscriptionParams) { p.URL = "/hooks" }, "URL"},
		{"credentials", func(p *webhook.SubscriptionParams) { p.URL = "https://u:p@hooks.example.com/" }, "URL"},
		{"fragment", func(p *webhook.SubscriptionParams) { p.URL = "https://hooks.example.com/#x" }, "URL"},
		{"no event types", func(p *webhook.SubscriptionParams) { p.EventTypes = nil }, "EventTypes"},
		{"unknown event type", func(p *webhook.SubscriptionParams) { p.EventTypes = []string{"task.exploded"} }, "EventTypes"},
		{"long description", func(p *webhook.SubscriptionParams) { p.Description = strings.Repeat("x", 2000) }, "Description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid
			tt.edit(&p)
			_, err := h.d.CreateSubscription(context.Background(), p)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field)
		})
	}

	sub, err := h.d.CreateSubscription(context.Background(), valid)
	require.NoError(t, err)
	require.Len(t, sub.Secrets, 1)
	require.True(t, strings.HasPrefix(string(sub.Secrets[0].Secret), webhook.SecretPrefix))

	upd := valid
	upd.OrganizationID = ""
	upd.URL = "https://hooks.example.com/b"
	upd.EventTypes = []string{"milestone.completed"}
	got, err := h.d.UpdateSubscription(context.Background(), sub.ID, upd)
	require.NoError(t, err)
	require.Equal(t, "https://hooks.example.com/b", got.URL)
	require.Equal(t, []string{"milestone.completed"}, got.EventTypes)
	require.Equal(t, sub.Secrets, got.Secrets, "update keeps the secret")

	upd.OrganizationID = "org_2"
	_, err = h.d.UpdateSubscription(context.Background(), sub.ID, upd)
	var ve *webhook.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "OrganizationID", ve.Field)

	_, err = h.d.UpdateSubscription(context.Background(), "sub_missing", upd)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

func mustFirstSub(t *testing.T, store *webhook.MemoryStore) string {
	t.Helper()
	subs, _, err := store.ListSubscriptions(context.Background(), "org_1", webhook.Page{})
	require.NoError(t, err)
	require.NotEmpty(t, subs)
	return subs[0].ID
}

// subjectlessStore breaks the Claim contract: the deliveries it claims
// come without their subscription. It counts GetSubscription calls.
type subjectlessStore struct {
	*webhook.MemoryStore
	gets atomic.Int32
}

func (s *subjectlessStore) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]webhook.Claimed, error) {
	cs, err := s.MemoryStore.Claim(ctx, now, limit, lease, skip)
	for i := range cs {
		cs[i].Subscription = nil
	}
	return cs, err
}

func (s *subjectlessStore) GetSubscription(ctx context.Context, id string) (*webhook.Subscription, error) {
	s.gets.Add(1)
	return s.MemoryStore.GetSubscription(ctx, id)
}

// TestDispatcherClaimWithoutSubscription checks a Store that returns
// deliveries without their subscription: the Dispatcher reads it, and
// delivers as usual.
func TestDispatcherClaimWithoutSubscription(t *testing.T) {
	t.Parallel()
	store := &subjectlessStore{MemoryStore: webhook.NewMemoryStore()}
	d, obs := newDispatcherOn(t, store, nil)
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	_, err := d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: ep.URL, EventTypes: []string{"*"},
	})
	require.NoError(t, err)
	before := store.gets.Load()
	require.NoError(t, d.Publish(context.Background(), webhook.Event{
		Type: webhook.EventTaskCreated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskCreated),
	}))
	require.NoError(t, d.Start(context.Background()))
	defer d.Close(context.Background())
	for range 2 { // the ping and the event
		dl := testwait.Recv(t, obs.ended, "delivery did not end")
		require.Equal(t, webhook.StateSucceeded, dl.State)
	}
	require.Len(t, ep.requests(), 1, "the event, once")
	require.GreaterOrEqual(t, store.gets.Load()-before, int32(2), "each attempt read its subscription")
}

// hookedStore is a MemoryStore that runs afterClaim, when set, once a Claim
// has returned at least minClaimed deliveries (one if unset): a change
// racing with the claim.
type hookedStore struct {
	*webhook.MemoryStore
	afterClaim atomic.Pointer[func()]
	minClaimed int
}

func (s *hookedStore) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]webhook.Claimed, error) {
	cs, err := s.MemoryStore.Claim(ctx, now, limit, lease, skip)
	if len(cs) > 0 && len(cs) >= s.minClaimed {
		if f := s.afterClaim.Swap(nil); f != nil {
			(*f)()
		}
	}
	return cs, err
}

// TestDispatcherSubscriptionDeletedAfterClaim deletes a subscription
// through the Dispatcher between the claim of its delivery and the attempt:
// the Dispatcher rereads the subscriptions it changed, so the delivery is
// not sent, and its log says why.
func TestDispatcherSubscriptionDeletedAfterClaim(t *testing.T) {
	t.Parallel()
	store := &hookedStore{MemoryStore: webhook.NewMemoryStore()}
	d, obs := newDispatcherOn(t, store, nil)
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	sub, err := d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: ep.URL, EventTypes: []string{"task.*"},
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	defer d.Close(context.Background())
	waitPing(t, obs)

	del := func() { // on a worker's goroutine: t.Error, not require
		if err := d.DeleteSubscription(context.Background(), sub.ID); err != nil {
			t.Error(err)
		}
	}
	store.afterClaim.Store(&del)
	require.NoError(t, d.Publish(context.Background(), webhook.Event{
		Type: webhook.EventTaskCreated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskCreated),
	}))
	requireUnsent(t, obs, store.MemoryStore)
	require.Empty(t, ep.requests(), "nothing is sent for a deleted subscription")
	require.ErrorIs(t, d.DeleteSubscription(context.Background(), sub.ID), webhook.ErrNotFound)
}

// TestDispatcherSubscriptionDeletedElsewhere deletes a subscription in the
// store, as another process would, right after a claim of two of its
// deliveries; the first is sent at once, with the subscription its claim
// returned (the window the Dispatcher documents), while the endpoint takes
// 300 ms to answer it. The second, claimed longer than 250 ms before its
// turn, has its subscription read again: found deleted, it is not sent.
func TestDispatcherSubscriptionDeletedElsewhere(t *testing.T) {
	t.Parallel()
	store := &hookedStore{MemoryStore: webhook.NewMemoryStore(), minClaimed: 2}
	d, obs := newDispatcherOn(t, store, func(c *webhook.Config) { c.Workers = 1 })
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) { time.Sleep(300 * time.Millisecond) })
	sub, err := d.CreateSubscription(context.Background(), webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: ep.URL, EventTypes: []string{"task.*"},
	})
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, d.Publish(context.Background(), webhook.Event{
			Type: webhook.EventTaskCreated, OrganizationID: "org_1", ProjectID: "proj_1", Data: eventData(webhook.EventTaskCreated),
		}))
	}
	del := func() {
		if err := store.MemoryStore.DeleteSubscription(context.Background(), sub.ID); err != nil {
			t.Error(err)
		}
	}
	store.afterClaim.Store(&del) // on the claim of both events, after the ping's
	require.NoError(t, d.Start(context.Background()))
	defer d.Close(context.Background())

	var sent, unsent int
	for range 3 { // the ping and the two events, in any order
		dl := testwait.Recv(t, obs.ended, "delivery did not end")
		if dl.EventType == webhook.EventPing {
			continue
		}
		as, err := store.ListAttempts(context.Background(), dl.ID)
		require.NoError(t, err)
		require.Len(t, as, 1)
		if dl.State == webhook.StateSucceeded {
			sent++
			continue
		}
		require.Equal(t, webhook.StateFailed, dl.State)
		require.Contains(t, as[0].Error, "subscription deleted")
		unsent++
	}
	// The first event is sent unless the machine stalled its worker for
	// 250 ms; the second, read again after waiting 300 ms, never is.
	require.Equal(t, 2, sent+unsent)
	require.GreaterOrEqual(t, unsent, 1, "the event that waited is read again and not sent")
	require.Len(t, ep.requests(), sent)
}

// waitPing waits for the creation ping to end.
func waitPing(t *testing.T, obs *testObserver) {
	t.Helper()
	dl := testwait.Recv(t, obs.ended, "ping did not end")
	require.Equal(t, webhook.EventPing, dl.EventType)
}

// requireUnsent waits for the next delivery to end, failed without being
// sent because its subscription was deleted.
func requireUnsent(t *testing.T, obs *testObserver, store *webhook.MemoryStore) {
	t.Helper()
	dl := testwait.Recv(t, obs.ended, "delivery did not end")
	require.Equal(t, webhook.StateFailed, dl.State)
	as, err := store.ListAttempts(context.Background(), dl.ID)
	require.NoError(t, err)
	require.Len(t, as, 1)
	require.Contains(t, as[0].Error, "subscription deleted")
	require.Zero(t, as[0].StatusCode)
}
