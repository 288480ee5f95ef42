package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"slack incoming webhook", "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX", "https://hooks.slack.com/[REDACTED]"},
		{"query token", "https://example.com?token=s3cret", "https://example.com/[REDACTED]"},
		{"path and query", "https://example.com/a/b?c=d", "https://example.com/[REDACTED]"},
		{"empty query", "https://example.com/?", "https://example.com/[REDACTED]"},
		{"root path", "https://example.com/", "https://example.com/"},
		{"no path", "https://example.com", "https://example.com/"},
		{"port kept", "http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/[REDACTED]"},
		{"ipv6 host", "https://[2606:4700::1111]:8443/x", "https://[2606:4700::1111]:8443/[REDACTED]"},
		{"userinfo dropped", "https://user:pa55@example.com/", "https://example.com/"},
		{"userinfo and path", "https://user:pa55@example.com/p", "https://example.com/[REDACTED]"},
		{"fragment dropped", "https://example.com/#s3cret", "https://example.com/"},
		{"escaped path", "https://example.com/%2Fs3cret", "https://example.com/[REDACTED]"},
		{"relative", "/services/T0/B0/s3cret", "[REDACTED]"},
		{"opaque", "https:s3cret", "[REDACTED]"},
		{"unparsable", "https://exa mple.com/s3cret", "[REDACTED]"},
		{"control character", "https://example.com/\x00s3cret", "[REDACTED]"},
		{"empty", "", "[REDACTED]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := RedactURL(tc.in)
			require.Equal(t, tc.want, got)
			for _, secret := range []string{"s3cret", "XXXX", "pa55", "T0000"} {
				require.NotContains(t, got, secret)
			}
		})
	}
}

func TestRedactErrorFromClient(t *testing.T) {
	t.Parallel()
	const secret = "B0000/XXXXXXXXXXXXXXXX"
	// A real client error: the SSRF guard refuses the address.
	c := guardTestClient(t, ClientConfig{})
	_, err := guardPost(t, c, "http://10.0.0.1/services/T0000/"+secret+"?token=s3cret")
	require.Error(t, err)
	require.Contains(t, err.Error(), secret, "precondition: *url.Error prints the full URL")

	red := RedactError(err)
	require.NotContains(t, red.Error(), secret)
	require.NotContains(t, red.Error(), "s3cret")
	require.Contains(t, red.Error(), "http://10.0.0.1/[REDACTED]")
	require.Contains(t, red.Error(), "private network", "the reason is kept")
	require.ErrorIs(t, red, ErrBlockedAddress)
	var ue *url.Error
	require.ErrorAs(t, red, &ue)
	require.Same(t, ue, red, "a *url.Error stays a *url.Error")

	wrapped := RedactError(fmt.Errorf("deliver dlv_1: %w", err))
	require.NotContains(t, wrapped.Error(), secret)
	require.True(t, strings.HasPrefix(wrapped.Error(), "deliver dlv_1: Post \"http://10.0.0.1/[REDACTED]\""), wrapped.Error())
	require.ErrorIs(t, wrapped, ErrBlockedAddress)

	// What a dispatcher would log.
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Error("attempt failed", "url", RedactURL("https://hooks.slack.com/services/T0000/"+secret), "err", RedactError(err))
	require.NotContains(t, buf.String(), secret)
	require.Contains(t, buf.String(), "hooks.slack.com")
}

func TestRedactErrorKeepsTimeout(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	srv, _ := guardCountingServer(t, func(http.ResponseWriter, *http.Request) { <-stop })
	t.Cleanup(func() { close(stop) })
	c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly, Timeout: 100 * time.Millisecond})
	_, err := guardPost(t, c, srv.URL+"/s3cret")
	red := RedactError(err)
	require.NotContains(t, red.Error(), "s3cret")
	var ne net.Error
	require.ErrorAs(t, red, &ne)
	require.True(t, ne.Timeout())
	require.ErrorIs(t, red, context.DeadlineExceeded)
}

func TestRedactErrorPassesOtherErrorsThrough(t *testing.T) {
	t.Parallel()
	require.NoError(t, RedactError(nil))
	plain := errors.New("webhook: something")
	require.Same(t, plain, RedactError(plain))
}

// FuzzRedactURL checks that no input makes RedactURL panic or let the
// parts of a URL that carry credentials (userinfo, query, fragment) through.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{
		"https://hooks.slack.com/services/T0/B0/X", "https://u:p@h/?q#f", "http://[::1]:80/x",
		"https://h?x", "//h/p", "https:opaque", "", "https://h/%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := RedactURL(s)
		if got == redactedMark {
			return
		}
		require.True(t, strings.HasSuffix(got, "/") || strings.HasSuffix(got, "/"+redactedMark), got)
		require.NotContains(t, got, "@")
		require.NotContains(t, got, "?")
		require.NotContains(t, got, "#")
		host := strings.TrimSuffix(strings.TrimSuffix(got, redactedMark), "/")
		require.NotContains(t, host[strings.Index(host, "://")+3:], "/", "a path survived: %q", got)
	})
}
