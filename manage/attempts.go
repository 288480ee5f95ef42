package manage

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onplana/webhook"
)

// The portal explains a failed attempt in plain words. The library's
// Attempt.Error is written for logs ("webhook: endpoint answered 500
// Internal Server Error"; a *url.Error chain for a connection); the API
// keeps it as it is, and the portal derives a sentence from the attempt's
// ErrorClass and status code, keeping from the error only the final cause
// of a connection failure ("connection refused", "no such host").

// blockedRE reads the kind of network of the SSRF guard's error
// (webhook.BlockedAddressError), and the address when the log names it
// (newer libraries leave it out of the log, as the subscription's owner
// must not learn what a host name resolves to inside the sender's
// network).
var blockedRE = regexp.MustCompile(`address (?:(\S+) )?not allowed: ([^;]+)$`)

// describeFailure returns a sentence saying why an attempt failed, from its
// error class (empty when unknown, as for a delivery's last error), its
// status code (0 without a response) and its error text.
func describeFailure(class webhook.ErrorClass, status int, errText string) string {
	if class == "" {
		class = guessClass(status, errText)
	}
	switch class {
	case webhook.ErrorClassStatus:
		text := http.StatusText(status)
		answered := "The endpoint answered " + strings.TrimSpace(strconv.Itoa(status)+" "+text) + "."
		switch {
		case status >= 300 && status <= 399:
			return answered + " Redirects are not followed: register the URL the endpoint redirects to."
		case status == http.StatusGone:
			return answered + " The webhook was disabled, as 410 asks."
		}
		if _, after, ok := strings.Cut(errText, "; Retry-After "); ok {
			return answered + " It asked to wait " + after + " before the next attempt."
		}
		return answered
	case webhook.ErrorClassTimeout:
		return "The endpoint did not answer in time."
	case webhook.ErrorClassBlocked:
		if m := blockedRE.FindStringSubmatch(errText); m != nil {
			return "Nothing was sent: " + notPublic(m[1], m[2])
		}
		return "Nothing was sent: the endpoint's address is not a public internet address, and webhooks are only sent to those."
	case webhook.ErrorClassConnection:
		return "Could not reach the endpoint: " + connectionCause(errText) + "."
	}
	if errText == "" {
		return "The attempt failed."
	}
	return sentence(strings.TrimPrefix(errText, "webhook: "))
}

// notPublic says, for people, that addr (or the endpoint's address, when
// addr is "") is not a public address, from the kind of network the SSRF
// guard named (webhook.BlockedAddressError's Reason, such as "private
// network (RFC 1918)").
func notPublic(addr, network string) string {
	if addr == "" {
		addr = "the endpoint's address"
	}
	var where string
	switch {
	case strings.HasPrefix(network, "private network"), strings.HasPrefix(network, "unique-local"):
		where = "on a private network"
	case network == "loopback":
		where = "a loopback address (the sending server itself)"
	case strings.HasPrefix(network, "link-local"):
		where = "a link-local address, such as a cloud metadata service's"
	case strings.HasPrefix(network, "shared address space"):
		where = "in carrier-grade NAT address space"
	default:
		where = "in a reserved address range"
	}
	return addr + " is " + where + ", and webhooks are only sent to public internet addresses."
}

// guessClass infers the class of a delivery's last error, which the store
// keeps without it.
func guessClass(status int, errText string) webhook.ErrorClass {
	switch {
	case status != 0 && strings.Contains(errText, "endpoint answered"):
		return webhook.ErrorClassStatus
	case blockedRE.MatchString(errText):
		return webhook.ErrorClassBlocked
	case strings.Contains(errText, "timeout") || strings.Contains(errText, "deadline exceeded"):
		return webhook.ErrorClassTimeout
	case strings.HasPrefix(errText, "Post ") || strings.Contains(errText, "dial tcp"):
		return webhook.ErrorClassConnection
	}
	return webhook.ErrorClassOther
}

// connectionCause returns the last link of an error chain ("Post
// \"https://h/[REDACTED]\": dial tcp 1.2.3.4:443: connect: connection
// refused" gives "connection refused"), in words for the common ones.
func connectionCause(errText string) string {
	cause := errText
	if i := strings.LastIndex(cause, ": "); i >= 0 {
		cause = cause[i+2:]
	}
	switch cause = strings.TrimSpace(cause); {
	case cause == "EOF" || cause == "unexpected EOF":
		return "the connection closed before an answer"
	case cause == "connection refused":
		return "the connection was refused"
	case cause == "connection reset by peer":
		return "the connection was reset"
	case cause == "no such host":
		return "the host name does not resolve"
	case strings.Contains(errText, "x509:") || strings.Contains(errText, "tls:"):
		return "its TLS certificate was refused (" + cause + ")"
	case cause == "":
		return "the connection failed"
	}
	return cause
}

// sentence capitalizes s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = strings.ToUpper(string(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// pingResult is the outcome of a Test Ping, carried to the webhook's page
// in a sealed cookie (see flash): the attempt's facts, capped so the
// cookie stays small.
type pingResult struct {
	Success    bool    `json:"ok"`
	Recorded   bool    `json:"rec"`
	DeliveryID string  `json:"dlv,omitempty"`
	StatusCode int     `json:"st,omitempty"`
	ErrorClass string  `json:"cls,omitempty"`
	Error      string  `json:"err,omitempty"`
	Snippet    string  `json:"snip,omitempty"`
	DurationMS float64 `json:"ms"`
}

// Caps of the fields of a pingResult: a cookie holds about 4 KB, and the
// page shows a ping's full attempt in the log when it is recorded.
const (
	pingErrorCap   = 400
	pingSnippetCap = 600
)

func newPingResult(a *webhook.Attempt, recorded bool) pingResult {
	p := pingResult{
		Success:    a.ErrorClass == "" && a.StatusCode >= 200 && a.StatusCode <= 299,
		Recorded:   recorded,
		StatusCode: a.StatusCode,
		ErrorClass: string(a.ErrorClass),
		Error:      truncate(a.Error, pingErrorCap),
		Snippet:    truncate(a.ResponseSnippet, pingSnippetCap),
		DurationMS: float64(a.Duration.Microseconds()) / 1000,
	}
	if recorded {
		p.DeliveryID = a.DeliveryID
	}
	return p
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// pingView is a Test Ping's result as the webhook's page shows it.
type pingView struct {
	Success  bool
	Recorded bool
	Summary  string // why it failed; empty on success
	Status   int
	Latency  string
	Snippet  string
	Href     string // the ping's delivery page when recorded
}

func (h *Handler) pingView(org string, raw []byte) *pingView {
	var p pingResult
	if json.Unmarshal(raw, &p) != nil {
		return nil
	}
	v := &pingView{
		Success: p.Success, Recorded: p.Recorded, Status: p.StatusCode, Snippet: p.Snippet,
		Latency: strconv.FormatFloat(p.DurationMS, 'f', 1, 64) + " ms",
	}
	if !p.Success {
		v.Summary = describeFailure(webhook.ErrorClass(p.ErrorClass), p.StatusCode, p.Error)
	}
	if p.Recorded && p.DeliveryID != "" {
		v.Href = h.orgPath(org, "deliveries", p.DeliveryID)
	}
	return v
}

// msString formats a duration for the pages.
func msString(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}
