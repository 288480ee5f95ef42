// Package durabletest holds what the durability tests of pgstore and
// sqlitestore share: a counting receiver behind the real receiver
// middleware and idempotency, and dispatchers running in child processes
// (the test binary re-executed) that a test can SIGKILL and restart.
//
// A test package wires it in with a TestMain:
//
//	func TestMain(m *testing.M) {
//		durabletest.MaybeRunChild(openStoreFromEnv)
//		os.Exit(m.Run())
//	}
package durabletest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/onplana/webhook"
)

// Environment of a child dispatcher process.
const (
	envChild       = "WEBHOOK_DURABLE_CHILD"        // "1" in a child
	envAgent       = "WEBHOOK_DURABLE_AGENT"        // its User-Agent, to tell children apart
	envClockOffset = "WEBHOOK_DURABLE_CLOCK_OFFSET" // a time.Duration added to its clock
	envWorkers     = "WEBHOOK_DURABLE_WORKERS"
)

// AttemptTimeout is the children's Config.AttemptTimeout. A Dispatcher's
// lease is AttemptTimeout plus 30 s, so a restarted child runs its clock
// LeaseWait ahead: that stands in for waiting until the killed child's
// leases expire, which a real restart would have to do.
const (
	AttemptTimeout = 5 * time.Second
	LeaseWait      = AttemptTimeout + 31*time.Second
)

// RetryPolicy is the children's Config.RetryPolicy: a retry every 200 ms.
// These tests are about losing nothing across crashes and outages; on a
// loaded CI machine an attempt can time out, and the default schedule (5 s,
// 25 s, 2 min, …) would push its retry past any reasonable wait.
var RetryPolicy = webhook.ExponentialRetry{
	InitialInterval: 200 * time.Millisecond, MaxInterval: 200 * time.Millisecond,
	Multiplier: 1, RandomizationFactor: -1, MaxElapsed: time.Hour,
}

// OpenFunc opens the store a child delivers from, from the child's
// environment, and returns a function that closes it.
type OpenFunc func(ctx context.Context) (webhook.Store, func(), error)

// MaybeRunChild runs a child dispatcher and exits if this process was
// started as one (by StartChild); otherwise it returns at once. The child
// delivers until SIGTERM, then closes its Dispatcher gracefully and exits 0.
func MaybeRunChild(open OpenFunc) {
	if os.Getenv(envChild) != "1" {
		return
	}
	if err := runChild(open); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runChild(open OpenFunc) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	store, closeStore, err := open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	offset, _ := time.ParseDuration(os.Getenv(envClockOffset))
	workers, _ := strconv.Atoi(os.Getenv(envWorkers))
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		Workers:         workers,
		MaxPerEndpoint:  max(workers, 1),
		AttemptTimeout:  AttemptTimeout,
		RetryPolicy:     RetryPolicy,
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		UserAgent:       os.Getenv(envAgent),
		Logger:          slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Now:             func() time.Time { return time.Now().Add(offset) },
	})
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.Close(cctx)
}

// Child is a dispatcher running in a child process.
type Child struct {
	t      testing.TB
	cmd    *exec.Cmd
	name   string
	stderr *syncBuffer
	exited chan struct{}
	err    error // after exited
}

// StartChild re-executes the test binary as a dispatcher named agent (its
// User-Agent) with workers workers, its clock offset ahead, and env added
// to the environment (how the child opens its store). The child is killed
// when the test ends if it is still running.
func StartChild(t testing.TB, agent string, workers int, offset time.Duration, env ...string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, envChild+"=1", envAgent+"="+agent,
		envWorkers+"="+strconv.Itoa(workers), envClockOffset+"="+offset.String())
	c := &Child{t: t, cmd: cmd, name: agent, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout = c.stderr
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child %s: %v", agent, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("child %s output (tail):\n%s", agent, c.stderr.tail(4000))
		}
	})
	return c
}

// Kill sends SIGKILL and waits for the process to be gone.
func (c *Child) Kill() {
	c.t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// Stop sends SIGTERM, waits for a graceful exit and fails the test if the
// child did not exit cleanly within timeout.
func (c *Child) Stop(timeout time.Duration) {
	c.t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(timeout):
		c.t.Fatalf("child %s did not exit within %v after SIGTERM", c.name, timeout)
	}
	if c.err != nil {
		c.t.Fatalf("child %s: %v\n%s", c.name, c.err, c.stderr.tail(4000))
	}
}

// Output returns what the child wrote.
func (c *Child) Output() string { return c.stderr.String() }

// Receiver is an endpoint behind webhook.Receiver.Middleware and
// webhook.Idempotency (with a MemoryDedupeStore), counting every request it
// gets and every delivery its handler processes.
type Receiver struct {
	URL    string
	Secret webhook.Secret

	requests atomic.Int64 // every request, duplicates included

	mu        sync.Mutex
	processed map[string]int // handler runs per delivery id
	byAgent   map[string]int // handler runs per User-Agent
	waiters   []waiter
}

type waiter struct {
	n  int
	ch chan struct{}
}

// NewReceiver starts a Receiver on 127.0.0.1, stopped when the test ends.
func NewReceiver(t testing.TB) *Receiver { return NewReceiverFunc(t, nil) }

// NewReceiverFunc is NewReceiver with a function called (concurrently) with
// every event the handler processes, after it is counted.
func NewReceiverFunc(t testing.TB, onEvent func(*webhook.Event)) *Receiver {
	t.Helper()
	secret := webhook.NewSecret()
	rv, err := webhook.NewReceiver(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{secret},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	idem, err := webhook.NewIdempotency(webhook.NewMemoryDedupeStore(1<<20), &webhook.IdempotencyConfig{
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{Secret: secret, processed: make(map[string]int), byAgent: make(map[string]int)}
	handler := rv.Middleware(idem.Middleware(rv.ServeEvents(webhook.EventHandlerFunc(
		func(ctx context.Context, e *webhook.Event, body []byte) error {
			r.record(e.DeliveryID, agentFrom(ctx))
			if onEvent != nil {
				onEvent(e)
			}
			return nil
		}))))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		handler.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), agentKey{}, req.UserAgent())))
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

type agentKey struct{}

func agentFrom(ctx context.Context) string {
	s, _ := ctx.Value(agentKey{}).(string)
	return s
}

func (r *Receiver) record(id, agent string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.processed[id]++
	r.byAgent[agent]++
	n := len(r.processed)
	kept := r.waiters[:0]
	for _, w := range r.waiters {
		if n >= w.n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	r.waiters = kept
}

// Processed returns a channel closed once n distinct deliveries have been
// processed.
func (r *Receiver) Processed(n int) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan struct{})
	if len(r.processed) >= n {
		close(ch)
		return ch
	}
	r.waiters = append(r.waiters, waiter{n: n, ch: ch})
	return ch
}

// Counts is what a Receiver saw.
type Counts struct {
	Requests   int64          // requests received, duplicates included
	Distinct   int            // distinct delivery ids processed
	HandlerRan int            // handler runs (more than Distinct means dedupe failed)
	ByAgent    map[string]int // handler runs per sender
}

// Duplicates is the number of requests beyond one per distinct delivery.
func (c Counts) Duplicates() int64 { return c.Requests - int64(c.Distinct) }

// Counts returns what the Receiver saw so far.
func (r *Receiver) Counts() Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Counts{Requests: r.requests.Load(), Distinct: len(r.processed), ByAgent: make(map[string]int)}
	for _, n := range r.processed {
		c.HandlerRan += n
	}
	for a, n := range r.byAgent {
		c.ByAgent[a] = n
	}
	return c
}

// Subscribe creates subs subscriptions of organization org to every task
// event, all pointing at the receiver and signed with its secret.
func (r *Receiver) Subscribe(ctx context.Context, store webhook.Store, org string, subs int) error {
	now := time.Now()
	for i := range subs {
		sub := &webhook.Subscription{
			ID:             fmt.Sprintf("sub_%s_%02d", org, i),
			OrganizationID: org,
			URL:            r.URL + "/hook",
			EventTypes:     []string{"task.*"},
			Secrets:        []webhook.SigningSecret{{Secret: r.Secret, CreatedAt: now}},
		}
		if err := store.CreateSubscription(ctx, sub); err != nil {
			return err
		}
	}
	return nil
}

// Publish publishes events task.created events of organization org (its
// project proj_1, which the organization-wide subscriptions match) through
// a Dispatcher over store that is never started (publishing needs no
// workers), from several goroutines.
func Publish(ctx context.Context, store webhook.Store, org string, events int) error {
	d, err := webhook.NewDispatcher(store, &webhook.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer d.Close(ctx)
	var g errgroup.Group
	g.SetLimit(8)
	for i := range events {
		g.Go(func() error {
			e, err := webhook.NewEvent(webhook.EventTaskCreated, org, "proj_1",
				map[string]any{"task": map[string]any{"id": fmt.Sprintf("task_%06d", i), "title": "durability"}})
			if err != nil {
				return err
			}
			return d.Publish(ctx, e)
		})
	}
	return g.Wait()
}

// Wait waits for ch or fails the test after timeout, saying what it waited
// for.
func Wait(t testing.TB, ch <-chan struct{}, timeout time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(timeout):
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// WaitSettled waits until store holds no pending or delivering delivery,
// checking every 100 ms, or fails the test after timeout. The receiver
// having seen every delivery is not enough: a delivery whose attempt
// reached it just before a crash is still delivering in the store until a
// dispatcher claims it again (once its lease expires), sends it again and
// records the result.
func WaitSettled(t testing.TB, store webhook.Store, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		open := 0
		for _, st := range []webhook.DeliveryState{webhook.StatePending, webhook.StateDelivering} {
			ds, _, err := store.ListDeliveries(ctx, webhook.DeliveryQuery{State: st, Page: webhook.Page{Limit: 1}})
			if err != nil {
				t.Fatal(err)
			}
			open += len(ds)
		}
		if open == 0 {
			return
		}
		select {
		case <-deadline.C:
			states, _ := CountStates(ctx, store)
			t.Fatalf("deliveries not settled after %v: %v", timeout, states)
		case <-tick.C:
		}
	}
}

// CountStates pages through the delivery log and counts deliveries by state.
func CountStates(ctx context.Context, store webhook.Store) (map[webhook.DeliveryState]int, error) {
	out := make(map[webhook.DeliveryState]int)
	q := webhook.DeliveryQuery{Page: webhook.Page{Limit: webhook.MaxPageSize}}
	for {
		ds, next, err := store.ListDeliveries(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			out[d.State]++
		}
		if next == "" {
			return out, nil
		}
		q.Page.Cursor = next
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func (s *syncBuffer) tail(n int) string {
	str := s.String()
	if len(str) > n {
		return "…" + str[len(str)-n:]
	}
	return str
}
