package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/token"
)

// JWT mode: the browser holds two HttpOnly cookies, a short-lived signed
// access token (Path=/) and an opaque refresh token (Path=/jwt/refresh, so
// it travels only to the one route that spends it). A page whose access
// token has expired sends the browser through /jwt/refresh, which rotates
// the pair and sends it back. The profile's count lives in the store, with
// the login's refresh family.

const (
	accessCookie  = "sk_access"
	refreshCookie = "sk_refresh"
	refreshPath   = "/jwt/refresh"
	jwtLoginPath  = "/jwt/login"
	jwtProfile    = "/jwt/profile"
	jwtLoginTitle = "Log in: JWT"
)

func (s *Server) jwtRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /jwt/login", s.jwtLoginForm)
	mux.HandleFunc("POST /jwt/login", s.jwtLogin)
	mux.HandleFunc("GET /jwt/profile", s.jwtProfile)
	mux.HandleFunc("GET "+refreshPath, s.jwtRefresh)
	mux.HandleFunc("GET /jwt/logout", s.jwtLogoutForm)
	mux.HandleFunc("POST /jwt/logout", s.jwtLogout)
}

func (s *Server) jwtLoginForm(w http.ResponseWriter, r *http.Request) {
	if access := s.cookieValue(r, s.accessCookieName(r)); access != "" {
		ctx, cancel := s.storeContext(r)
		defer cancel()
		_, err := s.tokens.check(ctx, access)
		switch {
		case err == nil, errors.Is(err, token.ErrExpired):
			// Logged in (or about to be, after a refresh): the profile
			// page takes it from here.
			http.Redirect(w, r, jwtProfile, http.StatusSeeOther)
			return
		case !isRejected(err):
			s.unavailable(w, r, "checking the access token", err)
			return
		}
	}
	s.render(w, http.StatusOK, "login", jwtLoginTitle, newLoginPage(jwtLoginPath, r))
}

// jwtLogin checks the credentials and, when they are right, starts the
// JWT-mode login.
func (s *Server) jwtLogin(w http.ResponseWriter, r *http.Request) {
	p, ok := s.login(w, r, jwtLoginPath, jwtLoginTitle)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	if err := s.startJWTMode(ctx, w, r, p); err != nil {
		s.unavailable(w, r, "starting a login", err)
		return
	}
	http.Redirect(w, r, nextPath(r, jwtProfile), http.StatusSeeOther)
}

// startJWTMode starts a new login (refresh family) for p and sets both
// cookies. A login this browser had before ends: its tokens are revoked.
// It fails with the store's error, and then sets no cookie.
func (s *Server) startJWTMode(ctx context.Context, w http.ResponseWriter, r *http.Request, p auth.Proof) error {
	if old := s.cookieValue(r, s.accessCookieName(r)); old != "" {
		c, err := s.tokens.verifier.Verify(ctx, old)
		if err == nil || errors.Is(err, token.ErrExpired) {
			err := s.tokens.revoke(ctx, c)
			if err != nil && !isRejected(err) {
				return fmt.Errorf("ending the previous login: %w", err)
			}
			if err == nil {
				s.log.InfoContext(r.Context(), "previous login revoked", "mode", "jwt", "user", c.Subject, "client", s.clientAddr(r))
				s.metrics.tokenRevoked(modeJWT, endRelogin)
			}
		}
	}
	s.makeRoomForLogin(ctx, p.User)
	pr, err := s.tokens.login(ctx, p, r.UserAgent())
	if err != nil {
		return err
	}
	s.metrics.tokenLogin(modeJWT)
	s.setTokenCookies(w, r, pr)
	return nil
}

// jwtProfile verifies the access token, counts the view in the login's
// family and shows the count. An expired access token goes through
// /jwt/refresh; anything else that is not a valid login goes to the login
// page, with the cookies cleared.
func (s *Server) jwtProfile(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	c, ok := s.jwtAuthenticate(ctx, w, r)
	if !ok {
		return
	}
	count, err := s.tokens.countView(ctx, c)
	if err != nil {
		if isRejected(err) {
			s.jwtToLogin(w, r, err)
			return
		}
		s.unavailable(w, r, "counting the view", err)
		return
	}
	noStore(w)
	s.renderProfile(w, "Profile: JWT", profilePage{
		Username: c.Subject, Count: count, LogoutHref: "/jwt/logout",
	})
}

// jwtAuthenticate returns the claims of the request's access token. When
// there is no valid one it answers (a redirect to refresh or to log in, or
// 503) and returns false. It checks the signature, the claims and the deny
// list; the caller's own store access checks that the login has not
// ended. The deny list is read although the family's end refuses a
// logged-out token too (see tokens.signatures): the profile then writes
// its count without reading the family first, and a store that hangs must
// fail the request on a read, before a write is sent that it would apply
// later, after the request answered 503 ("nothing was changed").
func (s *Server) jwtAuthenticate(ctx context.Context, w http.ResponseWriter, r *http.Request) (token.Claims, bool) {
	access := s.cookieValue(r, s.accessCookieName(r))
	if access == "" {
		http.Redirect(w, r, jwtLoginPath+"?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return token.Claims{}, false
	}
	c, err := s.tokens.verifier.Verify(ctx, access)
	switch {
	case err == nil:
		return c, true
	case errors.Is(err, token.ErrExpired):
		http.Redirect(w, r, refreshPath+"?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
	case isRejected(err):
		s.jwtToLogin(w, r, err)
	default:
		s.unavailable(w, r, "checking the access token", err)
	}
	return token.Claims{}, false
}

// jwtRefresh spends the refresh token for a new pair and sends the browser
// back to next. A refresh token that is missing, unknown, expired or
// revoked sends it to the login page; one that was already spent ends its
// whole login (another client holds a copy).
func (s *Server) jwtRefresh(w http.ResponseWriter, r *http.Request) {
	next := nextPath(r, jwtProfile)
	refresh := s.cookieValue(r, s.refreshCookieName(r))
	if refresh == "" {
		s.clearTokenCookies(w, r)
		http.Redirect(w, r, jwtLoginPath+"?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	p, err := s.tokens.refresh(ctx, refresh)
	if err != nil {
		if !isRejected(err) {
			s.unavailable(w, r, "refreshing the tokens", err)
			return
		}
		s.refreshRefused(r, p.family.User, err)
		s.clearTokenCookies(w, r)
		http.Redirect(w, r, jwtLoginPath+"?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	s.metrics.tokenRefresh(modeJWT)
	s.setTokenCookies(w, r, p)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// refreshRefused logs why a refresh token was refused; a reused one is a
// security event (a copy of it is in someone else's hands), logged with
// the user whose login it revoked.
func (s *Server) refreshRefused(r *http.Request, user string, err error) {
	if errors.Is(err, token.ErrReused) {
		s.log.WarnContext(r.Context(), "refresh token reused: login revoked", "user", user, "client", s.clientAddr(r), "reason", err.Error())
		s.metrics.refreshReused(modeOf(r))
		return
	}
	s.log.InfoContext(r.Context(), "refresh token refused", "client", s.clientAddr(r), "reason", err.Error())
}

func (s *Server) jwtLogoutForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "logout", "Log out: JWT", logoutPage{Action: "/jwt/logout"})
}

// jwtLogout ends the login the access token belongs to (even an expired
// one: its signature still proves which login it is), then clears both
// cookies. If the store cannot be written the cookies are kept and the
// answer is 503, so the user can try again.
func (s *Server) jwtLogout(w http.ResponseWriter, r *http.Request) {
	if access := s.cookieValue(r, s.accessCookieName(r)); access != "" {
		ctx, cancel := s.storeContext(r)
		defer cancel()
		c, err := s.tokens.verifier.Verify(ctx, access)
		switch {
		case err == nil || errors.Is(err, token.ErrExpired):
			if err := s.tokens.revoke(ctx, c); err != nil && !isRejected(err) {
				s.unavailable(w, r, "revoking the tokens", err)
				return
			}
			s.log.InfoContext(r.Context(), "logged out", "mode", "jwt", "user", c.Subject, "client", s.clientAddr(r))
			s.metrics.tokenRevoked(modeJWT, endLogout)
		case !isRejected(err):
			s.unavailable(w, r, "checking the access token", err)
			return
		}
	}
	s.clearTokenCookies(w, r)
	http.Redirect(w, r, jwtLoginPath, http.StatusSeeOther)
}

// jwtToLogin clears the token cookies and sends the browser to log in,
// keeping the page it wanted.
func (s *Server) jwtToLogin(w http.ResponseWriter, r *http.Request, why error) {
	s.log.InfoContext(r.Context(), "access token refused", "reason", why.Error(), "client", s.clientAddr(r))
	s.clearTokenCookies(w, r)
	http.Redirect(w, r, jwtLoginPath+"?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
}

func (s *Server) accessCookieName(r *http.Request) string {
	return s.cfg.Cookies.Name(accessCookie, r)
}

// refreshCookieName is the refresh cookie's name: "__Secure-" prefixed when
// cookies are Secure ("__Host-" requires Path=/, and this cookie's path is
// the refresh route).
func (s *Server) refreshCookieName(r *http.Request) string {
	if s.cfg.Cookies.IsSecure(r) {
		return "__Secure-" + refreshCookie
	}
	return refreshCookie
}

// cookieValue returns the value of the request's cookie name, or "".
func (s *Server) cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// setTokenCookies sets both cookies of a pair. They last as long as the
// login may (the family's expiry), so that an expired access token still
// reaches the server and can be refreshed; the token inside expires sooner.
func (s *Server) setTokenCookies(w http.ResponseWriter, r *http.Request, p pair) {
	maxAge := int(p.family.Expires.Sub(s.cfg.Now()) / time.Second)
	if maxAge < 1 {
		maxAge = 1
	}
	secure := s.cfg.Cookies.IsSecure(r)
	http.SetCookie(w, &http.Cookie{
		Name: s.accessCookieName(r), Value: p.access, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
	http.SetCookie(w, &http.Cookie{
		Name: s.refreshCookieName(r), Value: p.refresh, Path: refreshPath, MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// clearTokenCookies removes both cookies.
func (s *Server) clearTokenCookies(w http.ResponseWriter, r *http.Request) {
	secure := s.cfg.Cookies.IsSecure(r)
	http.SetCookie(w, &http.Cookie{
		Name: s.accessCookieName(r), Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
	http.SetCookie(w, &http.Cookie{
		Name: s.refreshCookieName(r), Path: refreshPath, MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}
