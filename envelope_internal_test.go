package webhook

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWordNeedsAttention checks the word-at-a-time test against the
// byte-at-a-time table, on every byte value at every position and on
// random words.
func TestWordNeedsAttention(t *testing.T) {
	t.Parallel()
	slow := func(w uint64) bool {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], w)
		for _, c := range b {
			if !strPlain[c] {
				return true
			}
		}
		return false
	}
	for pos := range 8 {
		for c := range 256 {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			w := binary.LittleEndian.Uint64(b)
			require.Equal(t, slow(w), wordNeedsAttention(w), "byte %#x at %d", c, pos)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		w := r.Uint64()
		if slow(w) != wordNeedsAttention(w) {
			t.Fatalf("%#x: table says %v", w, slow(w))
		}
	}
}
