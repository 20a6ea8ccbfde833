package token_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// With chi: a Bearer-token middleware guards a group of routes
// (router.Group and Use), and a handler compares a route parameter with the
// token's subject, so that a user reads only their own notes.
func Example_chi() {
	ctx := context.Background()
	st := memstore.New(memstore.Options{})
	defer st.Close()
	ring, err := token.OpenRing(ctx, st, token.RingOptions{})
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := token.NewIssuer(ring, token.IssuerOptions{Issuer: "https://auth.example", Audience: "notes"})
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(ring, token.VerifierOptions{
		Issuer: "https://auth.example", Audience: "notes", Leeway: token.DefaultLeeway, DenyList: st,
	})
	if err != nil {
		log.Fatal(err)
	}

	type claimsKey struct{}
	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "public")
	})
	r.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
				c, err := verifier.Verify(r.Context(), tok)
				switch {
				case token.IsUnauthenticated(err):
					w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
					http.Error(w, "invalid token", http.StatusUnauthorized)
					return
				case err != nil:
					http.Error(w, "try again", http.StatusServiceUnavailable)
					return
				}
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
			})
		})
		r.Get("/users/{name}/notes", func(w http.ResponseWriter, r *http.Request) {
			c := r.Context().Value(claimsKey{}).(token.Claims)
			name := chi.URLParam(r, "name")
			// Account names compare case-insensitively.
			if store.FoldName(name) != store.FoldName(c.Subject) {
				http.Error(w, "not your notes", http.StatusForbidden)
				return
			}
			fmt.Fprintf(w, "the notes of %s", name)
		})
	})

	// In a real program the token comes from a login (see Example_netHTTP);
	// "login-1" stands for the refresh family's ID.
	alice, _, err := issuer.Issue(ctx, token.Claims{Subject: "alice", Session: "login-1"})
	if err != nil {
		log.Fatal(err)
	}
	for _, step := range []struct{ path, bearer string }{
		{"/", ""},
		{"/users/alice/notes", ""},
		{"/users/alice/notes", alice},
		{"/users/bob/notes", alice},
		{"/users/alice/notes", alice[:len(alice)-4] + "AAAA"}, // a forged signature
	} {
		req := httptest.NewRequest(http.MethodGet, step.path, nil)
		if step.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+step.bearer)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(step.path, w.Code, strings.TrimSuffix(w.Body.String(), "\n"))
	}
	// Output:
	// / 200 public
	// /users/alice/notes 401 invalid token
	// /users/alice/notes 200 the notes of alice
	// /users/bob/notes 403 not your notes
	// /users/alice/notes 401 invalid token
}
