package session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// profile is a struct value as applications keep them: a few fields of
// several kinds.
type profile struct {
	Name    string
	Role    string
	Visits  int
	Since   time.Time
	Choices []string
}

// BenchmarkValueKinds measures a request through the middleware, on a
// memory store, whose handler reads one value and writes it back changed:
// a basic value (compact encoding) against a struct through each Codec, and
// a struct changed with Update. Requests go round 1,000 sessions, as the
// requests of many users do. The difference between the cases is what the
// codec costs per request.
func BenchmarkValueKinds(b *testing.B) {
	p := profile{Name: "alice", Role: "editor", Visits: 1, Since: time.Unix(1700000000, 0), Choices: []string{"dark", "compact"}}
	cases := []struct {
		name  string
		codec session.Codec
		h     http.HandlerFunc
	}{
		{"basic", nil, func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			name, _ := session.Get[string](s, "name")
			session.Put(s, "name", name)
			s.Increment("visits", 1)
		}},
		{"struct/json", session.JSONCodec{}, func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			v, _ := session.Get[profile](s, "profile")
			v.Visits++
			session.Put(s, "profile", v)
		}},
		{"struct/gob", session.GobCodec{}, func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			v, _ := session.Get[profile](s, "profile")
			v.Visits++
			session.Put(s, "profile", v)
		}},
		{"struct/json/update", session.JSONCodec{}, func(w http.ResponseWriter, r *http.Request) {
			session.Update(session.From(r), "profile", func(v profile) profile { v.Visits++; return v })
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			mem := memstore.New(memstore.Options{})
			b.Cleanup(func() { mem.Close() })
			mgr := mustNew(b, mem, session.Options{Codec: tc.codec})
			const users = 1000
			reqs := make([]*http.Request, users)
			create := mgr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := session.From(r)
				session.Put(s, "name", p.Name)
				s.Increment("visits", 1)
				session.Put(s, "profile", p)
			}))
			for i := range reqs {
				w := httptest.NewRecorder()
				create.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
				reqs[i] = httptest.NewRequest("GET", "/", nil)
				reqs[i].AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: mustToken(b, w.Result())})
			}
			h := mgr.Handler(tc.h)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, reqs[i%users])
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
				i++
			}
		})
	}
}
