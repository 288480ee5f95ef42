package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook/internal/jsondec"
)

// preData decodes itself, and has a decoder registered with jsondec: a
// payload type such as package onplana's, whose decodings the tests count.
type preData struct{ Title string }

var preInPlace, preUnmarshal atomic.Int32

func decodePreData(d *jsondec.Decoder, v *preData) {
	d.Object(func(name []byte) {
		if jsondec.Match(name, []string{"title"}) == "title" {
			jsondec.String(d, &v.Title)
			return
		}
		d.Skip()
	})
}

func (v *preData) UnmarshalJSON(b []byte) error {
	preUnmarshal.Add(1)
	d := jsondec.New(b)
	decodePreData(&d, v)
	return d.End()
}

func init() {
	jsondec.Register(func(b []byte, i, depth int, carried jsondec.Carried) (*preData, int, error) {
		preInPlace.Add(1)
		v := new(preData)
		d := jsondec.NewAt(b, i, depth, carried)
		decodePreData(&d, v)
		end, err := d.Done()
		return v, end, err
	})
}

// TestRouterDecodesDataWhileTheEnvelopeIsParsed: behind NewHandler, the
// data of an event whose type comes before it is
// decoded in the pass that parses the envelope, once; otherwise the Router
// decodes it as before. Either way the handler gets the same value, and
// data that does not decode is refused as before. Not parallel: it counts
// decodings.
func TestRouterDecodesDataWhileTheEnvelopeIsParsed(t *testing.T) {
	const secret Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	head := `"delivery_id":"dlv_1","event_id":"evt_1","timestamp":"2026-06-27T09:15:23Z","organization_id":"org_1"`
	envelope := func(typ, data string, typeFirst bool) string {
		if typeFirst {
			return `{` + head + `,"event":"` + typ + `","data":` + data + `}`
		}
		return `{` + head + `,"data":` + data + `,"event":"` + typ + `"}`
	}
	type build func(cfg ReceiverConfig, r *Router) http.Handler
	viaNewHandler := func(cfg ReceiverConfig, r *Router) http.Handler {
		h, err := NewHandler(cfg, r)
		require.NoError(t, err)
		return h
	}
	viaNesting := func(cfg ReceiverConfig, r *Router) http.Handler {
		rv, err := NewReceiver(cfg)
		require.NoError(t, err)
		return rv.Middleware(rv.ServeEvents(r))
	}
	tests := []struct {
		name      string
		build     build
		pattern   EventType
		raw       bool // a HandleRaw route, which decodes nothing
		body      string
		status    int
		title     string
		inPlace   int32
		unmarshal int32
	}{
		{"NewHandler", viaNewHandler, "task.updated", false, envelope("task.updated", `{"title":"Ship"}`, true), http.StatusNoContent, "Ship", 1, 0},
		{"NewHandler, category route", viaNewHandler, "task.*", false, envelope("task.updated", `{"title":"Ship"}`, true), http.StatusNoContent, "Ship", 1, 0},
		{"nested by hand", viaNesting, "*", false, envelope("task.updated", `{"title":"Ship"}`, true), http.StatusNoContent, "Ship", 0, 1},
		{"type after data", viaNewHandler, "task.updated", false, envelope("task.updated", `{"title":"Ship"}`, false), http.StatusNoContent, "Ship", 0, 1},
		{"unknown type", viaNewHandler, "*", false, envelope("sprint.started", `{"title":"Ship"}`, true), http.StatusNoContent, "Ship", 0, 1},
		{"no route", viaNewHandler, "project.*", false, envelope("task.updated", `{"title":"Ship"}`, true), http.StatusNoContent, "", 0, 0},
		{"raw route", viaNewHandler, "task.updated", true, envelope("task.updated", `{"title":"Ship"}`, true), http.StatusNoContent, "", 0, 0},
		{"data of the wrong shape", viaNewHandler, "task.updated", false, envelope("task.updated", `{"title":5}`, true), http.StatusInternalServerError, "", 1, 1},
		{"data not JSON", viaNewHandler, "task.updated", false, envelope("task.updated", `{"title":"x",}`, true), http.StatusBadRequest, "", 1, 0},
		{"data not an object", viaNewHandler, "task.updated", false, envelope("task.updated", `["x"]`, true), http.StatusBadRequest, "", 0, 0},
		{"escaped and invalid UTF-8 title", viaNewHandler, "task.updated", false, envelope("task.updated", "{\"title\":\"\\u00e9 \xff\",\"x\":[1,{}]}", true), http.StatusNoContent, "é \ufffd", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			preInPlace.Store(0)
			preUnmarshal.Store(0)
			var got *preData
			r := NewRouter()
			if tt.raw {
				r.HandleRaw(tt.pattern, EventHandlerFunc(func(context.Context, *Event, []byte) error { return nil }))
			} else {
				Handle(r, tt.pattern, func(_ context.Context, _ *Event, data *preData) error {
					got = data
					return nil
				})
			}
			h := tt.build(ReceiverConfig{Secrets: []Secret{secret}, Logger: slog.New(slog.DiscardHandler)}, r)
			req := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(tt.body))
			req.Header.Set(DefaultSignatureHeader, Sign(secret, []byte(tt.body)))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			if tt.title != "" {
				require.NotNil(t, got)
				require.Equal(t, tt.title, got.Title)
			}
			require.Equal(t, tt.inPlace, preInPlace.Load(), "decodings in place")
			require.Equal(t, tt.unmarshal, preUnmarshal.Load(), "decodings by UnmarshalJSON")
		})
	}
}

// TestRouterHandsTheDecodedDataOnce: a handler that routes the same event
// again gets data of its own, not the value the first run got.
func TestRouterHandsTheDecodedDataOnce(t *testing.T) {
	const secret Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := `{"delivery_id":"d","event_id":"e","event":"task.updated","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":{"title":"Ship"}}`
	var seen []*preData
	r := NewRouter()
	inner := NewRouter()
	Handle(inner, "*", func(_ context.Context, _ *Event, data *preData) error {
		seen = append(seen, data)
		return nil
	})
	Handle(r, "task.updated", func(ctx context.Context, e *Event, data *preData) error {
		seen = append(seen, data)
		data.Title = "changed by the first handler"
		return errors.Join(inner.HandleEvent(ctx, e, nil), inner.HandleEvent(ctx, e, nil))
	})
	h, err := NewHandler(ReceiverConfig{Secrets: []Secret{secret}, Logger: slog.New(slog.DiscardHandler)}, r)
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(body))
	req.Header.Set(DefaultSignatureHeader, Sign(secret, []byte(body)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Len(t, seen, 3)
	require.Equal(t, "Ship", seen[1].Title)
	require.Equal(t, "Ship", seen[2].Title)
	require.NotSame(t, seen[1], seen[2])
}
