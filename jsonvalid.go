package webhook

// maxJSONNesting is the nesting depth past which encoding/json refuses a
// value; validJSON refuses the same values.
const maxJSONNesting = 10000

// validJSON reports whether data is one JSON value with optional whitespace
// around it: exactly what json.Valid reports (the fuzz test checks it), in
// one pass over the bytes instead of a call through a function pointer per
// byte. Publish checks the data of every event with it. Like json.Valid it
// does not check that strings are valid UTF-8.
func validJSON(data []byte) bool {
	var buf [32]byte
	stack := buf[:0] // the '{' or '[' of each open container
	i := 0
	for {
		// A value starts at i, after whitespace.
		i = skipJSONSpace(data, i)
		if i == len(data) {
			return false
		}
		switch c := data[i]; {
		case c == '{' || c == '[':
			if len(stack) == maxJSONNesting {
				return false
			}
			i = skipJSONSpace(data, i+1)
			if i < len(data) && data[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				i++
				break // an empty container: a complete value
			}
			stack = append(stack, c)
			if c == '{' {
				if i = jsonKey(data, i); i < 0 {
					return false
				}
			}
			continue // its first element
		case c == '"':
			i = jsonString(data, i)
		case c == 't':
			i = jsonLiteral(data, i, "true")
		case c == 'f':
			i = jsonLiteral(data, i, "false")
		case c == 'n':
			i = jsonLiteral(data, i, "null")
		case c == '-' || '0' <= c && c <= '9':
			i = jsonNumber(data, i)
		default:
			return false
		}
		if i < 0 {
			return false
		}
		// A value ends at i: close the containers it ends, up to one that
		// continues with another element.
		for {
			i = skipJSONSpace(data, i)
			if len(stack) == 0 {
				return i == len(data)
			}
			if i == len(data) {
				return false
			}
			open := stack[len(stack)-1]
			if data[i] == ',' {
				i++
				if open == '{' {
					if i = jsonKey(data, skipJSONSpace(data, i)); i < 0 {
						return false
					}
				}
				break
			}
			if data[i] != open+2 {
				return false
			}
			stack = stack[:len(stack)-1]
			i++
		}
	}
}

// skipJSONSpace returns the index of the first byte at or after i that is
// not JSON whitespace.
func skipJSONSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// jsonKey checks an object key and its colon starting at i and returns the
// index after the colon, or -1.
func jsonKey(data []byte, i int) int {
	if i == len(data) || data[i] != '"' {
		return -1
	}
	if i = jsonString(data, i); i < 0 {
		return -1
	}
	i = skipJSONSpace(data, i)
	if i == len(data) || data[i] != ':' {
		return -1
	}
	return i + 1
}

// jsonString checks the string starting with the quote at i and returns the
// index after its closing quote, or -1.
func jsonString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		for i < len(data) && jsonPlain[data[i]] {
			i++ // most bytes of a string: skipped in a tight loop
		}
		if i == len(data) {
			return -1
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i == len(data) {
				return -1
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(data)-i <= 4 {
					return -1
				}
				for _, h := range data[i+1 : i+5] {
					if !isHexDigit(h) {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// jsonPlain marks the bytes that stand for themselves inside a JSON
// string: all but control characters, the quote and the backslash.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// jsonLiteral checks that lit (true, false or null) starts at i and
// returns the index after it, or -1.
func jsonLiteral(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// jsonNumber checks the number starting at i and returns the index after
// it, or -1: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(data []byte, i int) int {
	if data[i] == '-' {
		i++
	}
	switch {
	case i == len(data):
		return -1
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		i = jsonDigits(data, i)
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		j := jsonDigits(data, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := jsonDigits(data, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// jsonDigits returns the index of the first byte at or after i that is not
// a decimal digit.
func jsonDigits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}
