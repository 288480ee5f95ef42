package storetest_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/storetest"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// millis decodes the time part of an id: the first 48 of its 130 bits.
func millis(t *testing.T, id, prefix string) int64 {
	t.Helper()
	require.True(t, strings.HasPrefix(id, prefix), id)
	digits := id[len(prefix):]
	require.Len(t, digits, 26, id)
	var hi, lo uint64 // 128 bits, most significant first
	for _, c := range []byte(digits) {
		v := strings.IndexByte(alphabet, c)
		require.GreaterOrEqual(t, v, 0, "%q is not a Crockford base32 digit", c)
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	return int64(hi >> 16)
}

func TestNewIDFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefix string
		at     time.Time
	}{
		{"delivery", "dlv_", storetest.BaseTime},
		{"subscription", "sub_", time.Date(2001, 2, 3, 4, 5, 6, 7_000_000, time.UTC)},
		{"event", "evt_", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"epoch", "x_", time.UnixMilli(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := storetest.NewID(tc.prefix, tc.at)
			require.Equal(t, tc.at.UnixMilli(), millis(t, id, tc.prefix))
			require.NotContains(t, id, ".")
			require.NotEqual(t, id, storetest.NewID(tc.prefix, tc.at), "ids carry random bits")
		})
	}
}

func TestIDGeneratorSortsByCreation(t *testing.T) {
	t.Parallel()
	g := storetest.NewIDGenerator(storetest.BaseTime)
	var (
		mu  sync.Mutex
		ids = make(map[time.Time]string)
		wg  sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for range 250 {
				id, at := g.Next("dlv_")
				mu.Lock()
				ids[at] = id
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, ids, 1000, "every call gets its own millisecond")
	prev := ""
	for i := range 1000 {
		at := storetest.BaseTime.Add(time.Duration(i) * time.Millisecond)
		id, ok := ids[at]
		require.True(t, ok, "no id made at %v", at)
		require.Equal(t, at.UnixMilli(), millis(t, id, "dlv_"))
		require.Greater(t, id, prev, "ids sort by creation")
		prev = id
	}
}

func TestNewDelivery(t *testing.T) {
	t.Parallel()
	g := storetest.NewIDGenerator(storetest.BaseTime)
	sub := storetest.NewSubscription(g, "org_1", "proj_1", "task.*")
	require.NoError(t, webhook.ValidateSubscription(sub))
	require.True(t, strings.HasPrefix(sub.URL, "https://"))
	require.Len(t, sub.Secrets, 1)

	due := storetest.BaseTime.Add(time.Minute)
	d := storetest.NewDelivery(g, sub, webhook.EventTaskUpdated, due)
	require.Equal(t, webhook.StatePending, d.State)
	require.True(t, due.Equal(d.NextAttemptAt))
	require.Equal(t, d.CreatedAt.UnixMilli(), millis(t, d.ID, "dlv_"))

	var e webhook.Event
	require.NoError(t, json.Unmarshal(d.Body, &e))
	require.Equal(t, d.ID, e.DeliveryID)
	require.Equal(t, d.EventID, e.ID)
	require.Equal(t, webhook.EventTaskUpdated, e.Type)
	require.Equal(t, "org_1", e.OrganizationID)
	require.Equal(t, "proj_1", e.ProjectID)
}

// TestNewIDMatchesLibrary compares NewID with ids the Dispatcher makes: same
// length, and the same first ten digits (the 48 bits of time) at the same
// millisecond.
func TestNewIDMatchesLibrary(t *testing.T) {
	t.Parallel()
	now := storetest.BaseTime.Add(1234 * time.Millisecond)
	store := webhook.NewMemoryStore()
	d, err := webhook.NewDispatcher(store, &webhook.Config{
		Now: func() time.Time { return now }, AllowHTTP: true, AllowPrivateNetworks: true,
	})
	require.NoError(t, err)
	sub, err := d.CreateSubscription(t.Context(), webhook.SubscriptionParams{
		OrganizationID: "org_1", URL: "http://127.0.0.1:9/hook", EventTypes: []string{"*"},
	})
	require.NoError(t, err)
	ping, _, err := store.ListDeliveries(t.Context(), webhook.DeliveryQuery{SubscriptionID: sub.ID})
	require.NoError(t, err)
	require.Len(t, ping, 1, "the creation ping")

	for _, lib := range []string{sub.ID, ping[0].ID} {
		prefix := lib[:4]
		ours := storetest.NewID(prefix, now)
		require.Len(t, ours, len(lib))
		require.Equal(t, lib[:4+10], ours[:4+10], "time digits of %s and %s", lib, ours)
		require.Equal(t, now.UnixMilli(), millis(t, lib, prefix))
	}
}
