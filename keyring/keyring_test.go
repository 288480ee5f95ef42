package keyring_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook/keyring"
)

func newKey() []byte {
	k := make([]byte, keyring.KeySize)
	rand.Read(k)
	return k
}

func mustNew(t *testing.T, current string, keys map[string][]byte) *keyring.Ring {
	t.Helper()
	r, err := keyring.New(current, keys)
	require.NoError(t, err)
	return r
}

func TestNewRefusesBadInput(t *testing.T) {
	t.Parallel()
	key := newKey()
	tests := []struct {
		name    string
		current string
		keys    map[string][]byte
	}{
		{"no keys", "k1", nil},
		{"current not among the keys", "k2", map[string][]byte{"k1": key}},
		{"empty id", "", map[string][]byte{"": key}},
		{"id with a colon", "a:b", map[string][]byte{"a:b": key}},
		{"id with a space", "a b", map[string][]byte{"a b": key}},
		{"id too long", strings.Repeat("k", 65), map[string][]byte{strings.Repeat("k", 65): key}},
		{"short key", "k1", map[string][]byte{"k1": key[:16]}},
		{"long key", "k1", map[string][]byte{"k1": append(bytes.Clone(key), 0)}},
		{"a bad key beside a good one", "k1", map[string][]byte{"k1": key, "k2": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := keyring.New(tt.current, tt.keys)
			require.Nil(t, r)
			require.ErrorIs(t, err, keyring.ErrInvalid)
			require.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(key))
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(), newKey()
	b64 := base64.StdEncoding.EncodeToString

	ring, err := keyring.Parse(" 2026-06:" + b64(k2) + " , 2025-12:" + b64(k1))
	require.NoError(t, err)
	require.Equal(t, "2026-06", ring.Current(), "the first entry is current")
	require.True(t, ring.Has("2025-12"))
	require.False(t, ring.Has("2024-01"))
	id, ct, err := ring.Seal("sub_1", []byte("secrets"))
	require.NoError(t, err)
	require.Equal(t, "2026-06", id)

	// The same key, given to New, opens it: the encoding is the key.
	got, err := mustNew(t, "2026-06", map[string][]byte{"2026-06": k2}).Open("sub_1", id, ct)
	require.NoError(t, err)
	require.Equal(t, "secrets", string(got))

	for _, bad := range []string{
		"",
		"k1",
		"k1:" + b64(k1)[:10],
		"k1:not base64!",
		"k1:" + b64(k1) + ",k1:" + b64(k2),
		"k1:" + b64(k1) + ",",
		"k1:" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32)),
	} {
		ring, err := keyring.Parse(bad)
		require.Nil(t, ring, "%q", bad)
		require.ErrorIs(t, err, keyring.ErrInvalid, "%q", bad)
		require.NotContains(t, err.Error(), b64(k1))
	}
}

func TestSealAndOpen(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(), newKey()
	old := mustNew(t, "k1", map[string][]byte{"k1": k1})
	both := mustNew(t, "k2", map[string][]byte{"k1": k1, "k2": k2})
	plain := []byte(`[{"s":"whsec_..."}]`)

	id, ct, err := old.Seal("sub_a", plain)
	require.NoError(t, err)
	require.Equal(t, "k1", id)
	require.False(t, bytes.Contains(ct, plain), "sealed")
	_, again, err := old.Seal("sub_a", plain)
	require.NoError(t, err)
	require.NotEqual(t, ct, again, "a fresh nonce every time")

	got, err := both.Open("sub_a", id, ct)
	require.NoError(t, err, "an older key of the ring still opens")
	require.Equal(t, plain, got)

	id2, ct2, err := both.Seal("sub_a", plain)
	require.NoError(t, err)
	require.Equal(t, "k2", id2, "the current key seals")
	_, err = old.Open("sub_a", id2, ct2)
	require.ErrorIs(t, err, keyring.ErrKeyMissing)

	tampered := func(i int) []byte {
		b := bytes.Clone(ct)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name  string
		ring  *keyring.Ring
		sub   string
		keyID string
		ct    []byte
		want  error
	}{
		{"nil ring", nil, "sub_a", "k1", ct, keyring.ErrKeyMissing},
		{"key id not in the ring", mustNew(t, "k9", map[string][]byte{"k9": k1}), "sub_a", "k1", ct, keyring.ErrKeyMissing},
		{"stored under another key id", mustNew(t, "k9", map[string][]byte{"k9": k1}), "sub_a", "k9", ct, keyring.ErrKeyMismatch},
		{"another key under the id", mustNew(t, "k1", map[string][]byte{"k1": k2}), "sub_a", "k1", ct, keyring.ErrKeyMismatch},
		{"copied to another subscription", old, "sub_b", "k1", ct, keyring.ErrKeyMismatch},
		{"version byte changed", old, "sub_a", "k1", tampered(0), keyring.ErrKeyMismatch},
		{"nonce changed", old, "sub_a", "k1", tampered(1), keyring.ErrKeyMismatch},
		{"ciphertext changed", old, "sub_a", "k1", tampered(20), keyring.ErrKeyMismatch},
		{"tag changed", old, "sub_a", "k1", tampered(len(ct) - 1), keyring.ErrKeyMismatch},
		{"truncated", old, "sub_a", "k1", ct[:20], keyring.ErrKeyMismatch},
		{"empty", old, "sub_a", "k1", nil, keyring.ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.ring.Open(tt.sub, tt.keyID, tt.ct)
			require.Nil(t, got)
			require.ErrorIs(t, err, tt.want)
			var kerr *keyring.KeyError
			require.True(t, errors.As(err, &kerr))
			require.Equal(t, tt.sub, kerr.SubscriptionID)
			require.Equal(t, tt.keyID, kerr.KeyID)
			require.Contains(t, kerr.Error(), tt.sub)
		})
	}

	var nilRing *keyring.Ring
	_, _, err = nilRing.Seal("sub_a", plain)
	require.Error(t, err)
	require.Empty(t, nilRing.Current())
	require.False(t, nilRing.Has("k1"))
}

// FuzzParse checks that no description makes Parse panic, that a refusal
// wraps ErrInvalid, and that an accepted ring seals and opens.
func FuzzParse(f *testing.F) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, keyring.KeySize))
	for _, s := range []string{"", "k1:" + key, " a:" + key + " , b:" + key, "k1:" + key + ",k1:" + key, "k1", ":", "k:!!", "a b:" + key} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := keyring.Parse(s)
		if err != nil {
			if r != nil || !errors.Is(err, keyring.ErrInvalid) {
				t.Fatalf("Parse(%q) = %v, %v; want nil and an error wrapping ErrInvalid", s, r, err)
			}
			return
		}
		id, ct, err := r.Seal("sub_1", []byte("x"))
		if err != nil || id != r.Current() {
			t.Fatalf("Seal = %q, %v", id, err)
		}
		if got, err := r.Open("sub_1", id, ct); err != nil || string(got) != "x" {
			t.Fatalf("Open = %q, %v", got, err)
		}
	})
}

// FuzzOpen checks that stored bytes, whatever they hold, never make Open
// panic and are refused with a *KeyError unless they are a real sealing.
func FuzzOpen(f *testing.F) {
	r, err := keyring.New("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, keyring.KeySize)})
	if err != nil {
		f.Fatal(err)
	}
	_, ct, err := r.Seal("sub_1", []byte("secrets"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("sub_1", "k1", ct)
	f.Add("sub_1", "k2", ct)
	f.Add("", "", []byte{})
	f.Add("sub_1", "k1", []byte{1})
	f.Fuzz(func(t *testing.T, sub, keyID string, ciphertext []byte) {
		got, err := r.Open(sub, keyID, ciphertext)
		if err == nil {
			if string(got) != "secrets" || sub != "sub_1" || keyID != "k1" {
				t.Fatalf("Open(%q, %q, %x) opened %q", sub, keyID, ciphertext, got)
			}
			return
		}
		var kerr *keyring.KeyError
		if !errors.As(err, &kerr) || kerr.SubscriptionID != sub || kerr.KeyID != keyID {
			t.Fatalf("Open error %v is not a *KeyError for the subscription and key id", err)
		}
	})
}
