package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

func runCatalog(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "catalog", "[--json] [TYPE]",
		"Catalog lists the event types with their category and description. Given a\n"+
			"TYPE, it prints that type's JSON Schema (of the whole envelope) and a sample\n"+
			"delivery, the one \"webhook send\" uses.\n\n"+
			"Examples:\n  webhook catalog\n  webhook catalog task.updated\n  webhook catalog --json | jq '.[].type'")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	switch fs.NArg() {
	case 0:
		return listCatalog(e, *asJSON)
	case 1:
		return showEvent(e, fs.Arg(0), *asJSON)
	}
	return usageError(e, fs, "at most one event type")
}

// catalogEntry is the --json form of an event type in the list.
type catalogEntry struct {
	Type        webhook.EventType `json:"type"`
	Category    string            `json:"category"`
	Description string            `json:"description"`
}

func listCatalog(e *env, asJSON bool) int {
	infos := onplana.Catalog()
	if asJSON {
		out := make([]catalogEntry, len(infos))
		for i, in := range infos {
			out[i] = catalogEntry{in.Type, in.Category, in.Description}
		}
		return writeJSON(e, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tCATEGORY\tDESCRIPTION")
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", in.Type, in.Category, in.Description)
	}
	tw.Flush()
	return exitOK
}

func showEvent(e *env, name string, asJSON bool) int {
	in, ok := onplana.LookupEvent(webhook.EventType(name))
	if !ok {
		fmt.Fprintf(e.stderr, "webhook catalog: %s\n", unknownEventType(name))
		return exitUsage
	}
	if asJSON {
		return writeJSON(e, struct {
			catalogEntry
			Schema json.RawMessage `json:"schema"`
			Sample json.RawMessage `json:"sample"`
		}{catalogEntry{in.Type, in.Category, in.Description}, in.Schema, in.Sample})
	}
	fmt.Fprintf(e.stdout, "%s (%s): %s\n\nSchema:\n%s\n\nSample:\n%s\n",
		in.Type, in.Category, in.Description, indent(in.Schema), indent(in.Sample))
	return exitOK
}

// catalogSample returns the sample envelope of typ.
func catalogSample(typ webhook.EventType) ([]byte, error) {
	in, ok := onplana.LookupEvent(typ)
	if !ok {
		return nil, fmt.Errorf("unknown event type %q", typ)
	}
	return in.Sample, nil
}

func writeJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(e.stderr, "webhook catalog: %v\n", err)
		return exitFail
	}
	return exitOK
}

func indent(raw []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}
