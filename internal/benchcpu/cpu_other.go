//go:build !linux

package benchcpu

import "time"

// Thread is available on Linux only.
func Thread() (time.Duration, bool) { return 0, false }

// Machine is available on Linux only.
func Machine() (time.Duration, bool) { return 0, false }
