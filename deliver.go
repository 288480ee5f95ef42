package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onplana/webhook/internal/snippet"
)

// drainBytes is how much of a response body is read past the snippet so
// that a short answer leaves its connection reusable; anything longer is
// cut by closing the connection.
const drainBytes = 4 << 10

// outcome is what an attempt means for the delivery beyond its Attempt
// record.
type outcome struct {
	success    bool
	gone       bool          // 410 Gone: the endpoint asks to stop
	retryAfter time.Duration // a capped Retry-After on 429/502/503/504
	aborted    bool          // the caller's context ended: not the endpoint's fault
}

// process runs one claimed delivery: it checks its subscription (see
// Dispatcher.subscription; a subscription read again is sent to its URL
// of now), makes the attempt (with the deadline of timer)
// and hands it to the recorders. It returns how long the attempt took, 0
// when none was made.
func (d *Dispatcher) process(ctx context.Context, h held, timer *deadlineTimer) time.Duration {
	dl := h.Delivery
	if time.Since(h.began)+d.cfg.AttemptTimeout+storeTimeout > d.lease {
		// It waited for its endpoint so long that its lease could expire
		// during the attempt, and another claimer send it too: give it
		// back instead, due now.
		d.release(dl, d.now())
		return 0
	}
	sub, ep := d.subscription(h), h.ep
	if sub == nil {
		var err error
		sub, err = d.store.GetSubscription(ctx, dl.SubscriptionID)
		switch {
		case errors.Is(err, ErrNotFound):
			d.finishUnsent(dl, "webhook: subscription deleted; delivery not sent")
			return 0
		case err != nil && ctx.Err() != nil: // Close gave up waiting
			d.release(dl, d.now())
			return 0
		case err == nil && sub == nil:
			err = errors.New("store returned no subscription and no error")
			fallthrough
		case err != nil:
			d.log.LogAttrs(ctx, slog.LevelError, "webhook: load subscription",
				slog.String("delivery_id", dl.ID), slog.String("subscription_id", dl.SubscriptionID),
				slog.String("error", err.Error()))
			d.release(dl, d.now().Add(d.cfg.PollInterval))
			return 0
		case sub.Disabled:
			d.holdForDisabled(dl)
			return 0
		}
		ep = d.queues.lookup(sub.URL) // it may have moved since the claim
	}
	a, out := d.attempt(ctx, sub, ep, dl, timer)
	if out.aborted {
		d.release(dl, d.now())
		return 0
	}
	if out.gone {
		// A 410 is recorded before this worker sends its next delivery,
		// which may be to the same endpoint: it disables the
		// subscription, and the deliveries claimed for it must see that.
		sctx, cancel := d.storeContext()
		d.record(sctx, sub, dl, a, out)
		cancel()
		return a.Duration
	}
	d.records <- pendingRecord{sub, dl, a, out}
	return a.Duration
}

// pendingRecord is an attempt waiting for a recorder.
type pendingRecord struct {
	sub *Subscription
	dl  *Delivery
	a   *Attempt
	out outcome
}

// recorder records the attempts workers hand it until d.records is
// closed. The workers do not record their attempts themselves: they send
// their next delivery while recorders write this one's result. Waiting for
// that write (on a database a round trip, shared with other workers' in
// one group commit) would idle the worker and spend the HTTP concurrency
// Config.Workers promises on the store. Results
// beyond what the recorders are writing wait in a channel with as many
// places as recorders; past that a worker waits for a place. Each recorder
// reuses one store deadline, as workers reuse their attempt's.
func (d *Dispatcher) recorder(base context.Context) {
	defer d.recorders.Done()
	timer := &deadlineTimer{parent: base, timeout: storeTimeout, cause: errStoreTimeout}
	defer timer.close()
	for r := range d.records {
		d.record(timer.start(), r.sub, r.dl, r.a, r.out)
		timer.stop()
	}
}

// holdForDisabled returns a delivery whose subscription was disabled
// after it was claimed to pending: stores do not claim the deliveries of a
// disabled subscription, so it waits there until the subscription is
// enabled again.
func (d *Dispatcher) holdForDisabled(dl *Delivery) {
	d.release(dl, d.now())
}

// finishUnsent marks a held delivery failed without sending it, with a log
// entry that says why.
func (d *Dispatcher) finishUnsent(dl *Delivery, reason string) {
	now := d.now()
	a := &Attempt{
		DeliveryID: dl.ID,
		Number:     dl.AttemptCount + 1,
		StartedAt:  now,
		ErrorClass: ErrorClassOther,
		Error:      reason,
	}
	dl.AttemptCount++
	dl.State = StateFailed
	dl.LastStatusCode = 0
	dl.LastError = reason
	dl.UpdatedAt = now
	ctx, cancel := d.storeContext()
	defer cancel()
	if d.complete(ctx, dl, a) {
		d.observe(dl, a, "")
	}
}

// send sends the request of an attempt. The client NewDispatcher made
// follows no redirect, keeps no cookies and has no timeout of its own
// (each attempt has its deadline), so its Transport is called directly:
// http.Client would only copy the headers of every request for redirects
// it never follows. Errors are wrapped in a *url.Error (password masked)
// as http.Client wraps them, so they read the same with a
// Config.HTTPClient.
func (d *Dispatcher) send(req *http.Request) (*http.Response, error) {
	if d.transport == nil {
		return d.client.Do(req)
	}
	resp, err := d.transport.RoundTrip(req)
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: req.URL.Redacted(), Err: err}
	}
	return resp, nil
}

// errAttemptTimeout is the cause of the context of an attempt that
// outlasted Config.AttemptTimeout.
var errAttemptTimeout = fmt.Errorf("webhook: attempt deadline exceeded: %w", context.DeadlineExceeded)

// errStoreTimeout is the cause of the context of a store write that
// outlasted storeTimeout.
var errStoreTimeout = fmt.Errorf("webhook: store write deadline exceeded: %w", context.DeadlineExceeded)

// deadlineTimer gives the attempts of one worker goroutine (or the store
// writes of one recorder) their deadline: each runs under a context that is
// cancelled with cause when it outlasts the timeout. The context and its
// timer are reused from one attempt to the next, and replaced only after the
// deadline passed, because a new context and timer per attempt (and the
// child context net/http registers under each) are a measurable part of an
// attempt at thousands per second. Not safe for concurrent use.
type deadlineTimer struct {
	parent  context.Context
	timeout time.Duration
	cause   error
	ctx     context.Context // nil until the first attempt and after a deadline passed
	cancel  context.CancelCauseFunc
	timer   *time.Timer
}

// start returns the context of an attempt starting now. Call stop when the
// attempt is over, its response read.
func (t *deadlineTimer) start() context.Context {
	if t.ctx == nil {
		ctx, cancel := context.WithCancelCause(t.parent)
		t.ctx, t.cancel = ctx, cancel
		t.timer = time.AfterFunc(t.timeout, func() { cancel(t.cause) })
		return ctx
	}
	t.timer.Reset(t.timeout)
	return t.ctx
}

// stop ends the deadline of the attempt start began.
func (t *deadlineTimer) stop() {
	if !t.timer.Stop() {
		// The deadline passed: this context is cancelled (or about to
		// be); the next attempt gets a new one.
		t.cancel(t.cause)
		t.ctx = nil
	}
}

// close releases the context when the worker exits.
func (t *deadlineTimer) close() {
	if t.ctx != nil {
		t.timer.Stop()
		t.cancel(context.Canceled)
		t.ctx = nil
	}
}

// attempt makes one HTTP attempt of dl to sub, whose URL is ep, and
// classifies it. Its deadline comes from timer, or from a context of its
// own when timer is nil. It never returns a nil Attempt.
func (d *Dispatcher) attempt(ctx context.Context, sub *Subscription, ep endpoint, dl *Delivery, timer *deadlineTimer) (*Attempt, outcome) {
	started := d.now()
	a := &Attempt{DeliveryID: dl.ID, Number: dl.AttemptCount + 1, StartedAt: started}
	fail := func(class ErrorClass, err error) (*Attempt, outcome) {
		a.ErrorClass = class
		a.Error = attemptErrorText(err)
		return a, outcome{}
	}

	// The deadline of the attempt: connect, headers and the part of the
	// body that is read all happen before it is stopped.
	var actx context.Context
	if timer != nil {
		actx = timer.start()
		defer timer.stop()
	} else {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, d.cfg.AttemptTimeout, errAttemptTimeout)
		defer cancel()
	}
	if ep.url == nil {
		return fail(ErrorClassOther, fmt.Errorf("webhook: build request to %s: invalid URL", RedactURL(sub.URL)))
	}
	req := newPost(actx, ep.url, dl.Body)
	h := req.Header
	h["Content-Type"] = jsonContentType
	h["User-Agent"] = d.userAgent
	h[d.deliveryHeader] = []string{dl.ID}
	// The Standard scheme signs the timestamp: every attempt is signed
	// afresh, with the same id and body.
	var secrets [2]Secret // the current secret and one in its grace period
	if err := d.signer.sign(h, appendActiveSecrets(secrets[:0], sub, started), dl.ID, dl.EventType, started, dl.Body); err != nil {
		return fail(ErrorClassOther, fmt.Errorf("webhook: sign delivery: %w", err))
	}
	if d.injector != nil {
		d.injector.InjectHeaders(dl, h)
	}

	clock := time.Now() // latency on the monotonic clock, whatever d.now says
	resp, err := d.send(req)
	if err != nil {
		a.Duration = time.Since(clock)
		a, out := fail(classifyAttempt(actx, err), err)
		out.aborted = ctx.Err() != nil
		return a, out
	}
	var body string
	var readErr error
	if resp.ContentLength != 0 { // unknown (-1) or some bytes
		body, readErr = snippet.Read(resp.Body, DefaultSnippetBytes)
		if readErr == nil {
			// Let a short answer keep its connection; never read a long one.
			_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
		}
	}
	resp.Body.Close()
	a.Duration = time.Since(clock)
	a.StatusCode = resp.StatusCode
	a.ResponseSnippet = body

	code := resp.StatusCode
	switch {
	case readErr != nil:
		// The deadline covers the body too: an endpoint that trickles its
		// answer past it has failed the attempt, whatever its status.
		a, out := fail(classifyAttempt(actx, readErr), readErr)
		out.aborted = ctx.Err() != nil
		return a, out
	case code >= 200 && code <= 299:
		return a, outcome{success: true}
	case code >= 300 && code <= 399:
		a.ErrorClass = ErrorClassStatus
		a.Error = fmt.Sprintf("webhook: endpoint answered %d %s; redirects are not followed", code, http.StatusText(code))
		return a, outcome{}
	case code == http.StatusGone:
		a.ErrorClass = ErrorClassStatus
		a.Error = "webhook: endpoint answered 410 Gone; the subscription is disabled"
		return a, outcome{gone: true}
	}
	a.ErrorClass = ErrorClassStatus
	a.Error = fmt.Sprintf("webhook: endpoint answered %d %s", code, http.StatusText(code))
	var out outcome
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		out.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), started, d.cfg.MaxRetryAfter)
		if out.retryAfter > 0 {
			a.Error += "; Retry-After " + out.retryAfter.String()
		}
	}
	return a, out
}

// newPost returns the request http.NewRequestWithContext(ctx, "POST",
// u.String(), bytes.NewReader(body)) would, without parsing the URL again
// on every attempt. The requests to one endpoint share u, which nothing
// modifies: an http.RoundTripper must not modify its request.
func newPost(ctx context.Context, u *url.URL, body []byte) *http.Request {
	req := http.Request{
		Method:     http.MethodPost,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, 6), // the attempt's headers
		Body:       io.NopCloser(bytes.NewReader(body)),
		// Lets the transport send the request again on another connection
		// when a kept-alive one turns out to be closed.
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
		ContentLength: int64(len(body)),
		Host:          u.Host,
	}
	return req.WithContext(ctx)
}

// jsonContentType is the Content-Type of every attempt, shared by their
// header maps (net/http never writes into a header's values).
var jsonContentType = []string{"application/json"}

// activeSecrets returns the secrets of sub that sign at now: the current
// one and previous ones inside their grace period, current first.
func activeSecrets(sub *Subscription, now time.Time) []Secret {
	return appendActiveSecrets(make([]Secret, 0, len(sub.Secrets)), sub, now)
}

// appendActiveSecrets appends to out the secrets activeSecrets returns.
func appendActiveSecrets(out []Secret, sub *Subscription, now time.Time) []Secret {
	for _, s := range sub.Secrets {
		if s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt) {
			out = append(out, s.Secret)
		}
	}
	return out
}

// classifyAttempt is classify for the error of an attempt made under actx:
// whatever error the deadline of the attempt caused, it is a timeout.
func classifyAttempt(actx context.Context, err error) ErrorClass {
	if errors.Is(context.Cause(actx), errAttemptTimeout) {
		return ErrorClassTimeout
	}
	return classify(err)
}

// classify maps an error of http.Client.Do or of reading the response to
// an ErrorClass.
func classify(err error) ErrorClass {
	var ne net.Error
	switch {
	case errors.Is(err, ErrBlockedAddress):
		return ErrorClassBlocked
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ErrorClassTimeout
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.As(err, new(*net.OpError)) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return ErrorClassConnection
	}
	return ErrorClassOther
}

// parseRetryAfter returns the delay asked by a Retry-After value (delay
// seconds or an HTTP date, relative to now), capped at limit; 0 when the
// header is absent, malformed or in the past.
func parseRetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var delay time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(limit/time.Second) {
			return limit
		}
		delay = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		delay = t.Sub(now)
	}
	return min(max(delay, 0), limit)
}

// record applies the attempt's outcome to the delivery, stores it under
// ctx, and updates the endpoint's health.
func (d *Dispatcher) record(ctx context.Context, sub *Subscription, dl *Delivery, a *Attempt, out outcome) {
	now := d.now()
	dl.AttemptCount = a.Number
	dl.LastStatusCode = a.StatusCode
	dl.LastError = a.Error
	dl.UpdatedAt = now
	switch {
	case out.success:
		dl.State = StateSucceeded
	case out.gone || dl.EventType == EventPing:
		// A ping is a test: one attempt, reported to whoever asked.
		dl.State = StateFailed
	default:
		next, ok := d.cfg.RetryPolicy.NextAttempt(a.Number, dl.CreatedAt, now)
		if ok && out.retryAfter > 0 {
			next = later(next, now.Add(out.retryAfter))
		}
		if ok {
			dl.State = StatePending
			dl.NextAttemptAt = next
		} else {
			dl.State = StateFailed
		}
	}
	d.logAttempt(sub, dl, a)
	if !d.complete(ctx, dl, a) {
		return
	}
	if dl.State == StatePending {
		d.scheduled(dl.NextAttemptAt)
	}
	d.updateHealth(sub, a, out)
	d.observe(dl, a, sub.URL)
}

// logAttempt logs an attempt: at debug level when it succeeded, info when
// it will be retried, warn when the delivery failed. Nothing is formatted
// unless the level is enabled.
func (d *Dispatcher) logAttempt(sub *Subscription, dl *Delivery, a *Attempt) {
	msg, level := "webhook: delivered", slog.LevelDebug
	switch {
	case dl.EventType == EventPing && dl.State == StateFailed:
		// The answer to a test, reported to whoever asked; not an incident.
		msg, level = "webhook: ping failed", slog.LevelInfo
	case dl.State == StatePending && a.ErrorClass == ErrorClassBlocked:
		// A customer URL pointing at an internal address: worth a look.
		msg, level = "webhook: attempt refused by the SSRF guard; will retry", slog.LevelWarn
	case dl.State == StatePending:
		msg, level = "webhook: attempt failed; will retry", slog.LevelInfo
	case dl.State == StateFailed:
		msg, level = "webhook: delivery failed", slog.LevelWarn
	}
	ctx := context.Background()
	if !d.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("delivery_id", dl.ID),
		slog.String("subscription_id", dl.SubscriptionID),
		slog.String("event", string(dl.EventType)),
		slog.String("endpoint", RedactURL(sub.URL)),
		slog.Int("attempt", a.Number),
		slog.Int("status", a.StatusCode),
		slog.Duration("latency", a.Duration),
	}
	if a.ErrorClass != "" {
		attrs = append(attrs, slog.String("error_class", string(a.ErrorClass)), slog.String("error", a.Error))
	}
	if dl.State == StatePending {
		attrs = append(attrs, slog.Time("next_attempt", dl.NextAttemptAt))
	}
	d.log.LogAttrs(ctx, level, msg, attrs...)
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// complete stores the attempt and the delivery's new state under ctx, a
// store write's context (see storeContext). It reports whether the store
// accepted them.
func (d *Dispatcher) complete(ctx context.Context, dl *Delivery, a *Attempt) bool {
	if err := d.store.Complete(ctx, dl, a); err != nil {
		level := slog.LevelError
		switch {
		case errors.Is(err, ErrLeaseLost):
			// Another worker holds it now (our lease expired); its
			// result will be recorded instead.
			level = slog.LevelWarn
		case errors.Is(err, ErrNotFound):
			// Its subscription was deleted, with its deliveries.
			level = slog.LevelInfo
		}
		d.log.LogAttrs(ctx, level, "webhook: record attempt",
			slog.String("delivery_id", dl.ID), slog.Int("attempt", a.Number), slog.String("error", err.Error()))
		return false
	}
	return true
}

// observe tells the observer about a recorded attempt to url (empty when
// none was sent), after the store and the endpoint's health are up to
// date.
func (d *Dispatcher) observe(dl *Delivery, a *Attempt, url string) {
	o := d.cfg.Observer
	if o == nil {
		return
	}
	if ao, ok := o.(AttemptObserver); ok {
		ao.AttemptRecorded(dl, a, url)
	} else {
		o.AttemptFinished(dl, a)
	}
	if dl.State == StateSucceeded || dl.State == StateFailed {
		o.DeliveryStateChanged(dl)
	}
}

// storeContext returns the context of a store write that must happen even
// when the attempt's context has ended: detached from it and bounded by
// storeTimeout.
func (d *Dispatcher) storeContext() (context.Context, context.CancelFunc) {
	ctx := context.Background()
	if base, ok := d.storeBase.Load().(context.Context); ok {
		ctx = base
	}
	return context.WithTimeout(ctx, storeTimeout)
}

// runCtxOrBackground returns the context of attempts, or Background
// before Start (Ping works without Start).
func (d *Dispatcher) runCtxOrBackground() context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.runCtx != nil {
		return d.runCtx
	}
	return context.Background()
}
