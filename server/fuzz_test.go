package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// The fuzz targets of the server run requests through Server.ServeHTTP
// directly, so that a header or body reaches the handlers with bytes that a
// real http.Server would refuse first. Each asserts what a user could
// notice: no 5xx, no login without the one right password or cookie, no
// redirect off the site. Seeds are in testdata/fuzz/<target>; the targets
// add the seeds that need this run's keys (valid cookies and tokens).

const (
	fuzzUser     = "alice"
	fuzzPassword = "correct horse battery"
)

// fuzzServer is a server on a memory store with one account, fuzzUser, and
// no login throttling (so that the fuzzer's thousands of failures do not
// turn every later login into a 429 that checks nothing).
func fuzzServer(t testing.TB) *Server {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	s, err := New(context.Background(), st, Config{
		PasswordParams: auth.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		Throttle:       auth.ThrottleOptions{PerUserAddress: -1, PerUser: -1, PerAddress: -1},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.accounts.Register(context.Background(), fuzzUser, fuzzPassword, ""); err != nil {
		t.Fatal(err)
	}
	return s
}

// serveFuzz runs one request through the whole handler chain.
func serveFuzz(s *Server, method, target, contentType, body, cookieHeader string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if cookieHeader != "" {
		r.Header["Cookie"] = []string{cookieHeader}
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// checkAnswer fails t when a response shows a server fault or sends the
// browser off the site.
func checkAnswer(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s: status %d: %q", what, w.Code, w.Body.String())
	}
	if loc := w.Header().Get("Location"); loc != "" && !isLocalPath(loc) {
		t.Fatalf("%s: redirect off the site: %q", what, loc)
	}
}

// rightCredentials reports whether a username and password are the one
// account's (usernames compare case-insensitively).
func rightCredentials(user, pass string) bool {
	return store.FoldName(user) == store.FoldName(fuzzUser) && pass == fuzzPassword
}

// FuzzLoginForm sends any body, under any Content-Type, as the login form.
// readCredentials either refuses it with a 400 or 413 and a sentence to
// show, or returns the first username and password of a urlencoded body,
// both non-empty. Every browser login route answers 303 to the profile only
// for the right credentials, and otherwise 400, 401 or 413 with the form.
func FuzzLoginForm(f *testing.F) {
	s := fuzzServer(f)
	f.Add("application/x-www-form-urlencoded", "username="+fuzzUser+"&password="+url.QueryEscape(fuzzPassword))
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := httptest.NewRequest(http.MethodPost, "/cookie/login", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		c, ferr := s.readCredentials(httptest.NewRecorder(), r)
		if ferr != nil {
			if ferr.Status != http.StatusBadRequest && ferr.Status != http.StatusRequestEntityTooLarge || ferr.Message == "" {
				t.Fatalf("readCredentials refused with %d %q", ferr.Status, ferr.Message)
			}
			if ferr.Status == http.StatusRequestEntityTooLarge && int64(len(body)) <= s.cfg.MaxBodyBytes {
				t.Fatalf("413 for a body of %d bytes", len(body))
			}
		} else {
			if c.Username == "" || c.Password == "" {
				t.Fatalf("accepted with an empty field: %+v", c)
			}
			mt, _, err := mime.ParseMediaType(contentType)
			if err != nil || mt != "application/x-www-form-urlencoded" {
				t.Fatalf("read a form from a body of type %q", contentType)
			}
			q, err := url.ParseQuery(body)
			if err != nil || q.Get("username") != c.Username || q.Get("password") != c.Password {
				t.Fatalf("read %+v, but the body parses to %v (%v)", c, q, err)
			}
		}

		right := ferr == nil && rightCredentials(c.Username, c.Password)
		for _, mode := range []string{"cookie", "session", "jwt"} {
			w := serveFuzz(s, http.MethodPost, "/"+mode+"/login", contentType, body, "")
			checkAnswer(t, mode+" login", w)
			switch {
			case right:
				if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/"+mode+"/profile" {
					t.Fatalf("%s login with the right credentials: %d %q", mode, w.Code, w.Header().Get("Location"))
				}
			case w.Code != http.StatusBadRequest && w.Code != http.StatusUnauthorized && w.Code != http.StatusRequestEntityTooLarge:
				t.Fatalf("%s login without the right credentials: status %d, want 400, 401 or 413", mode, w.Code)
			case len(w.Header().Values("Set-Cookie")) > 0:
				t.Fatalf("%s login without the right credentials set cookies %q", mode, w.Header().Values("Set-Cookie"))
			}
		}
	})
}

// FuzzJSONBody sends any body, under any Content-Type, to the JSON API.
// readJSON either refuses it (415, 413 or 400, as problem details) or has
// decoded exactly one JSON value, the same json.Unmarshal reads. The API
// logs in only with the right credentials and refreshes only with a token
// it issued; everything else is a 4xx problem.
func FuzzJSONBody(f *testing.F) {
	s := fuzzServer(f)
	var mu sync.Mutex
	issued := map[string]bool{}
	login := serveFuzz(s, http.MethodPost, "/api/login", "application/json",
		`{"username":"`+fuzzUser+`","password":"`+fuzzPassword+`"}`, "")
	var pair tokenResponse
	if err := json.Unmarshal(login.Body.Bytes(), &pair); err != nil || pair.RefreshToken == "" {
		f.Fatalf("API login: %d %q", login.Code, login.Body.String())
	}
	issued[pair.RefreshToken] = true
	f.Add("application/json", `{"refresh_token":"`+pair.RefreshToken+`"}`)

	type fields struct {
		Username     string `json:"username"`
		Password     string `json:"password"`
		RefreshToken string `json:"refresh_token"`
	}
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		var got fields
		if s.readJSON(w, r, &got) {
			mt, _, err := mime.ParseMediaType(contentType)
			if err != nil || mt != "application/json" {
				t.Fatalf("read JSON from a body of type %q", contentType)
			}
			var want fields
			if err := json.Unmarshal([]byte(body), &want); err != nil || want != got {
				t.Fatalf("readJSON read %+v; json.Unmarshal reads %+v (%v)", got, want, err)
			}
		} else {
			checkProblem(t, "readJSON", w, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
		}

		w = serveFuzz(s, http.MethodPost, "/api/login", contentType, body, "")
		checkAnswer(t, "API login", w)
		if w.Code == http.StatusOK {
			if !rightCredentials(got.Username, got.Password) {
				t.Fatalf("API login answered tokens for %+v", got)
			}
		} else {
			checkProblem(t, "API login", w, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
		}

		w = serveFuzz(s, http.MethodPost, "/api/refresh", contentType, body, "")
		checkAnswer(t, "API refresh", w)
		mu.Lock()
		defer mu.Unlock()
		if w.Code == http.StatusOK {
			var next tokenResponse
			if !issued[got.RefreshToken] || json.Unmarshal(w.Body.Bytes(), &next) != nil || next.RefreshToken == "" {
				t.Fatalf("API refresh answered %q for a token never issued: %q", w.Body.String(), got.RefreshToken)
			}
			issued[next.RefreshToken] = true
		} else {
			checkProblem(t, "API refresh", w, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
		}
	})
}

// checkProblem fails t unless w is problem details with one of statuses.
func checkProblem(t *testing.T, what string, w *httptest.ResponseRecorder, statuses ...int) {
	t.Helper()
	ok := false
	for _, s := range statuses {
		ok = ok || w.Code == s
	}
	var p problemDetails
	if !ok || w.Header().Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Status != w.Code {
		t.Fatalf("%s: %d %q %q, want problem details with a status in %v", what, w.Code, w.Header().Get("Content-Type"), w.Body.String(), statuses)
	}
}

// FuzzCookieHeader sends any Cookie header to every page that reads the
// login cookies. fuzzUser is logged in in each mode, and her cookies are
// seeds; a page shows her profile only when the header carries her cookie
// of that mode, verbatim, and greets nobody else. Other headers get the
// login page (303) or the login form, never a 5xx.
func FuzzCookieHeader(f *testing.F) {
	s := fuzzServer(f)
	valid := map[string]string{} // mode → the value of its login cookie
	header := []string{}
	for mode, name := range map[string]string{"cookie": "sk_cookie", "session": "sk_session", "jwt": accessCookie} {
		w := serveFuzz(s, http.MethodPost, "/"+mode+"/login", "application/x-www-form-urlencoded",
			"username="+fuzzUser+"&password="+url.QueryEscape(fuzzPassword), "")
		for _, c := range w.Result().Cookies() {
			if c.Name == name {
				valid[mode] = c.Value
				f.Add(c.Name + "=" + c.Value)
				f.Add(c.Name + `="` + c.Value + `"`)
				header = append(header, c.Name+"="+c.Value)
			}
		}
		if valid[mode] == "" {
			f.Fatalf("%s login set no %s cookie: %d %q", mode, name, w.Code, w.Header().Values("Set-Cookie"))
		}
	}
	f.Add(strings.Join(header, "; "))
	f.Add("sk_session=" + strings.Repeat("A", 43) + "; " + header[0])

	pages := []struct {
		path, mode string
	}{
		{"/cookie/profile", "cookie"}, {"/session/profile", "session"}, {"/jwt/profile", "jwt"},
		{"/cookie/login", ""}, {"/session/login", ""}, {"/jwt/login", ""}, {"/session/logout", ""},
	}
	f.Fuzz(func(t *testing.T, cookieHeader string) {
		for _, p := range pages {
			w := serveFuzz(s, http.MethodGet, p.path, "", "", cookieHeader)
			checkAnswer(t, p.path, w)
			if p.mode == "" {
				if w.Code != http.StatusOK && w.Code != http.StatusSeeOther {
					t.Fatalf("%s: status %d, want 200 or 303", p.path, w.Code)
				}
				continue
			}
			switch w.Code {
			case http.StatusOK:
				if !strings.Contains(cookieHeader, valid[p.mode]) {
					t.Fatalf("%s: a profile for a header without the login cookie: %q", p.path, cookieHeader)
				}
				if !strings.Contains(w.Body.String(), "welcome "+fuzzUser+" with the count: ") {
					t.Fatalf("%s: the profile does not greet %s: %q", p.path, fuzzUser, w.Body.String())
				}
			case http.StatusSeeOther:
				if !strings.HasPrefix(w.Header().Get("Location"), "/"+p.mode+"/") && !strings.HasPrefix(w.Header().Get("Location"), refreshPath) {
					t.Fatalf("%s: 303 to %q, want the mode's login", p.path, w.Header().Get("Location"))
				}
			default:
				t.Fatalf("%s: status %d, want 200 or 303", p.path, w.Code)
			}
		}
	})
}
