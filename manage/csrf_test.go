package manage

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

func TestCSRFRejectsForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	sub := e.createSub("alice", orgA)
	page := "/orgs/" + orgA + "/webhooks/" + sub.ID
	b := e.browser("alice")
	tok := b.token(page)
	other := e.browser("alice")
	otherTok := other.token(page) // valid, but for another cookie

	tests := []struct {
		name    string
		client  *browser
		token   string
		headers map[string]string
		status  int
	}{
		{"valid", b, tok, nil, http.StatusSeeOther},
		{"no token", b, "", nil, http.StatusForbidden},
		{"garbage token", b, "AAAA", nil, http.StatusForbidden},
		{"token of another cookie", b, otherTok, nil, http.StatusForbidden},
		{"no cookie", e.browser("alice"), tok, nil, http.StatusForbidden},
		{"cross-site fetch", b, tok, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-site but not same-origin", b, tok, map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"foreign Origin", b, tok, map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			if tc.token != "" {
				form.Set(csrfField, tc.token)
			}
			req, err := http.NewRequest("POST", e.srv.URL+page+"/disable", strings.NewReader(form.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			for k, v := range tc.headers {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, body := tc.client.do(req)
			require.Equal(t, tc.status, resp.StatusCode, body)
			if tc.status == http.StatusForbidden {
				require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
			}
		})
	}
	// The valid form went through.
	got, err := e.store.GetSubscription(context.Background(), sub.ID)
	require.NoError(t, err)
	require.True(t, got.Disabled)
}

func TestCSRFCrossOriginAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	path := "/api/v1/orgs/" + orgA + "/subscriptions"
	body := `{"url":"` + e.rc.srv.URL + `","event_types":["*"]}`
	tests := []struct {
		name   string
		site   string
		status int
		code   ErrorCode
	}{
		{"server to server (no browser headers)", "", http.StatusCreated, ""},
		{"same origin", "same-origin", http.StatusCreated, ""},
		{"cross site", "cross-site", http.StatusForbidden, CodeCrossOrigin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Test-User", "alice")
			if tc.site != "" {
				req.Header.Set("Sec-Fetch-Site", tc.site)
			}
			resp, err := e.srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.code != "" {
				var got apiErr
				require.NoError(t, decodeBody(resp, &got))
				require.Equal(t, tc.code, got.Error.Code)
			}
		})
	}
}

func TestCSRFCookieAttributes(t *testing.T) {
	t.Parallel()
	g := newCSRFGuard(make([]byte, 32), true)
	rec := httptest.NewRecorder()
	tok := g.token(rec, httptest.NewRequest("GET", "/", nil))
	require.NotEmpty(t, tok)
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	require.Equal(t, "__Host-webhook-csrf", c.Name)
	require.True(t, c.Secure)
	require.True(t, c.HttpOnly)
	require.Equal(t, "/", c.Path)
	require.NotEqual(t, c.Value, tok, "the form token is not the cookie")

	// A request that has the cookie keeps it and gets the same token.
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(c)
	rec = httptest.NewRecorder()
	require.Equal(t, tok, g.token(rec, req))
	require.Empty(t, rec.Result().Cookies())

	// Another key does not accept the token.
	form := url.Values{csrfField: {tok}}
	post := httptest.NewRequest("POST", "/", strings.NewReader(form.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.AddCookie(c)
	require.NoError(t, g.check(post))
	post = httptest.NewRequest("POST", "/", strings.NewReader(form.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.AddCookie(c)
	require.ErrorIs(t, newCSRFGuard([]byte(strings.Repeat("k", 32)), true).check(post), errCSRF)
}

func TestSecretFlash(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 27, 9, 0, 0, 0, time.UTC)
	f := newSecretFlash(make([]byte, 32), true)
	const secret = webhook.Secret("whsec_c2VjcmV0")
	seal := func() *http.Cookie {
		rec := httptest.NewRecorder()
		f.set(rec, "/orgs/a/webhooks/sub_1", "sub_1", []byte(secret), now)
		c := rec.Result().Cookies()[0]
		require.Equal(t, "/orgs/a/webhooks/sub_1", c.Path)
		require.True(t, c.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, c.SameSite)
		require.NotContains(t, c.Value, "c2VjcmV0", "sealed, not encoded")
		return c
	}
	tests := []struct {
		name   string
		cookie func() *http.Cookie
		sub    string
		at     time.Time
		ok     bool
	}{
		{"opens", seal, "sub_1", now, true},
		{"another subscription", seal, "sub_2", now, false},
		{"expired", seal, "sub_1", now.Add(flashTTL + time.Second), false},
		{"tampered", func() *http.Cookie {
			c := seal()
			b := []byte(c.Value)
			b[len(b)/2] ^= 1
			c.Value = string(b)
			return c
		}, "sub_1", now, false},
		{"not base64", func() *http.Cookie { return &http.Cookie{Name: f.cookieName(), Value: "!!"} }, "sub_1", now, false},
		{"short", func() *http.Cookie { return &http.Cookie{Name: f.cookieName(), Value: "AAAA"} }, "sub_1", now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(tc.cookie())
			rec := httptest.NewRecorder()
			got, ok := f.take(rec, req, "/orgs/a/webhooks/"+tc.sub, tc.sub, tc.at)
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, secret, webhook.Secret(got))
			}
			cleared := rec.Result().Cookies()
			require.Len(t, cleared, 1, "the cookie is deleted whatever it held")
			require.Equal(t, -1, cleared[0].MaxAge)
		})
	}
}
