// Package benchcpu reads CPU time for the benchmarks of every module: on a
// shared machine wall time mostly measures waiting for a core, while CPU
// time does not. Each reader reports false where the platform cannot tell.
package benchcpu

import (
	"runtime"
	"testing"
)

// Loop runs op under b.Loop on a locked OS thread and also reports the
// thread's CPU time per operation as cpu-ns/op, when the platform tells
// it. Background GC work runs on other threads and is not counted, which
// flatters whichever implementation allocates more.
func Loop(b *testing.B, op func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := Thread()
	for b.Loop() {
		op()
	}
	if end, ok2 := Thread(); ok && ok2 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}
