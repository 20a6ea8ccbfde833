package bench_test

import (
	"encoding/gob"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// cartLine is a struct value as shops keep them in sessions.
type cartLine struct {
	SKU   string
	Name  string
	Qty   int
	Cents int64
}

// startCart is the cart every session of the benchmark begins with.
func startCart() []cartLine {
	return []cartLine{
		{"sku-1", "Apples, 1 kg", 1, 349},
		{"sku-2", "Pears, 1 kg", 2, 399},
		{"sku-3", "Oat milk", 1, 229},
	}
}

// bumpFirst adds one to the first line's quantity: a change that keeps the
// cart's size, so every iteration does the same work.
func bumpFirst(c []cartLine) []cartLine {
	if len(c) > 0 {
		c[0].Qty++
	}
	return c
}

// valueApp is one case of the value benchmark: create stores a session's
// first value, view reads it and writes it back changed, show writes the
// changed number.
type valueApp struct {
	create, view, show http.HandlerFunc
}

// routes mounts a's handlers.
func (a valueApp) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /create", a.create)
	mux.HandleFunc("GET /view", a.view)
	mux.HandleFunc("GET /show", a.show)
	return mux
}

// valueApps are the cases: a basic value (a count) against a slice of
// structs, in sessionkit (JSON codec, its default: Update, and Get then
// Put; and Get then Put with its gob codec) and in scs (gob, its only
// codec).
func valueApps() []struct {
	name  string
	build func(testing.TB) http.Handler
} {
	sessionkitWith := func(codec session.Codec, a valueApp) func(testing.TB) http.Handler {
		return func(tb testing.TB) http.Handler {
			st := memstore.New(memstore.Options{})
			tb.Cleanup(func() { st.Close() })
			mgr, err := session.New(st, session.Options{Codec: codec})
			if err != nil {
				tb.Fatal(err)
			}
			return mgr.Handler(a.routes())
		}
	}
	sessionkit := func(a valueApp) func(testing.TB) http.Handler { return sessionkitWith(nil, a) }
	scsApp := func(build func(sm *scs.SessionManager) valueApp) func(testing.TB) http.Handler {
		return func(testing.TB) http.Handler {
			sm := scs.New()
			return sm.LoadAndSave(build(sm).routes())
		}
	}
	skCount := func(w http.ResponseWriter, r *http.Request) { session.From(r).Increment("count", 1) }
	skPutCart := func(w http.ResponseWriter, r *http.Request) { session.Put(session.From(r), "cart", startCart()) }
	skGetPut := func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		c, _ := session.Get[[]cartLine](s, "cart")
		session.Put(s, "cart", bumpFirst(c))
	}
	skShowCart := func(w http.ResponseWriter, r *http.Request) {
		c, _ := session.Get[[]cartLine](session.From(r), "cart")
		fmt.Fprint(w, c[0].Qty)
	}
	return []struct {
		name  string
		build func(testing.TB) http.Handler
	}{
		{"sessionkit/basic", sessionkit(valueApp{skCount, skCount, func(w http.ResponseWriter, r *http.Request) {
			n, _ := session.Get[int64](session.From(r), "count")
			fmt.Fprint(w, n)
		}})},
		{"sessionkit/struct-update", sessionkit(valueApp{skPutCart, func(w http.ResponseWriter, r *http.Request) {
			session.Update(session.From(r), "cart", bumpFirst)
		}, skShowCart})},
		{"sessionkit/struct-get-put", sessionkit(valueApp{skPutCart, skGetPut, skShowCart})},
		{"sessionkit/struct-get-put-gob", sessionkitWith(session.GobCodec{}, valueApp{skPutCart, skGetPut, skShowCart})},
		{"scs-mem/basic", scsApp(func(sm *scs.SessionManager) valueApp {
			count := func(w http.ResponseWriter, r *http.Request) {
				sm.Put(r.Context(), "count", sm.GetInt64(r.Context(), "count")+1)
			}
			return valueApp{count, count, func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, sm.GetInt64(r.Context(), "count"))
			}}
		})},
		{"scs-mem/struct", scsApp(func(sm *scs.SessionManager) valueApp {
			return valueApp{
				func(w http.ResponseWriter, r *http.Request) { sm.Put(r.Context(), "cart", startCart()) },
				func(w http.ResponseWriter, r *http.Request) {
					c, _ := sm.Get(r.Context(), "cart").([]cartLine)
					sm.Put(r.Context(), "cart", bumpFirst(c))
				},
				func(w http.ResponseWriter, r *http.Request) {
					c, _ := sm.Get(r.Context(), "cart").([]cartLine)
					fmt.Fprint(w, c[0].Qty)
				},
			}
		})},
	}
}

// registerCart tells gob the cart's type: scs keeps values in a
// map[string]any, and gob must know a concrete type held in an interface.
// Registering the same type again is harmless.
func registerCart() { gob.Register([]cartLine{}) }

// newValueSessions creates n sessions on h and returns a view request
// carrying each one's cookies.
func newValueSessions(tb testing.TB, h http.Handler, path string, n int) []*http.Request {
	tb.Helper()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/create", nil))
		cookies := w.Result().Cookies()
		if w.Code != http.StatusOK || len(cookies) == 0 {
			tb.Fatalf("creating a session: %d, %d cookies", w.Code, len(cookies))
		}
		reqs[i] = httptest.NewRequest("GET", path, nil)
		for _, c := range cookies {
			reqs[i].AddCookie(c)
		}
	}
	return reqs
}

// BenchmarkSessionValues measures a request that reads a session value and
// writes it back changed, in process on a memory store, round 1,000
// sessions (the requests of many users). The ratio of struct to basic
// within one library is what its codec costs per request.
func BenchmarkSessionValues(b *testing.B) {
	registerCart()
	for _, tc := range valueApps() {
		b.Run(tc.name, func(b *testing.B) {
			h := tc.build(b)
			const users = 1000
			reqs := newValueSessions(b, h, "/view", users)
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

// Every case of BenchmarkSessionValues changes the value it should: three
// views of a session that began at 1 show 4.
func TestSessionValueApps(t *testing.T) {
	registerCart()
	for _, tc := range valueApps() {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.build(t)
			view := newValueSessions(t, h, "/view", 1)[0]
			for range 3 {
				h.ServeHTTP(httptest.NewRecorder(), view)
			}
			show := view.Clone(view.Context())
			show.URL.Path = "/show"
			w := httptest.NewRecorder()
			h.ServeHTTP(w, show)
			if w.Body.String() != "4" {
				t.Errorf("after three views the value is %q, want 4", w.Body.String())
			}
		})
	}
}
