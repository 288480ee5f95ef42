package webhook

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEnvelopeFieldBits checks that the bit of each field of envelopeOrder
// is 1<<i, as Event.field assumes, and that each string field gets its
// own destination.
func TestEnvelopeFieldBits(t *testing.T) {
	var e Event
	want := []struct {
		bit int
		dst *string
	}{
		{seenDeliveryID, &e.DeliveryID},
		{seenEventID, &e.ID},
		{seenEvent, (*string)(&e.Type)},
		{seenTimestamp, nil},
		{seenOrganizationID, &e.OrganizationID},
		{seenProjectID, &e.ProjectID},
		{seenData, nil},
	}
	require.Len(t, envelopeOrder, len(want))
	for i, w := range want {
		bit, dst := e.field(i)
		require.Equal(t, w.bit, bit, envelopeOrder[i])
		require.True(t, w.dst == dst, envelopeOrder[i])
	}
	bit, dst := e.field(-1)
	require.Zero(t, bit)
	require.Nil(t, dst)
}
