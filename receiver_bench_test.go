package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/onplana/webhook/internal/benchcpu"
)

const benchReceiverSecret Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// benchEnvelope returns a task.updated envelope of about size bytes: a task
// with a diff, padded with checklist items as a real task would carry.
// Non-ASCII text is raw UTF-8, as encoding/json writes it.
func benchEnvelope(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"delivery_id":"dlv_01kw45sezre203hr56hecgy520","event_id":"evt_01kw45sezrr1qh7qk7r36mx458",` +
		`"event":"task.updated","timestamp":"2026-06-27T09:15:23Z","organization_id":"org_abc123","project_id":"proj_xyz789",` +
		`"data":{"diff":{"due_date":{"before":"2026-07-01","after":"2026-07-03"}},"task":{"id":"task_8f3k2m",` +
		`"title":"Migrate the pricing page to the new CMS","status":"blocked","priority":"urgent","checklist":[`)
	for i := 0; b.Len() < size-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"text":"Port plan card %d and keep its URL — résumé","done":%t}`, i, i, i%2 == 0)
	}
	b.WriteString(`]}}}`)
	return []byte(b.String())
}

// receiverBenchSizes run from a typical delivery to one near
// DefaultMaxBodyBytes, as sent by senders that embed full resource state.
var receiverBenchSizes = []struct {
	name string
	n    int
}{
	{"1KiB", 1 << 10},
	{"16KiB", 16 << 10},
	{"1MiB", 1 << 20},
	{"4MiB", 4 << 20},
}

// BenchmarkReceiver measures the receiver end to end (request in, handler
// called with the decoded event, response written) beside the naive HMAC of
// the same body, and the envelope decoding alone beside encoding/json. Like
// the verification benchmarks it reports cpu-ns/op (see benchLoop), the
// figure to read on a shared machine.
func BenchmarkReceiver(b *testing.B) {
	for _, size := range receiverBenchSizes {
		body := benchEnvelope(size.n)
		name := size.name
		key := []byte(benchReceiverSecret)

		b.Run("size="+name+"/impl=naive", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			benchcpu.Loop(b, func() {
				m := hmac.New(sha256.New, key)
				m.Write(body)
				_ = hex.EncodeToString(m.Sum(nil))
			})
		})
		b.Run("size="+name+"/impl=ParseEvent", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			benchcpu.Loop(b, func() {
				if _, err := ParseEvent(body); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("size="+name+"/impl=encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			benchcpu.Loop(b, func() {
				var e Event
				if err := json.Unmarshal(body, &e); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("size="+name+"/impl=Handler", func(b *testing.B) {
			rv, err := NewReceiver(ReceiverConfig{Secrets: []Secret{benchReceiverSecret}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			h := rv.Handler(EventHandlerFunc(func(ctx context.Context, e *Event, body []byte) error {
				if e.Type != EventTaskUpdated {
					return fmt.Errorf("got %q", e.Type)
				}
				return nil
			}))
			req := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
			if err := (Signer{}).SignRequest(req.Header, []Secret{benchReceiverSecret}, "dlv_1", EventTaskUpdated, time.Now(), body); err != nil {
				b.Fatal(err)
			}
			rd := bytes.NewReader(body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			benchcpu.Loop(b, func() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			})
		})
	}
}
