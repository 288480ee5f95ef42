package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// FuzzParseEvent checks ParseEvent against encoding/json: it never panics,
// and whatever it accepts is valid JSON whose fields decode to the same
// values with encoding/json.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(validEnvelope))
	f.Add([]byte(`{"delivery_id":"d","event_id":"e","event":"x","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","project_id":null,"data":{"a":[1,-2.5e3,true,false,null,"\u00e9\ud83d\ude00"]}}`))
	f.Add([]byte(`{"delivery_id":"d\u0000","event_id":"e","event":"x","timestamp":"2026-06-27T09:15:23.5+01:00","organization_id":"o","data":{}}`))
	f.Add([]byte(`{"delivery_id":"d","delivery_id":"d"}`))
	f.Add([]byte("{\"delivery_id\":\"\xff\xfe\",\"event_id\":\"e\",\"event\":\"x\",\"timestamp\":\"2026-06-27T09:15:23Z\",\"organization_id\":\"o\",\"data\":{}}"))
	f.Add([]byte(`[[[[[[`))
	f.Add([]byte(``))
	if files, _ := filepath.Glob(filepath.Join("testdata", "events", "*.json")); len(files) > 0 {
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := webhook.ParseEvent(body)
		if err != nil {
			if e != nil {
				t.Fatal("ParseEvent returned an event with an error")
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("ParseEvent accepted invalid JSON %q", body)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatalf("ParseEvent accepted what encoding/json refuses: %v", err)
		}
		str := func(name string) string {
			var s string
			if raw, ok := fields[name]; ok && string(raw) != "null" {
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Fatalf("%s: encoding/json: %v", name, err)
				}
			}
			return s
		}
		for _, c := range []struct{ name, got string }{
			{"delivery_id", e.DeliveryID},
			{"event_id", e.ID},
			{"event", string(e.Type)},
			{"organization_id", e.OrganizationID},
			{"project_id", e.ProjectID},
		} {
			if want := str(c.name); c.got != want || (c.name != "project_id" && c.got == "") {
				t.Fatalf("%s = %q, encoding/json reads %q", c.name, c.got, want)
			}
		}
		var env webhook.Event
		if err := json.Unmarshal(fields["timestamp"], &env.Timestamp); err != nil || !env.Timestamp.Equal(e.Timestamp) {
			t.Fatalf("timestamp = %v, encoding/json reads %v (%v)", e.Timestamp, env.Timestamp, err)
		}
		if !bytes.Equal(e.Data, fields["data"]) || e.Data[0] != '{' {
			t.Fatalf("data = %q, want the raw object %q", e.Data, fields["data"])
		}
	})
}

// FuzzReceiverMiddleware sends arbitrary bodies and signature headers
// through the Middleware: it never panics, only answers with its documented
// codes, and calls the handler only for a correctly signed envelope.
func FuzzReceiverMiddleware(f *testing.F) {
	rv, err := webhook.NewReceiver(webhook.ReceiverConfig{Secrets: []webhook.Secret{receiverSecret}})
	if err != nil {
		f.Fatal(err)
	}
	h := rv.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	good := []byte(validEnvelope)
	f.Add(good, webhook.Sign(receiverSecret, good), "task.updated")
	f.Add(good, "sha256="+webhook.Sign(receiverSecret, good), "")
	f.Add([]byte(`{}`), webhook.Sign(receiverSecret, []byte(`{}`)), "x")
	f.Add(good, "sha256=", "task.updated")
	f.Add([]byte("\x00"), "zz", "\x00")
	f.Fuzz(func(t *testing.T, body []byte, sig, event string) {
		req := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
		req.Header[webhook.DefaultSignatureHeader] = []string{sig}
		req.Header[webhook.DefaultEventHeader] = []string{event}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusUnauthorized, http.StatusBadRequest:
		case http.StatusNoContent:
			if webhook.Verify(body, sig, receiverSecret) != nil {
				t.Fatalf("handler reached with a bad signature %q", sig)
			}
			if _, err := webhook.ParseEvent(body); err != nil {
				t.Fatalf("handler reached with an invalid envelope: %v", err)
			}
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
	})
}

// FuzzRouterDecodesInPlace sends envelopes with arbitrary data through a
// Handler whose Router decodes the data while the envelope is parsed, and
// through one that hides the Router behind an EventHandlerFunc, so that
// it decodes the data after: both answer the same status, and their
// handlers get the same data.
func FuzzRouterDecodesInPlace(f *testing.F) {
	for _, info := range onplana.Catalog() {
		e, err := webhook.ParseEvent(info.Sample)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(e.Data))
	}
	for _, s := range []string{`{}`, `{"task":{"title":5}}`, `{"task":{"title":"a",}}`, `{"diff":{"a":{"before":1}},"actor":null}`, "{\"task\":{\"title\":\"\\u00e9\xff\"}}", `[]`, `{"task":{"created_at":"nope"}}`} {
		f.Add([]byte(s))
	}
	handler := func(wrap bool) (http.Handler, *[]*onplana.TaskEventData) {
		var got []*onplana.TaskEventData
		r := webhook.NewRouter()
		onplana.OnTaskUpdated(r, func(_ context.Context, _ *webhook.Event, data *onplana.TaskEventData) error {
			got = append(got, data)
			return nil
		})
		var h webhook.EventHandler = r
		if wrap {
			h = webhook.EventHandlerFunc(r.HandleEvent)
		}
		srv, err := webhook.NewHandler(webhook.ReceiverConfig{Secrets: []webhook.Secret{receiverSecret}, Logger: newReceiverTestLogger(io.Discard)}, h)
		if err != nil {
			f.Fatal(err)
		}
		return srv, &got
	}
	inPlace, inPlaceGot := handler(false)
	after, afterGot := handler(true)
	f.Fuzz(func(t *testing.T, data []byte) {
		body := append([]byte(`{"delivery_id":"d","event_id":"e","event":"task.updated","timestamp":"2026-06-27T09:15:23Z","organization_id":"o","data":`), data...)
		body = append(body, '}')
		status := func(h http.Handler) int {
			req := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
			req.Header.Set(webhook.DefaultSignatureHeader, webhook.Sign(receiverSecret, body))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		*inPlaceGot, *afterGot = nil, nil
		a, b := status(inPlace), status(after)
		if a != b {
			t.Fatalf("%q: decoded in place %d, after %d", data, a, b)
		}
		if len(*inPlaceGot) != len(*afterGot) {
			t.Fatalf("%q: handler runs in place %d, after %d", data, len(*inPlaceGot), len(*afterGot))
		}
		if len(*inPlaceGot) == 1 && !reflect.DeepEqual((*inPlaceGot)[0], (*afterGot)[0]) {
			t.Fatalf("%q: decoded in place %+v, after %+v", data, (*inPlaceGot)[0], (*afterGot)[0])
		}
	})
}
