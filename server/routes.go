package server

import "net/http"

// A route is one entry of the server's table of routes: its pattern, its
// handler and how the server treats it. The mux, the bound on concurrent
// logins and the tests all read the table; request metrics, logs and
// traces are labelled with the pattern the mux matched.
type route struct {
	pattern string
	handler http.HandlerFunc

	// session puts the route behind the session manager's middleware:
	// session mode's pages, whose handlers read session.From(r).
	session bool

	// recentAuth asks, on top of a session, for a proof of identity
	// within Config.ReauthWindow; an older one is sent to re-authenticate
	// first (session.Manager.RequireRecentAuth).
	recentAuth bool

	// login marks a request that checks or hashes a password (a login, a
	// registration, a re-authentication, a change of password): a client
	// address may have at most Config.MaxConcurrentLogins of them in
	// flight (limitConcurrentLogins).
	login bool
}

// routeTable lists every route the server answers, in the order the
// start page's modes are listed. A route whose feature is off (the
// introspection endpoint without its secret, /metrics served elsewhere)
// is left out, so that it answers 404.
func (s *Server) routeTable() []route {
	routes := []route{
		{pattern: "GET /{$}", handler: s.index},
		{pattern: "GET /static/style.css", handler: serveStyle},
		{pattern: "GET /static/passkey.js", handler: servePasskeyScript},
		{pattern: "GET /register", handler: s.registerForm},
		{pattern: "POST /register", handler: s.register, login: true},

		// Cookie mode.
		{pattern: "GET /cookie/login", handler: s.cookieLoginForm},
		{pattern: "POST /cookie/login", handler: s.cookieLogin, login: true},
		{pattern: "POST /cookie/passkey/login", handler: s.cookiePasskeyLogin},
		{pattern: "GET /cookie/profile", handler: s.cookieProfile},
		{pattern: "GET /cookie/logout", handler: s.cookieLogoutForm},
		{pattern: "POST /cookie/logout", handler: s.cookieLogout},

		// Session mode, and the account pages.
		{pattern: "GET /session/login", handler: s.sessionLoginForm, session: true},
		{pattern: "POST /session/login", handler: s.sessionLogin, session: true, login: true},
		{pattern: "POST /session/passkey/login", handler: s.sessionPasskeyLogin, session: true},
		{pattern: "GET /session/profile", handler: s.sessionProfile, session: true},
		{pattern: "GET /session/sessions", handler: s.sessionList, session: true},
		{pattern: "GET /session/logout", handler: s.sessionLogoutForm, session: true},
		{pattern: "POST /session/logout", handler: s.sessionLogout, session: true},
		{pattern: "POST /session/logout-all", handler: s.sessionLogoutAll, session: true},
		{pattern: "GET " + accountPath, handler: s.accountPage, session: true},
		{pattern: "POST /session/password", handler: s.changePassword, session: true, login: true},
		{pattern: "POST /session/sessions/revoke", handler: s.revokeLogin, session: true},
		{pattern: "POST /session/logout-others", handler: s.logoutOthers, session: true},
		{pattern: "POST /session/account/delete", handler: s.deleteAccount, session: true, recentAuth: true},
		{pattern: "GET " + reauthPath, handler: s.reauthForm, session: true},
		{pattern: "POST " + reauthPath, handler: s.reauth, session: true, login: true},
		{pattern: "POST /session/reauth/passkey", handler: s.reauthPasskey, session: true},
		{pattern: "POST " + passkeyRegisterBegin, handler: s.passkeyRegisterBeginHandler, session: true, recentAuth: true},
		{pattern: "POST /session/passkeys/finish", handler: s.passkeyRegister, session: true, recentAuth: true},
		{pattern: "POST /session/passkeys/rename", handler: s.renamePasskey, session: true},
		{pattern: "POST /session/passkeys/remove", handler: s.removePasskey, session: true},

		// JWT mode.
		{pattern: "GET /jwt/login", handler: s.jwtLoginForm},
		{pattern: "POST /jwt/login", handler: s.jwtLogin, login: true},
		{pattern: "POST /jwt/passkey/login", handler: s.jwtPasskeyLogin},
		{pattern: "GET /jwt/profile", handler: s.jwtProfile},
		{pattern: "GET " + refreshPath, handler: s.jwtRefresh},
		{pattern: "GET " + jwtLogoutPath, handler: s.jwtLogoutForm},
		{pattern: "POST " + jwtLogoutPath, handler: s.jwtLogout},

		// Passkey logins of every mode begin here.
		{pattern: "POST " + passkeyLoginBegin, handler: s.passkeyLoginBegin},

		// The JSON API.
		{pattern: "POST /api/login", handler: s.apiLogin, login: true},
		{pattern: "POST /api/refresh", handler: s.apiRefresh},
		{pattern: "GET /api/me", handler: s.apiMe},
		{pattern: "DELETE /api/me", handler: s.apiDeleteAccount},
		{pattern: "POST /api/logout", handler: s.apiLogout},
		{pattern: "POST /api/passkey/login/begin", handler: s.apiPasskeyLoginBegin},
		{pattern: "POST /api/passkey/login/finish", handler: s.apiPasskeyLogin},
		{pattern: "POST /api/passkeys/begin", handler: s.apiPasskeyRegisterBegin},
		{pattern: "POST /api/passkeys/finish", handler: s.apiPasskeyRegister},
		{pattern: "GET /api/passkeys", handler: s.apiPasskeyList},
		{pattern: "DELETE /api/passkeys/{id}", handler: s.apiPasskeyDelete},
		{pattern: "GET /.well-known/jwks.json", handler: s.jwks},

		// Health.
		{pattern: "GET /healthz", handler: live},
		{pattern: "GET /livez", handler: live},
		{pattern: "GET /readyz", handler: s.ready},
	}
	if s.cfg.IntrospectionSecret != "" {
		routes = append(routes, route{pattern: introspectionRoute, handler: s.introspectionHandler(s.cfg.IntrospectionSecret)})
	}
	if !s.cfg.OmitMetricsRoute {
		routes = append(routes, route{pattern: "GET /metrics", handler: s.metrics.handler.ServeHTTP})
	}
	return routes
}

// routeHandler is rt's handler with what its entry asks for around it.
func (s *Server) routeHandler(rt route) http.Handler {
	var h http.Handler = rt.handler
	if rt.recentAuth {
		h = s.sessions.RequireRecentAuth(s.cfg.ReauthWindow, reauthPath, accountPath)(h)
	}
	if rt.session {
		h = s.sessions.Handler(h)
	}
	if rt.login {
		h = s.limitConcurrentLogins(h)
	}
	return h
}
