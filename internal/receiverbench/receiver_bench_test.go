package receiverbench_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/onplana/webhook/internal/benchcpu"
	"github.com/onplana/webhook/internal/benchdata"

	"github.com/go-playground/webhooks/v6/github"

	"github.com/onplana/webhook"
)

// secret signs the deliveries of every benchmark here.
const secret webhook.Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// BenchmarkReceiver runs, on the same body and in the same process:
//
//   - naive: hmac.New + hex encoding of the body, the unit of the ratios;
//   - Receiver: webhook.NewHandler, from the request to the event
//     handler's 204: the body read under the cap, the X-Onplana-Signature
//     verified, the envelope decoded;
//   - go-playground: go-playground/webhooks' GitHub Parse behind a handler
//     that answers 204: the body read whole, X-Hub-Signature-256 verified,
//     the body decoded as a push event.
//
// Both receivers get a new *http.Request per call, with a reader over the
// same bytes. go-playground decodes them into its PushPayload, which has
// none of the envelope's fields: json.Unmarshal skips them all, the least
// work its Parse can do on a body of that size.
//
// Besides ns/op, each benchmark reports cpu-ns/op: the CPU time of the
// benchmark's OS thread per operation (Linux only), which stays stable on a
// machine shared with other work.
func BenchmarkReceiver(b *testing.B) {
	key := []byte(secret.Reveal())
	for _, size := range benchdata.Sizes {
		body := benchdata.Envelope(size.Bytes)
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		sig := hex.EncodeToString(mac.Sum(nil))

		b.Run("size="+size.Name+"/impl=naive", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			benchcpu.Loop(b, func() {
				m := hmac.New(sha256.New, key)
				m.Write(body)
				_ = hex.EncodeToString(m.Sum(nil))
			})
		})
		b.Run("size="+size.Name+"/impl=Receiver", func(b *testing.B) {
			h, err := webhook.NewHandler(webhook.ReceiverConfig{
				Secrets: []webhook.Secret{secret},
				Logger:  slog.New(slog.DiscardHandler),
			}, webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event, body []byte) error {
				if e.Type != webhook.EventTaskUpdated {
					return fmt.Errorf("got %q", e.Type)
				}
				return nil
			}))
			if err != nil {
				b.Fatal(err)
			}
			benchHandler(b, h, body, func(hdr http.Header) {
				hdr.Set(webhook.DefaultEventHeader, string(webhook.EventTaskUpdated))
				hdr.Set(webhook.DefaultSignatureHeader, sig)
			})
		})
		b.Run("size="+size.Name+"/impl=go-playground", func(b *testing.B) {
			hook, err := github.New(github.Options.Secret(secret.Reveal()))
			if err != nil {
				b.Fatal(err)
			}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := hook.Parse(r, github.PushEvent); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})
			benchHandler(b, h, body, func(hdr http.Header) {
				hdr.Set("X-GitHub-Event", string(github.PushEvent))
				hdr.Set("X-Hub-Signature-256", "sha256="+sig)
			})
		})
	}
}

// benchHandler posts body to h once per iteration, in a new request whose
// headers setHeaders sets, and fails unless h answers 204.
func benchHandler(b *testing.B, h http.Handler, body []byte, setHeaders func(http.Header)) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	benchcpu.Loop(b, func() {
		req := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		setHeaders(req.Header)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
