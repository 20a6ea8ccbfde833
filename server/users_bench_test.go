package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/store/redisstore"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
)

// benchUsers is how many distinct logged-in users BenchmarkProfileUsers
// spreads its requests over.
const benchUsers = 200

// BenchmarkProfileUsers measures profile views as users load a server:
// benchUsers distinct accounts, each logged in once, each request carrying
// the next user's cookies, on a memory store and on Redis (one round trip
// costs what it costs on loopback), and on SQLite (a durable save). Unlike BenchmarkProfile, no cache or
// combining of one session's requests can help.
func BenchmarkProfileUsers(b *testing.B) {
	benchProfileUsers(b, benchViews)
}

// BenchmarkProfileUsersParallel is BenchmarkProfileUsers with 32 requests
// in flight at once (16 goroutines a processor), as a loaded server has
// them: what the store can do for requests that arrive together (group
// commit, on SQLite) shows only here.
func BenchmarkProfileUsersParallel(b *testing.B) {
	benchProfileUsers(b, benchViewsParallel)
}

// benchProfileUsers logs in benchUsers users to each mode on each store
// and measures their profile views with views.
func benchProfileUsers(b *testing.B, views func(b *testing.B, srv http.Handler, reqs ...*http.Request)) {
	stores := []struct {
		name string
		open func(b *testing.B) server.Backend
	}{
		{"memory", func(b *testing.B) server.Backend {
			st := memstore.New(memstore.Options{})
			b.Cleanup(func() { st.Close() })
			return st
		}},
		{"sqlite", func(b *testing.B) server.Backend {
			st, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlitestore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
		{"redis", func(b *testing.B) server.Backend {
			url, prefix := testenv.RedisPrefix(b)
			st, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: prefix})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(b *testing.B) server.Backend { return openPostgresTB(b) }},
	}
	for _, st := range stores {
		for _, mode := range []string{"session", "cookie", "jwt"} {
			b.Run(st.name+"/"+mode, func(b *testing.B) {
				srv, err := server.New(context.Background(), st.open(b), server.Config{
					PasswordParams:      cheapParams,
					Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
					MaxConcurrentLogins: -1,
					Throttle:            auth.ThrottleOptions{PerAddress: -1},
				})
				if err != nil {
					b.Fatal(err)
				}
				reqs := make([]*http.Request, benchUsers)
				for i := range reqs {
					reqs[i] = profileRequest("/"+mode+"/profile", benchUserLogin(b, srv, fmt.Sprintf("user%03d", i), mode))
				}
				views(b, srv, reqs...)
			})
		}
	}
}

// benchViewsParallel sends the requests round robin from 16 goroutines a
// processor, each request a copy (handlers may change a request's
// fields), and fails on any answer but 200.
func benchViewsParallel(b *testing.B, srv http.Handler, reqs ...*http.Request) {
	b.ReportAllocs()
	b.SetParallelism(16)
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := reqs[int(next.Add(1))%len(reqs)]
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r.Clone(r.Context()))
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}

// benchUserLogin registers user and logs in to mode's form, in process,
// and returns the cookies the login set.
func benchUserLogin(b *testing.B, srv http.Handler, user, mode string) []*http.Cookie {
	b.Helper()
	form := "username=" + user + "&password=password+bench"
	var cookies []*http.Cookie
	for _, path := range []string{"/register", "/" + mode + "/login"} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", path, strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		srv.ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther {
			b.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
		}
		cookies = w.Result().Cookies()
	}
	return cookies
}
