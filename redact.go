package webhook

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// redactedMark replaces the secret-bearing parts of a URL.
const redactedMark = "[REDACTED]"

// RedactURL returns raw reduced to scheme://host[:port]/ with everything
// that can carry a credential removed: userinfo and fragment are dropped,
// and a non-empty path or query is replaced by "[REDACTED]". Endpoint URLs
// are secrets in their own right (a Slack incoming-webhook URL is the only
// credential needed to post to the channel), so logs and errors must only
// ever show the redacted form. A string that does not parse as an absolute
// URL is redacted entirely.
//
//	RedactURL("https://hooks.slack.com/services/T0/B0/XXXX") == "https://hooks.slack.com/[REDACTED]"
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return redactedMark
	}
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	// u.Host is what url.Parse accepted as host[:port]; it holds no path,
	// query or userinfo.
	b.WriteString(u.Host)
	b.WriteByte('/')
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery {
		b.WriteString(redactedMark)
	}
	return b.String()
}

// RedactError returns err with any endpoint URL in it redacted (see
// RedactURL), for logs and the delivery log. The errors returned by
// http.Client are *url.Error values whose message prints the full request
// URL; RedactError replaces that URL while keeping the error chain, so
// errors.Is, errors.As and the Timeout method still work. A *url.Error is
// returned as a *url.Error. RedactError returns nil for nil and err itself
// when it carries no *url.Error.
func RedactError(err error) error {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	red := &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: RedactError(ue.Err)}
	if err == error(ue) {
		return red
	}
	// The *url.Error is wrapped: every wrapper's message embeds its text.
	return &redactedError{
		msg: strings.ReplaceAll(err.Error(), ue.Error(), red.Error()),
		err: err,
	}
}

// redactedError is an error whose message has been redacted but whose
// chain is the original one.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// attemptErrorText is the text of an attempt's error in the delivery log:
// RedactError's, except that an address the SSRF guard refused is not
// named. The log is read by the subscription's owner, who chose the host
// name; telling them what it resolved to inside the sender's network would
// let them map its internal DNS by registering names. The refusal and its
// reason ("address not allowed: loopback") remain.
func attemptErrorText(err error) string {
	var be *BlockedAddressError
	if !errors.As(err, &be) {
		return RedactError(err).Error()
	}
	msg := "webhook: address not allowed: " + be.Reason
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Op + " " + strconv.Quote(RedactURL(ue.URL)) + ": " + msg
	}
	return msg
}
