//go:build linux

package benchcpu

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Thread returns the CPU time used so far by the calling OS thread.
func Thread() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// Machine returns the CPU time every process on the machine has used so
// far (user, nice, system, irq and softirq in /proc/stat), so that a
// benchmark can report the cost of the processes it talks to (a receiver,
// PostgreSQL) beside its own.
func Machine() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on every Linux architecture Go supports
	return time.Duration(ticks) * tick, true
}
