package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"sync"
)

// Verification errors. Every verification error of Verify, VerifyEvent,
// VerifyStandard and a Receiver wraps exactly one of these (or
// ErrTimestamp or ErrMessageID for the Standard Webhooks scheme), so callers
// can branch with errors.Is. The wrapped message never repeats the header or
// the secret.
var (
	// ErrMissingSignature reports an absent or blank signature header, or an
	// entry that is a bare prefix such as "sha256=" or "v1,".
	ErrMissingSignature = errors.New("webhook: missing signature")
	// ErrMalformedSignature reports a signature header that cannot hold a
	// valid signature: not hex (or not base64 for the Standard scheme), the
	// wrong length, an unknown prefix such as "sha1=", or a header over
	// MaxSignatureHeaderLength bytes or MaxSignatures entries.
	ErrMalformedSignature = errors.New("webhook: malformed signature")
	// ErrSignatureMismatch reports a well-formed signature that was not made
	// with any of the secrets over these exact bytes.
	ErrSignatureMismatch = errors.New("webhook: no matching signature")
	// ErrNoSecret reports that no secret was given, or that one of them is
	// unusable (empty, shorter than MinSecretLength, or for the Standard
	// scheme not base64). It is a configuration error, never the sender's.
	ErrNoSecret = errors.New("webhook: no usable secret")
)

// Limits on what a verifier accepts. They bound the work an unauthenticated
// request can cause: a header over either limit is refused before any HMAC
// is computed.
const (
	// MaxSignatureHeaderLength is the longest signature header accepted, in
	// bytes.
	MaxSignatureHeaderLength = 4096
	// MaxSignatures is the largest number of entries accepted in one
	// signature header. A sender signs once per live secret, and rotation
	// keeps two or three alive, so eight leaves room without inviting abuse.
	MaxSignatures = 8
	// MinSecretLength is the shortest secret accepted, in bytes (for the
	// Standard scheme, after base64 decoding). NewSecret's secrets are far
	// longer; the floor catches placeholders such as "secret" or "test".
	MinSecretLength = 16
)

// signaturePrefix is the optional prefix of an Onplana signature entry, as
// GitHub writes it in X-Hub-Signature-256.
const signaturePrefix = "sha256="

// Verify reports whether signature is a valid Onplana signature of body
// under any of secrets: the lowercase hex HMAC-SHA256 of the raw body bytes,
// as written by Sign. It returns nil on success and otherwise an error
// wrapping ErrNoSecret, ErrMissingSignature, ErrMalformedSignature or
// ErrSignatureMismatch.
//
// Several secrets may be given during a rotation; any of them verifies.
// Every secret must be at least MinSecretLength bytes: an empty or short
// secret anywhere in the list is refused with ErrNoSecret rather than
// skipped, so a misconfigured receiver fails loudly instead of quietly
// depending on the remaining secrets.
//
// signature is the value of the X-Onplana-Signature header, which this
// package's senders fill with exactly one entry, the signature under the
// newest secret. During a rotation's grace period they also send the
// signatures under older secrets in X-Onplana-Signature-Previous: a
// receiver that holds only an old secret passes that header's value as
// well, joined with a space, or uses a Receiver, which checks both headers.
//
// The value may hold up to MaxSignatures entries separated by spaces or
// commas, each optionally prefixed with "sha256="; surrounding whitespace
// is ignored. An entry that cannot be a signature (another prefix such as
// "sha1=" or "v0=", not hex, the wrong length) never verifies; a valid
// entry beside it still does, and if none matches the error reports the
// broken entry. MACs are compared with hmac.Equal on fixed-length decoded
// bytes.
//
// Verify never panics, whatever body and signature hold. A receiver that
// verifies many requests with the same secrets uses a Receiver, which does
// the same checks with keyed HMAC states kept between requests
// (Receiver.VerifyEvent, outside an http.Handler).
func Verify(body []byte, signature string, secrets ...Secret) error {
	if err := checkSecrets(secrets); err != nil {
		return err
	}
	var sigs [MaxSignatures][sha256.Size]byte
	n, perr := parseSignatureHeader(signature, &sigs)
	if n == 0 {
		return perr
	}
	var sum [sha256.Size]byte
	for _, secret := range secrets {
		h := hmac.New(sha256.New, []byte(secret))
		h.Write(body)
		if anyEqual(h.Sum(sum[:0]), &sigs, n) {
			return nil
		}
	}
	return mismatch(perr)
}

// onplanaVerifier verifies Onplana signatures with secrets given once: a
// Receiver's. It keeps a pool of keyed HMAC states per secret, so a
// verification allocates nothing and skips the key schedule. It is safe for
// concurrent use. The zero value has no secrets and refuses everything with
// ErrNoSecret.
type onplanaVerifier struct {
	keys []*macPool
}

// newOnplanaVerifier returns a verifier for secrets, which it copies. It
// returns an error wrapping ErrNoSecret if no secret is given or any is
// shorter than MinSecretLength.
func newOnplanaVerifier(secrets ...Secret) (*onplanaVerifier, error) {
	if err := checkSecrets(secrets); err != nil {
		return nil, err
	}
	v := &onplanaVerifier{keys: make([]*macPool, len(secrets))}
	for i, s := range secrets {
		v.keys[i] = newMACPool([]byte(s))
	}
	return v, nil
}

// verifyHeader verifies the body held in parts, in order, against the
// signature headers of h named sigHeader, which holds the signature under
// the sender's newest secret, and prevHeader, which holds those under older
// secrets during a rotation's grace period. A match in either verifies, so
// a receiver that still holds only the old secret accepts deliveries until
// the grace period ends. Their entries count together against
// MaxSignatures, and a header sent more than once is refused rather than
// guessed at. Errors are those of Verify.
func (v *onplanaVerifier) verifyHeader(parts [][]byte, h http.Header, sigHeader, prevHeader string) error {
	return v.verifyHeaderKeys(parts, h, sigHeader, http.CanonicalHeaderKey(sigHeader), prevHeader, http.CanonicalHeaderKey(prevHeader))
}

// verifyHeaderKeys is verifyHeader with each header name given with its
// canonical form, the key of h.
func (v *onplanaVerifier) verifyHeaderKeys(parts [][]byte, h http.Header, sigHeader, sigKey, prevHeader, prevKey string) error {
	sig, err := singleHeaderKey(h, sigHeader, sigKey)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedSignature, err)
	}
	prev, err := singleHeaderKey(h, prevHeader, prevKey)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedSignature, err)
	}
	return v.verify(parts, sig, prev)
}

// singleHeaderKey is singleHeader for the header name whose canonical form
// is key.
func singleHeaderKey(h http.Header, name, key string) (string, error) {
	vals := h[key]
	if len(vals) > 1 {
		return "", errors.New(name + " header sent more than once")
	}
	if len(vals) == 0 {
		return "", nil
	}
	return vals[0], nil
}

// verify verifies the body held in parts, in order (so that a Receiver can
// verify a body before copying it out of its pooled chunks), against the
// entries of the signature header and of the previous-signatures header
// (either may be empty).
func (v *onplanaVerifier) verify(parts [][]byte, signature, previous string) error {
	if v == nil || len(v.keys) == 0 {
		return fmt.Errorf("%w: verifier has no secrets", ErrNoSecret)
	}
	var sigs [MaxSignatures][sha256.Size]byte
	n, perr := parseSignatureHeaders(&sigs, signature, previous)
	if n == 0 {
		return perr
	}
	for _, k := range v.keys {
		st := k.get()
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

// checkSecrets refuses an empty list and any secret too short to be one.
func checkSecrets(secrets []Secret) error {
	if len(secrets) == 0 {
		return fmt.Errorf("%w: none given", ErrNoSecret)
	}
	for i, s := range secrets {
		if len(s) < MinSecretLength {
			return fmt.Errorf("%w: secret %d is shorter than %d bytes", ErrNoSecret, i, MinSecretLength)
		}
	}
	return nil
}

// mismatch is the error when no entry matched: a malformed entry seen on the
// way explains the failure better than a bare mismatch.
func mismatch(parseErr error) error {
	if parseErr != nil {
		return parseErr
	}
	return ErrSignatureMismatch
}

// anyEqual reports whether mac equals one of the first n decoded signatures.
// Each comparison is constant-time; which entry matched is not secret.
func anyEqual(mac []byte, sigs *[MaxSignatures][sha256.Size]byte, n int) bool {
	ok := false
	for i := range n {
		if hmac.Equal(mac, sigs[i][:]) {
			ok = true
		}
	}
	return ok
}

// parseSignatureHeader decodes the entries of an Onplana signature header
// into sigs and returns how many decoded. Entries that cannot be a signature
// are skipped and the first such problem is returned as err, so a valid entry
// still verifies beside one from an unknown scheme. With n == 0, err says why
// (missing or malformed). A header over the length or entry caps yields
// n == 0, so no HMAC is computed for it.
func parseSignatureHeader(header string, sigs *[MaxSignatures][sha256.Size]byte) (n int, err error) {
	return parseSignatureHeaders(sigs, header)
}

// parseSignatureHeaders is parseSignatureHeader for the entries of several
// headers (the signature header and the previous-signatures header) taken
// together: MaxSignatures bounds their entries in all, and they are missing
// only if every header is blank.
func parseSignatureHeaders(sigs *[MaxSignatures][sha256.Size]byte, headers ...string) (n int, err error) {
	const hexLen = 2 * sha256.Size
	i := 0 // entries seen
	for _, header := range headers {
		if len(header) > MaxSignatureHeaderLength {
			return 0, fmt.Errorf("%w: header longer than %d bytes", ErrMalformedSignature, MaxSignatureHeaderLength)
		}
		for rest := trimHexSeparators(strings.TrimSpace(header)); rest != ""; i++ {
			if i == MaxSignatures {
				return 0, fmt.Errorf("%w: more than %d entries", ErrMalformedSignature, MaxSignatures)
			}
			// Fast path: a bare 64-digit entry, as senders write it, is
			// decoded in one pass. Anything else takes the general path
			// below, which also classifies what is wrong.
			if len(rest) >= hexLen && (len(rest) == hexLen || isHexSeparator(rest[hexLen])) && decodeHex(rest[:hexLen], &sigs[n]) {
				n++
				rest = trimHexSeparators(rest[hexLen:])
				continue
			}
			var entry string
			entry, rest = nextEntry(rest, hexSeparators)
			if e := decodeHexEntry(entry, &sigs[n]); e != nil {
				if err == nil {
					err = fmt.Errorf("%w (entry %d)", e, i)
				}
				continue
			}
			n++
		}
	}
	if i == 0 {
		return 0, ErrMissingSignature
	}
	// With n > 0 the caller reports err only if no entry matches.
	return n, err
}

// hexSeparators separate the entries of an Onplana header.
const hexSeparators = " ,\t"

func isHexSeparator(c byte) bool { return c == ' ' || c == ',' || c == '\t' }

func trimHexSeparators(s string) string {
	for s != "" && isHexSeparator(s[0]) {
		s = s[1:]
	}
	return s
}

// nextEntry returns the first entry of s (which starts with a non-separator
// or is empty) and the rest of s after the separators that follow it.
func nextEntry(s, separators string) (entry, rest string) {
	i := strings.IndexAny(s, separators)
	if i < 0 {
		return s, ""
	}
	entry, rest = s[:i], s[i+1:]
	for rest != "" && strings.IndexByte(separators, rest[0]) >= 0 {
		rest = rest[1:]
	}
	return entry, rest
}

// decodeHexEntry decodes one entry, with or without the "sha256=" prefix,
// into dst.
func decodeHexEntry(entry string, dst *[sha256.Size]byte) error {
	if i := strings.IndexByte(entry, '='); i >= 0 {
		if !strings.EqualFold(entry[:i+1], signaturePrefix) {
			return fmt.Errorf("%w: unknown scheme prefix", ErrMalformedSignature)
		}
		entry = entry[i+1:]
	}
	switch {
	case entry == "":
		return ErrMissingSignature
	case len(entry)%2 != 0:
		return fmt.Errorf("%w: odd number of hex digits", ErrMalformedSignature)
	case len(entry) != hex.EncodedLen(sha256.Size):
		return fmt.Errorf("%w: %d hex digits, want %d", ErrMalformedSignature, len(entry), hex.EncodedLen(sha256.Size))
	}
	if !decodeHex(entry, dst) {
		return fmt.Errorf("%w: not hex", ErrMalformedSignature)
	}
	return nil
}

// hexValues maps each byte to its value as a hex digit, or to 0xff.
var hexValues = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
		t[strings.ToUpper(string(c))[0]] = byte(i)
	}
	return t
}()

// decodeHex decodes 64 hex digits of either case into dst and reports
// whether all were hex digits. It reads the string in place: no copy, no
// allocation, no branch per digit.
func decodeHex(s string, dst *[sha256.Size]byte) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	var bad byte
	for i := range dst {
		hi, lo := hexValues[s[2*i]], hexValues[s[2*i+1]]
		bad |= hi | lo // a non-digit sets the high bits
		dst[i] = hi<<4 | lo
	}
	return bad < 16
}

// macPool hands out HMAC-SHA256 states keyed with one secret. Keying costs two
// SHA-256 blocks and a few allocations; a pooled state only needs Reset.
type macPool struct {
	key  []byte
	pool sync.Pool
}

// macState is one pooled HMAC state with the buffers a verification needs,
// so that nothing escapes to the heap per call.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
	buf []byte // scratch for the Standard scheme's "id.timestamp." prefix
}

func newMACPool(key []byte) *macPool {
	p := &macPool{key: bytes.Clone(key)}
	p.pool.New = func() any { return &macState{h: hmac.New(sha256.New, p.key)} }
	return p
}

// get returns a reset state; return it with put.
func (p *macPool) get() *macState {
	st := p.pool.Get().(*macState)
	st.h.Reset()
	return st
}

func (p *macPool) put(st *macState) { p.pool.Put(st) }
