// Package restarttest checks, in a module of its own so that otelwebhook's
// module needs no database driver, that the trace context of a Publish
// call outlives the process that published: a child process publishes an
// event inside a span and exits, and the attempt made afterwards by this
// process, on the same sqlitestore file or PostgreSQL database, links to
// that span.
package restarttest
