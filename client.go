package webhook

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// Defaults of ClientConfig.
const (
	// DefaultAttemptTimeout bounds one delivery attempt: connect, TLS
	// handshake, response headers and the part of the body that is read.
	DefaultAttemptTimeout = 10 * time.Second
	// DefaultMaxIdleConnsPerHost is how many idle keep-alive connections
	// are kept per endpoint host.
	DefaultMaxIdleConnsPerHost = 16
	// DefaultSnippetBytes is how much of a response body the delivery log
	// keeps (Attempt.ResponseSnippet).
	DefaultSnippetBytes = 1024
)

// Limits of the client that are not configurable because no endpoint has
// a reason to exceed them.
const (
	maxIdleConns           = 1024 // across all endpoints
	idleConnTimeout        = 90 * time.Second
	maxResponseHeaderBytes = 64 << 10 // headers of a webhook answer are small
)

// ClientConfig configures the outbound HTTP client made by NewClient. The
// zero value is the safe default: TLS verified, the SSRF guard on, no
// proxy, DefaultAttemptTimeout per attempt.
//
// The SSRF guard checks every address the client dials, after name
// resolution, so a host name that resolved to a public address when the
// subscription was created and to an internal one now (DNS rebinding) is
// still refused. Unless AllowPrivateNetworks or AllowedNetworks says
// otherwise it refuses every non-public address: loopback, unspecified,
// "this network" (0/8), RFC 1918, shared/CGNAT (100.64/10), link-local
// (169.254/16, where cloud metadata lives, and fe80::/10), unique-local
// (fc00::/7), multicast, broadcast, benchmarking (198.18/15, 2001:2::/48),
// reserved class E (240/4), documentation networks, IETF protocol
// assignments (192.0.0/24, 2001::/23, which holds Teredo), NAT64
// (64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002::/16), which embed an IPv4
// address, IPv4-compatible and other reserved forms under ::/8,
// discard-only (100::/64), deprecated site-local (fec0::/10), and any IPv6
// address outside global unicast (2000::/3). IPv4-mapped IPv6 addresses
// (::ffff:127.0.0.1) are unmapped and checked as IPv4. A sender on an
// IPv6-only network behind DNS64 lists 64:ff9b::/96 in AllowedNetworks.
type ClientConfig struct {
	// Timeout bounds one request from dialling to the end of reading the
	// response body. Defaults to DefaultAttemptTimeout.
	Timeout time.Duration
	// AllowPrivateNetworks turns the SSRF guard off entirely: for tests and
	// local development only. Defaults to false.
	AllowPrivateNetworks bool
	// AllowedNetworks lists non-public prefixes the guard lets through, such
	// as 127.0.0.1/32 for a local receiver. Defaults to none.
	AllowedNetworks []netip.Prefix
	// DangerousSkipTLSVerify accepts any certificate the endpoint presents,
	// including self-signed and expired ones, which lets anyone on the path
	// read and alter deliveries. For local development against a test
	// certificate only. Defaults to false.
	DangerousSkipTLSVerify bool
	// MaxIdleConnsPerHost caps idle keep-alive connections per host.
	// Defaults to DefaultMaxIdleConnsPerHost.
	MaxIdleConnsPerHost int
	// Resolver looks up endpoint host names; the SSRF guard checks the
	// addresses it returns as they are dialled. Defaults to
	// net.DefaultResolver.
	Resolver *net.Resolver
}

// guard returns the SSRF guard that NewClient builds from c.
func (c *ClientConfig) guard() *netGuard {
	return &netGuard{
		AllowPrivateNetworks: c.AllowPrivateNetworks,
		AllowedNetworks:      append([]netip.Prefix(nil), c.AllowedNetworks...),
	}
}

// validate reports the first invalid field of c.
func (c *ClientConfig) validate() error {
	if c.Timeout < 0 {
		return &ValidationError{Field: "Timeout", Reason: "must not be negative"}
	}
	if c.MaxIdleConnsPerHost < 0 {
		return &ValidationError{Field: "MaxIdleConnsPerHost", Reason: "must not be negative"}
	}
	for _, p := range c.AllowedNetworks {
		if !p.IsValid() {
			return &ValidationError{Field: "AllowedNetworks", Reason: "invalid prefix " + p.String()}
		}
	}
	return nil
}

// NewClient returns an *http.Client for delivering webhooks to untrusted
// endpoints. It differs from http.DefaultClient in every way that matters
// when the URL comes from a customer:
//
//   - every connection is checked by the SSRF guard (see ClientConfig) on the
//     address actually dialled, after DNS resolution, so DNS rebinding
//     cannot bypass it; IP-literal URLs are refused before dialling; a DNS
//     failure is a failed request (fail closed);
//   - redirects are never followed: a 3xx response is returned as is (a
//     307/308 would re-send the signed body to wherever it points);
//   - no proxy, whatever HTTPS_PROXY says (through a proxy the guard would
//     only ever see the proxy's address);
//   - TLS 1.2 or later with certificate verification, unless
//     DangerousSkipTLSVerify;
//   - cfg.Timeout bounds dialling, the TLS handshake, waiting for headers
//     and the whole request including reading the body; response headers
//     are capped at 64 KiB.
//
// Read at most a bounded prefix of response bodies (io.LimitReader) and
// pass errors through RedactError before logging them. The client keeps connections alive
// across endpoints (one tuned http.Transport) and is safe for concurrent
// use. NewClient returns a *ValidationError naming the field when cfg is
// invalid.
func NewClient(cfg ClientConfig) (*http.Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultAttemptTimeout
	}
	idlePerHost := cfg.MaxIdleConnsPerHost
	if idlePerHost == 0 {
		idlePerHost = DefaultMaxIdleConnsPerHost
	}
	guard := cfg.guard()
	dialer := &net.Dialer{
		Timeout:        timeout,
		KeepAlive:      30 * time.Second,
		Resolver:       cfg.Resolver,
		ControlContext: guard.control,
	}
	transport := &http.Transport{
		Proxy:       nil, // never ProxyFromEnvironment: see the doc comment
		DialContext: guardedDial(guard, dialer),
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: cfg.DangerousSkipTLSVerify, //nolint:gosec // opt-in, loudly named
		},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    idlePerHost,
		IdleConnTimeout:        idleConnTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// A response is read for a short snippet at most: asking for gzip
		// would only add a header to every request and a decompressor to
		// every compressed answer.
		DisableCompression: true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

// guardedDial checks an IP-literal destination before dialling, so the
// refusal does not depend on the host being able to open a socket of that
// family, and leaves resolved names to the dialer's ControlContext, which
// checks each address it is about to connect to.
func guardedDial(guard *netGuard, dialer *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			if err := guard.check(ip); err != nil {
				return nil, &net.OpError{Op: "dial", Net: network, Err: err}
			}
		}
		return dialer.DialContext(ctx, network, addr)
	}
}
