package storetest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/durabletest"
	"github.com/onplana/webhook/keyring"
)

// RunSecretsAtRest checks the bytes a durable store keeps of the
// subscriptions' signing secrets, end to end: the store must implement
// keyring.Reencrypter, and the test delivers through a Dispatcher to
// a local receiver. open opens the store over the test's
// data with keys (nil for none), the store it returned before being closed
// and not used again; dump returns every byte the store keeps: each row of
// each table, or the database files.
//
//  1. Stored without a key ring, the secrets are in the dump: the search
//     can find them.
//  2. Reopened with a key ring, the store seals them: no form of them
//     (SecretForms) is left in the dump.
//  3. A Dispatcher over the store sends events to a receiver that verifies
//     every signature, and rotates a subscription's secret; the new secret
//     is not in the dump either.
//  4. After a rotation of the key ring's key and ReencryptSecrets, the store
//     reopened without the old key still delivers verified events.
func RunSecretsAtRest(t *testing.T, open func(keys *keyring.Ring) webhook.Store, dump func() []byte) {
	t.Helper()
	ctx := t.Context()
	const org = "org_at_rest"
	recv := durabletest.NewReceiver(t)
	secrets := []webhook.Secret{recv.Secret}

	store := open(nil)
	if err := recv.Subscribe(ctx, store, org, 2); err != nil {
		t.Fatal(err)
	}
	if _, found := FindSecret(dump(), secrets); !found {
		t.Fatal("control: the dump of a store without keys does not show the secrets it keeps in clear")
	}

	k1, k2 := NewKey(), NewKey()
	store = open(NewKeyRing("k1", map[string][]byte{"k1": k1}))
	RequireNoSecrets(t, dump(), secrets)

	delivered := 0
	deliver := func(store webhook.Store, events int) {
		t.Helper()
		d, err := webhook.NewDispatcher(store, &webhook.Config{
			AllowPrivateNetworks: true, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := d.Close(closeCtx); err != nil {
				t.Errorf("close dispatcher: %v", err)
			}
		}()
		if delivered == 0 {
			// The old secret keeps signing beside the new one, so the
			// receiver, which holds the old one, still verifies.
			fresh, err := d.RotateSecret(ctx, "sub_"+org+"_00", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, fresh)
		}
		if err := durabletest.Publish(ctx, store, org, events); err != nil {
			t.Fatal(err)
		}
		delivered += 2 * events // two subscriptions
		durabletest.Wait(t, recv.Processed(delivered), time.Minute, "verified deliveries")
	}
	deliver(store, 5)
	RequireNoSecrets(t, dump(), secrets)

	store = open(NewKeyRing("k2", map[string][]byte{"k1": k1, "k2": k2}))
	n, err := store.(keyring.Reencrypter).ReencryptSecrets(ctx)
	if err != nil || n != 2 {
		t.Fatalf("ReencryptSecrets = %d, %v; want 2 subscriptions rewritten", n, err)
	}
	store = open(NewKeyRing("k2", map[string][]byte{"k2": k2}))
	deliver(store, 5)
	RequireNoSecrets(t, dump(), secrets)
	if c := recv.Counts(); c.Distinct != delivered || c.HandlerRan != delivered {
		t.Fatalf("receiver processed %d distinct deliveries in %d runs, want %d", c.Distinct, c.HandlerRan, delivered)
	}
}
