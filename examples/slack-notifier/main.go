// Command slack-notifier is the Slack notification pattern: it receives
// Onplana webhooks and posts a Block Kit message to Slack when a milestone
// is completed, a project's status turns at risk or off track, or a task
// becomes blocked. Routine updates are ignored so the channel stays worth
// reading.
//
// Each delivery is verified, deduplicated on its delivery_id (a retry or a
// redelivery never posts twice) and answered 202 at once; the message is
// posted from a background queue, so a slow Slack never makes the sender
// time out and retry.
//
// With SLACK_BOT_TOKEN set it also creates a channel per project (Slack
// Web API conversations.create) on project.created and posts that
// project's messages there (chat.postMessage).
//
//	export WEBHOOK_SECRET=$(go run ./cmd/webhook secret)
//	export SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T000/B000/XXXX
//	go run ./examples/slack-notifier
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
	Scheme  webhook.Scheme
	// SlackWebhookURL is the Incoming Webhook messages go to. It is a
	// credential: it comes from the environment and is never logged.
	SlackWebhookURL string
	// SlackBotToken enables channel-per-project mode.
	SlackBotToken string
	// SlackAPIURL is the Web API base. Defaults to https://slack.com/api.
	SlackAPIURL string
	// ChannelPrefix starts the name of each project channel. Defaults to "proj-".
	ChannelPrefix string
	// DryRun prints the messages instead of posting them, so the example
	// runs without a Slack workspace.
	DryRun bool
	// Listener, if set, is served instead of listening on Addr.
	Listener net.Listener
	// Log receives the program's log lines. Defaults to standard error.
	Log io.Writer
}

func main() {
	cfg := config{
		Log:             os.Stderr,
		SlackWebhookURL: os.Getenv("SLACK_WEBHOOK_URL"),
		SlackBotToken:   os.Getenv("SLACK_BOT_TOKEN"),
	}
	flag.StringVar(&cfg.Addr, "addr", envOr("NOTIFIER_ADDR", "127.0.0.1:8081"), "listen `address` ($NOTIFIER_ADDR)")
	flag.StringVar(&cfg.Path, "path", "/webhook", "URL `path` of the webhook endpoint")
	flag.StringVar(&cfg.SlackAPIURL, "slack-api", envOr("SLACK_API_URL", "https://slack.com/api"), "Slack Web API base `URL` ($SLACK_API_URL)")
	flag.StringVar(&cfg.ChannelPrefix, "channel-prefix", "proj-", "`prefix` of the channel created per project (with SLACK_BOT_TOKEN)")
	flag.BoolVar(&cfg.DryRun, "dry-run", false, "print the Slack messages instead of posting them")
	scheme := flag.String("scheme", envOr("WEBHOOK_SCHEME", string(webhook.SchemeOnplana)), "signature `scheme`: onplana or standard ($WEBHOOK_SCHEME)")
	flag.Parse()
	cfg.Scheme = webhook.Scheme(*scheme)
	// Secrets, the Slack URL and the token come from the environment only,
	// never from flags, so that they stay out of shell history and ps.
	for _, s := range strings.Fields(os.Getenv("WEBHOOK_SECRET")) {
		cfg.Secrets = append(cfg.Secrets, webhook.Secret(s))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "slack-notifier:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run serves the webhook endpoint until ctx ends, then stops taking
// deliveries and drains the queue of messages still to post.
func run(ctx context.Context, cfg config) error {
	if len(cfg.Secrets) == 0 {
		return errors.New("no secret: set WEBHOOK_SECRET (make one with: go run ./cmd/webhook secret)")
	}
	if cfg.SlackWebhookURL == "" && cfg.SlackBotToken == "" && !cfg.DryRun {
		return errors.New("set SLACK_WEBHOOK_URL (an Incoming Webhook), SLACK_BOT_TOKEN (channel per project), or both; or pass --dry-run")
	}
	if cfg.Path == "" {
		cfg.Path = "/webhook"
	}
	if cfg.SlackAPIURL == "" {
		cfg.SlackAPIURL = "https://slack.com/api"
	}
	if cfg.ChannelPrefix == "" {
		cfg.ChannelPrefix = "proj-"
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(cfg.Log, nil))

	slack := newSlackClient(cfg.SlackWebhookURL, cfg.SlackBotToken, cfg.SlackAPIURL)
	perProject := cfg.SlackBotToken != ""
	if cfg.DryRun {
		slack.dryRun, perProject = cfg.Log, false
	}
	n := newNotifier(slack, perProject, cfg.ChannelPrefix, logger)

	router := webhook.NewRouter()
	n.routes(router)
	// Verify → deduplicate → queue and answer 202 → post from a worker.
	hook, err := webhook.NewHandler(webhook.ReceiverConfig{
		Scheme: cfg.Scheme, Secrets: cfg.Secrets, Logger: logger,
		Dedupe: webhook.NewMemoryDedupeStore(100_000),
		Async: &webhook.AsyncConfig{
			QueueSize: 256,
			// One worker: messages reach Slack in the order the events came,
			// and an Incoming Webhook accepts about one message a second anyway.
			Workers: 1,
			OnError: func(ctx context.Context, e *webhook.Event, _ []byte, err error) {
				// The sender already has its 2xx: a message Slack refused is
				// only in this log (and can be re-sent from the delivery log).
				logger.ErrorContext(ctx, "message not posted", "event", e.Type, "delivery_id", e.DeliveryID, "error", err)
			},
		},
	}, router)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.Path, hook)

	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			hook.Shutdown(context.Background())
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
	mode := "incoming webhook"
	switch {
	case cfg.DryRun:
		mode = "dry run, messages printed here"
	case perProject:
		mode = "channel per project (" + cfg.ChannelPrefix + "…)"
	}
	fmt.Fprintf(cfg.Log, "slack-notifier: listening on http://%s%s, posting to Slack: %s\n", ln.Addr(), cfg.Path, mode)

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
	// The server takes no more events: post those already accepted.
	if err := hook.Shutdown(shutdownCtx); err != nil && serveErr == nil {
		serveErr = fmt.Errorf("drain queue: %w", err)
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}
