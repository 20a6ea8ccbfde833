package storetest

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
)

// A backend's test that no session token reaches its storage drives a
// real session.Manager on it with BrowseSessions, reads back everything
// the backend wrote in its own way, and looks for every TokenSpellings of
// every token given (and for the SHA-256 ids of the live ones, so that
// the check can fail).

// BrowseSessions drives m through its HTTP middleware as browsers would, each
// session holding the value marker: a visitor's session; a session whose
// user logs in (Renew, then SetAuth) and views again; a login in a fresh
// browser; and a session that is ended (Destroy). It returns every token
// the browsers were given in a cookie, and the tokens of the sessions that
// are still live (the visitor's and alice's two logins).
func BrowseSessions(t testing.TB, m *session.Manager, marker string) (given, live []string) {
	t.Helper()
	put := func(w http.ResponseWriter, r *http.Request) {
		if err := session.Put(session.From(r), "note", marker); err != nil {
			t.Errorf("Put: %v", err)
		}
	}
	login := func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := s.Renew(r.Context()); err != nil {
			t.Errorf("Renew: %v", err)
		}
		s.SetAuth(session.Auth{User: "alice", AccountID: "account-alice"})
		put(w, r)
	}
	view := func(w http.ResponseWriter, r *http.Request) { session.From(r).Increment("views", 1) }
	logout := func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Destroy(r.Context()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	}
	serve := func(h http.HandlerFunc, token string) string {
		t.Helper()
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		r.Header.Set("User-Agent", "test-browser/1.0")
		if token != "" {
			r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
		}
		w := httptest.NewRecorder()
		m.Handler(h).ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("the manager answered %d: %s", w.Code, w.Body)
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == session.DefaultCookieName && c.Value != "" {
				if !slices.Contains(given, c.Value) {
					given = append(given, c.Value)
				}
				token = c.Value
			}
		}
		return token
	}

	visitor := serve(put, "")
	anonymous := serve(put, "")
	loggedIn := serve(login, anonymous)
	serve(view, loggedIn)
	second := serve(login, "")
	ended := serve(put, "")
	serve(logout, ended)

	if loggedIn == anonymous {
		t.Fatal("the login kept the visitor's token: Renew did not renew")
	}
	if len(given) != 5 {
		t.Fatalf("the browsers were given %d tokens, want 5 (one per session made or renewed): %q", len(given), given)
	}
	return given, []string{visitor, loggedIn, second}
}

// TokenSpellings returns the ways a token could be written into a store: its
// bytes (the 32 random ones the cookie's text encodes, and that text) raw,
// in hex of either case and in base64 of either alphabet, unpadded so that
// a padded copy is found too. The cookie's text is among them (raw text,
// and the random bytes in base64url).
func TokenSpellings(t testing.TB, tok string) []string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q is not 32 bytes in unpadded base64url (%d bytes, %v)", tok, len(raw), err)
	}
	var forms []string
	for _, b := range [][]byte{raw, []byte(tok)} {
		h := hex.EncodeToString(b)
		forms = append(forms, string(b), h, strings.ToUpper(h),
			base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b))
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}

// CheckDump checks dump, everything a backend holds as text, after
// BrowseSessions gave the tokens given, of which live still name a
// session: no spelling of any given token is in it, while the id of each
// live session (as idForm writes it: the backend's spelling of
// store.HashToken) and data (a value the sessions hold, as the backend
// writes it) are, so that a dump that misses what the store wrote fails.
func CheckDump(t testing.TB, dump string, given, live []string, idForm func(store.SessionID) string, data string) {
	t.Helper()
	for _, tok := range live {
		if id := idForm(store.HashToken(tok)); !strings.Contains(dump, id) {
			t.Errorf("the id of a live session (%s) is not in the dump: it does not show what the store wrote", id)
		}
	}
	if !strings.Contains(dump, data) {
		t.Errorf("the sessions' data (%q) is not in the dump: it does not show what the store wrote", data)
	}
	for i, tok := range given {
		for _, form := range TokenSpellings(t, tok) {
			if strings.Contains(dump, form) {
				t.Errorf("the store holds token %d of %d (as %q)", i+1, len(given), form)
				break
			}
		}
	}
	if t.Failed() {
		t.Logf("the dump:\n%q", dump)
	}
}
