package redisstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
)

// TestTokensAreNeverStored runs a session.Manager on the store as browsers
// would use it (a visitor's session, a login that renews its session, a
// login in a new browser, a logout), then reads every key under the
// store's prefix with its value: no session token a browser was given
// appears there in any spelling, while each live session's id (the SHA-256
// of its token, in hex) and the values put in the sessions do, which shows
// the dump holds what the store wrote.
func TestTokensAreNeverStored(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t, Options{})
	m, err := session.New(s, session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const marker = "marker-value-7f3a"
	given, live := browse(t, m, marker)
	if recs, err := m.Sessions(ctx, "alice"); err != nil || len(recs) != 2 {
		t.Fatalf("alice's sessions: %d, %v; want the 2 she logged in with", len(recs), err)
	}

	keys, err := keysUnder(ctx, c, s.prefix)
	if err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	for _, k := range keys {
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var val any
		switch typ {
		case "string":
			val, err = c.Get(ctx, k).Result()
		case "hash":
			val, err = c.HGetAll(ctx, k).Result()
		case "list":
			val, err = c.LRange(ctx, k, 0, -1).Result()
		case "set":
			val, err = c.SMembers(ctx, k).Result()
		case "zset":
			val, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		default:
			t.Fatalf("key %s has type %s, which this test does not read", k, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		// %v writes strings as their bytes, so a token kept as raw bytes
		// would be found too.
		fmt.Fprintf(&dump, "%s %s: %v\n", k, typ, val)
	}
	all := dump.String()
	for _, tok := range live {
		if id := store.HashToken(tok).String(); !strings.Contains(all, id) {
			t.Errorf("the id of a live session (%s) is not in Redis: the dump does not show what the store wrote", id)
		}
	}
	if !strings.Contains(all, marker) {
		t.Errorf("the value put in the sessions (%q) is not in Redis: the dump does not show the sessions' data", marker)
	}
	for i, tok := range given {
		for _, form := range spellings(t, tok) {
			if strings.Contains(all, form) {
				t.Errorf("Redis holds token %d of %d (as %q)", i+1, len(given), form)
				break
			}
		}
	}
	if t.Failed() {
		t.Logf("every key under the prefix:\n%q", all)
	}
}

// browse drives m through its HTTP middleware as browsers would, each
// session holding the value marker: a visitor's session; a session whose
// user logs in (Renew, then SetAuth) and views again; a login in a fresh
// browser; and a session that is ended (Destroy). It returns every token
// the browsers were given in a cookie, and the tokens of the sessions that
// are still live (the visitor's and alice's two logins).
func browse(t *testing.T, m *session.Manager, marker string) (given, live []string) {
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

// spellings returns the ways a token could be written into a store: its
// bytes (the 32 random ones the cookie's text encodes, and that text) raw,
// in hex of either case and in base64 of either alphabet, unpadded so that
// a padded copy is found too. The cookie's text is among them (raw text,
// and the random bytes in base64url).
func spellings(t *testing.T, tok string) []string {
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
