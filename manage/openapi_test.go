package manage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/onplana/webhook"
)

// The tests check openapi.yaml three ways: it parses as YAML into an
// OpenAPI document whose schemas use only JSON Schema keywords (a flow
// mapping such as {description: a, b} parses, but into a junk key "b"), its
// operations are exactly the Handler's routes, and every response the
// tests of this package receive from a Handler is one the document
// declares, with a body its schema accepts (see apiSpec.check). Redocly's
// linter (.ci/run) checks the rest of the OpenAPI structure.

// specDoc is openapi.yaml parsed, as JSON values.
type specDoc = map[string]any

var (
	specOnce sync.Once
	spec     *apiSpec
	specErr  error
)

// loadSpec parses openapi.yaml once for the whole package.
func loadSpec(t *testing.T) *apiSpec {
	t.Helper()
	specOnce.Do(func() { spec, specErr = parseSpec("openapi.yaml") })
	require.NoError(t, specErr)
	return spec
}

// readSpec parses the YAML file at path into JSON values. yaml.v3 refuses
// duplicate keys; the round trip through JSON refuses keys that are not
// strings and gives numbers the form the schema validator expects.
func readSpec(path string) (specDoc, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: not JSON-compatible: %w", path, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	m, ok := doc.(specDoc)
	if !ok {
		return nil, fmt.Errorf("%s: not a mapping", path)
	}
	return m, nil
}

// apiSpec validates responses against openapi.yaml.
type apiSpec struct {
	doc specDoc
	ops []specOp

	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema // by JSON pointer
}

// specOp is one operation of the document.
type specOp struct {
	method   string // upper case
	path     string // the template, such as /orgs/{org}/webhooks/{id}
	re       *regexp.Regexp
	literals int // segments without a parameter: the more, the better a match
	pointer  string
	op       map[string]any
}

// specURL names the document for the schema compiler.
const specURL = "file:///openapi.json"

func parseSpec(path string) (*apiSpec, error) {
	doc, err := readSpec(path)
	if err != nil {
		return nil, err
	}
	s := &apiSpec{doc: doc, schemas: make(map[string]*jsonschema.Schema)}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		methods, _ := item.(map[string]any)
		for m, op := range methods {
			opm, ok := op.(map[string]any)
			if !ok || !slices.Contains([]string{"get", "put", "post", "patch", "delete", "head", "options"}, m) {
				continue
			}
			pattern := "^" + regexp.MustCompile(`\\\{[^/]+\\\}`).ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$"
			literals := 0
			for seg := range strings.SplitSeq(p, "/") {
				if !strings.HasPrefix(seg, "{") {
					literals++
				}
			}
			s.ops = append(s.ops, specOp{
				method: strings.ToUpper(m), path: p, re: regexp.MustCompile(pattern), literals: literals,
				pointer: "#/paths/" + pointerEscape(p) + "/" + m, op: opm,
			})
		}
	}
	// The tests hold responses to the document as a closed contract: an
	// object may carry only the properties its schema lists. The document
	// itself leaves them open, so that clients ignore fields added later.
	closeSchemas(doc)
	s.compiler = jsonschema.NewCompiler()
	s.compiler.AssertFormat()
	if err := s.compiler.AddResource(specURL, doc); err != nil {
		return nil, err
	}
	return s, nil
}

func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// closeSchemas sets additionalProperties false on every schema of doc that
// lists properties and says nothing of others. A schema composed with
// allOf stays open: the properties it lists repeat those of the schemas it
// composes, which are closed themselves.
func closeSchemas(doc specDoc) {
	walkSchemas(doc, func(_ string, s map[string]any) {
		if _, composed := s["allOf"]; composed {
			return
		}
		if _, ok := s["properties"]; ok {
			if _, set := s["additionalProperties"]; !set {
				s["additionalProperties"] = false
			}
		}
	})
}

// walkSchemas calls f on every schema of the document, nested ones
// included, with its JSON pointer.
func walkSchemas(doc specDoc, f func(ptr string, s map[string]any)) {
	var schema func(ptr string, v any)
	schema = func(ptr string, v any) {
		s, ok := v.(map[string]any)
		if !ok {
			return
		}
		f(ptr, s)
		for _, k := range []string{"properties", "patternProperties", "$defs"} {
			if m, ok := s[k].(map[string]any); ok {
				for name, sub := range m {
					schema(ptr+"/"+k+"/"+pointerEscape(name), sub)
				}
			}
		}
		for _, k := range []string{"items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else", "unevaluatedProperties", "unevaluatedItems"} {
			schema(ptr+"/"+k, s[k])
		}
		for _, k := range []string{"allOf", "anyOf", "oneOf", "prefixItems"} {
			if l, ok := s[k].([]any); ok {
				for i, sub := range l {
					schema(ptr+"/"+k+"/"+strconv.Itoa(i), sub)
				}
			}
		}
	}
	content := func(ptr string, v any) {
		if c, ok := v.(map[string]any); ok {
			for mt, media := range c {
				if mm, ok := media.(map[string]any); ok {
					schema(ptr+"/"+pointerEscape(mt)+"/schema", mm["schema"])
				}
			}
		}
	}
	parameters := func(ptr string, v any) {
		if l, ok := v.([]any); ok {
			for i, p := range l {
				if pm, ok := p.(map[string]any); ok {
					schema(ptr+"/"+strconv.Itoa(i)+"/schema", pm["schema"])
				}
			}
		}
	}
	response := func(ptr string, v any) {
		if r, ok := v.(map[string]any); ok {
			content(ptr+"/content", r["content"])
			if hs, ok := r["headers"].(map[string]any); ok {
				for name, h := range hs {
					if hm, ok := h.(map[string]any); ok {
						schema(ptr+"/headers/"+pointerEscape(name)+"/schema", hm["schema"])
					}
				}
			}
		}
	}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		methods, _ := item.(map[string]any)
		for m, op := range methods {
			opm, _ := op.(map[string]any)
			if opm == nil {
				continue
			}
			base := "#/paths/" + pointerEscape(p) + "/" + m
			parameters(base+"/parameters", opm["parameters"])
			if rb, ok := opm["requestBody"].(map[string]any); ok {
				content(base+"/requestBody/content", rb["content"])
			}
			if rs, ok := opm["responses"].(map[string]any); ok {
				for code, r := range rs {
					response(base+"/responses/"+code, r)
				}
			}
		}
	}
	comps, _ := doc["components"].(map[string]any)
	if m, ok := comps["schemas"].(map[string]any); ok {
		for name, s := range m {
			schema("#/components/schemas/"+pointerEscape(name), s)
		}
	}
	if m, ok := comps["parameters"].(map[string]any); ok {
		for name, p := range m {
			if pm, ok := p.(map[string]any); ok {
				schema("#/components/parameters/"+pointerEscape(name)+"/schema", pm["schema"])
			}
		}
	}
	if m, ok := comps["requestBodies"].(map[string]any); ok {
		for name, rb := range m {
			if rbm, ok := rb.(map[string]any); ok {
				content("#/components/requestBodies/"+pointerEscape(name)+"/content", rbm["content"])
			}
		}
	}
	if m, ok := comps["responses"].(map[string]any); ok {
		for name, r := range m {
			response("#/components/responses/"+pointerEscape(name), r)
		}
	}
}

// schemaKeywords are the keywords a schema of an OpenAPI 3.1 document may
// use: JSON Schema 2020-12's and OpenAPI's own.
var schemaKeywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`$schema $id $ref $anchor $dynamicRef $dynamicAnchor $defs $comment $vocabulary
		type enum const multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength minLength pattern
		maxItems minItems uniqueItems maxContains minContains maxProperties minProperties required dependentRequired
		properties patternProperties additionalProperties propertyNames items prefixItems contains
		allOf anyOf oneOf not if then else dependentSchemas unevaluatedItems unevaluatedProperties
		title description default deprecated readOnly writeOnly examples format
		contentEncoding contentMediaType contentSchema
		discriminator xml externalDocs example`) {
		schemaKeywords[k] = true
	}
}

// lookup returns the value at a JSON pointer ("#/a/b") of the document.
func (s *apiSpec) lookup(ptr string) (any, bool) {
	var v any = s.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return v, true
}

// deref follows $ref (to this document only) from v, returning the value
// and its pointer.
func (s *apiSpec) deref(ptr string, v any) (string, map[string]any, error) {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return "", nil, fmt.Errorf("%s is not an object", ptr)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return ptr, m, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return "", nil, fmt.Errorf("%s: $ref %q leaves the document", ptr, ref)
		}
		if v, ok = s.lookup(ref); !ok {
			return "", nil, fmt.Errorf("%s: $ref %q names nothing", ptr, ref)
		}
		ptr = ref
	}
	return "", nil, fmt.Errorf("%s: $ref loop", ptr)
}

// schema compiles the schema at ptr, once.
func (s *apiSpec) schema(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.schemas[ptr]; ok {
		return sch, nil
	}
	sch, err := s.compiler.Compile(specURL + ptr)
	if err != nil {
		return nil, err
	}
	s.schemas[ptr] = sch
	return sch, nil
}

// operation returns the operation of method and path (relative to the
// Handler's BasePath): concrete paths win over templated ones, as OpenAPI
// says. HEAD is served by the GET operation. It returns nil when no
// operation has that method, and whether any has that path.
func (s *apiSpec) operation(method, path string) (op *specOp, pathKnown bool) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	for i := range s.ops {
		o := &s.ops[i]
		if !o.re.MatchString(path) {
			continue
		}
		pathKnown = true
		if o.method == method && (op == nil || o.literals > op.literals) {
			op = o
		}
	}
	return op, pathKnown
}

// check reports how a response to method and path departs from the
// document: a status the operation does not declare, a Content-Type it
// does not list, a required header missing, or a body its schema refuses.
// Paths and methods the document does not list must answer the Handler's
// 404 and 405 in the format of the part they belong to.
func (s *apiSpec) check(method, path string, status int, header http.Header, body []byte) error {
	op, pathKnown := s.operation(method, path)
	if op == nil {
		want := http.StatusNotFound
		if pathKnown {
			want = http.StatusMethodNotAllowed
			if header.Get("Allow") == "" {
				return fmt.Errorf("405 without Allow")
			}
		}
		if status != want && status != http.StatusForbidden { // 403: unsafe and cross-origin, refused before routing
			return fmt.Errorf("not in openapi.yaml: answered %d, want %d", status, want)
		}
		if strings.HasPrefix(path, "/api/") {
			return s.checkBody("#/components/schemas/Error", header, body)
		}
		return nil
	}
	responses, _ := op.op["responses"].(map[string]any)
	code := strconv.Itoa(status)
	r, ok := responses[code]
	if !ok {
		r, ok = responses[code[:1]+"XX"]
		code = code[:1] + "XX"
	}
	if !ok {
		r, ok = responses["default"]
		code = "default"
	}
	if !ok {
		return fmt.Errorf("%s %s answered %d, which openapi.yaml does not declare for it (body %.300s)", op.method, op.path, status, body)
	}
	rptr, resp, err := s.deref(op.pointer+"/responses/"+code, r)
	if err != nil {
		return err
	}
	if hs, ok := resp["headers"].(map[string]any); ok {
		for name, h := range hs {
			if hm, ok := h.(map[string]any); ok && hm["required"] == true && header.Get(name) == "" {
				return fmt.Errorf("%s %s answered %d without the header %s", op.method, op.path, status, name)
			}
		}
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			return fmt.Errorf("%s %s answered %d with a body, which openapi.yaml does not declare", op.method, op.path, status)
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("%s %s answered %d with Content-Type %q", op.method, op.path, status, header.Get("Content-Type"))
	}
	if _, ok := content[mt]; !ok {
		return fmt.Errorf("%s %s answered %d with %s, which openapi.yaml does not list", op.method, op.path, status, mt)
	}
	if mt != "application/json" || method == http.MethodHead {
		return nil
	}
	if err := s.checkBody(rptr+"/content/application~1json/schema", header, body); err != nil {
		return fmt.Errorf("%s %s answered %d: %w", op.method, op.path, status, err)
	}
	return nil
}

// checkBody validates a JSON body against the schema at ptr.
func (s *apiSpec) checkBody(ptr string, header http.Header, body []byte) error {
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", header.Get("Content-Type"))
	}
	sch, err := s.schema(ptr)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %w: %.300s", err, body)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("body does not match %s: %v\nbody: %.1000s", ptr, err, body)
	}
	return nil
}

// checked wraps a Handler mounted under base: every response it gives is
// checked against openapi.yaml, and a departure fails t.
func checked(t *testing.T, base string, next http.Handler) http.Handler {
	s := loadSpec(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		path := r.URL.Path
		if base != "" {
			path = strings.TrimPrefix(path, base)
		}
		if err := s.check(r.Method, path, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Errorf("response departs from openapi.yaml: %s %s: %v", r.Method, r.URL.Path, err)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func TestOpenAPIParses(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	require.Equal(t, "3.1.0", s.doc["openapi"])
	var bad []string
	n := 0
	walkSchemas(s.doc, func(ptr string, sch map[string]any) {
		n++
		for k := range sch {
			if !schemaKeywords[k] && !strings.HasPrefix(k, "x-") {
				bad = append(bad, fmt.Sprintf("%s: %q", ptr, k))
			}
		}
		// As ajv's strictTypes: an object keyword says its type.
		for _, k := range []string{"properties", "required", "additionalProperties"} {
			if _, ok := sch[k]; ok && sch["type"] != "object" {
				bad = append(bad, fmt.Sprintf("%s: %s without type: object", ptr, k))
				break
			}
		}
	})
	require.Greater(t, n, 100, "the walk reaches the schemas")
	slices.Sort(bad)
	require.Empty(t, bad, "keys that are not JSON Schema keywords (a comma inside a flow mapping {…} splits a value into a junk key), and object keywords without their type")
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), nil)
	require.NoError(t, err)
	h, err := New(Config{Dispatcher: d, Store: webhook.NewMemoryStore(), Authorizer: testAuthorizer})
	require.NoError(t, err)
	var routes []string
	for _, r := range h.routes {
		routes = append(routes, r.method+" "+r.path)
	}
	s := loadSpec(t)
	var ops, ids []string
	for _, o := range s.ops {
		ops = append(ops, o.method+" "+o.path)
		id, _ := o.op["operationId"].(string)
		require.NotEmpty(t, id, "%s %s has an operationId", o.method, o.path)
		ids = append(ids, id)
		summary, _ := o.op["summary"].(string)
		require.NotEmpty(t, summary, "%s %s has a summary", o.method, o.path)
	}
	require.NotEmpty(t, ops)
	slices.Sort(routes)
	slices.Sort(ops)
	require.Equal(t, routes, ops, "every route of the Handler is in openapi.yaml, and nothing else")
	slices.Sort(ids)
	require.Len(t, slices.Compact(ids), len(ops), "operationIds are unique")
}

func TestOpenAPIDocumentsErrorCodes(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	enum, ok := s.lookup("#/components/schemas/ErrorCode/enum")
	require.True(t, ok)
	var got []string
	for _, c := range enum.([]any) {
		got = append(got, c.(string))
	}
	var want []string
	for _, code := range []ErrorCode{
		CodeInvalidJSON, CodeInvalidField, CodeUnauthenticated, CodeForbidden, CodeCrossOrigin, CodeCSRF,
		CodeNotFound, CodeMethodNotAllowed, CodeConflict, CodeBodyTooLarge, CodeUnsupportedMediaType,
		CodeInternal, CodeUnavailable,
	} {
		want = append(want, string(code))
	}
	require.ElementsMatch(t, want, got)
}

// TestOpenAPICheckCatchesDepartures shows that the check the other tests
// rely on refuses what it must: an undeclared status, an undeclared field,
// a wrong type, a missing required field and a wrong media type.
func TestOpenAPICheckCatchesDepartures(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	const subPath = "/api/v1/orgs/org_1/subscriptions/sub_1"
	okSub := `{"id":"sub_1","organization_id":"org_1","scope":"organization","url":"https://example.com/h",` +
		`"event_types":["*"],"description":"","enabled":true,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`
	require.NoError(t, s.check("GET", subPath, 200, jsonHeader, []byte(okSub)))
	require.NoError(t, s.check("POST", "/api/v1/orgs/org_1/subscriptions", 201,
		http.Header{"Content-Type": {"application/json"}, "Location": {"/x"}},
		[]byte(strings.Replace(okSub, `"enabled":true`, `"enabled":true,"secret":"whsec_x"`, 1))))
	tests := []struct {
		name   string
		method string
		path   string
		status int
		header http.Header
		body   string
	}{
		{"undeclared status", "GET", subPath, http.StatusTeapot, jsonHeader, `{"error":{"code":"internal","message":"x"}}`},
		{"undeclared field", "GET", subPath, 200, jsonHeader, strings.Replace(okSub, `"enabled":true`, `"enabled":true,"secret_hash":"x"`, 1)},
		{"wrong type", "GET", subPath, 200, jsonHeader, strings.Replace(okSub, `"enabled":true`, `"enabled":"yes"`, 1)},
		{"missing field", "GET", subPath, 200, jsonHeader, strings.Replace(okSub, `"enabled":true,`, ``, 1)},
		{"bad date-time", "GET", subPath, 200, jsonHeader, strings.Replace(okSub, `"2026-01-01T00:00:00Z"`, `"yesterday"`, 1)},
		{"unknown error code", "GET", subPath, 404, jsonHeader, `{"error":{"code":"gone_fishing","message":"x"}}`},
		{"HTML where JSON is declared", "GET", subPath, 200, http.Header{"Content-Type": {"text/html"}}, `<p>hi</p>`},
		{"Location missing", "POST", "/orgs/org_1/webhooks/sub_1/ping", 303, http.Header{}, ``},
		{"unknown path answered 200", "GET", "/api/v1/nothing", 200, jsonHeader, `{}`},
		{"undeclared field through allOf", "POST", "/api/v1/orgs/org_1/subscriptions", 201,
			http.Header{"Content-Type": {"application/json"}, "Location": {"/x"}},
			strings.Replace(okSub, `"enabled":true`, `"enabled":true,"secret":"whsec_x","secret_hash":"x"`, 1)},
		{"attempts missing", "GET", "/api/v1/orgs/org_1/deliveries/dlv_1", 200, jsonHeader,
			`{"id":"dlv_1","event_id":"evt_1","event_type":"task.created","subscription_id":"sub_1","status":"pending",` +
				`"attempt_count":0,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, s.check(tc.method, tc.path, tc.status, tc.header, []byte(tc.body)))
		})
	}
}
