package webhook

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/onplana/webhook/keyring"
)

// sealedSecret is the encoded form of a SigningSecret that a key ring seals
// (Secret marshals to a redacted placeholder on purpose).
type sealedSecret struct {
	Secret    string    `json:"s"`
	CreatedAt time.Time `json:"c"`
	ExpiresAt time.Time `json:"e,omitzero"`
}

// SealSecrets encrypts the signing secrets of the subscription
// subscriptionID under the current key of keys (see package keyring) and
// returns that key's id and the ciphertext, which a store keeps side by
// side. The ciphertext is bound to the subscription: copied to another
// one, it does not open. It fails for a nil ring.
func SealSecrets(keys *keyring.Ring, subscriptionID string, secrets []SigningSecret) (keyID string, ciphertext []byte, err error) {
	plain := make([]sealedSecret, len(secrets))
	for i, s := range secrets {
		plain[i] = sealedSecret{Secret: s.Secret.Reveal(), CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()}
	}
	b, err := json.Marshal(plain)
	if err != nil {
		return "", nil, fmt.Errorf("webhook: seal secrets: %w", err)
	}
	defer clear(b)
	return keys.Seal(subscriptionID, b)
}

// OpenSecrets decrypts the secrets SealSecrets sealed for the subscription
// subscriptionID under the key keyID. It returns a *keyring.KeyError
// wrapping keyring.ErrKeyMissing if keys (nil included) has no key keyID,
// and keyring.ErrKeyMismatch if the ciphertext does not decrypt under it.
func OpenSecrets(keys *keyring.Ring, subscriptionID, keyID string, ciphertext []byte) ([]SigningSecret, error) {
	b, err := keys.Open(subscriptionID, keyID, ciphertext)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	var plain []sealedSecret
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, &keyring.KeyError{SubscriptionID: subscriptionID, KeyID: keyID, Err: keyring.ErrKeyMismatch}
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
