package webhook

import (
	"errors"
	"time"
)

// STUB (skeleton): the signing helper replaces the bodies; signatures are the contract.

// Header names of the Standard Webhooks scheme.
const (
	StandardIDHeader        = "webhook-id"
	StandardTimestampHeader = "webhook-timestamp"
	StandardSignatureHeader = "webhook-signature"
)

// DefaultTolerance is how far a Standard Webhooks timestamp may be from now.
const DefaultTolerance = 5 * time.Minute

// ErrTimestamp reports a Standard Webhooks timestamp missing, malformed or
// outside the tolerance.
var ErrTimestamp = errors.New("webhook: timestamp outside tolerance")

// SignStandard returns the webhook-signature value ("v1,<base64>") of body for
// the message id and timestamp under secret (a "whsec_" secret).
func SignStandard(secret Secret, id string, timestamp time.Time, body []byte) (string, error) {
	panic("unimplemented")
}

// StandardVerifier verifies Standard Webhooks signatures. Safe for concurrent use.
type StandardVerifier struct{}

// StandardVerifierConfig configures a StandardVerifier; the zero value is usable.
type StandardVerifierConfig struct {
	// Tolerance is how far the timestamp may be from now, both ways.
	// Defaults to DefaultTolerance.
	Tolerance time.Duration
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// NewStandardVerifier returns a verifier for secrets.
func NewStandardVerifier(cfg *StandardVerifierConfig, secrets ...Secret) (*StandardVerifier, error) {
	panic("unimplemented")
}

// Verify checks the three Standard Webhooks header values against body.
func (v *StandardVerifier) Verify(body []byte, id, timestamp, signature string) error {
	panic("unimplemented")
}
