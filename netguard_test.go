package webhook

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// guardS1Addresses are the internal address literals of SECURITY.md S1 plus the
// other non-public ranges the guard refuses, each with a word of the reason
// it must report.
var guardS1Addresses = []struct {
	name   string
	addr   string
	reason string
}{
	{"loopback", "127.0.0.1", "loopback"},
	{"loopback range", "127.255.0.9", "loopback"},
	{"unspecified v4", "0.0.0.0", "unspecified"},
	{"this network", "0.1.2.3", "this network"},
	{"rfc1918 10/8", "10.0.0.1", "RFC 1918"},
	{"rfc1918 172.16/12", "172.16.0.1", "RFC 1918"},
	{"rfc1918 172.31", "172.31.255.254", "RFC 1918"},
	{"rfc1918 192.168/16", "192.168.1.1", "RFC 1918"},
	{"cloud metadata", "169.254.169.254", "cloud metadata"},
	{"cgnat", "100.64.0.1", "CGNAT"},
	{"cgnat top", "100.127.255.254", "CGNAT"},
	{"ietf protocol assignments", "192.0.0.170", "IETF"},
	{"test-net-1", "192.0.2.1", "documentation"},
	{"test-net-2", "198.51.100.7", "documentation"},
	{"test-net-3", "203.0.113.9", "documentation"},
	{"benchmarking", "198.18.0.1", "benchmarking"},
	{"benchmarking top", "198.19.255.254", "benchmarking"},
	{"6to4 relay", "192.88.99.1", "6to4"},
	{"multicast v4", "224.0.0.1", "multicast"},
	{"multicast v4 top", "239.255.255.250", "multicast"},
	{"class E", "240.0.0.1", "class E"},
	{"broadcast", "255.255.255.255", "broadcast"},
	{"loopback v6", "::1", "loopback"},
	{"unspecified v6", "::", "unspecified"},
	{"v4-mapped loopback", "::ffff:127.0.0.1", "loopback"},
	{"v4-mapped metadata", "::ffff:169.254.169.254", "cloud metadata"},
	{"v4-mapped private", "::ffff:10.0.0.1", "RFC 1918"},
	{"v4-compatible loopback", "::127.0.0.1", "IPv4-compatible"},
	{"v4-translated", "::ffff:0:a00:1", "reserved"},
	{"link-local v6", "fe80::1", "link-local"},
	{"link-local v6 with zone", "fe80::1%eth0", "link-local"},
	{"unique-local fc", "fc00::1", "unique-local"},
	{"unique-local fd", "fd12:3456::1", "unique-local"},
	{"site-local", "fec0::1", "site-local"},
	{"multicast v6", "ff02::1", "multicast"},
	{"nat64 loopback", "64:ff9b::7f00:1", "NAT64"},
	{"nat64 public", "64:ff9b::808:808", "NAT64"},
	{"nat64 local-use", "64:ff9b:1::a00:1", "NAT64"},
	{"6to4 loopback", "2002:7f00:1::1", "6to4"},
	{"6to4 public", "2002:808:808::1", "6to4"},
	{"teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
	{"benchmarking v6", "2001:2::1", "benchmarking"},
	{"orchid", "2001:20::1", "IETF"},
	{"documentation v6", "2001:db8::1", "documentation"},
	{"documentation v6 3fff", "3fff::1", "documentation"},
	{"discard-only", "100::1", "discard"},
	{"srv6", "5f00::1", "segment routing"},
	{"unassigned v6", "4000::1", "global unicast"},
}

// guardPublicAddresses must pass the default guard.
var guardPublicAddresses = []string{
	"1.1.1.1", "8.8.8.8", "93.184.216.34", "100.63.255.255", "100.128.0.0",
	"172.15.255.255", "172.32.0.0", "192.167.255.255", "192.169.0.0",
	"198.17.255.255", "198.20.0.0", "223.255.255.255", "11.0.0.1",
	"::ffff:1.1.1.1", "2606:4700::1111", "2001:4860:4860::8888",
	"2a00:1450:4001:81c::200e", "2003::1",
}

func TestNetGuardCheckRefusesNonPublicAddresses(t *testing.T) {
	t.Parallel()
	var guard netGuard
	for _, tc := range guardS1Addresses {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := netip.MustParseAddr(tc.addr)
			err := guard.check(addr)
			require.ErrorIs(t, err, ErrBlockedAddress)
			var be *BlockedAddressError
			require.ErrorAs(t, err, &be)
			require.Contains(t, be.Reason, tc.reason)
			require.Equal(t, addr.Unmap().WithZone(""), be.Addr)
			require.Contains(t, err.Error(), be.Addr.String())

			// A nil guard is the same strict default.
			require.ErrorIs(t, (*netGuard)(nil).check(addr), ErrBlockedAddress)
		})
	}
}

func TestNetGuardCheckAllowsPublicAddresses(t *testing.T) {
	t.Parallel()
	for _, s := range guardPublicAddresses {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, (&netGuard{}).check(netip.MustParseAddr(s)))
		})
	}
}

func TestNetGuardCheckRefusesInvalidAddress(t *testing.T) {
	t.Parallel()
	require.ErrorIs(t, (&netGuard{}).check(netip.Addr{}), ErrBlockedAddress)
}

func TestNetGuardOptIns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		guard   netGuard
		addr    string
		allowed bool
	}{
		{"allowed /32", netGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, "127.0.0.1", true},
		{"allowed /32 matches mapped form", netGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, "::ffff:127.0.0.1", true},
		{"allowed /32 only", netGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, "127.0.0.2", false},
		{"allowed /32 not v6 loopback", netGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, "::1", false},
		{"mapped prefix normalised", netGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}}, "10.1.2.3", true},
		{"mapped prefix bounds", netGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}}, "11.0.0.1", true}, // public anyway
		{"mapped prefix excludes", netGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}}, "192.168.0.1", false},
		{"nat64 opt-in", netGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("64:ff9b::/96")}}, "64:ff9b::808:808", true},
		{"invalid allowed prefix ignored", netGuard{AllowedNetworks: []netip.Prefix{{}}}, "10.0.0.1", false},
		{"allow private v4", netGuard{AllowPrivateNetworks: true}, "10.0.0.1", true},
		{"allow private metadata", netGuard{AllowPrivateNetworks: true}, "169.254.169.254", true},
		{"allow private v6", netGuard{AllowPrivateNetworks: true}, "::1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.guard.check(netip.MustParseAddr(tc.addr))
			if tc.allowed {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrBlockedAddress)
			}
		})
	}
}

func TestNetGuardControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		network string
		address string
		allowed bool
	}{
		{"loopback v4", "tcp4", "127.0.0.1:80", false},
		{"loopback v6", "tcp6", "[::1]:443", false},
		{"metadata", "tcp4", "169.254.169.254:80", false},
		{"link-local with zone", "tcp6", "[fe80::1%eth0]:80", false},
		{"public v4", "tcp4", "1.1.1.1:443", true},
		{"public v6", "tcp6", "[2606:4700::1111]:443", true},
		{"unparsable", "tcp", "example.com:80", false},
		{"empty", "tcp", "", false},
	}
	var guard netGuard
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := guard.control(context.Background(), tc.network, tc.address, nil)
			if tc.allowed {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrBlockedAddress)
			}
		})
	}
}

func TestValidateEndpointURL(t *testing.T) {
	t.Parallel()
	loopbackOK := &netGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	tests := []struct {
		name      string
		url       string
		allowHTTP bool
		guard     *netGuard
		reason    string // substring of the reason; "" means valid
		blocked   bool   // the guard refused the address: errors.Is(err, ErrBlockedAddress)
	}{
		{name: "https", url: "https://example.com/hooks/onplana"},
		{name: "https with port and query", url: "https://example.com:8443/h?x=1"},
		{name: "slack", url: "https://hooks.slack.com/services/T000/B000/XXXX"},
		{name: "public literal", url: "https://1.1.1.1/"},
		{name: "public v6 literal", url: "https://[2606:4700::1111]:443/"},
		{name: "trailing dot host", url: "https://example.com./"},
		{name: "http when allowed", url: "http://example.com/", allowHTTP: true},
		{name: "http refused by default", url: "http://example.com/", reason: "https"},
		{name: "empty", url: "", reason: "required"},
		{name: "relative", url: "/hooks", reason: "absolute"},
		{name: "no scheme", url: "example.com/hooks", reason: "absolute"},
		{name: "file", url: "file:///etc/passwd", reason: "not allowed"},
		{name: "gopher", url: "gopher://127.0.0.1:6379/_SET", reason: "not allowed"},
		{name: "ftp", url: "ftp://example.com/", allowHTTP: true, reason: "not allowed"},
		{name: "javascript", url: "javascript:alert(1)", reason: "not allowed"},
		{name: "opaque https", url: "https:example.com", reason: "host"},
		{name: "no host", url: "https:///path", reason: "host"},
		{name: "port only", url: "https://:443/", reason: "host"},
		{name: "userinfo", url: "https://user:pass@example.com/", reason: "credentials"},
		{name: "user only", url: "https://token@example.com/", reason: "credentials"},
		{name: "fragment", url: "https://example.com/#frag", reason: "fragment"},
		{name: "empty fragment", url: "https://example.com/#", reason: "fragment"},
		{name: "port zero", url: "https://example.com:0/", reason: "port"},
		{name: "port too big", url: "https://example.com:65536/", reason: "port"},
		{name: "port not numeric", url: "https://example.com:http/", reason: "valid URL"},
		{name: "too long", url: "https://example.com/" + strings.Repeat("a", 3000), reason: "longer"},
		{name: "control character", url: "https://example.com/\x00", reason: "valid URL"},
		{name: "raw space in query", url: "https://example.com/hook?x=a b", reason: "%20"},
		{name: "raw space in path", url: "https://example.com/a b", reason: "%20"},
		{name: "encoded space", url: "https://example.com/a%20b?x=a%20b+c"},
		{name: "localhost", url: "https://localhost/", reason: "loopback", blocked: true},
		{name: "sub.localhost", url: "https://app.LOCALHOST./", reason: "loopback", blocked: true},
		{name: "localhost allowed by opt-in", url: "https://localhost:8080/", guard: loopbackOK},
		{name: "decimal ipv4", url: "https://2130706433/", reason: "non-standard"},
		{name: "short ipv4", url: "https://127.1/", reason: "non-standard"},
		{name: "octal ipv4", url: "https://0177.0.0.1/", reason: "non-standard"},
		{name: "hex ipv4", url: "https://0x7f.0.0.1/", reason: "non-standard"},
		{name: "hex label last", url: "https://a.0x7f/", reason: "non-standard"},
		{name: "numeric label not last is fine", url: "https://123.example.com/"},
		{name: "loopback literal allowed by opt-in", url: "https://127.0.0.1:8443/", guard: loopbackOK},
		{name: "other loopback not allowed by /32", url: "https://127.0.0.2/", guard: loopbackOK, reason: "loopback", blocked: true},
		{name: "allow private", url: "https://10.0.0.1/", guard: &netGuard{AllowPrivateNetworks: true}},
	}
	for _, a := range guardS1Addresses {
		host := strings.Replace(a.addr, "%", "%25", 1)
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		tests = append(tests, struct {
			name      string
			url       string
			allowHTTP bool
			guard     *netGuard
			reason    string
			blocked   bool
		}{name: "S1 " + a.name, url: "https://" + host + ":8443/secret-path", reason: a.reason, blocked: true})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := validateEndpointURL(tc.url, tc.allowHTTP, tc.guard)
			if tc.reason == "" {
				require.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "URL", ve.Field)
			require.Contains(t, ve.Reason, tc.reason)
			require.NotContains(t, err.Error(), "secret-path", "the error must not repeat the URL path")
			require.Equal(t, tc.blocked, errors.Is(err, ErrBlockedAddress), "errors.Is(err, ErrBlockedAddress)")
			if tc.blocked {
				var be *BlockedAddressError
				require.ErrorAs(t, err, &be)
				require.Contains(t, ve.Reason, be.Reason)
			}
		})
	}
}

// guardFakeResolver returns a resolver that asks a DNS server on 127.0.0.1
// answering A and AAAA queries from records, and NXDOMAIN for any other
// name. The server stops when the test ends.
func guardFakeResolver(t *testing.T, records map[string][]netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed by cleanup
			}
			if resp := guardDNSAnswer(buf[:n], records); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		<-done
	})
	server := pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", server)
		},
	}
}

// guardDNSAnswer builds the response to one DNS query, or nil if q is not a
// well-formed single-question query.
func guardDNSAnswer(q []byte, records map[string][]netip.Addr) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	var labels []string
	off := 12
	for {
		if off >= len(q) {
			return nil
		}
		l := int(q[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(q) {
			return nil
		}
		labels = append(labels, strings.ToLower(string(q[off:off+l])))
		off += l
	}
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	off += 4
	addrs, known := records[strings.Join(labels, ".")]
	var answers [][]byte
	for _, a := range addrs {
		switch {
		case qtype == 1 && a.Is4(): // A
			answers = append(answers, a.AsSlice())
		case qtype == 28 && a.Is6(): // AAAA
			answers = append(answers, a.AsSlice())
		}
	}
	resp := make([]byte, 12, 512)
	copy(resp, q[:2])                                                             // id
	flags := uint16(0x8000|0x0400|0x0080) | binary.BigEndian.Uint16(q[2:])&0x0100 // QR, AA, RA, RD echoed
	if !known {
		flags |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(resp[2:], flags)
	binary.BigEndian.PutUint16(resp[4:], 1)
	binary.BigEndian.PutUint16(resp[6:], uint16(len(answers)))
	resp = append(resp, q[12:off]...)
	for _, rdata := range answers {
		resp = append(resp, 0xC0, 12) // pointer to the question name
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1) // IN
		resp = binary.BigEndian.AppendUint32(resp, 60)
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp
}

func BenchmarkNetGuardCheck(b *testing.B) {
	guard := netGuard{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	for _, s := range []string{"93.184.216.34", "2606:4700::1111", "10.0.0.1"} {
		addr := netip.MustParseAddr(s)
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = guard.check(addr)
			}
		})
	}
}

// FuzzValidateEndpointURL checks that no input makes validateEndpointURL
// panic and that every accepted URL is an https URL with a host that is not
// a refused IP literal.
func FuzzValidateEndpointURL(f *testing.F) {
	for _, s := range []string{
		"https://example.com/h", "https://[::ffff:127.0.0.1]/", "https://0x7f.1/", "https://u@h/",
		"https://h:0/", "file:///etc/passwd", "https://[fe80::1%25eth0]/", "https://localhost./",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := validateEndpointURL(s, false, nil)
		if err != nil {
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			return
		}
		u, perr := url.Parse(s)
		require.NoError(t, perr)
		require.Equal(t, "https", u.Scheme)
		require.Nil(t, u.User)
		require.NotEmpty(t, u.Hostname())
		if addr, aerr := netip.ParseAddr(u.Hostname()); aerr == nil {
			require.NoError(t, (&netGuard{}).check(addr))
		}
	})
}
