package webhook

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onplana/webhook/internal/snippet"
	"github.com/stretchr/testify/require"
)

// guardLoopbackOnly is the explicit opt-in that lets a test reach its own
// httptest servers on 127.0.0.1 and nothing else internal.
var guardLoopbackOnly = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// guardTestClient returns a client made by NewClient from cfg.
func guardTestClient(t *testing.T, cfg ClientConfig) *http.Client {
	t.Helper()
	c, err := NewClient(cfg)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// guardCountingServer is an httptest server on 127.0.0.1 that counts requests.
func guardCountingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// guardPost sends a small POST with a bounded context.
func guardPost(t *testing.T, c *http.Client, target string) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(`{"event":"webhook.ping"}`))
	require.NoError(t, err)
	resp, err := c.Do(req)
	if resp != nil {
		t.Cleanup(func() { _ = resp.Body.Close() })
	}
	return resp, err
}

func TestClientReachesAllowedNetwork(t *testing.T) {
	t.Parallel()
	srv, hits := guardCountingServer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly})
	resp, err := guardPost(t, c, srv.URL+"/hook")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 1, hits.Load())
}

func TestClientRefusesInternalAddressesAtDial(t *testing.T) {
	t.Parallel()
	// A live server on loopback: the literals that reach it (127.0.0.1,
	// 0.0.0.0, ::ffff:127.0.0.1, localhost) must still never connect.
	srv, hits := guardCountingServer(t, nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	c := guardTestClient(t, ClientConfig{})
	for _, a := range guardS1Addresses {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			host := a.addr
			if strings.Contains(host, ":") {
				host = "[" + strings.Replace(host, "%", "%25", 1) + "]"
			}
			target := "http://" + host + ":" + strconv.Itoa(port) + "/secret-path"
			resp, err := guardPost(t, c, target)
			require.Nil(t, resp)
			require.ErrorIs(t, err, ErrBlockedAddress)
			var be *BlockedAddressError
			require.ErrorAs(t, err, &be)
			require.Contains(t, be.Reason, a.reason)
		})
	}
	t.Cleanup(func() {
		if n := hits.Load(); n != 0 {
			t.Errorf("a refused address was connected to %d times", n)
		}
	})
}

func TestClientRefusesHostnamesResolvingInternally(t *testing.T) {
	t.Parallel()
	srv, hits := guardCountingServer(t, nil)
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	resolver := guardFakeResolver(t, map[string][]netip.Addr{
		// The subscription was validated with a name; at delivery time it
		// resolves to loopback (S2, S3).
		"rebind.test": {netip.MustParseAddr("127.0.0.1")},
		"both.test":   {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
		"meta.test":   {netip.MustParseAddr("169.254.169.254")},
		"mapped.test": {netip.MustParseAddr("::ffff:127.0.0.1")}, // AAAA hiding IPv4 loopback
	})
	tests := []struct {
		name     string
		resolver *net.Resolver
		url      string
	}{
		{"localhost", nil, "http://localhost:" + port + "/"},
		{"rebinding name", resolver, "http://rebind.test:" + port + "/"},
		{"v4 and v6 loopback", resolver, "http://both.test:" + port + "/"},
		{"metadata name", resolver, "http://meta.test/latest/meta-data/"},
		{"v4-mapped AAAA", resolver, "http://mapped.test:" + port + "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.resolver != nil {
				require.NoError(t, validateEndpointURL(tc.url, true, nil),
					"the name passes validation: the dial-time check is what stops it")
			}
			c := guardTestClient(t, ClientConfig{Resolver: tc.resolver})
			resp, err := guardPost(t, c, tc.url)
			require.Nil(t, resp)
			require.ErrorIs(t, err, ErrBlockedAddress)
		})
	}
	t.Cleanup(func() {
		if n := hits.Load(); n != 0 {
			t.Errorf("a refused address was connected to %d times", n)
		}
	})
}

func TestClientResolvedNameReachesAllowedNetwork(t *testing.T) {
	t.Parallel()
	// Positive control for the test above: the same fake DNS path connects
	// when the address is allowed, so the refusals are the guard's doing.
	srv, hits := guardCountingServer(t, nil)
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	resolver := guardFakeResolver(t, map[string][]netip.Addr{"rebind.test": {netip.MustParseAddr("127.0.0.1")}})
	c := guardTestClient(t, ClientConfig{Resolver: resolver, AllowedNetworks: guardLoopbackOnly})
	resp, err := guardPost(t, c, "http://rebind.test:"+port+"/")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 1, hits.Load())
}

func TestClientDNSFailureFailsClosed(t *testing.T) {
	t.Parallel()
	resolver := guardFakeResolver(t, map[string][]netip.Addr{})
	c := guardTestClient(t, ClientConfig{Resolver: resolver, AllowPrivateNetworks: true})
	resp, err := guardPost(t, c, "http://nx.test/")
	require.Nil(t, resp)
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr)
	require.True(t, dnsErr.IsNotFound)
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	// The redirect target is reachable (allowed network) and counts hits:
	// a client that followed redirects would reach it.
	target, targetHits := guardCountingServer(t, nil)
	for _, code := range []int{
		http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
	} {
		for _, location := range []string{target.URL + "/internal", "http://169.254.169.254/latest/meta-data/"} {
			t.Run(http.StatusText(code)+" to "+location, func(t *testing.T) {
				t.Parallel()
				srv, _ := guardCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, location, code)
				})
				c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly})
				resp, err := guardPost(t, c, srv.URL)
				require.NoError(t, err)
				require.Equal(t, code, resp.StatusCode, "the 3xx is returned as the result")
				require.Equal(t, location, resp.Header.Get("Location"))
			})
		}
	}
	t.Cleanup(func() {
		if n := targetHits.Load(); n != 0 {
			t.Errorf("a redirect was followed %d times", n)
		}
	})
}

// TestClientIgnoresProxyEnvironment cannot run in parallel: it sets
// environment variables.
func TestClientIgnoresProxyEnvironment(t *testing.T) {
	proxy, proxyHits := guardCountingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"} {
		t.Setenv(k, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	target, targetHits := guardCountingServer(t, nil)
	port := strconv.Itoa(target.Listener.Addr().(*net.TCPAddr).Port)
	// A name, not 127.0.0.1: Go's proxy logic never proxies loopback
	// literals or "localhost", which would make this test pass vacuously.
	resolver := guardFakeResolver(t, map[string][]netip.Addr{"target.test": {netip.MustParseAddr("127.0.0.1")}})
	c := guardTestClient(t, ClientConfig{Resolver: resolver, AllowedNetworks: guardLoopbackOnly})
	require.Nil(t, c.Transport.(*http.Transport).Proxy)

	resp, err := guardPost(t, c, "http://target.test:"+port+"/")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 1, targetHits.Load())
	require.Zero(t, proxyHits.Load(), "the request went through the proxy")
}

func TestClientTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)

	t.Run("self-signed refused", func(t *testing.T) {
		t.Parallel()
		c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly})
		_, err := guardPost(t, c, srv.URL)
		var unknown x509.UnknownAuthorityError
		require.ErrorAs(t, err, &unknown)
	})
	t.Run("self-signed accepted with DangerousSkipTLSVerify", func(t *testing.T) {
		t.Parallel()
		c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly, DangerousSkipTLSVerify: true})
		resp, err := guardPost(t, c, srv.URL)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("TLS 1.1 refused", func(t *testing.T) {
		t.Parallel()
		old := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		old.TLS = &tls.Config{MaxVersion: tls.VersionTLS11}
		old.StartTLS()
		t.Cleanup(old.Close)
		c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly, DangerousSkipTLSVerify: true})
		_, err := guardPost(t, c, old.URL)
		require.ErrorContains(t, err, "protocol version")
	})
	t.Run("trusted certificate accepted", func(t *testing.T) {
		t.Parallel()
		c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly})
		// Trust the test server's certificate: verification stays on.
		c.Transport.(*http.Transport).TLSClientConfig.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		resp, err := guardPost(t, c, srv.URL)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

func TestClientEndlessBodyReadsOnlyTheWindow(t *testing.T) {
	t.Parallel()
	handlerDone := make(chan struct{})
	var written atomic.Int64
	srv, _ := guardCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		chunk := []byte(strings.Repeat("x", 32<<10))
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly})
	resp, err := guardPost(t, c, srv.URL)
	require.NoError(t, err)
	got, err := snippet.Read(resp.Body, DefaultSnippetBytes)
	require.NoError(t, err)
	require.Len(t, got, DefaultSnippetBytes)
	require.NoError(t, resp.Body.Close())
	select {
	case <-handlerDone: // closing the body dropped the connection
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was not closed after reading the window")
	}
}

func TestClientAttemptTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	// Each handler returns when stop is closed, which happens before the
	// server's Close waits for it.
	tests := []struct {
		name    string
		handler func(stop <-chan struct{}) http.HandlerFunc
	}{
		{"never answers", func(stop <-chan struct{}) http.HandlerFunc {
			return func(http.ResponseWriter, *http.Request) { <-stop }
		}},
		{"trickles the body", func(stop <-chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := w.Write([]byte("x")); err != nil {
							return
						}
						w.(http.Flusher).Flush()
					}
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stop := make(chan struct{})
			srv, _ := guardCountingServer(t, tc.handler(stop))
			t.Cleanup(func() { close(stop) }) // runs before srv.Close
			c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly, Timeout: timeout})
			start := time.Now()
			resp, err := guardPost(t, c, srv.URL)
			if err == nil {
				_, err = snippet.Read(resp.Body, DefaultSnippetBytes)
			}
			elapsed := time.Since(start)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			require.True(t, ne.Timeout(), "want a timeout, got %v", err)
			require.GreaterOrEqual(t, elapsed, timeout)
			require.Less(t, elapsed, 5*time.Second)
		})
	}
}

func TestClientTricklingHeadersTimeOut(t *testing.T) {
	t.Parallel()
	// A raw server that answers the status line, then one header byte at a
	// time: net/http cannot be made to do this.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	stop := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\n"))
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("X")); err != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		_ = ln.Close()
		<-served
	})
	c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly, Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = guardPost(t, c, "http://"+ln.Addr().String()+"/")
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "want a timeout, got %v", err)
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestClientCapsResponseHeaders(t *testing.T) {
	t.Parallel()
	srv, _ := guardCountingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Flood", strings.Repeat("a", 100<<10))
	})
	c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly})
	resp, err := guardPost(t, c, srv.URL)
	require.Nil(t, resp)
	require.ErrorContains(t, err, "exceeded")
}

func TestClientKeepsConnectionsAlive(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := guardTestClient(t, ClientConfig{AllowedNetworks: guardLoopbackOnly})
	for range 5 {
		resp, err := guardPost(t, c, srv.URL)
		require.NoError(t, err)
		_, err = snippet.Read(resp.Body, DefaultSnippetBytes)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	}
	require.EqualValues(t, 1, conns.Load(), "small bodies read whole let the connection be reused")
}

func TestNewClientConfig(t *testing.T) {
	t.Parallel()
	c, err := NewClient(ClientConfig{})
	require.NoError(t, err)
	tr := c.Transport.(*http.Transport)
	require.Nil(t, tr.Proxy)
	require.Equal(t, DefaultAttemptTimeout, c.Timeout)
	require.Equal(t, uint16(tls.VersionTLS12), tr.TLSClientConfig.MinVersion)
	require.False(t, tr.TLSClientConfig.InsecureSkipVerify)
	require.Equal(t, DefaultMaxIdleConnsPerHost, tr.MaxIdleConnsPerHost)
	require.ErrorIs(t, c.CheckRedirect(nil, nil), http.ErrUseLastResponse)

	tests := []struct {
		name  string
		cfg   ClientConfig
		field string
	}{
		{"negative timeout", ClientConfig{Timeout: -time.Second}, "Timeout"},
		{"negative idle conns", ClientConfig{MaxIdleConnsPerHost: -1}, "MaxIdleConnsPerHost"},
		{"invalid prefix", ClientConfig{AllowedNetworks: []netip.Prefix{{}}}, "AllowedNetworks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tc.cfg)
			require.Nil(t, c)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Field)
		})
	}
}

// BenchmarkClientPost compares the guarded client with a plain
// http.Transport posting to a local receiver, with keep-alive (the steady
// state) and without (every request dials, so the guard runs every time).
func BenchmarkClientPost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	body := strings.Repeat("x", 1024)
	for _, keepAlive := range []bool{true, false} {
		guarded, err := NewClient(ClientConfig{AllowedNetworks: guardLoopbackOnly})
		require.NoError(b, err)
		guarded.Transport.(*http.Transport).DisableKeepAlives = !keepAlive
		plain := &http.Client{Transport: &http.Transport{DisableKeepAlives: !keepAlive}}
		for _, c := range []struct {
			name   string
			client *http.Client
		}{{"guarded", guarded}, {"plain", plain}} {
			b.Run(fmt.Sprintf("%s/keepalive=%t", c.name, keepAlive), func(b *testing.B) {
				for b.Loop() {
					resp, err := c.client.Post(srv.URL, "application/json", strings.NewReader(body))
					if err != nil {
						b.Fatal(err)
					}
					_, _ = snippet.Read(resp.Body, DefaultSnippetBytes)
					_ = resp.Body.Close()
				}
			})
			c.client.CloseIdleConnections()
		}
	}
}
