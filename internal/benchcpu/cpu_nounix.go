//go:build !unix

package benchcpu

import "time"

// Process is available on Unix only.
func Process() (time.Duration, bool) { return 0, false }
