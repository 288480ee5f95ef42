// Command webhook is the integrator's tool for webhooks sent with
// github.com/onplana/webhook: it receives and verifies deliveries locally,
// sends signed test events, checks a signature by hand, browses the event
// catalog and makes new secrets.
//
// Install it with
//
//	go install github.com/onplana/webhook/cmd/webhook@latest
//
// Usage:
//
//	webhook listen  [--addr 127.0.0.1:8080] [--path /webhook] [--scheme onplana|standard] --secret S
//	webhook send    --url URL --event TYPE [--data FILE|-] [--org ID] [--project ID] [--scheme …] [--allow-private] --secret S
//	webhook verify  --signature SIG [--scheme standard --id ID --timestamp TS] --secret S < body
//	webhook catalog [--json] [TYPE]
//	webhook secret
//
// Every command that needs a secret also reads it from the WEBHOOK_SECRET
// environment variable, so that it does not land in the shell history; a
// --secret flag wins over the variable.
//
// Exit status: 0 on success, 1 when a check fails (an invalid signature, a
// non-2xx answer, a refused connection), 2 on bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0 // success
	exitFail  = 1 // a check failed
	exitUsage = 2 // bad usage
)

// secretEnv names the environment variable holding the secret when --secret
// is not given.
const secretEnv = "WEBHOOK_SECRET"

// env is what a command sees of its process: standard streams and the
// environment. Tests could swap them; main uses the real ones.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

var commands = []command{
	{"listen", "receive and verify deliveries on a local address", runListen},
	{"send", "sign and send one event to a URL", runSend},
	{"verify", "check the signature of a body read from standard input", runVerify},
	{"catalog", "list the event types, or show one type's schema and sample", runCatalog},
	{"secret", "print a new signing secret", runSecret},
}

func main() {
	// SIGINT and SIGTERM cancel ctx: listen shuts its server down cleanly,
	// send abandons its request.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{os.Stdin, os.Stdout, os.Stderr, os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches to the subcommand named by args[0] and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 { // "webhook help send" is "webhook send --help"
			return run(ctx, e, []string{args[1], "--help"})
		}
		usage(e.stdout) // asked for: output, not an error
		return exitOK
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "webhook: unknown command %q\n\n", name)
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: webhook <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Secrets come from --secret or the %s environment variable.\n", secretEnv)
	fmt.Fprintln(w, `Run "webhook <command> --help" for a command's flags.`)
	fmt.Fprintln(w, "Exit status: 0 success, 1 failed check, 2 bad usage.")
}

// newFlagSet returns a flag set for a subcommand whose usage goes where
// parseFlags sends it, and which leaves the exit to parseFlags.
func newFlagSet(e *env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("webhook "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: webhook %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs. It returns ok=false with the exit code to
// use when the command must stop: exitOK after --help, whose usage goes to
// standard output (it was asked for), and exitUsage after a bad flag, whose
// error and usage go to standard error.
func parseFlags(e *env, fs *flag.FlagSet, args []string) (code int, ok bool) {
	fs.SetOutput(io.Discard) // the flag package would print before we know which case this is
	err := fs.Parse(args)
	fs.SetOutput(e.stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(e.stdout)
		fs.Usage()
		fs.SetOutput(e.stderr)
		return exitOK, false
	case err != nil:
		fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
		fs.Usage()
		return exitUsage, false
	}
	return exitOK, true
}

// usageError prints what is wrong with the command line, on one line, and
// where to find the flags, then returns exitUsage: the whole usage would
// bury the one line that matters.
func usageError(e *env, fs *flag.FlagSet, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fmt.Fprintf(e.stderr, "Run \"%s --help\" for its flags.\n", fs.Name())
	return exitUsage
}

// secretFlags collects one or more --secret flags. Several secrets are the
// old and the new one during a rotation: a signature made with either is
// accepted.
type secretFlags []string

func (s *secretFlags) String() string { return fmt.Sprintf("%d secret(s)", len(*s)) }

func (s *secretFlags) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return errors.New("empty secret")
	}
	*s = append(*s, v)
	return nil
}

// resolve returns the secrets from the flags, or else from WEBHOOK_SECRET.
func (s secretFlags) resolve(e *env) []string {
	if len(s) > 0 {
		return s
	}
	if v := strings.TrimSpace(e.getenv(secretEnv)); v != "" {
		return []string{v}
	}
	return nil
}

const secretHelp = "signing `secret`; repeat during a rotation, newest first (default $" + secretEnv + ")"
