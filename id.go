package webhook

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// idAlphabet is Crockford's base32 in lower case. Its characters sort in the
// same order as their values, so ids sort by creation time.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// newID returns prefix followed by 26 characters: 48 bits of milliseconds
// since the Unix epoch and 80 random bits, base32-encoded. Ids sort by
// creation time (to the millisecond), never contain '.', and are safe in URLs,
// headers and file names.
func newID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:]) // never returns an error (crypto/rand, Go 1.24+)

	out := make([]byte, len(prefix)+26)
	copy(out, prefix)
	// Encode 128 bits as 26 base32 digits, most significant first: the top
	// digit holds 3 bits, each following one 5.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := len(out) - 1; i >= len(prefix); i-- {
		out[i] = idAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// ID prefixes.
const (
	prefixEvent        = "evt_"
	prefixDelivery     = "dlv_"
	prefixSubscription = "sub_"
)
