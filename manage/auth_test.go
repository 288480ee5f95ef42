package manage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

func TestDefaultMatrix(t *testing.T) {
	t.Parallel()
	m := DefaultMatrix()
	tests := []struct {
		role onplana.Role
		want bool
	}{
		{onplana.RoleOwner, true},
		{onplana.RoleAdmin, true},
		{onplana.RoleMember, false},
		{onplana.RoleViewer, false},
		{"", false},
		{"admin", false}, // roles are case-sensitive constants
	}
	for _, tc := range tests {
		t.Run(string(tc.role), func(t *testing.T) {
			require.Equal(t, tc.want, m.Allows(tc.role, PermissionManage))
		})
	}
	require.False(t, m.Allows(onplana.RoleOwner, "webhook.unknown"), "unknown permissions are held by no one")
}

func TestRoleAuthorizer(t *testing.T) {
	t.Parallel()
	dbDown := errors.New("db down")
	tests := []struct {
		name   string
		auth   *RoleAuthorizer
		target error // nil: allowed
	}{
		{"admin", &RoleAuthorizer{RoleOf: fixedRole(onplana.RoleAdmin, nil)}, nil},
		{"member", &RoleAuthorizer{RoleOf: fixedRole(onplana.RoleMember, nil)}, ErrForbidden},
		{"not a member", &RoleAuthorizer{RoleOf: fixedRole("", nil)}, ErrForbidden},
		{"unauthenticated", &RoleAuthorizer{RoleOf: fixedRole("", ErrUnauthenticated)}, ErrUnauthenticated},
		{"role lookup fails", &RoleAuthorizer{RoleOf: fixedRole(onplana.RoleOwner, dbDown)}, dbDown},
		{"no RoleOf", &RoleAuthorizer{}, errors.New("any")},
		{"loosened matrix", &RoleAuthorizer{
			RoleOf:   fixedRole(onplana.RoleMember, nil),
			MatrixOf: fixedMatrix(PermissionMatrix{PermissionManage: onplana.RoleMember}, nil),
		}, nil},
		{"tightened matrix", &RoleAuthorizer{
			RoleOf:   fixedRole(onplana.RoleAdmin, nil),
			MatrixOf: fixedMatrix(PermissionMatrix{PermissionManage: onplana.RoleOwner}, nil),
		}, ErrForbidden},
		{"nil matrix means default", &RoleAuthorizer{
			RoleOf:   fixedRole(onplana.RoleAdmin, nil),
			MatrixOf: fixedMatrix(nil, nil),
		}, nil},
		{"matrix lookup fails", &RoleAuthorizer{
			RoleOf:   fixedRole(onplana.RoleOwner, nil),
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

func fixedRole(r onplana.Role, err error) func(*http.Request, string) (onplana.Role, error) {
	return func(*http.Request, string) (onplana.Role, error) { return r, err }
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
