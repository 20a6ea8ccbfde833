package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
)

// TestRestartKeepsLogin closes the server and its database and opens them
// again, in each mode: the browser is still logged in, its count goes on,
// and the account survived. Nothing in the database files holds the cookie
// the browser has.
func TestRestartKeepsLogin(t *testing.T) {
	for mode, name := range cookieNames {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, "restart.db")
			st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ts := newServer(t, st, server.Config{})
			b := newBrowser(t, ts.URL)
			b.register("dave", "password four")
			b.login(mode, "dave", "password four")
			b.profile(mode)
			b.profile(mode)
			value := b.cookie(name)
			ts.Close()

			raw, _ := base64.RawURLEncoding.DecodeString(value)
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(data, []byte(value)) || len(raw) > 0 && bytes.Contains(data, raw) {
					t.Errorf("%s holds the cookie as the browser has it", filepath.Base(f))
				}
			}
			if mode == "session" {
				if _, err := st.Session(ctx, store.HashToken(value)); err != nil {
					t.Errorf("the session is not stored under the token's hash: %v", err)
				}
			}
			st.Close()

			ts2 := newServer(t, openSQLite(t, path), server.Config{})
			r := withCookie(t, ts2.URL, "/"+mode+"/profile", name+"="+value)
			if r.Status != http.StatusOK {
				t.Fatalf("after restart: %d %q, want 200", r.Status, r.Location)
			}
			if got := greeting(t, r.Body); got != "welcome dave with the count: 3" {
				t.Errorf("after restart: %q, want the count to go on at 3", got)
			}
			newBrowser(t, ts2.URL).login(mode, "dave", "password four")
		})
	}
}
