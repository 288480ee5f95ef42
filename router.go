package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/onplana/webhook/internal/jsondec"
)

// Router is an EventHandler that sends each event to the handler registered
// for its type, with the event's data decoded into the Go type that handler
// takes. Register handlers with Handle, or with the typed helpers of package
// [github.com/onplana/webhook/onplana] such as onplana.OnTaskUpdated:
//
//	r := webhook.NewRouter()
//	onplana.OnTaskUpdated(r, func(ctx context.Context, e *webhook.Event, data *onplana.TaskEventData) error {
//		…
//	})
//	h, err := webhook.NewHandler(webhook.ReceiverConfig{Secrets: secrets, Dedupe: store}, r)
//
// A pattern is an event type ("task.updated"), the wildcard of a category
// ("task.*") or "*". An event goes to the handler of its exact type, else to
// that of its category, else to that of "*", else to the fallback (see
// Fallback). Types do not have to be in this version's catalog: a receiver
// can handle a type its sender added after the receiver was built.
//
// Events no handler takes are acknowledged by default: a receiver built
// today must keep working when the sender's catalog grows, rather than
// answer errors that the sender retries for days.
//
// The zero value is an empty Router ready to use. A Router is safe for
// concurrent use; handlers registered while it serves apply to the events
// routed after.
type Router struct {
	mu    sync.Mutex                 // serializes changes to table
	table atomic.Pointer[routeTable] // nil while empty
}

// routeTable is what a Router routes with. A change stores a new table,
// and one stored is never modified, so that routing an event, which
// happens far more often than registering a handler, takes no lock.
type routeTable struct {
	routes   map[string]route // by pattern: "task.updated", "task.*", "*"
	fallback EventHandler
}

// route is the handler of one pattern.
type route struct {
	// run runs it for an event.
	run func(ctx context.Context, e *Event, body []byte) error
	// predecode, when the handler's data type has a decoder registered
	// with jsondec, decodes the data object that starts at b[i] into a new
	// value of that type, and returns it and the index after the object,
	// or ok false if the bytes there are not JSON or do not decode into
	// the type. Receiver.Middleware calls it when it reaches the data of
	// an envelope whose type it already knows, so that the data is
	// validated and decoded in one pass (see takePredecoded); it sets the
	// envelope's strings that carried holds with the data's, ok or not.
	predecode func(b []byte, i int, carried jsondec.Carried) (v any, end int, ok bool)
}

// NewRouter returns an empty Router.
func NewRouter() *Router { return new(Router) }

// Handle registers fn for the events whose type matches pattern (an event
// type such as "task.updated", a category wildcard such as "task.*", or
// "*"). For each such event, the event's data is decoded into a new T and
// fn is called with it; fn's result is the result of the Router's
// HandleEvent, so an error makes the sender retry and Permanent stops it
// (see EventHandler).
//
// T is usually the payload type of the event's category
// (onplana.TaskEventData for task.*); fields of the data that T does not
// have are ignored, so a sender may add fields. Data that does not decode
// into T is an error wrapping ErrInvalidEnvelope and fn is not called; it is
// not permanent, since the fix may be on the receiver's side (a wrong T) and
// a redeployed receiver then processes the sender's retry. The T's raw
// JSON values (an update's diff) may share their bytes with e.Data, which
// like the rest of the event must not be modified.
//
// Handle panics, like http.ServeMux.Handle, when pattern is not one of the
// three forms, when fn is nil, or when pattern already has a handler: these
// are mistakes in the program, found when it starts.
func Handle[T any](r *Router, pattern EventType, fn func(ctx context.Context, e *Event, data *T) error) {
	if fn == nil {
		panic("webhook: Handle of " + string(pattern) + " with a nil function")
	}
	rt := route{run: func(ctx context.Context, e *Event, _ []byte) error {
		data, _ := takePredecoded(ctx, e).(*T)
		if data == nil {
			data = new(T)
			if err := decodeEventData(ctx, e, data); err != nil {
				return err
			}
		}
		return fn(ctx, e, data)
	}}
	if decode := jsondec.Lookup[T](); decode != nil {
		rt.predecode = func(b []byte, i int, carried jsondec.Carried) (any, int, bool) {
			data, end, err := decode(b, i, 1, carried) // data is a field of the envelope's object
			if err != nil {
				return nil, 0, false
			}
			return data, end, true
		}
	}
	r.add(pattern, rt)
}

// takePredecoded returns the data of e that Receiver.Middleware decoded
// while parsing its envelope, if it did, and nil otherwise. The value is
// handed out once: a second call for the same request returns nil, so
// that every handler run gets a value of its own, as it does from
// decodeEventData.
func takePredecoded(ctx context.Context, e *Event) any {
	rec := receivedFrom(ctx)
	if rec == nil || rec.event != e {
		return nil
	}
	if p := rec.predecoded.Swap(nil); p != nil {
		return p.v
	}
	return nil
}

// predecoder returns the predecode function of the route that events of
// type t take, or nil.
func (r *Router) predecoder(t EventType) func(b []byte, i int, carried jsondec.Carried) (any, int, bool) {
	rt, _ := r.lookup(t)
	return rt.predecode
}

// HandleRaw registers h for the events whose type matches pattern, like
// Handle, but passes the event undecoded: for handlers that keep the raw
// envelope (body) or decode the data themselves. It panics as Handle does.
func (r *Router) HandleRaw(pattern EventType, h EventHandler) {
	if h == nil {
		panic("webhook: HandleRaw of " + string(pattern) + " with a nil handler")
	}
	r.add(pattern, route{run: h.HandleEvent})
}

// Fallback sets the handler of the events no pattern matches, in place of
// the default, which acknowledges them without doing anything. A receiver
// may log them, or store them raw for later; it should not fail them, or
// the sender retries each new type for days. A nil h restores the default.
func (r *Router) Fallback(h EventHandler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := &routeTable{fallback: h}
	if old := r.table.Load(); old != nil {
		t.routes = old.routes // never modified once stored: shared
	}
	r.table.Store(t)
}

func (r *Router) add(pattern EventType, fn route) {
	if err := checkRoutePattern(pattern); err != nil {
		panic(err.Error())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.table.Load()
	if old == nil {
		old = new(routeTable)
	}
	if _, ok := old.routes[string(pattern)]; ok {
		panic("webhook: Router already has a handler for " + string(pattern))
	}
	t := &routeTable{routes: make(map[string]route, len(old.routes)+1), fallback: old.fallback}
	maps.Copy(t.routes, old.routes)
	t.routes[string(pattern)] = fn
	r.table.Store(t)
}

// checkRoutePattern accepts "*", "<category>.*", and event types made of
// visible ASCII without a '*'.
func checkRoutePattern(p EventType) error {
	s := string(p)
	if s == WildcardAll {
		return nil
	}
	if cat, ok := strings.CutSuffix(s, ".*"); ok {
		s = cat
	}
	if !validHeaderValue(s) || strings.Contains(s, "*") {
		return fmt.Errorf("webhook: invalid Router pattern %q: want an event type, \"<category>.*\" or \"*\"", string(p))
	}
	return nil
}

// HandleEvent implements EventHandler: it calls the handler of e's type, of
// its category, of "*" or the fallback, the first that exists, and returns
// its result. Without a handler or fallback it returns nil.
func (r *Router) HandleEvent(ctx context.Context, e *Event, body []byte) error {
	if e == nil {
		return fmt.Errorf("%w: no event", ErrInvalidEnvelope)
	}
	rt, fallback := r.lookup(e.Type)
	switch {
	case rt.run != nil:
		return rt.run(ctx, e, body)
	case fallback != nil:
		return fallback.HandleEvent(ctx, e, body)
	}
	return nil
}

// lookup returns the route of t, or else the fallback (possibly nil) and a
// zero route.
func (r *Router) lookup(t EventType) (route, EventHandler) {
	tab := r.table.Load()
	if tab == nil {
		return route{}, nil
	}
	if rt, ok := tab.routes[string(t)]; ok {
		return rt, nil
	}
	if cat := t.Category(); cat != string(t) {
		// The lookup key is built on the stack: no allocation per event.
		var buf [64]byte
		if rt, ok := tab.routes[string(append(append(buf[:0], cat...), ".*"...))]; ok {
			return rt, nil
		}
	}
	if rt, ok := tab.routes[WildcardAll]; ok {
		return rt, nil
	}
	return route{}, tab.fallback
}

// decodeEventData decodes e.Data into v, as Event.DecodeData does. A v that
// decodes itself (a json.Unmarshaler, such as the payload types of package
// onplana) is handed the data directly when it is the data that
// Receiver.Middleware validated for this request: encoding/json would
// first scan the whole data again to validate it, which costs as much as
// decoding it.
func decodeEventData(ctx context.Context, e *Event, v any) error {
	if u, ok := v.(json.Unmarshaler); ok && len(e.Data) > 0 {
		if rec := receivedFrom(ctx); rec != nil && rec.event == e {
			if err := u.UnmarshalJSON(e.Data); err != nil {
				return fmt.Errorf("%w: data of %s: %v", ErrInvalidEnvelope, e.Type, err)
			}
			return nil
		}
	}
	if err := e.DecodeData(v); err != nil {
		return fmt.Errorf("%w (event %s)", err, e.Type)
	}
	return nil
}
