package manage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onplana/webhook"
)

// maxRotationGrace bounds the grace period the API accepts for a rotation.
const maxRotationGrace = 30 * 24 * time.Hour

// maxCursorLength bounds a page cursor taken from a query string.
const maxCursorLength = 256

// apiRoutes lists the JSON API; openapi.yaml documents each of them.
func (h *Handler) apiRoutes() []route {
	const org = "/api/v1/orgs/{org}"
	return []route{
		{"GET", org + "/event-types", h.api(h.apiEventTypes)},
		{"GET", org + "/subscriptions", h.api(h.apiListSubscriptions)},
		{"POST", org + "/subscriptions", h.api(h.apiCreateSubscription)},
		{"GET", org + "/subscriptions/{id}", h.api(h.apiGetSubscription)},
		{"PATCH", org + "/subscriptions/{id}", h.api(h.apiUpdateSubscription)},
		{"DELETE", org + "/subscriptions/{id}", h.api(h.apiDeleteSubscription)},
		{"POST", org + "/subscriptions/{id}/enable", h.api(h.apiSetEnabled(true))},
		{"POST", org + "/subscriptions/{id}/disable", h.api(h.apiSetEnabled(false))},
		{"POST", org + "/subscriptions/{id}/rotate-secret", h.api(h.apiRotateSecret)},
		{"POST", org + "/subscriptions/{id}/ping", h.api(h.apiPing)},
		{"GET", org + "/deliveries", h.api(h.apiListDeliveries)},
		{"GET", org + "/deliveries/{id}", h.api(h.apiGetDelivery)},
		{"POST", org + "/deliveries/{id}/redeliver", h.api(h.apiRedeliver)},
		{"POST", org + "/deliveries/redeliver-failed", h.api(h.apiRedeliverFailed)},
	}
}

// apiFunc handles an authorized API request for organization org and
// returns the status and body to answer, or an error.
type apiFunc func(r *http.Request, org string) (int, any, error)

// api wraps an apiFunc: authorization, body cap, and JSON answers.
func (h *Handler) api(f apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		if status, code := h.authorize(r, org); status != 0 {
			writeError(w, status, code, http.StatusText(status), "")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
		status, body, err := f(r, org)
		if err != nil {
			h.apiError(w, r, err)
			return
		}
		if c, ok := body.(created); ok {
			w.Header().Set("Location", c.location)
			body = c.body
		}
		if body == nil {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	}
}

// created is the answer of a creation: its body and its Location.
type created struct {
	body     any
	location string
}

// decodeJSON decodes the request body into v, which must be one JSON
// object with no unknown fields. An empty body is allowed when optional.
func decodeJSON(r *http.Request, v any, optional bool) error {
	if optional && r.ContentLength == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &requestError{http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type must be application/json", ""}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			if optional {
				return nil
			}
			return &requestError{http.StatusBadRequest, CodeInvalidJSON, "request body is empty", ""}
		case errors.As(err, &ute):
			return &requestError{http.StatusBadRequest, CodeInvalidField, ute.Field + ": must be " + ute.Type.String(), ute.Field}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
			return &requestError{http.StatusBadRequest, CodeInvalidField, field + ": unknown field", field}
		}
		return &requestError{http.StatusBadRequest, CodeInvalidJSON, "request body is not valid JSON", ""}
	}
	if dec.More() {
		return &requestError{http.StatusBadRequest, CodeInvalidJSON, "request body holds more than one JSON value", ""}
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return &requestError{http.StatusBadRequest, CodeInvalidJSON, "trailing data after the JSON object", ""}
	}
	return nil
}

// invalid returns a 400 naming a JSON field.
func invalid(field, reason string) error {
	return &requestError{http.StatusBadRequest, CodeInvalidField, field + ": " + reason, field}
}

// --- resources --------------------------------------------------------------

// subscriptionJSON is a subscription as the API shows it: never its secrets.
type subscriptionJSON struct {
	ID             string     `json:"id"`
	OrganizationID string     `json:"organization_id"`
	Scope          string     `json:"scope"`
	ProjectID      string     `json:"project_id,omitempty"`
	URL            string     `json:"url"`
	EventTypes     []string   `json:"event_types"`
	Description    string     `json:"description"`
	Enabled        bool       `json:"enabled"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// Secret is set only in the answers of create and rotate-secret.
	Secret string `json:"secret,omitempty"`
	// SecretExpiresAt lists when rotated-out secrets stop signing.
	PreviousSecretsExpireAt []time.Time `json:"previous_secrets_expire_at,omitempty"`
}

func toSubscriptionJSON(s *webhook.Subscription) subscriptionJSON {
	out := subscriptionJSON{
		ID: s.ID, OrganizationID: s.OrganizationID, Scope: "organization", ProjectID: s.ProjectID,
		URL: s.URL, EventTypes: s.EventTypes, Description: s.Description, Enabled: !s.Disabled,
		DisabledReason: s.DisabledReason, CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
	}
	if out.EventTypes == nil {
		out.EventTypes = []string{}
	}
	if s.ProjectID != "" {
		out.Scope = "project"
	}
	if !s.FailingSince.IsZero() {
		t := s.FailingSince.UTC()
		out.FailingSince = &t
	}
	for _, sec := range s.Secrets {
		if !sec.ExpiresAt.IsZero() {
			out.PreviousSecretsExpireAt = append(out.PreviousSecretsExpireAt, sec.ExpiresAt.UTC())
		}
	}
	return out
}

// deliveryJSON is a delivery of the log.
type deliveryJSON struct {
	ID             string     `json:"id"`
	EventID        string     `json:"event_id"`
	EventType      string     `json:"event_type"`
	SubscriptionID string     `json:"subscription_id"`
	ProjectID      string     `json:"project_id,omitempty"`
	Status         string     `json:"status"`
	AttemptCount   int        `json:"attempt_count"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	LastStatusCode int        `json:"last_status_code,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// deliveryDetailJSON is a delivery with its payload and every attempt, in
// the answer of getDelivery: attempts is there even when empty.
type deliveryDetailJSON struct {
	deliveryJSON
	Payload  json.RawMessage `json:"payload,omitempty"`
	Attempts []attemptJSON   `json:"attempts"`
}

func toDeliveryJSON(d *webhook.Delivery) deliveryJSON {
	out := deliveryJSON{
		ID: d.ID, EventID: d.EventID, EventType: string(d.EventType), SubscriptionID: d.SubscriptionID,
		ProjectID: d.ProjectID, Status: string(d.State), AttemptCount: d.AttemptCount,
		LastStatusCode: d.LastStatusCode, LastError: d.LastError,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	if d.State == webhook.StatePending && !d.NextAttemptAt.IsZero() {
		t := d.NextAttemptAt.UTC()
		out.NextAttemptAt = &t
	}
	return out
}

// attemptJSON is one attempt of a delivery.
type attemptJSON struct {
	DeliveryID      string    `json:"delivery_id"`
	Number          int       `json:"number"`
	StartedAt       time.Time `json:"started_at"`
	DurationMS      float64   `json:"duration_ms"`
	StatusCode      int       `json:"status_code,omitempty"`
	Success         bool      `json:"success"`
	ErrorClass      string    `json:"error_class,omitempty"`
	Error           string    `json:"error,omitempty"`
	ResponseSnippet string    `json:"response_snippet,omitempty"`
}

func toAttemptJSON(a *webhook.Attempt) attemptJSON {
	return attemptJSON{
		DeliveryID: a.DeliveryID, Number: a.Number, StartedAt: a.StartedAt.UTC(),
		DurationMS: float64(a.Duration.Microseconds()) / 1000, StatusCode: a.StatusCode,
		Success:    a.ErrorClass == "" && a.StatusCode >= 200 && a.StatusCode <= 299,
		ErrorClass: string(a.ErrorClass), Error: a.Error, ResponseSnippet: a.ResponseSnippet,
	}
}

// listJSON is one page of a list.
type listJSON[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// --- handlers ---------------------------------------------------------------

type eventTypeJSON struct {
	Type          string `json:"type"`
	Category      string `json:"category"`
	Description   string `json:"description"`
	HasDiff       bool   `json:"has_diff"`
	ProjectScoped bool   `json:"project_scoped"`
}

func (h *Handler) apiEventTypes(r *http.Request, org string) (int, any, error) {
	var out listJSON[eventTypeJSON]
	for _, g := range h.catalog {
		for _, e := range g.Events {
			out.Data = append(out.Data, eventTypeJSON{string(e.Type), e.Category, e.Description, e.HasDiff, e.ProjectScoped})
		}
	}
	return http.StatusOK, out, nil
}

// parsePage reads ?limit and ?cursor.
func parsePage(q url.Values) (webhook.Page, error) {
	var p webhook.Page
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > webhook.MaxPageSize {
			return p, invalid("limit", fmt.Sprintf("must be an integer from 1 to %d", webhook.MaxPageSize))
		}
		p.Limit = n
	}
	p.Cursor = q.Get("cursor")
	if len(p.Cursor) > maxCursorLength || strings.ContainsFunc(p.Cursor, isControl) {
		return p, invalid("cursor", "not a cursor returned by this API")
	}
	return p, nil
}

func (h *Handler) apiListSubscriptions(r *http.Request, org string) (int, any, error) {
	page, err := parsePage(r.URL.Query())
	if err != nil {
		return 0, nil, err
	}
	subs, next, err := h.store.ListSubscriptions(r.Context(), org, page)
	if err != nil {
		return 0, nil, err
	}
	out := listJSON[subscriptionJSON]{Data: make([]subscriptionJSON, 0, len(subs)), NextCursor: next}
	for _, s := range subs {
		out.Data = append(out.Data, toSubscriptionJSON(s))
	}
	return http.StatusOK, out, nil
}

// subscriptionInput is the body of create (all fields) and update (the
// fields present replace the stored ones).
type subscriptionInput struct {
	URL         *string   `json:"url"`
	EventTypes  *[]string `json:"event_types"`
	ProjectID   *string   `json:"project_id"`
	Description *string   `json:"description"`
}

// apply sets the fields present in in on p.
func (in *subscriptionInput) apply(p *webhook.SubscriptionParams) {
	if in.URL != nil {
		p.URL = *in.URL
	}
	if in.EventTypes != nil {
		p.EventTypes = *in.EventTypes
	}
	if in.ProjectID != nil {
		p.ProjectID = *in.ProjectID
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
}

func (h *Handler) apiCreateSubscription(r *http.Request, org string) (int, any, error) {
	var in subscriptionInput
	if err := decodeJSON(r, &in, false); err != nil {
		return 0, nil, err
	}
	p := webhook.SubscriptionParams{OrganizationID: org}
	in.apply(&p)
	sub, err := h.d.CreateSubscription(r.Context(), p)
	if err != nil {
		return 0, nil, err
	}
	out := toSubscriptionJSON(sub)
	out.Secret = string(sub.Secrets[0].Secret)
	return http.StatusCreated, created{out, h.base + "/api/v1/orgs/" + url.PathEscape(org) + "/subscriptions/" + url.PathEscape(sub.ID)}, nil
}

// subscription loads subscription id of org; another organization's is
// ErrNotFound.
func (h *Handler) subscription(r *http.Request, org, id string) (*webhook.Subscription, error) {
	sub, err := h.store.GetSubscription(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if sub.OrganizationID != org {
		return nil, fmt.Errorf("subscription %s: %w", id, webhook.ErrNotFound)
	}
	return sub, nil
}

// delivery loads delivery id of org; another organization's is
// ErrNotFound.
func (h *Handler) delivery(r *http.Request, org, id string) (*webhook.Delivery, error) {
	dl, err := h.store.GetDelivery(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if dl.OrganizationID != org {
		return nil, fmt.Errorf("delivery %s: %w", id, webhook.ErrNotFound)
	}
	return dl, nil
}

func (h *Handler) apiGetSubscription(r *http.Request, org string) (int, any, error) {
	sub, err := h.subscription(r, org, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toSubscriptionJSON(sub), nil
}

func (h *Handler) apiUpdateSubscription(r *http.Request, org string) (int, any, error) {
	var in subscriptionInput
	if err := decodeJSON(r, &in, false); err != nil {
		return 0, nil, err
	}
	sub, err := h.subscription(r, org, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	p := webhook.SubscriptionParams{
		OrganizationID: org, ProjectID: sub.ProjectID, URL: sub.URL,
		EventTypes: sub.EventTypes, Description: sub.Description,
	}
	in.apply(&p)
	sub, err = h.d.UpdateSubscription(r.Context(), sub.ID, p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toSubscriptionJSON(sub), nil
}

func (h *Handler) apiDeleteSubscription(r *http.Request, org string) (int, any, error) {
	sub, err := h.subscription(r, org, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if err := h.d.DeleteSubscription(r.Context(), sub.ID); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (h *Handler) apiSetEnabled(enabled bool) apiFunc {
	return func(r *http.Request, org string) (int, any, error) {
		sub, err := h.subscription(r, org, r.PathValue("id"))
		if err != nil {
			return 0, nil, err
		}
		sub, err = h.d.SetSubscriptionEnabled(r.Context(), sub.ID, enabled)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, toSubscriptionJSON(sub), nil
	}
}

// rotateInput is the optional body of rotate-secret.
type rotateInput struct {
	// GraceSeconds is how long the previous secret keeps signing; 0 means
	// the dispatcher's default (24 h).
	GraceSeconds int64 `json:"grace_seconds"`
	// Immediately stops the previous secret at once, for a leaked one.
	Immediately bool `json:"immediately"`
}

func (h *Handler) apiRotateSecret(r *http.Request, org string) (int, any, error) {
	var in rotateInput
	if err := decodeJSON(r, &in, true); err != nil {
		return 0, nil, err
	}
	if in.GraceSeconds < 0 || in.GraceSeconds > int64(maxRotationGrace/time.Second) {
		return 0, nil, invalid("grace_seconds", fmt.Sprintf("must be from 0 to %d", int64(maxRotationGrace/time.Second)))
	}
	if in.Immediately && in.GraceSeconds != 0 {
		return 0, nil, invalid("immediately", "cannot be combined with grace_seconds")
	}
	grace := time.Duration(in.GraceSeconds) * time.Second
	if in.Immediately {
		grace = webhook.RotateImmediately
	}
	sub, err := h.subscription(r, org, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	secret, err := h.d.RotateSecret(r.Context(), sub.ID, grace)
	if err != nil {
		return 0, nil, err
	}
	if sub, err = h.store.GetSubscription(r.Context(), sub.ID); err != nil {
		return 0, nil, err
	}
	out := toSubscriptionJSON(sub)
	out.Secret = string(secret)
	return http.StatusOK, out, nil
}

// pingJSON is the answer of ping.
type pingJSON struct {
	Success bool `json:"success"`
	// Recorded says whether the ping is in the delivery log: it is not
	// when the subscription is disabled.
	Recorded bool        `json:"recorded"`
	Attempt  attemptJSON `json:"attempt"`
}

func (h *Handler) apiPing(r *http.Request, org string) (int, any, error) {
	sub, err := h.subscription(r, org, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	a, recorded, err := h.ping(r, sub.ID)
	if err != nil {
		return 0, nil, err
	}
	aj := toAttemptJSON(a)
	return http.StatusOK, pingJSON{Success: aj.Success, Recorded: recorded, Attempt: aj}, nil
}

// ping sends a Test Ping and reports whether it was recorded in the log:
// the Dispatcher records it unless the subscription is disabled, which it
// reads itself, so the log is asked rather than the subscription read
// here, which may be older.
func (h *Handler) ping(r *http.Request, subID string) (*webhook.Attempt, bool, error) {
	a, err := h.d.Ping(r.Context(), subID)
	if err != nil {
		return nil, false, err
	}
	_, err = h.store.GetDelivery(r.Context(), a.DeliveryID)
	switch {
	case err == nil:
		return a, true, nil
	case errors.Is(err, webhook.ErrNotFound):
		return a, false, nil
	}
	return nil, false, err
}

// deliveryFilter reads the filters shared by the log list and the portal.
func (h *Handler) deliveryFilter(q url.Values, org string) (webhook.DeliveryQuery, error) {
	dq := webhook.DeliveryQuery{OrganizationID: org, SubscriptionID: q.Get("subscription_id")}
	if len(dq.SubscriptionID) > 255 {
		return dq, invalid("subscription_id", "too long")
	}
	switch s := webhook.DeliveryState(q.Get("status")); s {
	case "", webhook.StatePending, webhook.StateDelivering, webhook.StateSucceeded, webhook.StateFailed:
		dq.State = s
	default:
		return dq, invalid("status", "must be pending, delivering, succeeded or failed")
	}
	if t := webhook.EventType(q.Get("event_type")); t != "" {
		if !h.eventType[t] {
			return dq, invalid("event_type", "not an event type of the catalog")
		}
		dq.EventType = t
	}
	var err error
	if dq.CreatedAfter, err = parseTime(q.Get("created_after"), "created_after"); err != nil {
		return dq, err
	}
	if dq.CreatedBefore, err = parseTime(q.Get("created_before"), "created_before"); err != nil {
		return dq, err
	}
	if !dq.CreatedAfter.IsZero() && !dq.CreatedBefore.IsZero() && !dq.CreatedAfter.Before(dq.CreatedBefore) {
		return dq, invalid("created_before", "must be after created_after")
	}
	return dq, nil
}

// parseTime parses an optional RFC 3339 time.
func parseTime(v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, invalid(field, "must be an RFC 3339 time such as 2026-06-27T09:15:23Z")
	}
	return t, nil
}

func (h *Handler) apiListDeliveries(r *http.Request, org string) (int, any, error) {
	q := r.URL.Query()
	dq, err := h.deliveryFilter(q, org)
	if err != nil {
		return 0, nil, err
	}
	if dq.Page, err = parsePage(q); err != nil {
		return 0, nil, err
	}
	dls, next, err := h.store.ListDeliveries(r.Context(), dq)
	if err != nil {
		return 0, nil, err
	}
	out := listJSON[deliveryJSON]{Data: make([]deliveryJSON, 0, len(dls)), NextCursor: next}
	for _, d := range dls {
		out.Data = append(out.Data, toDeliveryJSON(d))
	}
	return http.StatusOK, out, nil
}

func (h *Handler) apiGetDelivery(r *http.Request, org string) (int, any, error) {
	dl, err := h.delivery(r, org, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	attempts, err := h.store.ListAttempts(r.Context(), dl.ID)
	if err != nil {
		return 0, nil, err
	}
	out := deliveryDetailJSON{deliveryJSON: toDeliveryJSON(dl)}
	out.Payload = json.RawMessage(dl.Body)
	if !json.Valid(dl.Body) {
		out.Payload = nil
	}
	out.Attempts = make([]attemptJSON, 0, len(attempts))
	for _, a := range attempts {
		out.Attempts = append(out.Attempts, toAttemptJSON(a))
	}
	return http.StatusOK, out, nil
}

func (h *Handler) apiRedeliver(r *http.Request, org string) (int, any, error) {
	dl, err := h.delivery(r, org, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if err := h.d.Redeliver(r.Context(), dl.ID); err != nil {
		return 0, nil, err
	}
	if dl, err = h.store.GetDelivery(r.Context(), dl.ID); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, toDeliveryJSON(dl), nil
}

// redeliverFailedInput is the body of redeliver-failed.
type redeliverFailedInput struct {
	CreatedAfter   string `json:"created_after"`
	CreatedBefore  string `json:"created_before"`
	SubscriptionID string `json:"subscription_id"`
	EventType      string `json:"event_type"`
}

// redeliverFailedJSON is the answer of redeliver-failed.
type redeliverFailedJSON struct {
	// Redelivered counts the deliveries scheduled again.
	Redelivered int `json:"redelivered"`
	// Skipped counts failed deliveries that could not be (their
	// subscription was deleted, or another request took them first).
	Skipped int `json:"skipped"`
	// More reports that MaxBulkRedeliver was reached: call again.
	More bool `json:"more"`
}

func (h *Handler) apiRedeliverFailed(r *http.Request, org string) (int, any, error) {
	var in redeliverFailedInput
	if err := decodeJSON(r, &in, false); err != nil {
		return 0, nil, err
	}
	if in.CreatedAfter == "" {
		return 0, nil, invalid("created_after", "required")
	}
	if in.CreatedBefore == "" {
		return 0, nil, invalid("created_before", "required")
	}
	q := url.Values{
		"created_after": {in.CreatedAfter}, "created_before": {in.CreatedBefore},
		"subscription_id": {in.SubscriptionID}, "event_type": {in.EventType},
	}
	dq, err := h.deliveryFilter(q, org)
	if err != nil {
		return 0, nil, err
	}
	dq.State = webhook.StateFailed
	dq.Page.Limit = 100
	var out redeliverFailedJSON
	for {
		dls, next, err := h.store.ListDeliveries(r.Context(), dq)
		if err != nil {
			return 0, nil, err
		}
		for _, dl := range dls {
			if out.Redelivered+out.Skipped == MaxBulkRedeliver {
				out.More = true
				return http.StatusAccepted, out, nil
			}
			err := h.d.Redeliver(r.Context(), dl.ID)
			switch {
			case err == nil:
				out.Redelivered++
			case errors.Is(err, webhook.ErrConflict), errors.Is(err, webhook.ErrNotFound):
				out.Skipped++
			default:
				return 0, nil, err
			}
		}
		if next == "" {
			return http.StatusAccepted, out, nil
		}
		dq.Page.Cursor = next
	}
}
