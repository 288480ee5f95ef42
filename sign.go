package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Default header names of the Onplana scheme.
const (
	DefaultEventHeader     = "X-Onplana-Event"
	DefaultSignatureHeader = "X-Onplana-Signature"
)

// SecretPrefix starts every secret made by NewSecret. It is the Standard
// Webhooks prefix, so the same secret works with either scheme.
const SecretPrefix = "whsec_"

// secretEntropy is the number of random bytes in a secret made by NewSecret.
const secretEntropy = 32

// Sign returns the lowercase hex HMAC-SHA256 of body keyed with secret: the
// value of the X-Onplana-Signature header. The key is the secret's bytes
// exactly as given (for a Secret, []byte(secret), prefix included), which is
// what a receiver's crypto.createHmac('sha256', secret) in Node.js uses.
//
// Sign signs the raw bytes it is given; re-serialising the JSON changes the
// signature. It does not check the secret: Verify refuses secrets shorter than
// MinSecretLength, so sign with secrets from NewSecret.
func Sign(secret, body []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
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
	// SignatureHeader names the Onplana-scheme signature header; the Standard
	// scheme always writes webhook-signature. Defaults to
	// DefaultSignatureHeader.
	SignatureHeader string
}

// SignRequest sets on h the headers that let a receiver verify body, a
// delivery of event type typ, signed with each of secrets in the order given.
// Pass the current secret first: a receiver built from the Onplana guide's
// Node.js snippet hex-decodes the header only up to the first space, so it
// verifies with the first secret alone, while Verify accepts any entry.
//
// With SchemeOnplana it sets EventHeader to typ and SignatureHeader to one
// hex signature per secret, space-separated; deliveryID and at are not
// signed (the envelope inside body carries delivery_id). With SchemeStandard
// it sets webhook-id to deliveryID, webhook-timestamp to at in Unix seconds,
// webhook-signature to one "v1,<base64>" entry per secret, and EventHeader to
// typ; the timestamp is signed, so each attempt is signed afresh.
//
// It validates everything before writing anything: on error h is unchanged.
// Errors wrap ErrNoSecret (no secret, or one unusable), ErrMessageID or
// ErrTimestamp (Standard scheme), or are a *ValidationError naming the field.
func (s Signer) SignRequest(h http.Header, secrets []Secret, deliveryID string, typ EventType, at time.Time, body []byte) error {
	if h == nil {
		return &ValidationError{Field: "Header", Reason: "must not be nil"}
	}
	scheme, eventHeader, sigHeader, err := s.resolve()
	if err != nil {
		return err
	}
	if !validHeaderValue(string(typ)) {
		return &ValidationError{Field: "EventType", Reason: "must be non-empty visible ASCII"}
	}
	switch {
	case len(secrets) == 0:
		return fmt.Errorf("%w: none given", ErrNoSecret)
	case len(secrets) > MaxSignatures:
		return &ValidationError{Field: "Secrets", Reason: "more than " + strconv.Itoa(MaxSignatures) + " (receivers refuse longer signature lists)"}
	}

	var b strings.Builder
	if scheme == SchemeStandard {
		if err := checkMessageID(deliveryID); err != nil {
			return err
		}
		ts, err := unixTimestamp(at)
		if err != nil {
			return err
		}
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
		h.Set(eventHeader, string(typ))
		return nil
	}

	b.Grow(len(secrets) * (hex.EncodedLen(sha256.Size) + 1))
	for i, secret := range secrets {
		if len(secret) < MinSecretLength {
			return fmt.Errorf("%w: secret %d is shorter than %d bytes", ErrNoSecret, i, MinSecretLength)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Sign([]byte(secret), body))
	}
	h.Set(eventHeader, string(typ))
	h.Set(sigHeader, b.String())
	return nil
}

// resolve applies the defaults and validates the Signer's fields.
func (s Signer) resolve() (scheme Scheme, eventHeader, sigHeader string, err error) {
	scheme, eventHeader, sigHeader = s.Scheme, s.EventHeader, s.SignatureHeader
	if scheme == "" {
		scheme = SchemeOnplana
	}
	if eventHeader == "" {
		eventHeader = DefaultEventHeader
	}
	if sigHeader == "" {
		sigHeader = DefaultSignatureHeader
	}
	switch {
	case scheme != SchemeOnplana && scheme != SchemeStandard:
		return "", "", "", &ValidationError{Field: "Scheme", Reason: "unknown scheme " + strconv.Quote(string(scheme))}
	case !validHeaderName(eventHeader):
		return "", "", "", &ValidationError{Field: "EventHeader", Reason: "not a valid header name"}
	case !validHeaderName(sigHeader):
		return "", "", "", &ValidationError{Field: "SignatureHeader", Reason: "not a valid header name"}
	case scheme == SchemeOnplana && strings.EqualFold(eventHeader, sigHeader):
		return "", "", "", &ValidationError{Field: "EventHeader", Reason: "same as SignatureHeader"}
	case scheme == SchemeStandard && (strings.EqualFold(eventHeader, StandardIDHeader) ||
		strings.EqualFold(eventHeader, StandardTimestampHeader) || strings.EqualFold(eventHeader, StandardSignatureHeader)):
		return "", "", "", &ValidationError{Field: "EventHeader", Reason: "collides with a Standard Webhooks header"}
	}
	return scheme, eventHeader, sigHeader, nil
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
