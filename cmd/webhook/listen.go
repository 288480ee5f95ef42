package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/onplana/webhook"
)

// Server limits of listen. The timeouts keep a client that trickles its
// headers or body (slowloris) from holding a connection forever.
const (
	listenReadHeaderTimeout = 5 * time.Second
	listenReadTimeout       = 30 * time.Second
	listenWriteTimeout      = 30 * time.Second
	listenIdleTimeout       = 60 * time.Second
	listenShutdownTimeout   = 5 * time.Second
	defaultMaxBody          = 5 << 20 // the receiver middleware's default cap
)

func runListen(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "listen", "[flags]",
		"Listen runs a local receiver. It verifies the signature of every delivery, prints\n"+
			"the event, the delivery id, the signature status and the JSON body, and answers\n"+
			"200 to a valid delivery and 401 to an invalid one. Ctrl-C stops it.\n\n"+
			"With the onplana scheme a signature in X-Onplana-Signature (the sender's newest\n"+
			"secret) or in X-Onplana-Signature-Previous (older secrets during a rotation's\n"+
			"grace period) verifies, so listen holding only the old secret keeps accepting\n"+
			"deliveries until the grace period ends.\n\n"+
			"Example:\n  WEBHOOK_SECRET=whsec_… webhook listen --addr 127.0.0.1:8080 --path /webhook")
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on (port 0 picks a free port)")
	path := fs.String("path", "/webhook", "URL `path` deliveries are POSTed to")
	var secrets secretFlags
	fs.Var(&secrets, "secret", secretHelp)
	var scheme schemeFlag
	fs.Var(&scheme, "scheme", schemeHelp)
	eventHeader := fs.String("event-header", webhook.DefaultEventHeader, "`name` of the event header")
	sigHeader := fs.String("signature-header", webhook.DefaultSignatureHeader, "`name` of the signature header (onplana scheme)")
	prevHeader := fs.String("previous-signature-header", webhook.DefaultPreviousSignatureHeader,
		"`name` of the header of previous signatures, sent during a secret rotation (onplana scheme)")
	maxBody := fs.Int64("max-body", defaultMaxBody, "largest body accepted, in `bytes`; larger ones get 413")
	tolerance := fs.Duration("tolerance", webhook.DefaultTolerance, "standard scheme: how old or new a timestamp may be")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	if !strings.HasPrefix(*path, "/") {
		return usageError(e, fs, "--path must start with /")
	}
	if *maxBody <= 0 {
		return usageError(e, fs, "--max-body must be positive")
	}
	keys := secrets.resolve(e)
	if len(keys) == 0 {
		return usageError(e, fs, "no secret: pass --secret or set %s", secretEnv)
	}
	chk, err := newChecker(webhook.ReceiverConfig{
		Scheme: scheme.scheme(), Tolerance: *tolerance, MaxBodyBytes: *maxBody,
		EventHeader: *eventHeader, SignatureHeader: *sigHeader, PreviousSignatureHeader: *prevHeader,
	}, keys)
	if err != nil {
		return usageError(e, fs, "%v", err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "webhook listen: %v\n", err)
		return exitFail
	}
	l := &listener{check: chk, out: e.stdout, maxBody: *maxBody, eventHeader: *eventHeader}
	mux := http.NewServeMux()
	mux.Handle(*path, l)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: listenReadHeaderTimeout,
		ReadTimeout:       listenReadTimeout,
		WriteTimeout:      listenWriteTimeout,
		IdleTimeout:       listenIdleTimeout,
	}
	fmt.Fprintf(e.stdout, "Listening on http://%s%s (scheme %s). Press Ctrl-C to stop.\n", ln.Addr(), *path, chk.scheme)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served: // Serve only returns early on a listener failure
		fmt.Fprintf(e.stderr, "webhook listen: %v\n", err)
		return exitFail
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), listenShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	<-served // http.ErrServerClosed once Shutdown has closed the listener
	if err != nil {
		fmt.Fprintf(e.stderr, "webhook listen: shutdown: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "Stopped; deliveries received: %d.\n", l.count())
	return exitOK
}

// listener is listen's handler: it verifies and prints each delivery.
type listener struct {
	check       *checker
	out         io.Writer
	maxBody     int64
	eventHeader string

	mu sync.Mutex // serialises printing, so deliveries never interleave
	n  int
}

func (l *listener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, l.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			l.report(r, nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", l.maxBody))
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		l.report(r, nil, http.StatusBadRequest, "reading body: "+err.Error())
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	// The signature is checked on the raw bytes before anything else looks
	// at them.
	if err := l.check.checkRequest(r.Header, body); err != nil {
		l.report(r, body, http.StatusUnauthorized, "INVALID: "+explain(err))
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	if !json.Valid(body) {
		l.report(r, body, http.StatusBadRequest, "valid, but the body is not JSON")
		http.Error(w, "body is not JSON", http.StatusBadRequest)
		return
	}
	l.report(r, body, http.StatusOK, "valid")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// report prints one delivery: when, the event, the delivery id, the
// signature status, the body and the answer.
func (l *listener) report(r *http.Request, body []byte, status int, signature string) {
	var env struct {
		DeliveryID string `json:"delivery_id"`
		Event      string `json:"event"`
	}
	_ = json.Unmarshal(body, &env) // best effort: an invalid body prints as is
	event := firstNonEmpty(env.Event, r.Header.Get(l.eventHeader))
	delivery := firstNonEmpty(env.DeliveryID, r.Header.Get(webhook.StandardIDHeader))

	var b bytes.Buffer
	fmt.Fprintf(&b, "─── %s  %s %s from %s\n", time.Now().UTC().Format(time.RFC3339), r.Method, printable(r.URL.Path), r.RemoteAddr)
	fmt.Fprintf(&b, "event:      %s\n", printable(firstNonEmpty(event, "(none)")))
	fmt.Fprintf(&b, "delivery:   %s\n", printable(firstNonEmpty(delivery, "(none)")))
	fmt.Fprintf(&b, "signature:  %s (scheme %s)\n", signature, l.check.scheme)
	if len(body) > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, body, "", "  ") == nil {
			b.Write(pretty.Bytes())
		} else {
			b.WriteString(printable(string(body[:min(len(body), 2048)])))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "→ %d %s\n\n", status, http.StatusText(status))

	// Valid JSON escapes C0 controls, but a JSON string may hold C1
	// controls (U+009B is CSI, which starts a terminal escape sequence on
	// its own) and bidi overrides raw, and anything of the request may end
	// up in b: all of it passes through terminalSafe.
	out := terminalSafe(b.Bytes())
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	l.out.Write(out)
}

// terminalSafe returns b with everything that could drive a terminal or
// disguise text escaped: C0 controls but newline and tab, DEL, C1
// controls and the Unicode bidi controls (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069) and line separators (U+2028, U+2029) as
// \uXXXX, bytes that are not UTF-8 as \xXX. The rest, printable text in
// any script, is kept as it is.
func terminalSafe(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			out = fmt.Appendf(out, `\x%02x`, b[0])
		case r == '\n' || r == '\t':
			out = append(out, b[0])
		case r < 0x20, 0x7f <= r && r <= 0x9f, r == 0x061c, r == 0x200e, r == 0x200f,
			0x2028 <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069:
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// printable returns s, quoted if it holds anything but printable characters:
// a delivery is untrusted input and must not send escape sequences to the
// user's terminal.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
