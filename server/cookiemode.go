package server

import (
	"errors"
	"net/http"
	"net/url"

	"sessionkit/cookie"
)

// Cookie mode: the user's data (name and count) lives in a sealed cookie.
// The server keeps nothing per user but a deny-list entry after logout, so a
// copy of the cookie cannot be replayed once the user has logged out.

func (s *Server) cookieLoginForm(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	_, err := s.sealed.Read(r.WithContext(ctx))
	if err == nil {
		http.Redirect(w, r, "/cookie/profile", http.StatusSeeOther)
		return
	}
	if !isLoggedOut(err) {
		s.unavailable(w, r, "reading the cookie", err)
		return
	}
	s.render(w, http.StatusOK, "login", "Log in: sealed cookie", loginPage{Action: loginAction("/cookie/login", r)})
}

// cookieLogin checks the credentials and, when they are right, seals the
// user's name and a count of zero into a new cookie with a new id.
func (s *Server) cookieLogin(w http.ResponseWriter, r *http.Request) {
	c, ok := s.login(w, r, "/cookie/login", "Log in: sealed cookie")
	if !ok {
		return
	}
	data := profileData{Username: c.Name}.marshal()
	if err := s.sealed.Write(w, r, cookie.Value{Data: data}); err != nil {
		// The name is at most 64 bytes: a too-large value is a bug.
		s.log.Error("sealing the login cookie", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, nextPath(r, "/cookie/profile"), http.StatusSeeOther)
}

// cookieProfile opens the cookie, counts the view, and seals the new count
// back with the same id and expiry. Anything but a valid cookie sends the
// browser to the login page.
func (s *Server) cookieProfile(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	v, err := s.sealed.Read(r.WithContext(ctx))
	if err != nil {
		if isLoggedOut(err) {
			s.toLogin(w, r, "/cookie/login", err)
			return
		}
		s.unavailable(w, r, "reading the cookie", err)
		return
	}
	p, ok := unmarshalProfile(v.Data)
	if !ok {
		// Sealed by us but not a profile: a value from another version.
		s.toLogin(w, r, "/cookie/login", cookie.ErrInvalid)
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
		s.log.Error("sealing the profile cookie", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	noStore(w)
	s.renderProfile(w, "Profile: sealed cookie", profilePage{
		Username: p.Username, Count: p.Count, LogoutHref: "/cookie/logout",
	})
}

func (s *Server) cookieLogoutForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "logout", "Log out: sealed cookie", logoutPage{Action: "/cookie/logout"})
}

// cookieLogout deny-lists the cookie's id until the cookie would have
// expired, then clears it. If the deny list cannot be written the cookie is
// kept and the answer is 503, so the user can try again: clearing it alone
// would leave copies of it valid.
func (s *Server) cookieLogout(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	if err := s.sealed.Revoke(w, r.WithContext(ctx)); err != nil {
		s.unavailable(w, r, "revoking the cookie", err)
		return
	}
	s.log.Info("logged out", "mode", "cookie", "client", s.clientAddr(r))
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
		s.log.Info("cookie refused", "reason", why.Error(), "client", s.clientAddr(r))
	}
	http.Redirect(w, r, loginPath+"?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
}
