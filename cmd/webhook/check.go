package main

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

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

// checker verifies deliveries of one scheme with the secrets given once,
// through a webhook.Receiver: the checks a receiver built on the library
// makes, in its order.
type checker struct {
	scheme webhook.Scheme
	rv     *webhook.Receiver
}

// newChecker returns a checker for secrets with the scheme, header names,
// tolerance and body cap of cfg. The onplana scheme keys the HMAC with the
// secret's bytes as written; the standard scheme needs "whsec_" secrets.
func newChecker(cfg webhook.ReceiverConfig, secrets []string) (*checker, error) {
	cfg.Secrets = make([]webhook.Secret, len(secrets))
	for i, s := range secrets {
		cfg.Secrets[i] = webhook.Secret(s)
	}
	cfg.Logger = slog.New(slog.DiscardHandler) // the tool prints its own report
	rv, err := webhook.NewReceiver(cfg)
	if err != nil {
		return nil, err
	}
	return &checker{scheme: cmp.Or(cfg.Scheme, webhook.SchemeOnplana), rv: rv}, nil
}

// checkRequest verifies body against the signature headers in h: for the
// onplana scheme a match in X-Onplana-Signature or
// X-Onplana-Signature-Previous verifies. Only the signature is judged: the
// Receiver verifies before it reads the body, so a body that is not an
// Onplana envelope (ErrInvalidEnvelope), which the tool reports on its own,
// was signed correctly.
func (c *checker) checkRequest(h http.Header, body []byte) error {
	_, err := c.rv.VerifyEvent(h, body)
	if errors.Is(err, webhook.ErrInvalidEnvelope) {
		return nil
	}
	return err
}

// check verifies body against a signature given by hand: for the onplana
// scheme the values of X-Onplana-Signature and X-Onplana-Signature-Previous
// (either may be empty), for the standard scheme those of webhook-signature,
// webhook-id and webhook-timestamp.
func (c *checker) check(body []byte, signature, previous, id, timestamp string) error {
	h := http.Header{}
	set := func(key, value string) {
		if value != "" {
			h.Set(key, value)
		}
	}
	if c.scheme == webhook.SchemeStandard {
		set(webhook.StandardSignatureHeader, signature)
		set(webhook.StandardIDHeader, id)
		set(webhook.StandardTimestampHeader, timestamp)
	} else {
		set(webhook.DefaultSignatureHeader, signature)
		set(webhook.DefaultPreviousSignatureHeader, previous)
	}
	return c.checkRequest(h, body)
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
