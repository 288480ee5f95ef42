package webhook_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/testwait"
	"github.com/onplana/webhook/keyring"
	"github.com/onplana/webhook/storetest"
)

// TestMemoryStoreKeepsSecretsSealed: a MemoryStore given a key ring holds no
// form of a subscription's secrets, through creation and rotation, while a
// MemoryStore without one does (the control), and its deliveries verify.
func TestMemoryStoreKeepsSecretsSealed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		keys   *keyring.Ring
		sealed bool
	}{
		{"no key ring: the dump shows the secrets", nil, false},
		{"key ring", storetest.NewKeyRing("k1", map[string][]byte{"k1": storetest.NewKey()}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := webhook.NewMemoryStoreWithKeys(tt.keys)
			var verified atomic.Int32
			var secrets []webhook.Secret
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rv, err := webhook.NewReceiver(webhook.ReceiverConfig{Secrets: secrets[:1], Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				rv.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					verified.Add(1)
				})).ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			d, err := webhook.NewDispatcher(store, &webhook.Config{AllowHTTP: true, AllowPrivateNetworks: true, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{OrganizationID: "org_1", URL: srv.URL, EventTypes: []string{"*"}})
			require.NoError(t, err)
			secrets = append(secrets, sub.Secrets[0].Secret)
			fresh, err := d.RotateSecret(ctx, sub.ID, time.Hour)
			require.NoError(t, err)
			secrets = append(secrets, fresh)

			_, found := storetest.FindSecret(webhook.DumpMemoryStore(store), secrets)
			require.Equal(t, !tt.sealed, found)

			a, err := d.Ping(ctx, sub.ID)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, a.StatusCode, "signed with the sealed secrets, the ping verifies: %s", a.Error)
			require.EqualValues(t, 1, verified.Load())
			require.NoError(t, d.Close(ctx))
		})
	}
}

// claimErrors is a slog.Handler that passes on the errors of the
// Dispatcher's failed claims.
type claimErrors chan string

func (c claimErrors) Enabled(context.Context, slog.Level) bool { return true }
func (c claimErrors) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c claimErrors) WithGroup(string) slog.Handler            { return c }
func (c claimErrors) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "webhook: claim deliveries" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" {
			select {
			case c <- a.Value.String():
			default:
			}
		}
		return true
	})
	return nil
}

// TestDispatcherWithTheWrongKeySendsNothing: deliveries whose subscription's
// secrets the store cannot open are not sent, signed or not: the claim
// fails, loudly. With the right key they go out and verify.
func TestDispatcherWithTheWrongKeySendsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := storetest.NewKey()
	store := webhook.NewMemoryStoreWithKeys(storetest.NewKeyRing("k1", map[string][]byte{"k1": key}))
	var requests, verified atomic.Int32
	var secret webhook.Secret
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		rv, err := webhook.NewReceiver(webhook.ReceiverConfig{Secrets: []webhook.Secret{secret}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rv.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { verified.Add(1) })).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := webhook.Config{AllowHTTP: true, AllowPrivateNetworks: true, PollInterval: 10 * time.Millisecond}

	publisher, err := webhook.NewDispatcher(store, &webhook.Config{AllowHTTP: true, AllowPrivateNetworks: true, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	sub, err := publisher.CreateSubscription(ctx, webhook.SubscriptionParams{OrganizationID: "org_1", URL: srv.URL, EventTypes: []string{"*"}})
	require.NoError(t, err)
	secret = sub.Secrets[0].Secret
	require.NoError(t, publisher.Close(ctx))

	for _, tt := range []struct {
		name string
		keys *keyring.Ring
		want error
	}{
		{"another key under the same id", storetest.NewKeyRing("k1", map[string][]byte{"k1": storetest.NewKey()}), keyring.ErrKeyMismatch},
		{"no key ring", nil, keyring.ErrKeyMissing},
	} {
		webhook.ReopenMemoryStore(store, tt.keys)
		errs := make(claimErrors, 1)
		c := cfg
		c.Logger = slog.New(errs)
		d, err := webhook.NewDispatcher(store, &c)
		require.NoError(t, err)
		require.NoError(t, d.Start(ctx))
		select {
		case msg := <-errs:
			require.Contains(t, msg, tt.want.Error(), tt.name)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no claim failed", tt.name)
		}
		require.NoError(t, d.Close(ctx))
		require.Zero(t, requests.Load(), "%s: nothing was sent", tt.name)
	}

	webhook.ReopenMemoryStore(store, storetest.NewKeyRing("k1", map[string][]byte{"k1": key}))
	ended := make(endedDeliveries, 1)
	c := cfg
	c.Logger, c.Observer = slog.New(slog.DiscardHandler), ended
	d, err := webhook.NewDispatcher(store, &c)
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	st := testwait.Recv(t, ended, "the creation ping did not end")
	require.Equal(t, webhook.StateSucceeded, st, "with the right key the creation ping is sent")
	require.NoError(t, d.Close(ctx))
	require.EqualValues(t, 1, verified.Load(), "and verifies")
}

// endedDeliveries is an Observer passing on the states deliveries end in.
type endedDeliveries chan webhook.DeliveryState

func (endedDeliveries) AttemptFinished(*webhook.Delivery, *webhook.Attempt) {}
func (e endedDeliveries) DeliveryStateChanged(d *webhook.Delivery) {
	select {
	case e <- d.State:
	default:
	}
}
