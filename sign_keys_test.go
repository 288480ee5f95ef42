package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSignKeyCache checks that Sign, which keeps keyed HMAC states per
// secret, signs exactly as a fresh HMAC does, from many goroutines and
// past the size of its cache, which stays bounded.
func TestSignKeyCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets int
	}{
		{name: "one secret, many bodies", secrets: 1},
		{name: "more secrets than the cache holds", secrets: maxSigningKeys + 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range tt.secrets {
						secret := Secret("whsec_test-secret-" + strconv.Itoa(i) + "-of-" + tt.name)
						body := []byte(`{"n":` + strconv.Itoa(g*100000+i) + `}`)
						h := hmac.New(sha256.New, []byte(secret))
						h.Write(body)
						if got, want := Sign(secret, body), hex.EncodeToString(h.Sum(nil)); got != want {
							t.Errorf("Sign(%q, %q) = %s, want %s", secret, body, got, want)
							return
						}
					}
				}()
			}
			wg.Wait()
			signingKeys.mu.RLock()
			defer signingKeys.mu.RUnlock()
			require.LessOrEqual(t, len(signingKeys.pools), maxSigningKeys)
		})
	}
}
