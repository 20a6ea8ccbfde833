package cookie_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sessionkit/sessionkit/cookie"
)

// With chi: a middleware installed with router.Use opens a sealed cookie
// of preferences for every route, and a route parameter chooses the value
// to seal. The server keeps nothing; the browser can neither read nor
// change the cookie.
func Example_chi() {
	key, err := cookie.GenerateKey(time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}
	ring, err := cookie.NewKeyRing(key)
	if err != nil {
		fmt.Println(err)
		return
	}
	prefs, err := cookie.New(ring, cookie.Options{Name: "prefs", MaxAge: 365 * 24 * time.Hour})
	if err != nil {
		fmt.Println(err)
		return
	}

	type themeKey struct{}
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			theme := "light"
			// Without a DenyList, Read fails only with ErrNoCookie,
			// ErrInvalid or ErrExpired: all mean "no preference".
			if v, err := prefs.Read(r); err == nil {
				theme = string(v.Data)
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), themeKey{}, theme)))
		})
	})
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "theme %s", r.Context().Value(themeKey{}))
	})
	r.Post("/theme/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "name")
		if name != "light" && name != "dark" {
			http.Error(w, "unknown theme "+name, http.StatusBadRequest)
			return
		}
		if err := prefs.Write(w, r, cookie.Value{Data: []byte(name)}); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})

	srv := httptest.NewServer(r)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar} // follows redirects
	for _, step := range []struct{ method, path string }{
		{"GET", "/"},
		{"POST", "/theme/dark"},
		{"POST", "/theme/neon"},
		{"GET", "/"},
	} {
		req, _ := http.NewRequest(step.method, srv.URL+step.path, nil)
		resp, err := browser.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %s: %d %s\n", step.method, step.path, resp.StatusCode, strings.TrimSuffix(string(body), "\n"))
	}
	// Output:
	// GET /: 200 theme light
	// POST /theme/dark: 200 theme dark
	// POST /theme/neon: 400 unknown theme neon
	// GET /: 200 theme dark
}
