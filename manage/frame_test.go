package manage

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPortalRefusesFraming: portal pages, error pages included, may be
// framed by their own origin only, through CSP frame-ancestors and, for
// browsers that predate it, X-Frame-Options.
func TestPortalRefusesFraming(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser("alice")
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/orgs/" + orgA + "/webhooks", http.StatusOK},
		{"/orgs/" + orgA + "/webhooks/sub_missing", http.StatusNotFound},
	} {
		resp, _ := b.get(tt.path)
		require.Equal(t, tt.status, resp.StatusCode, tt.path)
		require.Equal(t, "SAMEORIGIN", resp.Header.Get("X-Frame-Options"), tt.path)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'self'", tt.path)
	}
}
