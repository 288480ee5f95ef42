package webhook

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
)

// withConfigHint returns err, an error of validateEndpointURL for raw, with
// the Config fields that would let the URL through as its Hint: a
// developer pointing a Dispatcher at a local receiver learns what to set,
// not only what is wrong. Other errors are returned unchanged.
func (d *Dispatcher) withConfigHint(raw string, err error) error {
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "URL" {
		return err
	}
	u, perr := url.Parse(raw)
	if perr != nil {
		return err
	}
	var hints []string
	if u.Scheme == "http" && !d.cfg.AllowHTTP {
		hints = append(hints, "set Config.AllowHTTP for plain http")
	}
	if prefixes := blockedHost(u.Hostname(), &netGuard{AllowPrivateNetworks: d.cfg.AllowPrivateNetworks, AllowedNetworks: d.cfg.AllowedNetworks}); prefixes != "" {
		hints = append(hints, "list "+prefixes+" in Config.AllowedNetworks to deliver to this non-public address "+
			"(or set Config.AllowPrivateNetworks, for tests only)")
	}
	if len(hints) == 0 {
		return err
	}
	return &ValidationError{Field: ve.Field, Reason: ve.Reason, Hint: strings.Join(hints, ", and "), Err: ve.Err}
}

// blockedHost returns the prefixes to allow for host, a URL's host, when
// guard refuses it as a literal address or as localhost; "" otherwise.
func blockedHost(host string, guard *netGuard) string {
	if addr, err := netip.ParseAddr(host); err == nil {
		if guard.check(addr) == nil {
			return ""
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()).String()
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		v4, v6 := netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()
		if guard.check(v4) != nil && guard.check(v6) != nil {
			return "127.0.0.1/32 (and ::1/128)"
		}
	}
	return ""
}
