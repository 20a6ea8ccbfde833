package session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// A page that counts a browser's visits, and a login that renews the
// session before recording the user.
func Example() {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	mgr, err := session.New(st, session.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		// (check the password first)
		if err := s.Renew(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		s.SetUser("alice")
		session.Put(s, "flash", "welcome back")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		n := s.Increment("views", 1)
		flash, _ := session.Pop[string](s, "flash")
		fmt.Fprintf(w, "%s: view %d %s", s.User(), n, flash)
	})
	srv := httptest.NewServer(mgr.Handler(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for _, req := range []func() (*http.Response, error){
		func() (*http.Response, error) { return client.Post(srv.URL+"/login", "", nil) },
		func() (*http.Response, error) { return client.Get(srv.URL + "/") },
	} {
		resp, err := req()
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// alice: view 1 welcome back
	// alice: view 2
}
