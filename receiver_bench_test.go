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
	"testing"
	"time"

	"github.com/onplana/webhook/internal/benchcpu"
	"github.com/onplana/webhook/internal/benchdata"
)

const benchReceiverSecret Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// BenchmarkReceiver measures the receiver end to end (request in, handler
// called with the decoded event, response written) beside the naive HMAC of
// the same body, and the envelope decoding alone beside encoding/json. Like
// the verification benchmarks it reports cpu-ns/op (see benchLoop), the
// figure to read on a shared machine.
func BenchmarkReceiver(b *testing.B) {
	for _, size := range benchdata.Sizes {
		body := benchdata.Envelope(size.Bytes)
		name := size.Name
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
			h, err := NewHandler(ReceiverConfig{Secrets: []Secret{benchReceiverSecret}, Logger: slog.New(slog.DiscardHandler)}, EventHandlerFunc(func(ctx context.Context, e *Event, body []byte) error {
				if e.Type != EventTaskUpdated {
					return fmt.Errorf("got %q", e.Type)
				}
				return nil
			}))
			if err != nil {
				b.Fatal(err)
			}
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
