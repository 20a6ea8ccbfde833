package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/sessionkit/sessionkit/token"
)

// Token introspection (RFC 7662): POST /api/introspect lets another
// service ask whether an access token is active, that is whether this
// server would accept it right now: the signature holds, with a key that
// has not retired; it has not expired; it is not deny-listed; and its
// login (the refresh family its sid names) has not ended, nor its account
// gone or changed password since (the checks GET /api/me makes). Only
// access tokens are introspected: anything else, a refresh token
// included, is simply not active.
//
// The endpoint exists only when Config.IntrospectionSecret is set. The
// calling service authenticates with HTTP Basic: any client id, the
// secret as the password. Errors that OAuth defines (invalid_client,
// invalid_request) are answered in OAuth's JSON; the HTTP-level ones the
// rest of the API shares (413, 503) as problem details.

// introspectionRoute is the pattern of the introspection endpoint.
const introspectionRoute = "POST /api/introspect"

// introspectionChallenge is the WWW-Authenticate of a request whose client
// authentication is missing or wrong.
const introspectionChallenge = `Basic realm="introspection"`

// introspection is the body of an answer about an active token (RFC 7662
// section 2.2). An inactive token gets {"active":false} and nothing else.
type introspection struct {
	Active    bool     `json:"active"`
	TokenType string   `json:"token_type"`
	ClientID  string   `json:"client_id"`
	Username  string   `json:"username"`
	Subject   string   `json:"sub"`
	Session   string   `json:"sid"`
	ID        string   `json:"jti"`
	Issuer    string   `json:"iss"`
	Audience  []string `json:"aud"`
	Expires   int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	AuthTime  int64    `json:"auth_time,omitempty"`
}

// oauthError is the body of an OAuth error (RFC 6749 section 5.2).
type oauthError struct {
	Error string `json:"error"`
}

// introspectionHandler returns the handler of POST /api/introspect for
// secret, which must not be empty. Only secret's SHA-256 is kept, so that
// comparing with what a client sends takes the same time whatever either
// is, their lengths included.
func (s *Server) introspectionHandler(secret string) http.HandlerFunc {
	want := sha256.Sum256([]byte(secret))
	return func(w http.ResponseWriter, r *http.Request) {
		clientID, ok := introspectionClient(r, want)
		if !ok {
			s.log.InfoContext(r.Context(), "introspection refused: client authentication missing or wrong", "client", s.clientAddr(r))
			w.Header().Set("WWW-Authenticate", introspectionChallenge)
			s.introspectionAnswer(w, http.StatusUnauthorized, oauthError{"invalid_client"})
			return
		}
		form, ferr := s.readForm(w, r)
		if ferr != nil {
			if ferr.Status == http.StatusRequestEntityTooLarge {
				s.problem(w, ferr.Status, ferr.Message)
				return
			}
			s.introspectionAnswer(w, http.StatusBadRequest, oauthError{"invalid_request"})
			return
		}
		// token_type_hint needs no reading: the only tokens introspected
		// are access tokens, whatever the hint says (RFC 7662 section 2.1
		// lets the server search past the hint).
		tok := form.Get("token")
		if tok == "" {
			s.introspectionAnswer(w, http.StatusBadRequest, oauthError{"invalid_request"})
			return
		}
		ctx, cancel := s.storeContext(r)
		defer cancel()
		c, err := s.activeToken(ctx, tok)
		switch {
		case err == nil:
		case isRejected(err):
			s.introspectionAnswer(w, http.StatusOK, struct {
				Active bool `json:"active"`
			}{false})
			return
		default:
			s.apiUnavailable(w, r, "introspecting a token", err)
			return
		}
		answer := introspection{
			Active: true,
			// RFC 7662 section 2.2: the token type of RFC 6749 section
			// 5.1, what /api/login answers as token_type.
			TokenType: "Bearer",
			ClientID:  clientID,
			Username:  c.Subject,
			Subject:   c.Subject,
			Session:   c.Session,
			ID:        c.ID,
			Issuer:    c.Issuer,
			Audience:  c.Audience,
			Expires:   c.Expires.Unix(),
			IssuedAt:  c.IssuedAt.Unix(),
			NotBefore: c.NotBefore.Unix(),
		}
		if !c.AuthTime.IsZero() {
			answer.AuthTime = c.AuthTime.Unix()
		}
		s.introspectionAnswer(w, http.StatusOK, answer)
	}
}

// introspectionClient checks the request's HTTP Basic credentials against
// want, the SHA-256 of the secret, and returns the client id. RFC 6749
// section 2.3.1 has clients form-encode the id and the secret before
// Basic encoding, and many send them as they are: the password matches
// when either it or its form-decoding does, and the id is decoded when it
// decodes. Both comparisons are always made, in constant time.
func introspectionClient(r *http.Request, want [sha256.Size]byte) (string, bool) {
	id, password, ok := r.BasicAuth()
	if !ok {
		return "", false
	}
	raw := sha256.Sum256([]byte(password))
	match := subtle.ConstantTimeCompare(raw[:], want[:])
	if decoded, err := url.QueryUnescape(password); err == nil {
		d := sha256.Sum256([]byte(decoded))
		match |= subtle.ConstantTimeCompare(d[:], want[:])
	}
	if match != 1 {
		return "", false
	}
	if decoded, err := url.QueryUnescape(id); err == nil {
		id = decoded
	}
	return id, true
}

// activeToken returns the claims of tok when it is an active access token:
// what tokens.check accepts (signature, times, the login and its account,
// as GET /api/me), and not deny-listed. tokens.check leaves the deny list
// out, because every logout ends the login before it deny-lists the
// token; introspection reads it too, so that a token deny-listed on its
// own is never reported active. Errors are those of check: wrapping
// token.ErrInvalid for a token that is not active, any other when the
// store could not answer.
func (s *Server) activeToken(ctx context.Context, tok string) (token.Claims, error) {
	return s.tokens.checkWith(ctx, s.tokens.verifier, tok)
}

// introspectionAnswer writes v as JSON with status, never to be cached
// (RFC 7662 section 4: answers hold what a token means).
func (s *Server) introspectionAnswer(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	s.writeJSON(w, status, v)
}
