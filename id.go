package webhook

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// idAlphabet is Crockford's base32 in lower case. Its characters sort in the
// same order as their values, so ids sort by creation time.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// idState is the last id's millisecond and 80-bit random part. An id made in
// the same millisecond as the previous one takes that random part plus one
// instead of fresh random bits, so the ids a process makes sort in the order
// it made them even within a millisecond (as ULID's monotonic mode does).
// Stores keep their logs in id order; ids that arrive in order are appended
// rather than inserted.
var idState struct {
	sync.Mutex
	ms     uint64
	hi, lo uint64 // the random part: 16 bits in hi, 64 in lo
}

// newID returns prefix followed by 26 characters: 48 bits of milliseconds
// since the Unix epoch and 80 bits that are random for the first id of a
// millisecond and count up from there, base32-encoded. Ids sort by creation
// time, and by creation order within a millisecond; they never contain '.',
// and are safe in URLs, headers and file names. It is safe for concurrent use.
func newID(prefix string, now time.Time) string {
	ms := uint64(now.UnixMilli()) & (1<<48 - 1)
	idState.Lock()
	if ms != idState.ms {
		var r [10]byte
		rand.Read(r[:]) // never returns an error (crypto/rand, Go 1.24+)
		idState.ms = ms
		idState.hi = uint64(binary.BigEndian.Uint16(r[:2]))
		idState.lo = binary.BigEndian.Uint64(r[2:])
	} else {
		// 2^80 ids in one millisecond cannot happen; the carry keeps the
		// arithmetic honest anyway.
		idState.lo++
		if idState.lo == 0 {
			idState.hi = (idState.hi + 1) & 0xffff
		}
	}
	hi := ms<<16 | idState.hi
	lo := idState.lo
	idState.Unlock()

	out := make([]byte, len(prefix)+26)
	copy(out, prefix)
	// Encode 128 bits as 26 base32 digits, most significant first: the top
	// digit holds 3 bits, each following one 5.
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
