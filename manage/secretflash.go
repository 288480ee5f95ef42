package manage

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"time"
)

// A new secret must be shown once, on a page that a reload does not show
// again and that a reload cannot re-create (a POST answered with the secret
// would offer to resubmit the form and create a second webhook). So the
// creating POST redirects (303) to the subscription's page and hands it the
// secret in a short-lived cookie: sealed with AES-GCM under the Handler's
// key and bound to the subscription id, scoped to that page's path,
// HttpOnly and SameSite=Strict. The page shows it and deletes the cookie;
// a reload finds none. Nothing is kept on the server, so any process
// sharing Config.CookieKey can serve the page.

// flashTTL is how long a sealed value may wait for its page.
const flashTTL = 2 * time.Minute

// flash seals and opens a one-time cookie: the new secret for the page
// that shows it once, and the result of a Test Ping for the page that
// shows it. Each use has its own cookie name and key.
type flash struct {
	aead   cipher.AEAD
	name   string
	secure bool
}

// newFlash returns the flash for one purpose, with a key derived from the
// Handler's.
func newFlash(key []byte, purpose, name string, secure bool) *flash {
	block, err := aes.NewCipher(derive(key, purpose)) // 32 bytes: AES-256
	if err != nil {
		panic("manage: AES with a 32-byte key: " + err.Error()) // unreachable
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("manage: GCM: " + err.Error()) // unreachable
	}
	return &flash{aead: aead, name: name, secure: secure}
}

// newSecretFlash returns the flash carrying a new secret.
func newSecretFlash(key []byte, secure bool) *flash {
	return newFlash(key, "manage/secret-once", "webhook-secret-once", secure)
}

func (f *flash) cookieName() string {
	if f.secure {
		return "__Secure-" + f.name
	}
	return f.name
}

// set stores value for the page at path, which shows subscription subID.
func (f *flash) set(w http.ResponseWriter, path, subID string, value []byte, now time.Time) {
	plain := binary.BigEndian.AppendUint64(nil, uint64(now.Add(flashTTL).Unix()))
	plain = append(plain, value...)
	nonce := make([]byte, f.aead.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand, Go 1.24+)
	sealed := f.aead.Seal(nonce, nonce, plain, []byte(subID))
	http.SetCookie(w, &http.Cookie{
		Name: f.cookieName(), Value: base64.RawURLEncoding.EncodeToString(sealed), Path: path,
		MaxAge: int(flashTTL / time.Second), HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteStrictMode,
	})
}

// take returns the value waiting for subscription subID's page at path,
// and deletes the cookie whatever it holds.
func (f *flash) take(w http.ResponseWriter, r *http.Request, path, subID string, now time.Time) ([]byte, bool) {
	c, err := r.Cookie(f.cookieName())
	if err != nil {
		return nil, false
	}
	http.SetCookie(w, &http.Cookie{
		Name: f.cookieName(), Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteStrictMode,
	})
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	n := f.aead.NonceSize()
	if err != nil || len(sealed) < n {
		return nil, false
	}
	plain, err := f.aead.Open(nil, sealed[:n], sealed[n:], []byte(subID))
	if err != nil || len(plain) < 8 {
		return nil, false
	}
	if now.Unix() > int64(binary.BigEndian.Uint64(plain[:8])) {
		return nil, false
	}
	return plain[8:], true
}
