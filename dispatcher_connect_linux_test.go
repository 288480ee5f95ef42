package webhook_test

import (
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhook "github.com/onplana/webhook"
)

// hangingAddr returns the address of a listener that never accepts and
// whose accept queue is full: a connection to it hangs in the TCP
// handshake (Linux drops the SYN), as to an endpoint behind a firewall
// that drops packets.
func hangingAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0)) // room for one connection
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	filler, err := net.DialTimeout("tcp", addr, 5*time.Second) // takes the one place
	require.NoError(t, err)
	t.Cleanup(func() { filler.Close() })
	// The next connection hangs; make sure of it before relying on it.
	_, err = net.DialTimeout("tcp", addr, 100*time.Millisecond)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "a dial to the full listener should hang, got %v", err)
	return addr
}

// TestDispatcherConnectHangs checks SECURITY.md S9's connect phase: an
// endpoint whose connection never completes costs an attempt its deadline,
// not the dialer's own (much longer) timeout, and the attempt is logged as
// a timeout and retried.
func TestDispatcherConnectHangs(t *testing.T) {
	t.Parallel()
	const attemptTimeout = 300 * time.Millisecond
	addr := hangingAddr(t)
	h := newHarness(t, nil, func(c *webhook.Config) { c.AttemptTimeout = attemptTimeout })
	h.subscribe(t, "http://"+addr+"/hook", "", "task.updated")
	h.start(t)
	h.publish(t, webhook.EventTaskUpdated)

	for range 2 { // the first attempt, then its retry
		o := h.waitAttempt(t)
		require.Equal(t, webhook.ErrorClassTimeout, o.a.ErrorClass, o.a.Error)
		require.Zero(t, o.a.StatusCode)
		require.GreaterOrEqual(t, o.a.Duration, attemptTimeout-50*time.Millisecond)
		require.Less(t, o.a.Duration, 10*attemptTimeout, "bounded by the attempt's deadline")
		require.Equal(t, webhook.StatePending, o.d.State, "a timeout is retried")
	}
}
