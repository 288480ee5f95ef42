// Package receiverbench compares the receiving half of
// github.com/onplana/webhook with go-playground/webhooks' GitHub receiver,
// in the same run. It holds only benchmarks (and a test that keeps them
// working), in a module of its own so that the library's users never pull
// go-playground/webhooks:
//
//   - BenchmarkReceiver: webhook.NewHandler beside a naive HMAC and
//     go-playground's Parse, on bodies from 1 KiB to 4 MiB;
//   - BenchmarkReceive: the whole pipeline of webhook.NewHandler (verify,
//     deduplicate, route to a typed onplana handler) beside go-playground's
//     Parse decoding its own payloads of the same size.
//
// Run them with
//
//	go test -run '^$' -bench . -benchtime 200ms ./internal/receiverbench
//
// README.md has the results of BenchmarkReceive.
package receiverbench
