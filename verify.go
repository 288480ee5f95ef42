package webhook

import "errors"

// STUB (skeleton): the signing helper replaces the bodies; signatures are the contract.

// Verification errors.
var (
	ErrMissingSignature   = errors.New("webhook: missing signature")
	ErrMalformedSignature = errors.New("webhook: malformed signature")
	ErrSignatureMismatch  = errors.New("webhook: no matching signature")
	ErrNoSecret           = errors.New("webhook: no usable secret")
)

// Verify reports whether signature is a valid Onplana signature of body under
// any of secrets.
func Verify(body []byte, signature string, secrets ...[]byte) error { panic("unimplemented") }

// Verifier verifies Onplana signatures with secrets given once. It is safe
// for concurrent use.
type Verifier struct{}

// NewVerifier returns a Verifier for secrets; ErrNoSecret if none is usable.
func NewVerifier(secrets ...[]byte) (*Verifier, error) { panic("unimplemented") }

// Verify is like the package-level Verify with the Verifier's secrets.
func (v *Verifier) Verify(body []byte, signature string) error { panic("unimplemented") }
