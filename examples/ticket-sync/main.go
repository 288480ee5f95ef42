// Command ticket-sync is the ticket-system sync pattern, both directions:
//
//   - Onplana → tickets: on task.created and task.updated it finds the
//     ticket labelled "onplana-task:<task id>", creates it when missing,
//     and otherwise updates only the fields named in data.diff, so an edit
//     made in the ticket system to another field is never overwritten.
//   - tickets → Onplana: the ticket system's webhook (Jira's
//     jira:issue_updated, signed with a shared secret) is verified, the task
//     is found from the label, and the changed fields are written back
//     through the Onplana REST API.
//
// Changes made by the sync itself are recognised on both sides (by the
// Onplana actor and the ticket-system account it writes as) and not sent
// back, so an edit never bounces forever.
//
// The ticket system is reached through the TicketClient interface; the
// HTTP implementation speaks a subset of Jira's REST API v2.
//
//	export WEBHOOK_SECRET=$(go run ./cmd/webhook secret)
//	export JIRA_URL=https://acme.atlassian.net JIRA_PROJECT=OPS JIRA_EMAIL=… JIRA_API_TOKEN=…
//	go run ./examples/ticket-sync
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
	Addr     string           // listen address; ignored when Listener is set
	Path     string           // path of the Onplana webhook endpoint
	JiraPath string           // path of the ticket system's webhook endpoint
	Secrets  []webhook.Secret // Onplana signing secrets
	Scheme   webhook.Scheme

	JiraURL     string // base URL of the ticket system
	JiraProject string // project key tickets are created in
	JiraEmail   string // basic-auth user
	JiraToken   string // basic-auth API token
	// JiraWebhookSecret verifies the ticket system's webhooks. Without it
	// the reverse direction is off: there is no unverified mode.
	JiraWebhookSecret string
	// JiraAccountID is the ticket-system account the sync writes as; its
	// own changes coming back are ignored.
	JiraAccountID string

	OnplanaAPIURL string // REST API base, for the reverse direction
	OnplanaToken  string // Personal Access Token
	// OnplanaActorID is the Onplana actor the token acts as; task events
	// it caused are ignored.
	OnplanaActorID string

	// DryRun keeps tickets in memory and prints what would be done, so the
	// example runs without a ticket system.
	DryRun bool

	Listener net.Listener // if set, served instead of listening on Addr
	Log      io.Writer    // log lines; defaults to standard error
}

func main() {
	cfg := config{
		Log:               os.Stderr,
		JiraURL:           os.Getenv("JIRA_URL"),
		JiraProject:       envOr("JIRA_PROJECT", "OPS"),
		JiraEmail:         os.Getenv("JIRA_EMAIL"),
		JiraToken:         os.Getenv("JIRA_API_TOKEN"),
		JiraWebhookSecret: os.Getenv("JIRA_WEBHOOK_SECRET"),
		JiraAccountID:     os.Getenv("JIRA_SYNC_ACCOUNT_ID"),
		OnplanaAPIURL:     envOr("ONPLANA_API_URL", "https://api.onplana.com"),
		OnplanaToken:      os.Getenv("ONPLANA_TOKEN"),
		OnplanaActorID:    os.Getenv("ONPLANA_SYNC_ACTOR_ID"),
	}
	flag.StringVar(&cfg.Addr, "addr", envOr("TICKET_SYNC_ADDR", "127.0.0.1:8082"), "listen `address` ($TICKET_SYNC_ADDR)")
	flag.StringVar(&cfg.Path, "path", "/webhook", "URL `path` of the Onplana webhook endpoint")
	flag.StringVar(&cfg.JiraPath, "jira-path", "/jira/webhook", "URL `path` of the ticket system's webhook endpoint")
	flag.BoolVar(&cfg.DryRun, "dry-run", false, "keep tickets in memory and print the changes instead of calling Jira")
	scheme := flag.String("scheme", envOr("WEBHOOK_SCHEME", string(webhook.SchemeOnplana)), "signature `scheme`: onplana or standard ($WEBHOOK_SCHEME)")
	flag.Parse()
	cfg.Scheme = webhook.Scheme(*scheme)
	// Secrets and tokens come from the environment only, never flags.
	for _, s := range strings.Fields(os.Getenv("WEBHOOK_SECRET")) {
		cfg.Secrets = append(cfg.Secrets, webhook.Secret(s))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "ticket-sync:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run serves both webhook endpoints until ctx ends.
func run(ctx context.Context, cfg config) error {
	switch {
	case len(cfg.Secrets) == 0:
		return errors.New("no secret: set WEBHOOK_SECRET (make one with: go run ./cmd/webhook secret)")
	case cfg.JiraURL == "" && !cfg.DryRun:
		return errors.New("set JIRA_URL (and JIRA_PROJECT, JIRA_EMAIL, JIRA_API_TOKEN), or pass --dry-run")
	case cfg.JiraWebhookSecret != "" && cfg.OnplanaToken == "":
		return errors.New("the reverse direction (JIRA_WEBHOOK_SECRET) needs ONPLANA_TOKEN")
	}
	if cfg.Path == "" {
		cfg.Path = "/webhook"
	}
	if cfg.JiraPath == "" {
		cfg.JiraPath = "/jira/webhook"
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(cfg.Log, nil))

	var tickets TicketClient = newJiraClient(cfg.JiraURL, cfg.JiraProject, cfg.JiraEmail, cfg.JiraToken)
	ticketsAt := webhook.RedactURL(cfg.JiraURL) + " (project " + cfg.JiraProject + ")"
	if cfg.DryRun {
		tickets, ticketsAt = &memTickets{out: cfg.Log}, "memory (dry run)"
	}
	s := &syncer{tickets: tickets, selfActorID: cfg.OnplanaActorID, log: logger}
	router := webhook.NewRouter()
	s.routes(router)
	// Synchronous on purpose: a ticket write takes a few hundred
	// milliseconds, and a failure answers 5xx so the sender retries it.
	// The dedupe claim is released on failure, kept on success.
	onplanaHook, err := webhook.NewHandler(webhook.ReceiverConfig{
		Scheme: cfg.Scheme, Secrets: cfg.Secrets, Logger: logger,
		Dedupe: webhook.NewMemoryDedupeStore(100_000),
	}, acknowledgeUndecodable(router))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.Path, onplanaHook)
	reverse := "off (set JIRA_WEBHOOK_SECRET and ONPLANA_TOKEN)"
	if cfg.JiraWebhookSecret != "" {
		if len(cfg.JiraWebhookSecret) < webhook.MinSecretLength {
			return fmt.Errorf("JIRA_WEBHOOK_SECRET is shorter than %d bytes", webhook.MinSecretLength)
		}
		mux.Handle(cfg.JiraPath, &reverseHandler{
			secret:      webhook.Secret(cfg.JiraWebhookSecret),
			tasks:       newOnplanaClient(cfg.OnplanaAPIURL, cfg.OnplanaToken),
			selfAccount: cfg.JiraAccountID,
			log:         logger,
		})
		reverse = "on " + cfg.JiraPath
	}

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
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(cfg.Log, "ticket-sync: listening on http://%s%s, tickets in %s; reverse sync %s\n",
		ln.Addr(), cfg.Path, ticketsAt, reverse)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var serveErr error
	select {
	case serveErr = <-served:
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && serveErr == nil {
		serveErr = err
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}
