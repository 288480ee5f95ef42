// Package sortid encodes the library's ids: a prefix such as "dlv_", then
// 26 characters of base32 that encode a 128-bit number whose high 48 bits
// are a Unix time in milliseconds and whose low 80 bits tell apart the ids
// of one millisecond.
//
// The digits are Crockford's base32 in lower case, whose characters sort in
// the order of their values, so ids with the same prefix sort by their
// numbers: by time first. They never contain '.', and are safe in URLs,
// headers and file names.
package sortid

import "encoding/binary"

// Alphabet is Crockford's base32 in lower case: the digit of value v is
// Alphabet[v].
const Alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Len is the length of an id after its prefix.
const Len = 26

// Encode returns prefix followed by the [Len] digits of the number whose
// high 48 bits are the low 48 bits of ms, milliseconds since the Unix epoch,
// and whose low 80 bits are low, read as a big-endian number. Its
// digits are most significant first: the first holds 3 bits, each following
// one 5, and the first ten encode the millisecond.
func Encode(prefix string, ms uint64, low [10]byte) string {
	hi := ms<<16 | uint64(binary.BigEndian.Uint16(low[:2]))
	lo := binary.BigEndian.Uint64(low[2:])
	out := make([]byte, len(prefix)+Len)
	copy(out, prefix)
	for i := len(out) - 1; i >= len(prefix); i-- {
		out[i] = Alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}
