// Command warehouse is the data-warehouse ingestion pattern: every verified
// delivery becomes one row of a staging table (unique delivery_id, the raw
// JSON, a processed flag) and is answered at once; a background job folds
// staged rows into dimension tables (projects, tasks, milestones, members)
// and appends fact rows (one per event, one per changed field), marking each
// staging row processed in the same transaction. A duplicate delivery hits
// the staging table's primary key and is ignored, so nothing is ever
// inserted twice.
//
// It stores into an embedded SQLite file by default, so it runs with nothing
// installed:
//
//	WEBHOOK_SECRET=$(go run ./cmd/webhook secret) go run ./examples/warehouse
//
// and into PostgreSQL when given a URL:
//
//	go run ./examples/warehouse --dsn postgres://user:pass@localhost:5432/analytics
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/onplana/webhook"
)

// config is everything run needs; main fills it from flags and the
// environment, tests directly.
type config struct {
	Addr    string           // listen address; ignored when Listener is set
	Path    string           // URL path of the webhook endpoint
	Secrets []webhook.Secret // signing secrets (several during a rotation)
	Scheme  webhook.Scheme   // signature scheme
	DSN     string           // SQLite file path, or a postgres:// URL
	// Listener, if set, is served instead of listening on Addr.
	Listener net.Listener
	// Poll is how often the processor looks for staged rows it was not
	// woken for. Defaults to 5 s.
	Poll time.Duration
	// Log receives the program's log lines. Defaults to standard error.
	Log io.Writer
	// OnProcessed, if set, is called with the number of rows each batch
	// processed: a test hook.
	OnProcessed func(n int)
}

func main() {
	cfg := config{Log: os.Stderr}
	flag.StringVar(&cfg.Addr, "addr", envOr("WAREHOUSE_ADDR", "127.0.0.1:8083"), "listen `address` ($WAREHOUSE_ADDR)")
	flag.StringVar(&cfg.Path, "path", "/webhook", "URL `path` of the webhook endpoint")
	flag.StringVar(&cfg.DSN, "dsn", envOr("WAREHOUSE_DSN", "warehouse.db"),
		"SQLite file, or a postgres:// `URL` for PostgreSQL ($WAREHOUSE_DSN)")
	scheme := flag.String("scheme", envOr("WEBHOOK_SCHEME", string(webhook.SchemeOnplana)), "signature `scheme`: onplana or standard ($WEBHOOK_SCHEME)")
	flag.Parse()
	cfg.Scheme = webhook.Scheme(*scheme)
	// The secret comes from the environment only, never a flag, so that it
	// stays out of shell history and process listings.
	for _, s := range strings.Fields(os.Getenv("WEBHOOK_SECRET")) {
		cfg.Secrets = append(cfg.Secrets, webhook.Secret(s))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "warehouse:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run serves the webhook endpoint and runs the processor until ctx ends,
// then stops both and closes the database.
func run(ctx context.Context, cfg config) error {
	if len(cfg.Secrets) == 0 {
		return errors.New("no secret: set WEBHOOK_SECRET (make one with: go run ./cmd/webhook secret)")
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.Path == "" {
		cfg.Path = "/webhook"
	}
	logger := slog.New(slog.NewTextHandler(cfg.Log, nil))

	db, d, err := openDB(cfg.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	w := &warehouse{db: db, d: d, log: logger, wake: make(chan struct{}, 1), now: time.Now}
	if err := w.migrate(ctx); err != nil {
		return err
	}

	// No Dedupe: staging is itself idempotent (keyed on delivery_id) and,
	// unlike a memory store, survives restarts.
	hook, err := webhook.NewHandler(webhook.ReceiverConfig{Scheme: cfg.Scheme, Secrets: cfg.Secrets, Logger: logger},
		webhook.EventHandlerFunc(w.ingest))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.Path, hook)

	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(cfg.Log, "warehouse: listening on http://%s%s, storing into %s (%s)\n", ln.Addr(), cfg.Path, redactDSN(cfg.DSN), d.name)

	procCtx, stopProc := context.WithCancel(context.Background())
	procDone := make(chan struct{})
	go func() {
		defer close(procDone)
		w.processLoop(procCtx, cfg.Poll, cfg.OnProcessed)
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var serveErr error
	select {
	case serveErr = <-served:
	case <-ctx.Done():
	}
	// Stop taking deliveries first, then let the processor finish the row
	// it is on: staged rows not yet processed are picked up at next start.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && serveErr == nil {
		serveErr = err
	}
	stopProc()
	<-procDone
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// redactDSN hides the password of a database URL.
func redactDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		return webhook.RedactURL(dsn)
	}
	return dsn
}
