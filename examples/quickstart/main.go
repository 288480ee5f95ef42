// Command quickstart runs both halves of the SDK in one process: a sender
// (a Dispatcher over the in-memory store) and three customer endpoints (a
// Receiver each) on a local server. It subscribes the endpoints with
// different scopes and event sets, publishes events of several types,
// prints every delivery as the receiver verifies it, then the sender's
// delivery log. One endpoint answers 503 to its first event, so the log
// shows a retry. It exits by itself in a few seconds.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// org is the organization of the example.
const org = "org_acme"

// endpoint is one customer endpoint and what it subscribes to.
type endpoint struct {
	name       string
	project    string // empty: the whole organization
	eventTypes []string
	failFirst  bool // answer 503 to the first event
}

var endpoints = []endpoint{
	{name: "slack", eventTypes: []string{"milestone.completed", "project.status_changed"}},
	{name: "tickets", project: "proj_web", eventTypes: []string{"task.*"}},
	{name: "warehouse", eventTypes: []string{"*"}, failFirst: true},
}

// run runs the example, writing its report to out. It returns an error if
// any delivery is missing after 15 seconds.
func run(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()

	// The receiving side: one local HTTP server, one path per endpoint.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	// The sending side. The SSRF guard refuses local addresses unless told
	// otherwise, and retries normally wait seconds to days: both are
	// relaxed here for a local demo only. The catalog's Validator refuses
	// at Publish any event its JSON Schema forbids.
	store := webhook.NewMemoryStore()
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		Validator:       onplana.Validator(),
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		RetryPolicy:     webhook.ExponentialRetry{InitialInterval: 300 * time.Millisecond, MaxElapsed: 10 * time.Second},
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	defer d.Close(context.Background())

	fmt.Fprintf(out, "Receiver listening on %s\n\nSubscriptions of %s:\n", base, org)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	names := map[string]string{} // subscription id → endpoint name
	received := make(chan string, 64)
	for _, ep := range endpoints {
		sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
			OrganizationID: org, ProjectID: ep.project, URL: base + "/" + ep.name,
			EventTypes: ep.eventTypes, Description: "quickstart " + ep.name,
		})
		if err != nil {
			return err
		}
		names[sub.ID] = ep.name
		// The secret is returned once, at creation: the customer configures
		// its receiver with it.
		// Verified, deduplicated, then every type to one handler: the
		// Router's fallback, since this demo prints all of them alike.
		r := webhook.NewRouter()
		r.Fallback(webhook.EventHandlerFunc(func(_ context.Context, e *webhook.Event, _ []byte) error {
			received <- fmt.Sprintf("  %-9s  %-22s  %-11s  %s  signature verified", ep.name, e.Type, orDash(e.ProjectID), e.DeliveryID)
			return nil
		}))
		h, err := webhook.NewHandler(webhook.ReceiverConfig{
			Secrets: []webhook.Secret{sub.Secrets[0].Secret},
			Dedupe:  webhook.NewMemoryDedupeStore(0),
		}, r)
		if err != nil {
			return err
		}
		mux.Handle("/"+ep.name, outage(ep.failFirst, ep.name, received, h))
		scope := "whole organization"
		if ep.project != "" {
			scope = "project " + ep.project
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s", ep.name, scope, strings.Join(ep.eventTypes, ", "))
		if ep.failFirst {
			fmt.Fprintf(tw, "\t(answers 503 to its first event)")
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	if err := d.Start(ctx); err != nil {
		return err
	}
	events, err := sampleEvents()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nPublishing %d events (and a webhook.ping per subscription, sent at creation):\n", len(events))
	for _, e := range events {
		if err := d.Publish(ctx, e); err != nil {
			return err
		}
		note := ""
		if e.OrganizationID != org {
			note = "  (another organization: nobody here receives it)"
		}
		fmt.Fprintf(out, "  %-22s  %-11s  %s%s\n", e.Type, orDash(e.ProjectID), e.OrganizationID, note)
	}

	// Publish has stored one delivery per matching subscription: the
	// receivers should see exactly those.
	enqueued, _, err := store.ListDeliveries(ctx, webhook.DeliveryQuery{OrganizationID: org, Page: webhook.Page{Limit: 100}})
	if err != nil {
		return err
	}
	want := len(enqueued) + 1 // and the 503
	fmt.Fprintf(out, "\nReceived (%d deliveries, in arrival order):\n", len(enqueued))
	for range want {
		select {
		case line := <-received:
			fmt.Fprintln(out, line)
		case <-ctx.Done():
			return errors.New("timed out waiting for deliveries")
		}
	}

	// Close waits for attempts in flight, so the log below is complete.
	if err := d.Close(ctx); err != nil {
		return err
	}
	return printLog(ctx, out, store, names)
}

// outage wraps the endpoint name's handler next so that, when fail is
// set, its first event (not ping) is answered 503 Service Unavailable, as
// during a deployment, and reported on received.
func outage(fail bool, name string, received chan<- string, next http.Handler) http.Handler {
	var failed atomic.Bool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		typ := r.Header.Get(webhook.DefaultEventHeader)
		if fail && typ != string(webhook.EventPing) && failed.CompareAndSwap(false, true) {
			http.Error(w, "deploying, try again", http.StatusServiceUnavailable)
			received <- fmt.Sprintf("  %-9s  %-22s  answered 503 (simulated outage): the dispatcher retries", name, typ)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// printLog prints the organization's delivery log, oldest first, with the
// status of every attempt.
func printLog(ctx context.Context, out io.Writer, store webhook.Store, names map[string]string) error {
	dls, _, err := store.ListDeliveries(ctx, webhook.DeliveryQuery{OrganizationID: org, Page: webhook.Page{Limit: 100}})
	if err != nil {
		return err
	}
	logs := make(map[string][]*webhook.Attempt, len(dls))
	for _, dl := range dls {
		if logs[dl.ID], err = store.ListAttempts(ctx, dl.ID); err != nil {
			return err
		}
	}
	// In the order the deliveries were first attempted.
	first := func(dl *webhook.Delivery) time.Time {
		if as := logs[dl.ID]; len(as) > 0 {
			return as[0].StartedAt
		}
		return dl.CreatedAt
	}
	slices.SortStableFunc(dls, func(a, b *webhook.Delivery) int { return first(a).Compare(first(b)) })

	fmt.Fprintf(out, "\nDelivery log (sender side):\n")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  EVENT\tENDPOINT\tSTATE\tATTEMPTS (status codes)\n")
	attempts, failed := 0, 0
	for _, dl := range dls {
		as := logs[dl.ID]
		var codes []string
		for _, a := range as {
			codes = append(codes, strconv.Itoa(a.StatusCode))
		}
		attempts += len(as)
		if dl.State != webhook.StateSucceeded {
			failed++
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", dl.EventType, names[dl.SubscriptionID], dl.State, strings.Join(codes, " → "))
	}
	tw.Flush()
	if failed > 0 {
		return fmt.Errorf("%d deliveries did not succeed", failed)
	}
	fmt.Fprintf(out, "\n%d deliveries, %d attempts, all succeeded.\n", len(dls), attempts)
	return nil
}

// sampleEvents returns the events the example publishes: several types,
// two projects, an organization-level event, and one event of another
// organization that none of the subscriptions may receive.
func sampleEvents() ([]webhook.Event, error) {
	now := time.Now().UTC().Truncate(time.Second)
	task := onplana.Task{
		ID: "task_42", ProjectID: "proj_web", Title: "Launch the pricing page",
		Status: onplana.TaskStatusTodo, Priority: onplana.TaskPriorityHigh, DueDate: "2026-07-01",
		URL: "https://app.onplana.example/tasks/task_42", CreatedAt: now, UpdatedAt: now,
	}
	moved := task
	moved.DueDate = "2026-07-08"
	diff, err := onplana.Diff(task, moved)
	if err != nil {
		return nil, err
	}
	mobile := task
	mobile.ID, mobile.ProjectID, mobile.Title = "task_7", "proj_mobile", "Fix the login crash"
	milestone := onplana.Milestone{
		ID: "ms_beta", ProjectID: "proj_web", Name: "Public beta", Status: onplana.MilestoneStatusCompleted,
		URL: "https://app.onplana.example/milestones/ms_beta", CompletedAt: now, CreatedAt: now, UpdatedAt: now,
	}
	project := onplana.Project{
		ID: "proj_web", OrganizationID: org, Name: "Website", Status: onplana.ProjectStatusAtRisk,
		OwnerID: "usr_ada", URL: "https://app.onplana.example/projects/proj_web", CreatedAt: now, UpdatedAt: now,
	}
	onTrack := project
	onTrack.Status = onplana.ProjectStatusOnTrack
	statusDiff, err := onplana.Diff(onTrack, project)
	if err != nil {
		return nil, err
	}
	member := onplana.Member{
		ID: "mem_grace", UserID: "usr_grace", OrganizationID: org, Scope: onplana.ScopeOrganization,
		Email: "grace@acme.example", Role: onplana.RoleMember, Status: onplana.MemberStatusInvited,
		InvitedAt: now, CreatedAt: now, UpdatedAt: now,
	}

	specs := []struct {
		typ      webhook.EventType
		org, prj string
		data     any
	}{
		{webhook.EventTaskCreated, org, "proj_web", onplana.TaskEventData{Task: task}},
		{webhook.EventTaskUpdated, org, "proj_web", onplana.TaskEventData{Task: moved, Diff: diff}},
		{webhook.EventTaskCreated, org, "proj_mobile", onplana.TaskEventData{Task: mobile}},
		{webhook.EventMilestoneCompleted, org, "proj_web", onplana.MilestoneEventData{Milestone: milestone}},
		{webhook.EventProjectStatusChanged, org, "proj_web", onplana.ProjectEventData{Project: project, Diff: statusDiff}},
		{webhook.EventMemberInvited, org, "", onplana.MemberEventData{Member: member}},
		{webhook.EventTaskCreated, "org_other", "proj_web", onplana.TaskEventData{Task: task}},
	}
	var events []webhook.Event
	for _, s := range specs {
		e, err := webhook.NewEvent(s.typ, s.org, s.prj, s.data)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, nil
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
