package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/keyring"
)

// OpenFunc opens a store of RunEncryption with keys, nil for none. Every
// call opens the same data, as reopening a database with another key ring
// does: the first call finds it empty, the later ones find what the stores
// returned before stored, and a store is not used again once OpenFunc has
// returned another. It may refuse data it cannot decrypt, with an error
// wrapping keyring.ErrKeyMissing or keyring.ErrKeyMismatch.
type OpenFunc func(keys *keyring.Ring) (webhook.Store, error)

// RunEncryption checks the contract of a store that keeps signing secrets
// encrypted with a keyring.Ring (see keyring.Reencrypter): secrets
// read back, claimed and updated under a key ring are the ones stored;
// rotation to a new key re-encrypts every subscription, once, after which
// the old key may leave the ring; secrets stored in clear are sealed once a
// key is configured; and a missing or wrong key is an error wrapping
// keyring.ErrKeyMissing or keyring.ErrKeyMismatch, from every read and from
// Claim, never a subscription without its secrets.
//
// What the suite cannot see is the stored bytes: a store's own tests should
// dump them (every table, the database files) and check them with
// RequireNoSecrets.
//
// newData is called once per subtest: it prepares empty storage (a file, a
// schema), to be removed when t ends, and returns the OpenFunc over it.
func RunEncryption(t *testing.T, newData func(t *testing.T) OpenFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open OpenFunc)
	}{
		{"RoundTrip", testEncryptionRoundTrip},
		{"Rotation", testEncryptionRotation},
		{"FirstKey", testEncryptionFirstKey},
		{"WrongOrMissingKey", testEncryptionWrongKey},
		{"ReencryptWithoutKeys", testEncryptionNoKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newData(t)) })
	}
}

// NewKey returns a random key for a keyring.Ring.
func NewKey() []byte {
	k := make([]byte, keyring.KeySize)
	rand.Read(k)
	return k
}

// NewKeyRing returns a key ring of the keys, id to key, whose current key
// is current. It panics on invalid input: it is for tests.
func NewKeyRing(current string, keys map[string][]byte) *keyring.Ring {
	k, err := keyring.New(current, keys)
	if err != nil {
		panic(err)
	}
	return k
}

// mustOpen opens the store and requires that it opens.
func mustOpen(t *testing.T, open OpenFunc, keys *keyring.Ring) webhook.Store {
	t.Helper()
	s, err := open(keys)
	require.NoError(t, err, "open")
	return s
}

// reencrypter returns s as a keyring.Reencrypter, which it must be.
func reencrypter(t *testing.T, s webhook.Store) keyring.Reencrypter {
	t.Helper()
	r, ok := s.(keyring.Reencrypter)
	require.True(t, ok, "%T does not implement keyring.Reencrypter", s)
	return r
}

// reencrypt runs ReencryptSecrets and returns how many it rewrote.
func reencrypt(t *testing.T, s webhook.Store) int {
	t.Helper()
	n, err := reencrypter(t, s).ReencryptSecrets(t.Context())
	require.NoError(t, err, "ReencryptSecrets")
	return n
}

// secretSub returns a subscription with two fresh random secrets, one in
// its rotation grace period.
func secretSub(ids *IDGenerator, org string) *webhook.Subscription {
	sub := NewSubscription(ids, org, "", "task.*")
	sub.Secrets = []webhook.SigningSecret{
		{Secret: webhook.NewSecret(), CreatedAt: BaseTime.Add(time.Hour)},
		{Secret: webhook.NewSecret(), CreatedAt: BaseTime, ExpiresAt: BaseTime.Add(25 * time.Hour)},
	}
	return sub
}

// createSecretSubs stores n subscriptions of org with fresh secrets.
func createSecretSubs(t *testing.T, s webhook.Store, ids *IDGenerator, org string, n int) []*webhook.Subscription {
	t.Helper()
	subs := make([]*webhook.Subscription, n)
	for i := range subs {
		subs[i] = secretSub(ids, org)
		require.NoError(t, s.CreateSubscription(t.Context(), subs[i]))
	}
	return subs
}

// requireReadable requires that every subscription in want reads back, by
// id and through the organization's list, with its secrets.
func requireReadable(t *testing.T, s webhook.Store, org string, want []*webhook.Subscription) {
	t.Helper()
	for _, w := range want {
		got, err := s.GetSubscription(t.Context(), w.ID)
		require.NoError(t, err, "get %s", w.ID)
		requireSameSubscription(t, w, got)
	}
	list, _, err := s.ListSubscriptions(t.Context(), org, webhook.Page{Limit: webhook.MaxPageSize})
	require.NoError(t, err, "list")
	require.Len(t, list, len(want))
	for i := range want {
		requireSameSubscription(t, want[i], list[i])
	}
}

// claimAll claims every delivery due at now and requires that each comes
// with its subscription's secrets.
func claimAll(t *testing.T, s webhook.Store, now time.Time, subs []*webhook.Subscription) []webhook.Claimed {
	t.Helper()
	got, err := s.Claim(t.Context(), now, 100, time.Minute, nil)
	require.NoError(t, err, "claim")
	byID := make(map[string]*webhook.Subscription, len(subs))
	for _, sub := range subs {
		byID[sub.ID] = sub
	}
	for _, c := range got {
		want := byID[c.Delivery.SubscriptionID]
		require.NotNil(t, want, "claimed a delivery of an unknown subscription")
		require.NotNil(t, c.Subscription)
		require.Len(t, c.Subscription.Secrets, len(want.Secrets))
		for i := range want.Secrets {
			require.True(t, want.Secrets[i].Secret == c.Subscription.Secrets[i].Secret, "claimed secret %d differs", i)
		}
	}
	return got
}

func testEncryptionRoundTrip(t *testing.T, open OpenFunc) {
	ctx := t.Context()
	keys := NewKeyRing("k1", map[string][]byte{"k1": NewKey()})
	s := mustOpen(t, open, keys)
	ids := NewIDGenerator(BaseTime)
	subs := createSecretSubs(t, s, ids, "org_enc", 2)
	requireReadable(t, s, "org_enc", subs)

	// An update keeps the new secrets sealed and readable.
	subs[0].Secrets = append([]webhook.SigningSecret{{Secret: webhook.NewSecret(), CreatedAt: BaseTime.Add(2 * time.Hour)}}, subs[0].Secrets...)
	require.NoError(t, s.UpdateSubscription(ctx, subs[0]))
	requireReadable(t, s, "org_enc", subs)

	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{
		NewDelivery(ids, subs[0], "task.created", BaseTime),
		NewDelivery(ids, subs[1], "task.created", BaseTime),
	}))
	require.Len(t, claimAll(t, s, BaseTime, subs), 2, "claimed with their secrets")

	s = mustOpen(t, open, keys)
	requireReadable(t, s, "org_enc", subs)
	require.Zero(t, reencrypt(t, s), "everything is sealed under the current key already")
}

func testEncryptionRotation(t *testing.T, open OpenFunc) {
	ctx := t.Context()
	k1, k2 := NewKey(), NewKey()
	s := mustOpen(t, open, NewKeyRing("k1", map[string][]byte{"k1": k1}))
	ids := NewIDGenerator(BaseTime)
	subs := createSecretSubs(t, s, ids, "org_rot", 3)
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{NewDelivery(ids, subs[2], "task.created", BaseTime)}))

	// The new key is current; the old one still decrypts.
	s = mustOpen(t, open, NewKeyRing("k2", map[string][]byte{"k1": k1, "k2": k2}))
	requireReadable(t, s, "org_rot", subs)
	subs = append(subs, createSecretSubs(t, s, ids, "org_rot", 1)...) // sealed under k2 at once
	require.Equal(t, 3, reencrypt(t, s), "the three subscriptions sealed under k1 are rewritten")
	require.Zero(t, reencrypt(t, s), "a second run has nothing left to do")
	requireReadable(t, s, "org_rot", subs)

	// The old key can go.
	s = mustOpen(t, open, NewKeyRing("k2", map[string][]byte{"k2": k2}))
	requireReadable(t, s, "org_rot", subs)
	require.Len(t, claimAll(t, s, BaseTime, subs), 1)
}

func testEncryptionFirstKey(t *testing.T, open OpenFunc) {
	s := mustOpen(t, open, nil)
	ids := NewIDGenerator(BaseTime)
	subs := createSecretSubs(t, s, ids, "org_first", 2)
	require.NoError(t, s.Enqueue(t.Context(), []*webhook.Delivery{NewDelivery(ids, subs[0], "task.created", BaseTime)}))

	keys := NewKeyRing("k1", map[string][]byte{"k1": NewKey()})
	s = mustOpen(t, open, keys)
	requireReadable(t, s, "org_first", subs)
	n := reencrypt(t, s)
	require.Contains(t, []int{0, 2}, n, "the secrets in clear are sealed, on opening or now")
	require.Zero(t, reencrypt(t, s))
	requireReadable(t, s, "org_first", subs)

	// Nothing is left in clear: without the key nothing reads.
	requireUnreadable(t, open, nil, subs, keyring.ErrKeyMissing)
}

func testEncryptionWrongKey(t *testing.T, open OpenFunc) {
	k1 := NewKey()
	good := NewKeyRing("k1", map[string][]byte{"k1": k1})
	s := mustOpen(t, open, good)
	ids := NewIDGenerator(BaseTime)
	subs := createSecretSubs(t, s, ids, "org_wrong", 1)
	require.NoError(t, s.Enqueue(t.Context(), []*webhook.Delivery{NewDelivery(ids, subs[0], "task.created", BaseTime)}))

	tests := []struct {
		name string
		keys *keyring.Ring
		want error
	}{
		{"no key ring", nil, keyring.ErrKeyMissing},
		{"another key id", NewKeyRing("k2", map[string][]byte{"k2": NewKey()}), keyring.ErrKeyMissing},
		{"another key under the same id", NewKeyRing("k1", map[string][]byte{"k1": NewKey()}), keyring.ErrKeyMismatch},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each claim that fails may hold the delivery for its lease:
			// the next one looks later.
			requireUnreadableAt(t, open, tt.keys, subs, tt.want, BaseTime.Add(time.Duration(i)*time.Hour))
		})
	}

	// With the right key again, the delivery was neither lost nor sent.
	s = mustOpen(t, open, good)
	require.Len(t, claimAll(t, s, BaseTime.Add(24*time.Hour), subs), 1)
}

// requireUnreadable requires that a store opened with keys refuses, with an
// error wrapping want, either to open or to read any of subs, and to claim
// the delivery due that subs have.
func requireUnreadable(t *testing.T, open OpenFunc, keys *keyring.Ring, subs []*webhook.Subscription, want error) {
	t.Helper()
	requireUnreadableAt(t, open, keys, subs, want, BaseTime)
}

func requireUnreadableAt(t *testing.T, open OpenFunc, keys *keyring.Ring, subs []*webhook.Subscription, want error, now time.Time) {
	t.Helper()
	ctx := t.Context()
	s, err := open(keys)
	if err != nil {
		require.ErrorIs(t, err, want, "open refused")
		requireNoSecretIn(t, err.Error(), subs)
		return
	}
	for _, sub := range subs {
		got, err := s.GetSubscription(ctx, sub.ID)
		require.ErrorIs(t, err, want, "get %s", sub.ID)
		require.Nil(t, got)
		var kerr *keyring.KeyError
		require.ErrorAs(t, err, &kerr)
		require.Equal(t, sub.ID, kerr.SubscriptionID)
		requireNoSecretIn(t, err.Error(), subs)
	}
	list, _, err := s.ListSubscriptions(ctx, subs[0].OrganizationID, webhook.Page{})
	require.ErrorIs(t, err, want, "list")
	require.Empty(t, list)
	claimed, err := s.Claim(ctx, now, 100, time.Minute, nil)
	require.ErrorIs(t, err, want, "claim: never a delivery without its secrets")
	require.Empty(t, claimed)
}

func requireNoSecretIn(t *testing.T, msg string, subs []*webhook.Subscription) {
	t.Helper()
	RequireNoSecrets(t, []byte(msg), secretsOf(subs))
}

func secretsOf(subs []*webhook.Subscription) []webhook.Secret {
	var out []webhook.Secret
	for _, sub := range subs {
		for _, s := range sub.Secrets {
			out = append(out, s.Secret)
		}
	}
	return out
}

func testEncryptionNoKeys(t *testing.T, open OpenFunc) {
	s := mustOpen(t, open, nil)
	createSecretSubs(t, s, NewIDGenerator(BaseTime), "org_none", 1)
	_, err := reencrypter(t, s).ReencryptSecrets(t.Context())
	require.Error(t, err, "nothing to re-encrypt with")
}

// SecretForms returns the byte strings that would reveal secret if found
// in a store's raw bytes: the secret as given, its base64 part, the 32
// bytes it encodes in raw, hex (both cases) and every base64 alphabet, and
// the hex of the whole secret (how PostgreSQL prints it in a bytea).
func SecretForms(secret webhook.Secret) [][]byte {
	s := secret.Reveal()
	forms := [][]byte{[]byte(s), []byte(hex.EncodeToString([]byte(s)))}
	b64 := strings.TrimPrefix(s, webhook.SecretPrefix)
	if b64 != s {
		forms = append(forms, []byte(b64))
	}
	if raw, err := base64.StdEncoding.DecodeString(b64); err == nil && len(raw) > 0 {
		forms = append(forms, raw,
			[]byte(hex.EncodeToString(raw)), []byte(strings.ToUpper(hex.EncodeToString(raw))),
			[]byte(base64.RawStdEncoding.EncodeToString(raw)),
			[]byte(base64.URLEncoding.EncodeToString(raw)), []byte(base64.RawURLEncoding.EncodeToString(raw)))
	}
	forms = append(forms, []byte(base64.StdEncoding.EncodeToString([]byte(s))))
	return forms
}

// RequireNoSecrets fails t if raw, a store's bytes (a table dump, a
// database file), holds any of the secrets in any form SecretForms lists.
// It never prints a secret.
func RequireNoSecrets(t testing.TB, raw []byte, secrets []webhook.Secret) {
	t.Helper()
	if i, ok := FindSecret(raw, secrets); ok {
		t.Fatalf("storetest: the stored bytes hold secret %d of %d", i+1, len(secrets))
	}
}

// FindSecret reports whether raw holds any of the secrets in any form
// SecretForms lists, and the index of the first one found. A store's test
// uses it to show, with secrets stored in clear, that the dump it greps does
// hold them.
func FindSecret(raw []byte, secrets []webhook.Secret) (int, bool) {
	for i, s := range secrets {
		for _, form := range SecretForms(s) {
			if bytes.Contains(raw, form) {
				return i, true
			}
		}
	}
	return 0, false
}
