package webhook_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/keyring"
	"github.com/onplana/webhook/storetest"
)

func TestSealSecrets(t *testing.T) {
	t.Parallel()
	ring := storetest.NewKeyRing("k1", map[string][]byte{"k1": storetest.NewKey()})
	secrets := []webhook.SigningSecret{
		{Secret: webhook.NewSecret(), CreatedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		{Secret: webhook.NewSecret(), CreatedAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), ExpiresAt: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)},
	}

	id, ct, err := webhook.SealSecrets(ring, "sub_a", secrets)
	require.NoError(t, err)
	require.Equal(t, "k1", id)
	storetest.RequireNoSecrets(t, ct, []webhook.Secret{secrets[0].Secret, secrets[1].Secret})
	got, err := webhook.OpenSecrets(ring, "sub_a", id, ct)
	require.NoError(t, err)
	require.Equal(t, secrets, got, "secrets and their times survive the round trip")

	_, err = webhook.OpenSecrets(ring, "sub_b", id, ct)
	require.ErrorIs(t, err, keyring.ErrKeyMismatch, "bound to the subscription")
	_, err = webhook.OpenSecrets(nil, "sub_a", id, ct)
	require.ErrorIs(t, err, keyring.ErrKeyMissing)

	none, ct0, err := webhook.SealSecrets(ring, "sub_a", nil)
	require.NoError(t, err)
	got, err = webhook.OpenSecrets(ring, "sub_a", none, ct0)
	require.NoError(t, err)
	require.Empty(t, got)

	// What opens but is not sealed secrets is refused like a wrong key.
	id, junk, err := ring.Seal("sub_a", []byte("not json"))
	require.NoError(t, err)
	_, err = webhook.OpenSecrets(ring, "sub_a", id, junk)
	var kerr *keyring.KeyError
	require.ErrorAs(t, err, &kerr)
	require.ErrorIs(t, err, keyring.ErrKeyMismatch)

	_, _, err = webhook.SealSecrets(nil, "sub_a", secrets)
	require.Error(t, err, "a nil ring cannot seal")
}
