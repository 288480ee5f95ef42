package webhook

import (
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"
)

// Limits on a secret the caller brings (SubscriptionParams.Secret).
const (
	// MinImportedSecretLength is the shortest secret accepted that is not in
	// the whsec_ form, in bytes.
	MinImportedSecretLength = 32
	// MaxImportedSecretLength is the longest secret accepted, in bytes.
	MaxImportedSecretLength = 256
	// MinImportedKeyLength and MaxImportedKeyLength bound the decoded key
	// of a whsec_ secret, in bytes, as Svix and the Standard Webhooks
	// libraries do. NewSecret's keys are 32 bytes.
	MinImportedKeyLength = 24
	MaxImportedKeyLength = 64
)

// minSecretEntropy is the floor, in bits, of the entropy a secret's
// characters show (see secretEntropyBits): random secrets of the accepted
// lengths show 90 bits or more, placeholders and words far fewer.
const minSecretEntropy = 80

// ErrWeakSecret is matched (with errors.Is) by the error of
// CreateSubscription refusing a secret brought by the caller
// (SubscriptionParams.Secret) that is too short, has a character a secret
// must not have, or is too regular to be random.
var ErrWeakSecret = errors.New("webhook: secret refused")

// validateSecret checks a secret brought by the caller, such as an existing
// customer's secret kept when migrating from another webhook system. It
// accepts
//
//   - the whsec_ form: SecretPrefix followed by standard base64 (padded or
//     not) of MinImportedKeyLength to MaxImportedKeyLength bytes, as
//     NewSecret, Svix and Stripe make them. It works with both schemes;
//   - any other string of MinImportedSecretLength to
//     MaxImportedSecretLength printable ASCII characters without spaces
//     (the Onplana scheme keys the HMAC with its bytes; the Standard
//     scheme needs the whsec_ form).
//
// In both forms the characters must not be a short pattern repeated, and
// the entropy they show, counted from how often each character occurs,
// must reach 80 bits. That floor refuses placeholders and patterns; it
// cannot tell a memorable phrase from a random string, so generate secrets
// with NewSecret when there is a choice.
//
// The error is a *ValidationError for the field "Secret" wrapping
// ErrWeakSecret; it never contains the secret.
func validateSecret(s Secret) error {
	refuse := func(reason string) error {
		return &ValidationError{Field: "Secret", Reason: reason, Err: ErrWeakSecret}
	}
	v := s.Reveal()
	if len(v) > MaxImportedSecretLength {
		return refuse("longer than " + strconv.Itoa(MaxImportedSecretLength) + " bytes")
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return refuse("has a character other than printable ASCII, or a space, at byte " + strconv.Itoa(i))
		}
	}
	material := v
	if rest, ok := strings.CutPrefix(v, SecretPrefix); ok {
		key, err := base64.StdEncoding.Strict().DecodeString(rest)
		if err != nil {
			key, err = base64.RawStdEncoding.Strict().DecodeString(rest)
		}
		switch {
		case err != nil:
			return refuse("the part after " + SecretPrefix + " is not standard base64")
		case len(key) < MinImportedKeyLength || len(key) > MaxImportedKeyLength:
			return refuse("a " + SecretPrefix + " secret must decode to " + strconv.Itoa(MinImportedKeyLength) + " to " +
				strconv.Itoa(MaxImportedKeyLength) + " bytes, not " + strconv.Itoa(len(key)))
		}
		material = rest
	} else if len(v) < MinImportedSecretLength {
		return refuse("shorter than " + strconv.Itoa(MinImportedSecretLength) + " bytes")
	}
	if p := period(material); p < len(material) {
		return refuse("a pattern of " + strconv.Itoa(p) + " characters repeated")
	}
	if bits := secretEntropyBits(material); bits < minSecretEntropy {
		return refuse("too regular to be random (about " + strconv.Itoa(int(bits)) + " bits of entropy, at least " +
			strconv.Itoa(minSecretEntropy) + " needed)")
	}
	return nil
}

// secretEntropyBits estimates the entropy of s from the frequency of its
// bytes: its length times their Shannon entropy.
func secretEntropyBits(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	bits := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			bits -= p * math.Log2(p)
		}
	}
	return bits * n
}

// period returns the length of the shortest prefix of s that, repeated,
// makes s (the last repetition may be cut short); len(s) when there is
// none shorter than half of s.
func period(s string) int {
	for p := 1; p <= len(s)/2; p++ {
		if s[p:] == s[:len(s)-p] {
			return p
		}
	}
	return len(s)
}

// firstSecret returns the first secret of a new subscription: s, checked,
// or a new one.
func (d *Dispatcher) firstSecret(s Secret) (Secret, error) {
	if s == "" {
		return NewSecret(), nil
	}
	if err := validateSecret(s); err != nil {
		return "", err
	}
	if d.cfg.Scheme == SchemeStandard && !strings.HasPrefix(s.Reveal(), SecretPrefix) {
		return "", &ValidationError{Field: "Secret", Reason: "the Standard Webhooks scheme (Config.Scheme) needs a " +
			SecretPrefix + " secret", Err: ErrWeakSecret}
	}
	return s, nil
}
