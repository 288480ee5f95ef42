package manage

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// openAPIOperations reads the operations ("GET /path") of openapi.yaml.
// The module has no YAML parser, so this reads the layout the document
// keeps: paths at two spaces of indentation under "paths:", their methods
// at four, components after them at column 0.
func openAPIOperations(t *testing.T) (ops []string, operationIDs []string) {
	t.Helper()
	f, err := os.Open("openapi.yaml")
	require.NoError(t, err)
	defer f.Close()
	pathRE := regexp.MustCompile(`^  (/\S*):\s*$`)
	methodRE := regexp.MustCompile(`^    (get|put|post|patch|delete|head|options):\s*$`)
	idRE := regexp.MustCompile(`^      operationId: (\S+)\s*$`)
	inPaths, path := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && line != "" && line[0] != ' ' && line[0] != '#':
			inPaths = false
		case !inPaths:
		case pathRE.MatchString(line):
			path = pathRE.FindStringSubmatch(line)[1]
		case methodRE.MatchString(line):
			require.NotEmpty(t, path, "method outside a path: %q", line)
			ops = append(ops, strings.ToUpper(methodRE.FindStringSubmatch(line)[1])+" "+path)
		case idRE.MatchString(line):
			operationIDs = append(operationIDs, idRE.FindStringSubmatch(line)[1])
		}
	}
	require.NoError(t, sc.Err())
	return ops, operationIDs
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
	ops, ids := openAPIOperations(t)
	require.NotEmpty(t, ops)
	slices.Sort(routes)
	slices.Sort(ops)
	require.Equal(t, routes, ops, "every route of the Handler is in openapi.yaml, and nothing else")
	require.Len(t, ids, len(ops), "one operationId per operation")
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	require.Len(t, slices.Compact(sorted), len(ids), "operationIds are unique")
}

func TestOpenAPIDocumentsErrorCodes(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(doc), "openapi: 3.1."))
	for _, code := range []ErrorCode{
		CodeInvalidJSON, CodeInvalidField, CodeUnauthenticated, CodeForbidden, CodeCrossOrigin, CodeCSRF,
		CodeNotFound, CodeMethodNotAllowed, CodeConflict, CodeBodyTooLarge, CodeUnsupportedMediaType,
		CodeInternal, CodeUnavailable,
	} {
		require.Contains(t, string(doc), "        - "+string(code)+"\n", "ErrorCode enum lists %s", code)
	}
}
