package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/token"
)

// JWT mode: the browser holds two HttpOnly cookies, a short-lived signed
// access token (Path=/) and an opaque refresh token (Path=/jwt: see
// refreshCookiePath). A page whose access token has expired sends the
// browser through /jwt/refresh, which rotates the pair and sends it back.
// The profile's count lives in the store, with the login's refresh family.
//
// A browser may hold several cookies of one name: a sibling subdomain can
// set one for the whole domain (Domain=.example.com) or for a longer path,
// and the browser sends it beside ours; the Cookie header says neither
// which is ours nor where each came from. So every reader looks at each
// cookie of its name, and refuses to guess:
//
//   - Access cookies are each verified, which changes nothing. Exactly one
//     valid token must be among them; two valid ones are ambiguous, and
//     the request is treated as logged out (see oneAccessToken).
//   - Refresh cookies cannot be tried: trying one spends it. When more
//     than one is sent, none is spent: the logins the access cookies name
//     end, the browser's cookies are cleared and it goes to log in (see
//     jwtRefresh).
//   - Logout and a new login end the login of every authentic access
//     cookie, expired ones included (see endAccessLogins): whoever holds an
//     access token may end its login (POST /api/logout does as much).

const (
	accessCookie  = "sk_access"
	refreshCookie = "sk_refresh"
	refreshPath   = "/jwt/refresh"
	jwtLoginPath  = "/jwt/login"
	jwtLogoutPath = "/jwt/logout"
	jwtProfile    = "/jwt/profile"
	jwtLoginTitle = "Log in: JWT"

	// refreshCookiePath is the refresh cookie's Path. A cookie has one
	// Path, and two routes need this one: /jwt/refresh, which spends it,
	// and /jwt/logout, which ends its login even when the access cookie
	// is gone or cannot be read. "/jwt" is the narrowest path over both
	// (a second cookie holding the same token for /jwt/logout would be a
	// second copy of the secret to lose). It also goes to the other /jwt
	// pages, which ignore it, but never to the API, the other modes or
	// the static files, and it stays HttpOnly.
	refreshCookiePath = "/jwt"

	// legacyRefreshPath is the refresh cookie's Path before it was
	// widened. Browsers may still hold such a cookie (until its Max-Age,
	// at most RefreshLifetime): every response that sets or clears the
	// refresh cookie also expires it there, so that no browser ends up
	// sending two refresh cookies to /jwt/refresh, which would be refused
	// as ambiguous.
	legacyRefreshPath = refreshPath

	// maxCookiesOfOneName bounds the cookies of one name a request may
	// make the server verify. A browser sends ours and, at worst, one or
	// two planted beside it; more is refused as ambiguous rather than
	// checked one by one (each check may read the store).
	maxCookiesOfOneName = 4
)

func (s *Server) jwtLoginForm(w http.ResponseWriter, r *http.Request) {
	if access := cookieValues(r, s.accessCookieName(r)); len(access) > 0 {
		ctx, cancel := s.storeContext(r)
		defer cancel()
		_, err := oneAccessToken(ctx, access, s.tokens.check)
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
// cookies. The logins this browser's access cookies name end first: their
// tokens are revoked (a planted cookie's login too, so that it cannot be
// picked up later). It fails with the store's error, and then sets no
// cookie.
func (s *Server) startJWTMode(ctx context.Context, w http.ResponseWriter, r *http.Request, p auth.Proof) error {
	ended, err := s.endAccessLogins(ctx, cookieValues(r, s.accessCookieName(r)))
	for _, c := range ended {
		s.log.InfoContext(r.Context(), "previous login revoked", "mode", "jwt", "user", c.Subject, "client", s.clientAddr(r))
		s.metrics.tokenRevoked(modeJWT, endRelogin)
	}
	if err != nil {
		return fmt.Errorf("ending the previous login: %w", err)
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
	s.render(w, http.StatusOK, "profile", "Profile: JWT", profilePage{
		Username: c.Subject, Count: count, LogoutHref: jwtLogoutPath,
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
	access := cookieValues(r, s.accessCookieName(r))
	if len(access) == 0 {
		redirectWithNext(w, r, jwtLoginPath, r.URL.Path)
		return token.Claims{}, false
	}
	c, err := oneAccessToken(ctx, access, s.tokens.verifier.Verify)
	switch {
	case err == nil:
		return c, true
	case errors.Is(err, token.ErrExpired):
		redirectWithNext(w, r, refreshPath, r.URL.Path)
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
//
// Several refresh cookies are refused: trying one spends it, so the server
// cannot find out which is ours without ending a login, and spending the
// wrong one could log the browser in as someone else (whoever planted the
// cookie). None is spent; the logins the access cookies name end, as at
// logout, so that nothing is left of them; the cookies are cleared and the
// browser goes to log in.
func (s *Server) jwtRefresh(w http.ResponseWriter, r *http.Request) {
	next := nextPath(r, jwtProfile)
	refresh := cookieValues(r, s.refreshCookieName(r))
	if len(refresh) == 0 {
		s.clearTokenCookies(w, r)
		redirectWithNext(w, r, jwtLoginPath, next)
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	if len(refresh) > 1 {
		s.log.WarnContext(r.Context(), "several refresh cookies: none spent, the browser's logins end (a cookie may have been planted from another site of the domain)",
			"cookies", len(refresh), "client", s.clientAddr(r))
		ended, err := s.endAccessLogins(ctx, cookieValues(r, s.accessCookieName(r)))
		for _, c := range ended {
			s.log.InfoContext(r.Context(), "login ended: its refresh cookie was ambiguous", "mode", "jwt", "user", c.Subject, "client", s.clientAddr(r))
		}
		if err != nil {
			s.unavailable(w, r, "ending the logins of ambiguous cookies", err)
			return
		}
		s.clearTokenCookies(w, r)
		redirectWithNext(w, r, jwtLoginPath, next)
		return
	}
	p, err := s.tokens.refresh(ctx, refresh[0])
	if err != nil {
		if !isRejected(err) {
			s.unavailable(w, r, "refreshing the tokens", err)
			return
		}
		s.refreshRefused(r, p.family.User, err)
		s.clearTokenCookies(w, r)
		redirectWithNext(w, r, jwtLoginPath, next)
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
	s.render(w, http.StatusOK, "logout", "Log out: JWT", logoutPage{Action: jwtLogoutPath})
}

// jwtLogout ends the logins the access and refresh cookies name, then
// clears both cookies. An expired access token still names its login, and
// so does one signed by a key that has since retired: the token package
// gives the claims of both with token.ErrExpired, as their signatures
// still prove which login they are. The refresh cookie reaches this route
// too (refreshCookiePath) and names its login without being spent, so the
// login ends even when the access token names nothing any more (its key
// was deleted). If the store cannot be written the cookies are kept and
// the answer is 503, so the user can try again.
func (s *Server) jwtLogout(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	var ended []token.Claims
	if access := cookieValues(r, s.accessCookieName(r)); len(access) > 0 {
		var err error
		ended, err = s.endAccessLogins(ctx, access)
		for _, c := range ended {
			s.log.InfoContext(r.Context(), "logged out", "mode", "jwt", "user", c.Subject, "client", s.clientAddr(r))
			s.metrics.tokenRevoked(modeJWT, endLogout)
		}
		if err != nil {
			s.unavailable(w, r, "revoking the tokens", err)
			return
		}
	}
	if err := s.endRefreshLogins(ctx, r, ended); err != nil {
		s.unavailable(w, r, "revoking the tokens", err)
		return
	}
	s.clearTokenCookies(w, r)
	http.Redirect(w, r, jwtLoginPath, http.StatusSeeOther)
}

// endRefreshLogins ends the login of each refresh cookie of the request
// that names a live one, unless it is among ended already. Reading a
// refresh token's login does not spend it (token.Refresher.FamilyOf), so
// every cookie may be tried: each proves its holder may end that login.
func (s *Server) endRefreshLogins(ctx context.Context, r *http.Request, ended []token.Claims) error {
	values := cookieValues(r, s.refreshCookieName(r))
	if len(values) > maxCookiesOfOneName {
		values = values[:maxCookiesOfOneName]
	}
	for _, tok := range values {
		f, err := s.tokens.refresher.FamilyOf(ctx, tok)
		switch {
		case isRejected(err):
			continue
		case err != nil:
			return err
		case slices.ContainsFunc(ended, func(c token.Claims) bool { return c.Session == f.ID }):
			continue
		}
		if err := s.tokens.refresher.Revoke(ctx, f.ID); err != nil {
			return err
		}
		ended = append(ended, token.Claims{Session: f.ID, Subject: f.User})
		s.log.InfoContext(r.Context(), "logged out", "mode", "jwt", "user", f.User, "client", s.clientAddr(r))
		s.metrics.tokenRevoked(modeJWT, endLogout)
	}
	return nil
}

// endAccessLogins ends the login of each authentic access token among access:
// valid, expired, or signed by a key that has retired since (both of which
// the token package reports with token.ErrExpired and the claims). Tokens
// that are not authentic, or are deny-listed (their login has ended
// already), are passed over. It returns the claims of the tokens whose
// logins it ended, and the store's error when one could not be checked or
// ended; those before it stay ended.
func (s *Server) endAccessLogins(ctx context.Context, access []string) ([]token.Claims, error) {
	var ended []token.Claims
	for _, tok := range access {
		c, err := s.tokens.verifier.Verify(ctx, tok)
		switch {
		case err == nil, errors.Is(err, token.ErrExpired):
		case isRejected(err):
			continue
		default:
			return ended, fmt.Errorf("checking an access token: %w", err)
		}
		if slices.ContainsFunc(ended, func(e token.Claims) bool { return e.Session == c.Session }) {
			continue // a second token of a login that just ended
		}
		switch err := s.tokens.revoke(ctx, c); {
		case err == nil:
			ended = append(ended, c)
		case !isRejected(err):
			return ended, err
		}
	}
	return ended, nil
}

// oneAccessToken returns the claims of the one valid token among access,
// the values of the request's access cookies, each checked by check
// (Verifier.Verify, or tokens.check, which also reads the login). A
// check has no side effect, so each may be tried:
//
//   - exactly one valid: its claims;
//   - two or more valid, or more than maxCookiesOfOneName to check: an
//     error wrapping token.ErrInvalid. Neither is used: which one is the
//     user's cannot be told, and a wrong guess would show the user someone
//     else's account (or theirs to someone else);
//   - none valid but one or more that only expired: an error wrapping
//     token.ErrExpired, with the claims when there is one, so that the
//     caller sends the browser to refresh;
//   - otherwise the first rejection.
//
// If a check fails because the store did not answer, that error: whether
// the token was valid, and so whether the choice is ambiguous, cannot be
// told.
func oneAccessToken(ctx context.Context, access []string, check func(context.Context, string) (token.Claims, error)) (token.Claims, error) {
	if len(access) > maxCookiesOfOneName {
		return token.Claims{}, fmt.Errorf("%w: more than %d access cookies", token.ErrInvalid, maxCookiesOfOneName)
	}
	var valid, expired []token.Claims
	var expiredErr, firstErr error
	for _, tok := range access {
		c, err := check(ctx, tok)
		switch {
		case err == nil:
			valid = append(valid, c)
		case errors.Is(err, token.ErrExpired):
			expired = append(expired, c)
			expiredErr = err
		case !isRejected(err):
			return token.Claims{}, err
		case firstErr == nil:
			firstErr = err
		}
	}
	switch {
	case len(valid) == 1:
		return valid[0], nil
	case len(valid) > 1:
		return token.Claims{}, fmt.Errorf("%w: %d access cookies hold valid tokens: none is used", token.ErrInvalid, len(valid))
	case len(expired) == 1:
		return expired[0], expiredErr
	case len(expired) > 1:
		return token.Claims{}, expiredErr
	}
	return token.Claims{}, firstErr
}

// jwtToLogin clears the token cookies and sends the browser to log in,
// keeping the page it wanted.
func (s *Server) jwtToLogin(w http.ResponseWriter, r *http.Request, why error) {
	s.log.InfoContext(r.Context(), "access token refused", "reason", why.Error(), "client", s.clientAddr(r))
	s.clearTokenCookies(w, r)
	redirectWithNext(w, r, jwtLoginPath, r.URL.Path)
}

func (s *Server) accessCookieName(r *http.Request) string {
	return s.cfg.Cookies.Name(accessCookie, r)
}

// refreshCookieName is the refresh cookie's name: "__Secure-" prefixed when
// cookies are Secure ("__Host-" requires Path=/, and this cookie's path is
// refreshCookiePath).
func (s *Server) refreshCookieName(r *http.Request) string {
	if s.cfg.Cookies.IsSecure(r) {
		return "__Secure-" + refreshCookie
	}
	return refreshCookie
}

// cookieValues returns the distinct non-empty values of the request's
// cookies called name, in the order the browser sent them: one, usually,
// but a sibling site of the domain may have set more (see the top of this
// file). It returns at most maxCookiesOfOneName+1 values, enough for a
// caller to tell that there were too many.
func cookieValues(r *http.Request, name string) []string {
	var values []string
	for _, c := range r.CookiesNamed(name) {
		if c.Value == "" || slices.Contains(values, c.Value) {
			continue
		}
		values = append(values, c.Value)
		if len(values) > maxCookiesOfOneName {
			break
		}
	}
	return values
}

// setTokenCookies sets both cookies of a pair. They last as long as the
// login may (the family's expiry), so that an expired access token still
// reaches the server and can be refreshed; the token inside expires sooner.
// A refresh cookie left at the legacy path is expired first (before, so
// that a client reading the Set-Cookie headers into a map by name keeps
// the new one).
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
	s.expireCookie(w, s.refreshCookieName(r), legacyRefreshPath, secure)
	http.SetCookie(w, &http.Cookie{
		Name: s.refreshCookieName(r), Value: p.refresh, Path: refreshCookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// clearTokenCookies removes both cookies, the refresh cookie at its
// legacy path too. It removes only the cookies this server set: one set
// for the whole domain by another site stays (a response cannot name it).
func (s *Server) clearTokenCookies(w http.ResponseWriter, r *http.Request) {
	secure := s.cfg.Cookies.IsSecure(r)
	s.expireCookie(w, s.accessCookieName(r), "/", secure)
	s.expireCookie(w, s.refreshCookieName(r), legacyRefreshPath, secure)
	s.expireCookie(w, s.refreshCookieName(r), refreshCookiePath, secure)
}

// expireCookie tells the browser to drop its cookie name at path.
func (s *Server) expireCookie(w http.ResponseWriter, name, path string, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Path: path, MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}
