package cookie_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// A plain net/http application whose login lives in a sealed cookie: a
// middleware opens the cookie and puts the user in the request's context,
// or sends the browser to the login page. With a deny list, logout revokes
// the value, so a copy of the cookie taken before logout is refused too.
func Example_netHTTP() {
	st := memstore.New(memstore.Options{}) // any store: it keeps the deny list
	defer st.Close()
	// A real server keeps its keys in the store, so that a restart or a
	// second instance opens the same cookies (see store.Keys); here there
	// is one, made on the spot.
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
	login, err := cookie.New(ring, cookie.Options{Name: "login", MaxAge: 24 * time.Hour, DenyList: st})
	if err != nil {
		fmt.Println(err)
		return
	}

	type userKey struct{}
	// authenticated lets a request through with a valid login cookie.
	authenticated := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, err := login.Read(r)
			switch {
			case err == nil:
			case cookie.IsUnauthenticated(err): // none, forged, expired or revoked
				http.Redirect(w, r, "/login", http.StatusSeeOther) // not logged in
				return
			default: // the deny list did not answer: not the user's fault
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			ctx := context.WithValue(r.Context(), userKey{}, string(v.Data))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("password") != "correct horse" { // check it with auth.Accounts
			http.Error(w, "invalid username or password", http.StatusUnauthorized)
			return
		}
		// A zero Value gets a new ID and expires MaxAge from now.
		if err := login.Write(w, r, cookie.Value{Data: []byte(r.PostFormValue("username"))}); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/profile", http.StatusSeeOther)
	})
	mux.Handle("GET /profile", authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "welcome %s", r.Context().Value(userKey{}))
	})))
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := login.Revoke(w, r); err != nil { // the cookie is kept: try again
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A browser that keeps cookies and shows redirects instead of following
	// them.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	show := func(resp *http.Response, err error) {
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if loc := resp.Header.Get("Location"); loc != "" {
			fmt.Println(resp.StatusCode, "to", loc)
			return
		}
		fmt.Println(resp.StatusCode, string(body))
	}

	show(browser.Get(srv.URL + "/profile"))
	show(browser.PostForm(srv.URL+"/login", url.Values{"username": {"alice"}, "password": {"correct horse"}}))
	show(browser.Get(srv.URL + "/profile"))

	u, _ := url.Parse(srv.URL)
	stolen := jar.Cookies(u) // a copy of the login cookie, taken before logout
	show(browser.Post(srv.URL+"/logout", "", nil))
	show(browser.Get(srv.URL + "/profile"))

	replay, _ := http.NewRequest(http.MethodGet, srv.URL+"/profile", nil)
	for _, c := range stolen {
		replay.AddCookie(c)
	}
	show(http.DefaultTransport.RoundTrip(replay))
	// Output:
	// 303 to /login
	// 303 to /profile
	// 200 welcome alice
	// 303 to /login
	// 303 to /login
	// 303 to /login
}
