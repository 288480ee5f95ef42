package webhook

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSecretRevealIsTheOnlyWayOut checks that a Secret stays redacted in
// every accidental form and that Reveal returns it whole.
func TestSecretRevealIsTheOnlyWayOut(t *testing.T) {
	t.Parallel()
	s := NewSecret()
	require.Equal(t, string(s), s.Reveal())
	require.True(t, strings.HasPrefix(s.Reveal(), SecretPrefix))

	body := []byte(`{"event":"webhook.ping"}`)
	require.NoError(t, Verify(body, Sign(s, body), Secret(s.Reveal())), "the revealed value is the key")

	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "secret", s)
	text, err := s.MarshalText()
	require.NoError(t, err)
	for name, out := range map[string]string{
		"%v": fmt.Sprint(s), "%s %q": fmt.Sprintf("%s %q", s, s), "%#v": fmt.Sprintf("%#v", s),
		"slog": logged.String(), "MarshalText": string(text),
	} {
		require.NotContains(t, out, s.Reveal()[len(SecretPrefix):], name)
		require.Contains(t, out, "REDACTED", name)
	}
}
