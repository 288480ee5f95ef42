//go:build race

package webhook

func init() { signRaceEnabled = true }
