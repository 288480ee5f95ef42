package manage

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

// browser is a cookie-keeping client of the portal that does not follow
// redirects, so tests see each 303.
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	user string
}

func (e *env) browser(user string) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	return &browser{t: e.t, e: e, user: user, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	if b.user != "" {
		req.Header.Set("X-Test-User", b.user)
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.e.srv.URL+path, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// What a browser sends for a form posted from the page itself.
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

var tokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token loads page and returns the CSRF token of its forms.
func (b *browser) token(page string) string {
	b.t.Helper()
	resp, body := b.get(page)
	require.Equal(b.t, http.StatusOK, resp.StatusCode, body)
	m := tokenRE.FindStringSubmatch(body)
	require.NotNil(b.t, m, "no CSRF token on %s", page)
	return m[1]
}

var secretRE = regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`)

func TestPortalCreateShowsSecretOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser("alice")
	home := "/orgs/" + orgA + "/webhooks"
	tok := b.token(home + "/new")

	resp, _ := b.post(home, url.Values{
		"csrf_token": {tok}, "url": {e.rc.srv.URL + "/hook"}, "event_types": {"task.*", "milestone.completed"},
		"scope": {"project"}, "project_id": {"proj_9"}, "description": {"Slack"},
	})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, home+"/sub_"), loc)
	require.True(t, strings.HasSuffix(loc, "?notice=created"), loc)
	subID := strings.TrimSuffix(strings.TrimPrefix(loc, home+"/"), "?notice=created")

	stored, err := e.store.GetSubscription(context.Background(), subID)
	require.NoError(t, err)
	require.Equal(t, "proj_9", stored.ProjectID)
	require.Equal(t, []string{"task.*", "milestone.completed"}, stored.EventTypes)
	require.Equal(t, "Slack", stored.Description)

	resp, page := b.get(loc)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	require.Contains(t, page, "It will not be shown again")
	require.Equal(t, []string{string(stored.Secrets[0].Secret)}, secretRE.FindAllString(html.UnescapeString(page), -1))
	require.NotContains(t, page, `http-equiv="refresh"`, "the page with the secret does not reload itself")

	resp, page = b.get(loc)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotContains(t, page, "whsec_", "not shown on reload")
	require.NotContains(t, page, "It will not be shown again")
	require.Contains(t, page, `http-equiv="refresh"`, "without the secret, the page follows the pending ping")
}

func TestPortalCreateValidationKeepsInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.browser("alice")
	home := "/orgs/" + orgA + "/webhooks"
	tok := b.token(home + "/new")
	tests := []struct {
		name  string
		form  url.Values
		error string
	}{
		{"bad url", url.Values{"url": {"ftp://example.com"}, "event_types": {"task.created"}, "scope": {"organization"}}, "The URL must start with https://."},
		{"private address", url.Values{"url": {"https://10.1.2.3/hook"}, "event_types": {"task.created"}, "scope": {"organization"}},
			"Enter a public URL: 10.1.2.3 is on a private network, and webhooks are only sent to public internet addresses."},
		{"credentials", url.Values{"url": {"https://user:pw@example.com/hook"}, "event_types": {"task.created"}, "scope": {"organization"}},
			"Remove the user name and password from the URL"},
		{"not a url", url.Values{"url": {"example.com/hook"}, "event_types": {"task.created"}, "scope": {"organization"}},
			"Enter a full URL, such as https://example.com/webhooks."},
		{"no events", url.Values{"url": {e.rc.srv.URL}, "scope": {"organization"}}, "Choose at least one event, or All events."},
		{"project without id", url.Values{"url": {e.rc.srv.URL}, "event_types": {"task.created"}, "scope": {"project"}}, "Enter the project id"},
		{"no scope", url.Values{"url": {e.rc.srv.URL}, "event_types": {"task.created"}}, "Choose a scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf_token", tok)
			tc.form.Set("description", `<b>"keep me"</b>`)
			resp, page := b.post(home, tc.form)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			require.Contains(t, page, tc.error)
			for _, jargon := range []string{"url:", "event_types:", "RFC 1918", "webhook:"} {
				require.NotContains(t, page, jargon, "the message speaks the user's language")
			}
			require.Regexp(t, `aria-describedby="[^"]*form-error"`, page, "the field at fault points at the message")
			require.Contains(t, page, `&lt;b&gt;&#34;keep me&#34;&lt;/b&gt;`, "the input is kept, escaped")
			if len(tc.form["event_types"]) > 0 {
				require.Contains(t, page, `value="task.created" checked`)
			}
		})
	}
	subs, _, err := e.store.ListSubscriptions(context.Background(), orgA, webhook.Page{})
	require.NoError(t, err)
	require.Empty(t, subs)
}

func TestPortalEscapesOutput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	var sub subscriptionJSON
	resp := e.call("alice", "POST", "/api/v1/orgs/"+orgA+"/subscriptions", map[string]any{
		"url": e.rc.srv.URL + "/x?a=<b>", "event_types": []string{"*"}, "description": `<script>alert("x")</script>`,
	}, &sub)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	b := e.browser("alice")
	for _, page := range []string{"/orgs/" + orgA + "/webhooks", "/orgs/" + orgA + "/webhooks/" + sub.ID} {
		resp, body := b.get(page)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotContains(t, body, "<script>")
		require.Contains(t, body, "&lt;script&gt;")
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	}
}

func TestPortalListShowsHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.rc.fail.Store(true)
	sub := e.createSub("alice", orgA)
	require.Equal(t, webhook.StateFailed, e.waitEnded(e.onlyDelivery(sub.ID).ID).State)
	_, err := e.d.SetSubscriptionEnabled(context.Background(), sub.ID, false)
	require.NoError(t, err)

	_, page := e.browser("alice").get("/orgs/" + orgA + "/webhooks")
	require.Contains(t, page, `<span class="badge off">Disabled</span>`)
	require.Contains(t, page, webhook.DisabledByUser)
	require.Contains(t, page, `<span class="badge failed">failed</span>`, "last delivery state")
}

func TestPortalPingAndResend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	sub := e.createSub("alice", orgA)
	e.waitEnded(e.onlyDelivery(sub.ID).ID)
	b := e.browser("alice")
	page := "/orgs/" + orgA + "/webhooks/" + sub.ID
	tok := b.token(page)

	resp, _ := b.post(page+"/ping", url.Values{"csrf_token": {tok}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, page+"?notice=ping-ok", resp.Header.Get("Location"))
	_, body := b.get(page + "?notice=ping-ok")
	require.Contains(t, body, "Test ping delivered")
	require.Equal(t, 2, strings.Count(body, `<tr data-delivery=`), "creation ping and test ping")
	require.Contains(t, body, `<span class="badge succeeded">succeeded</span>`)

	e.rc.fail.Store(true)
	resp, _ = b.post(page+"/ping", url.Values{"csrf_token": {tok}})
	require.Equal(t, page+"?notice=ping-failed", resp.Header.Get("Location"))

	// Resend the creation ping while the receiver fails: a second attempt.
	dls, _, err := e.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{SubscriptionID: sub.ID, State: webhook.StateSucceeded})
	require.NoError(t, err)
	first := dls[len(dls)-1]
	dpage := "/orgs/" + orgA + "/deliveries/" + first.ID
	resp, _ = b.post(dpage+"/redeliver", url.Values{"csrf_token": {tok}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, dpage+"?notice=redelivered", resp.Header.Get("Location"))
	require.Equal(t, webhook.StateFailed, e.waitEnded(first.ID).State)

	_, body = b.get(dpage)
	require.Contains(t, body, `data-attempt="1"`)
	require.Contains(t, body, `data-attempt="2"`)
	require.Contains(t, body, `<code class="status">500</code>`)
	require.Contains(t, body, "receiver told to fail", "response snippet")

	// Resending it again while it is pending is refused politely.
	e2 := newEnv(t, false)
	s2 := e2.createSub("alice", orgA)
	b2 := e2.browser("alice")
	pending := e2.onlyDelivery(s2.ID)
	dp := "/orgs/" + orgA + "/deliveries/" + pending.ID
	tok2 := b2.token("/orgs/" + orgA + "/webhooks/" + s2.ID)
	require.Contains(t, b2.mustGet(dp), `<meta http-equiv="refresh" content="2">`, "a pending delivery's page follows it")
	resp, _ = b2.post(dp+"/redeliver", url.Values{"csrf_token": {tok2}})
	require.Equal(t, dp+"?notice=redeliver-denied", resp.Header.Get("Location"))
}

func (b *browser) mustGet(path string) string {
	b.t.Helper()
	resp, body := b.get(path)
	require.Equal(b.t, http.StatusOK, resp.StatusCode)
	return body
}

func TestPortalActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	sub := e.createSub("alice", orgA)
	b := e.browser("alice")
	page := "/orgs/" + orgA + "/webhooks/" + sub.ID
	tok := b.token(page)
	form := url.Values{"csrf_token": {tok}}

	resp, _ := b.post(page+"/disable", form)
	require.Equal(t, page+"?notice=disabled", resp.Header.Get("Location"))
	require.Contains(t, b.mustGet(page), `action="`+page+`/enable"`)
	resp, _ = b.post(page+"/enable", form)
	require.Equal(t, page+"?notice=enabled", resp.Header.Get("Location"))
	require.Contains(t, b.mustGet(page), `action="`+page+`/disable"`)

	resp, _ = b.post(page+"/rotate", form)
	require.Equal(t, page+"?notice=rotated", resp.Header.Get("Location"))
	shown := secretRE.FindAllString(html.UnescapeString(b.mustGet(page+"?notice=rotated")), -1)
	stored, err := e.store.GetSubscription(context.Background(), sub.ID)
	require.NoError(t, err)
	require.Equal(t, []string{string(stored.Secrets[0].Secret)}, shown)
	require.NotEqual(t, sub.Secret, shown[0])
	require.Empty(t, secretRE.FindAllString(b.mustGet(page), -1))

	resp, _ = b.post(page+"/delete", form)
	require.Equal(t, "/orgs/"+orgA+"/webhooks?notice=deleted", resp.Header.Get("Location"))
	resp, _ = b.get(page)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestPortalPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	sub := e.createSub("alice", orgA)
	dl := e.onlyDelivery(sub.ID)
	tests := []struct {
		name   string
		user   string
		path   string
		status int
	}{
		{"viewer", "carol", "/orgs/" + orgA + "/webhooks", http.StatusForbidden},
		{"anonymous", "", "/orgs/" + orgA + "/webhooks/new", http.StatusUnauthorized},
		{"other organization's webhook", "bob", "/orgs/" + orgB + "/webhooks/" + sub.ID, http.StatusNotFound},
		{"other organization's delivery", "bob", "/orgs/" + orgB + "/deliveries/" + dl.ID, http.StatusNotFound},
		{"unknown page", "alice", "/orgs/" + orgA + "/nothing", http.StatusNotFound},
		{"admin", "alice", "/orgs/" + orgA + "/deliveries/" + dl.ID, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.browser(tc.user).get(tc.path)
			require.Equal(t, tc.status, resp.StatusCode)
			require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
			if tc.status != http.StatusOK {
				require.NotContains(t, body, sub.URL)
			}
		})
	}
}

func TestPortalBasePath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) { c.BasePath = "/settings/dev/" })
	sub := e.createSub("alice", orgA)
	mux := http.NewServeMux()
	mux.Handle("/settings/dev/", http.StripPrefix("/settings/dev", e.h))
	e.srv.Config.Handler = checked(t, e.h.base, mux)

	b := e.browser("alice")
	body := b.mustGet("/settings/dev/orgs/" + orgA + "/webhooks")
	require.Contains(t, body, `href="/settings/dev/static/style.css"`)
	require.Contains(t, body, `href="/settings/dev/orgs/`+orgA+`/webhooks/`+sub.ID+`"`)
	tok := b.token("/settings/dev/orgs/" + orgA + "/webhooks/" + sub.ID)
	resp, _ := b.post("/settings/dev/orgs/"+orgA+"/webhooks/"+sub.ID+"/disable", url.Values{"csrf_token": {tok}})
	require.Equal(t, "/settings/dev/orgs/"+orgA+"/webhooks/"+sub.ID+"?notice=disabled", resp.Header.Get("Location"))
	resp, css := b.get("/settings/dev/static/style.css")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/css")
	require.Contains(t, css, "--accent")
}

// TestDisableNoticeMatchesBehaviour checks what Disable tells the user
// against what the library does: events published while a webhook is
// disabled are never delivered to it, not even after Enable, while the
// deliveries pending when it was disabled are sent once it is enabled.
func TestDisableNoticeMatchesBehaviour(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false) // the creation ping stays pending until Start
	sub := e.createSub("alice", orgA, "task.*")
	pending := e.onlyDelivery(sub.ID)
	b := e.browser("alice")
	page := "/orgs/" + orgA + "/webhooks/" + sub.ID
	tok := b.token(page)

	resp, _ := b.post(page+"/disable", url.Values{"csrf_token": {tok}})
	require.Equal(t, page+"?notice=disabled", resp.Header.Get("Location"))
	shown := b.mustGet(page + "?notice=disabled")
	require.Contains(t, shown, "Events published while it is disabled are not delivered to it, now or later.")
	require.Contains(t, shown, "Deliveries already pending are sent once it is enabled again.")
	require.NotContains(t, shown, "held")

	require.NoError(t, e.d.Publish(context.Background(), webhook.Event{
		Type: webhook.EventTaskCreated, OrganizationID: orgA, ProjectID: "proj_1",
		Data: []byte(`{"task":{"id":"task_1","title":"Ship it"}}`),
	}))
	created := func() []*webhook.Delivery {
		dls, _, err := e.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{
			OrganizationID: orgA, SubscriptionID: sub.ID, EventType: webhook.EventTaskCreated,
		})
		require.NoError(t, err)
		return dls
	}
	require.Empty(t, created(), "no delivery is made for an event published while disabled")

	resp, _ = b.post(page+"/enable", url.Values{"csrf_token": {tok}})
	require.Equal(t, page+"?notice=enabled", resp.Header.Get("Location"))
	require.NoError(t, e.d.Start(context.Background()))
	require.Equal(t, webhook.StateSucceeded, e.waitEnded(pending.ID).State, "the pending ping is sent after Enable")
	require.Empty(t, created(), "the event published while disabled is not sent after Enable either")
	req := <-e.rc.got
	require.Equal(t, string(webhook.EventPing), req.Header.Get(webhook.DefaultEventHeader))
	select {
	case r := <-e.rc.got:
		t.Fatalf("the receiver got another delivery: %s", r.Header.Get(webhook.DefaultEventHeader))
	default:
	}
}

// TestPortalPingShowsWhy checks that the result of Test Ping, and why a
// failed one failed, reaches the page, for an enabled webhook (whose ping
// is in the log) and for a disabled one (whose ping is not).
func TestPortalPingShowsWhy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	sub := e.createSub("alice", orgA)
	b := e.browser("alice")
	page := "/orgs/" + orgA + "/webhooks/" + sub.ID
	tok := b.token(page)
	e.rc.fail.Store(true)

	// Enabled: the ping is in the log, and the page links to it.
	resp, _ := b.post(page+"/ping", url.Values{"csrf_token": {tok}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, page+"?notice=ping-failed", resp.Header.Get("Location"))
	shown := b.mustGet(resp.Header.Get("Location"))
	require.Contains(t, shown, "Test ping failed")
	require.Contains(t, shown, "The endpoint answered 500 Internal Server Error.")
	require.Contains(t, shown, "receiver told to fail", "the response snippet")
	dls, _, err := e.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{SubscriptionID: sub.ID, State: webhook.StateFailed})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.Contains(t, shown, `<a href="/orgs/`+orgA+`/deliveries/`+dls[0].ID+`">See this attempt</a>`)

	// Disabled: the ping is sent but not recorded; the page says why it
	// failed all the same, and does not send the user to the log.
	resp, _ = b.post(page+"/disable", url.Values{"csrf_token": {tok}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = b.post(page+"/ping", url.Values{"csrf_token": {tok}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc := resp.Header.Get("Location")
	shown = b.mustGet(loc)
	require.Contains(t, shown, "Test ping failed")
	require.Contains(t, shown, "The endpoint answered 500 Internal Server Error.")
	require.Contains(t, shown, "receiver told to fail")
	require.Contains(t, shown, "not recorded in the delivery log")
	require.NotContains(t, shown, "see its attempt in the delivery log")
	dls, _, err = e.store.ListDeliveries(context.Background(), webhook.DeliveryQuery{SubscriptionID: sub.ID, State: webhook.StateFailed})
	require.NoError(t, err)
	require.Len(t, dls, 1, "nothing recorded for the disabled webhook's ping")

	// A reload shows the result no more (it was for that page view), and
	// still does not point at a log row that does not exist.
	shown = b.mustGet(loc)
	require.NotContains(t, shown, "receiver told to fail")
	require.NotContains(t, shown, "see its attempt in the delivery log")
	require.Contains(t, shown, "not recorded in the delivery log")
}

func TestAPIPingSaysWhetherRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	sub := e.createSub("alice", orgA)
	base := "/api/v1/orgs/" + orgA + "/subscriptions/" + sub.ID
	var got struct {
		Success  bool        `json:"success"`
		Recorded *bool       `json:"recorded"`
		Attempt  attemptJSON `json:"attempt"`
	}
	resp := e.call("alice", "POST", base+"/ping", nil, &got)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotNil(t, got.Recorded)
	require.True(t, *got.Recorded)
	_, err := e.store.GetDelivery(context.Background(), got.Attempt.DeliveryID)
	require.NoError(t, err)

	e.call("alice", "POST", base+"/disable", nil, nil)
	got.Recorded = nil
	resp = e.call("alice", "POST", base+"/ping", nil, &got)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, got.Success)
	require.NotNil(t, got.Recorded)
	require.False(t, *got.Recorded)
	_, err = e.store.GetDelivery(context.Background(), got.Attempt.DeliveryID)
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// TestPortalErrorPagesSayWhatToDo checks that each error page tells the
// visitor what happened in their terms and links to what to do next.
func TestPortalErrorPagesSayWhatToDo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) { c.SignInURL = "/login?next=%2Fsettings" })
	sub := e.createSub("alice", orgA)
	home := "/orgs/" + orgA + "/webhooks"
	backLink := `href="` + home + `">Back to webhooks</a>`
	signIn := `href="/login?next=%2Fsettings">Sign in</a>`
	tests := []struct {
		name     string
		user     string
		method   string
		path     string
		status   int
		contains []string
		not      []string
	}{
		{"not signed in", "", "GET", home, http.StatusUnauthorized,
			[]string{"Sign in to manage webhooks", "You are not signed in, or your session has ended.", signIn},
			[]string{"webhook.manage", backLink}},
		{"signed in without the permission", "carol", "GET", home, http.StatusForbidden,
			[]string{"You cannot manage webhooks in this organization", "webhook.manage", "Ask an administrator", `href="/login?next=%2Fsettings">Sign in with another account</a>`},
			[]string{"You are not signed in", backLink}},
		{"no such webhook", "alice", "GET", home + "/sub_missing", http.StatusNotFound,
			[]string{"There is no such webhook or delivery in this organization.", backLink}, nil},
		{"no such page", "alice", "GET", "/orgs/" + orgA + "/nothing", http.StatusNotFound,
			[]string{"Page not found", backLink}, nil},
		{"expired form", "alice", "POST", home + "/" + sub.ID + "/disable", http.StatusForbidden,
			[]string{"The form expired", backLink}, []string{"webhook.manage"}},
		{"bad cursor", "alice", "GET", home + "?limit=0", http.StatusBadRequest,
			[]string{backLink}, []string{"limit:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser(tc.user)
			var resp *http.Response
			var body string
			if tc.method == "POST" {
				resp, body = b.post(tc.path, url.Values{"csrf_token": {"expired"}})
			} else {
				resp, body = b.get(tc.path)
			}
			require.Equal(t, tc.status, resp.StatusCode)
			for _, s := range tc.contains {
				require.Contains(t, body, s)
			}
			for _, s := range tc.not {
				require.NotContains(t, body, s)
			}
		})
	}

	// Without a SignInURL, the 401 page offers to try again once signed in.
	e2 := newEnv(t, false)
	resp, body := e2.browser("").get(home + "?cursor=x")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, body, `href="`+home+`?cursor=x">Try again</a>`)
}

func TestNewRefusesBadSignInURL(t *testing.T) {
	t.Parallel()
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), nil)
	require.NoError(t, err)
	for _, u := range []string{"javascript:alert(1)", "login", "ftp://example.com/", "https://"} {
		_, err := New(Config{Dispatcher: d, Store: webhook.NewMemoryStore(), Authorizer: testAuthorizer, SignInURL: u})
		var ve *webhook.ValidationError
		require.ErrorAs(t, err, &ve, u)
		require.Equal(t, "SignInURL", ve.Field)
	}
	for _, u := range []string{"/login", "https://id.example.com/signin?next=%2F"} {
		_, err := New(Config{Dispatcher: d, Store: webhook.NewMemoryStore(), Authorizer: testAuthorizer, SignInURL: u})
		require.NoError(t, err, u)
	}
}

// TestPortalSpeaksPlainly checks the wording of the list, the webhook page
// and the delivery page: event choices, attempt errors, the payload and
// the way back to the webhook.
func TestPortalSpeaksPlainly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.rc.fail.Store(true)
	all := e.createSub("alice", orgA, "*")
	some := e.createSub("alice", orgA, "task.*", "milestone.completed")
	require.Equal(t, webhook.StateFailed, e.waitEnded(e.onlyDelivery(some.ID).ID).State)
	b := e.browser("alice")

	list := b.mustGet("/orgs/" + orgA + "/webhooks")
	require.Contains(t, list, "All events")
	require.Contains(t, list, "All task events")
	require.Contains(t, list, "<code class=\"tag\">milestone.completed</code>")
	require.NotContains(t, list, `<code class="tag">*</code>`)
	require.NotContains(t, list, `<code class="tag">task.*</code>`)

	subPage := "/orgs/" + orgA + "/webhooks/" + some.ID
	detail := b.mustGet(subPage)
	require.Contains(t, detail, "All task events")
	require.Contains(t, detail, "The endpoint answered 500 Internal Server Error.")
	require.NotContains(t, detail, "webhook: endpoint answered")
	require.Contains(t, b.mustGet("/orgs/"+orgA+"/webhooks/"+all.ID), "All events")

	ping := e.onlyDelivery(some.ID)
	delivery := b.mustGet("/orgs/" + orgA + "/deliveries/" + ping.ID)
	require.Contains(t, delivery, "The endpoint answered 500 Internal Server Error.")
	require.NotContains(t, delivery, "webhook: endpoint answered")
	host := strings.TrimPrefix(e.rc.srv.URL, "http://")
	require.Contains(t, delivery, `<a href="`+subPage+`">`+host+`</a>`, "the breadcrumb names the webhook")
	require.Contains(t, delivery, "{\n  &#34;delivery_id&#34;: &#34;"+ping.ID+"&#34;,\n", "the payload is indented")

	// A delivery whose webhook was deleted says so in its breadcrumb.
	resp := e.call("alice", "DELETE", "/api/v1/orgs/"+orgA+"/subscriptions/"+some.ID, nil, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Contains(t, b.mustGet("/orgs/"+orgA+"/deliveries/"+ping.ID), "deleted webhook")
}
