package bench_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/bench/peers"
	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// The tutorial's app written with sessionkit's library, the way its
// examples use it, for the in-process benchmarks. Every app answers
// POST /login and GET /profile like the peers, and writes the same page
// (peers.Page), so that only the middleware differs.

// checkLogin accepts the test account, as the peers do.
func checkLogin(w http.ResponseWriter, r *http.Request) (string, bool) {
	if err := r.ParseForm(); err != nil ||
		r.PostForm.Get("username") != peers.TestUser || r.PostForm.Get("password") != peers.TestPassword {
		http.Error(w, "invalid username or password", http.StatusUnauthorized)
		return "", false
	}
	return peers.TestUser, true
}

// sessionApp keeps the name and count in a server-side session on st.
func sessionApp(st store.Sessions, page *peers.Page) http.Handler {
	mgr, err := session.New(st, session.Options{})
	if err != nil {
		panic(err) // the zero Options are valid
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user, ok := checkLogin(w, r)
		if !ok {
			return
		}
		s := session.From(r)
		if err := s.Renew(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		s.SetUser(user)
		s.Delete("count")
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if s.User() == "" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		page.Write(w, r, s.User(), s.Increment("count", 1))
	})
	return mgr.Handler(mux)
}

// cookieApp keeps the name and count in a sealed cookie, rewritten on every
// view, with revocation checked on a memstore deny list, as sessionkit's
// server does.
func cookieApp(tb testing.TB, page *peers.Page) http.Handler {
	key, err := cookie.GenerateKey(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	ring, err := cookie.NewKeyRing(key)
	if err != nil {
		tb.Fatal(err)
	}
	deny := memstore.New(memstore.Options{})
	tb.Cleanup(func() { deny.Close() })
	sealed, err := cookie.New(ring, cookie.Options{Name: "sk_cookie", MaxAge: 24 * time.Hour, DenyList: deny})
	if err != nil {
		tb.Fatal(err)
	}
	// The value: the count as a varint, then the name.
	encode := func(user string, count int64) []byte {
		return append(binary.AppendVarint(nil, count), user...)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user, ok := checkLogin(w, r)
		if !ok {
			return
		}
		if err := sealed.Write(w, r, cookie.Value{Data: encode(user, 0)}); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		v, err := sealed.Read(r)
		if err != nil {
			if errors.Is(err, cookie.ErrNoCookie) || errors.Is(err, cookie.ErrInvalid) ||
				errors.Is(err, cookie.ErrExpired) || errors.Is(err, cookie.ErrRevoked) {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		count, n := binary.Varint(v.Data)
		if n <= 0 {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		user := string(v.Data[n:])
		count++
		v.Data = encode(user, count)
		if err := sealed.Write(w, r, v); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		page.Write(w, r, user, count)
	})
	return mux
}

// tokenApp signs an access token into a cookie at login and verifies it on
// every view with token.Verifier (checking the deny list when denyList),
// counting views in a map guarded by a mutex, as the golang-jwt peer does.
func tokenApp(tb testing.TB, alg token.Algorithm, denyList bool, page *peers.Page) http.Handler {
	ctx := context.Background()
	st := memstore.New(memstore.Options{})
	tb.Cleanup(func() { st.Close() })
	ring, err := token.OpenRing(ctx, st, token.RingOptions{Algorithm: alg})
	if err != nil {
		tb.Fatal(err)
	}
	issuer, err := token.NewIssuer(ring, token.IssuerOptions{Issuer: "sessionkit", Audience: "sessionkit"})
	if err != nil {
		tb.Fatal(err)
	}
	opts := token.VerifierOptions{Issuer: "sessionkit", Audience: "sessionkit", Leeway: token.DefaultLeeway}
	if denyList {
		opts.DenyList = st
	}
	verifier, err := token.NewVerifier(ring, opts)
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	counts := map[string]int64{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user, ok := checkLogin(w, r)
		if !ok {
			return
		}
		tok, _, err := issuer.Issue(r.Context(), token.Claims{Subject: user, Session: "login-1"})
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		counts[user] = 0
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "access", Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("access")
		if err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		claims, err := verifier.Verify(r.Context(), c.Value)
		if err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		mu.Lock()
		counts[claims.Subject]++
		count := counts[claims.Subject]
		mu.Unlock()
		page.Write(w, r, claims.Subject, count)
	})
	return mux
}
