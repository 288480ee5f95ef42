// Package jsonscan checks JSON text in place, without decoding it: the one
// scanner behind the check of an event's data before it is published and
// the receiver's envelope parser.
//
// Its functions take the input and the index where the scan starts, and
// return the index where it ended: after the item on success, at the
// offending byte on error. They never panic and their work is linear in the
// length of the input. Like [encoding/json.Valid] they do not check that
// strings are valid UTF-8.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf8"
)

// MaxDepth is the nesting depth past which encoding/json refuses a value.
// The scanner refuses the same values, so that a body of ten thousand '['
// cannot exhaust memory or time.
const MaxDepth = 10000

// The errors of a scan. Their text is what a parser built on the scanner
// reports, with the offset the scan stopped at.
var (
	ErrEnd          = errors.New("unexpected end of input")
	ErrDepth        = errors.New("nesting too deep")
	ErrValue        = errors.New("invalid value")
	ErrNumber       = errors.New("invalid number")
	ErrUnterminated = errors.New("unterminated string")
	ErrEscape       = errors.New("invalid escape in string")
	ErrUnicode      = errors.New(`invalid \u escape`)
	ErrControl      = errors.New("control character in string")
	ErrName         = errors.New("expected a field name")
	ErrColon        = errors.New("expected ':'")
	ErrObjectEnd    = errors.New("expected ',' or '}'")
	ErrArrayEnd     = errors.New("expected ',' or ']'")
)

// Valid reports whether data is one JSON value with optional whitespace
// around it: exactly what [encoding/json.Valid] reports, in one pass over
// the bytes.
func Valid(data []byte) bool { return ValidIn(data, 0) }

// ValidIn is Valid for a value that is to be nested in depth arrays and
// objects: it also refuses a value whose nesting there would pass
// [MaxDepth].
func ValidIn(data []byte, depth int) bool {
	end, err := Value(data, Space(data, 0), depth)
	return err == nil && Space(data, end) == len(data)
}

// Space returns the index of the first byte of data at or after i that is
// not JSON whitespace, or len(data).
func Space(data []byte, i int) int {
	for i < len(data) && data[i] <= ' ' { // one test for the common no-space case
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Value scans the JSON value that starts at data[i] (not at whitespace) and
// returns the index after it. depth is the number of arrays and objects
// around the value: 0 for a whole document, 1 for a field of a top-level
// object. Value refuses a value nested deeper than [MaxDepth] in all, as
// encoding/json does, with [ErrDepth].
//
// Value does not recurse: it keeps the containers open in the value on a
// stack of one byte per level.
func Value(data []byte, i, depth int) (end int, err error) {
	var buf [64]byte
	stack := buf[:0] // the '{' or '[' of each container open in the value
	for {
		// A value starts at i.
		if i >= len(data) {
			return i, ErrEnd
		}
		switch c := data[i]; {
		case c == '{' || c == '[':
			if depth+len(stack) >= MaxDepth {
				return i, ErrDepth
			}
			i = Space(data, i+1)
			if i < len(data) && data[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				i++
				break // an empty container: a complete value
			}
			stack = append(stack, c)
			if c == '{' {
				if i, err = name(data, i); err != nil {
					return i, err
				}
			}
			continue // its first element
		case c == '"':
			i, _, err = String(data, i)
		case c == '-' || isDigit(c):
			i, err = number(data, i)
		case c == 't':
			i, err = literal(data, i, "true")
		case c == 'f':
			i, err = literal(data, i, "false")
		case c == 'n':
			i, err = literal(data, i, "null")
		default:
			return i, ErrValue
		}
		if err != nil {
			return i, err
		}
		// A value ends at i: close the containers it ends, up to one that
		// continues with another element.
		for {
			if len(stack) == 0 {
				return i, nil
			}
			open := stack[len(stack)-1]
			i = Space(data, i)
			if i < len(data) && data[i] == ',' {
				i = Space(data, i+1)
				if open == '{' {
					if i, err = name(data, i); err != nil {
						return i, err
					}
				}
				break
			}
			if i == len(data) || data[i] != open+2 {
				if open == '{' {
					return i, ErrObjectEnd
				}
				return i, ErrArrayEnd
			}
			stack = stack[:len(stack)-1]
			i++
		}
	}
}

// name scans an object member's name and colon starting at data[i] and
// returns the index of the member's value, after whitespace.
func name(data []byte, i int) (int, error) {
	if i == len(data) || data[i] != '"' {
		return i, ErrName
	}
	i, _, err := String(data, i)
	if err != nil {
		return i, err
	}
	i = Space(data, i)
	if i == len(data) || data[i] != ':' {
		return i, ErrColon
	}
	return Space(data, i+1), nil
}

// String scans the JSON string whose opening quote is data[i] and returns
// the index after its closing quote. plain reports that the string holds no
// escape sequence, so that its bytes between the quotes are its value (if
// they are valid UTF-8).
func String(data []byte, i int) (end int, plain bool, err error) {
	end, flags, err := StringFlags(data, i)
	return end, flags&Plain != 0, err
}

// Flags of a string scanned by StringFlags.
const (
	// Plain: the string holds no escape sequence.
	Plain = 1 << iota
	// ASCII: every byte between the quotes is below 0x80, so they are
	// valid UTF-8.
	ASCII
)

// StringFlags is String, reporting with [Plain] and [ASCII] what the
// string holds: a plain ASCII string is its own value, with no need to
// check that it is valid UTF-8.
func StringFlags(data []byte, i int) (end int, flags int, err error) {
	const highs = 0x8080808080808080
	var seen uint64 // every byte of the string, or-ed: its high bits tell non-ASCII
	flags = Plain
	long := longWords // clean words before trying plainRun
	for i++; ; {
		// Skip eight plain bytes at a time while no byte of the word needs
		// attention; the lowest flagged byte of the first word that does is
		// the one (see attention), so jump to it. Fewer than eight bytes
		// from the end, go byte by byte.
		for {
			if long == 0 {
				// A long run of plain bytes so far: most likely a long
				// plain string, which plainRun checks faster.
				long = -1
				if n, s, ok := plainRun(data[i:]); ok {
					seen |= s
					i += n
					break
				}
			}
			long--
			if len(data)-i < 8 {
				for i < len(data) && plainByte[data[i]] {
					seen |= uint64(data[i])
					i++
				}
				if i == len(data) {
					return i, 0, ErrUnterminated
				}
				break
			}
			w := binary.LittleEndian.Uint64(data[i:])
			if m := attention(w); m != 0 {
				n := bits.TrailingZeros64(m) / 8
				seen |= w & (1<<(8*n) - 1)
				i += n
				break
			}
			seen |= w
			i += 8
		}
		switch c := data[i]; {
		case c == '"':
			if seen&highs == 0 {
				flags |= ASCII
			}
			return i + 1, flags, nil
		case c == '\\':
			flags &^= Plain
			if i+1 == len(data) {
				return i, 0, ErrUnterminated
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(data)-i < 6 || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
					return i, 0, ErrUnicode
				}
				i += 6
			default:
				return i, 0, ErrEscape
			}
		default: // a control character
			return i, 0, ErrControl
		}
	}
}

// Verbatim reports whether raw, the bytes between the quotes of a string
// that StringFlags scanned with flags, are its value: no escape, and valid
// UTF-8, which ASCII bytes are without checking.
func Verbatim(flags int, raw []byte) bool {
	return flags&Plain != 0 && (flags&ASCII != 0 || utf8.Valid(raw))
}

// longWords is how many words of plain bytes StringFlags scans before it
// tries plainRun on the rest of the string: a short string, such as an id,
// is done before then.
const longWords = 4

// plainRun checks whether data, the rest of a string being scanned, holds
// a closing quote with only plain bytes before it (see plainByte). If so
// it returns the index of that quote and the or of the bytes before it,
// whose high bits tell non-ASCII. Otherwise it reports false, and the
// caller scans the bytes one word at a time, finding what needs
// attention.
//
// Rather than test each word for three kinds of byte, it finds the quote
// and then any backslash before it with bytes.IndexByte, which the
// runtime vectorizes, and is left with a test for control characters.
func plainRun(data []byte) (n int, seen uint64, ok bool) {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	n = bytes.IndexByte(data, '"')
	if n < 0 {
		return 0, 0, false
	}
	span := data[:n]
	if bytes.IndexByte(span, '\\') >= 0 {
		return 0, 0, false
	}
	var less uint64 // high bit set in a byte if some byte was below 0x20
	for len(span) >= 16 {
		w := binary.LittleEndian.Uint64(span)
		v := binary.LittleEndian.Uint64(span[8:])
		less |= (w-0x20*ones)&^w | (v-0x20*ones)&^v
		seen |= w | v
		span = span[16:]
	}
	for len(span) >= 8 {
		w := binary.LittleEndian.Uint64(span)
		less |= (w - 0x20*ones) &^ w
		seen |= w
		span = span[8:]
	}
	for _, c := range span {
		if c < 0x20 {
			return 0, 0, false
		}
		seen |= uint64(c)
	}
	if less&highs != 0 {
		return 0, 0, false
	}
	return n, seen, true
}

// plainByte marks the bytes that stand for themselves inside a JSON
// string: all but control characters, the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// wordNeedsAttention reports whether any of the eight bytes of w is a
// quote, a backslash or a control character (below 0x20): whether any is
// not a plainByte.
func wordNeedsAttention(w uint64) bool { return attention(w) != 0 }

// attention returns the high bit of each byte of w (little-endian) that
// is a quote, a backslash or a control character, using the classic bit
// tricks (hasless, haszero). A byte after a flagged one may be flagged
// wrongly (a borrow runs on), but the lowest flagged byte is always one:
// the result is exact as a yes/no answer and as to which byte comes first.
func attention(w uint64) uint64 {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	less := (w - 0x20*ones) &^ w
	quote := w ^ '"'*ones
	quote = (quote - ones) &^ quote
	bslash := w ^ '\\'*ones
	bslash = (bslash - ones) &^ bslash
	return (less | quote | bslash) & highs
}

// literal checks that lit (true, false or null) starts at data[i] and
// returns the index after it.
func literal(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return i, ErrValue
	}
	return i + len(lit), nil
}

// number scans the number starting at data[i] and returns the index after
// it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func number(data []byte, i int) (int, error) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i == len(data):
		return i, ErrNumber
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		i = digits(data, i)
	default:
		return i, ErrNumber
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return j, ErrNumber
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return j, ErrNumber
		}
		i = j
	}
	return i, nil
}

// digits returns the index of the first byte at or after i that is not a
// decimal digit.
func digits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
