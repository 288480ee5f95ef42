package webhook

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// KeySize is the size in bytes of a key of a KeyRing: an AES-256 key.
const KeySize = 32

// maxKeyIDLength bounds a key id, which is stored beside every ciphertext.
const maxKeyIDLength = 64

// sealVersion is the first byte of every ciphertext SealSecrets makes, so
// that a future format can be told apart.
const sealVersion = 1

// Errors of a KeyRing opening stored secrets, inside a *SecretKeyError.
var (
	// ErrKeyMissing reports secrets sealed under a key id the key ring does
	// not hold, or sealed secrets read by a store given no key ring.
	ErrKeyMissing = errors.New("webhook: signing secrets are sealed under a key the key ring does not hold")
	// ErrKeyMismatch reports secrets that do not decrypt under the key of
	// their key id: the key ring holds another key under that id, or the
	// stored bytes were altered.
	ErrKeyMismatch = errors.New("webhook: signing secrets do not decrypt with the key ring's key")
)

// SecretKeyError reports a subscription whose stored signing secrets the
// store cannot decrypt. Err is ErrKeyMissing or ErrKeyMismatch. Stores
// return it instead of the subscription, and Claim returns it instead of
// the deliveries, so a delivery is never sent unsigned.
type SecretKeyError struct {
	SubscriptionID string
	KeyID          string // the key id stored beside the ciphertext
	Err            error
}

// Error names the subscription and the key id, never a key or a secret.
func (e *SecretKeyError) Error() string {
	return fmt.Sprintf("%v (subscription %s, key id %q)", e.Err, e.SubscriptionID, e.KeyID)
}

// Unwrap returns ErrKeyMissing or ErrKeyMismatch.
func (e *SecretKeyError) Unwrap() error { return e.Err }

// KeyRing holds the keys that encrypt subscriptions' signing secrets at rest
// (envelope encryption): a store given a KeyRing keeps each subscription's
// secrets sealed with AES-256-GCM under the ring's current key, with that
// key's id stored beside the ciphertext, and opens them with whichever key
// of the ring the stored id names. A database dump, a backup or a read
// replica then holds no secret that could forge a webhook.
//
// To rotate the key-encryption key, give every process a ring holding the
// new key beside the old one, make the new key current, call the store's
// ReencryptSecrets (see SecretReencrypter), then drop the old key.
//
// A KeyRing is immutable and safe for concurrent use. A nil *KeyRing holds
// no key: stores given none keep secrets in clear.
type KeyRing struct {
	current string
	aeads   map[string]cipher.AEAD
}

// NewKeyRing returns a KeyRing that encrypts with the key of id current and
// decrypts with any key of keys, which maps a key id to a KeySize-byte
// random key (from crypto/rand, or a secrets manager). A key id is 1 to 64
// bytes of letters, digits, '.', '_' and '-': a date such as "2026-06"
// makes a good one. The ring keeps its own copies of the keys. Errors are
// *ValidationError naming the key id, never the key.
func NewKeyRing(current string, keys map[string][]byte) (*KeyRing, error) {
	if _, ok := keys[current]; !ok {
		return nil, &ValidationError{Field: "current", Reason: fmt.Sprintf("key id %q is not among the keys", current)}
	}
	k := &KeyRing{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		if !validKeyID(id) {
			return nil, &ValidationError{Field: "keys", Reason: fmt.Sprintf("key id %q: want 1 to %d letters, digits, '.', '_' or '-'", id, maxKeyIDLength)}
		}
		if len(key) != KeySize {
			return nil, &ValidationError{Field: "keys", Reason: fmt.Sprintf("key %q is %d bytes, want %d", id, len(key), KeySize)}
		}
		block, err := aes.NewCipher(key) // copies the key into its schedule
		if err != nil {
			return nil, &ValidationError{Field: "keys", Reason: fmt.Sprintf("key %q", id), Err: err}
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, &ValidationError{Field: "keys", Reason: fmt.Sprintf("key %q", id), Err: err}
		}
		k.aeads[id] = aead
	}
	return k, nil
}

// ParseKeyRing returns the KeyRing described by s, a comma-separated list of
// id:key entries where key is the standard base64 encoding of KeySize bytes.
// The first entry is the current key; the others only decrypt. It is meant
// for a key ring kept in one environment variable or secret file:
//
//	WEBHOOK_SECRET_KEYS=2026-06:q3V…=,2025-12:Zk9…=
//
// Surrounding spaces are ignored. Errors never repeat a key.
func ParseKeyRing(s string) (*KeyRing, error) {
	keys := make(map[string][]byte)
	current := ""
	for i, entry := range strings.Split(s, ",") {
		id, enc, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, &ValidationError{Field: "keys", Reason: fmt.Sprintf("entry %d is not id:base64-key", i+1)}
		}
		if _, dup := keys[id]; dup {
			return nil, &ValidationError{Field: "keys", Reason: fmt.Sprintf("key id %q appears twice", id)}
		}
		key, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, &ValidationError{Field: "keys", Reason: fmt.Sprintf("key %q is not standard base64", id)}
		}
		keys[id] = key
		if i == 0 {
			current = id
		}
	}
	defer func() {
		for _, key := range keys {
			clear(key)
		}
	}()
	return NewKeyRing(current, keys)
}

// validKeyID reports whether id may name a key: it is stored and logged.
func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Current returns the id of the key that encrypts; "" for a nil ring.
func (k *KeyRing) Current() string {
	if k == nil {
		return ""
	}
	return k.current
}

// Has reports whether the ring holds a key with id.
func (k *KeyRing) Has(id string) bool {
	if k == nil {
		return false
	}
	_, ok := k.aeads[id]
	return ok
}

// sealedSecret is the encrypted form of a SigningSecret (Secret marshals
// to a redacted placeholder on purpose).
type sealedSecret struct {
	Secret    string    `json:"s"`
	CreatedAt time.Time `json:"c"`
	ExpiresAt time.Time `json:"e,omitzero"`
}

// SealSecrets encrypts the secrets of the subscription subscriptionID under
// the current key and returns that key's id and the ciphertext, which a
// store keeps side by side. The ciphertext holds a random nonce and is
// bound to the subscription id and key id: copied to another subscription,
// it does not decrypt. Every call gives a different ciphertext.
func (k *KeyRing) SealSecrets(subscriptionID string, secrets []SigningSecret) (keyID string, ciphertext []byte, err error) {
	if k == nil {
		return "", nil, errors.New("webhook: seal secrets: no key ring")
	}
	plain := make([]sealedSecret, len(secrets))
	for i, s := range secrets {
		plain[i] = sealedSecret{Secret: s.Secret.Reveal(), CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()}
	}
	b, err := json.Marshal(plain)
	if err != nil {
		return "", nil, fmt.Errorf("webhook: seal secrets: %w", err)
	}
	defer clear(b)
	aead := k.aeads[k.current]
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(b)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return "", nil, fmt.Errorf("webhook: seal secrets: %w", err)
	}
	out = aead.Seal(out, out[1:], b, sealAAD(k.current, subscriptionID))
	return k.current, out, nil
}

// OpenSecrets decrypts the secrets SealSecrets sealed for the subscription
// subscriptionID under the key keyID. It returns a *SecretKeyError wrapping
// ErrKeyMissing if the ring (nil included) has no key keyID, and
// ErrKeyMismatch if the ciphertext does not decrypt under it.
func (k *KeyRing) OpenSecrets(subscriptionID, keyID string, ciphertext []byte) ([]SigningSecret, error) {
	fail := func(err error) error {
		return &SecretKeyError{SubscriptionID: subscriptionID, KeyID: keyID, Err: err}
	}
	if !k.Has(keyID) {
		return nil, fail(ErrKeyMissing)
	}
	aead := k.aeads[keyID]
	n := aead.NonceSize()
	if len(ciphertext) < 1+n+aead.Overhead() || ciphertext[0] != sealVersion {
		return nil, fail(ErrKeyMismatch)
	}
	b, err := aead.Open(nil, ciphertext[1:1+n], ciphertext[1+n:], sealAAD(keyID, subscriptionID))
	if err != nil {
		return nil, fail(ErrKeyMismatch)
	}
	defer clear(b)
	var plain []sealedSecret
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, fail(ErrKeyMismatch)
	}
	if len(plain) == 0 {
		return nil, nil
	}
	out := make([]SigningSecret, len(plain))
	for i, s := range plain {
		out[i] = SigningSecret{Secret: Secret(s.Secret), CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	}
	return out, nil
}

// sealAAD is the additional data a ciphertext is bound to.
func sealAAD(keyID, subscriptionID string) []byte {
	return []byte("onplana-webhook secrets v1\x00" + keyID + "\x00" + subscriptionID)
}

// SecretReencrypter is implemented by the stores that encrypt signing
// secrets at rest with a KeyRing (MemoryStore, pgstore, sqlitestore).
type SecretReencrypter interface {
	// ReencryptSecrets seals again, under the key ring's current key, the
	// secrets of every subscription stored under another key or in clear,
	// and returns how many subscriptions it rewrote. It runs while the
	// store is in use, and never overwrites a concurrent update of a
	// subscription (each is read and rewritten under the store's lock on it).
	// It is idempotent: once every subscription is sealed under the current
	// key, it rewrites none and returns 0. Afterwards no stored secret
	// needs an older key, which may then leave the ring. It returns a
	// *SecretKeyError if a stored secret cannot be decrypted, and an error
	// if the store has no key ring.
	ReencryptSecrets(ctx context.Context) (int, error)
}
