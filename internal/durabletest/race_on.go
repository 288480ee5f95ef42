//go:build race

package durabletest

// Race reports whether the race detector is on. Under it the pure-Go SQLite
// runs an order of magnitude slower, so the SQLite crash test shrinks.
const Race = true
