package storedsecrets

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/storetest"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ring := storetest.NewKeyRing("k1", map[string][]byte{"k1": storetest.NewKey()})
	secrets := []webhook.SigningSecret{
		{Secret: webhook.NewSecret(), CreatedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		{Secret: webhook.NewSecret(), CreatedAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), ExpiresAt: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)},
	}
	all := []webhook.Secret{secrets[0].Secret, secrets[1].Secret}

	clear, err := Seal(nil, "sub_1", secrets)
	require.NoError(t, err)
	require.Empty(t, clear.KeyID)
	require.Contains(t, string(clear.Clear), secrets[0].Secret.Reveal(), "no key ring: kept in clear")

	sealed, err := Seal(ring, "sub_1", secrets)
	require.NoError(t, err)
	require.Equal(t, "[]", string(sealed.Clear))
	require.Equal(t, "k1", sealed.KeyID)
	storetest.RequireNoSecrets(t, sealed.Sealed, all)

	for name, st := range map[string]Stored{"clear": clear, "sealed": sealed} {
		got, err := Open(ring, "sub_1", &st)
		require.NoError(t, err, name)
		require.Equal(t, secrets, got, name)
	}
	none, err := Seal(nil, "sub_1", nil)
	require.NoError(t, err)
	got, err := Open(nil, "sub_1", &none)
	require.NoError(t, err)
	require.Nil(t, got)
}
