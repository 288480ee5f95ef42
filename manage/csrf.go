package manage

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
)

// CSRF defence of the portal's forms, in two layers:
//
//  1. Every unsafe request (API included) goes through
//     http.CrossOriginProtection, which refuses what the browser labels as
//     cross-site (Sec-Fetch-Site) or whose Origin is not the Host.
//  2. Every form carries a token tied to a cookie (a signed double-submit
//     cookie): the cookie holds 32 random bytes, the form field their
//     HMAC under the Handler's key. A site that can plant cookies on a
//     sibling subdomain still cannot mint a matching token without the key,
//     and the cookie is HttpOnly and SameSite=Lax.

// csrfField is the name of the hidden form field carrying the token.
const csrfField = "csrf_token"

// errCSRF reports a form whose token is missing or does not match.
var errCSRF = errors.New("manage: invalid CSRF token")

// csrfGuard issues and checks form tokens.
type csrfGuard struct {
	key    []byte
	secure bool
}

func newCSRFGuard(key []byte, secure bool) *csrfGuard {
	return &csrfGuard{key: derive(key, "manage/csrf"), secure: secure}
}

// cookieName is __Host- prefixed when cookies are Secure, so that the
// cookie cannot be set by a subdomain or for another path.
func (g *csrfGuard) cookieName() string {
	if g.secure {
		return "__Host-webhook-csrf"
	}
	return "webhook-csrf"
}

// token returns the form token for r, setting a fresh cookie on w when r
// has no valid one. Call it before writing the page.
func (g *csrfGuard) token(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(g.cookieName()); err == nil && validNonce(c.Value) {
		return g.sign(c.Value)
	}
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{
		Name: g.cookieName(), Value: v, Path: "/",
		HttpOnly: true, Secure: g.secure, SameSite: http.SameSiteLaxMode,
	})
	return g.sign(v)
}

// check verifies the token of a parsed form against the cookie.
func (g *csrfGuard) check(r *http.Request) error {
	c, err := r.Cookie(g.cookieName())
	if err != nil || !validNonce(c.Value) {
		return errCSRF
	}
	got, err := base64.RawURLEncoding.DecodeString(r.PostFormValue(csrfField))
	if err != nil {
		return errCSRF
	}
	want, _ := base64.RawURLEncoding.DecodeString(g.sign(c.Value))
	if !hmac.Equal(got, want) {
		return errCSRF
	}
	return nil
}

// sign returns the form token of a cookie value.
func (g *csrfGuard) sign(nonce string) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validNonce reports whether v looks like a cookie value token issued.
func validNonce(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 32
}

// derive returns a key for one purpose from the Handler's key, so the CSRF
// MAC and the secret cookie's cipher never share a key.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
