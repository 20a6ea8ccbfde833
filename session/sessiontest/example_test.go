package sessiontest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/session/sessiontest"
)

// Item is a line of a shopping cart kept in the session.
type Item struct {
	Name string
	Qty  int
}

// addToCart is the handler under test: it appends the posted item to the
// session's cart.
func addToCart(w http.ResponseWriter, r *http.Request) {
	s := session.From(r)
	item := Item{Name: r.PostFormValue("name"), Qty: 1}
	cart, err := session.Update(s, "cart", func(cart []Item) []Item {
		return append(cart, item)
	})
	if err != nil {
		http.Error(w, "cannot add to the cart", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "%s, your cart has %d lines", s.User(), len(cart))
}

// A test of the cart handler, as it reads in a test function: the fixture
// holds a session of alice's with a cart, the handler runs with it, and
// the test reads the cart the handler left.
func Example() {
	t := &exampleT{} // in a test function, its t
	defer t.cleanup()

	f := sessiontest.New(t, session.Options{})
	f.Set(func(s *session.Session) error {
		s.SetUser("alice")
		return session.Put(s, "cart", []Item{{Name: "apple", Qty: 2}})
	})

	r := httptest.NewRequest(http.MethodPost, "/cart", strings.NewReader(url.Values{"name": {"pear"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := f.Serve(http.HandlerFunc(addToCart), r)
	fmt.Println(resp.Code, resp.Body.String())

	s := f.Session()
	cart, _ := session.Get[[]Item](s, "cart")
	fmt.Println("user:", s.User())
	for _, it := range cart {
		fmt.Println("cart:", it.Qty, it.Name)
	}
	// Output:
	// 200 alice, your cart has 2 lines
	// user: alice
	// cart: 2 apple
	// cart: 1 pear
}

// exampleT stands in for the *testing.T that a test function is given and
// an Example is not.
type exampleT struct {
	testing.TB // only the methods below are called
	cleanups   []func()
}

func (t *exampleT) Helper()           {}
func (t *exampleT) Cleanup(fn func()) { t.cleanups = append(t.cleanups, fn) }
func (t *exampleT) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
