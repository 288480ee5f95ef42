package webhook

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type parentKey struct{}

// TestReceivedContext: the context the Middleware hands on behaves as
// context.WithValue(parent, receivedKey{}, rec) would: it answers the
// received request for its key, the parent's values for the others, and
// ends with the parent, contexts derived from it included.
func TestReceivedContext(t *testing.T) {
	t.Parallel()
	rec := &received{event: &Event{DeliveryID: "dlv_1"}}
	parent, cancel := context.WithTimeout(context.WithValue(context.Background(), parentKey{}, "p"), time.Hour)
	ctx := &receivedContext{Context: parent, rec: rec}
	child, stopChild := context.WithCancel(ctx)
	defer stopChild()
	fired := make(chan struct{})
	context.AfterFunc(ctx, func() { close(fired) })

	for _, c := range []struct {
		name string
		key  any
		want any
	}{
		{"received", receivedKey{}, rec},
		{"parent's value", parentKey{}, "p"},
		{"unknown", struct{}{}, nil},
	} {
		require.Equal(t, c.want, ctx.Value(c.key), c.name)
		require.Equal(t, c.want, child.Value(c.key), c.name+", through a child")
	}
	e, ok := EventFromContext(child)
	require.True(t, ok)
	require.Same(t, rec.event, e)
	require.Same(t, rec, receivedFrom(child))
	deadline, ok := ctx.Deadline()
	require.True(t, ok)
	require.WithinDuration(t, time.Now().Add(time.Hour), deadline, time.Minute)
	require.Contains(t, ctx.String(), "WithValue")

	require.NoError(t, child.Err())
	cancel()
	<-child.Done()
	<-fired
	require.ErrorIs(t, ctx.Err(), context.Canceled)
	require.ErrorIs(t, child.Err(), context.Canceled)
}

// TestVerifiedBody: the Body handed on yields the verified bytes, as
// io.NopCloser(bytes.NewReader(body)) would, and may be read after Close.
func TestVerifiedBody(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "{}", `{"event":"task.updated"}`} {
		var b verifiedBody
		b.Reset([]byte(body))
		var rc io.ReadCloser = &b
		require.NoError(t, rc.Close())
		got, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.Equal(t, body, string(got))
	}
}
