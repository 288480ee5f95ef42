package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// seeds are inputs on both sides of every rule of the grammar.
var seeds = []string{
	``, ` `, `{}`, ` { } `, `[]`, `[ ]`, `{"a":1}`, `{"a" : 1 , "b":[true,false,null]}`,
	`{"a":1,}`, `{,}`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`, `[1 2]`,
	`"x"`, `"`, `"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"`, `"\x"`, `"\u12"`, `"\u12g4"`, `"a` + "\x01" + `"`,
	"\"\xff\xfe\"", "\"é\"", `true`, `tru`, `truex`, `false`, `null`, `nul`, `nulll`,
	`0`, `-0`, `01`, `-01`, `1.`, `1.5`, `.5`, `-`, `1e`, `1e+`, `1E-7`, `1e+10`, `-12.5e3`, `0.0e0`, `1.e5`,
	`1 2`, `{} {}`, `[]]`, `[[]`, `{"a":{"b":{"c":[[[{}]]]}}}`, "\t\n\r[1]\r\n\t", "\v[1]",
	`{"task":{"id":"task_1","title":"Review","tags":["a","b"],"n":-3.25e-2}}`,
	`"a long string with more than eight bytes between its escapes \n and its quotes"`,
}

func TestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{name: "depth at the limit", in: strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)},
		{name: "depth over the limit", in: strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)},
		{name: "empty containers over the limit", in: strings.Repeat(`{"a":`, MaxDepth) + "[]" + strings.Repeat("}", MaxDepth)},
	}
	for _, s := range seeds {
		tests = append(tests, struct {
			name string
			in   string
		}{name: s, in: s})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, json.Valid([]byte(tt.in)), Valid([]byte(tt.in)), "%q", tt.in)
		})
	}
}

// FuzzValid checks Valid against json.Valid, and String's plain result
// against the presence of a backslash.
func FuzzValid(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		valid := Valid(data)
		require.Equal(t, json.Valid(data), valid, "%q", data)
		if i := Space(data, 0); valid && data[i] == '"' {
			end, plain, err := String(data, i)
			require.NoError(t, err)
			require.Equal(t, !bytes.Contains(data[i:end], []byte(`\`)), plain, "%q", data)
		}
	})
}

func TestValidIn(t *testing.T) {
	t.Parallel()
	limit := []byte(strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1))
	require.True(t, ValidIn(limit, 1))
	require.False(t, ValidIn(limit, 2))
	require.True(t, ValidIn([]byte(` "x" `), MaxDepth))
	require.False(t, ValidIn([]byte(`"x" 1`), 1))
}

func TestValueDepth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		depth int
		err   error
	}{
		{name: "top level at the limit", in: strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), depth: 0},
		{name: "inside one container, at the limit", in: strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1), depth: 1},
		{name: "inside one container, over the limit", in: strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), depth: 1, err: ErrDepth},
		{name: "a scalar at any depth", in: `"x"`, depth: MaxDepth},
		{name: "an empty container at the limit", in: `{}`, depth: MaxDepth, err: ErrDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			end, err := Value([]byte(tt.in), 0, tt.depth)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, len(tt.in), end)
		})
	}
}

// TestValueErrors checks the error of each way a value can be wrong and
// the offset where the scan stops, which a parser reports.
func TestValueErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in  string
		err error
		off int
	}{
		{``, ErrEnd, 0},
		{`[1,`, ErrEnd, 3},
		{`x`, ErrValue, 0},
		{`[tru]`, ErrValue, 1},
		{`-`, ErrNumber, 1},
		{`-x`, ErrNumber, 1},
		{`1.x`, ErrNumber, 2},
		{`1e+`, ErrNumber, 3},
		{`"abc`, ErrUnterminated, 4},
		{`"abc\`, ErrUnterminated, 4},
		{`"a\x"`, ErrEscape, 2},
		{`"a\u12g4"`, ErrUnicode, 2},
		{"\"ab\x01\"", ErrControl, 3},
		{`{1:2}`, ErrName, 1},
		{`{"a",1}`, ErrColon, 4},
		{`{"a":1]`, ErrObjectEnd, 6},
		{`{"a":1`, ErrObjectEnd, 6},
		{`[1}`, ErrArrayEnd, 2},
		{`[1 `, ErrArrayEnd, 3},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			end, err := Value([]byte(tt.in), 0, 0)
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, tt.off, end)
		})
	}
}

func TestValueStopsAfterTheValue(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`{"a":[1,2]} tail`, `[] []`, `"s"x`, `12,`, `null}`} {
		end, err := Value([]byte(in), 0, 0)
		require.NoError(t, err, in)
		require.True(t, json.Valid([]byte(in[:end])), "%q ends at %d", in, end)
		require.False(t, json.Valid([]byte(in)), "%q is not one value", in)
	}
}

func TestStringPlain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		plain bool
	}{
		{`""`, true},
		{`"hello, world: more than eight bytes"`, true},
		{`"é and ☃"`, true},
		{`"a\nb"`, false},
		{`"a long run of plain bytes, then an escape: \u00e9"`, false},
	}
	for _, tt := range tests {
		end, plain, err := String([]byte(tt.in+`,"next"`), 0)
		require.NoError(t, err, tt.in)
		require.Equal(t, len(tt.in), end, tt.in)
		require.Equal(t, tt.plain, plain, tt.in)
	}
}

// TestWordNeedsAttention checks the word-at-a-time test against the
// byte-at-a-time table, on every byte value at every position and on
// random words.
func TestWordNeedsAttention(t *testing.T) {
	t.Parallel()
	slow := func(w uint64) bool {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], w)
		for _, c := range b {
			if !plainByte[c] {
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

func TestValidDoesNotAllocate(t *testing.T) {
	data := []byte(`{"task":{"id":"task_1","tags":["a","b"],"n":-3.25e-2,"ok":true,"x":null}}`)
	allocs := testing.AllocsPerRun(100, func() {
		if !Valid(data) {
			t.Fatal("invalid")
		}
	})
	require.Zero(t, allocs)
}

func BenchmarkValid(b *testing.B) {
	data := []byte(`{"task":{"id":"task_01hzy3","title":"Prepare the quarterly portfolio review","status":"in_progress",` +
		`"priority":"high","assignee_ids":["usr_1","usr_2"],"due_date":"2026-07-01","project_id":"proj_1",` +
		`"created_at":"2026-06-01T10:00:00Z","updated_at":"2026-06-27T09:15:23Z"},` +
		`"diff":{"due_date":{"before":"2026-06-28","after":"2026-07-01"}},"actor":{"id":"usr_3","name":"Ada"}}`)
	b.Run("Valid", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !json.Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
}

// stringFlagsByByte is StringFlags one byte at a time, the reference its
// word-at-a-time scan is checked against.
func stringFlagsByByte(data []byte, i int) (end, flags int, err error) {
	flags = Plain | ASCII
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1, flags, nil
		case c == '\\':
			flags &^= Plain
			if i+1 == len(data) {
				return i, 0, ErrUnterminated
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(data)-i < 6 || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
					return i, 0, ErrUnicode
				}
				i += 5
			default:
				return i, 0, ErrEscape
			}
		case c < 0x20:
			return i, 0, ErrControl
		case c >= 0x80:
			flags &^= ASCII
		}
	}
	return i, 0, ErrUnterminated
}

func TestStringFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		end   int // -1: the whole input
		flags int
		err   error
	}{
		{`""`, -1, Plain | ASCII, nil},
		{`"short"`, -1, Plain | ASCII, nil},
		{`"exactly8"`, -1, Plain | ASCII, nil},
		{`"a string of more than eight bytes, all ASCII"`, -1, Plain | ASCII, nil},
		{`"é"`, -1, Plain, nil},
		{`"ASCII for sixteen bytes, then é"`, -1, Plain, nil},
		{`"é, then ASCII for sixteen bytes"`, -1, Plain, nil},
		{`"a\nb"`, -1, ASCII, nil},
		{`"twelve bytes\u00e9 escaped"`, -1, ASCII, nil},
		{`"é and \t"`, -1, 0, nil},
		{`"ends" after`, 6, Plain | ASCII, nil},
		{`"eight!!!" then more bytes after the quote é`, 10, Plain | ASCII, nil},
		{`"unterminated`, 13, 0, ErrUnterminated},
		{`"unterminated after eight bytes`, 31, 0, ErrUnterminated},
		{`"\`, 1, 0, ErrUnterminated},
		{"\"control \x01 here\"", 9, 0, ErrControl},
		// Long strings, past the words scanned before plainRun.
		{`"` + long + `"`, -1, Plain | ASCII, nil},
		{`"` + long + `" then "another" string`, len(long) + 2, Plain | ASCII, nil},
		{`"` + long + `é"`, -1, Plain, nil},
		{`"` + long[:40] + `é` + long[40:] + `"`, -1, Plain, nil},
		{`"` + long + `\" still the string"`, -1, ASCII, nil},
		{`"` + long + `\n"`, -1, ASCII, nil},
		{`"` + long + `\q"`, len(long) + 1, 0, ErrEscape},
		{`"` + long + "\x1f\"", len(long) + 1, 0, ErrControl},
		{`"` + long[:50] + "\t" + long[50:] + `"`, 51, 0, ErrControl},
		{`"` + long[:37] + "\x00" + `"`, 38, 0, ErrControl},
		{`"` + long, len(long) + 1, 0, ErrUnterminated},
		{`"` + long + `\`, len(long) + 1, 0, ErrUnterminated},
		{`"` + long + "\x7f\x80\xff" + `"`, -1, Plain, nil},
		{`"bad \q"`, 5, 0, ErrEscape},
		{`"bad \u12"`, 5, 0, ErrUnicode},
	}
	for _, tt := range tests {
		end, flags, err := StringFlags([]byte(tt.in), 0)
		want := tt.end
		if want < 0 {
			want = len(tt.in)
		}
		require.Equal(t, want, end, "%q", tt.in)
		require.Equal(t, tt.flags, flags, "%q", tt.in)
		require.Equal(t, tt.err, err, "%q", tt.in)
		rEnd, rFlags, rErr := stringFlagsByByte([]byte(tt.in), 0)
		require.Equal(t, []any{rEnd, rFlags, rErr}, []any{end, flags, err}, "reference, %q", tt.in)
	}
}

// long is a plain ASCII string longer than what StringFlags scans one
// word at a time before trying plainRun.
var long = strings.Repeat("Port the plan cards; keep the URLs. ", 3)

func BenchmarkStringFlags(b *testing.B) {
	for _, n := range []int{16, 64, 800} {
		data := []byte(`"` + strings.Repeat("Port the plan cards; keep the URLs. ", n/36+1)[:n] + `","next":1}`)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if end, _, err := StringFlags(data, 0); err != nil || end != n+2 {
					b.Fatal(end, err)
				}
			}
		})
	}
}

// FuzzStringFlags checks StringFlags against the byte-at-a-time reference,
// from every quote of the input.
func FuzzStringFlags(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`"eight!!!\"quote and \\ backslash é ☃ \u00e9 then plain text to the end"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for i, c := range data {
			if c != '"' {
				continue
			}
			end, flags, err := StringFlags(data, i)
			rEnd, rFlags, rErr := stringFlagsByByte(data, i)
			if end != rEnd || flags != rFlags || err != rErr {
				t.Fatalf("%q from %d: StringFlags = %d, %b, %v; byte by byte %d, %b, %v", data, i, end, flags, err, rEnd, rFlags, rErr)
			}
		}
	})
}

// TestVerbatim: a string is its own bytes without an escape and in valid
// UTF-8, as encoding/json decodes it.
func TestVerbatim(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`""`, `"ascii"`, `"é"`, "\"bad \xff utf-8\"", `"esc\naped"`, `"é\t"`, `"` + long + `"`, "\"" + long + "\xc3\"", "\"\xed\xa0\x80 surrogate\""} {
		end, flags, err := StringFlags([]byte(in), 0)
		require.NoError(t, err, "%q", in)
		var s string
		require.NoError(t, json.Unmarshal([]byte(in), &s), "%q", in)
		require.Equal(t, s == in[1:end-1], Verbatim(flags, []byte(in[1:end-1])), "%q", in)
	}
}
