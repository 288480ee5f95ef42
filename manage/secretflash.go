package manage

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"time"

	"github.com/onplana/webhook"
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

// secretFlashTTL is how long the sealed secret may wait for its page.
const secretFlashTTL = 2 * time.Minute

// secretFlash seals and opens the one-time secret cookie.
type secretFlash struct {
	aead   cipher.AEAD
	secure bool
}

func newSecretFlash(key []byte, secure bool) *secretFlash {
	block, err := aes.NewCipher(derive(key, "manage/secret-once")) // 32 bytes: AES-256
	if err != nil {
		panic("manage: AES with a 32-byte key: " + err.Error()) // unreachable
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("manage: GCM: " + err.Error()) // unreachable
	}
	return &secretFlash{aead: aead, secure: secure}
}

func (f *secretFlash) cookieName() string {
	if f.secure {
		return "__Secure-webhook-secret-once"
	}
	return "webhook-secret-once"
}

// set stores secret for the page at path, which shows subscription subID.
func (f *secretFlash) set(w http.ResponseWriter, path, subID string, secret webhook.Secret, now time.Time) {
	plain := binary.BigEndian.AppendUint64(nil, uint64(now.Add(secretFlashTTL).Unix()))
	plain = append(plain, secret...)
	nonce := make([]byte, f.aead.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand, Go 1.24+)
	sealed := f.aead.Seal(nonce, nonce, plain, []byte(subID))
	http.SetCookie(w, &http.Cookie{
		Name: f.cookieName(), Value: base64.RawURLEncoding.EncodeToString(sealed), Path: path,
		MaxAge: int(secretFlashTTL / time.Second), HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteStrictMode,
	})
}

// take returns the secret waiting for subscription subID's page at path, and
// deletes the cookie whatever it holds.
func (f *secretFlash) take(w http.ResponseWriter, r *http.Request, path, subID string, now time.Time) (webhook.Secret, bool) {
	c, err := r.Cookie(f.cookieName())
	if err != nil {
		return "", false
	}
	http.SetCookie(w, &http.Cookie{
		Name: f.cookieName(), Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteStrictMode,
	})
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	n := f.aead.NonceSize()
	if err != nil || len(sealed) < n {
		return "", false
	}
	plain, err := f.aead.Open(nil, sealed[:n], sealed[n:], []byte(subID))
	if err != nil || len(plain) < 8 {
		return "", false
	}
	if now.Unix() > int64(binary.BigEndian.Uint64(plain[:8])) {
		return "", false
	}
	return webhook.Secret(plain[8:]), true
}
