//go:build !linux

package storebench_test

import "time"

// cpuUsed reads /proc/stat on Linux; elsewhere the CPU metrics are left out.
func cpuUsed() (machine, self time.Duration, ok bool) { return 0, 0, false }
