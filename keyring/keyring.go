// Package keyring holds the keys that encrypt subscriptions' signing
// secrets at rest (envelope encryption). A store given a Ring keeps each
// subscription's secrets sealed with AES-256-GCM under the ring's current
// key, with that key's id stored beside the ciphertext, and opens them with
// whichever key of the ring the stored id names. A database dump, a backup
// or a read replica then holds no secret that could forge a webhook.
//
// Users make a Ring once, usually from one environment variable (Parse),
// and give it to their store: pgstore.Config.Keys, sqlitestore.Config.Keys
// or webhook.NewMemoryStoreWithKeys. To rotate the key-encryption key, give
// every process a ring holding the new key beside the old one, make the new
// key current, call the store's ReencryptSecrets (see Reencrypter), then
// drop the old key.
//
// Store implementations seal and open through webhook.SealSecrets and
// webhook.OpenSecrets, which encode the secrets and call Seal and Open.
package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size in bytes of a key of a Ring: an AES-256 key.
const KeySize = 32

// maxKeyIDLength bounds a key id, which is stored beside every ciphertext.
const maxKeyIDLength = 64

// sealVersion is the first byte of every ciphertext Seal makes, so that a
// future format can be told apart.
const sealVersion = 1

var (
	// ErrInvalid is matched (with errors.Is) by the errors of New and
	// Parse: a key ring description that is malformed, a key of the wrong
	// size or a key id that may not be stored.
	ErrInvalid = errors.New("keyring: invalid key ring")
	// ErrKeyMissing reports secrets sealed under a key id the key ring does
	// not hold, or sealed secrets read by a store given no key ring.
	ErrKeyMissing = errors.New("keyring: signing secrets are sealed under a key the key ring does not hold")
	// ErrKeyMismatch reports secrets that do not decrypt under the key of
	// their key id: the key ring holds another key under that id, or the
	// stored bytes were altered.
	ErrKeyMismatch = errors.New("keyring: signing secrets do not decrypt with the key ring's key")
)

// KeyError reports a subscription whose stored signing secrets cannot be
// decrypted. Err is ErrKeyMissing or ErrKeyMismatch. Stores return it
// instead of the subscription, and Claim returns it instead of the
// deliveries, so a delivery is never sent unsigned.
type KeyError struct {
	SubscriptionID string
	KeyID          string // the key id stored beside the ciphertext
	Err            error
}

// Error names the subscription and the key id, never a key or a secret.
func (e *KeyError) Error() string {
	return fmt.Sprintf("%v (subscription %s, key id %q)", e.Err, e.SubscriptionID, e.KeyID)
}

// Unwrap returns ErrKeyMissing or ErrKeyMismatch.
func (e *KeyError) Unwrap() error { return e.Err }

// Reencrypter is implemented by the stores that seal signing secrets with a
// Ring (webhook.MemoryStore, pgstore, sqlitestore).
type Reencrypter interface {
	// ReencryptSecrets seals again, under the key ring's current key, the
	// secrets of every subscription stored under another key or in clear,
	// and returns how many subscriptions it rewrote. It runs while the
	// store is in use, and never overwrites a concurrent update of a
	// subscription (each is read and rewritten under the store's lock on it).
	// It is idempotent: once every subscription is sealed under the current
	// key, it rewrites none and returns 0. Afterwards no stored secret
	// needs an older key, which may then leave the ring. It returns a
	// *KeyError if a stored secret cannot be decrypted, and an error if the
	// store has no key ring.
	ReencryptSecrets(ctx context.Context) (int, error)
}

// Ring holds the keys that seal subscriptions' signing secrets: the
// current one, which seals, and older ones, which only open. A Ring is
// immutable and safe for concurrent use. A nil *Ring holds no key: stores
// given none keep secrets in clear.
type Ring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New returns a Ring that seals with the key of id current and opens with
// any key of keys, which maps a key id to a KeySize-byte random key (from
// crypto/rand, or a secrets manager). A key id is 1 to 64 bytes of letters,
// digits, '.', '_' and '-': a date such as "2026-06" makes a good one. The
// ring keeps its own copies of the keys. Errors wrap ErrInvalid and name
// the key id, never the key.
func New(current string, keys map[string][]byte) (*Ring, error) {
	if _, ok := keys[current]; !ok {
		return nil, fmt.Errorf("%w: current key id %q is not among the keys", ErrInvalid, current)
	}
	r := &Ring{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		if !validKeyID(id) {
			return nil, fmt.Errorf("%w: key id %q: want 1 to %d letters, digits, '.', '_' or '-'", ErrInvalid, id, maxKeyIDLength)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("%w: key %q is %d bytes, want %d", ErrInvalid, id, len(key), KeySize)
		}
		block, err := aes.NewCipher(key) // copies the key into its schedule
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %w", ErrInvalid, id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %w", ErrInvalid, id, err)
		}
		r.aeads[id] = aead
	}
	return r, nil
}

// Parse returns the Ring described by s, a comma-separated list of id:key
// entries where key is the standard base64 encoding of KeySize bytes. The
// first entry is the current key; the others only open. It is meant for a
// key ring kept in one environment variable or secret file:
//
//	WEBHOOK_SECRET_KEYS=2026-06:q3V…=,2025-12:Zk9…=
//
// Surrounding spaces are ignored. Errors wrap ErrInvalid and never repeat a
// key.
func Parse(s string) (*Ring, error) {
	keys := make(map[string][]byte)
	current := ""
	for i, entry := range strings.Split(s, ",") {
		id, enc, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, fmt.Errorf("%w: entry %d is not id:base64-key", ErrInvalid, i+1)
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("%w: key id %q appears twice", ErrInvalid, id)
		}
		key, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q is not standard base64", ErrInvalid, id)
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
	return New(current, keys)
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

// Current returns the id of the key that seals; "" for a nil ring.
func (r *Ring) Current() string {
	if r == nil {
		return ""
	}
	return r.current
}

// Has reports whether the ring holds a key with id.
func (r *Ring) Has(id string) bool {
	if r == nil {
		return false
	}
	_, ok := r.aeads[id]
	return ok
}

// Seal encrypts plaintext, the encoded secrets of the subscription
// subscriptionID, under the current key and returns that key's id and the
// ciphertext, which a store keeps side by side. The ciphertext holds a
// random nonce and is bound to the subscription id and key id: copied to
// another subscription, it does not open. Every call gives a different
// ciphertext. A nil ring cannot seal.
func (r *Ring) Seal(subscriptionID string, plaintext []byte) (keyID string, ciphertext []byte, err error) {
	if r == nil {
		return "", nil, errors.New("keyring: seal secrets: no key ring")
	}
	aead := r.aeads[r.current]
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return "", nil, fmt.Errorf("keyring: seal secrets: %w", err)
	}
	out = aead.Seal(out, out[1:], plaintext, sealAAD(r.current, subscriptionID))
	return r.current, out, nil
}

// Open decrypts what Seal sealed for the subscription subscriptionID under
// the key keyID. It returns a *KeyError wrapping ErrKeyMissing if the ring
// (nil included) has no key keyID, and ErrKeyMismatch if the ciphertext
// does not decrypt under it.
func (r *Ring) Open(subscriptionID, keyID string, ciphertext []byte) ([]byte, error) {
	if !r.Has(keyID) {
		return nil, &KeyError{SubscriptionID: subscriptionID, KeyID: keyID, Err: ErrKeyMissing}
	}
	aead := r.aeads[keyID]
	n := aead.NonceSize()
	if len(ciphertext) < 1+n+aead.Overhead() || ciphertext[0] != sealVersion {
		return nil, &KeyError{SubscriptionID: subscriptionID, KeyID: keyID, Err: ErrKeyMismatch}
	}
	b, err := aead.Open(nil, ciphertext[1:1+n], ciphertext[1+n:], sealAAD(keyID, subscriptionID))
	if err != nil {
		return nil, &KeyError{SubscriptionID: subscriptionID, KeyID: keyID, Err: ErrKeyMismatch}
	}
	return b, nil
}

// sealAAD is the additional data a ciphertext is bound to.
func sealAAD(keyID, subscriptionID string) []byte {
	return []byte("onplana-webhook secrets v1\x00" + keyID + "\x00" + subscriptionID)
}
