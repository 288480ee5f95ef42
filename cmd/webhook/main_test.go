package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
	"github.com/stretchr/testify/require"
)

// binary is the webhook command built once by TestMain; the tests run it
// as a user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "webhook-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "webhook")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary produced.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary with args, stdin and extra environment, and waits
// for it (at most 30 s).
func runCLI(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return result{stdout.String(), stderr.String(), code}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("webhook %v did not finish in 30 s; stdout:\n%s\nstderr:\n%s", args, stdout.String(), stderr.String())
		return result{}
	}
}

// cleanEnv is the test's environment without WEBHOOK_SECRET, so that a
// developer's own setting cannot change what a test sees.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, secretEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

func TestCLIUsageAndExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		env        []string
		wantCode   int
		wantStderr string
		wantStdout string // help, asked for, is output
	}{
		{name: "no command", args: nil, wantCode: exitUsage, wantStderr: "Usage: webhook <command>"},
		{name: "help", args: []string{"--help"}, wantCode: exitOK, wantStdout: "Commands:"},
		{name: "help command", args: []string{"help", "send"}, wantCode: exitOK, wantStdout: "Usage: webhook send"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantStderr: `unknown command "frobnicate"`},
		{name: "listen help", args: []string{"listen", "--help"}, wantCode: exitOK, wantStdout: "Usage: webhook listen"},
		{name: "send help", args: []string{"send", "-h"}, wantCode: exitOK, wantStdout: "--allow-private"},
		{name: "verify help", args: []string{"verify", "--help"}, wantCode: exitOK, wantStdout: "--timestamp"},
		{name: "catalog help", args: []string{"catalog", "--help"}, wantCode: exitOK, wantStdout: "--json"},
		{name: "secret help", args: []string{"secret", "--help"}, wantCode: exitOK, wantStdout: secretEnv},
		{name: "unknown flag", args: []string{"send", "--nope"}, wantCode: exitUsage, wantStderr: "flag provided but not defined"},
		{name: "listen without secret", args: []string{"listen", "--addr", "127.0.0.1:0"}, wantCode: exitUsage, wantStderr: "no secret"},
		{name: "listen bad scheme", args: []string{"listen", "--scheme", "sha1", "--secret", "s3cr3t-value"}, wantCode: exitUsage, wantStderr: "unknown scheme"},
		{name: "listen bad path", args: []string{"listen", "--path", "webhook", "--secret", "s3cr3t-value"}, wantCode: exitUsage, wantStderr: "--path must start with /"},
		{name: "listen standard needs whsec secret", args: []string{"listen", "--scheme", "standard", "--secret", "not-base64!"}, wantCode: exitUsage, wantStderr: "webhook listen:"},
		{name: "send without url", args: []string{"send", "--secret", "s3cr3t-value"}, wantCode: exitUsage, wantStderr: "--url is required"},
		{name: "send file url", args: []string{"send", "--url", "file:///etc/passwd", "--secret", "a-long-enough-secret"}, wantCode: exitUsage, wantStderr: "http or https"},
		{name: "send credentials in url", args: []string{"send", "--url", "https://u:p@example.com/", "--secret", "a-long-enough-secret"}, wantCode: exitUsage, wantStderr: "credentials"},
		{name: "send unknown event", args: []string{"send", "--url", "https://example.com/", "--event", "task.exploded", "--secret", "a-long-enough-secret"}, wantCode: exitUsage, wantStderr: "unknown event type"},
		{name: "send without secret", args: []string{"send", "--url", "https://example.com/"}, wantCode: exitUsage, wantStderr: "no secret"},
		{name: "send missing data file", args: []string{"send", "--url", "https://example.com/", "--secret", "a-long-enough-secret", "--data", "/nonexistent/x.json"}, wantCode: exitUsage, wantStderr: "no such file"},
		{name: "verify without signature", args: []string{"verify", "--secret", "a-long-enough-secret"}, wantCode: exitUsage, wantStderr: "--signature is required"},
		{name: "verify standard without id", args: []string{"verify", "--scheme", "standard", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--signature", "v1,x"}, wantCode: exitUsage, wantStderr: "--id and --timestamp"},
		{name: "verify without secret", args: []string{"verify", "--signature", "ab"}, wantCode: exitUsage, wantStderr: "no secret"},
		{name: "catalog unknown type", args: []string{"catalog", "task.exploded"}, wantCode: exitUsage, wantStderr: "unknown event type"},
		{name: "catalog two types", args: []string{"catalog", "task.created", "task.updated"}, wantCode: exitUsage, wantStderr: "at most one"},
		{name: "secret extra argument", args: []string{"secret", "x"}, wantCode: exitUsage, wantStderr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", tt.env, tt.args...)
			require.Equal(t, tt.wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			require.Contains(t, r.stderr, tt.wantStderr)
			require.Contains(t, r.stdout, tt.wantStdout)
			if tt.wantStdout != "" {
				require.Empty(t, r.stderr, "help is not an error")
			}
		})
	}
}

func TestCLISecret(t *testing.T) {
	t.Parallel()
	a, b := runCLI(t, "", nil, "secret"), runCLI(t, "", nil, "secret")
	require.Equal(t, exitOK, a.code, a.stderr)
	re := regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{43}=\n$`)
	require.Regexp(t, re, a.stdout)
	require.Regexp(t, re, b.stdout)
	require.NotEqual(t, a.stdout, b.stdout, "two secrets must differ")
}

func TestCLICatalog(t *testing.T) {
	t.Parallel()
	t.Run("table", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, "", nil, "catalog")
		require.Equal(t, exitOK, r.code, r.stderr)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, len(onplana.Catalog())+1, "a header and one line per type")
		require.Regexp(t, `^TYPE\s+CATEGORY\s+DESCRIPTION$`, lines[0])
		require.Regexp(t, `^milestone\.completed\s+milestone\s+\S`, lines[14])
	})
	t.Run("json list", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, "", nil, "catalog", "--json")
		require.Equal(t, exitOK, r.code, r.stderr)
		var got []catalogEntry
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
		require.Len(t, got, len(onplana.Catalog()))
		for i, in := range onplana.Catalog() {
			require.Equal(t, catalogEntry{in.Type, in.Category, in.Description}, got[i])
		}
	})
	t.Run("one type", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, "", nil, "catalog", "task.updated")
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Contains(t, r.stdout, "task.updated (task):")
		require.Contains(t, r.stdout, "Schema:\n{")
		require.Contains(t, r.stdout, `"$schema"`)
		require.Contains(t, r.stdout, "Sample:\n{")
		require.Contains(t, r.stdout, `"diff"`)
	})
	t.Run("one type as json", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, "", nil, "catalog", "--json", "project.status_changed")
		require.Equal(t, exitOK, r.code, r.stderr)
		var got struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
			Sample webhook.Event   `json:"sample"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
		require.Equal(t, "project.status_changed", got.Type)
		require.Equal(t, webhook.EventProjectStatusChanged, got.Sample.Type)
		require.True(t, json.Valid(got.Schema))
	})
}

func TestCLIVerify(t *testing.T) {
	t.Parallel()
	body := `{"event":"task.updated","data":{"title":"Ünïcode  spaces"}}` + "\n"
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sig := webhook.Sign(secret, []byte(body))
	newSig := webhook.Sign("the-newest-secret-after-a-rotation", []byte(body))
	now := time.Now()
	stdSig, err := webhook.SignStandard(secret, "msg_1", now, []byte(body))
	require.NoError(t, err)
	nowTS := strconv.FormatInt(now.Unix(), 10)
	oldTS := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	oldSig, err := webhook.SignStandard(secret, "msg_1", now.Add(-time.Hour), []byte(body))
	require.NoError(t, err)

	tests := []struct {
		name     string
		stdin    string
		env      []string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "onplana ok", stdin: body, args: []string{"--secret", secret, "--signature", sig}, wantCode: exitOK, wantOut: "ok: signature valid"},
		{name: "secret from environment", stdin: body, env: []string{secretEnv + "=" + secret}, args: []string{"--signature", sig}, wantCode: exitOK, wantOut: "ok"},
		{name: "flag wins over environment", stdin: body, env: []string{secretEnv + "=wrong-secret"}, args: []string{"--secret", secret, "--signature", sig}, wantCode: exitOK, wantOut: "ok"},
		{name: "sha256= prefix", stdin: body, args: []string{"--secret", secret, "--signature", "sha256=" + sig}, wantCode: exitOK, wantOut: "ok"},
		{name: "rotation: old and new secret", stdin: body, args: []string{"--secret", "new-secret-value", "--secret", secret, "--signature", sig}, wantCode: exitOK, wantOut: "ok"},
		{name: "rotation: old secret in the previous header", stdin: body, args: []string{"--secret", secret, "--signature", newSig, "--previous", sig}, wantCode: exitOK, wantOut: "ok"},
		{name: "rotation: old secret without the previous header", stdin: body, args: []string{"--secret", secret, "--signature", newSig}, wantCode: exitFail, wantOut: "invalid: signature does not match"},
		{name: "rotation: --previous with the standard scheme", stdin: body, args: []string{"--scheme", "standard", "--secret", secret, "--id", "msg_1", "--timestamp", nowTS, "--signature", stdSig, "--previous", sig}, wantCode: exitUsage},
		{name: "wrong secret", stdin: body, args: []string{"--secret", "other-secret-of-length", "--signature", sig}, wantCode: exitFail, wantOut: "invalid: signature does not match"},
		{name: "body changed", stdin: strings.Replace(body, "  ", " ", 1), args: []string{"--secret", secret, "--signature", sig}, wantCode: exitFail, wantOut: "invalid: signature does not match"},
		{name: "not hex", stdin: body, args: []string{"--secret", secret, "--signature", "zz"}, wantCode: exitFail, wantOut: "invalid:"},
		{name: "body over max", stdin: body, args: []string{"--secret", secret, "--signature", sig, "--max-body", "10"}, wantCode: exitFail, wantOut: "body over 10 bytes"},
		{name: "standard ok", stdin: body, args: []string{"--scheme", "standard", "--secret", secret, "--id", "msg_1", "--timestamp", nowTS, "--signature", stdSig}, wantCode: exitOK, wantOut: "scheme standard"},
		{name: "standard id swapped", stdin: body, args: []string{"--scheme", "standard", "--secret", secret, "--id", "msg_2", "--timestamp", nowTS, "--signature", stdSig}, wantCode: exitFail, wantOut: "invalid: signature does not match"},
		{name: "standard replay", stdin: body, args: []string{"--scheme", "standard", "--secret", secret, "--id", "msg_1", "--timestamp", oldTS, "--signature", oldSig}, wantCode: exitFail, wantOut: "invalid: timestamp"},
		{name: "standard replay inside a wider tolerance", stdin: body, args: []string{"--scheme", "standard", "--tolerance", "2h", "--secret", secret, "--id", "msg_1", "--timestamp", oldTS, "--signature", oldSig}, wantCode: exitOK, wantOut: "ok"},
		{
			// The Standard Webhooks specification's published vector, from
			// 2021: checked with a tolerance wide enough to reach it.
			name:  "standard webhooks spec vector",
			stdin: `{"test": 2432232314}`,
			args: []string{"--scheme", "standard", "--tolerance", strconv.Itoa(int(time.Since(time.Unix(1614265330, 0)).Hours())+48) + "h",
				"--secret", secret, "--id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "--timestamp", "1614265330",
				"--signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
			wantCode: exitOK, wantOut: "ok",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, tt.stdin, tt.env, append([]string{"verify"}, tt.args...)...)
			require.Equal(t, tt.wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			require.Contains(t, r.stdout, tt.wantOut)
			require.NotContains(t, r.stdout+r.stderr, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "the secret must never be printed")
		})
	}
}

// captured is one request an httptest endpoint received.
type captured struct {
	header http.Header
	body   []byte
}

// endpoint starts an httptest server answering status and returns it with
// the channel its requests arrive on.
func endpoint(t *testing.T, status int, answer string) (*httptest.Server, <-chan captured) {
	t.Helper()
	got := make(chan captured, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- captured{r.Header.Clone(), body}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func ev0(t *testing.T, body []byte) *webhook.Event {
	t.Helper()
	ev, err := webhook.ParseEvent(body)
	require.NoError(t, err)
	return ev
}

func receive(t *testing.T, ch <-chan captured) captured {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the endpoint received nothing")
		return captured{}
	}
}

func TestCLISend(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-for-send-command"

	t.Run("sample envelope, signed, fresh ids", func(t *testing.T) {
		t.Parallel()
		srv, got := endpoint(t, http.StatusOK, "thanks")
		r := runCLI(t, "", []string{secretEnv + "=" + secret}, "send", "--url", srv.URL+"/hook", "--allow-private", "--event", "task.updated")
		require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		require.Regexp(t, `✓ 200 OK in \S+`, r.stdout)
		require.Contains(t, r.stdout, "response: thanks")
		require.Contains(t, r.stdout, "POST "+srv.URL+"/hook ", "the URL is shown as typed: it is the user's own")

		c := receive(t, got)
		require.NoError(t, webhook.Verify(c.body, c.header.Get(webhook.DefaultSignatureHeader), secret))
		require.Equal(t, "task.updated", c.header.Get(webhook.DefaultEventHeader))
		require.Equal(t, ev0(t, c.body).DeliveryID, c.header.Get(webhook.DefaultDeliveryHeader))
		require.Contains(t, c.header.Get("User-Agent"), "webhook-cli")
		require.Equal(t, "application/json", c.header.Get("Content-Type"))
		ev, err := webhook.ParseEvent(c.body)
		require.NoError(t, err)
		sample, _ := onplana.LookupEvent(webhook.EventTaskUpdated)
		var want webhook.Event
		require.NoError(t, json.Unmarshal(sample.Sample, &want))
		require.Equal(t, webhook.EventTaskUpdated, ev.Type)
		require.JSONEq(t, string(want.Data), string(ev.Data), "the data is the catalog sample's")
		require.Equal(t, want.OrganizationID, ev.OrganizationID)
		require.NotEqual(t, want.DeliveryID, ev.DeliveryID, "the delivery id is fresh")
		require.NotEqual(t, want.ID, ev.ID, "the event id is fresh")
		require.Regexp(t, `^dlv_[a-z0-9]{26}$`, ev.DeliveryID)
		require.WithinDuration(t, time.Now(), ev.Timestamp, time.Minute)
		require.Contains(t, r.stdout, ev.DeliveryID)
	})

	t.Run("data file, org and project overrides, delivery id", func(t *testing.T) {
		t.Parallel()
		srv, got := endpoint(t, http.StatusAccepted, "")
		data := filepath.Join(t.TempDir(), "data.json")
		require.NoError(t, os.WriteFile(data, []byte(`{"task": {"id": "task_1", "title": "Mine"}}`), 0o600))
		r := runCLI(t, "", nil, "send", "--url", srv.URL, "--allow-private", "--secret", secret, "--event", "task.created",
			"--data", data, "--org", "org_mine", "--project", "proj_mine", "--delivery-id", "dlv_fixed")
		require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		c := receive(t, got)
		var env map[string]any
		require.NoError(t, json.Unmarshal(c.body, &env))
		require.Equal(t, "org_mine", env["organization_id"])
		require.Equal(t, "proj_mine", env["project_id"])
		require.Equal(t, "dlv_fixed", env["delivery_id"])
		require.Equal(t, "task.created", env["event"])
		require.Equal(t, map[string]any{"task": map[string]any{"id": "task_1", "title": "Mine"}}, env["data"])
	})

	t.Run("whole envelope from standard input", func(t *testing.T) {
		t.Parallel()
		srv, got := endpoint(t, http.StatusOK, "")
		in := `{"event":"comment.created","organization_id":"org_in","project_id":"proj_in","delivery_id":"dlv_old","data":{"comment":{"id":"c1"}}}`
		r := runCLI(t, in, nil, "send", "--url", srv.URL, "--allow-private", "--secret", secret, "--event", "comment.created", "--data", "-")
		require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		ev, err := webhook.ParseEvent(receive(t, got).body)
		require.NoError(t, err)
		require.Equal(t, "org_in", ev.OrganizationID)
		require.Equal(t, "proj_in", ev.ProjectID)
		require.NotEqual(t, "dlv_old", ev.DeliveryID, "ids are fresh unless --delivery-id is given")
		require.JSONEq(t, `{"comment":{"id":"c1"}}`, string(ev.Data))
	})

	t.Run("standard scheme headers", func(t *testing.T) {
		t.Parallel()
		srv, got := endpoint(t, http.StatusOK, "")
		key := string(webhook.NewSecret())
		r := runCLI(t, "", []string{secretEnv + "=" + key}, "send", "--url", srv.URL, "--allow-private", "--scheme", "standard", "--event", "webhook.ping")
		require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		c := receive(t, got)
		require.NoError(t, webhook.VerifyStandard(c.body, c.header.Get(webhook.StandardIDHeader), c.header.Get(webhook.StandardTimestampHeader),
			c.header.Get(webhook.StandardSignatureHeader), webhook.Secret(key)))
		ev, err := webhook.ParseEvent(c.body)
		require.NoError(t, err)
		require.Equal(t, ev.DeliveryID, c.header.Get(webhook.StandardIDHeader))
	})

	t.Run("non-2xx exits 1", func(t *testing.T) {
		t.Parallel()
		srv, got := endpoint(t, http.StatusInternalServerError, "boom")
		r := runCLI(t, "", nil, "send", "--url", srv.URL, "--allow-private", "--secret", secret)
		require.Equal(t, exitFail, r.code, r.stdout)
		require.Contains(t, r.stdout, "✗ 500 Internal Server Error")
		require.Contains(t, r.stdout, "response: boom")
		receive(t, got)
	})

	t.Run("redirect is not followed", func(t *testing.T) {
		t.Parallel()
		target, got := endpoint(t, http.StatusOK, "")
		redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
		t.Cleanup(redirect.Close)
		r := runCLI(t, "", nil, "send", "--url", redirect.URL, "--allow-private", "--secret", secret)
		require.Equal(t, exitFail, r.code, r.stdout)
		require.Contains(t, r.stdout, "307")
		select {
		case <-got:
			t.Fatal("the redirect was followed")
		default:
		}
	})

	t.Run("internal address refused without --allow-private", func(t *testing.T) {
		t.Parallel()
		srv, got := endpoint(t, http.StatusOK, "")
		r := runCLI(t, "", nil, "send", "--url", srv.URL+"/secret-path", "--secret", secret)
		require.Equal(t, exitFail, r.code, r.stdout)
		require.Contains(t, r.stdout, "--allow-private")
		require.Contains(t, r.stdout, "POST "+srv.URL+"/secret-path ", "the URL is shown as typed")
		select {
		case <-got:
			t.Fatal("the request reached a loopback address")
		default:
		}
	})

	t.Run("proxy from the environment is ignored", func(t *testing.T) {
		t.Parallel()
		// Go never proxies loopback addresses, so the target is a name
		// that does not resolve (RFC 2606 .invalid): through the proxy the
		// send would succeed; dialled directly it fails at DNS.
		proxy, proxied := endpoint(t, http.StatusOK, "")
		r := runCLI(t, "", []string{"HTTP_PROXY=" + proxy.URL, "http_proxy=" + proxy.URL}, "send", "--url", "http://proxy-check.invalid/hook", "--allow-private", "--secret", secret)
		require.Equal(t, exitFail, r.code, r.stdout)
		select {
		case <-proxied:
			t.Fatal("the request went through HTTP_PROXY")
		default:
		}
	})

	t.Run("timeout exits 1", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(func() { close(release); srv.Close() })
		r := runCLI(t, "", nil, "send", "--url", srv.URL, "--allow-private", "--secret", secret, "--timeout", "200ms")
		require.Equal(t, exitFail, r.code, r.stdout)
		require.Contains(t, r.stdout, "✗ failed after")
	})
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// listenProc is a running "webhook listen".
type listenProc struct {
	cmd   *exec.Cmd
	lines chan string // its standard output, line by line
	url   string
	done  chan error
}

// startListen runs "webhook listen" on a free port of 127.0.0.1 and waits
// for it to say where it listens.
func startListen(t *testing.T, env []string, args ...string) *listenProc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"listen", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(cleanEnv(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr := new(syncBuffer)
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	p := &listenProc{cmd: cmd, lines: make(chan string, 1000), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	first := p.waitFor(t, "Listening on ")
	m := regexp.MustCompile(`Listening on (http://\S+) `).FindStringSubmatch(first)
	require.NotNil(t, m, "listen printed %q; stderr: %s", first, stderr.String())
	p.url = m[1]
	return p
}

// waitFor returns the first line of output containing s, failing after
// 10 s. Lines before it are consumed and returned in the failure message.
func (p *listenProc) waitFor(t *testing.T, s string) string {
	t.Helper()
	var seen []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("listen exited before printing %q; output:\n%s", s, strings.Join(seen, "\n"))
			}
			if strings.Contains(line, s) {
				return line
			}
			seen = append(seen, line)
		case <-timeout:
			t.Fatalf("listen did not print %q in 10 s; output:\n%s", s, strings.Join(seen, "\n"))
		}
	}
}

// stop sends sig and waits for a clean exit.
func (p *listenProc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	p.waitFor(t, "Stopped; deliveries received")
	select {
	case err := <-p.done:
		require.NoError(t, err, "listen must exit 0 on %v", sig)
	case <-time.After(10 * time.Second):
		t.Fatalf("listen did not exit after %v", sig)
	}
}

func TestCLIListenSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scheme string
		secret string
		extra  []string // flags given to both listen and send
	}{
		{name: "onplana", scheme: "onplana", secret: "an-onplana-secret-of-some-length"},
		{name: "standard", scheme: "standard", secret: string(webhook.NewSecret())},
		{name: "onplana with own header names", scheme: "onplana", secret: "an-onplana-secret-of-some-length",
			extra: []string{"--signature-header", "X-Acme-Signature", "--event-header", "X-Acme-Event"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startListen(t, []string{secretEnv + "=" + tt.secret}, append([]string{"--scheme", tt.scheme, "--path", "/hooks/in"}, tt.extra...)...)

			// A valid delivery: 200 on both sides.
			r := runCLI(t, "", []string{secretEnv + "=" + tt.secret}, append([]string{"send", "--url", p.url, "--allow-private",
				"--scheme", tt.scheme, "--event", "milestone.completed", "--delivery-id", "dlv_valid1"}, tt.extra...)...)
			require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			require.Contains(t, r.stdout, "✓ 200 OK")
			require.Contains(t, p.waitFor(t, "event:"), "milestone.completed")
			require.Contains(t, p.waitFor(t, "delivery:"), "dlv_valid1")
			require.Contains(t, p.waitFor(t, "signature:"), "valid (scheme "+tt.scheme+")")
			p.waitFor(t, `"milestone": {`) // the pretty-printed JSON
			p.waitFor(t, "→ 200 OK")

			// The wrong secret: invalid on both sides.
			wrong := "the-wrong-secret-entirely"
			if tt.scheme == "standard" {
				wrong = string(webhook.NewSecret())
			}
			r = runCLI(t, "", nil, append([]string{"send", "--url", p.url, "--allow-private", "--scheme", tt.scheme, "--secret", wrong,
				"--event", "task.created", "--delivery-id", "dlv_forged"}, tt.extra...)...)
			require.Equal(t, exitFail, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			require.Contains(t, r.stdout, "✗ 401 Unauthorized")
			require.Contains(t, p.waitFor(t, "delivery:"), "dlv_forged")
			require.Contains(t, p.waitFor(t, "signature:"), "INVALID: signature does not match")
			p.waitFor(t, "→ 401 Unauthorized")

			p.stop(t, syscall.SIGINT)
		})
	}
}

// TestCLIListenRotation checks listen and send during a secret rotation:
// send signs X-Onplana-Signature with the first --secret, the newest, and
// X-Onplana-Signature-Previous with the others; listen holding only the
// old secret accepts the delivery through the previous header.
func TestCLIListenRotation(t *testing.T) {
	t.Parallel()
	const oldSecret, newSecret = "the-old-secret-before-rotation", "the-new-secret-after-rotation"
	p := startListen(t, nil, "--secret", oldSecret)
	r := runCLI(t, "", nil, "send", "--url", p.url, "--allow-private", "--secret", newSecret, "--secret", oldSecret,
		"--event", "task.created", "--delivery-id", "dlv_rotation1")
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Contains(t, p.waitFor(t, "delivery:"), "dlv_rotation1")
	require.Contains(t, p.waitFor(t, "signature:"), "valid (scheme onplana)")
	p.waitFor(t, "→ 200 OK")

	srv, got := endpoint(t, http.StatusOK, "")
	r = runCLI(t, "", nil, "send", "--url", srv.URL, "--allow-private", "--secret", newSecret, "--secret", oldSecret, "--event", "task.created")
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	c := receive(t, got)
	require.Equal(t, []string{webhook.Sign(newSecret, c.body)}, c.header.Values(webhook.DefaultSignatureHeader))
	require.Equal(t, webhook.Sign(oldSecret, c.body), c.header.Get(webhook.DefaultPreviousSignatureHeader))
	p.stop(t, syscall.SIGINT)
}

func TestCLIListenRejects(t *testing.T) {
	t.Parallel()
	const secret = "listen-rejects-secret"
	p := startListen(t, nil, "--secret", secret, "--max-body", "64")

	resp, err := http.Get(p.url)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	big := bytes.Repeat([]byte("x"), 100)
	resp, err = http.Post(p.url, "application/json", bytes.NewReader(big))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	p.waitFor(t, "→ 413")

	// A body that is not JSON is printed quoted, so an escape sequence in
	// it cannot drive the terminal.
	resp, err = http.Post(p.url, "application/json", strings.NewReader("\x1b[2Jhi"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, p.waitFor(t, "2Jhi"), `"\x1b[2Jhi"`)
	p.waitFor(t, "→ 401")

	p.stop(t, syscall.SIGTERM)
}

// A wrong value is one line saying what is wrong, not the whole usage; a
// wrong event type names the types it was probably meant to be.
func TestCLIValueErrorsAreShort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"send: a typo in a type", []string{"send", "--url", "https://example.com/", "--event", "task.update", "--secret", "a-long-enough-secret"},
			[]string{`unknown event type "task.update"; the task events are task.created, task.updated,`}},
		{"send: an unknown category", []string{"send", "--url", "https://example.com/", "--event", "invoice.paid", "--secret", "a-long-enough-secret"},
			[]string{`unknown event type "invoice.paid"; the categories are project, task, milestone, comment, member, webhook`}},
		{"catalog: a typo", []string{"catalog", "member.role_change"},
			[]string{`the member events are member.invited, member.activated, member.deactivated, member.role_changed`}},
		{"listen: a bad path", []string{"listen", "--path", "webhook", "--secret", "s3cr3t-value"},
			[]string{"--path must start with /", `Run "webhook listen --help" for its flags.`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", nil, tt.args...)
			require.Equal(t, exitUsage, r.code)
			for _, w := range tt.want {
				require.Contains(t, r.stderr, w)
			}
			require.NotContains(t, r.stderr, "Flags:", "not the whole usage")
			require.LessOrEqual(t, strings.Count(r.stderr, "\n"), 2, r.stderr)
			require.Empty(t, r.stdout)
		})
	}

	// A malformed flag still shows the usage, as the flag package does.
	r := runCLI(t, "", nil, "send", "--nope")
	require.Contains(t, r.stderr, "flag provided but not defined: -nope")
	require.Contains(t, r.stderr, "Flags:")
}
