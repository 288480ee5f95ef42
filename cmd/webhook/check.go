package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/onplana/webhook"
)

// schemeFlag is the --scheme flag: onplana (the default) or standard.
type schemeFlag webhook.Scheme

func (s *schemeFlag) String() string {
	if *s == "" {
		return string(webhook.SchemeOnplana)
	}
	return string(*s)
}

func (s *schemeFlag) Set(v string) error {
	switch webhook.Scheme(v) {
	case webhook.SchemeOnplana, webhook.SchemeStandard:
		*s = schemeFlag(v)
		return nil
	}
	return fmt.Errorf("unknown scheme %q (want %s or %s)", v, webhook.SchemeOnplana, webhook.SchemeStandard)
}

func (s schemeFlag) scheme() webhook.Scheme {
	if s == "" {
		return webhook.SchemeOnplana
	}
	return webhook.Scheme(s)
}

const schemeHelp = "signature `scheme`: onplana (X-Onplana-Signature) or standard (Standard Webhooks)"

// checker verifies deliveries of one scheme with the secrets given once.
type checker struct {
	scheme     webhook.Scheme
	sigHeader  string // the onplana scheme's signature header
	prevHeader string // and its header of previous signatures (rotation)
	onplana    *webhook.Verifier
	standard   *webhook.StandardVerifier
}

// newChecker returns a checker for secrets. The onplana scheme keys the HMAC
// with the secret's bytes as written; the standard scheme needs "whsec_"
// secrets. tolerance bounds the age of a Standard Webhooks timestamp.
func newChecker(scheme webhook.Scheme, secrets []string, tolerance time.Duration) (*checker, error) {
	c := &checker{scheme: scheme, sigHeader: webhook.DefaultSignatureHeader, prevHeader: webhook.DefaultPreviousSignatureHeader}
	var err error
	switch scheme {
	case webhook.SchemeStandard:
		ss := make([]webhook.Secret, len(secrets))
		for i, s := range secrets {
			ss[i] = webhook.Secret(s)
		}
		c.standard, err = webhook.NewStandardVerifier(&webhook.StandardVerifierConfig{Tolerance: tolerance}, ss...)
	default:
		ss := make([]webhook.Secret, len(secrets))
		for i, s := range secrets {
			ss[i] = webhook.Secret(s)
		}
		c.onplana, err = webhook.NewVerifier(ss...)
	}
	return c, err
}

// checkRequest verifies body against the signature headers in h.
func (c *checker) checkRequest(h http.Header, body []byte) error {
	if c.scheme == webhook.SchemeStandard {
		return c.check(body, h.Get(webhook.StandardSignatureHeader),
			h.Get(webhook.StandardIDHeader), h.Get(webhook.StandardTimestampHeader))
	}
	return c.check(body, joinSignatures(h.Get(c.sigHeader), h.Get(c.prevHeader)), "", "")
}

// check verifies body against a signature (and, in the standard scheme, the
// message id and timestamp it covers). For the onplana scheme, signature
// may hold the entries of the signature header and of the previous
// signatures header, space-separated: a match in either verifies.
func (c *checker) check(body []byte, signature, id, timestamp string) error {
	if c.scheme == webhook.SchemeStandard {
		return c.standard.Verify(body, id, timestamp, signature)
	}
	return c.onplana.Verify(body, signature)
}

// joinSignatures returns the entries of the onplana scheme's signature
// header and of its header of previous signatures as one space-separated
// list, which webhook.Verify accepts.
func joinSignatures(current, previous string) string {
	return strings.TrimSpace(current + " " + previous)
}

// explain turns a verification error into the sentence printed to the user.
func explain(err error) string {
	switch {
	case errors.Is(err, webhook.ErrSignatureMismatch):
		return "signature does not match: wrong secret, or the body was changed after signing (" + err.Error() + ")"
	case errors.Is(err, webhook.ErrMissingSignature):
		return "no signature header (" + err.Error() + ")"
	case errors.Is(err, webhook.ErrMalformedSignature):
		return "the signature is not in the scheme's format; check --scheme (" + err.Error() + ")"
	case errors.Is(err, webhook.ErrTimestamp):
		return "timestamp missing, malformed or outside the tolerance: a replay, or a clock off (" + err.Error() + ")"
	}
	return err.Error()
}
