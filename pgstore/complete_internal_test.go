package pgstore

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompleterLeave checks that a Complete whose context ends while it
// waits never takes the lead with it: the restart test once hung with every
// later Complete waiting for a leader that had given up.
func TestCompleterLeave(t *testing.T) {
	t.Parallel()
	newC := func() *completion { return &completion{done: make(chan error, 1)} }
	tests := []struct {
		name        string
		queued      int  // completions in the queue, the leaving one first
		lead        bool // the lead was handed to the leaving one
		wantWriting bool
		wantLeadTo  bool // the next in line received the lead
	}{
		{name: "queued, not leading", queued: 2, wantWriting: true},
		{name: "handed the lead, others wait", queued: 2, lead: true, wantWriting: true, wantLeadTo: true},
		{name: "handed the lead, alone", queued: 1, lead: true, wantWriting: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cm := &completer{writing: true}
			for range tt.queued {
				cm.queue = append(cm.queue, newC())
			}
			leaving := cm.queue[0]
			if tt.lead {
				leaving.done <- errLead
			}
			cm.leave(leaving)
			require.NotContains(t, cm.queue, leaving)
			require.Len(t, cm.queue, tt.queued-1)
			require.Equal(t, tt.wantWriting, cm.writing)
			if tt.queued > 1 {
				select {
				case err := <-cm.queue[0].done:
					require.True(t, tt.wantLeadTo, "unexpected %v", err)
					require.ErrorIs(t, err, errLead)
				default:
					require.False(t, tt.wantLeadTo, "the lead was not handed on")
				}
			}
		})
	}

	t.Run("in a batch", func(t *testing.T) {
		t.Parallel()
		other := newC()
		cm := &completer{writing: true, queue: []*completion{other}}
		cm.leave(newC()) // taken into a batch already: nothing to do
		require.Equal(t, []*completion{other}, cm.queue)
		require.True(t, cm.writing)
	})
}
