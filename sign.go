package webhook

// STUB (skeleton): the signing helper replaces the bodies; signatures are the contract.

// Default header names of the Onplana scheme.
const (
	DefaultEventHeader     = "X-Onplana-Event"
	DefaultSignatureHeader = "X-Onplana-Signature"
)

// SecretPrefix starts every secret made by NewSecret.
const SecretPrefix = "whsec_"

// Sign returns the lowercase hex HMAC-SHA256 of body keyed with secret: the
// value of the X-Onplana-Signature header.
func Sign(secret, body []byte) string { panic("unimplemented") }

// NewSecret returns a new secret: SecretPrefix followed by the base64 of 32
// bytes from crypto/rand.
func NewSecret() Secret { panic("unimplemented") }

// Scheme names a signature format.
type Scheme string

// Signature schemes.
const (
	// SchemeOnplana signs the raw body: X-Onplana-Signature = hex HMAC-SHA256.
	SchemeOnplana Scheme = "onplana"
	// SchemeStandard follows the Standard Webhooks specification.
	SchemeStandard Scheme = "standard"
)
