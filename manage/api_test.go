package manage

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// idRoutes are the API routes of one subscription or delivery, with a body
// that passes validation.
func idRoutes(subID, dlvID string) []struct{ method, path, body string } {
	return []struct{ method, path, body string }{
		{"GET", "/subscriptions/" + subID, ""},
		{"PATCH", "/subscriptions/" + subID, `{"description":"x"}`},
		{"POST", "/subscriptions/" + subID + "/enable", ""},
		{"POST", "/subscriptions/" + subID + "/disable", ""},
		{"POST", "/subscriptions/" + subID + "/rotate-secret", ""},
		{"POST", "/subscriptions/" + subID + "/ping", ""},
		{"GET", "/deliveries/" + dlvID, ""},
		{"POST", "/deliveries/" + dlvID + "/redeliver", ""},
		{"DELETE", "/subscriptions/" + subID, ""}, // last: it drops pending deliveries
	}
}

// allRoutes adds the organization-level routes to idRoutes.
func allRoutes(subID, dlvID string) []struct{ method, path, body string } {
	return append([]struct{ method, path, body string }{
		{"GET", "/event-types", ""},
		{"GET", "/subscriptions", ""},
		{"POST", "/subscriptions", `{"url":"http://127.0.0.1:1/x","event_types":["*"]}`},
		{"GET", "/deliveries", ""},
		{"POST", "/deliveries/redeliver-failed", `{"created_after":"2020-01-01T00:00:00Z","created_before":"2030-01-01T00:00:00Z"}`},
	}, idRoutes(subID, dlvID)...)
}

func TestAPIPermissionDenied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	sub := e.createSub("alice", orgA)
	dl := e.onlyDelivery(sub.ID)
	for _, rt := range allRoutes(sub.ID, dl.ID) {
		for _, tc := range []struct {
			name   string
			user   string
			status int
			code   ErrorCode
		}{
			{"no identity", "", http.StatusUnauthorized, CodeUnauthenticated},
			{"viewer", "carol", http.StatusForbidden, CodeForbidden},
			{"not a member", "bob", http.StatusForbidden, CodeForbidden},
		} {
			t.Run(rt.method+" "+rt.path+" "+tc.name, func(t *testing.T) {
				var body any
				if rt.body != "" {
					body = rt.body
				}
				var got apiErr
				resp := e.call(tc.user, rt.method, "/api/v1/orgs/"+orgA+rt.path, body, &got)
				require.Equal(t, tc.status, resp.StatusCode)
				require.Equal(t, tc.code, got.Error.Code)
			})
		}
	}
	// Nothing was changed by the refused calls.
	got, err := e.store.GetSubscription(context.Background(), sub.ID)
	require.NoError(t, err)
	require.False(t, got.Disabled)
	require.Len(t, got.Secrets, 1)
}

func TestAPIPermissionAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	sub := e.createSub("alice", orgA)
	dl := e.onlyDelivery(sub.ID)
	// Every route answers 2xx (or the conflict of redelivering a pending
	// delivery) for an ADMIN; DELETE comes last in idRoutes.
	for _, rt := range allRoutes(sub.ID, dl.ID) {
		var body any
		if rt.body != "" {
			body = rt.body
		}
		resp := e.call("alice", rt.method, "/api/v1/orgs/"+orgA+rt.path, body, nil)
		if strings.HasSuffix(rt.path, "/redeliver") {
			require.Equal(t, http.StatusConflict, resp.StatusCode, "the creation ping is still pending")
			continue
		}
		require.Less(t, resp.StatusCode, 300, "%s %s", rt.method, rt.path)
	}
}

func TestAPICustomMatrix(t *testing.T) {
	t.Parallel()
	// The organization loosens webhook.manage to MEMBER, as the seed's
	// permission matrix allows.
	auth := &RoleAuthorizer{
		RoleOf: testAuthorizer.RoleOf,
		MatrixOf: func(ctx context.Context, org string) (PermissionMatrix, error) {
			return PermissionMatrix{PermissionManage: onplana.RoleMember}, nil
		},
	}
	e := newEnv(t, false, func(c *Config) { c.Authorizer = auth })
	resp := e.call("alice", "GET", "/api/v1/orgs/"+orgB+"/subscriptions", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp = e.call("carol", "GET", "/api/v1/orgs/"+orgA+"/subscriptions", nil, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestAPIOtherOrganizationUnreachable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	sub := e.createSub("alice", orgA)
	dl := e.onlyDelivery(sub.ID)
	// bob manages globex; acme's subscription and delivery do not exist
	// there.
	for _, rt := range idRoutes(sub.ID, dl.ID) {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			var body any
			if rt.body != "" {
				body = rt.body
			}
			var got apiErr
			resp := e.call("bob", rt.method, "/api/v1/orgs/"+orgB+rt.path, body, &got)
			require.Equal(t, http.StatusNotFound, resp.StatusCode)
			require.Equal(t, CodeNotFound, got.Error.Code)
		})
	}
	var subs listJSON[subscriptionJSON]
	e.call("bob", "GET", "/api/v1/orgs/"+orgB+"/subscriptions", nil, &subs)
	require.Empty(t, subs.Data)
	var dls listJSON[deliveryJSON]
	e.call("bob", "GET", "/api/v1/orgs/"+orgB+"/deliveries?subscription_id="+sub.ID, nil, &dls)
	require.Empty(t, dls.Data)
	_, err := e.store.GetSubscription(context.Background(), sub.ID)
	require.NoError(t, err, "still there after bob's DELETE")
}

func TestAPISubscriptionLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	base := "/api/v1/orgs/" + orgA + "/subscriptions"

	created := e.createSub("alice", orgA, "task.*", "milestone.completed")
	require.True(t, strings.HasPrefix(created.Secret, "whsec_"), "create returns the secret")
	require.Equal(t, "organization", created.Scope)
	require.True(t, created.Enabled)
	require.Equal(t, "test hook", created.Description)

	// The creation ping arrives signed with that secret.
	ping := e.waitEnded(e.onlyDelivery(created.ID).ID)
	require.Equal(t, webhook.StateSucceeded, ping.State)
	req, body := <-e.rc.got, <-e.rc.body
	require.NoError(t, webhook.Verify(body, req.Header.Get(webhook.DefaultSignatureHeader), webhook.Secret(created.Secret)))

	var got subscriptionJSON
	resp := e.call("alice", "GET", base+"/"+created.ID, nil, &got)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, got.Secret, "the secret is shown once")
	require.NotContains(t, readBody(t, resp), "whsec_")

	var updated subscriptionJSON
	resp = e.call("alice", "PATCH", base+"/"+created.ID,
		map[string]any{"description": "drives Slack", "project_id": "proj_1"}, &updated)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "drives Slack", updated.Description)
	require.Equal(t, "project", updated.Scope)
	require.Equal(t, "proj_1", updated.ProjectID)
	require.Equal(t, []string{"task.*", "milestone.completed"}, updated.EventTypes, "absent fields are kept")
	require.Empty(t, updated.Secret)

	resp = e.call("alice", "POST", base+"/"+created.ID+"/disable", nil, &got)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.False(t, got.Enabled)
	require.Equal(t, webhook.DisabledByUser, got.DisabledReason)
	resp = e.call("alice", "POST", base+"/"+created.ID+"/enable", nil, &got)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, got.Enabled)

	var rotated subscriptionJSON
	resp = e.call("alice", "POST", base+"/"+created.ID+"/rotate-secret", map[string]any{"grace_seconds": 3600}, &rotated)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(rotated.Secret, "whsec_"))
	require.NotEqual(t, created.Secret, rotated.Secret)
	require.Len(t, rotated.PreviousSecretsExpireAt, 1)
	require.WithinDuration(t, time.Now().Add(time.Hour), rotated.PreviousSecretsExpireAt[0], time.Minute)

	var pinged pingJSON
	resp = e.call("alice", "POST", base+"/"+created.ID+"/ping", nil, &pinged)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, pinged.Success)
	require.Equal(t, http.StatusOK, pinged.Attempt.StatusCode)
	req, body = <-e.rc.got, <-e.rc.body
	sig := req.Header.Get(webhook.DefaultSignatureHeader)
	require.NoError(t, webhook.Verify(body, sig, webhook.Secret(rotated.Secret)), "signed with the new secret")

	resp = e.call("alice", "DELETE", base+"/"+created.ID, nil, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp = e.call("alice", "GET", base+"/"+created.ID, nil, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestAPIRotateImmediately(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	sub := e.createSub("alice", orgA)
	var rotated subscriptionJSON
	resp := e.call("alice", "POST", "/api/v1/orgs/"+orgA+"/subscriptions/"+sub.ID+"/rotate-secret",
		map[string]any{"immediately": true}, &rotated)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, rotated.PreviousSecretsExpireAt, "the leaked secret stops at once")
	stored, err := e.store.GetSubscription(context.Background(), sub.ID)
	require.NoError(t, err)
	require.Len(t, stored.Secrets, 1)
	require.Equal(t, rotated.Secret, string(stored.Secrets[0].Secret))
}

func TestAPIValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	sub := e.createSub("alice", orgA)
	org := "/api/v1/orgs/" + orgA
	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		contentType string
		status      int
		code        ErrorCode
		field       string
	}{
		{"url missing", "POST", "/subscriptions", `{"event_types":["*"]}`, "", 400, CodeInvalidField, "url"},
		{"url not http", "POST", "/subscriptions", `{"url":"ftp://example.com","event_types":["*"]}`, "", 400, CodeInvalidField, "url"},
		{"url private", "POST", "/subscriptions", `{"url":"http://10.0.0.1/x","event_types":["*"]}`, "", 400, CodeInvalidField, "url"},
		{"no event types", "POST", "/subscriptions", `{"url":"http://127.0.0.1:1/x","event_types":[]}`, "", 400, CodeInvalidField, "event_types"},
		{"unknown event type", "POST", "/subscriptions", `{"url":"http://127.0.0.1:1/x","event_types":["task.exploded"]}`, "", 400, CodeInvalidField, "event_types"},
		{"event types not a list", "POST", "/subscriptions", `{"url":"http://127.0.0.1:1/x","event_types":"task.*"}`, "", 400, CodeInvalidField, "event_types"},
		{"description too long", "POST", "/subscriptions", `{"url":"http://127.0.0.1:1/x","event_types":["*"],"description":"` + strings.Repeat("d", 1025) + `"}`, "", 400, CodeInvalidField, "description"},
		{"unknown field", "POST", "/subscriptions", `{"url":"http://127.0.0.1:1/x","event_types":["*"],"secret":"mine"}`, "", 400, CodeInvalidField, "secret"},
		{"not JSON", "POST", "/subscriptions", `{"url":`, "", 400, CodeInvalidJSON, ""},
		{"empty body", "POST", "/subscriptions", ``, "", 400, CodeInvalidJSON, ""},
		{"two values", "POST", "/subscriptions", `{} {}`, "", 400, CodeInvalidJSON, ""},
		{"form body", "POST", "/subscriptions", `url=x`, "application/x-www-form-urlencoded", 415, CodeUnsupportedMediaType, ""},
		{"too large", "POST", "/subscriptions", `{"description":"` + strings.Repeat("d", DefaultMaxBodyBytes) + `"}`, "", 413, CodeBodyTooLarge, ""},
		{"patch bad url", "PATCH", "/subscriptions/" + sub.ID, `{"url":"not a url"}`, "", 400, CodeInvalidField, "url"},
		{"rotate negative grace", "POST", "/subscriptions/" + sub.ID + "/rotate-secret", `{"grace_seconds":-1}`, "", 400, CodeInvalidField, "grace_seconds"},
		{"rotate both", "POST", "/subscriptions/" + sub.ID + "/rotate-secret", `{"grace_seconds":5,"immediately":true}`, "", 400, CodeInvalidField, "immediately"},
		{"limit zero", "GET", "/subscriptions?limit=0", "", "", 400, CodeInvalidField, "limit"},
		{"limit not a number", "GET", "/deliveries?limit=ten", "", "", 400, CodeInvalidField, "limit"},
		{"limit too big", "GET", "/deliveries?limit=501", "", "", 400, CodeInvalidField, "limit"},
		{"bad status", "GET", "/deliveries?status=lost", "", "", 400, CodeInvalidField, "status"},
		{"bad event type", "GET", "/deliveries?event_type=task.exploded", "", "", 400, CodeInvalidField, "event_type"},
		{"bad time", "GET", "/deliveries?created_after=yesterday", "", "", 400, CodeInvalidField, "created_after"},
		{"inverted range", "GET", "/deliveries?created_after=2026-01-02T00:00:00Z&created_before=2026-01-01T00:00:00Z", "", "", 400, CodeInvalidField, "created_before"},
		{"bulk without start", "POST", "/deliveries/redeliver-failed", `{"created_before":"2026-01-01T00:00:00Z"}`, "", 400, CodeInvalidField, "created_after"},
		{"bulk without end", "POST", "/deliveries/redeliver-failed", `{"created_after":"2026-01-01T00:00:00Z"}`, "", 400, CodeInvalidField, "created_before"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.srv.URL+org+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			req.Header.Set("X-Test-User", "alice")
			resp, err := e.srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var got apiErr
			require.NoError(t, decodeBody(resp, &got))
			require.Equal(t, tc.status, resp.StatusCode, "%+v", got)
			require.Equal(t, tc.code, got.Error.Code)
			require.Equal(t, tc.field, got.Error.Field)
			require.NotEmpty(t, got.Error.Message)
		})
	}
}

func TestAPIRouteFallbacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	var got apiErr
	resp := e.call("alice", "GET", "/api/v1/orgs/"+orgA+"/nothing", nil, &got)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, CodeNotFound, got.Error.Code)

	resp = e.call("alice", "PUT", "/api/v1/orgs/"+orgA+"/subscriptions", `{}`, &got)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, CodeMethodNotAllowed, got.Error.Code)
	require.Equal(t, "GET, HEAD, POST", resp.Header.Get("Allow"))
}

func TestAPIPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	var want []string
	for range 5 {
		want = append(want, e.createSub("alice", orgA).ID)
	}
	e.createSub("bob", orgB) // not listed in acme
	slices.Sort(want)        // ids made in the same millisecond sort randomly

	pages := func(path string) (ids []string, n int) {
		cursor := ""
		for {
			var page struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
				NextCursor string `json:"next_cursor"`
			}
			resp := e.call("alice", "GET", path+"limit=2&cursor="+cursor, nil, &page)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.LessOrEqual(t, len(page.Data), 2)
			for _, d := range page.Data {
				ids = append(ids, d.ID)
			}
			n++
			if page.NextCursor == "" {
				return ids, n
			}
			require.Less(t, n, 10, "pagination does not end")
			cursor = page.NextCursor
		}
	}
	ids, n := pages("/api/v1/orgs/" + orgA + "/subscriptions?")
	require.Equal(t, want, ids, "every subscription once, oldest first")
	require.Equal(t, 3, n)

	// One creation ping per subscription, newest first.
	ids, n = pages("/api/v1/orgs/" + orgA + "/deliveries?event_type=webhook.ping&")
	require.Len(t, ids, 5)
	require.Equal(t, 3, n)
	for i := 1; i < len(ids); i++ {
		require.Greater(t, ids[i-1], ids[i])
	}
}

func TestAPIDeliveryLogAndRedeliver(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.rc.fail.Store(true)
	sub := e.createSub("alice", orgA)
	ping := e.waitEnded(e.onlyDelivery(sub.ID).ID)
	require.Equal(t, webhook.StateFailed, ping.State)
	org := "/api/v1/orgs/" + orgA

	var failed listJSON[deliveryJSON]
	resp := e.call("alice", "GET", org+"/deliveries?status=failed&event_type=webhook.ping&subscription_id="+sub.ID, nil, &failed)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, failed.Data, 1)
	require.Equal(t, ping.ID, failed.Data[0].ID)
	require.Equal(t, 500, failed.Data[0].LastStatusCode)

	var none listJSON[deliveryJSON]
	e.call("alice", "GET", org+"/deliveries?status=succeeded", nil, &none)
	require.Empty(t, none.Data)

	var shown deliveryDetailJSON
	resp = e.call("alice", "GET", org+"/deliveries/"+ping.ID, nil, &shown)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, shown.Attempts, 1)
	a := shown.Attempts[0]
	require.Equal(t, 500, a.StatusCode)
	require.False(t, a.Success)
	require.Equal(t, string(webhook.ErrorClassStatus), a.ErrorClass)
	require.Contains(t, a.ResponseSnippet, "receiver told to fail")
	require.Contains(t, string(shown.Payload), `"event":"webhook.ping"`)

	e.rc.fail.Store(false)
	var again deliveryJSON
	resp = e.call("alice", "POST", org+"/deliveries/"+ping.ID+"/redeliver", nil, &again)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, ping.ID, again.ID)
	require.Equal(t, webhook.StateSucceeded, e.waitEnded(ping.ID).State)

	e.call("alice", "GET", org+"/deliveries/"+ping.ID, nil, &shown)
	require.Len(t, shown.Attempts, 2, "the log keeps both attempts")
	require.True(t, shown.Attempts[1].Success)
}

func TestAPIRedeliverFailedInRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.rc.fail.Store(true)
	var ids []string
	for range 3 {
		sub := e.createSub("alice", orgA)
		ids = append(ids, e.waitEnded(e.onlyDelivery(sub.ID).ID).ID)
	}
	org := "/api/v1/orgs/" + orgA
	e.rc.fail.Store(false)

	// A range that ends before the deliveries were made selects none.
	var out redeliverFailedJSON
	resp := e.call("alice", "POST", org+"/deliveries/redeliver-failed",
		map[string]any{"created_after": "2020-01-01T00:00:00Z", "created_before": "2021-01-01T00:00:00Z"}, &out)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, redeliverFailedJSON{}, out)

	// Another organization's call does not touch acme's deliveries.
	resp = e.call("bob", "POST", "/api/v1/orgs/"+orgB+"/deliveries/redeliver-failed",
		map[string]any{"created_after": "2020-01-01T00:00:00Z", "created_before": "2100-01-01T00:00:00Z"}, &out)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Zero(t, out.Redelivered)

	resp = e.call("alice", "POST", org+"/deliveries/redeliver-failed", map[string]any{
		"created_after":  time.Now().Add(-time.Hour).Format(time.RFC3339),
		"created_before": time.Now().Add(time.Hour).Format(time.RFC3339),
	}, &out)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, redeliverFailedJSON{Redelivered: 3}, out)
	for id, state := range e.waitAllEnded(ids...) {
		require.Equal(t, webhook.StateSucceeded, state, id)
	}
}

func TestAPIEventTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	var got listJSON[eventTypeJSON]
	resp := e.call("alice", "GET", "/api/v1/orgs/"+orgA+"/event-types", nil, &got)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, got.Data, len(onplana.Catalog()))
	require.Equal(t, "project.created", got.Data[0].Type)
	require.Equal(t, "project", got.Data[0].Category)
	require.NotEmpty(t, got.Data[0].Description)
}
