package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// ErrBlockedAddress is matched (with errors.Is) by every error reporting
// that the SSRF guard refused an address. The concrete error is a
// *BlockedAddressError that says which address and why.
var ErrBlockedAddress = errors.New("webhook: address not allowed")

// BlockedAddressError reports an address the SSRF guard refused to dial or
// accept in a subscription URL. errors.Is(err, ErrBlockedAddress) is true
// for it.
type BlockedAddressError struct {
	Addr   netip.Addr // the refused address, as checked (IPv4-mapped forms unmapped)
	Reason string     // the kind of network it belongs to, e.g. "loopback"
}

// Error returns "webhook: address <addr> not allowed: <reason>".
func (e *BlockedAddressError) Error() string {
	return "webhook: address " + e.Addr.String() + " not allowed: " + e.Reason
}

// Is reports whether target is ErrBlockedAddress.
func (e *BlockedAddressError) Is(target error) bool { return target == ErrBlockedAddress }

// netGuard decides which addresses an outbound delivery may connect to. It
// is the library's defence against server-side request forgery: a customer
// registering http://169.254.169.254/ or a hostname that resolves to
// 10.0.0.1 must not make the sender reach its own network. The zero value
// (and a nil *netGuard) refuses every non-public address; ClientConfig's
// documentation lists them.
//
// NAT64 and 6to4 addresses embed an IPv4 address and are refused outright
// rather than decoded. A netGuard is a plain value: it is safe for
// concurrent use as long as its fields are not modified while in use.
type netGuard struct {
	// AllowPrivateNetworks turns the guard off: every address is allowed.
	// For tests and local development only. Defaults to false.
	AllowPrivateNetworks bool
	// AllowedNetworks lists prefixes let through although they are not
	// public, such as 127.0.0.1/32 for a receiver on the same machine.
	// IPv4-mapped IPv6 prefixes are treated as the IPv4 prefix they map.
	// Defaults to none.
	AllowedNetworks []netip.Prefix
}

// blockedPrefix is one refused network and the reason reported for it.
type blockedPrefix struct {
	prefix netip.Prefix
	reason string
}

// blockedPrefixes4 and blockedPrefixes6 are checked in order; the first
// match gives the reason, so more specific networks come before the ranges
// that contain them (::/8 contains 64:ff9b::/96). The lists are explicit
// because netip's predicates (IsPrivate, IsLoopback, …) miss CGNAT, NAT64,
// 6to4, benchmarking, class E and others.
var blockedPrefixes4, blockedPrefixes6 = func() (v4, v6 []blockedPrefix) {
	list := []struct{ cidr, reason string }{
		// IPv4 (RFC 6890 special-purpose registry).
		{"0.0.0.0/8", "unspecified or \"this network\" (0.0.0.0/8)"},
		{"10.0.0.0/8", "private network (RFC 1918)"},
		{"100.64.0.0/10", "shared address space (CGNAT, RFC 6598)"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local (cloud metadata)"},
		{"172.16.0.0/12", "private network (RFC 1918)"},
		{"192.0.0.0/24", "IETF protocol assignments (RFC 6890)"},
		{"192.0.2.0/24", "documentation (TEST-NET-1)"},
		{"192.88.99.0/24", "6to4 relay anycast (RFC 7526)"},
		{"192.168.0.0/16", "private network (RFC 1918)"},
		{"198.18.0.0/15", "benchmarking (RFC 2544)"},
		{"198.51.100.0/24", "documentation (TEST-NET-2)"},
		{"203.0.113.0/24", "documentation (TEST-NET-3)"},
		{"224.0.0.0/4", "multicast"},
		{"255.255.255.255/32", "broadcast"},
		{"240.0.0.0/4", "reserved (class E)"},

		// IPv6 (IANA IPv6 special-purpose registry).
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"::/96", "IPv4-compatible IPv6 (deprecated)"},
		{"64:ff9b::/96", "NAT64 (embeds an IPv4 address)"},
		{"64:ff9b:1::/48", "local-use NAT64"},
		{"::/8", "reserved (IPv4-translated and other ::/8 forms)"},
		{"100::/64", "discard-only (RFC 6666)"},
		{"2001::/32", "Teredo (embeds an IPv4 address)"},
		{"2001:2::/48", "benchmarking (RFC 5180)"},
		{"2001:db8::/32", "documentation"},
		{"2001::/23", "IETF protocol assignments"},
		{"2002::/16", "6to4 (embeds an IPv4 address)"},
		{"3fff::/20", "documentation (RFC 9637)"},
		{"5f00::/16", "segment routing SIDs (RFC 9602)"},
		{"fc00::/7", "unique-local (private)"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "site-local (deprecated)"},
		{"ff00::/8", "multicast"},
	}
	for _, e := range list {
		b := blockedPrefix{netip.MustParsePrefix(e.cidr), e.reason}
		if b.prefix.Addr().Is4() {
			v4 = append(v4, b)
		} else {
			v6 = append(v6, b)
		}
	}
	return v4, v6
}()

// globalUnicast is the only IPv6 range assigned for public unicast use;
// anything outside it that survived the list above is still refused.
var globalUnicast = netip.MustParsePrefix("2000::/3")

// check returns nil if addr may be dialled, or a *BlockedAddressError
// saying why not. IPv4-mapped IPv6 addresses are checked as IPv4 and a
// zone (fe80::1%eth0) is ignored. The invalid zero Addr is refused.
func (g *netGuard) check(addr netip.Addr) error {
	if g != nil && g.AllowPrivateNetworks {
		return nil
	}
	if !addr.IsValid() {
		return &BlockedAddressError{Addr: addr, Reason: "invalid address"}
	}
	addr = addr.Unmap().WithZone("")
	if g != nil {
		for _, p := range g.AllowedNetworks {
			if normalizePrefix(p).Contains(addr) {
				return nil
			}
		}
	}
	if reason := blockedReason(addr); reason != "" {
		return &BlockedAddressError{Addr: addr, Reason: reason}
	}
	return nil
}

// blockedReason returns why the unmapped, zoneless addr is not public, or
// "" if it is.
func blockedReason(addr netip.Addr) string {
	list := blockedPrefixes4
	if addr.Is6() {
		list = blockedPrefixes6
	}
	for _, b := range list {
		if b.prefix.Contains(addr) {
			return b.reason
		}
	}
	if addr.Is6() && !globalUnicast.Contains(addr) {
		return "outside IPv6 global unicast (2000::/3)"
	}
	return ""
}

// normalizePrefix turns an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104)
// into the IPv4 prefix it covers, so it matches unmapped addresses.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	if p.IsValid() && p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p
}

// control checks the address a connection is about to be made to; it has
// the signature of net.Dialer.ControlContext, which runs after name
// resolution and before connect(2). Because it sees the address actually
// dialled, a hostname that resolved to a public address when the
// subscription was created and to an internal one now (DNS rebinding) is
// still refused. An address that does not parse is refused too.
func (g *netGuard) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedAddressError{Reason: "unparsable dial address"}
	}
	return g.check(ap.Addr())
}

// maxURLLength caps a subscription URL; real endpoint URLs are far shorter.
const maxURLLength = 2048

// validateEndpointURL checks a subscription endpoint URL before it is
// stored. It requires an absolute https URL (or http when allowHTTP) with a
// host, no userinfo ("https://user:pass@host" puts a credential where logs
// will see it), no fragment and a port in 1-65535, and refuses any other
// scheme (file://, gopher://, …). A host that is an IP literal must be
// allowed by guard (nil means the strict default guard), as must
// "localhost" and "*.localhost", which always mean loopback (RFC 6761).
// Numeric host names that some resolvers read as IPv4 in other notations
// ("2130706433", "0x7f.1") are refused, and so is a raw space anywhere in
// the URL: net/http would send it unencoded in the request line, which
// endpoints answer with 400, so such a URL could never be delivered to
// (write %20 instead).
//
// Other host names are not resolved: what they resolve to now says nothing
// about what they will resolve to at delivery time, where the client made
// by NewClient checks the address actually dialled.
//
// Errors are *ValidationError with Field "URL"; the message never repeats
// the URL's path or query. When the guard refused the host's address, the
// error's Err is the *BlockedAddressError, so errors.Is(err,
// ErrBlockedAddress) reports it.
func validateEndpointURL(raw string, allowHTTP bool, guard *netGuard) error {
	invalid := func(reason string) error { return &ValidationError{Field: "URL", Reason: reason} }
	if raw == "" {
		return invalid("required")
	}
	if len(raw) > maxURLLength {
		return invalid(fmt.Sprintf("longer than %d bytes", maxURLLength))
	}
	if strings.IndexByte(raw, ' ') >= 0 {
		return invalid("contains a space; percent-encode it as %20")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return invalid("not a valid URL: " + err.Error())
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return invalid("scheme must be https (plain http is not allowed)")
		}
	case "":
		return invalid("must be an absolute URL")
	default:
		return invalid("scheme " + strconv.Quote(u.Scheme) + " not allowed: only http and https")
	}
	if u.Opaque != "" || u.Host == "" {
		return invalid("must have a host")
	}
	if u.User != nil {
		return invalid("must not contain credentials (user:password@)")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return invalid("must not contain a fragment")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return invalid("port must be between 1 and 65535")
		}
	}
	host := u.Hostname()
	if host == "" {
		return invalid("must have a host")
	}
	return checkURLHost(host, guard)
}

// checkURLHost applies the creation-time host checks of validateEndpointURL
// and returns its error, or nil.
func checkURLHost(host string, guard *netGuard) error {
	if addr, err := netip.ParseAddr(host); err == nil {
		if err := guard.check(addr); err != nil {
			be := err.(*BlockedAddressError)
			return &ValidationError{Field: "URL", Reason: "host " + be.Addr.String() + " is not a public address: " + be.Reason, Err: be}
		}
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		if guard.check(netip.IPv6Loopback()) == nil {
			return nil
		}
		if err := guard.check(netip.AddrFrom4([4]byte{127, 0, 0, 1})); err != nil {
			return &ValidationError{Field: "URL", Reason: "host " + host + " is loopback", Err: err}
		}
		return nil
	}
	// A name whose last label is a number is an IPv4 address in some
	// notation to inet_aton and to the WHATWG URL parser (127.1,
	// 2130706433, 0x7f.0.0.1); it is never a DNS name.
	labels := strings.Split(name, ".")
	if isNumericLabel(labels[len(labels)-1]) {
		return &ValidationError{Field: "URL", Reason: "host " + host + " is a numeric address in a non-standard notation"}
	}
	return nil
}

// isNumericLabel reports whether s is a decimal, octal or 0x-hex number.
func isNumericLabel(s string) bool {
	if s == "" {
		return false
	}
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
		for _, c := range s {
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
		return true
	}
	if s == "0x" || s == "0X" {
		return true
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
