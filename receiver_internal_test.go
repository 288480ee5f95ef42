package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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

// TestDetach: detach keeps a context's values and drops its end, as
// context.WithoutCancel does, in the request's state when it can, once.
func TestDetach(t *testing.T) {
	t.Parallel()
	rec := &received{event: &Event{DeliveryID: "dlv_1"}}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), parentKey{}, "p"))
	ctx := &receivedContext{Context: parent, rec: rec}
	first, second := detach(ctx), detach(ctx)
	require.Same(t, &rec.detached, first, "the room in the request's state")
	require.NotEqual(t, context.Context(&rec.detached), second, "used once")
	cancel()
	for _, d := range []context.Context{first, second, detach(parent)} {
		require.Nil(t, d.Done())
		require.NoError(t, d.Err())
		_, ok := d.Deadline()
		require.False(t, ok)
		require.Equal(t, "p", d.Value(parentKey{}))
	}
	require.Same(t, rec, receivedFrom(first))
	require.Contains(t, first.(fmt.Stringer).String(), "WithoutCancel")
	background := context.Background()
	require.Equal(t, background, detach(background), "a context that never ends is its own")
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

// TestReadBodyCap: the body is read whole up to MaxBodyBytes, and one
// byte over is refused with an *http.MaxBytesError, whatever
// Content-Length says: exact, smaller or larger than the body, unknown,
// at the cap or over the size read in place.
func TestReadBodyCap(t *testing.T) {
	t.Parallel()
	const max = 100
	tests := []struct {
		name          string
		contentLength int64
		size          int
		tooLarge      bool
	}{
		{"exact", 50, 50, false},
		{"exact at the cap", max, max, false},
		{"exact over the cap", max + 1, max + 1, true},
		{"unknown", -1, 50, false},
		{"unknown at the cap", -1, max, false},
		{"unknown over the cap", -1, max + 1, true},
		{"smaller than the body", 10, 50, false},
		{"smaller, body at the cap", 10, max, false},
		{"smaller, body over the cap", 10, max + 1, true},
		{"one under the cap, body at it", max - 1, max, false},
		{"one under the cap, body over it", max - 1, max + 1, true},
		{"one under the cap, body far over it", max - 1, 10 * max, true},
		{"larger than the body", 80, 50, false},
		{"zero, body at the cap", 0, max, false},
		{"zero, body over the cap", 0, max + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rv := &Receiver{maxBody: max}
			body := strings.Repeat("x", tt.size)
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			r.ContentLength = tt.contentLength
			parts, err := rv.readBody(httptest.NewRecorder(), r, nil)
			defer releaseChunks(parts)
			if tt.tooLarge {
				var mbe *http.MaxBytesError
				require.ErrorAs(t, err, &mbe)
				return
			}
			require.NoError(t, err)
			require.Equal(t, body, string(bytes.Join(parts, nil)))
		})
	}
}

// TestHeaderValue: looking a header up by its canonical key, as the
// Receiver does with the names of its config, finds what Header.Get finds.
func TestHeaderValue(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Add("X-Onplana-Signature", "a")
	h.Add("X-Onplana-Signature", "b")
	h.Add("X-Custom-Event", "c")
	h["x-not canonical"] = []string{"d"}
	h["Empty"] = nil
	for _, name := range []string{
		"X-Onplana-Signature", "x-onplana-signature", "X-ONPLANA-SIGNATURE",
		"x-custom-event", "x-not canonical", "Empty", "missing", "",
	} {
		require.Equal(t, h.Get(name), headerValue(h, http.CanonicalHeaderKey(name)), "%q", name)
	}
}
