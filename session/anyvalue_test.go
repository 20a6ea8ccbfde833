package session_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/session"
)

type cartItem struct {
	SKU   string
	Qty   int
	Added time.Time
}

type role string

type count int

// Values of any type survive the store: structs, slices, maps and named
// types come back typed on the next request, with either codec.
func TestAnyValueRoundTrip(t *testing.T) {
	when := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	cart := []cartItem{{"apple", 2, when}, {"pear", 1, when.Add(time.Hour)}}
	prefs := map[string]int{"font": 14, "zoom": 120}
	for _, codec := range []session.Codec{nil, session.JSONCodec{}, session.GobCodec{}} {
		name := "default"
		if codec != nil {
			name = reflect.TypeOf(codec).Name()
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, session.Options{Codec: codec})
			token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
				s := session.From(r)
				for _, err := range []error{
					session.Put(s, "cart", cart),
					session.Put(s, "item", cart[0]),
					session.Put(s, "ptr", &cart[1]),
					session.Put(s, "prefs", prefs),
					session.Put(s, "role", role("admin")),
					session.Put(s, "count", count(7)),
				} {
					if err != nil {
						t.Fatal(err)
					}
				}
			}, ""))
			f.serve(func(w http.ResponseWriter, r *http.Request) {
				s := session.From(r)
				if got, ok := session.Get[[]cartItem](s, "cart"); !ok || !reflect.DeepEqual(got, cart) {
					t.Errorf("cart = %v, %v; want %v", got, ok, cart)
				}
				if got, ok := session.Get[cartItem](s, "item"); !ok || got != cart[0] {
					t.Errorf("item = %v, %v; want %v", got, ok, cart[0])
				}
				if got, ok := session.Get[*cartItem](s, "ptr"); !ok || got == nil || *got != cart[1] {
					t.Errorf("ptr = %v, %v; want &%v", got, ok, cart[1])
				}
				if got, ok := session.Get[map[string]int](s, "prefs"); !ok || !reflect.DeepEqual(got, prefs) {
					t.Errorf("prefs = %v, %v; want %v", got, ok, prefs)
				}
				if got, ok := session.Get[role](s, "role"); !ok || got != "admin" {
					t.Errorf("role = %q, %v; want admin", got, ok)
				}
				if got, ok := session.Get[count](s, "count"); !ok || got != 7 {
					t.Errorf("count = %d, %v; want 7", got, ok)
				}
				if got, ok := session.Get[cartItem](s, "missing"); ok || got != (cartItem{}) {
					t.Errorf("missing key = %v, %v; want the zero value, false", got, ok)
				}
			}, token)
		})
	}
}

// A named type can be read as its basic type and the other way round,
// the way a program migrating from one to the other needs.
func TestNamedAndBasicTypesConvert(t *testing.T) {
	f := newFixture(t, session.Options{})
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		session.Put(s, "plain", "editor")
		session.Put(s, "named", role("admin"))
		session.Put(s, "n", 300)
		if got, ok := session.Get[role](s, "plain"); !ok || got != "editor" {
			t.Errorf("Get[role] of a string = %q, %v", got, ok)
		}
		if got, ok := session.Get[string](s, "named"); !ok || got != "admin" {
			t.Errorf("Get[string] of a role = %q, %v", got, ok)
		}
		if got, ok := session.Get[count](s, "n"); !ok || got != 300 {
			t.Errorf("Get[count] of an int = %d, %v", got, ok)
		}
		if got, ok := session.Get[int8](s, "n"); ok {
			t.Errorf("Get[int8] of 300 = %d, true; want false (it does not fit)", got)
		}
		if got, ok := session.Get[cartItem](s, "plain"); ok {
			t.Errorf("Get[cartItem] of a string = %v, true", got)
		}
		if got, ok := session.Get[[]cartItem](s, "named"); ok {
			t.Errorf("Get[[]cartItem] of a JSON string = %v, true", got)
		}
	}, "")
}

// What Get returns through the codec is the caller's own copy.
func TestAnyValueGetReturnsACopy(t *testing.T) {
	f := newFixture(t, session.Options{})
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		cart := []cartItem{{SKU: "apple", Qty: 1}}
		session.Put(s, "cart", cart)
		cart[0].Qty = 99
		got, _ := session.Get[[]cartItem](s, "cart")
		got[0].SKU = "changed"
		again, _ := session.Get[[]cartItem](s, "cart")
		if again[0].SKU != "apple" || again[0].Qty != 1 {
			t.Errorf("the stored cart changed through a caller's slice: %+v", again)
		}
	}, "")
}

// A value the codec cannot encode is refused with ErrCodec, and nothing
// changes.
func TestPutUnencodable(t *testing.T) {
	f := newFixture(t, session.Options{})
	resp := f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		err := session.Put(s, "ch", make(chan int))
		if !errors.Is(err, session.ErrCodec) {
			t.Errorf("Put of a channel = %v, want ErrCodec", err)
		}
		_, err = session.Update(s, "f", func(func()) func() { return func() {} })
		if !errors.Is(err, session.ErrCodec) {
			t.Errorf("Update to a func = %v, want ErrCodec", err)
		}
		if keys := s.Keys(); len(keys) != 0 {
			t.Errorf("after refused puts the session holds %v", keys)
		}
	}, "")
	if c := sessionCookie(resp); c != nil {
		t.Errorf("a session holding nothing set a cookie: %v", c)
	}
}

// The 64 KiB bound applies to codec values as to the others.
func TestAnyValueTooLarge(t *testing.T) {
	f := newFixture(t, session.Options{MaxDataBytes: 1024})
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		big := []string{strings.Repeat("x", 600), strings.Repeat("y", 600)}
		if err := session.Put(s, "big", big); !errors.Is(err, session.ErrTooLarge) {
			t.Errorf("Put of 1200 bytes with a 1024-byte limit = %v, want ErrTooLarge", err)
		}
		session.Put(s, "list", []string{strings.Repeat("x", 600)})
		_, err := session.Update(s, "list", func(l []string) []string { return append(l, strings.Repeat("y", 600)) })
		if !errors.Is(err, session.ErrTooLarge) {
			t.Errorf("Update past the limit = %v, want ErrTooLarge", err)
		}
		if l, _ := session.Get[[]string](s, "list"); len(l) != 1 {
			t.Errorf("a refused Update changed the list to %d items", len(l))
		}
	}, "")
}

func TestKeysAndClear(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.SetUser("alice")
		session.Put(s, "b", 1)
		session.Put(s, "a", "x")
		session.Put(s, "c", []int{1})
		if got, want := s.Keys(), []string{"a", "b", "c"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Keys = %v, want %v", got, want)
		}
	}, ""))
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Clear()
	}, token)
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if keys := s.Keys(); len(keys) != 0 {
			t.Errorf("after Clear the session holds %v", keys)
		}
		if s.User() != "alice" {
			t.Errorf("Clear logged the user out: user %q", s.User())
		}
	}, token)
}
