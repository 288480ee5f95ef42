package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks scheme.
const (
	StandardIDHeader        = "webhook-id"
	StandardTimestampHeader = "webhook-timestamp"
	StandardSignatureHeader = "webhook-signature"
)

// DefaultTolerance is how far a Standard Webhooks timestamp may be from now,
// in either direction.
const DefaultTolerance = 5 * time.Minute

// MaxMessageIDLength is the longest webhook-id accepted or signed, in bytes.
const MaxMessageIDLength = 256

// Standard Webhooks errors. Verification errors of this scheme also reuse
// ErrMissingSignature, ErrMalformedSignature, ErrSignatureMismatch and
// ErrNoSecret.
var (
	// ErrTimestamp reports a webhook-timestamp that is missing, not a plain
	// decimal count of Unix seconds, or further from now than the tolerance
	// (a replay, or a message dated in the future).
	ErrTimestamp = errors.New("webhook: bad timestamp")
	// ErrMessageID reports a webhook-id that is missing, longer than
	// MaxMessageIDLength, or holds a '.', a space or anything outside
	// printable ASCII. The '.' is refused because the signed content is
	// "id.timestamp.body": with a '.' in the id, one signature would also
	// cover another split of the same bytes into id, timestamp and body.
	ErrMessageID = errors.New("webhook: bad message id")
)

// stdB64 decodes signatures strictly: one MAC has exactly one encoding.
var stdB64 = base64.StdEncoding.Strict()

// SignStandard returns the webhook-signature value ("v1,<base64>") of body
// for the message id and timestamp (signed in whole Unix seconds) under
// secret, as the Standard Webhooks specification defines it: the HMAC-SHA256
// of "id.timestamp.body" keyed with the base64-decoded part of the secret
// after "whsec_" (the prefix is optional, as in the reference libraries).
//
// It returns an error wrapping ErrNoSecret for a secret that is not base64 or
// decodes to fewer than MinSecretLength bytes, ErrMessageID for an id a
// verifier would refuse (see ErrMessageID), and ErrTimestamp for a time
// before 1970.
func SignStandard(secret Secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := standardKey(secret)
	if err != nil {
		return "", err
	}
	if err := checkMessageID(id); err != nil {
		return "", err
	}
	ts, err := unixTimestamp(timestamp)
	if err != nil {
		return "", err
	}
	return signStandard(key, id, ts, body), nil
}

// VerifyStandard verifies a Standard Webhooks message: body is the raw
// request body, id, timestamp and signature the values of the webhook-id,
// webhook-timestamp and webhook-signature headers, secrets "whsec_" secrets
// (the prefix is optional). It returns nil when the timestamp is within
// DefaultTolerance of now and one "v1" entry of signature is the signature
// of "id.timestamp.body" under one of the secrets.
//
// signature holds up to MaxSignatures space-separated "version,base64"
// entries in at most MaxSignatureHeaderLength bytes. Entries of other
// versions ("v1a", "v2") are ignored, as the specification requires; if none
// is "v1" the result is ErrSignatureMismatch.
//
// Errors wrap ErrNoSecret, ErrMessageID, ErrTimestamp (missing, malformed,
// too old or too new), ErrMissingSignature, ErrMalformedSignature or
// ErrSignatureMismatch. The cheap checks run first, so a stale replay costs
// no HMAC. VerifyStandard never panics, whatever its arguments hold. A
// receiver verifying many messages, or wanting another tolerance, uses a
// Receiver with SchemeStandard (ReceiverConfig.Tolerance), which keeps the
// keyed HMAC states between requests.
func VerifyStandard(body []byte, id, timestamp, signature string, secrets ...Secret) error {
	v, err := newStandardVerifier(nil, secrets...)
	if err != nil {
		return err
	}
	return v.verify([][]byte{body}, id, timestamp, signature)
}

// standardVerifier verifies Standard Webhooks signatures with secrets given
// once (a Receiver's, or VerifyStandard's), pooling keyed HMAC states so
// that a verification allocates nothing.
// It is safe for concurrent use. The zero value has no secrets and refuses
// everything with ErrNoSecret.
type standardVerifier struct {
	keys      []*macPool
	tolerance time.Duration
	now       func() time.Time
}

// standardConfig configures a standardVerifier; the zero value is usable.
type standardConfig struct {
	// Tolerance is how far the timestamp may be from now, both ways. It
	// bounds how long a captured message can be replayed. Must not be
	// negative; zero means the default. Defaults to DefaultTolerance.
	Tolerance time.Duration
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// newStandardVerifier returns a verifier for secrets ("whsec_" secrets; the
// prefix is optional) configured by cfg, which may be nil. It returns an
// error wrapping ErrNoSecret if no secret is given or any is unusable, and a
// *ValidationError for a negative Tolerance.
func newStandardVerifier(cfg *standardConfig, secrets ...Secret) (*standardVerifier, error) {
	var c standardConfig
	if cfg != nil {
		c = *cfg
	}
	switch {
	case c.Tolerance < 0:
		return nil, &ValidationError{Field: "Tolerance", Reason: "must not be negative"}
	case c.Tolerance == 0:
		c.Tolerance = DefaultTolerance
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrNoSecret)
	}
	v := &standardVerifier{
		keys:      make([]*macPool, len(secrets)),
		tolerance: c.Tolerance,
		now:       c.Now,
	}
	for i, s := range secrets {
		key, err := standardKey(s)
		if err != nil {
			return nil, fmt.Errorf("%w (secret %d)", err, i)
		}
		v.keys[i] = newMACPool(key)
	}
	return v, nil
}

// verify is VerifyStandard with the verifier's secrets, tolerance and
// clock, over a body held in parts, in order.
func (v *standardVerifier) verify(parts [][]byte, id, timestamp, signature string) error {
	if v == nil || len(v.keys) == 0 {
		return fmt.Errorf("%w: verifier has no secrets", ErrNoSecret)
	}
	if err := checkMessageID(id); err != nil {
		return err
	}
	if err := v.checkTimestamp(timestamp); err != nil {
		return err
	}
	var sigs [MaxSignatures][sha256.Size]byte
	n, perr := parseStandardHeader(signature, &sigs)
	if n == 0 {
		return perr
	}
	for _, k := range v.keys {
		st := k.get()
		// The signed content is id.timestamp.body; the prefix goes through
		// the state's own buffer so that nothing is allocated.
		st.buf = append(st.buf[:0], id...)
		st.buf = append(st.buf, '.')
		st.buf = append(st.buf, timestamp...)
		st.buf = append(st.buf, '.')
		st.h.Write(st.buf)
		for _, p := range parts {
			st.h.Write(p)
		}
		ok := anyEqual(st.h.Sum(st.sum[:0]), &sigs, n)
		k.put(st)
		if ok {
			return nil
		}
	}
	return mismatch(perr)
}

// verifyHeader is verify with the values of the webhook-id,
// webhook-timestamp and webhook-signature headers of h. A header sent
// several times is refused rather than guessed at.
func (v *standardVerifier) verifyHeader(parts [][]byte, h http.Header) error {
	id, err := singleHeader(h, StandardIDHeader)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMessageID, err)
	}
	ts, err := singleHeader(h, StandardTimestampHeader)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	sig, err := singleHeader(h, StandardSignatureHeader)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedSignature, err)
	}
	return v.verify(parts, id, ts, sig)
}

// singleHeader returns the only value of the header key; "" when absent.
func singleHeader(h http.Header, key string) (string, error) {
	vals := h.Values(key)
	if len(vals) > 1 {
		return "", errors.New(key + " header sent more than once")
	}
	if len(vals) == 0 {
		return "", nil
	}
	return vals[0], nil
}

// checkTimestamp parses a webhook-timestamp strictly (decimal digits, no sign,
// no leading zero, so the signed text has one spelling) and applies the
// tolerance.
func (v *standardVerifier) checkTimestamp(timestamp string) error {
	if timestamp == "" {
		return fmt.Errorf("%w: missing", ErrTimestamp)
	}
	if len(timestamp) > 1 && timestamp[0] == '0' {
		return fmt.Errorf("%w: not a decimal Unix time", ErrTimestamp)
	}
	for i := 0; i < len(timestamp); i++ {
		if timestamp[i] < '0' || timestamp[i] > '9' {
			return fmt.Errorf("%w: not a decimal Unix time", ErrTimestamp)
		}
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: out of range", ErrTimestamp)
	}
	t, now := time.Unix(sec, 0), v.now()
	switch {
	case now.Sub(t) > v.tolerance:
		return fmt.Errorf("%w: older than the %v tolerance", ErrTimestamp, v.tolerance)
	case t.Sub(now) > v.tolerance:
		return fmt.Errorf("%w: more than %v in the future", ErrTimestamp, v.tolerance)
	}
	return nil
}

// checkMessageID refuses ids the signed content could not hold unambiguously.
// The signed text is id + "." + timestamp + "." + body; with a '.' allowed in
// the id, the id "a.1614265330" with timestamp T and body B would sign the
// same bytes as id "a", timestamp 1614265330 and body "T.B", so a signature
// could be replayed under another (id, timestamp, body) split. Our ids never
// contain '.', nor do those of the common senders.
func checkMessageID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: missing", ErrMessageID)
	case len(id) > MaxMessageIDLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrMessageID, MaxMessageIDLength)
	case !validHeaderValue(id):
		return fmt.Errorf("%w: not visible ASCII", ErrMessageID)
	case strings.IndexByte(id, '.') >= 0:
		return fmt.Errorf("%w: contains '.'", ErrMessageID)
	}
	return nil
}

// unixTimestamp formats t as the webhook-timestamp value.
func unixTimestamp(t time.Time) (string, error) {
	sec := t.Unix()
	if sec < 0 {
		return "", fmt.Errorf("%w: before 1970", ErrTimestamp)
	}
	return strconv.FormatInt(sec, 10), nil
}

// standardKey returns the HMAC key of a Standard Webhooks secret: the base64
// after the optional "whsec_" prefix, decoded.
func standardKey(s Secret) ([]byte, error) {
	enc := strings.TrimPrefix(string(s), SecretPrefix)
	if enc == "" {
		return nil, fmt.Errorf("%w: empty secret", ErrNoSecret)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: secret is not base64 after %q", ErrNoSecret, SecretPrefix)
	}
	if len(key) < MinSecretLength {
		return nil, fmt.Errorf("%w: secret decodes to fewer than %d bytes", ErrNoSecret, MinSecretLength)
	}
	return key, nil
}

// signStandard returns "v1,<base64 HMAC-SHA256(key, id.ts.body)>".
func signStandard(key []byte, id, ts string, body []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id + "." + ts + "."))
	h.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// parseStandardHeader decodes the "v1" entries of a webhook-signature header
// into sigs, like parseSignatureHeader: entries of other versions are skipped
// silently, broken entries are skipped and the first problem returned.
func parseStandardHeader(header string, sigs *[MaxSignatures][sha256.Size]byte) (n int, err error) {
	if len(header) > MaxSignatureHeaderLength {
		return 0, fmt.Errorf("%w: header longer than %d bytes", ErrMalformedSignature, MaxSignatureHeaderLength)
	}
	rest := strings.TrimSpace(header)
	if rest == "" {
		return 0, ErrMissingSignature
	}
	for i := 0; rest != ""; i++ {
		var entry string
		entry, rest = nextEntry(rest, " \t")
		if i == MaxSignatures {
			return 0, fmt.Errorf("%w: more than %d entries", ErrMalformedSignature, MaxSignatures)
		}
		version, value, ok := strings.Cut(entry, ",")
		if !ok {
			if err == nil {
				err = fmt.Errorf("%w: entry %d has no version", ErrMalformedSignature, i)
			}
			continue
		}
		if version != "v1" {
			continue // another scheme (v1a, a future v2): never ours to accept
		}
		if e := decodeBase64Entry(value, &sigs[n]); e != nil {
			if err == nil {
				err = fmt.Errorf("%w (entry %d)", e, i)
			}
			continue
		}
		n++
	}
	if n == 0 && err == nil {
		return 0, fmt.Errorf("%w: no v1 signature", ErrSignatureMismatch)
	}
	return n, err
}

// decodeBase64Entry decodes the base64 of one v1 signature into dst.
func decodeBase64Entry(value string, dst *[sha256.Size]byte) error {
	const encLen = 44 // base64.StdEncoding.EncodedLen(sha256.Size)
	switch {
	case value == "":
		return ErrMissingSignature
	case len(value) != encLen:
		return fmt.Errorf("%w: %d base64 characters, want %d", ErrMalformedSignature, len(value), encLen)
	}
	// Fixed arrays keep the decode off the heap.
	var src [encLen]byte
	var out [sha256.Size + 1]byte
	copy(src[:], value)
	if n, err := stdB64.Decode(out[:], src[:]); err != nil || n != sha256.Size {
		return fmt.Errorf("%w: not base64", ErrMalformedSignature)
	}
	copy(dst[:], out[:sha256.Size])
	return nil
}
