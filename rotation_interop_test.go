package webhook_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhook "github.com/onplana/webhook"
)

// hexSignature is what X-Onplana-Signature holds on every delivery: one
// lowercase hex HMAC-SHA256, nothing else.
var hexSignature = regexp.MustCompile(`^[0-9a-f]{64}$`)

// rotationCase is one check of a captured delivery by a receiver outside
// Go, in the format testdata/python/verify.py reads.
type rotationCase struct {
	Name         string            `json:"name"`
	Secret       string            `json:"secret"`
	Body         string            `json:"body"` // base64 of the raw bytes
	Headers      map[string]string `json:"headers"`
	Want         bool              `json:"want"`                    // the guide's check of X-Onplana-Signature
	WantPrevious *bool             `json:"want_previous,omitempty"` // the same check extended to X-Onplana-Signature-Previous
}

// TestRotationInterop captures real deliveries during and after a secret
// rotation's grace period and checks them with receivers written from the
// Onplana guide, outside Go: Python's hmac.compare_digest and the guide's
// Node.js snippet accept X-Onplana-Signature with the new secret, and this
// package's Receiver accepts them holding only the old secret, until the
// grace period ends. After it, only the new secret verifies.
func TestRotationInterop(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 6, 27, 9, 0, 0, 0, time.UTC)}
	h := newHarness(t, nil, func(c *webhook.Config) { c.Now = clock.Now })
	ep := newEndpoint(t, func(int, http.ResponseWriter, *http.Request) {})
	sub := h.subscribe(t, ep.URL+"/hook", "", "*")
	old := sub.Secrets[0].Secret
	fresh, err := h.d.RotateSecret(context.Background(), sub.ID, time.Hour)
	require.NoError(t, err)
	h.start(t)

	// During the grace period.
	h.publish(t, webhook.EventTaskUpdated)
	require.Equal(t, webhook.StateSucceeded, h.waitEnded(t).State)
	during := ep.requests()[0]
	require.Len(t, during.header.Values(webhook.DefaultSignatureHeader), 1)
	require.Regexp(t, hexSignature, during.header.Get(webhook.DefaultSignatureHeader), "exactly one lowercase hex value")
	require.Equal(t, webhook.Sign(fresh, during.body), during.header.Get(webhook.DefaultSignatureHeader), "made with the newest secret")
	require.Equal(t, webhook.Sign(old, during.body), during.header.Get(webhook.DefaultPreviousSignatureHeader))

	// After it.
	clock.Advance(time.Hour)
	h.publish(t, webhook.EventTaskUpdated)
	require.Equal(t, webhook.StateSucceeded, h.waitEnded(t).State)
	after := ep.requests()[1]
	require.Regexp(t, hexSignature, after.header.Get(webhook.DefaultSignatureHeader))
	require.Empty(t, after.header.Values(webhook.DefaultPreviousSignatureHeader), "no older secret signs after the grace period")

	// This package's Receiver, holding one secret.
	for _, tc := range []struct {
		name   string
		r      received
		secret webhook.Secret
		want   int
	}{
		{"during grace, old secret only", during, old, http.StatusNoContent},
		{"during grace, new secret", during, fresh, http.StatusNoContent},
		{"after grace, old secret only", after, old, http.StatusUnauthorized},
		{"after grace, new secret", after, fresh, http.StatusNoContent},
	} {
		handler, err := webhook.NewHandler(webhook.ReceiverConfig{Secrets: []webhook.Secret{tc.secret}, Logger: slog.New(slog.DiscardHandler)}, webhook.EventHandlerFunc(func(context.Context, *webhook.Event, []byte) error { return nil }))
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(string(tc.r.body)))
		req.Header = tc.r.header.Clone()
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		require.Equal(t, tc.want, rec.Code, tc.name)
	}

	headers := func(r received) map[string]string {
		m := map[string]string{}
		for _, k := range []string{webhook.DefaultSignatureHeader, webhook.DefaultPreviousSignatureHeader} {
			if v := r.header.Get(k); v != "" {
				m[k] = v
			}
		}
		return m
	}
	yes, no := true, false
	cases := []rotationCase{
		{Name: "during grace, new secret", Secret: string(fresh), Want: true, WantPrevious: &yes},
		// The guide's check compares X-Onplana-Signature alone, which
		// holds the new secret's signature: a hand-written receiver that
		// holds only the old secret must also look at the previous header.
		{Name: "during grace, old secret", Secret: string(old), Want: false, WantPrevious: &yes},
		{Name: "after grace, new secret", Secret: string(fresh), Want: true, WantPrevious: &yes},
		{Name: "after grace, old secret", Secret: string(old), Want: false, WantPrevious: &no},
	}
	for i := range cases {
		r := during
		if strings.HasPrefix(cases[i].Name, "after") {
			r = after
		}
		cases[i].Body = base64.StdEncoding.EncodeToString(r.body)
		cases[i].Headers = headers(r)
	}
	dir := t.TempDir()
	write := func(name string, v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o600))
		return path
	}

	t.Run("python", func(t *testing.T) {
		python, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 not found in PATH: skipping the check with hmac.compare_digest (testdata/python/verify.py)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, python, "testdata/python/verify.py", write("python.json", map[string]any{"cases": cases})).CombinedOutput()
		require.NoError(t, err, "python disagrees:\n%s", out)
		require.Contains(t, string(out), "4 cases, 0 disagreements")
	})

	t.Run("node", func(t *testing.T) {
		node, err := exec.LookPath("node")
		if err != nil {
			t.Skip("node not found in PATH: skipping the check with the guide's Node.js snippet (testdata/node/verify.js)")
		}
		// verify.js's vectors go through the guide's snippet unchanged:
		// X-Onplana-Signature with the new secret, during and after the
		// grace period, and the previous header's single entry with the
		// old one during it; the old secret against X-Onplana-Signature
		// is a rejection.
		type vector struct {
			Name      string `json:"name"`
			Secret    string `json:"secret"`
			Body      string `json:"body"`
			Signature string `json:"signature,omitempty"`
			Header    string `json:"header"`
		}
		vectors := []vector{
			{"during grace, new secret", string(fresh), string(during.body), webhook.Sign(fresh, during.body), during.header.Get(webhook.DefaultSignatureHeader)},
			{"during grace, old secret, previous header", string(old), string(during.body), webhook.Sign(old, during.body), during.header.Get(webhook.DefaultPreviousSignatureHeader)},
			{"after grace, new secret", string(fresh), string(after.body), webhook.Sign(fresh, after.body), after.header.Get(webhook.DefaultSignatureHeader)},
		}
		rejections := []vector{
			{Name: "during grace, old secret", Secret: string(old), Body: string(during.body), Header: during.header.Get(webhook.DefaultSignatureHeader)},
			{Name: "after grace, old secret", Secret: string(old), Body: string(after.body), Header: after.header.Get(webhook.DefaultSignatureHeader)},
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		file := write("node.json", map[string]any{"vectors": vectors, "rejections": rejections})
		out, err := exec.CommandContext(ctx, node, "testdata/node/verify.js", "onplana", file).CombinedOutput()
		require.NoError(t, err, "node disagrees:\n%s", out)
		require.Contains(t, string(out), "5/5 vectors agree")
	})
}
