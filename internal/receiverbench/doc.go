// Package receiverbench measures webhook.Receiver beside the GitHub
// receiver of github.com/go-playground/webhooks, in the same run, from 1 KiB
// to 4 MiB. It holds only benchmarks, in a module of its own so that the
// library's users never pull go-playground/webhooks. Run them with
//
//	go test -run '^$' -bench . -benchtime 200ms ./internal/receiverbench
package receiverbench
