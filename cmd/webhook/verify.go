package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/onplana/webhook"
)

func runVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "verify", "--signature SIG [flags] < body",
		"Verify checks a signature against the raw body read from standard input and\n"+
			"prints ok, or why not. Feed it the exact bytes that were received: a body\n"+
			"re-serialised by a JSON library does not verify.\n\n"+
			"With the onplana scheme, X-Onplana-Signature holds one signature, made with the\n"+
			"sender's newest secret. During a secret rotation's grace period the signatures\n"+
			"made with older secrets are in X-Onplana-Signature-Previous: pass that header's\n"+
			"value with --previous to verify with an old secret.\n\n"+
			"Examples:\n"+
			"  webhook verify --signature 5d41… < body.json\n"+
			"  webhook verify --signature 5d41… --previous 7c2f… --secret whsec_old… < body.json\n"+
			"  webhook verify --scheme standard --id msg_… --timestamp 1614265330 --signature v1,g0hM… < body.json")
	signature := fs.String("signature", "", "the `signature` header's value (X-Onplana-Signature or webhook-signature)")
	previous := fs.String("previous", "", "onplana scheme: the X-Onplana-Signature-Previous header's `value`, if the delivery had one")
	id := fs.String("id", "", "standard scheme: the webhook-id header's value (the message `id`)")
	timestamp := fs.String("timestamp", "", "standard scheme: the webhook-timestamp header's value, in Unix `seconds`")
	tolerance := fs.Duration("tolerance", webhook.DefaultTolerance, "standard scheme: how old or new the timestamp may be")
	var secrets secretFlags
	fs.Var(&secrets, "secret", secretHelp)
	var scheme schemeFlag
	fs.Var(&scheme, "scheme", schemeHelp)
	maxBody := fs.Int64("max-body", defaultMaxBody, "largest body read, in `bytes`")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	if *signature == "" {
		return usageError(e, fs, "--signature is required")
	}
	if scheme.scheme() == webhook.SchemeStandard && (*id == "" || *timestamp == "") {
		return usageError(e, fs, "the standard scheme needs --id and --timestamp")
	}
	if scheme.scheme() == webhook.SchemeStandard && *previous != "" {
		return usageError(e, fs, "--previous is for the onplana scheme; the standard scheme lists every signature in webhook-signature")
	}
	if *maxBody <= 0 || *tolerance <= 0 {
		return usageError(e, fs, "--max-body and --tolerance must be positive")
	}
	keys := secrets.resolve(e)
	if len(keys) == 0 {
		return usageError(e, fs, "no secret: pass --secret or set %s", secretEnv)
	}
	chk, err := newChecker(webhook.ReceiverConfig{Scheme: scheme.scheme(), Tolerance: *tolerance, MaxBodyBytes: *maxBody}, keys)
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	body, err := io.ReadAll(io.LimitReader(e.stdin, *maxBody+1))
	if err != nil {
		fmt.Fprintf(e.stderr, "webhook verify: read body: %v\n", err)
		return exitFail
	}
	if int64(len(body)) > *maxBody {
		fmt.Fprintf(e.stdout, "invalid: body over %d bytes (raise --max-body)\n", *maxBody)
		return exitFail
	}
	if err := chk.check(body, *signature, *previous, *id, *timestamp); err != nil {
		fmt.Fprintf(e.stdout, "invalid: %s\n", explain(err))
		if scheme.scheme() == webhook.SchemeStandard {
			fmt.Fprintf(e.stdout, "  (timestamp checked against now, %s, with tolerance %s)\n", time.Now().UTC().Format(time.RFC3339), *tolerance)
		}
		return exitFail
	}
	fmt.Fprintf(e.stdout, "ok: signature valid (scheme %s, %d bytes)\n", chk.scheme, len(body))
	return exitOK
}
