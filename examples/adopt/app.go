// Command adopt is a small shop that uses sessionkit the way any program
// outside its repository does: through its public import path. It keeps a
// cart of structs in a server-side session shared by the shop's
// subdomains, remembers a display preference in a sealed cookie, and
// issues access tokens for its API.
//
// CI builds and tests it (go test in this directory), as the proof that
// the library works from outside.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// CartItem is a line of the cart; a slice of them lives in the session.
type CartItem struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// Account is what the session knows of the signed-in customer.
type Account struct {
	Name  string `json:"name"`
	Tier  Tier   `json:"tier"`
	Since time.Time
}

// Tier is a named string type, kept as it is.
type Tier string

// App is the shop: its session manager, its sealed preference cookie and
// its token issuer and verifier.
type App struct {
	Sessions *session.Manager
	prefs    *cookie.Cookie
	issuer   *token.Issuer
	verifier *token.Verifier
	store    *memstore.Store
}

// NewApp builds the shop on an in-memory store, its cookies shared by
// every subdomain of domain.
func NewApp(ctx context.Context, domain string) (*App, error) {
	st := memstore.New(memstore.Options{})
	policy := cookie.Policy{Domain: domain, SameSite: http.SameSiteStrictMode}
	sessions, err := session.New(st, session.Options{Policy: policy, BrowserSession: true})
	if err != nil {
		return nil, err
	}
	key, err := cookie.GenerateKey(time.Now())
	if err != nil {
		return nil, err
	}
	ring, err := cookie.NewKeyRing(key)
	if err != nil {
		return nil, err
	}
	prefs, err := cookie.New(ring, cookie.Options{Name: "prefs", MaxAge: 30 * 24 * time.Hour, Policy: policy})
	if err != nil {
		return nil, err
	}
	keys, err := token.OpenRing(ctx, st, token.RingOptions{})
	if err != nil {
		return nil, err
	}
	issuer, err := token.NewIssuer(keys, token.IssuerOptions{Issuer: "https://" + domain, Audience: "shop-api"})
	if err != nil {
		return nil, err
	}
	verifier, err := token.NewVerifier(keys, token.VerifierOptions{
		Issuer: "https://" + domain, Audience: "shop-api", Leeway: token.DefaultLeeway, DenyList: st,
	})
	if err != nil {
		return nil, err
	}
	return &App{Sessions: sessions, prefs: prefs, issuer: issuer, verifier: verifier, store: st}, nil
}

// Close releases the store.
func (a *App) Close() error { return a.store.Close() }

// Handler returns the shop's routes behind the session middleware and
// cross-origin protection.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /cart", a.addToCart)
	mux.HandleFunc("GET /cart", a.showCart)
	mux.HandleFunc("POST /prefs", a.setPrefs)
	mux.HandleFunc("GET /prefs", a.showPrefs)
	mux.HandleFunc("POST /api/token", a.apiToken)
	mux.HandleFunc("GET /api/me", a.apiMe)
	return http.NewCrossOriginProtection().Handler(a.Sessions.Handler(mux))
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	name := r.FormValue("name") // a real shop checks a password here
	s := session.From(r)
	if err := s.Renew(r.Context()); err != nil {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	s.SetUser(name)
	s.SetRememberMe(r.FormValue("remember") == "on")
	if err := session.Put(s, "account", Account{Name: name, Tier: "gold", Since: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

// addToCart appends one item; concurrent requests each keep theirs.
func (a *App) addToCart(w http.ResponseWriter, r *http.Request) {
	cart, err := addItem(r.Context(), r.FormValue("sku"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%d items\n", len(cart))
}

// addItem works from the context alone, as code below a handler does.
func addItem(ctx context.Context, sku string) ([]CartItem, error) {
	s, ok := session.FromContext(ctx)
	if !ok {
		return nil, errors.New("no session")
	}
	if sku == "" {
		return nil, errors.New("sku is required")
	}
	return session.Update(s, "cart", func(cart []CartItem) []CartItem {
		return append(cart, CartItem{SKU: sku, Qty: 1})
	})
}

func (a *App) showCart(w http.ResponseWriter, r *http.Request) {
	s := session.From(r)
	acct, _ := session.Get[Account](s, "account")
	cart, _ := session.Get[[]CartItem](s, "cart")
	skus := make([]string, len(cart))
	for i, it := range cart {
		skus[i] = it.SKU
	}
	fmt.Fprintf(w, "%s (%s): %d items [%s]\n", acct.Name, acct.Tier, len(cart), strings.Join(skus, " "))
}

func (a *App) setPrefs(w http.ResponseWriter, r *http.Request) {
	if err := a.prefs.Write(w, r, cookie.Value{Data: []byte(r.FormValue("theme"))}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *App) showPrefs(w http.ResponseWriter, r *http.Request) {
	v, err := a.prefs.Read(r)
	switch {
	case cookie.IsUnauthenticated(err):
		fmt.Fprintln(w, "theme: default")
		return
	case err != nil:
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintf(w, "theme: %s\n", v.Data)
}

// apiToken issues an access token to the signed-in customer.
func (a *App) apiToken(w http.ResponseWriter, r *http.Request) {
	login := session.From(r).Auth()
	if login.User == "" {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	// The token says who signed in and when they proved it (auth_time),
	// so that the API can ask for a recent sign-in.
	tok, _, err := a.issuer.Issue(r.Context(), token.Claims{
		Subject: login.User, Session: "web", AccountID: login.AccountID, AuthTime: login.Time,
	})
	if err != nil {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, tok)
}

func (a *App) apiMe(w http.ResponseWriter, r *http.Request) {
	claims, err := a.verifier.Verify(r.Context(), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	switch {
	case token.IsUnauthenticated(err):
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	case err != nil:
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, claims.Subject)
}
