package manage

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var styleCSS []byte

// portalPages are the pages, each parsed with layout.html.
var portalPages = []string{"list", "new", "detail", "delivery", "error"}

// parsePages parses every page with the layout.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"ms": msString,
		// wildcard names a pattern that stands for many types in words
		// ("All task events"), and returns "" for an exact type.
		"wildcard": func(pattern string) string {
			switch {
			case pattern == "*":
				return "All events"
			case strings.HasSuffix(pattern, ".*"):
				return "All " + strings.TrimSuffix(pattern, ".*") + " events"
			}
			return ""
		},
		"failure":    describeFailure,
		"classLabel": classLabel,
		"contains":   slices.Contains[[]string],
	}
	pages := make(map[string]*template.Template, len(portalPages))
	for _, name := range portalPages {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// portalRoutes lists the HTML pages and their form actions.
func (h *Handler) portalRoutes() []route {
	const org = "/orgs/{org}"
	return []route{
		{"GET", "/static/style.css", h.serveStyle},
		{"GET", org + "/webhooks", h.page(h.listPage)},
		{"GET", org + "/webhooks/new", h.page(h.newPage)},
		{"POST", org + "/webhooks", h.form(h.createAction)},
		{"GET", org + "/webhooks/{id}", h.page(h.detailPage)},
		{"POST", org + "/webhooks/{id}/ping", h.form(h.pingAction)},
		{"POST", org + "/webhooks/{id}/enable", h.form(h.enableAction(true))},
		{"POST", org + "/webhooks/{id}/disable", h.form(h.enableAction(false))},
		{"POST", org + "/webhooks/{id}/rotate", h.form(h.rotateAction)},
		{"POST", org + "/webhooks/{id}/delete", h.form(h.deleteAction)},
		{"GET", org + "/deliveries/{id}", h.page(h.deliveryPage)},
		{"POST", org + "/deliveries/{id}/redeliver", h.form(h.redeliverAction)},
	}
}

func (h *Handler) serveStyle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(styleCSS)
}

// view is what every page template gets.
type view struct {
	Title      string
	Base       string // the Handler's BasePath
	Org        string
	OrgHome    string // the webhook list of Org
	CSRF       string
	Notice     string
	NoticeBad  bool
	Refresh    int // seconds; 0 for none
	Status     int // for the error page
	Message    string
	Links      []pageLink // what an error page offers to do next
	Catalog    []categoryGroup
	Sub        *subView
	Subs       []*subView
	Deliveries []*deliveryView
	Delivery   *deliveryView
	Attempts   []*webhook.Attempt
	Payload    string
	SubLabel   string // the delivery's webhook, for the breadcrumb; "" once deleted
	Secret     string
	Ping       *pingView
	Form       *formView
	Filter     filterView
	NextPage   string
}

// subView is a subscription with its links and health.
type subView struct {
	*webhook.Subscription
	Href      string
	Actions   string // prefix of its POST actions
	LastState string
	LastAt    time.Time
}

// Health summarizes the subscription for the list: disabled, failing or
// healthy.
func (s *subView) Health() string {
	switch {
	case s.Disabled:
		return "disabled"
	case !s.FailingSince.IsZero():
		return "failing"
	}
	return "healthy"
}

// deliveryView is a delivery with its links.
type deliveryView struct {
	*webhook.Delivery
	Href      string
	ResendURL string
	SubHref   string
}

// CanResend reports whether Resend applies: the delivery has ended.
func (d *deliveryView) CanResend() bool {
	return d.State == webhook.StateFailed || d.State == webhook.StateSucceeded
}

// formView holds the add form's values and its error.
type formView struct {
	URL         string
	EventTypes  []string
	Scope       string
	ProjectID   string
	Description string
	Error       string
	Field       string
}

// filterView holds the delivery log's filter.
type filterView struct {
	Status    string
	EventType string
	Types     []webhook.EventType
}

// categoryGroup is one category of the event picker.
type categoryGroup struct {
	Category string
	Wildcard string
	Events   []onplana.EventInfo
}

// groupCatalog groups the catalog by category, in catalog order, and
// returns the set of known types.
func groupCatalog() ([]categoryGroup, map[webhook.EventType]bool) {
	var groups []categoryGroup
	known := make(map[webhook.EventType]bool)
	for _, e := range onplana.Catalog() {
		e.Schema, e.Sample = nil, nil // the picker needs neither
		known[e.Type] = true
		if n := len(groups); n == 0 || groups[n-1].Category != e.Category {
			groups = append(groups, categoryGroup{Category: e.Category, Wildcard: e.Category + ".*"})
		}
		groups[len(groups)-1].Events = append(groups[len(groups)-1].Events, e)
	}
	return groups, known
}

// pickerGroups leaves out webhook.ping, which every subscription receives
// when tested whatever its types.
func (h *Handler) pickerGroups() []categoryGroup {
	return slices.DeleteFunc(slices.Clone(h.catalog), func(g categoryGroup) bool {
		return g.Category == webhook.CategoryWebhook
	})
}

// notices are the fixed messages a redirect can ask a page to show: the
// query parameter names one, so nothing of the URL reaches the page.
var notices = map[string]struct {
	text string
	bad  bool
}{
	"created":     {"Webhook created. A test ping is on its way.", false},
	"ping-ok":     {"Test ping delivered.", false},
	"ping-failed": {"Test ping failed: see its attempt in the delivery log.", true},
	// A disabled webhook's ping is sent but not recorded: the result was
	// shown once, and a reload cannot show it again.
	"ping-ok-unrecorded":     {"Test ping delivered. The webhook is disabled, so the ping is not recorded in the delivery log.", false},
	"ping-failed-unrecorded": {"Test ping failed. The webhook is disabled, so the ping is not recorded in the delivery log: press Test Ping again to see why.", true},
	"enabled":                {"Webhook enabled.", false},
	"disabled":               {"Webhook disabled. Events published while it is disabled are not delivered to it, now or later. Deliveries already pending are sent once it is enabled again.", false},
	"rotated":                {fmt.Sprintf("Secret rotated. The previous secret keeps signing for %g hours.", webhook.DefaultRotationGrace.Hours()), false},
	"deleted":                {"Webhook deleted.", false},
	"redelivered":            {"Resend scheduled.", false},
	"redeliver-denied":       {"This delivery cannot be resent now: it is waiting to be sent, or its webhook was deleted.", true},
}

// orgPath returns the URL path of the portal page segs of org.
func (h *Handler) orgPath(org string, segs ...string) string {
	var b strings.Builder
	b.WriteString(h.base)
	b.WriteString("/orgs/")
	b.WriteString(url.PathEscape(org))
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// newView starts the view of a page of org.
func (h *Handler) newView(w http.ResponseWriter, r *http.Request, org, title string) *view {
	v := &view{Title: title, Base: h.base, Org: org, OrgHome: h.orgPath(org, "webhooks"), CSRF: h.csrf.token(w, r)}
	if n, ok := notices[r.URL.Query().Get("notice")]; ok {
		v.Notice, v.NoticeBad = n.text, n.bad
	}
	return v
}

// render writes page name with v, buffered so that a template error is a
// clean 500.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, v); err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "manage: render page",
			slog.String("page", name), slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'")
	hd.Set("X-Frame-Options", "SAMEORIGIN") // frame-ancestors 'self', for browsers without CSP 2
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// problem is what an error page says: a heading in the visitor's terms,
// what happened, and whether to link back to the organization's webhook
// list (not when the visitor may not see it).
type problem struct {
	status  int
	heading string
	message string
	home    bool
}

// pageLink is a link an error page offers.
type pageLink struct {
	Href string
	Text string
}

// errorPage answers an HTML error page for p, with links to what to do
// next: back to the webhook list, or to sign in.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, p problem) {
	v := &view{Title: p.heading, Base: h.base, Status: p.status, Message: p.message}
	org := r.PathValue("org")
	if org == "" {
		// No route matched: read the organization off the path, for the
		// link back only (the list authorizes on its own).
		if rest, ok := strings.CutPrefix(r.URL.Path, "/orgs/"); ok {
			org, _, _ = strings.Cut(rest, "/")
		}
	}
	if p.home && org != "" && len(org) <= 255 && !strings.ContainsFunc(org, isControl) {
		v.Org, v.OrgHome = org, h.orgPath(org, "webhooks")
		v.Links = append(v.Links, pageLink{v.OrgHome, "Back to webhooks"})
	}
	switch {
	case p.status == http.StatusUnauthorized && h.signIn != "":
		v.Links = append(v.Links, pageLink{h.signIn, "Sign in"})
	case p.status == http.StatusUnauthorized && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		v.Links = append(v.Links, pageLink{h.base + r.URL.RequestURI(), "Try again"})
	case p.status == http.StatusForbidden && !p.home && h.signIn != "":
		v.Links = append(v.Links, pageLink{h.signIn, "Sign in with another account"})
	}
	h.render(w, r, p.status, "error", v)
}

// deniedProblem is the page of a request the Authorizer refused with
// status (from authorize): not signed in, or signed in without the
// permission.
func deniedProblem(status int) problem {
	switch status {
	case http.StatusUnauthorized:
		return problem{status, "Sign in to manage webhooks",
			"You are not signed in, or your session has ended. Sign in, then open this page again.", false}
	case http.StatusForbidden:
		return problem{status, "You cannot manage webhooks in this organization",
			"Managing webhooks needs the webhook.manage permission in this organization, and your account does not have it. Ask an administrator of the organization to grant it.", false}
	}
	return problem{status, "Organization not found", "There is no such organization.", false}
}

// pageError answers err as an HTML error page.
func (h *Handler) pageError(w http.ResponseWriter, r *http.Request, err error) {
	c := classify(err)
	if c.status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "manage: request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	p := problem{c.status, http.StatusText(c.status), c.message, true}
	switch c.status {
	case http.StatusBadRequest:
		p.heading, p.message = "This link is not valid", "The address of this page holds a value it does not accept. Start again from the webhook list."
	case http.StatusNotFound:
		p.heading, p.message = "Not found", "There is no such webhook or delivery in this organization."
	case http.StatusConflict:
		p.heading = "This cannot be done now"
	case http.StatusServiceUnavailable:
		p.heading, p.message = "Try again in a moment", "The service is restarting. Please try again in a moment."
	case http.StatusInternalServerError:
		p.heading, p.message = "Something went wrong", "Something went wrong on our side. Please try again."
	}
	h.errorPage(w, r, p)
}

// pageFunc serves an authorized GET page of org.
type pageFunc func(w http.ResponseWriter, r *http.Request, org string) error

func (h *Handler) page(f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		if status, _ := h.authorize(r, org); status != 0 {
			h.errorPage(w, r, deniedProblem(status))
			return
		}
		if err := f(w, r, org); err != nil {
			h.pageError(w, r, err)
		}
	}
}

// actionFunc handles an authorized, CSRF-checked form POST of org and
// returns where to redirect.
type actionFunc func(w http.ResponseWriter, r *http.Request, org string) (string, error)

func (h *Handler) form(f actionFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		if status, _ := h.authorize(r, org); status != 0 {
			h.errorPage(w, r, deniedProblem(status))
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
			h.errorPage(w, r, problem{http.StatusUnsupportedMediaType, "This form could not be read",
				"Forms must be sent as application/x-www-form-urlencoded.", true})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				h.errorPage(w, r, problem{http.StatusRequestEntityTooLarge, "This form is too large",
					"Shorten what you entered and try again.", true})
			} else {
				h.errorPage(w, r, problem{http.StatusBadRequest, "This form could not be read",
					"Go back, reload the page and try again.", true})
			}
			return
		}
		if err := h.csrf.check(r); err != nil {
			h.errorPage(w, r, problem{http.StatusForbidden, "The form expired",
				"The form expired or did not come from this page. Go back, reload the page and try again.", true})
			return
		}
		to, err := f(w, r, org)
		if err != nil {
			h.pageError(w, r, err)
			return
		}
		if to != "" {
			http.Redirect(w, r, to, http.StatusSeeOther)
		}
	}
}

// withNotice adds ?notice=key to path.
func withNotice(path, key string) string { return path + "?notice=" + url.QueryEscape(key) }

func (h *Handler) subView(org string, s *webhook.Subscription) *subView {
	href := h.orgPath(org, "webhooks", s.ID)
	return &subView{Subscription: s, Href: href, Actions: href}
}

func (h *Handler) deliveryView(org string, d *webhook.Delivery) *deliveryView {
	href := h.orgPath(org, "deliveries", d.ID)
	return &deliveryView{Delivery: d, Href: href, ResendURL: href + "/redeliver", SubHref: h.orgPath(org, "webhooks", d.SubscriptionID)}
}

func (h *Handler) listPage(w http.ResponseWriter, r *http.Request, org string) error {
	page, err := parsePage(r.URL.Query())
	if err != nil {
		return err
	}
	subs, next, err := h.store.ListSubscriptions(r.Context(), org, page)
	if err != nil {
		return err
	}
	v := h.newView(w, r, org, "Webhooks")
	for _, s := range subs {
		sv := h.subView(org, s)
		// One short query per row: the page is bounded by the page size.
		last, _, err := h.store.ListDeliveries(r.Context(), webhook.DeliveryQuery{
			OrganizationID: org, SubscriptionID: s.ID, Page: webhook.Page{Limit: 1},
		})
		if err != nil {
			return err
		}
		if len(last) == 1 {
			sv.LastState, sv.LastAt = string(last[0].State), last[0].CreatedAt
		}
		v.Subs = append(v.Subs, sv)
	}
	if next != "" {
		v.NextPage = h.orgPath(org, "webhooks") + "?cursor=" + url.QueryEscape(next)
	}
	h.render(w, r, http.StatusOK, "list", v)
	return nil
}

func (h *Handler) newPage(w http.ResponseWriter, r *http.Request, org string) error {
	v := h.newView(w, r, org, "Add webhook")
	v.Catalog = h.pickerGroups()
	v.Form = &formView{Scope: "organization"}
	h.render(w, r, http.StatusOK, "new", v)
	return nil
}

func (h *Handler) createAction(w http.ResponseWriter, r *http.Request, org string) (string, error) {
	f := &formView{
		URL:         strings.TrimSpace(r.PostFormValue("url")),
		EventTypes:  r.PostForm["event_types"],
		Scope:       r.PostFormValue("scope"),
		ProjectID:   strings.TrimSpace(r.PostFormValue("project_id")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
	}
	p := webhook.SubscriptionParams{OrganizationID: org, URL: f.URL, EventTypes: f.EventTypes, Description: f.Description}
	switch f.Scope {
	case "organization":
	case "project":
		if f.ProjectID == "" {
			return h.rerenderNew(w, r, org, f, "project_id", "Enter the project id, or choose the whole organization.")
		}
		p.ProjectID = f.ProjectID
	default:
		return h.rerenderNew(w, r, org, f, "scope", "Choose a scope.")
	}
	sub, err := h.d.CreateSubscription(r.Context(), p)
	var ve *webhook.ValidationError
	if errors.As(err, &ve) {
		field := jsonField(ve.Field)
		return h.rerenderNew(w, r, org, f, field, formMessage(field, ve.Reason))
	}
	if err != nil {
		return "", err
	}
	page := h.orgPath(org, "webhooks", sub.ID)
	h.secretOnce.set(w, page, sub.ID, []byte(sub.Secrets[0].Secret), h.now())
	return withNotice(page, "created"), nil
}

// rerenderNew shows the add form again with its values and an error.
func (h *Handler) rerenderNew(w http.ResponseWriter, r *http.Request, org string, f *formView, field, msg string) (string, error) {
	v := h.newView(w, r, org, "Add webhook")
	v.Catalog = h.pickerGroups()
	f.Field, f.Error = field, msg
	v.Form = f
	h.render(w, r, http.StatusBadRequest, "new", v)
	return "", nil
}

func (h *Handler) detailPage(w http.ResponseWriter, r *http.Request, org string) error {
	sub, err := h.subscription(r, org, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	dq, err := h.deliveryFilter(url.Values{"status": {q.Get("status")}, "event_type": {q.Get("event_type")}}, org)
	if err != nil {
		return err
	}
	dq.SubscriptionID = sub.ID
	if dq.Page, err = parsePage(url.Values{"cursor": {q.Get("cursor")}, "limit": {"25"}}); err != nil {
		return err
	}
	dls, next, err := h.store.ListDeliveries(r.Context(), dq)
	if err != nil {
		return err
	}
	v := h.newView(w, r, org, "Webhook "+endpointLabel(sub.URL))
	v.Sub = h.subView(org, sub)
	if secret, ok := h.secretOnce.take(w, r, v.Sub.Href, sub.ID, h.now()); ok {
		v.Secret = string(secret)
	}
	if raw, ok := h.pingOnce.take(w, r, v.Sub.Href, sub.ID, h.now()); ok {
		if v.Ping = h.pingView(org, raw); v.Ping != nil {
			v.Notice = "" // the result says more than the notice
		}
	}
	for _, d := range dls {
		v.Deliveries = append(v.Deliveries, h.deliveryView(org, d))
		if d.State == webhook.StatePending || d.State == webhook.StateDelivering {
			v.Refresh = 3 // follow the log until it settles
		}
	}
	if v.Secret != "" {
		v.Refresh = 0 // a reload would take the secret off the screen
	}
	v.Filter = filterView{Status: string(dq.State), EventType: string(dq.EventType)}
	for _, g := range h.catalog {
		for _, e := range g.Events {
			v.Filter.Types = append(v.Filter.Types, e.Type)
		}
	}
	if next != "" {
		nq := url.Values{"cursor": {next}}
		if dq.State != "" {
			nq.Set("status", string(dq.State))
		}
		if dq.EventType != "" {
			nq.Set("event_type", string(dq.EventType))
		}
		v.NextPage = v.Sub.Href + "?" + nq.Encode()
	}
	h.render(w, r, http.StatusOK, "detail", v)
	return nil
}

func (h *Handler) pingAction(w http.ResponseWriter, r *http.Request, org string) (string, error) {
	sub, err := h.subscription(r, org, r.PathValue("id"))
	if err != nil {
		return "", err
	}
	a, recorded, err := h.ping(r, sub.ID)
	if err != nil {
		return "", err
	}
	res := newPingResult(a, recorded)
	notice := "ping-failed"
	if res.Success {
		notice = "ping-ok"
	}
	if !recorded {
		notice += "-unrecorded"
	}
	page := h.orgPath(org, "webhooks", sub.ID)
	raw, err := json.Marshal(res)
	if err != nil {
		return "", err
	}
	h.pingOnce.set(w, page, sub.ID, raw, h.now())
	return withNotice(page, notice), nil
}

func (h *Handler) enableAction(enabled bool) actionFunc {
	return func(w http.ResponseWriter, r *http.Request, org string) (string, error) {
		sub, err := h.subscription(r, org, r.PathValue("id"))
		if err != nil {
			return "", err
		}
		if _, err := h.d.SetSubscriptionEnabled(r.Context(), sub.ID, enabled); err != nil {
			return "", err
		}
		notice := "disabled"
		if enabled {
			notice = "enabled"
		}
		return withNotice(h.orgPath(org, "webhooks", sub.ID), notice), nil
	}
}

func (h *Handler) rotateAction(w http.ResponseWriter, r *http.Request, org string) (string, error) {
	sub, err := h.subscription(r, org, r.PathValue("id"))
	if err != nil {
		return "", err
	}
	secret, err := h.d.RotateSecret(r.Context(), sub.ID, 0)
	if err != nil {
		return "", err
	}
	page := h.orgPath(org, "webhooks", sub.ID)
	h.secretOnce.set(w, page, sub.ID, []byte(secret), h.now())
	return withNotice(page, "rotated"), nil
}

func (h *Handler) deleteAction(w http.ResponseWriter, r *http.Request, org string) (string, error) {
	sub, err := h.subscription(r, org, r.PathValue("id"))
	if err != nil {
		return "", err
	}
	if err := h.d.DeleteSubscription(r.Context(), sub.ID); err != nil {
		return "", err
	}
	return withNotice(h.orgPath(org, "webhooks"), "deleted"), nil
}

func (h *Handler) deliveryPage(w http.ResponseWriter, r *http.Request, org string) error {
	dl, err := h.delivery(r, org, r.PathValue("id"))
	if err != nil {
		return err
	}
	attempts, err := h.store.ListAttempts(r.Context(), dl.ID)
	if err != nil {
		return err
	}
	v := h.newView(w, r, org, "Delivery of "+string(dl.EventType))
	v.Delivery = h.deliveryView(org, dl)
	v.Attempts = attempts
	v.Payload = indentJSON(dl.Body)
	switch sub, err := h.store.GetSubscription(r.Context(), dl.SubscriptionID); {
	case err == nil:
		v.SubLabel = endpointLabel(sub.URL)
	case !errors.Is(err, webhook.ErrNotFound):
		return err
	}
	if dl.State == webhook.StatePending || dl.State == webhook.StateDelivering {
		v.Refresh = 2 // no script: the page follows the delivery by reloading
	}
	h.render(w, r, http.StatusOK, "delivery", v)
	return nil
}

func (h *Handler) redeliverAction(w http.ResponseWriter, r *http.Request, org string) (string, error) {
	dl, err := h.delivery(r, org, r.PathValue("id"))
	if err != nil {
		return "", err
	}
	page := h.orgPath(org, "deliveries", dl.ID)
	switch err := h.d.Redeliver(r.Context(), dl.ID); {
	case errors.Is(err, webhook.ErrConflict):
		return withNotice(page, "redeliver-denied"), nil
	case err != nil:
		return "", err
	}
	return withNotice(page, "redelivered"), nil
}

// indentJSON returns a payload indented for reading, or as it is when it
// is not JSON.
func indentJSON(body []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		return string(body)
	}
	return buf.String()
}

// endpointLabel names a webhook by its endpoint's host (and port): short
// enough for a breadcrumb or a title, and without the path, which can be a
// credential.
func endpointLabel(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "webhook"
}

// classLabel names an attempt's error class for its badge.
func classLabel(c webhook.ErrorClass) string {
	switch c {
	case webhook.ErrorClassStatus:
		return "error status"
	case webhook.ErrorClassTimeout:
		return "timed out"
	case webhook.ErrorClassConnection:
		return "no connection"
	case webhook.ErrorClassBlocked:
		return "address refused"
	}
	return "failed"
}
