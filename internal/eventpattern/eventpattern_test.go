package eventpattern

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeys(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string][3]string{
		"task.updated":        {"task.updated", "task.*", "*"},
		"webhook.ping":        {"webhook.ping", "webhook.*", "*"},
		"member.role_changed": {"member.role_changed", "member.*", "*"},
		"nodot":               {"nodot", "nodot.*", "*"},
	} {
		require.Equal(t, want, Keys(typ), typ)
	}
}

func TestCategory(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]string{"task.updated": "task", "a.b.c": "a", "nodot": "nodot", "": ""} {
		require.Equal(t, want, Category(typ), typ)
	}
}
