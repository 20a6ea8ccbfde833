package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// A plain net/http JSON API: login answers an access token and a refresh
// token; a middleware checks the Bearer token of every protected route and
// puts its claims in the request's context; refresh spends the refresh
// token for a new pair; logout ends the login. A refresh token presented
// twice revokes its whole login.
func Example_netHTTP() {
	ctx := context.Background()
	st := memstore.New(memstore.Options{}) // or sqlitestore, redisstore, pgstore
	defer st.Close()
	ring, err := token.OpenRing(ctx, st, token.RingOptions{}) // keys live in the store
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := token.NewIssuer(ring, token.IssuerOptions{Issuer: "https://auth.example", Audience: "api"})
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(ring, token.VerifierOptions{
		Issuer: "https://auth.example", Audience: "api", Leeway: token.DefaultLeeway, DenyList: st,
	})
	if err != nil {
		log.Fatal(err)
	}
	// No grace: a spent refresh token is never accepted again (the
	// default, 10 s, lets two tabs refresh at the same moment).
	refresher, err := token.NewRefresher(st, token.RefreshOptions{Grace: -1})
	if err != nil {
		log.Fatal(err)
	}

	// pair starts or continues a login's tokens.
	pair := func(w http.ResponseWriter, fam token.Family, refresh string) {
		// The family keeps what the login proved; every access token of
		// the login says it again, so the API can ask for a recent proof.
		access, _, err := issuer.Issue(ctx, token.Claims{
			Subject: fam.User, Session: fam.ID, AccountID: fam.AccountID, AuthTime: fam.AuthTime,
		})
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"access_token": access, "refresh_token": refresh})
	}
	type claimsKey struct{}
	// bearer lets a request through with a valid access token.
	bearer := func(next http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			c, err := verifier.Verify(r.Context(), tok)
			switch {
			case token.IsUnauthenticated(err): // expired, revoked, forged...
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				http.Error(w, "invalid token", http.StatusUnauthorized)
				return
			case err != nil: // the deny list or the keys could not be read
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			next(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
		})
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// Check the username and password with auth.Accounts first; its
		// Proof gives the account ID and the auth time.
		fam, refresh, err := refresher.Start(r.Context(), token.Login{
			User: "alice", AccountID: "the account's ID", UserAgent: r.UserAgent(),
		})
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		pair(w, fam, refresh)
	})
	mux.HandleFunc("POST /refresh", func(w http.ResponseWriter, r *http.Request) {
		fam, refresh, err := refresher.Rotate(r.Context(), r.FormValue("refresh_token"))
		switch {
		case errors.Is(err, token.ErrReused):
			http.Error(w, "refresh token reused: login revoked", http.StatusUnauthorized)
		case token.IsUnauthenticated(err): // unknown, revoked, malformed...
			http.Error(w, "invalid refresh token", http.StatusUnauthorized)
		case err != nil:
			http.Error(w, "try again", http.StatusServiceUnavailable)
		default:
			pair(w, fam, refresh)
		}
	})
	mux.Handle("GET /me", bearer(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "you are %s", r.Context().Value(claimsKey{}).(token.Claims).Subject)
	}))
	mux.Handle("POST /logout", bearer(func(w http.ResponseWriter, r *http.Request) {
		c := r.Context().Value(claimsKey{}).(token.Claims)
		// The access token is refused from now on, and the login's
		// refresh tokens too.
		if err := verifier.Revoke(r.Context(), c); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		if err := refresher.Revoke(r.Context(), c.Session); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))

	// A client of the API.
	var tokens struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	call := func(method, path, bearer, refresh string) {
		r := httptest.NewRequest(method, path, nil)
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		if refresh != "" {
			r.Form = map[string][]string{"refresh_token": {refresh}}
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		body := strings.TrimSuffix(w.Body.String(), "\n")
		if w.Code == http.StatusOK && strings.HasPrefix(body, "{") {
			json.Unmarshal([]byte(body), &tokens)
			body = "a new pair"
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %s %d %s", method, path, w.Code, body)))
	}

	call("GET", "/me", "", "")
	call("POST", "/login", "", "")
	call("GET", "/me", tokens.Access, "")
	first := tokens.Refresh
	call("POST", "/refresh", "", first)
	call("POST", "/refresh", "", first) // a copy of the spent token: stolen?
	call("POST", "/refresh", "", tokens.Refresh)

	call("POST", "/login", "", "")
	call("POST", "/logout", tokens.Access, "")
	call("GET", "/me", tokens.Access, "")
	call("POST", "/refresh", "", tokens.Refresh)
	// Output:
	// GET /me 401 invalid token
	// POST /login 200 a new pair
	// GET /me 200 you are alice
	// POST /refresh 200 a new pair
	// POST /refresh 401 refresh token reused: login revoked
	// POST /refresh 401 invalid refresh token
	// POST /login 200 a new pair
	// POST /logout 204
	// GET /me 401 invalid token
	// POST /refresh 401 invalid refresh token
}
