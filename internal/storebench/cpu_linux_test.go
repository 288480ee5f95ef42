package storebench_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuUsed returns the CPU time every process on the machine has used so far
// (user, nice, system, irq and softirq in /proc/stat) and this process's
// share of it, so that a benchmark can report PostgreSQL's cost per
// delivery beside its own. ok is false when they cannot be read.
func cpuUsed() (machine, self time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, false
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, 0, false
		}
		ticks += n
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, false
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on every Linux architecture Go supports
	return time.Duration(ticks) * tick, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
