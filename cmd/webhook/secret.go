package main

import (
	"context"
	"fmt"

	"github.com/onplana/webhook"
)

func runSecret(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "secret", "",
		"Secret prints a new signing secret (\"whsec_\" and 32 random bytes in base64),\n"+
			"usable with both schemes. It is the only command that prints a secret: store\n"+
			"it in your secret manager and pass it to the others through "+secretEnv+".\n\n"+
			"Example:\n  export "+secretEnv+"=$(webhook secret)")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	// Printing the secret is this command's purpose; string() is needed
	// because a Secret's String method redacts it.
	fmt.Fprintln(e.stdout, webhook.NewSecret().Reveal())
	return exitOK
}
