package webhook_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/storetest"
)

func TestNewKeyRingRefusesBadInput(t *testing.T) {
	t.Parallel()
	key := storetest.NewKey()
	tests := []struct {
		name    string
		current string
		keys    map[string][]byte
		field   string
	}{
		{"no keys", "k1", nil, "current"},
		{"current not among the keys", "k2", map[string][]byte{"k1": key}, "current"},
		{"empty id", "", map[string][]byte{"": key}, "keys"},
		{"id with a colon", "a:b", map[string][]byte{"a:b": key}, "keys"},
		{"id with a space", "a b", map[string][]byte{"a b": key}, "keys"},
		{"id too long", strings.Repeat("k", 65), map[string][]byte{strings.Repeat("k", 65): key}, "keys"},
		{"short key", "k1", map[string][]byte{"k1": key[:16]}, "keys"},
		{"long key", "k1", map[string][]byte{"k1": append(bytes.Clone(key), 0)}, "keys"},
		{"a bad key beside a good one", "k1", map[string][]byte{"k1": key, "k2": nil}, "keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := webhook.NewKeyRing(tt.current, tt.keys)
			require.Nil(t, k)
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field)
			require.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(key))
		})
	}
}

func TestParseKeyRing(t *testing.T) {
	t.Parallel()
	k1, k2 := storetest.NewKey(), storetest.NewKey()
	b64 := base64.StdEncoding.EncodeToString
	sub := []webhook.SigningSecret{{Secret: webhook.NewSecret(), CreatedAt: time.Unix(1, 0).UTC()}}

	ring, err := webhook.ParseKeyRing(" 2026-06:" + b64(k2) + " , 2025-12:" + b64(k1))
	require.NoError(t, err)
	require.Equal(t, "2026-06", ring.Current(), "the first entry is current")
	require.True(t, ring.Has("2025-12"))
	id, ct, err := ring.SealSecrets("sub_1", sub)
	require.NoError(t, err)
	require.Equal(t, "2026-06", id)

	// The same key, given by NewKeyRing, opens it: the encoding is the key.
	same, err := webhook.NewKeyRing("2026-06", map[string][]byte{"2026-06": k2})
	require.NoError(t, err)
	got, err := same.OpenSecrets("sub_1", id, ct)
	require.NoError(t, err)
	require.Equal(t, sub, got)

	for _, bad := range []string{
		"",
		"k1",
		"k1:" + b64(k1)[:10],
		"k1:not base64!",
		"k1:" + b64(k1) + ",k1:" + b64(k2),
		"k1:" + b64(k1) + ",",
		"k1:" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32)),
	} {
		ring, err := webhook.ParseKeyRing(bad)
		require.Nil(t, ring, "%q", bad)
		var ve *webhook.ValidationError
		require.ErrorAs(t, err, &ve, "%q", bad)
		require.NotContains(t, err.Error(), b64(k1))
	}
}

func TestKeyRingSealsAndOpens(t *testing.T) {
	t.Parallel()
	k1, k2 := storetest.NewKey(), storetest.NewKey()
	old := storetest.NewKeyRing("k1", map[string][]byte{"k1": k1})
	both := storetest.NewKeyRing("k2", map[string][]byte{"k1": k1, "k2": k2})
	secrets := []webhook.SigningSecret{
		{Secret: webhook.NewSecret(), CreatedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		{Secret: webhook.NewSecret(), CreatedAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), ExpiresAt: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)},
	}
	all := []webhook.Secret{secrets[0].Secret, secrets[1].Secret}

	id, ct, err := old.SealSecrets("sub_a", secrets)
	require.NoError(t, err)
	require.Equal(t, "k1", id)
	storetest.RequireNoSecrets(t, ct, all)
	_, again, err := old.SealSecrets("sub_a", secrets)
	require.NoError(t, err)
	require.NotEqual(t, ct, again, "a fresh nonce every time")

	got, err := both.OpenSecrets("sub_a", id, ct)
	require.NoError(t, err, "an older key of the ring still opens")
	require.Equal(t, secrets, got)

	id2, ct2, err := both.SealSecrets("sub_a", secrets)
	require.NoError(t, err)
	require.Equal(t, "k2", id2, "the current key seals")
	_, err = old.OpenSecrets("sub_a", id2, ct2)
	require.ErrorIs(t, err, webhook.ErrKeyMissing)

	none, ct0, err := old.SealSecrets("sub_a", nil)
	require.NoError(t, err)
	got, err = old.OpenSecrets("sub_a", none, ct0)
	require.NoError(t, err)
	require.Empty(t, got)

	tampered := func(i int) []byte {
		b := bytes.Clone(ct)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name  string
		ring  *webhook.KeyRing
		sub   string
		keyID string
		ct    []byte
		want  error
	}{
		{"nil ring", nil, "sub_a", "k1", ct, webhook.ErrKeyMissing},
		{"key id not in the ring", storetest.NewKeyRing("k9", map[string][]byte{"k9": k1}), "sub_a", "k1", ct, webhook.ErrKeyMissing},
		{"stored under another key id", storetest.NewKeyRing("k9", map[string][]byte{"k9": k1}), "sub_a", "k9", ct, webhook.ErrKeyMismatch},
		{"another key under the id", storetest.NewKeyRing("k1", map[string][]byte{"k1": k2}), "sub_a", "k1", ct, webhook.ErrKeyMismatch},
		{"copied to another subscription", old, "sub_b", "k1", ct, webhook.ErrKeyMismatch},
		{"version byte changed", old, "sub_a", "k1", tampered(0), webhook.ErrKeyMismatch},
		{"nonce changed", old, "sub_a", "k1", tampered(1), webhook.ErrKeyMismatch},
		{"ciphertext changed", old, "sub_a", "k1", tampered(20), webhook.ErrKeyMismatch},
		{"tag changed", old, "sub_a", "k1", tampered(len(ct) - 1), webhook.ErrKeyMismatch},
		{"truncated", old, "sub_a", "k1", ct[:20], webhook.ErrKeyMismatch},
		{"empty", old, "sub_a", "k1", nil, webhook.ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.ring.OpenSecrets(tt.sub, tt.keyID, tt.ct)
			require.Nil(t, got)
			require.ErrorIs(t, err, tt.want)
			var kerr *webhook.SecretKeyError
			require.ErrorAs(t, err, &kerr)
			require.Equal(t, tt.sub, kerr.SubscriptionID)
			require.Equal(t, tt.keyID, kerr.KeyID)
		})
	}

	var nilRing *webhook.KeyRing
	_, _, err = nilRing.SealSecrets("sub_a", secrets)
	require.Error(t, err)
	require.Empty(t, nilRing.Current())
}
