//go:build !linux

package receiverbench_test

import "time"

// threadCPU is unavailable here; the benchmarks report wall time only.
func threadCPU() (time.Duration, bool) { return 0, false }
