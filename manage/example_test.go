package manage_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/manage"
	"github.com/onplana/webhook/onplana"
)

// The host mounts the Handler under its settings pages, behind its own
// authentication, and tells it who may manage webhooks.
func Example() {
	store := webhook.NewMemoryStore()
	d, err := webhook.NewDispatcher(store, &webhook.Config{AllowPrivateNetworks: true, AllowHTTP: true}) // a local endpoint
	if err != nil {
		panic(err)
	}
	h, err := manage.New(manage.Config{
		Dispatcher: d,
		Store:      store,
		Authorizer: &manage.RoleAuthorizer{
			// In a real host: the signed-in user's role in the organization.
			RoleOf: func(r *http.Request, org string) (onplana.Role, error) {
				if r.Header.Get("Authorization") == "" {
					return "", manage.ErrUnauthenticated
				}
				return onplana.RoleAdmin, nil
			},
		},
		BasePath: "/settings/developer",
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/settings/developer/", http.StripPrefix("/settings/developer", h))

	req := httptest.NewRequest("POST", "/settings/developer/api/v1/orgs/org_abc123/subscriptions",
		strings.NewReader(`{"url":"http://127.0.0.1:3000/webhook","event_types":["task.*","milestone.completed"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer …")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)

	var sub struct {
		ID     string `json:"id"`
		Scope  string `json:"scope"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &sub); err != nil {
		panic(err)
	}
	fmt.Println(rec.Code, sub.Scope, strings.HasPrefix(sub.Secret, "whsec_"))
	fmt.Println(rec.Header().Get("Location") == "/settings/developer/api/v1/orgs/org_abc123/subscriptions/"+sub.ID)
	// Output:
	// 201 organization true
	// true
}
