// Package storedsecrets is the form in which the SQL stores (pgstore,
// sqlitestore) keep a subscription's signing secrets: in clear as JSON, or
// sealed under a key ring (see package keyring) with "[]" left in clear.
package storedsecrets

import (
	"encoding/json"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/keyring"
)

// Stored is the stored form of a subscription's secrets, one column each:
// in clear, Clear holds them as JSON and KeyID is empty; sealed, Clear is
// "[]" and KeyID and Sealed are what webhook.SealSecrets returned.
type Stored struct {
	Clear  []byte
	KeyID  string
	Sealed []byte
}

// clearSecret is the clear JSON form of a webhook.SigningSecret, which
// marshals to a redacted placeholder on purpose.
type clearSecret struct {
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Seal returns the stored form of the secrets of subscription id: sealed
// under the current key of keys, or in clear if keys is nil.
func Seal(keys *keyring.Ring, id string, ss []webhook.SigningSecret) (Stored, error) {
	if keys != nil {
		keyID, sealed, err := webhook.SealSecrets(keys, id, ss)
		return Stored{Clear: []byte("[]"), KeyID: keyID, Sealed: sealed}, err
	}
	out := make([]clearSecret, len(ss))
	for i, s := range ss {
		out[i] = clearSecret{Secret: s.Secret.Reveal(), CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()}
	}
	b, err := json.Marshal(out)
	return Stored{Clear: b}, err
}

// Open returns the secrets of subscription id from their stored form, or
// the *keyring.KeyError of webhook.OpenSecrets.
func Open(keys *keyring.Ring, id string, st *Stored) ([]webhook.SigningSecret, error) {
	if st.KeyID != "" {
		return webhook.OpenSecrets(keys, id, st.KeyID, st.Sealed)
	}
	var in []clearSecret
	if err := json.Unmarshal(st.Clear, &in); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]webhook.SigningSecret, len(in))
	for i, s := range in {
		out[i] = webhook.SigningSecret{Secret: webhook.Secret(s.Secret), CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	}
	return out, nil
}
