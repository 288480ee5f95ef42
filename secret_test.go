package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
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

func TestValidateSecret(t *testing.T) {
	t.Parallel()
	b64 := func(n int) string { // n bytes that look random, in standard base64
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*73 + 41)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := []struct {
		name   string
		secret string
		want   string // part of the reason; empty when accepted
	}{
		{"NewSecret", NewSecret().Reveal(), ""},
		{"whsec_ with 24 bytes, as Svix", "whsec_" + b64(24), ""},
		{"whsec_ with 64 bytes", "whsec_" + b64(64), ""},
		{"whsec_ unpadded", "whsec_" + strings.TrimRight(b64(32), "="), ""},
		{"Stripe-like whsec_", "whsec_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", ""},
		{"40 hex digits, as openssl rand -hex 20", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", ""},
		{"32 hex digits", "1b4f0e9851971998e732078544c96b36", ""},

		{"empty", "", "shorter than 32"},
		{"a placeholder", "secret", "shorter than 32"},
		{"31 bytes", "9f86d081884c7d659a2feaa0c55ad01", "shorter than 32"},
		{"whsec_ with 16 bytes", "whsec_" + b64(16), "decode to 24 to 64 bytes, not 16"},
		{"whsec_ with 65 bytes", "whsec_" + b64(65), "decode to 24 to 64 bytes, not 65"},
		{"whsec_ not base64", "whsec_this is not base64 at all, really", "character other than printable ASCII"},
		{"whsec_ URL-safe base64", "whsec_" + strings.NewReplacer("+", "-", "/", "_").Replace(b64(33)), "not standard base64"},
		{"too long", strings.Repeat("9f86d081884c7d65", 17), "longer than 256"},
		{"a space", "9f86d081884c7d659a2f eaa0c55ad015a3bf4f1b", "character other than printable ASCII"},
		{"a newline", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b\n", "character other than printable ASCII"},
		{"non-ASCII", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1bé", "character other than printable ASCII"},
		{"one character", strings.Repeat("a", 40), "a pattern of 1 characters repeated"},
		{"a word repeated", "passwordpasswordpasswordpassword", "a pattern of 8 characters repeated"},
		{"a sequence repeated", "0123456789abcdef0123456789abcdef", "a pattern of 16 characters repeated"},
		{"whsec_ of a repeated pattern", "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("abc", 11))), "repeated"},
		{"low entropy", "abababababababababababababababacab", "too regular"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := validateSecret(Secret(tt.secret))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrWeakSecret)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "Secret", ve.Field)
			require.Contains(t, err.Error(), tt.want)
			if tt.secret != "" {
				require.NotContains(t, err.Error(), tt.secret, "the error never shows the secret")
			}
		})
	}
}

// Random secrets of the accepted forms pass the entropy floor with room to
// spare, so that validateSecret never refuses one.
func TestValidateSecretAcceptsRandomSecrets(t *testing.T) {
	t.Parallel()
	for range 2000 {
		var b [24]byte
		rand.Read(b[:])
		for _, s := range []string{hex.EncodeToString(b[:16]), SecretPrefix + base64.StdEncoding.EncodeToString(b[:])} {
			require.NoError(t, validateSecret(Secret(s)))
		}
	}
}
