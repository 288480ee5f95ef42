// Package receivebench compares the receiving path of
// github.com/onplana/webhook with go-playground/webhooks' GitHub parser on
// payloads of the same size. It is a module of its own so that the
// comparison's dependency never reaches the users of the library.
package receivebench
