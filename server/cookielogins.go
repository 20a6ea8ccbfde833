package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/store"
)

// Cookie logins (ADR 011): every cookie-mode login is recorded in the
// store's sessions, as a small record owned by the user, named by a hash of
// the sealed cookie's id. The cookie still carries the name and the count,
// so a profile view reads the record but never writes it. Ending the record
// ends the login: logout, "log out everywhere" and `sessionkit sessions
// revoke` all reach cookie mode on its next request, and a user's logins
// of every kind are listed together.

// cookieLoginDomain separates a cookie login's store id from the ids of
// sessions (the plain hash of a session token) and refresh families (hashed
// with a prefix of their own).
const cookieLoginDomain = "sessionkit/server cookie login\x00"

// cookieLoginData is the Data of every cookie-login record: magic "SKCL"
// and a format byte. The login's state is in the cookie; the record only
// says that the login has not ended. Records are told apart by their Kind
// (store.KindCookieLogin), not by these bytes.
const cookieLoginData = "SKCL\x01"

// cookieIDBytes is the size of a sealed cookie's id, written as twice as
// many lowercase hex digits (see cookie.Value).
const cookieIDBytes = 16

// Kinds of login as listings name them (LoginKind).
const (
	KindSession     = "session"
	KindJWTLogin    = "JWT login"
	KindCookieLogin = "cookie login"
)

// LoginKind names, for people, the kind of login rec (one of a user's
// records in the store) is, from its store.Kind: KindJWTLogin for a refresh
// family (a JWT-mode or API login), KindCookieLogin for a cookie-mode
// login, KindSession for a server-side session, and the kind itself for
// any other.
func LoginKind(rec store.Record) string {
	switch rec.Kind {
	case store.KindRefreshFamily:
		return KindJWTLogin
	case store.KindCookieLogin:
		return KindCookieLogin
	case store.KindSession, "":
		return KindSession
	default:
		return string(rec.Kind)
	}
}

// cookieLoginID is the store id of the cookie login whose sealed value has
// the id cookieID.
func cookieLoginID(cookieID string) store.SessionID {
	return store.HashToken(cookieLoginDomain + cookieID)
}

// startCookieLogin records a new cookie-mode login of user and returns the
// value to seal into the browser's cookie: a new id, and the expiry the
// record has too. It fails when the store cannot be written.
func (s *Server) startCookieLogin(ctx context.Context, p auth.Proof, r *http.Request) (cookie.Value, error) {
	user := p.User.Name
	var raw [cookieIDBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return cookie.Value{}, fmt.Errorf("generating a cookie id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	// The cookie package keeps expiries to the second and uses the wall
	// clock; so does the record, so that both end together.
	now := time.Now()
	expires := time.Unix(now.Add(s.cfg.CookieLifetime).Unix(), 0)
	rec := store.Record{
		ID:        cookieLoginID(id),
		Kind:      store.KindCookieLogin,
		User:      user,
		AccountID: p.User.ID,
		AuthTime:  p.AuthTime,
		Data:      []byte(cookieLoginData),
		Created:   now,
		LastSeen:  now,
		Expires:   expires,
		UserAgent: store.ListedUserAgent(r.UserAgent()),
	}
	if _, err := s.backend.SaveSession(ctx, rec); err != nil {
		return cookie.Value{}, fmt.Errorf("recording the cookie login: %w", err)
	}
	return cookie.Value{Data: profileData{Username: user}.marshal(), ID: id, Expires: expires}, nil
}

// readCookieLogin returns the request's cookie-mode login: its sealed value
// and the profile in it. When there is no valid login it returns
// cookie.ErrNoCookie, cookie.ErrInvalid, cookie.ErrExpired, or
// cookie.ErrRevoked when the cookie is authentic but its login has ended
// (logout, "log out everywhere", revoked by an administrator); see
// isLoggedOut. Any other error means the store could not answer.
func (s *Server) readCookieLogin(ctx context.Context, r *http.Request) (cookie.Value, profileData, error) {
	v, err := s.sealed.Read(r)
	if errors.Is(err, cookie.ErrInvalid) && s.cookieKeys.reloadForUnknown(ctx) {
		// Perhaps sealed with a key another instance added since this one
		// last read the store.
		v, err = s.sealed.Read(r)
	}
	if err != nil {
		return cookie.Value{}, profileData{}, err
	}
	p, ok := unmarshalProfile(v.Data)
	if !ok {
		// Sealed by us but not a profile: a value from another version.
		return cookie.Value{}, profileData{}, cookie.ErrInvalid
	}
	rec, err := s.backend.Session(ctx, cookieLoginID(v.ID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return cookie.Value{}, profileData{}, cookie.ErrRevoked
	case err != nil:
		return cookie.Value{}, profileData{}, fmt.Errorf("reading the cookie login: %w", err)
	case rec.Kind != store.KindCookieLogin || store.FoldName(rec.User) != store.FoldName(p.Username):
		// Only a holder of the cookie key could seal such a value.
		return cookie.Value{}, profileData{}, cookie.ErrInvalid
	}
	switch _, err := s.accounts.CheckLogin(ctx, rec.User, rec.AccountID, rec.AuthTime); {
	case errors.Is(err, auth.ErrLoginEnded):
		// The account was deleted or its password changed: the login
		// ends here, for this cookie and every copy of it.
		if err := s.endCookieLogin(ctx, v); err != nil {
			return cookie.Value{}, profileData{}, err
		}
		return cookie.Value{}, profileData{}, fmt.Errorf("%w: %w", cookie.ErrRevoked, err)
	case err != nil:
		return cookie.Value{}, profileData{}, fmt.Errorf("checking the cookie login: %w", err)
	}
	return v, p, nil
}

// endCookieLogin deletes the record of the cookie login whose sealed value
// is v, so that neither the cookie nor any copy of it is accepted again.
// Ending a login that has already ended is not an error.
func (s *Server) endCookieLogin(ctx context.Context, v cookie.Value) error {
	if err := s.backend.DeleteSession(ctx, cookieLoginID(v.ID)); err != nil {
		return fmt.Errorf("ending the cookie login: %w", err)
	}
	return nil
}
