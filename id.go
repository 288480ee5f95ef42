package webhook

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/onplana/webhook/internal/sortid"
)

// idState is the last id's millisecond and 80-bit random part. An id made in
// the same millisecond as the previous one takes that random part plus one
// instead of fresh random bits, so the ids a process makes sort in the order
// it made them even within a millisecond (as ULID's monotonic mode does).
// Stores keep their logs in id order; ids that arrive in order are appended
// rather than inserted.
var idState struct {
	sync.Mutex
	ms  uint64
	low [10]byte // the random part, big-endian
}

// newID returns prefix followed by 26 characters (see package sortid): 48
// bits of milliseconds since the Unix epoch and 80 bits that are random for
// the first id of a millisecond and count up from there. Ids sort by creation
// time, and by creation order within a millisecond; they never contain '.',
// and are safe in URLs, headers and file names. It is safe for concurrent use.
func newID(prefix string, now time.Time) string {
	ms := uint64(now.UnixMilli()) & (1<<48 - 1)
	idState.Lock()
	if ms != idState.ms {
		rand.Read(idState.low[:]) // never returns an error (crypto/rand, Go 1.24+)
		idState.ms = ms
	} else {
		// Add one. 2^80 ids in one millisecond cannot happen; the carry
		// keeps the arithmetic honest anyway.
		for i := len(idState.low) - 1; i >= 0; i-- {
			idState.low[i]++
			if idState.low[i] != 0 {
				break
			}
		}
	}
	low := idState.low
	idState.Unlock()
	return sortid.Encode(prefix, ms, low)
}

// ID prefixes.
const (
	prefixEvent        = "evt_"
	prefixDelivery     = "dlv_"
	prefixSubscription = "sub_"
)
