package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/token"
)

// The JSON API: the same logins as JWT mode, for programs. Tokens travel
// in bodies and in the Authorization header (Bearer), never in cookies, so
// the API needs no CSRF defence of its own beyond the cross-origin check
// every POST gets. Errors are RFC 9457 problem details.

// tokenResponse is the body of a successful login or refresh (RFC 6749
// section 5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// apiLogin checks {username, password} and answers a new pair.
func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !s.readJSON(w, r, &body) {
		return
	}
	if body.Username == "" || body.Password == "" {
		s.problem(w, http.StatusBadRequest, "username and password are both required")
		return
	}
	u, err := s.checkCredentials(r, credentials{Username: body.Username, Password: body.Password})
	if err == nil {
		s.startAPILogin(w, r, u)
		return
	}
	switch status := loginRefused(w, err); status {
	case http.StatusTooManyRequests:
		s.problem(w, status, "too many failed logins; wait and try again")
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="sessionkit"`)
		s.problem(w, status, "invalid username or password")
	case http.StatusBadRequest:
		s.problem(w, status, invalidInputMessage(err))
	default:
		s.apiUnavailable(w, r, "logging in", err)
	}
}

// startAPILogin starts a new login (refresh family) for p and answers its
// token pair, or 503 when the store cannot be written.
func (s *Server) startAPILogin(w http.ResponseWriter, r *http.Request, p auth.Proof) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	s.makeRoomForLogin(ctx, p.User)
	pr, err := s.tokens.login(ctx, p, r.UserAgent())
	if err != nil {
		s.apiUnavailable(w, r, "starting a login", err)
		return
	}
	s.metrics.tokenLogin(modeAPI)
	s.writeTokens(w, pr)
}

// apiRefresh spends {refresh_token} and answers the family's next pair.
func (s *Server) apiRefresh(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RefreshToken string `json:"refresh_token"`
	}
	if !s.readJSON(w, r, &body) {
		return
	}
	if body.RefreshToken == "" {
		s.problem(w, http.StatusBadRequest, "refresh_token is required")
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	p, err := s.tokens.refresh(ctx, body.RefreshToken)
	if err != nil {
		if !isRejected(err) {
			s.apiUnavailable(w, r, "refreshing the tokens", err)
			return
		}
		s.refreshRefused(r, p.family.User, err)
		s.invalidToken(w, "the refresh token is not valid: unknown, expired, spent or revoked")
		return
	}
	s.metrics.tokenRefresh(modeAPI)
	s.writeTokens(w, p)
}

// apiMe answers who the Bearer token belongs to.
func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiAuthenticate(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusOK, struct {
		Username string `json:"username"`
	}{c.Subject})
}

// apiLogout ends the login of the Bearer token: the token is deny-listed
// and its refresh family revoked.
func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiAuthenticate(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	if err := s.tokens.revoke(ctx, c); err != nil && !isRejected(err) {
		s.apiUnavailable(w, r, "revoking the tokens", err)
		return
	}
	s.log.InfoContext(r.Context(), "logged out", "mode", "api", "user", c.Subject, "client", s.clientAddr(r))
	s.metrics.tokenRevoked(modeAPI, endLogout)
	w.WriteHeader(http.StatusNoContent)
}

// apiAuthenticate returns the claims of a valid Bearer token whose login
// has not ended. Otherwise it answers 401 (with WWW-Authenticate) or 503,
// and returns false.
func (s *Server) apiAuthenticate(w http.ResponseWriter, r *http.Request) (token.Claims, bool) {
	access, ok := bearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sessionkit"`)
		s.problem(w, http.StatusUnauthorized, "send an access token: Authorization: Bearer <token>")
		return token.Claims{}, false
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	c, err := s.tokens.check(ctx, access)
	switch {
	case err == nil:
		return c, true
	case isRejected(err):
		s.log.InfoContext(r.Context(), "access token refused", "reason", err.Error(), "client", s.clientAddr(r))
		detail := "the access token is not valid"
		switch {
		case errors.Is(err, token.ErrExpired):
			detail = "the access token has expired"
		case errors.Is(err, token.ErrRevoked):
			detail = "the access token has been revoked"
		}
		s.invalidToken(w, detail)
	default:
		s.apiUnavailable(w, r, "checking the access token", err)
	}
	return token.Claims{}, false
}

// bearerToken returns the token of an "Authorization: Bearer" header (the
// scheme is case-insensitive, RFC 6750 section 2.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// jwks serves the public keys, for services that verify our tokens.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r)
	defer cancel()
	b, err := s.tokens.ring.JWKS(ctx)
	if err != nil {
		s.apiUnavailable(w, r, "publishing the keys", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	// A rotated key is published for longer than this before it signs
	// (token.Ring.PublishDelay), so a cache that honours it always has
	// the key of a token it is shown; verifiers also refetch on an
	// unknown kid.
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.tokens.ring.JWKSMaxAge()/time.Second)))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// readJSON decodes a JSON object of at most MaxBodyBytes into v. Otherwise
// it answers 415 (not JSON), 413 (too large) or 400 (not a single valid
// object) and returns false.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		s.problem(w, http.StatusUnsupportedMediaType, "send the body as application/json")
		return false
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	err = dec.Decode(v)
	if err == nil {
		// Exactly one object: anything after it is an error.
		if _, err2 := dec.Token(); err2 != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.problem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", tooLarge.Limit))
			return false
		}
		s.problem(w, http.StatusBadRequest, "the body is not a valid JSON object of the expected fields")
		return false
	}
	return true
}

func (s *Server) writeTokens(w http.ResponseWriter, p pair) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	s.writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:  p.access,
		TokenType:    "Bearer",
		ExpiresIn:    int64(s.cfg.AccessTokenLifetime.Seconds()),
		RefreshToken: p.refresh,
	})
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encoding a JSON response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// problemDetails is an RFC 9457 problem.
type problemDetails struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// problem answers status with an application/problem+json body.
func (s *Server) problem(w http.ResponseWriter, status int, detail string) {
	b, _ := json.Marshal(problemDetails{
		Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail,
	})
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// invalidToken answers 401 for a token that was presented and refused
// (RFC 6750 section 3).
func (s *Server) invalidToken(w http.ResponseWriter, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="sessionkit", error="invalid_token", error_description="`+detail+`"`)
	s.problem(w, http.StatusUnauthorized, detail)
}

// apiUnavailable answers 503 when the store did not answer in time.
func (s *Server) apiUnavailable(w http.ResponseWriter, r *http.Request, doing string, err error) {
	s.log.ErrorContext(r.Context(), "unavailable", "doing", doing, "err", err, "request_id", requestID(w))
	w.Header().Set("Retry-After", "1")
	s.problem(w, http.StatusServiceUnavailable, "the server could not reach its storage in time; nothing was changed, try again")
}

// apiDeleteAccount deletes the token's account and ends its logins, when
// the login's auth_time is within the re-authentication window; otherwise
// it answers the step-up challenge of RFC 9470: the client must log in
// again (POST /api/login) and retry with the new token.
func (s *Server) apiDeleteAccount(w http.ResponseWriter, r *http.Request) {
	c, ok := s.apiRecentLogin(w, r, "delete the account")
	if !ok {
		return
	}
	ctx, cancel := s.storeContext(r)
	defer cancel()
	n, err := s.removeAccount(ctx, c.Subject)
	if err != nil {
		s.apiUnavailable(w, r, "deleting the account", err)
		return
	}
	// The family is gone with the account; deny-list the token too, so
	// that checks which stop at the deny list refuse it as well.
	if err := s.tokens.verifier.Revoke(ctx, c); err != nil {
		s.log.WarnContext(r.Context(), "deny-listing the token of a deleted account failed", "err", err)
	}
	s.log.InfoContext(r.Context(), "account deleted", "mode", "api", "user", c.Subject, "logins_ended", n, "client", s.clientAddr(r))
	w.WriteHeader(http.StatusNoContent)
}
