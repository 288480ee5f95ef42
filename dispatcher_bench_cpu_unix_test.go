//go:build unix

package webhook_test

import (
	"syscall"
	"time"
)

// processCPU returns the user and system CPU time used so far by the
// process.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
