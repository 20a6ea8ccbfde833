package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/cookie"
)

// Cookie mode: the user's data (name and count) lives in a sealed cookie.
// The server keeps one small record per login (see cookielogins.go), read
// on each request and never written by a view: logout, "log out
// everywhere" and an administrator's revocation delete it, so neither the
// cookie nor a copy of it is accepted afterwards.

func (s *Server) cookieLoginForm(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	_, _, err := s.readCookieLogin(ctx, r)
	if err == nil {
		http.Redirect(w, r, "/cookie/profile", http.StatusSeeOther)
		return
	}
	if !isLoggedOut(err) {
		s.unavailable(w, r, "reading the cookie", err)
		return
	}
	s.render(w, http.StatusOK, "login", "Log in: sealed cookie", newLoginPage("/cookie/login", r))
}

// cookieLogin checks the credentials and, when they are right, starts the
// cookie-mode login. If the store cannot be written the answer is 503 and
// no cookie is set.
func (s *Server) cookieLogin(w http.ResponseWriter, r *http.Request) {
	p, ok := s.login(w, r, "/cookie/login", "Log in: sealed cookie")
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	if err := s.startCookieMode(ctx, w, r, p); err != nil {
		if errors.Is(err, errSealing) {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.unavailable(w, r, "starting a login", err)
		return
	}
	http.Redirect(w, r, nextPath(r, "/cookie/profile"), http.StatusSeeOther)
}

// errSealing reports a login cookie that could not be sealed: a bug, as
// its value is small and fixed in shape.
var errSealing = errors.New("sealing the login cookie failed")

// startCookieMode ends the cookie login this browser had, records a new
// one for p and seals the user's name and a count of zero into a new
// cookie with the new login's id. It fails with the store's error, or
// errSealing, and then sets no cookie.
func (s *Server) startCookieMode(ctx context.Context, w http.ResponseWriter, r *http.Request, p auth.Proof) error {
	if old, err := s.sealed.Read(r); err == nil {
		if err := s.endCookieLogin(ctx, old); err != nil {
			return fmt.Errorf("ending the previous login: %w", err)
		}
	}
	s.makeRoomForLogin(ctx, p.User)
	v, err := s.startCookieLogin(ctx, p, r)
	if err != nil {
		return err
	}
	if err := s.sealed.Write(w, r, v); err != nil {
		s.log.ErrorContext(r.Context(), "sealing the login cookie", "err", err)
		_ = s.endCookieLogin(ctx, v) // best effort: the record expires anyway
		return errSealing
	}
	s.metrics.sessionCreated(modeCookie)
	return nil
}

// cookieProfile opens the cookie, checks that its login has not ended,
// counts the view, and seals the new count back with the same id and
// expiry. Anything but a valid login sends the browser to the login page.
func (s *Server) cookieProfile(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	v, p, err := s.readCookieLogin(ctx, r)
	if err != nil {
		if isLoggedOut(err) {
			s.toLogin(w, r, "/cookie/login", err)
			return
		}
		s.unavailable(w, r, "reading the cookie", err)
		return
	}
	p.Count++
	v.Data = p.marshal()
	if err := s.sealed.Write(w, r, v); err != nil {
		if errors.Is(err, cookie.ErrExpired) {
			// It expired between Read and Write, at the turn of a second.
			s.toLogin(w, r, "/cookie/login", err)
			return
		}
		s.log.ErrorContext(r.Context(), "sealing the profile cookie", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	noStore(w)
	s.render(w, http.StatusOK, "profile", "Profile: sealed cookie", profilePage{
		Username: p.Username, Count: p.Count, LogoutHref: "/cookie/logout",
	})
}

func (s *Server) cookieLogoutForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "logout", "Log out: sealed cookie", logoutPage{Action: "/cookie/logout"})
}

// cookieLogout ends the cookie's login (its record is deleted, so copies
// of the cookie are refused too), then clears the cookie. If the store
// cannot be written the cookie is kept and the answer is 503, so the user
// can try again: clearing it alone would leave copies of it valid.
func (s *Server) cookieLogout(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	v, p, err := s.readCookieLogin(ctx, r)
	switch {
	case err == nil:
		if err := s.endCookieLogin(ctx, v); err != nil {
			s.unavailable(w, r, "ending the login", err)
			return
		}
		s.log.InfoContext(r.Context(), "logged out", "mode", "cookie", "user", p.Username, "client", s.clientAddr(r))
		s.metrics.sessionsDestroyed(modeCookie, endLogout, 1)
	case !isLoggedOut(err):
		// Could not tell whether the login has ended: keep the cookie so
		// the user can try again.
		s.unavailable(w, r, "reading the cookie", err)
		return
	}
	s.sealed.Clear(w, r)
	http.Redirect(w, r, "/cookie/login", http.StatusSeeOther)
}

// isLoggedOut reports whether a cookie.Read error means "no valid login"
// rather than "could not check".
func isLoggedOut(err error) bool {
	return errors.Is(err, cookie.ErrNoCookie) || errors.Is(err, cookie.ErrInvalid) ||
		errors.Is(err, cookie.ErrExpired) || errors.Is(err, cookie.ErrRevoked)
}

// toLogin sends the browser to the login page, clearing a cookie that was
// present but not valid, and keeps the page it wanted in next.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request, loginPath string, why error) {
	if !errors.Is(why, cookie.ErrNoCookie) {
		s.sealed.Clear(w, r)
		s.log.InfoContext(r.Context(), "cookie refused", "reason", why.Error(), "client", s.clientAddr(r))
	}
	if errors.Is(why, cookie.ErrExpired) {
		s.metrics.sessionsDestroyed(modeCookie, endExpired, 1)
	}
	redirectWithNext(w, r, loginPath, r.URL.Path)
}
