package onplana

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/onplana/webhook"
)

// Validator returns the webhook.EventValidator of the catalog: it checks
// an event's whole envelope, as Publish will encode it, against the JSON
// Schema of its type (EventInfo.Schema), and refuses what the schema
// forbids with a *webhook.ValidationError whose Field names the offending
// field: "ProjectID", or a path under Data such as "Data.task.url",
// "Data.diff" or "Data.task.assignee_ids[1]". Wire it into the
// Dispatcher, and into pgstore for PublishTx, so that no receiver that
// trusts the catalog (typed structs, generated code) gets an event that
// breaks it:
//
//	d, err := webhook.NewDispatcher(store, &webhook.Config{Validator: onplana.Validator()})
//
// The schemas are closed: a field this version of the catalog does not
// know is refused, and so is a format the schema names (date-time, date,
// uri, email) that the value does not have. The check decodes Data once,
// which costs about as much as Publish's other work for an event of a
// few kilobytes; a publisher that builds Data from this package's types
// and wants to skip that cost leaves Config.Validator nil, keeping the
// structural checks Publish always makes.
//
// The returned validator is safe for concurrent use; every call returns
// the same one. An ID or Timestamp that e does not have yet (PublishTx
// fills them after validating) is checked as the library will fill it.
func Validator() webhook.EventValidator { return catalogValidator{} }

// catalogValidator is the EventValidator of the catalog's schemas.
type catalogValidator struct{}

// ValidateEvent implements webhook.EventValidator.
func (catalogValidator) ValidateEvent(e *webhook.Event) error {
	sch := compiledSchemas()[e.Type]
	if sch == nil {
		return &webhook.ValidationError{Field: "Type", Reason: strconv.Quote(string(e.Type)) + " is not in the event catalog"}
	}
	var data any
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return &webhook.ValidationError{Field: "Data", Reason: "not valid JSON", Err: err}
	}
	// The envelope as Publish encodes it; the placeholders stand for what
	// the library sets, in the form it sets it.
	env := map[string]any{
		"delivery_id":     "dlv_0",
		"event_id":        cmp.Or(e.ID, "evt_0"),
		"event":           string(e.Type),
		"timestamp":       e.Timestamp.UTC().Format(time.RFC3339Nano),
		"organization_id": e.OrganizationID,
		"data":            data,
	}
	if e.ProjectID != "" {
		env["project_id"] = e.ProjectID
	}
	if v := sch.validate(env); v != nil {
		return &webhook.ValidationError{Field: v.field(), Reason: v.reason}
	}
	return nil
}

// compiledSchemas compiles the schema of every type of the catalog once.
// The schemas are static data; the tests compile them, so a keyword this
// file does not implement fails the tests, not a Publish.
var compiledSchemas = sync.OnceValue(func() map[webhook.EventType]*schemaNode {
	out := make(map[webhook.EventType]*schemaNode)
	for _, info := range catalog() {
		n, err := compileSchema(info.Schema)
		if err != nil {
			panic(fmt.Sprintf("onplana: compile the schema of %s: %v", info.Type, err))
		}
		out[info.Type] = n
	}
	return out
})

// schemaNode is a compiled JSON Schema (draft 2020-12), restricted to the
// keywords the catalog's schemas use. Absent keywords are zero values.
type schemaNode struct {
	types         []string // "type"
	required      []string
	properties    map[string]*schemaNode
	names         []string    // of properties, sorted
	additional    *schemaNode // additionalProperties as a schema
	noAdditional  bool        // additionalProperties: false
	enum          []any
	constant      any
	hasConst      bool
	minLength     int
	maxLength     int // -1: none
	pattern       *regexp.Regexp
	format        string
	items         *schemaNode
	uniqueItems   bool
	minProperties int
	propertyNames *schemaNode
	ref           string // "#/$defs/name", resolved through defs
	defs          map[string]*schemaNode
	ifNode        *schemaNode
	thenNode      *schemaNode
	elseNode      *schemaNode
	not           *schemaNode
}

// compileSchema compiles the schema document raw. Every $ref must point
// into its $defs.
func compileSchema(raw []byte) (*schemaNode, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	defs := make(map[string]*schemaNode)
	root, err := compileNode(doc, defs)
	if err != nil {
		return nil, err
	}
	var check func(n *schemaNode) error
	seen := map[*schemaNode]bool{}
	check = func(n *schemaNode) error {
		if n == nil || seen[n] {
			return nil
		}
		seen[n] = true
		if n.ref != "" && defs[strings.TrimPrefix(n.ref, "#/$defs/")] == nil {
			return fmt.Errorf("unresolved $ref %q", n.ref)
		}
		n.defs = defs
		for _, c := range n.children() {
			if err := check(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range defs {
		if err := check(d); err != nil {
			return nil, err
		}
	}
	return root, check(root)
}

func (n *schemaNode) children() []*schemaNode {
	out := []*schemaNode{n.additional, n.items, n.propertyNames, n.ifNode, n.thenNode, n.elseNode, n.not}
	for _, p := range n.properties {
		out = append(out, p)
	}
	return out
}

// compileNode compiles one schema object, adding the $defs it holds to defs.
func compileNode(doc map[string]any, defs map[string]*schemaNode) (*schemaNode, error) {
	n := &schemaNode{maxLength: -1}
	sub := func(key string, v any) (*schemaNode, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not a schema object", key)
		}
		return compileNode(m, defs)
	}
	strs := func(key string, v any) ([]string, error) {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an array", key)
		}
		out := make([]string, len(list))
		for i, x := range list {
			if out[i], ok = x.(string); !ok {
				return nil, fmt.Errorf("%s holds a non-string", key)
			}
		}
		return out, nil
	}
	count := func(key string, v any) (int, error) {
		f, ok := v.(float64)
		if !ok || f < 0 || f != float64(int(f)) {
			return 0, fmt.Errorf("%s is not a non-negative integer", key)
		}
		return int(f), nil
	}
	var err error
	for key, v := range doc {
		switch key {
		case "$schema", "title", "description":
			// annotations
		case "type":
			if s, ok := v.(string); ok {
				n.types = []string{s}
			} else {
				n.types, err = strs(key, v)
			}
		case "required":
			n.required, err = strs(key, v)
		case "properties":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("properties is not an object")
			}
			n.properties = make(map[string]*schemaNode, len(m))
			for name, p := range m {
				if n.properties[name], err = sub("properties."+name, p); err != nil {
					return nil, err
				}
				n.names = append(n.names, name)
			}
			sort.Strings(n.names)
		case "additionalProperties":
			if b, ok := v.(bool); ok {
				n.noAdditional = !b
			} else {
				n.additional, err = sub(key, v)
			}
		case "enum":
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("enum is not an array")
			}
			n.enum = list
		case "const":
			n.constant, n.hasConst = v, true
		case "minLength":
			n.minLength, err = count(key, v)
		case "maxLength":
			n.maxLength, err = count(key, v)
		case "pattern":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("pattern is not a string")
			}
			n.pattern, err = regexp.Compile(s)
		case "format":
			s, _ := v.(string)
			if formats[s] == nil {
				return nil, fmt.Errorf("format %q not implemented", s)
			}
			n.format = s
		case "items":
			n.items, err = sub(key, v)
		case "uniqueItems":
			n.uniqueItems, _ = v.(bool)
		case "minProperties":
			n.minProperties, err = count(key, v)
		case "propertyNames":
			n.propertyNames, err = sub(key, v)
		case "$ref":
			s, ok := v.(string)
			if !ok || !strings.HasPrefix(s, "#/$defs/") {
				return nil, fmt.Errorf("$ref %v is not into $defs", v)
			}
			n.ref = s
		case "$defs":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("$defs is not an object")
			}
			for name, d := range m {
				if defs[name], err = sub("$defs."+name, d); err != nil {
					return nil, err
				}
			}
		case "if":
			n.ifNode, err = sub(key, v)
		case "then":
			n.thenNode, err = sub(key, v)
		case "else":
			n.elseNode, err = sub(key, v)
		case "not":
			n.not, err = sub(key, v)
		default:
			return nil, fmt.Errorf("keyword %q not implemented", key)
		}
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

// violation is where an instance breaks its schema, and how. The path is
// built as the violation returns up the instance, so a valid instance
// costs no path at all.
type violation struct {
	rpath  []string // property names and "[i]" indexes, innermost first
	reason string
}

// in prepends elem to v's path and returns v.
func (v *violation) in(elem string) *violation {
	v.rpath = append(v.rpath, elem)
	return v
}

func violated(reason string) *violation { return &violation{reason: reason} }

// envelopeFields maps the envelope's fields to the names of webhook.Event.
var envelopeFields = map[string]string{
	"delivery_id":     "DeliveryID",
	"event_id":        "ID",
	"event":           "Type",
	"timestamp":       "Timestamp",
	"organization_id": "OrganizationID",
	"project_id":      "ProjectID",
	"data":            "Data",
}

// field names the violation's place as Publish's errors do: the Event
// field, then the path inside Data ("Data.task.assignee_ids[1]").
func (v *violation) field() string {
	if len(v.rpath) == 0 {
		return "Data"
	}
	last := len(v.rpath) - 1
	var b strings.Builder
	b.WriteString(cmp.Or(envelopeFields[v.rpath[last]], v.rpath[last]))
	for i := last - 1; i >= 0; i-- {
		if p := v.rpath[i]; strings.HasPrefix(p, "[") {
			b.WriteString(p)
		} else {
			b.WriteByte('.')
			b.WriteString(p)
		}
	}
	return b.String()
}

// validate returns the first place where x breaks n, or nil. x is decoded
// by encoding/json into any: objects are map[string]any, numbers float64.
func (n *schemaNode) validate(x any) *violation {
	if n.ref != "" {
		if v := n.defs[strings.TrimPrefix(n.ref, "#/$defs/")].validate(x); v != nil {
			return v
		}
	}
	if len(n.types) > 0 && !slices.ContainsFunc(n.types, func(t string) bool { return hasType(x, t) }) {
		return violated("must be " + article(strings.Join(n.types, " or ")))
	}
	if n.hasConst && !valueEqual(x, n.constant) {
		return violated("must be " + quoteValue(n.constant))
	}
	if n.enum != nil && !slices.ContainsFunc(n.enum, func(e any) bool { return valueEqual(x, e) }) {
		return violated("must be one of " + quoteValues(n.enum))
	}
	switch x := x.(type) {
	case string:
		if v := n.validateString(x); v != nil {
			return v
		}
	case []any:
		if v := n.validateArray(x); v != nil {
			return v
		}
	case map[string]any:
		if v := n.validateObject(x); v != nil {
			return v
		}
	}
	if n.ifNode != nil {
		branch := n.elseNode
		if n.ifNode.validate(x) == nil {
			branch = n.thenNode
		}
		if branch != nil {
			if v := branch.validate(x); v != nil {
				return v
			}
		}
	}
	if n.not != nil && n.not.validate(x) == nil {
		if len(n.not.required) == 1 && len(n.not.properties) == 0 {
			// The catalog's form: a property that must be absent here.
			return violated("must be absent here").in(n.not.required[0])
		}
		return violated("matches a schema it must not")
	}
	return nil
}

func (n *schemaNode) validateString(s string) *violation {
	length := utf8.RuneCountInString(s)
	switch {
	case length < n.minLength && n.minLength == 1:
		return violated("must not be empty")
	case length < n.minLength:
		return violated("shorter than " + strconv.Itoa(n.minLength) + " characters")
	case n.maxLength == 0 && length > 0:
		return violated("must be empty")
	case n.maxLength >= 0 && length > n.maxLength:
		return violated("longer than " + strconv.Itoa(n.maxLength) + " characters")
	case n.pattern != nil && !n.pattern.MatchString(s):
		return violated("must match " + n.pattern.String())
	case n.format != "" && !formats[n.format].valid(s):
		return violated("not " + formats[n.format].name)
	}
	return nil
}

func (n *schemaNode) validateArray(list []any) *violation {
	for i, item := range list {
		if n.items != nil {
			if v := n.items.validate(item); v != nil {
				return v.in("[" + strconv.Itoa(i) + "]")
			}
		}
		if n.uniqueItems {
			for j := range i {
				if valueEqual(list[j], item) {
					return violated("repeats item " + strconv.Itoa(j)).in("[" + strconv.Itoa(i) + "]")
				}
			}
		}
	}
	return nil
}

func (n *schemaNode) validateObject(obj map[string]any) *violation {
	for _, name := range n.required {
		if _, ok := obj[name]; !ok {
			return violated("required").in(name)
		}
	}
	if len(obj) < n.minProperties {
		if n.minProperties == 1 {
			return violated("must not be empty")
		}
		return violated("must have at least " + strconv.Itoa(n.minProperties) + " members")
	}
	// The known properties in name order, then the others in name order:
	// the violation reported is the same whatever the order of the map.
	known := 0
	for _, name := range n.names {
		value, ok := obj[name]
		if !ok {
			continue
		}
		known++
		if n.propertyNames != nil && n.propertyNames.validate(name) != nil {
			return violated("not a field it can name").in(name)
		}
		if v := n.properties[name].validate(value); v != nil {
			return v.in(name)
		}
	}
	if known == len(obj) {
		return nil
	}
	others := make([]string, 0, len(obj)-known)
	for name := range obj {
		if _, ok := n.properties[name]; !ok {
			others = append(others, name)
		}
	}
	sort.Strings(others)
	for _, name := range others {
		if n.propertyNames != nil && n.propertyNames.validate(name) != nil {
			return violated("not a field it can name").in(name)
		}
		switch {
		case n.noAdditional:
			return violated("not allowed: not in the catalog's schema").in(name)
		case n.additional != nil:
			if v := n.additional.validate(obj[name]); v != nil {
				return v.in(name)
			}
		}
	}
	return nil
}

// hasType reports whether x is of the JSON Schema type t.
func hasType(x any, t string) bool {
	switch t {
	case "object":
		_, ok := x.(map[string]any)
		return ok
	case "array":
		_, ok := x.([]any)
		return ok
	case "string":
		_, ok := x.(string)
		return ok
	case "boolean":
		_, ok := x.(bool)
		return ok
	case "null":
		return x == nil
	case "number":
		_, ok := x.(float64)
		return ok
	case "integer":
		f, ok := x.(float64)
		return ok && f == float64(int64(f))
	}
	return false
}

// valueEqual reports whether two values decoded by encoding/json are
// equal.
func valueEqual(x, y any) bool {
	switch x := x.(type) {
	case []any:
		y, ok := y.([]any)
		return ok && slices.EqualFunc(x, y, valueEqual)
	case map[string]any:
		y, ok := y.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !valueEqual(v, w) {
				return false
			}
		}
		return true
	}
	return x == y // nil, bool, float64 or string
}

func article(s string) string {
	if strings.ContainsAny(s[:1], "aeiou") {
		return "an " + s
	}
	return "a " + s
}

func quoteValue(v any) string {
	b, _ := json.Marshal(v) // decoded JSON: cannot fail
	return string(b)
}

func quoteValues(list []any) string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = quoteValue(v)
	}
	return strings.Join(out, ", ")
}

// stringFormat is one "format" the catalog's schemas assert.
type stringFormat struct {
	name  string // for the error: "not " + name
	valid func(string) bool
}

// formats are checked as JSON Schema's format-assertion vocabulary
// defines them.
var formats = map[string]*stringFormat{
	"date-time": {"an RFC 3339 date-time", validDateTime},
	"date":      {"an RFC 3339 full-date (YYYY-MM-DD)", validDate},
	"uri":       {"an absolute URI", validURI},
	"email":     {"an email address", validEmail},
}

// validDateTime reports whether s is an RFC 3339 date-time: strict
// YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), T and Z in either case, leap
// seconds not accepted.
func validDateTime(s string) bool {
	if len(s) < len("2006-01-02T15:04:05Z") || (s[10] != 'T' && s[10] != 't') {
		return false
	}
	s = s[:10] + "T" + strings.ToUpper(s[11:])
	var t time.Time
	return t.UnmarshalText([]byte(s)) == nil
}

// validDate reports whether s is an RFC 3339 full-date.
func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil && len(s) == len(time.DateOnly)
}

// validURI reports whether s is an absolute URI.
func validURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.IsAbs()
}

// validEmail reports whether s is an address of the form local@domain
// (an RFC 5321 mailbox with an unquoted local part and a host name as
// domain).
func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || len(s) > 254 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return false
	}
	for _, c := range local {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune(".!#$%&'*+-/=?^_`{|}~", c)) {
			return false
		}
	}
	return validHostname(domain)
}

// validHostname reports whether s is a DNS host name (RFC 1123 labels).
func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
