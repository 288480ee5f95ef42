// Package e2e drives the manage portal in a real browser: headless Chromium
// through playwright-core, with the real Handler, Dispatcher and a local
// receiver. Every page it reaches must fit a 390 px wide screen without
// scrolling sideways, pass axe-core with no serious or critical violation,
// and load nothing from another origin; screenshots of each go to
// artifacts/. It runs when WEBHOOK_TEST_BROWSER is set (bash .ci/browser.sh
// installs what it needs and sets it).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/manage"
)

const org = "org_acme"

// session is the host's sign-in cookie in this test: present, the visitor
// is an admin of org; absent, they are not signed in.
const session = "e2e_session"

// receiver is the customer's endpoint: it records what it gets and fails
// on demand (POST /control/fail, /control/ok).
type receiver struct {
	fail atomic.Bool
	mu   sync.Mutex
	got  []received
}

type received struct {
	body      []byte
	signature string
	event     string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/control/fail":
		rc.fail.Store(true)
		return
	case "/control/ok":
		rc.fail.Store(false)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rc.mu.Lock()
	rc.got = append(rc.got, received{body, r.Header.Get(webhook.DefaultSignatureHeader), r.Header.Get(webhook.DefaultEventHeader)})
	rc.mu.Unlock()
	if rc.fail.Load() {
		http.Error(w, "receiver is failing on purpose", http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// browserTools returns node and chromium, skipping the test when the
// browser test was not asked for, and failing it when it was but a tool is
// missing (a CI that asked must not pass by skipping).
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	if os.Getenv("WEBHOOK_TEST_BROWSER") == "" {
		t.Skip("browser test not requested: run `bash .ci/browser.sh` (installs chromium and playwright-core, sets WEBHOOK_TEST_BROWSER=1)")
	}
	node, err := exec.LookPath("node")
	require.NoError(t, err, "WEBHOOK_TEST_BROWSER is set but node is missing: run .ci/browser.sh")
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium, err = exec.LookPath("chromium")
		require.NoError(t, err, "WEBHOOK_TEST_BROWSER is set but chromium is missing: run .ci/browser.sh")
	}
	_, err = os.Stat(filepath.Join("node_modules", "playwright-core", "package.json"))
	require.NoError(t, err, "WEBHOOK_TEST_BROWSER is set but playwright-core is not installed in manage/e2e: run .ci/browser.sh")
	return node, chromium
}

// audit is what portal.mjs found on one page.
type audit struct {
	Page        string   `json:"page"`
	URL         string   `json:"url"`
	ScrollWidth int      `json:"scrollWidth"`
	ClientWidth int      `json:"clientWidth"`
	Wide        []string `json:"wide"` // elements past the right edge
	Violations  []struct {
		ID     string   `json:"id"`
		Impact string   `json:"impact"`
		Help   string   `json:"help"`
		Nodes  []string `json:"nodes"`
	} `json:"violations"`
}

func TestPortalInBrowser(t *testing.T) {
	node, chromium := browserTools(t)

	rc := &receiver{}
	rsrv := httptest.NewServer(rc)
	defer rsrv.Close()

	store := webhook.NewMemoryStore()
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		AttemptTimeout:  5 * time.Second,
		Logger:          slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, d.Close(ctx))
	}()

	// The host's authentication: a visitor with the session cookie is an
	// admin of acme and nothing else.
	auth := manage.AuthorizerFunc(func(r *http.Request, organizationID string, _ manage.Permission) error {
		if c, err := r.Cookie(session); err != nil || c.Value != "admin" {
			return manage.ErrUnauthenticated
		}
		if organizationID != org {
			return manage.ErrForbidden
		}
		return nil
	})
	h, err := manage.New(manage.Config{
		Dispatcher: d, Store: store, Authorizer: auth,
		SignInURL:       "/signin",
		InsecureCookies: true, // plain http on loopback
		Logger:          slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	psrv := httptest.NewServer(h)
	defer psrv.Close()

	// The folder holds this run's screenshots only, for CI to list.
	artifacts, err := filepath.Abs("artifacts")
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(artifacts))
	require.NoError(t, os.MkdirAll(artifacts, 0o755))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "portal.mjs")
	cmd.Env = append(os.Environ(),
		"PORTAL_URL="+psrv.URL+"/orgs/"+org+"/webhooks",
		"RECEIVER_URL="+rsrv.URL,
		"RECEIVER_CONTROL_URL="+rsrv.URL+"/control",
		"ARTIFACTS="+artifacts,
		"SESSION_COOKIE="+session+"=admin",
		"CHROMIUM="+chromium,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("screenshots in %s", artifacts)
	require.NoError(t, err, "portal.mjs failed:\n%s\n%s", stderr.String(), stdout.String())

	var out struct {
		Secret      string   `json:"secret"`
		DeliveryID  string   `json:"deliveryId"`
		Screenshots []string `json:"screenshots"`
		Audits      []audit  `json:"audits"`
		External    []string `json:"external"`
	}
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &out), "script output: %s", stdout.String())
	for _, s := range out.Screenshots {
		t.Logf("screenshot: %s", s)
		info, err := os.Stat(s)
		require.NoError(t, err)
		require.Positive(t, info.Size())
	}

	// Every page fits a 390 px screen and has no serious or critical
	// accessibility violation; nothing was loaded from another origin.
	require.Len(t, out.Audits, 12, "every page the script visits is audited")
	for _, a := range out.Audits {
		if a.ScrollWidth > a.ClientWidth {
			t.Errorf("%s (%s) scrolls sideways at 390 px: %d px wide; past the edge: %v", a.Page, a.URL, a.ScrollWidth, a.Wide)
		}
		for _, v := range a.Violations {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s (%s): axe-core %s violation %s: %s at %v", a.Page, a.URL, v.Impact, v.ID, v.Help, v.Nodes)
			} else {
				t.Logf("%s: axe-core %s finding %s: %s at %v", a.Page, v.Impact, v.ID, v.Help, v.Nodes)
			}
		}
	}
	require.Empty(t, out.External, "the pages load nothing from another origin")

	// What the browser saw matches what happened: the secret shown signs
	// every delivery the receiver got, and the resent delivery has two
	// attempts, the second refused.
	got := rc.received()
	require.GreaterOrEqual(t, len(got), 4, "creation ping, test ping, resend, the disabled webhook's test ping")
	for _, g := range got {
		require.Equal(t, string(webhook.EventPing), g.event)
		require.NoError(t, webhook.Verify(g.body, g.signature, webhook.Secret(out.Secret)))
	}
	attempts, err := store.ListAttempts(ctx, out.DeliveryID)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(attempts), 2)
	last := attempts[len(attempts)-1]
	require.Equal(t, http.StatusInternalServerError, last.StatusCode)
	require.Equal(t, webhook.ErrorClassStatus, last.ErrorClass)
}
