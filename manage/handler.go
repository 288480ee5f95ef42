// Package manage serves the management side of webhooks to a host
// application: a JSON REST API and a small server-rendered portal (the
// seed's Org Settings → Developer → Webhooks page), both for one
// organization at a time, behind the host's own authentication.
//
// Mount the Handler under a prefix of the host's router and tell it the
// prefix, so that the links of the portal point back at it:
//
//	h, err := manage.New(manage.Config{
//		Dispatcher: d, Store: store,
//		Authorizer: &manage.RoleAuthorizer{RoleOf: roleFromSession},
//		BasePath:   "/settings/developer",
//		CookieKey:  key, // 32+ bytes, shared by every process serving the portal
//	})
//	mux.Handle("/settings/developer/", http.StripPrefix("/settings/developer", h))
//
// The organization is the {org} segment of every path; the Authorizer
// decides whether the caller holds webhook.manage in it (401 or 403
// otherwise). A subscription or delivery of another organization answers
// 404, as if it did not exist. The API is described by openapi.yaml in this
// directory (OpenAPI 3.1); its routes are:
//
//	GET    /api/v1/orgs/{org}/event-types
//	GET    /api/v1/orgs/{org}/subscriptions               ?limit&cursor
//	POST   /api/v1/orgs/{org}/subscriptions               201, with the secret
//	GET    /api/v1/orgs/{org}/subscriptions/{id}
//	PATCH  /api/v1/orgs/{org}/subscriptions/{id}
//	DELETE /api/v1/orgs/{org}/subscriptions/{id}          204
//	POST   /api/v1/orgs/{org}/subscriptions/{id}/enable
//	POST   /api/v1/orgs/{org}/subscriptions/{id}/disable
//	POST   /api/v1/orgs/{org}/subscriptions/{id}/rotate-secret   with the new secret
//	POST   /api/v1/orgs/{org}/subscriptions/{id}/ping
//	GET    /api/v1/orgs/{org}/deliveries                  ?subscription_id&status&event_type&created_after&created_before&limit&cursor
//	GET    /api/v1/orgs/{org}/deliveries/{id}             with its attempts
//	POST   /api/v1/orgs/{org}/deliveries/{id}/redeliver   202
//	POST   /api/v1/orgs/{org}/deliveries/redeliver-failed 202, a time range
//
// Errors are {"error":{"code":"…","message":"…","field":"…"}} with the
// codes listed at ErrorCode; invalid input answers 400 naming the JSON
// field. The secret of a subscription appears only in the responses of
// create and rotate-secret.
//
// The portal lives under /orgs/{org}/webhooks. It needs no JavaScript: every
// action is a POST form carrying a CSRF token (a signed double-submit
// cookie), and every unsafe request, API included, is also refused when the
// browser says it comes from another origin (Sec-Fetch-Site, Origin). A new
// secret is shown once, on the page the creation redirects to, and not on
// reload.
package manage

import (
	"bytes"
	"crypto/rand"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onplana/webhook"
)

// Defaults of Config.
const (
	// DefaultMaxBodyBytes caps a request body: API JSON and portal forms.
	DefaultMaxBodyBytes = 64 << 10
	// MinCookieKeyBytes is the shortest Config.CookieKey accepted.
	MinCookieKeyBytes = 32
	// MaxBulkRedeliver is how many failed deliveries one
	// redeliver-failed call schedules; the response says when more remain.
	MaxBulkRedeliver = 1000
)

// Config configures a Handler.
type Config struct {
	// Dispatcher creates, changes and pings subscriptions and schedules
	// redeliveries. Required. The Handler does not Start or Close it.
	Dispatcher *webhook.Dispatcher
	// Store is the Dispatcher's store, read for lists and the delivery
	// log. Required.
	Store webhook.Store
	// Authorizer checks webhook.manage on every request. Required.
	Authorizer Authorizer
	// BasePath is the prefix under which the host mounts the Handler (and
	// strips with http.StripPrefix), such as "/settings/developer"; the
	// portal's links and redirects start with it. Defaults to "" (mounted
	// at the root).
	BasePath string
	// CookieKey signs the CSRF tokens and seals the cookie that carries a
	// new secret to the page that shows it once. At least
	// MinCookieKeyBytes random bytes; every process serving the portal
	// must share it. Defaults to a random key per Handler, which works for
	// a single process only.
	CookieKey []byte
	// SignInURL is the host's sign-in page ("/login", or an absolute http
	// or https URL), linked from the portal's page for a visitor who is
	// not signed in, and for one signed in without the permission (to
	// sign in with another account). Defaults to "": those pages then
	// offer to try again once signed in.
	SignInURL string
	// InsecureCookies drops the Secure attribute (and the __Host- prefix)
	// of the portal's cookies, for local development over plain http.
	// Defaults to false.
	InsecureCookies bool
	// TrustedOrigins lists origins ("https://admin.example.com") allowed
	// to send unsafe cross-origin requests. Defaults to none.
	TrustedOrigins []string
	// MaxBodyBytes caps request bodies. Defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives server errors and denied requests. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Now returns the current time, for the one-time secret cookie.
	// Defaults to time.Now.
	Now func() time.Time
}

// Handler serves the management API and the portal. It is safe for
// concurrent use.
type Handler struct {
	d          *webhook.Dispatcher
	store      webhook.Store
	auth       Authorizer
	base       string
	signIn     string // Config.SignInURL
	log        *slog.Logger
	now        func() time.Time
	maxBody    int64
	insecure   bool
	csrf       *csrfGuard
	secretOnce *flash // a new secret, for the page that shows it once
	pingOnce   *flash // a Test Ping's result, for the page that shows it
	cop        *http.CrossOriginProtection
	mux        *http.ServeMux
	routes     []route
	pages      map[string]*template.Template
	catalog    []categoryGroup
	eventType  map[webhook.EventType]bool
}

// route is one pattern of the mux, kept so that tests can compare the
// routes with openapi.yaml.
type route struct {
	method  string
	path    string
	handler http.HandlerFunc
}

// New returns a Handler, or a *webhook.ValidationError naming the Config
// field that is missing or invalid.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Dispatcher == nil:
		return nil, &webhook.ValidationError{Field: "Dispatcher", Reason: "required"}
	case cfg.Store == nil:
		return nil, &webhook.ValidationError{Field: "Store", Reason: "required"}
	case cfg.Authorizer == nil:
		return nil, &webhook.ValidationError{Field: "Authorizer", Reason: "required"}
	case cfg.MaxBodyBytes < 0:
		return nil, &webhook.ValidationError{Field: "MaxBodyBytes", Reason: "must not be negative"}
	}
	base := strings.TrimRight(cfg.BasePath, "/")
	if base != "" && (!strings.HasPrefix(base, "/") || strings.ContainsAny(base, "?#\"'<> ")) {
		return nil, &webhook.ValidationError{Field: "BasePath", Reason: "must be an absolute path such as /settings/developer"}
	}
	if err := checkSignInURL(cfg.SignInURL); err != nil {
		return nil, err
	}
	key := cfg.CookieKey
	switch {
	case len(key) == 0:
		key = make([]byte, MinCookieKeyBytes)
		rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	case len(key) < MinCookieKeyBytes:
		return nil, &webhook.ValidationError{Field: "CookieKey", Reason: "shorter than 32 bytes"}
	default:
		key = bytes.Clone(key)
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, &webhook.ValidationError{Field: "TrustedOrigins", Reason: err.Error()}
		}
	}
	h := &Handler{
		d:        cfg.Dispatcher,
		store:    cfg.Store,
		auth:     cfg.Authorizer,
		base:     base,
		signIn:   cfg.SignInURL,
		log:      cfg.Logger,
		now:      cfg.Now,
		maxBody:  cfg.MaxBodyBytes,
		insecure: cfg.InsecureCookies,
		cop:      cop,
		mux:      http.NewServeMux(),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	h.csrf = newCSRFGuard(key, !cfg.InsecureCookies)
	h.secretOnce = newSecretFlash(key, !cfg.InsecureCookies)
	h.pingOnce = newFlash(key, "manage/ping-result", "webhook-ping-result", !cfg.InsecureCookies)
	h.catalog, h.eventType = groupCatalog()
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h.pages = pages
	h.routes = append(h.apiRoutes(), h.portalRoutes()...)
	for _, rt := range h.routes {
		h.mux.HandleFunc(rt.method+" "+rt.path, rt.handler)
	}
	return h, nil
}

// ServeHTTP implements http.Handler. Unsafe requests from another origin are
// refused before routing; unknown API paths and methods answer JSON errors.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isAPI := strings.HasPrefix(r.URL.Path, "/api/")
	if err := h.cop.Check(r); err != nil {
		if isAPI {
			writeError(w, http.StatusForbidden, CodeCrossOrigin, "cross-origin request refused", "")
		} else {
			h.errorPage(w, r, problem{http.StatusForbidden, "Request refused",
				"This request came from another site, so it was refused. Open the webhooks page and try from there.", true})
		}
		return
	}
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	// No route (path-cleaning redirects have one): 405 with Allow when the
	// path exists for other methods, else 404, in the caller's format.
	if allow := h.allowedMethods(r); allow != "" {
		w.Header().Set("Allow", allow)
		if isAPI {
			writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed", "")
		} else {
			h.errorPage(w, r, problem{http.StatusMethodNotAllowed, "This page cannot do that",
				"The request used a method this page does not accept.", true})
		}
		return
	}
	if isAPI {
		writeError(w, http.StatusNotFound, CodeNotFound, "no such route", "")
	} else {
		h.errorPage(w, r, problem{http.StatusNotFound, "Page not found", "There is no page at this address.", true})
	}
}

// allowedMethods returns the methods that have a route for r's path, as an
// Allow header value, or "" when none has.
func (h *Handler) allowedMethods(r *http.Request) string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	return strings.Join(allow, ", ")
}

// authorize asks the Authorizer whether the caller holds webhook.manage in
// org, and reports the status to answer when it does not (0 when allowed).
func (h *Handler) authorize(r *http.Request, org string) (status int, code ErrorCode) {
	if org == "" || len(org) > 255 || strings.ContainsFunc(org, isControl) {
		return http.StatusNotFound, CodeNotFound
	}
	err := h.auth.Authorize(r, org, PermissionManage)
	switch {
	case err == nil:
		return 0, ""
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized, CodeUnauthenticated
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "manage: request denied",
		slog.String("organization_id", org), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	return http.StatusForbidden, CodeForbidden
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkSignInURL accepts "", an absolute path, or an absolute http(s) URL.
func checkSignInURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil, strings.ContainsFunc(raw, isControl):
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(raw, "//"):
		return nil
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "":
		return nil
	}
	return &webhook.ValidationError{Field: "SignInURL", Reason: "must be an absolute path such as /login, or an http or https URL"}
}
