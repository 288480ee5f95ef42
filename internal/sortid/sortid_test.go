package sortid

import (
	"cmp"
	"encoding/binary"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// reference encodes the same number as Encode with math/big.
func reference(prefix string, ms uint64, low [10]byte) string {
	n := new(big.Int).SetUint64(ms & (1<<48 - 1))
	n.Lsh(n, 80)
	n.Or(n, new(big.Int).SetBytes(low[:]))
	digits := make([]byte, Len)
	for i := Len - 1; i >= 0; i-- {
		digits[i] = Alphabet[new(big.Int).And(n, big.NewInt(31)).Int64()]
		n.Rsh(n, 5)
	}
	return prefix + string(digits)
}

// compare orders two (ms, low) pairs as 128-bit numbers.
func compare(ms1 uint64, low1 [10]byte, ms2 uint64, low2 [10]byte) int {
	const mask = 1<<48 - 1
	if c := cmp.Compare(ms1&mask, ms2&mask); c != 0 {
		return c
	}
	return strings.Compare(string(low1[:]), string(low2[:]))
}

func lowOf(b []byte) (low [10]byte) {
	copy(low[:], b)
	return low
}

func TestEncode(t *testing.T) {
	t.Parallel()
	var ones [10]byte
	for i := range ones {
		ones[i] = 0xff
	}
	tests := []struct {
		name   string
		prefix string
		ms     uint64
		low    [10]byte
		want   string
	}{
		{name: "zero", prefix: "dlv_", want: "dlv_00000000000000000000000000"},
		{name: "one", prefix: "evt_", low: [10]byte{9: 1}, want: "evt_00000000000000000000000001"},
		{name: "thirty-two", low: [10]byte{9: 32}, want: "00000000000000000000000010"},
		{name: "all ones", ms: 1<<48 - 1, low: ones, want: "7zzzzzzzzzzzzzzzzzzzzzzzzz"},
		{name: "ms above 48 bits is cut", ms: 1 << 48, want: "00000000000000000000000000"},
		{name: "one millisecond", ms: 1, want: "00000000010000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Encode(tt.prefix, tt.ms, tt.low)
			require.Equal(t, tt.want, got)
			require.Equal(t, reference(tt.prefix, tt.ms, tt.low), got)
		})
	}
}

func TestAlphabetSorts(t *testing.T) {
	t.Parallel()
	require.Len(t, Alphabet, 32)
	for i := 1; i < len(Alphabet); i++ {
		require.Less(t, Alphabet[i-1], Alphabet[i])
	}
	require.NotContains(t, Alphabet, ".")
}

// FuzzEncode checks Encode against math/big, and that ids sort as their
// numbers do.
func FuzzEncode(f *testing.F) {
	f.Add("dlv_", uint64(0), []byte{}, uint64(0), []byte{1})
	f.Add("evt_", uint64(1782551723000), []byte("0123456789"), uint64(1782551723000), []byte("0123456788"))
	f.Add("", uint64(1<<48), []byte{0xff, 0xff}, uint64(1<<48-1), []byte{0xff})
	f.Fuzz(func(t *testing.T, prefix string, ms1 uint64, b1 []byte, ms2 uint64, b2 []byte) {
		low1, low2 := lowOf(b1), lowOf(b2)
		id1, id2 := Encode(prefix, ms1, low1), Encode(prefix, ms2, low2)
		require.Equal(t, reference(prefix, ms1, low1), id1)
		require.Len(t, id1, len(prefix)+Len)
		require.True(t, strings.HasPrefix(id1, prefix))
		for _, c := range id1[len(prefix):] {
			require.Contains(t, Alphabet, string(c))
		}
		require.Equal(t, compare(ms1, low1, ms2, low2), strings.Compare(id1, id2), "%s vs %s", id1, id2)
		if ms1&(1<<48-1) == ms2&(1<<48-1) {
			require.Equal(t, id1[:len(prefix)+10], id2[:len(prefix)+10], "the first ten digits are the millisecond")
		}
	})
}

func TestEncodeMillisecondDigits(t *testing.T) {
	t.Parallel()
	var low [10]byte
	binary.BigEndian.PutUint64(low[2:], 12345)
	a := Encode("", 1782551723000, low)
	b := Encode("", 1782551723000, [10]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	require.Equal(t, a[:10], b[:10])
	require.NotEqual(t, a[10:], b[10:])
}
