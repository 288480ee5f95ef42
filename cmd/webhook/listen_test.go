package main

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// hostileText holds, raw, what a JSON string may legally carry and a
// terminal must not be sent: C1 controls (U+009B is CSI, U+009D OSC, U+0085
// NEL) and the bidi controls that reorder what is displayed.
const hostileText = "\u009b31mred\u009d0;title\u009c \u0085 \u202eevil\u202c \u2066iso\u2069 \u202a\u202b\u202d \u200e\u200f\u061c \u2028\u2029"

// TestCLIListenEscapesTerminalControls sends deliveries whose bodies and
// headers hold terminal controls, signed and not, JSON and not: nothing
// listen prints holds a raw byte of 0x00–0x1F but newline and tab, nor a
// character of U+007F–U+009F or a bidi control, and it is valid UTF-8. The
// controls are shown escaped.
func TestCLIListenEscapesTerminalControls(t *testing.T) {
	t.Parallel()
	const secret = "listen-escapes-secret-long-enough"
	p := startListen(t, nil, "--secret", secret)

	jsonBody := `{"delivery_id":"dlv_` + hostileText + `","event_id":"evt_1","event":"task.` + hostileText +
		`","timestamp":"2026-06-27T09:15:23Z","organization_id":"org_1","data":{"title":"` + hostileText + `"}}`
	tests := []struct {
		name   string
		body   string
		signed bool
		event  string // the event header
		want   int
	}{
		{"signed JSON", jsonBody, true, "task.created", http.StatusOK},
		{"forged JSON", jsonBody, false, "task.created", http.StatusUnauthorized},
		{"signed, not JSON", "\x1b[2J\x07\x00\r\x7f" + hostileText + "\xff\x9b[1m", true, "", http.StatusBadRequest},
		{"forged, not JSON", "\x1b]0;pwned\x07" + hostileText + "\x9b", false, "", http.StatusUnauthorized},
		{"controls in the event header", `{"a":1}`, false, "task.\u202e\u009b31m\u0085", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodPost, p.url, strings.NewReader(tt.body))
		require.NoError(t, err)
		sig := webhook.Sign(secret, []byte(tt.body))
		if !tt.signed {
			sig = webhook.Sign("another secret entirely", []byte(tt.body))
		}
		req.Header.Set(webhook.DefaultSignatureHeader, sig)
		if tt.event != "" {
			req.Header.Set(webhook.DefaultEventHeader, tt.event)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, tt.name)
		resp.Body.Close()
		require.Equal(t, tt.want, resp.StatusCode, tt.name)
	}

	// Everything listen printed, up to its exit.
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	var out []string
	for line := range p.lines {
		out = append(out, line)
	}
	select {
	case err := <-p.done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not exit")
	}
	all := strings.Join(out, "\n")
	require.Contains(t, all, "Stopped; deliveries received: 5.")
	require.True(t, utf8.ValidString(all), "the output is valid UTF-8")
	for i, line := range out {
		for _, r := range line {
			bad := r < 0x20 && r != '\t' || 0x7f <= r && r <= 0x9f ||
				0x202a <= r && r <= 0x202e || 0x2066 <= r && r <= 0x2069 ||
				r == 0x200e || r == 0x200f || r == 0x061c || r == 0x2028 || r == 0x2029
			require.False(t, bad, "line %d holds %U raw: %q", i+1, r, line)
		}
	}
	// The controls are shown, escaped, not dropped.
	for _, esc := range []string{`\u009b31mred`, `\u202eevil`, `\u2066iso`, `\u0085`} {
		require.Contains(t, all, esc)
	}
}

func TestTerminalSafe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain text in any script", "héllo, мир, 世界 ✓ →\n\tok", "héllo, мир, 世界 ✓ →\n\tok"},
		{"ESC and the other C0 controls", "\x1b[2J\r\x00\x07", `\u001b[2J\u000d\u0000\u0007`},
		{"DEL", "a\x7fb", `a\u007fb`},
		{"C1 controls", "\u009b31m\u0085\u0080\u009f", `\u009b31m\u0085\u0080\u009f`},
		{"bidi controls", "\u202eabc\u202c\u2066\u2069\u200f\u061c", `\u202eabc\u202c\u2066\u2069\u200f\u061c`},
		{"line separators", "a\u2028b\u2029", `a\u2028b\u2029`},
		{"bytes that are not UTF-8", "\x9b[1m\xff\xc2", `\x9b[1m\xff\xc2`},
		{"zero-width joiner in an emoji stays", "👩\u200d💻", "👩\u200d💻"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, string(terminalSafe([]byte(tt.in))))
		})
	}
}
