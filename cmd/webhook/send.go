package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/snippet"
	"github.com/onplana/webhook/internal/sortid"
)

// maxDataBytes caps what send reads from --data: the dispatcher's default
// payload cap is of the same order.
const maxDataBytes = 5 << 20

func runSend(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "send", "--url URL --event TYPE [flags]",
		"Send builds a delivery envelope, signs it and POSTs it, like the dispatcher\n"+
			"would: through the same guarded client (internal addresses refused, no proxy,\n"+
			"no redirects, a timeout). It prints the status, the latency and the start of\n"+
			"the response, and exits 1 unless the answer is 2xx.\n\n"+
			"The body is the catalog's sample for TYPE, or --data: a JSON file (- for\n"+
			"standard input) holding either a whole envelope (with \"event\" and \"data\")\n"+
			"or just the data object. delivery_id, event_id and timestamp are fresh.\n\n"+
			"Example:\n  webhook send --url http://127.0.0.1:8080/webhook --allow-private --event task.updated")
	rawURL := fs.String("url", "", "endpoint `URL` (http or https)")
	event := fs.String("event", string(webhook.EventPing), "event `type`, see \"webhook catalog\"")
	data := fs.String("data", "", "`file` with the envelope or data object; - reads standard input")
	org := fs.String("org", "", "organization_id of the envelope (default: the sample's)")
	project := fs.String("project", "", "project_id of the envelope (default: the sample's)")
	deliveryID := fs.String("delivery-id", "", "use this delivery_id instead of a fresh one (to test deduplication)")
	var secrets secretFlags
	fs.Var(&secrets, "secret", secretHelp)
	var scheme schemeFlag
	fs.Var(&scheme, "scheme", schemeHelp)
	eventHeader := fs.String("event-header", webhook.DefaultEventHeader, "`name` of the event header")
	sigHeader := fs.String("signature-header", webhook.DefaultSignatureHeader, "`name` of the signature header (onplana scheme)")
	prevHeader := fs.String("previous-signature-header", webhook.DefaultPreviousSignatureHeader,
		"`name` of the header carrying the signatures of the second and later --secret (onplana scheme)")
	allowPrivate := fs.Bool("allow-private", false, "allow loopback and private addresses (local development)")
	timeout := fs.Duration("timeout", webhook.DefaultAttemptTimeout, "deadline for the whole request")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	if err := checkSendURL(*rawURL); err != nil {
		return usageError(e, fs, "%v", err)
	}
	typ := webhook.EventType(*event)
	if !typ.Known() {
		return usageError(e, fs, "%s", unknownEventType(*event))
	}
	if *timeout <= 0 {
		return usageError(e, fs, "--timeout must be positive")
	}
	keys := secrets.resolve(e)
	if len(keys) == 0 {
		return usageError(e, fs, "no secret: pass --secret or set %s", secretEnv)
	}

	var given []byte
	if *data != "" {
		var err error
		if given, err = readData(e, *data); err != nil {
			fmt.Fprintf(e.stderr, "webhook send: %v\n", err)
			return exitUsage
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	body, ev, err := buildEnvelope(typ, given, *org, *project, *deliveryID, now)
	if err != nil {
		fmt.Fprintf(e.stderr, "webhook send: %v\n", err)
		return exitUsage
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *rawURL, bytes.NewReader(body))
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	signer := webhook.Signer{Scheme: scheme.scheme(), EventHeader: *eventHeader, SignatureHeader: *sigHeader, PreviousSignatureHeader: *prevHeader}
	if err := signRequest(req.Header, signer, keys, ev, now, body); err != nil {
		return usageError(e, fs, "%v", err)
	}

	client, err := webhook.NewClient(webhook.ClientConfig{Timeout: *timeout, AllowPrivateNetworks: *allowPrivate})
	if err != nil {
		fmt.Fprintf(e.stderr, "webhook send: %v\n", err)
		return exitUsage
	}
	// The URL is shown as typed: it is the user's own, on the user's own
	// terminal (the library redacts endpoint URLs in what it logs).
	fmt.Fprintf(e.stdout, "POST %s  %s  %s  (scheme %s, %d bytes)\n", *rawURL, ev.Type, ev.DeliveryID, scheme.scheme(), len(body))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(e.stdout, "✗ failed after %s: %v\n", time.Since(start).Round(time.Microsecond), err)
		if errors.Is(err, webhook.ErrBlockedAddress) && !*allowPrivate {
			fmt.Fprintln(e.stdout, "  the address is internal; pass --allow-private to send to it anyway")
		}
		return exitFail
	}
	defer resp.Body.Close()
	answer, readErr := snippet.Read(resp.Body, webhook.DefaultSnippetBytes)
	latency := time.Since(start)
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	mark := "✓"
	if !ok {
		mark = "✗"
	}
	fmt.Fprintf(e.stdout, "%s %s in %s\n", mark, resp.Status, latency.Round(time.Microsecond))
	if answer = strings.TrimSpace(answer); answer != "" {
		fmt.Fprintf(e.stdout, "response: %s\n", printable(answer))
	}
	if readErr != nil {
		fmt.Fprintf(e.stdout, "response body: %v\n", readErr)
	}
	if !ok {
		return exitFail
	}
	return exitOK
}

// checkSendURL accepts absolute http and https URLs without credentials.
func checkSendURL(raw string) error {
	if raw == "" {
		return errors.New("--url is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("--url is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("--url must be http or https, not %q", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("--url has no host")
	}
	if u.User != nil {
		return errors.New("--url must not hold credentials")
	}
	return nil
}

// readData reads the --data file, or standard input for "-", up to
// maxDataBytes.
func readData(e *env, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = e.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxDataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read --data: %w", err)
	}
	if len(b) > maxDataBytes {
		return nil, fmt.Errorf("--data is over %d bytes", maxDataBytes)
	}
	return b, nil
}

// buildEnvelope returns the body to send and the event it encodes. given is
// the --data content: a whole envelope, a data object, or nil for the
// catalog's sample of typ. The ids and the timestamp are always fresh
// (deliveryID, when set, is kept), and org and project override the
// envelope's when set.
func buildEnvelope(typ webhook.EventType, given []byte, org, project, deliveryID string, now time.Time) ([]byte, webhook.Event, error) {
	var ev webhook.Event
	if given == nil {
		sample, err := catalogSample(typ)
		if err != nil {
			return nil, ev, err
		}
		given = sample
	}
	if err := decodeGiven(given, &ev); err != nil {
		return nil, ev, err
	}
	ev.Type = typ
	ev.ID = newID("evt_")
	ev.DeliveryID = deliveryID
	if ev.DeliveryID == "" {
		ev.DeliveryID = newID("dlv_")
	}
	ev.Timestamp = now
	if org != "" {
		ev.OrganizationID = org
	}
	if ev.OrganizationID == "" {
		ev.OrganizationID = "org_local"
	}
	if project != "" {
		ev.ProjectID = project
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, ev, fmt.Errorf("encode envelope: %w", err)
	}
	return body, ev, nil
}

// decodeGiven fills ev from an envelope, or sets ev.Data to a data object.
func decodeGiven(given []byte, ev *webhook.Event) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(given, &top); err != nil {
		return fmt.Errorf("--data is not a JSON object: %w", err)
	}
	_, hasEvent := top["event"]
	_, hasData := top["data"]
	if hasEvent && hasData {
		if err := json.Unmarshal(given, ev); err != nil {
			return fmt.Errorf("--data is not a valid envelope: %w", err)
		}
		if len(ev.Data) == 0 || ev.Data[0] != '{' {
			return errors.New(`--data: the envelope's "data" must be an object`)
		}
		return nil
	}
	ev.Data = json.RawMessage(bytes.TrimSpace(given))
	return nil
}

// signRequest sets the headers the dispatcher sends: content type, user
// agent, delivery id, and the event and signature headers of the scheme,
// written by the same webhook.Signer.
func signRequest(h http.Header, sg webhook.Signer, secrets []string, ev webhook.Event, at time.Time, body []byte) error {
	keys := make([]webhook.Secret, len(secrets))
	for i, s := range secrets {
		keys[i] = webhook.Secret(s)
	}
	if err := sg.SignRequest(h, keys, ev.DeliveryID, ev.Type, at, body); err != nil {
		return err
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "webhook-cli (+https://github.com/onplana/webhook)")
	h.Set(webhook.DefaultDeliveryHeader, ev.DeliveryID)
	return nil
}

// newID returns an id in the library's format: prefix, then 26 base32
// characters encoding the current millisecond and 80 random bits.
func newID(prefix string) string {
	var low [10]byte
	rand.Read(low[:])
	return sortid.Encode(prefix, uint64(time.Now().UnixMilli()), low)
}
