package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit/session"
)

// appendItem is a handler that adds the item named by the request's "sku"
// query parameter to the session's cart, with Update.
func appendItem(w http.ResponseWriter, r *http.Request) {
	sku := r.URL.Query().Get("sku")
	_, err := session.Update(session.From(r), "cart", func(c []cartItem) []cartItem {
		return append(c, cartItem{SKU: sku, Qty: 1})
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// serveOn runs h for target behind mgr (another instance, say) with the
// session token, and returns the status.
func serveOn(mgr *session.Manager, token, target string, h http.HandlerFunc) int {
	r := httptest.NewRequest("POST", "http://example.com"+target, nil)
	r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	w := httptest.NewRecorder()
	mgr.Handler(h).ServeHTTP(w, r)
	return w.Code
}

// Fifty concurrent read-modify-write appends through two Managers (two
// instances) on one store keep all fifty items: the losing saves apply
// their function again to the newest cart.
func TestUpdateKeepsConcurrentAppends(t *testing.T) {
	f := newFixture(t, session.Options{})
	other := mustNew(t, f.store, session.Options{Now: f.clock.Now})
	token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).SetUser("alice")
	}, ""))

	const n = 50
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		mgr := f.mgr
		if i%2 == 1 {
			mgr = other
		}
		wg.Go(func() { codes[i] = serveOn(mgr, token, fmt.Sprint("/add?sku=sku", i), appendItem) })
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("append %d answered %d", i, c)
		}
	}
	var cart []cartItem
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		cart, _ = session.Get[[]cartItem](session.From(r), "cart")
	}, token)
	var skus []string
	for _, it := range cart {
		skus = append(skus, it.SKU)
	}
	slices.Sort(skus)
	skus = slices.Compact(skus)
	if len(cart) != n || len(skus) != n {
		t.Errorf("the cart kept %d items (%d distinct) of %d appended", len(cart), len(skus), n)
	}
	if f.store.conflicts.Load() == 0 {
		t.Log("no save conflicted in this run; the appends did not overlap")
	}
}

// Update's function is applied again after a conflict, to the value the
// other request stored, and what it returned the first time is not kept.
func TestUpdateReappliesAfterConflict(t *testing.T) {
	f := newFixture(t, session.Options{})
	other := mustNew(t, f.store, session.Options{Now: f.clock.Now})
	token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		session.Put(session.From(r), "tags", []string{"a"})
	}, ""))

	calls := 0
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		got, err := session.Update(s, "tags", func(tags []string) []string {
			calls++
			return append(tags, "mine")
		})
		if err != nil || !slices.Equal(got, []string{"a", "mine"}) {
			t.Errorf("Update = %v, %v", got, err)
		}
		// Another instance saves first, while this request runs.
		serveOn(other, token, "/", func(w http.ResponseWriter, r *http.Request) {
			session.Update(session.From(r), "tags", func(tags []string) []string { return append(tags, "theirs") })
		})
	}, token)

	if calls != 2 {
		t.Errorf("the function ran %d times, want 2 (once, then again after the conflict)", calls)
	}
	var tags []string
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		tags, _ = session.Get[[]string](session.From(r), "tags")
	}, token)
	if want := []string{"a", "theirs", "mine"}; !slices.Equal(tags, want) {
		t.Errorf("tags = %v, want %v", tags, want)
	}
}

// A plain Put is last-write-wins: of two requests that read the same cart
// and Put it back with one more item, only the later save's item is kept.
// This is the behaviour the docs warn about and Update exists to avoid.
func TestPutIsLastWriteWins(t *testing.T) {
	f := newFixture(t, session.Options{})
	other := mustNew(t, f.store, session.Options{Now: f.clock.Now})
	token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		session.Put(session.From(r), "tags", []string{"a"})
	}, ""))
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		tags, _ := session.Get[[]string](s, "tags")
		session.Put(s, "tags", append(tags, "mine"))
		serveOn(other, token, "/", func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			tags, _ := session.Get[[]string](s, "tags")
			session.Put(s, "tags", append(tags, "theirs"))
		})
	}, token)
	var tags []string
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		tags, _ = session.Get[[]string](session.From(r), "tags")
	}, token)
	if want := []string{"a", "mine"}; !slices.Equal(tags, want) {
		t.Errorf("tags = %v, want %v (the later save's whole value)", tags, want)
	}
}
