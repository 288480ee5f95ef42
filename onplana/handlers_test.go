package onplana_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// The payload types without their UnmarshalJSON methods: what
// encoding/json makes of the same bytes by reflection.
type (
	plainProjectEvent   onplana.ProjectEventData
	plainTaskEvent      onplana.TaskEventData
	plainMilestoneEvent onplana.MilestoneEventData
	plainCommentEvent   onplana.CommentEventData
	plainMemberEvent    onplana.MemberEventData
)

// got is what a typed handler received.
type got struct {
	typ  webhook.EventType
	data any // the decoded payload, by value
}

// typedRouter registers every typed helper of the catalog, each sending
// what it receives to out, and a fallback that sends the unknown types.
func typedRouter(out chan<- got) *webhook.Router {
	r := webhook.NewRouter()
	send := func(e *webhook.Event, data any) error {
		out <- got{e.Type, data}
		return nil
	}
	project := func(_ context.Context, e *webhook.Event, d *onplana.ProjectEventData) error { return send(e, *d) }
	task := func(_ context.Context, e *webhook.Event, d *onplana.TaskEventData) error { return send(e, *d) }
	milestone := func(_ context.Context, e *webhook.Event, d *onplana.MilestoneEventData) error { return send(e, *d) }
	comment := func(_ context.Context, e *webhook.Event, d *onplana.CommentEventData) error { return send(e, *d) }
	member := func(_ context.Context, e *webhook.Event, d *onplana.MemberEventData) error { return send(e, *d) }

	onplana.OnProjectCreated(r, project)
	onplana.OnProjectUpdated(r, project)
	onplana.OnProjectArchived(r, project)
	onplana.OnProjectDeleted(r, project)
	onplana.OnProjectStatusChanged(r, project)
	onplana.OnTaskCreated(r, task)
	onplana.OnTaskUpdated(r, task)
	onplana.OnTaskCompleted(r, task)
	onplana.OnTaskDeleted(r, task)
	onplana.OnTaskAssigned(r, task)
	onplana.OnTaskUnassigned(r, task)
	onplana.OnMilestoneCreated(r, milestone)
	onplana.OnMilestoneUpdated(r, milestone)
	onplana.OnMilestoneCompleted(r, milestone)
	onplana.OnCommentCreated(r, comment)
	onplana.OnMemberInvited(r, member)
	onplana.OnMemberActivated(r, member)
	onplana.OnMemberDeactivated(r, member)
	onplana.OnMemberRoleChanged(r, member)
	onplana.OnPing(r, func(_ context.Context, e *webhook.Event, d *onplana.PingEventData) error { return send(e, *d) })
	r.Fallback(webhook.EventHandlerFunc(func(_ context.Context, e *webhook.Event, _ []byte) error {
		return send(e, "fallback")
	}))
	return r
}

// wantData decodes the data of an envelope into the payload type of its
// category with encoding/json alone.
func wantData(t *testing.T, body []byte) any {
	t.Helper()
	e, err := webhook.ParseEvent(body)
	require.NoError(t, err)
	var v any
	switch e.Type.Category() {
	case webhook.CategoryProject:
		var d plainProjectEvent
		require.NoError(t, json.Unmarshal(e.Data, &d))
		v = onplana.ProjectEventData(d)
	case webhook.CategoryTask:
		var d plainTaskEvent
		require.NoError(t, json.Unmarshal(e.Data, &d))
		v = onplana.TaskEventData(d)
	case webhook.CategoryMilestone:
		var d plainMilestoneEvent
		require.NoError(t, json.Unmarshal(e.Data, &d))
		v = onplana.MilestoneEventData(d)
	case webhook.CategoryComment:
		var d plainCommentEvent
		require.NoError(t, json.Unmarshal(e.Data, &d))
		v = onplana.CommentEventData(d)
	case webhook.CategoryMember:
		var d plainMemberEvent
		require.NoError(t, json.Unmarshal(e.Data, &d))
		v = onplana.MemberEventData(d)
	}
	return v
}

// TestEveryCatalogTypeReachesItsTypedHandler publishes the sample of every
// type of the catalog through a Dispatcher to a receiver built with
// NewHandler and the typed helpers: each handler gets its type's payload,
// filled as encoding/json fills it. A type the receiver does not know,
// signed and sent by the same Dispatcher, reaches the fallback and is
// answered 204, not a 4xx the sender would retry for days.
func TestEveryCatalogTypeReachesItsTypedHandler(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	discard := slog.New(slog.DiscardHandler)

	store := webhook.NewMemoryStore()
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		AllowHTTP:       true,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger:          discard,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close(context.Background()) })

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sub, err := d.CreateSubscription(ctx, webhook.SubscriptionParams{
		OrganizationID: "org_abc123", URL: srv.URL + "/hooks", EventTypes: []string{"*"},
	})
	require.NoError(t, err)

	received := make(chan got, 64)
	h, err := webhook.NewHandler(webhook.ReceiverConfig{
		Secrets: []webhook.Secret{sub.Secrets[0].Secret},
		Dedupe:  webhook.NewMemoryDedupeStore(0),
		Logger:  discard,
	}, typedRouter(received))
	require.NoError(t, err)
	mux.Handle("/hooks", h)

	want := map[webhook.EventType]any{}
	for _, info := range onplana.Catalog() {
		if info.Type == webhook.EventPing {
			continue // sent by CreateSubscription
		}
		e, err := webhook.ParseEvent(info.Sample)
		require.NoError(t, err)
		e.DeliveryID = ""
		require.NoError(t, d.Publish(ctx, *e), info.Type)
	}
	// A type added to the catalog after this receiver was built: a
	// task.completed delivery renamed in the store, as a newer sender
	// would write it.
	future, err := webhook.NewDeliveries(webhook.Event{Type: webhook.EventTaskCompleted, OrganizationID: "org_abc123",
		ProjectID: "proj_xyz789", Data: json.RawMessage(`{"task":{"id":"task_1"}}`)}, []string{sub.ID}, time.Now(), 0)
	require.NoError(t, err)
	future[0].EventType = "task.archived"
	future[0].Body = []byte(strings.Replace(string(future[0].Body), `"task.completed"`, `"task.archived"`, 1))
	require.NoError(t, store.Enqueue(ctx, future))

	require.NoError(t, d.Start(ctx))
	for range len(onplana.Catalog()) + 1 {
		select {
		case g := <-received:
			want[g.typ] = g.data
		case <-ctx.Done():
			t.Fatalf("received %d of %d events", len(want), len(onplana.Catalog())+1)
		}
	}

	require.Len(t, want, len(onplana.Catalog())+1, "every type once")
	require.Len(t, want, len(onplana.Catalog())+1, "every type once")
	for _, info := range onplana.Catalog() {
		if info.Type == webhook.EventPing {
			ping := onplana.PingEventData{Webhook: onplana.WebhookRef{ID: sub.ID, EventTypes: sub.EventTypes, Description: sub.Description}, Message: webhook.PingMessage}
			require.Equal(t, ping, want[info.Type], "the creation ping reached OnPing")
			continue
		}
		require.Equal(t, wantData(t, info.Sample), want[info.Type], "%s reached its handler with its payload", info.Type)
	}
	require.Equal(t, "fallback", want["task.archived"])

	require.NoError(t, d.Close(ctx))
	attempts, err := store.ListAttempts(ctx, future[0].ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Equal(t, http.StatusNoContent, attempts[0].StatusCode, "the unknown type is acknowledged")
}
