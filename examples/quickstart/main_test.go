package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestQuickstart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	require.NoError(t, run(ctx, &out), out.String())
	require.Less(t, time.Since(start), 15*time.Second, "the quickstart must finish by itself quickly")

	got := out.String()
	t.Log("\n" + got)
	require.Contains(t, got, "Received (13 deliveries")
	require.Contains(t, got, "answered 503 (simulated outage)")
	require.Contains(t, got, "503 → 204", "the failed attempt and its retry are in the log")
	require.Contains(t, got, "13 deliveries, 14 attempts, all succeeded.")
	require.Equal(t, 13, bytes.Count(out.Bytes(), []byte("signature verified")))
	require.NotContains(t, got, "org_other  dlv_", "another organization's event is never delivered")
}
