package manage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
)

func TestDefaultMatrix(t *testing.T) {
	t.Parallel()
	m := DefaultMatrix()
	tests := []struct {
		role webhook.Role
		want bool
	}{
		{webhook.RoleOwner, true},
		{webhook.RoleAdmin, true},
		{webhook.RoleMember, false},
		{webhook.RoleViewer, false},
		{"", false},
		{"admin", false}, // roles are case-sensitive constants
	}
	for _, tc := range tests {
		t.Run(string(tc.role), func(t *testing.T) {
			require.Equal(t, tc.want, m.Allows(tc.role, PermissionManage))
		})
	}
	require.False(t, m.Allows(webhook.RoleOwner, "webhook.unknown"), "unknown permissions are held by no one")
}

func TestRoleAuthorizer(t *testing.T) {
	t.Parallel()
	dbDown := errors.New("db down")
	tests := []struct {
		name   string
		auth   *RoleAuthorizer
		target error // nil: allowed
	}{
		{"admin", &RoleAuthorizer{RoleOf: fixedRole(webhook.RoleAdmin, nil)}, nil},
		{"member", &RoleAuthorizer{RoleOf: fixedRole(webhook.RoleMember, nil)}, ErrForbidden},
		{"not a member", &RoleAuthorizer{RoleOf: fixedRole("", nil)}, ErrForbidden},
		{"unauthenticated", &RoleAuthorizer{RoleOf: fixedRole("", ErrUnauthenticated)}, ErrUnauthenticated},
		{"role lookup fails", &RoleAuthorizer{RoleOf: fixedRole(webhook.RoleOwner, dbDown)}, dbDown},
		{"no RoleOf", &RoleAuthorizer{}, errors.New("any")},
		{"loosened matrix", &RoleAuthorizer{
			RoleOf:   fixedRole(webhook.RoleMember, nil),
			MatrixOf: fixedMatrix(PermissionMatrix{PermissionManage: webhook.RoleMember}, nil),
		}, nil},
		{"tightened matrix", &RoleAuthorizer{
			RoleOf:   fixedRole(webhook.RoleAdmin, nil),
			MatrixOf: fixedMatrix(PermissionMatrix{PermissionManage: webhook.RoleOwner}, nil),
		}, ErrForbidden},
		{"nil matrix means default", &RoleAuthorizer{
			RoleOf:   fixedRole(webhook.RoleAdmin, nil),
			MatrixOf: fixedMatrix(nil, nil),
		}, nil},
		{"matrix lookup fails", &RoleAuthorizer{
			RoleOf:   fixedRole(webhook.RoleOwner, nil),
			MatrixOf: fixedMatrix(nil, dbDown),
		}, dbDown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.auth.Authorize(httptest.NewRequest("GET", "/", nil), "org_1", PermissionManage)
			switch {
			case tc.target == nil:
				require.NoError(t, err)
			case tc.target.Error() == "any":
				require.Error(t, err)
			default:
				require.ErrorIs(t, err, tc.target)
			}
		})
	}
}

func fixedRole(r webhook.Role, err error) func(*http.Request, string) (webhook.Role, error) {
	return func(*http.Request, string) (webhook.Role, error) { return r, err }
}

func fixedMatrix(m PermissionMatrix, err error) func(context.Context, string) (PermissionMatrix, error) {
	return func(context.Context, string) (PermissionMatrix, error) { return m, err }
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	d, err := webhook.NewDispatcher(webhook.NewMemoryStore(), nil)
	require.NoError(t, err)
	store := webhook.NewMemoryStore()
	ok := Config{Dispatcher: d, Store: store, Authorizer: testAuthorizer}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"valid", func(*Config) {}, ""},
		{"no dispatcher", func(c *Config) { c.Dispatcher = nil }, "Dispatcher"},
		{"no store", func(c *Config) { c.Store = nil }, "Store"},
		{"no authorizer", func(c *Config) { c.Authorizer = nil }, "Authorizer"},
		{"short key", func(c *Config) { c.CookieKey = []byte("short") }, "CookieKey"},
		{"relative base path", func(c *Config) { c.BasePath = "settings" }, "BasePath"},
		{"base path with quote", func(c *Config) { c.BasePath = `/a"b` }, "BasePath"},
		{"negative body cap", func(c *Config) { c.MaxBodyBytes = -1 }, "MaxBodyBytes"},
		{"bad trusted origin", func(c *Config) { c.TrustedOrigins = []string{"not an origin"} }, "TrustedOrigins"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			h, err := New(c)
			if tc.field == "" {
				require.NoError(t, err)
				require.NotNil(t, h)
				return
			}
			var ve *webhook.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Field)
		})
	}
}
