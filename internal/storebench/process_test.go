package storebench_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/pgstore"
)

// The benchmarks put the receiver, and for the latency benchmark the
// dispatcher, in processes of their own, as in production: the test
// binary runs again in the role roleEnv names, until its stdin closes.

const roleEnv = "STOREBENCH_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "receiver":
		os.Exit(runReceiver())
	case "dispatcher":
		os.Exit(runDispatcher())
	}
	os.Exit(m.Run())
}

// sentField is the field of the benchmarks' event data that carries the
// time of Publish, in Unix nanoseconds, for the receiver to measure the
// latency.
const sentField = `"sent_unix_nano":`

// benchEvent returns a task.created event of org, stamped with the
// current time.
func benchEvent(org string) webhook.Event {
	return webhook.Event{Type: webhook.EventTaskCreated, OrganizationID: org, ProjectID: "proj_bench", Data: eventData()}
}

// eventData returns event data stamped with the current time.
func eventData() []byte {
	return fmt.Appendf(nil, `{"task":{"id":"task_1","title":"Backlog"},%s%d}`, sentField, time.Now().UnixNano())
}

// runReceiver serves STOREBENCH_LISTENERS endpoints on 127.0.0.1 (one
// "host" each, as far as per-endpoint limits go), prints their addresses
// and "ready", then one line per event delivery it answered 2xx:
// "<delivery id> <received, Unix ns> <sent, Unix ns>". Paths: /ok answers
// 204 at once, /slow/<ms> after ms milliseconds, /fail 500. Pings are
// answered 204 and not printed.
func runReceiver() int {
	n, _ := strconv.Atoi(os.Getenv("STOREBENCH_LISTENERS"))
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	records := make(chan string, 4096)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		received := time.Now().UnixNano()
		path := r.URL.Path
		switch {
		case path == "/fail":
			w.WriteHeader(http.StatusInternalServerError)
			return
		case strings.HasPrefix(path, "/slow/"):
			ms, _ := strconv.Atoi(strings.TrimPrefix(path, "/slow/"))
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		w.WriteHeader(http.StatusNoContent)
		if r.Header.Get(webhook.DefaultEventHeader) == string(webhook.EventPing) {
			return
		}
		var sent int64
		if i := bytes.Index(body, []byte(sentField)); i >= 0 {
			rest := body[i+len(sentField):]
			end := bytes.IndexAny(rest, ",}")
			if end > 0 {
				sent, _ = strconv.ParseInt(string(rest[:end]), 10, 64)
			}
		}
		records <- fmt.Sprintf("%s %d %d\n", r.Header.Get(webhook.DefaultDeliveryHeader), received, sent)
	})
	for range max(n, 1) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		fmt.Fprintf(out, "addr %s\n", ln.Addr())
	}
	fmt.Fprintln(out, "ready")
	out.Flush()
	go func() {
		io.Copy(io.Discard, os.Stdin) // until the benchmark closes it
		close(records)
	}()
	for rec := range records {
		out.WriteString(rec)
		if len(records) == 0 {
			out.Flush()
		}
	}
	out.Flush()
	return 0
}

// runDispatcher runs a Dispatcher with the default Config (but for local
// endpoints) on pgstore at STOREBENCH_DSN, prints "ready" once started and
// closes it when stdin closes.
func runDispatcher() int {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STOREBENCH_DSN"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pool.Close()
	store, err := pgstore.New(pool, &pgstore.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer store.Close()
	d, err := webhook.NewDispatcher(store, localConfig(nil))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := d.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	if err := d.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// process is a child in one of the roles, with its output lines.
type process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
}

// startProcess runs the test binary in role with env, waits for its
// "ready" line and returns the lines before it. The process stops when tb
// ends.
func startProcess(tb testing.TB, role string, env ...string) (*process, []string) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), roleEnv+"="+role), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &process{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}
	tb.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	var before []string
	for p.lines.Scan() {
		if p.lines.Text() == "ready" {
			return p, before
		}
		before = append(before, p.lines.Text())
	}
	tb.Fatalf("%s process exited before it was ready: %v", role, p.lines.Err())
	return nil, nil
}

// receipt is one delivery the receiver answered 2xx.
type receipt struct {
	received, sent time.Time
}

// receiver is the client side of a receiver process: its endpoints'
// base URLs and what it received.
type receiver struct {
	urls []string

	mu      sync.Mutex
	seen    map[string]bool
	dups    int
	log     []receipt // in order of receipt
	changed chan struct{}
}

// startReceiver starts a receiver process with listeners endpoints.
func startReceiver(tb testing.TB, listeners int) *receiver {
	tb.Helper()
	p, lines := startProcess(tb, "receiver", "STOREBENCH_LISTENERS="+strconv.Itoa(listeners))
	r := &receiver{seen: make(map[string]bool), changed: make(chan struct{}, 1)}
	for _, l := range lines {
		if addr, ok := strings.CutPrefix(l, "addr "); ok {
			r.urls = append(r.urls, "http://"+addr)
		}
	}
	go func() {
		for p.lines.Scan() {
			f := strings.Fields(p.lines.Text())
			if len(f) != 3 {
				continue
			}
			received, _ := strconv.ParseInt(f[1], 10, 64)
			sent, _ := strconv.ParseInt(f[2], 10, 64)
			r.mu.Lock()
			if r.seen[f[0]] {
				r.dups++
			} else {
				r.seen[f[0]] = true
				r.log = append(r.log, receipt{time.Unix(0, received), time.Unix(0, sent)})
			}
			r.mu.Unlock()
			select {
			case r.changed <- struct{}{}:
			default:
			}
		}
	}()
	return r
}

// reset forgets what was received.
func (r *receiver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.seen)
	r.dups = 0
	r.log = nil
}

// count returns the distinct deliveries received and the duplicates.
func (r *receiver) count() (distinct, dups int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log), r.dups
}

// receipts returns a copy of the receipts so far.
func (r *receiver) receipts() []receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receipt(nil), r.log...)
}

// wait waits until n distinct deliveries were received, or fails tb after
// timeout.
func (r *receiver) wait(tb testing.TB, n int, timeout time.Duration) {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		if got, _ := r.count(); got >= n {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			got, _ := r.count()
			tb.Fatalf("received %d of %d deliveries in %v", got, n, timeout)
		}
	}
}
