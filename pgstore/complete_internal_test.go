package pgstore

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompleterAbandon checks what a Complete whose context ends while it
// waits does: it takes the lead if it was handed it (else every later
// Complete would wait for a leader that never comes), and otherwise leaves
// its completion queued, marked so that it is never handed the lead.
func TestCompleterAbandon(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		received      error // already in done when the caller gives up
		wantLead      bool
		wantAbandoned bool
	}{
		{name: "waiting", wantAbandoned: true},
		{name: "handed the lead", received: errLead, wantLead: true},
		{name: "outcome arrived", received: errors.New("written")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &completion{done: make(chan error, 1)}
			cm := &completer{writing: true, queue: []*completion{c}}
			if tt.received != nil {
				c.done <- tt.received
			}
			require.Equal(t, tt.wantLead, cm.abandon(c))
			require.Equal(t, tt.wantAbandoned, c.abandoned)
			require.Equal(t, []*completion{c}, cm.queue, "still written")
		})
	}
}
