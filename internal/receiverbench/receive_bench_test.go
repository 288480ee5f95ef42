package receiverbench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-playground/webhooks/v6/github"
	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/internal/benchcpu"
	"github.com/onplana/webhook/onplana"
)

// ring is how many distinct deliveries a benchmark cycles through. The
// dedupe store holds half as many, so every request is new to it: it claims,
// marks done and evicts, as a receiver does, instead of answering "already
// processed".
const ring = 1024

// payloads pairs a GitHub payload from go-playground/webhooks' test data with
// the event it is parsed as. Our task.updated envelope is padded to the
// same number of bytes (see onplanaBodies).
var payloads = []struct {
	name   string
	file   string
	event  github.Event
	handle func(any) string
}{
	{"1KB", "github-security-advisory.json", github.SecurityAdvisoryEvent, func(pl any) string {
		return pl.(github.SecurityAdvisoryPayload).SecurityAdvisory.Summary
	}},
	{"8KB", "github-issues.json", github.IssuesEvent, func(pl any) string {
		return pl.(github.IssuesPayload).Issue.Title
	}},
}

// sink keeps handler results alive.
var sink string

// BenchmarkReceive compares the whole receiving path of one delivery, as
// an http.Handler called in process (no network): for this library,
// NewHandler reading the body, verifying its HMAC-SHA256, parsing the
// envelope, deduplicating in memory and decoding the data into
// onplana.TaskEventData for a typed handler; for go-playground/webhooks,
// github.Webhook.Parse reading the body, verifying its HMAC-SHA256
// (X-Hub-Signature-256) and decoding it into its payload struct, in a
// handler that answers 204. Both payloads have the same size in bytes, and
// both handlers read one string field of the typed payload. The
// impl=webhook+diff rows add what go-playground's side has no counterpart
// for: the handler also decodes a field of the event's diff with
// onplana.ChangeOf.
func BenchmarkReceive(b *testing.B) {
	for _, size := range payloads {
		gh := githubBody(b, size.file)
		b.Run("size="+size.name+"/impl=webhook", func(b *testing.B) {
			h, reqs := webhookHandler(b, onplanaBodies(b, len(gh)), false)
			run(b, h, reqs, len(gh))
		})
		b.Run("size="+size.name+"/impl=webhook+diff", func(b *testing.B) {
			h, reqs := webhookHandler(b, onplanaBodies(b, len(gh)), true)
			run(b, h, reqs, len(gh))
		})
		b.Run("size="+size.name+"/impl=go-playground", func(b *testing.B) {
			h, reqs := goPlaygroundHandler(b, gh, size.event, size.handle)
			run(b, h, reqs, len(gh))
		})
	}
}

// TestBothPathsAnswer204 runs each handler of the benchmark once, so that
// a change that breaks the comparison fails go test.
func TestBothPathsAnswer204(t *testing.T) {
	for _, size := range payloads {
		gh := githubBody(t, size.file)
		for name, setup := range map[string]func() (http.Handler, []*request){
			"webhook":       func() (http.Handler, []*request) { return webhookHandler(t, onplanaBodies(t, len(gh)), false) },
			"webhook+diff":  func() (http.Handler, []*request) { return webhookHandler(t, onplanaBodies(t, len(gh)), true) },
			"go-playground": func() (http.Handler, []*request) { return goPlaygroundHandler(t, gh, size.event, size.handle) },
		} {
			h, reqs := setup()
			w := &responseWriter{header: http.Header{}}
			reqs[0].reset()
			h.ServeHTTP(w, reqs[0].r)
			require.Equal(t, http.StatusNoContent, w.status, "%s %s", size.name, name)
			require.NotEmpty(t, sink)
		}
	}
}

// webhookHandler returns this library's receiver and a signed request for
// each of bodies. Its handler reads the task's title and, with readDiff,
// the new due date from the diff.
func webhookHandler(tb testing.TB, bodies [][]byte, readDiff bool) (http.Handler, []*request) {
	r := webhook.NewRouter()
	onplana.OnTaskUpdated(r, func(ctx context.Context, e *webhook.Event, data *onplana.TaskEventData) error {
		sink = data.Task.Title
		if !readDiff {
			return nil
		}
		_, due, _, err := onplana.ChangeOf[string](data.Diff, "due_date")
		sink += due
		return err
	})
	h, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{secret},
		Dedupe:  webhook.NewMemoryDedupeStore(ring / 2),
		Logger:  slog.New(slog.DiscardHandler),
	}, r)
	require.NoError(tb, err)
	reqs := make([]*request, len(bodies))
	for i, body := range bodies {
		reqs[i] = newRequest(body, map[string]string{
			webhook.DefaultEventHeader:     string(webhook.EventTaskUpdated),
			webhook.DefaultSignatureHeader: webhook.Sign(secret, body),
		})
	}
	return h, reqs
}

// goPlaygroundHandler returns a handler parsing body with
// go-playground/webhooks, and ring signed requests of it, each with its own
// copy of the body, so that both libraries read bodies that are not all
// hot in the cache, as a server does.
func goPlaygroundHandler(tb testing.TB, body []byte, event github.Event, handle func(any) string) (http.Handler, []*request) {
	hook, err := github.New(github.Options.Secret(secret.Reveal()))
	require.NoError(tb, err)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pl, err := hook.Parse(r, event)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sink = handle(pl)
		w.WriteHeader(http.StatusNoContent)
	})
	sig := "sha256=" + webhook.Sign(secret, body)
	reqs := make([]*request, ring)
	for i := range reqs {
		reqs[i] = newRequest(bytes.Clone(body), map[string]string{
			"X-GitHub-Event":      string(event),
			"X-Hub-Signature-256": sig,
		})
	}
	return h, reqs
}

// run serves the requests in turn, b.N times in all, and requires 204. It
// reports the process's CPU time per request as process-cpu-ns/op, the
// garbage collector's included, where the platform tells it: the issue's
// "CPU per request", which waiting for a core on a shared machine does not
// inflate as it does ns/op.
func run(b *testing.B, h http.Handler, reqs []*request, size int) {
	w := &responseWriter{header: http.Header{}}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	runtime.GC() // the garbage of building the requests is not the run's to collect
	b.ResetTimer()
	cpu0, ok := benchcpu.Process()
	for i := 0; b.Loop(); i++ {
		req := reqs[i%len(reqs)]
		req.reset()
		w.reset()
		h.ServeHTTP(w, req.r)
		if w.status != http.StatusNoContent {
			b.Fatalf("status %d", w.status)
		}
	}
	if cpu1, ok1 := benchcpu.Process(); ok && ok1 && b.N > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "process-cpu-ns/op")
	}
}

// request is a request whose body can be read again.
type request struct {
	r      *http.Request
	body   []byte
	rd     bytes.Reader
	cancel context.CancelFunc
}

// newRequest returns a request of body with headers. Its context is one
// of its own that can end, as net/http gives each request it serves.
func newRequest(body []byte, headers map[string]string) *request {
	ctx, cancel := context.WithCancel(context.Background())
	req := &request{body: body, cancel: cancel}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://receiver.example/webhook", nil)
	if err != nil {
		panic(err)
	}
	r.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	r.ContentLength = int64(len(body))
	req.r = r
	return req
}

func (req *request) reset() {
	req.rd.Reset(req.body)
	req.r.Body = io.NopCloser(&req.rd)
}

// responseWriter records the status and discards the body.
type responseWriter struct {
	header http.Header
	status int
}

func (w *responseWriter) Header() http.Header { return w.header }
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *responseWriter) reset() {
	clear(w.header)
	w.status = 0
}

// githubBody returns a GitHub payload of go-playground/webhooks' test data,
// compacted as a sender writes it.
func githubBody(tb testing.TB, file string) []byte {
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	require.NoError(tb, err)
	var out bytes.Buffer
	require.NoError(tb, json.Compact(&out, raw))
	return out.Bytes()
}

// onplanaBodies returns ring task.updated envelopes of exactly size bytes,
// each with its own delivery_id, as a Dispatcher builds them: the catalog's
// sample task, with a description long enough to reach size.
func onplanaBodies(tb testing.TB, size int) [][]byte {
	var data onplana.TaskEventData
	info, ok := onplana.LookupEvent(webhook.EventTaskUpdated)
	require.True(tb, ok)
	var sample webhook.Event
	require.NoError(tb, json.Unmarshal(info.Sample, &sample))
	require.NoError(tb, sample.DecodeData(&data))

	subs := make([]string, ring)
	for i := range subs {
		subs[i] = fmt.Sprintf("sub_%04d", i)
	}
	build := func(description string) [][]byte {
		data.Task.Description = description
		e, err := webhook.NewEvent(webhook.EventTaskUpdated, sample.OrganizationID, sample.ProjectID, data)
		require.NoError(tb, err)
		e.ID, e.Timestamp = sample.ID, sample.Timestamp
		dls, err := webhook.NewDeliveries(e, subs, time.Now(), 1<<20)
		require.NoError(tb, err)
		bodies := make([][]byte, len(dls))
		for i, d := range dls {
			bodies[i] = d.Body
		}
		return bodies
	}
	base := len(build("x")[0]) - 1 // an empty description is omitted
	require.Less(tb, base, size, "the GitHub payload is smaller than the sample task")
	const para = "Port the three plan cards and the FAQ to the new CMS; keep the current URLs and redirects. "
	bodies := build(strings.Repeat(para, (size-base)/len(para)+1)[:size-base])
	for _, body := range bodies {
		require.Equal(tb, size, len(body), "envelope size")
	}
	return bodies
}
