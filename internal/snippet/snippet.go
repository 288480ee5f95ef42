// Package snippet reads the first bytes of an HTTP response body as text,
// for the delivery log and the CLI.
package snippet

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Read reads at most n bytes from r and returns them as a string for a
// delivery log or an error message. It never reads more
// than n bytes, so an endless or huge response body costs at most n; the
// caller then closes the body, which drops the connection instead of
// draining it. Invalid UTF-8 is replaced by U+FFFD and a rune cut at the
// end of the window is dropped, so the snippet is always valid UTF-8 and
// safe to store as text.
//
// The error is the read error, if any, other than io.EOF: what was read
// before it is still returned (a body trickled past the attempt deadline
// yields its first bytes and a timeout error).
func Read(r io.Reader, n int) (string, error) {
	if n <= 0 {
		return "", nil
	}
	buf := make([]byte, n)
	k, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	buf = buf[:k]
	if k == n || err != nil {
		buf = trimPartialRune(buf)
	}
	if err != nil {
		err = fmt.Errorf("webhook: read response: %w", err)
	}
	return strings.ToValidUTF8(string(buf), "\uFFFD"), err
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b, left
// there by cutting the body at the window.
func trimPartialRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if !utf8.RuneStart(c) {
			continue
		}
		if !utf8.FullRune(b[len(b)-i:]) {
			return b[:len(b)-i]
		}
		return b
	}
	return b
}
