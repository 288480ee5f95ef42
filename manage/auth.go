package manage

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/onplana/webhook/onplana"
)

// Permission names an action a caller may be allowed to take in an
// organization.
type Permission string

// PermissionManage is the seed's webhook.manage: it allows every call of the
// Handler, reading the delivery log included.
const PermissionManage Permission = "webhook.manage"

// Errors an Authorizer returns. Any other non-nil error also denies the
// request (with 403); these two choose the status and the error code.
var (
	// ErrUnauthenticated means the request carries no valid identity: the
	// Handler answers 401.
	ErrUnauthenticated = errors.New("manage: not authenticated")
	// ErrForbidden means the caller is known but lacks the permission in
	// that organization: the Handler answers 403.
	ErrForbidden = errors.New("manage: permission denied")
)

// Authorizer decides whether the caller of a request holds a permission in
// an organization. The host application implements it on top of its own
// authentication (a session cookie, a bearer token), typically by reading
// the user its middleware stored in r.Context().
//
// Authorize returns nil to allow. It must return an error, never nil, when
// it cannot tell (a database error denies). The error's text is logged by
// the Handler but never shown to the caller. Authorize is called once per
// request, before the Handler reads the organization's data, and must be
// safe for concurrent use.
type Authorizer interface {
	Authorize(r *http.Request, organizationID string, perm Permission) error
}

// AuthorizerFunc adapts a function to the Authorizer interface.
type AuthorizerFunc func(r *http.Request, organizationID string, perm Permission) error

// Authorize calls f(r, organizationID, perm).
func (f AuthorizerFunc) Authorize(r *http.Request, organizationID string, perm Permission) error {
	return f(r, organizationID, perm)
}

// PermissionMatrix gives, for each permission, the lowest role that holds
// it: the seed's Org Settings → Permission Matrix. A permission missing
// from the matrix is held by no role.
type PermissionMatrix map[Permission]onplana.Role

// DefaultMatrix returns the default matrix: webhook.manage for ADMIN and
// above. The caller may modify the returned map.
func DefaultMatrix() PermissionMatrix {
	return PermissionMatrix{PermissionManage: onplana.RoleAdmin}
}

// Allows reports whether role holds perm under m. An unknown role holds
// nothing.
func (m PermissionMatrix) Allows(role onplana.Role, perm Permission) bool {
	min, ok := m[perm]
	return ok && role.AtLeast(min)
}

// RoleAuthorizer is an Authorizer for hosts whose users have one role per
// organization: it looks the caller's role up and checks it against a
// permission matrix, which an organization may tighten or loosen.
type RoleAuthorizer struct {
	// RoleOf returns the caller's role in the organization. It returns
	// ErrUnauthenticated when the request has no identity, and an empty
	// role (or ErrForbidden) when the caller is not a member. Required.
	RoleOf func(r *http.Request, organizationID string) (onplana.Role, error)
	// MatrixOf returns the organization's permission matrix. Nil means
	// DefaultMatrix for every organization; a nil matrix returned also
	// means DefaultMatrix.
	MatrixOf func(ctx context.Context, organizationID string) (PermissionMatrix, error)
}

// Authorize implements Authorizer. It returns ErrUnauthenticated or an error
// wrapping ErrForbidden when the caller is denied, and RoleOf's or
// MatrixOf's error when one fails.
func (a *RoleAuthorizer) Authorize(r *http.Request, organizationID string, perm Permission) error {
	if a == nil || a.RoleOf == nil {
		return errors.New("manage: RoleAuthorizer.RoleOf is not set")
	}
	role, err := a.RoleOf(r, organizationID)
	if err != nil {
		return err
	}
	m := DefaultMatrix()
	if a.MatrixOf != nil {
		got, err := a.MatrixOf(r.Context(), organizationID)
		if err != nil {
			return fmt.Errorf("manage: permission matrix of %s: %w", organizationID, err)
		}
		if got != nil {
			m = got
		}
	}
	if !m.Allows(role, perm) {
		return fmt.Errorf("%w: role %q lacks %s", ErrForbidden, role, perm)
	}
	return nil
}

var (
	_ Authorizer = (*RoleAuthorizer)(nil)
	_ Authorizer = AuthorizerFunc(nil)
)
