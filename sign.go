package webhook

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default header names of the Onplana scheme.
const (
	// DefaultEventHeader carries the event type.
	DefaultEventHeader = "X-Onplana-Event"
	// DefaultSignatureHeader carries exactly one signature: the lowercase
	// hex HMAC-SHA256 of the raw body under the subscription's newest
	// secret, which is what a receiver written from the Onplana guide
	// compares in constant time.
	DefaultSignatureHeader = "X-Onplana-Signature"
	// DefaultPreviousSignatureHeader carries, during a rotation's grace
	// period only, the signatures under the older secrets still inside
	// it, space-separated, newest first. Receivers of this package check
	// it beside DefaultSignatureHeader, so one holding only the old secret
	// keeps working until the grace period ends.
	DefaultPreviousSignatureHeader = "X-Onplana-Signature-Previous"
)

// SecretPrefix starts every secret made by NewSecret. It is the Standard
// Webhooks prefix, so the same secret works with either scheme.
const SecretPrefix = "whsec_"

// secretEntropy is the number of random bytes in a secret made by NewSecret.
const secretEntropy = 32

// Sign returns the lowercase hex HMAC-SHA256 of body keyed with secret: the
// value of the X-Onplana-Signature header when secret is the newest one.
// The key is the secret's bytes exactly as given (secret.Reveal(), prefix
// included), which is what a receiver's crypto.createHmac('sha256', secret)
// in Node.js uses.
//
// Sign signs the raw bytes it is given; re-serialising the JSON changes the
// signature. It does not check the secret: Verify refuses secrets shorter than
// MinSecretLength, so sign with secrets from NewSecret.
//
// Sign is safe for concurrent use. It keeps the keyed HMAC states of recently
// used secrets (see signingKeys), so signing many bodies with one secret does
// not key a new HMAC each time; every call still hashes the whole body.
func Sign(secret Secret, body []byte) string {
	var dst [2 * sha256.Size]byte
	return string(appendSign(dst[:0], signingKeys.pool(string(secret)), body))
}

// appendSign appends to dst the lowercase hex HMAC-SHA256 of body keyed
// with the key of p.
func appendSign(dst []byte, p *macPool, body []byte) []byte {
	st := p.get()
	st.h.Write(body)
	mac := st.h.Sum(st.sum[:0])
	dst = hex.AppendEncode(dst, mac)
	p.put(st)
	return dst
}

// maxSigningKeys bounds signingKeys. Past it the cache starts over: a
// process signing for more endpoints than this rekeys more often, nothing
// worse.
const maxSigningKeys = 1024

// signingKeys caches one pool of keyed HMAC states per secret recently given
// to Sign, since keying costs two SHA-256 blocks and a few allocations per
// call. It holds copies of those secrets, as the Dispatcher's store does;
// a secret that is no longer passed to Sign leaves the cache when it next
// starts over.
var signingKeys keyCache

// keyCache maps secrets to pools of HMAC states keyed with them. It is safe
// for concurrent use.
type keyCache struct {
	mu    sync.RWMutex
	pools map[string]*macPool
}

// pool returns the pool of states keyed with secret, making it if needed.
func (c *keyCache) pool(secret string) *macPool {
	c.mu.RLock()
	p := c.pools[secret]
	c.mu.RUnlock()
	if p != nil {
		return p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p = c.pools[secret]; p != nil {
		return p
	}
	if c.pools == nil || len(c.pools) >= maxSigningKeys {
		c.pools = make(map[string]*macPool)
	}
	p = newMACPool([]byte(secret))
	c.pools[string(p.key)] = p
	return p
}

// NewSecret returns a new secret: SecretPrefix followed by the standard
// base64 of 32 bytes from crypto/rand. The result is a valid secret for both
// schemes: the Onplana scheme keys the HMAC with the whole string, the
// Standard Webhooks scheme with the 32 decoded bytes.
func NewSecret() Secret {
	var b [secretEntropy]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	return Secret(SecretPrefix + base64.StdEncoding.EncodeToString(b[:]))
}

// Scheme names a signature format.
type Scheme string

// Signature schemes.
const (
	// SchemeOnplana signs the raw body: X-Onplana-Signature = hex HMAC-SHA256.
	SchemeOnplana Scheme = "onplana"
	// SchemeStandard follows the Standard Webhooks specification.
	SchemeStandard Scheme = "standard"
)

// Signer writes the signature headers of one delivery. The dispatcher and the
// command-line tool use it; its zero value signs with the Onplana scheme and
// the default header names. A Signer is a value and safe for concurrent use.
type Signer struct {
	// Scheme selects the headers written. Defaults to SchemeOnplana.
	Scheme Scheme
	// EventHeader names the header carrying the event type, written by both
	// schemes. Defaults to DefaultEventHeader.
	EventHeader string
	// SignatureHeader names the Onplana-scheme header that carries the
	// signature under the newest secret; the Standard scheme always writes
	// webhook-signature. Defaults to DefaultSignatureHeader.
	SignatureHeader string
	// PreviousSignatureHeader names the Onplana-scheme header that carries
	// the signatures under older secrets during a rotation. Defaults to
	// DefaultPreviousSignatureHeader.
	PreviousSignatureHeader string
}

// SignRequest sets on h the headers that let a receiver verify body, a
// delivery of event type typ, signed with secrets: the newest secret first,
// then any older ones still inside their rotation grace period.
//
// With SchemeOnplana it sets EventHeader to typ, SignatureHeader to exactly
// one lowercase hex signature, under secrets[0], and, when more than one
// secret is given, PreviousSignatureHeader to the hex signatures under the
// others, space-separated, in the order given (it removes that header
// otherwise). So a receiver written from the Onplana guide, which compares
// SignatureHeader with its own HMAC in constant time, sees one value it can
// compare whatever the rotation state, and verifies with the new secret;
// a Receiver also accepts a match in PreviousSignatureHeader, so a
// receiver still holding only the old secret keeps working during the
// grace period. deliveryID and at are not signed
// (the envelope inside body carries delivery_id).
//
// With SchemeStandard it sets webhook-id to deliveryID, webhook-timestamp to
// at in Unix seconds, webhook-signature to one "v1,<base64>" entry per
// secret, space-separated as the specification says, and EventHeader to typ;
// the timestamp is signed, so each attempt is signed afresh.
//
// It validates everything before writing anything: on error h is unchanged.
// Errors wrap ErrNoSecret (no secret, or one unusable), ErrMessageID or
// ErrTimestamp (Standard scheme), or are a *ValidationError naming the field.
func (s Signer) SignRequest(h http.Header, secrets []Secret, deliveryID string, typ EventType, at time.Time, body []byte) error {
	if h == nil {
		return &ValidationError{Field: "Header", Reason: "must not be nil"}
	}
	r, err := s.resolved()
	if err != nil {
		return err
	}
	return r.sign(h, secrets, deliveryID, typ, at, body)
}

// resolvedSigner is a Signer with its defaults applied, validated, and its
// header names in canonical form: what the Dispatcher keeps so that it does
// not check the same names again on every attempt.
type resolvedSigner struct {
	scheme                             Scheme
	eventHeader, sigHeader, prevHeader string // canonical
}

// resolved returns s resolved, or the error of resolve.
func (s Signer) resolved() (resolvedSigner, error) {
	if err := s.resolve(); err != nil {
		return resolvedSigner{}, err
	}
	return resolvedSigner{
		scheme:      s.Scheme,
		eventHeader: http.CanonicalHeaderKey(s.EventHeader),
		sigHeader:   http.CanonicalHeaderKey(s.SignatureHeader),
		prevHeader:  http.CanonicalHeaderKey(s.PreviousSignatureHeader),
	}, nil
}

// sign is SignRequest after the Signer is resolved; h is not nil.
func (r resolvedSigner) sign(h http.Header, secrets []Secret, deliveryID string, typ EventType, at time.Time, body []byte) error {
	if !validHeaderValue(string(typ)) {
		return &ValidationError{Field: "EventType", Reason: "must be non-empty visible ASCII"}
	}
	switch {
	case len(secrets) == 0:
		return fmt.Errorf("%w: none given", ErrNoSecret)
	case len(secrets) > MaxSignatures:
		return &ValidationError{Field: "Secrets", Reason: "more than " + strconv.Itoa(MaxSignatures) + " (receivers refuse longer signature lists)"}
	}

	if r.scheme == SchemeStandard {
		if err := checkMessageID(deliveryID); err != nil {
			return err
		}
		ts, err := unixTimestamp(at)
		if err != nil {
			return err
		}
		var b strings.Builder
		b.Grow(len(secrets) * (len("v1,") + 45))
		for i, secret := range secrets {
			key, err := standardKey(secret)
			if err != nil {
				return fmt.Errorf("%w (secret %d)", err, i)
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(signStandard(key, deliveryID, ts, body))
		}
		h.Set(StandardIDHeader, deliveryID)
		h.Set(StandardTimestampHeader, ts)
		h.Set(StandardSignatureHeader, b.String())
		h[r.eventHeader] = []string{string(typ)}
		return nil
	}

	for i, secret := range secrets {
		if len(secret) < MinSecretLength {
			return fmt.Errorf("%w: secret %d is shorter than %d bytes", ErrNoSecret, i, MinSecretLength)
		}
	}
	h[r.eventHeader] = []string{string(typ)}
	h[r.sigHeader] = []string{onplanaSignatures(secrets[:1], body)}
	if len(secrets) > 1 {
		h[r.prevHeader] = []string{onplanaSignatures(secrets[1:], body)}
	} else {
		delete(h, r.prevHeader)
	}
	return nil
}

// onplanaSignatures returns the hex HMAC of body with each of secrets,
// space-separated: the value of the signature header for the newest
// secret alone, of the previous-signatures header for the others. The
// secrets are already checked.
func onplanaSignatures(secrets []Secret, body []byte) string {
	const entry = 2 * sha256.Size // hex
	var stack [entry]byte         // one secret: the usual case
	b := stack[:0]
	if n := len(secrets)*(entry+1) - 1; n > len(stack) {
		b = make([]byte, 0, n)
	}
	for i, secret := range secrets {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendSign(b, signingKeys.pool(string(secret)), body)
	}
	return string(b)
}

// resolve applies the defaults to s and validates its fields.
func (s *Signer) resolve() error {
	s.Scheme = cmp.Or(s.Scheme, SchemeOnplana)
	s.EventHeader = cmp.Or(s.EventHeader, DefaultEventHeader)
	s.SignatureHeader = cmp.Or(s.SignatureHeader, DefaultSignatureHeader)
	s.PreviousSignatureHeader = cmp.Or(s.PreviousSignatureHeader, DefaultPreviousSignatureHeader)
	onplana := s.Scheme == SchemeOnplana
	switch {
	case s.Scheme != SchemeOnplana && s.Scheme != SchemeStandard:
		return &ValidationError{Field: "Scheme", Reason: "unknown scheme " + strconv.Quote(string(s.Scheme))}
	case !validHeaderName(s.EventHeader):
		return &ValidationError{Field: "EventHeader", Reason: "not a valid header name"}
	case !validHeaderName(s.SignatureHeader):
		return &ValidationError{Field: "SignatureHeader", Reason: "not a valid header name"}
	case !validHeaderName(s.PreviousSignatureHeader):
		return &ValidationError{Field: "PreviousSignatureHeader", Reason: "not a valid header name"}
	case onplana && strings.EqualFold(s.EventHeader, s.SignatureHeader):
		return &ValidationError{Field: "EventHeader", Reason: "same as SignatureHeader"}
	case onplana && strings.EqualFold(s.EventHeader, s.PreviousSignatureHeader):
		return &ValidationError{Field: "EventHeader", Reason: "same as PreviousSignatureHeader"}
	case onplana && strings.EqualFold(s.SignatureHeader, s.PreviousSignatureHeader):
		return &ValidationError{Field: "PreviousSignatureHeader", Reason: "same as SignatureHeader"}
	case s.Scheme == SchemeStandard && (strings.EqualFold(s.EventHeader, StandardIDHeader) ||
		strings.EqualFold(s.EventHeader, StandardTimestampHeader) || strings.EqualFold(s.EventHeader, StandardSignatureHeader)):
		return &ValidationError{Field: "EventHeader", Reason: "collides with a Standard Webhooks header"}
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 field name (a token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s is non-empty visible ASCII, which is all
// an event type or message id needs and cannot split or smuggle a header.
func validHeaderValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
