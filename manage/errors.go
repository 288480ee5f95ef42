package manage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode"

	"github.com/onplana/webhook"
)

// ErrorCode is the stable, machine-readable code of an API error, in
// {"error":{"code":…}}. Codes never change meaning; messages may.
type ErrorCode string

// API error codes.
const (
	CodeInvalidJSON          ErrorCode = "invalid_json"           // 400: the body is not the expected JSON
	CodeInvalidField         ErrorCode = "invalid_field"          // 400: a field is invalid; "field" names it
	CodeUnauthenticated      ErrorCode = "unauthenticated"        // 401: the Authorizer found no identity
	CodeForbidden            ErrorCode = "forbidden"              // 403: no webhook.manage in the organization
	CodeCrossOrigin          ErrorCode = "cross_origin"           // 403: an unsafe request from another origin
	CodeCSRF                 ErrorCode = "csrf_token_invalid"     // 403: a portal form without a valid token
	CodeNotFound             ErrorCode = "not_found"              // 404: no such route, or not in this organization
	CodeMethodNotAllowed     ErrorCode = "method_not_allowed"     // 405: see the Allow header
	CodeConflict             ErrorCode = "conflict"               // 409: e.g. redelivering a pending delivery
	CodeBodyTooLarge         ErrorCode = "body_too_large"         // 413: over Config.MaxBodyBytes
	CodeUnsupportedMediaType ErrorCode = "unsupported_media_type" // 415: not application/json
	CodeInternal             ErrorCode = "internal"               // 500: logged, details not shown
	CodeUnavailable          ErrorCode = "unavailable"            // 503: the dispatcher is closed
)

// requestError is an error in the request itself (bad JSON, wrong media
// type, a bad query parameter), answered as it is.
type requestError struct {
	status  int
	code    ErrorCode
	message string
	field   string
}

func (e *requestError) Error() string { return "manage: " + e.message }

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
	Field   string    `json:"field,omitempty"`
}

// writeError answers an API error.
func writeError(w http.ResponseWriter, status int, code ErrorCode, message, field string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message, Field: field}})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v) // the client went away; nothing to do
}

// classified is an error mapped to an HTTP answer.
type classified struct {
	status  int
	code    ErrorCode
	message string
	field   string
}

// classify maps an error of the dispatcher or the store to its answer.
// Unexpected errors become 500 with a generic message; the caller logs
// them.
func classify(err error) classified {
	var re *requestError
	var ve *webhook.ValidationError
	var mbe *http.MaxBytesError
	var le *webhook.SubscriptionLimitError
	switch {
	case errors.As(err, &re):
		return classified{re.status, re.code, re.message, re.field}
	case errors.As(err, &ve):
		field := jsonField(ve.Field)
		return classified{http.StatusBadRequest, CodeInvalidField, field + ": " + ve.Reason, field}
	case errors.As(err, &mbe):
		return classified{http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body too large", ""}
	case errors.Is(err, webhook.ErrNotFound):
		return classified{http.StatusNotFound, CodeNotFound, "not found", ""}
	case errors.Is(err, webhook.ErrConflict):
		return classified{http.StatusConflict, CodeConflict, conflictMessage(err), ""}
	case errors.As(err, &le):
		return classified{http.StatusConflict, CodeConflict, fmt.Sprintf("the organization has reached its limit of %d webhooks", le.Limit), ""}
	case errors.Is(err, webhook.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return classified{http.StatusServiceUnavailable, CodeUnavailable, "service unavailable, try again", ""}
	}
	return classified{http.StatusInternalServerError, CodeInternal, "internal error", ""}
}

// conflictMessage keeps the store's explanation of a conflict (which
// names the state, not any secret) without the "webhook: conflict:" noise.
func conflictMessage(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "conflict: "); i >= 0 {
		return msg[i+len("conflict: "):]
	}
	return "conflict"
}

// apiError answers err as JSON, logging unexpected ones.
func (h *Handler) apiError(w http.ResponseWriter, r *http.Request, err error) {
	c := classify(err)
	if c.status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "manage: request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	writeError(w, c.status, c.code, c.message, c.field)
}

// jsonFields maps the Go field names of *webhook.ValidationError to the
// API's JSON names.
var jsonFields = map[string]string{
	"URL":            "url",
	"EventTypes":     "event_types",
	"ProjectID":      "project_id",
	"OrganizationID": "organization_id",
	"Description":    "description",
	"Limit":          "limit",
	"Cursor":         "cursor",
	"id":             "id",
	"deliveryID":     "id",
}

// jsonField returns the JSON name of a Go field name: from jsonFields, or
// converted to snake case.
func jsonField(goName string) string {
	if f, ok := jsonFields[goName]; ok {
		return f
	}
	var b strings.Builder
	for i, r := range goName {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
