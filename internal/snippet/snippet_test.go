package snippet

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRead(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 5000)
	tests := []struct {
		name  string
		body  string
		n     int
		want  string
		check func(t *testing.T, got string)
	}{
		{name: "short body", body: "ok", n: 10, want: "ok"},
		{name: "empty body", body: "", n: 10, want: ""},
		{name: "exact window", body: "0123456789", n: 10, want: "0123456789"},
		{name: "cut at window", body: "0123456789abc", n: 10, want: "0123456789"},
		{name: "long body", body: long, n: 1024, want: long[:1024]},
		{name: "no window", body: long, n: 0, want: ""},
		{name: "negative window", body: long, n: -1, want: ""},
		{name: "rune cut at the window is dropped", body: "abc€", n: 5, want: "abc"},
		{name: "4-byte rune cut", body: "ab😀", n: 5, want: "ab"},
		{name: "complete rune at the end kept", body: "ab😀c", n: 6, want: "ab😀"},
		{name: "invalid UTF-8 replaced", body: "a\xffb\xc3(", n: 10, want: "a\uFFFDb\uFFFD("},
		{name: "binary", body: "\x00\x01\xfe", n: 10, want: "\x00\x01\uFFFD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Read(strings.NewReader(tc.body), tc.n)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestReadReportsReadErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("partial"), &snippetErrReader{boom})
	got, err := Read(r, 100)
	require.ErrorIs(t, err, boom)
	require.Equal(t, "partial", got)
}

func TestReadReadsAtMostTheWindow(t *testing.T) {
	t.Parallel()
	r := &snippetEndlessReader{}
	got, err := Read(r, 100)
	require.NoError(t, err)
	require.Len(t, got, 100)
	require.EqualValues(t, 100, r.n)
}

type snippetErrReader struct{ err error }

func (r *snippetErrReader) Read([]byte) (int, error) { return 0, r.err }

// snippetEndlessReader is an endless body that counts the bytes read from it.
type snippetEndlessReader struct{ n int }

func (r *snippetEndlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	r.n += len(p)
	return len(p), nil
}
