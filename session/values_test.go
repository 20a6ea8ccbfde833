package session_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/session"
)

func TestTypedValuesRoundTrip(t *testing.T) {
	f := newFixture(t, session.Options{})
	when := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.UTC)
	token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		session.Put(s, "string", "héllo")
		session.Put(s, "bytes", []byte{0, 1, 2, 255})
		session.Put(s, "int", 42)
		session.Put(s, "int64", int64(-1<<62))
		session.Put(s, "bool", true)
		session.Put(s, "float", 3.25)
		session.Put(s, "time", when)
		session.Put(s, "", "empty key")
	}, ""))
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		check := func(key string, ok bool, got, want any) {
			t.Helper()
			if !ok {
				t.Errorf("%s: missing", key)
			}
			if g, isBytes := got.([]byte); isBytes {
				if !bytes.Equal(g, want.([]byte)) {
					t.Errorf("%s = %v, want %v", key, got, want)
				}
				return
			}
			if got != want {
				t.Errorf("%s = %v, want %v", key, got, want)
			}
		}
		str, ok := session.Get[string](s, "string")
		check("string", ok, str, "héllo")
		b, ok := session.Get[[]byte](s, "bytes")
		check("bytes", ok, b, []byte{0, 1, 2, 255})
		i, ok := session.Get[int](s, "int")
		check("int", ok, i, 42)
		i64, ok := session.Get[int64](s, "int")
		check("int as int64", ok, i64, int64(42))
		big, ok := session.Get[int64](s, "int64")
		check("int64", ok, big, int64(-1<<62))
		bl, ok := session.Get[bool](s, "bool")
		check("bool", ok, bl, true)
		fl, ok := session.Get[float64](s, "float")
		check("float", ok, fl, 3.25)
		tm, ok := session.Get[time.Time](s, "time")
		if !ok || !tm.Equal(when) {
			t.Errorf("time = %v, %v; want %v", tm, ok, when)
		}
		e, ok := session.Get[string](s, "")
		check("empty key", ok, e, "empty key")
		if v, ok := session.Get[string](s, "int"); ok || v != "" {
			t.Errorf("Get[string] of an int = %q, %v; want \"\", false", v, ok)
		}
		if _, ok := session.Get[int](s, "missing"); ok {
			t.Error("Get of a missing key reports ok")
		}
	}, token)
}

func TestPopShowsOnce(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		session.Put(s, "flash", "saved!")
		session.Put(s, "keep", 1)
	}, ""))
	var first, second string
	pop := func(dst *string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { *dst, _ = session.Pop[string](session.From(r), "flash") }
	}
	f.serve(pop(&first), token)
	f.serve(pop(&second), token)
	if first != "saved!" || second != "" {
		t.Errorf("pops gave %q then %q; want the message once", first, second)
	}
}

func TestGetReturnsACopy(t *testing.T) {
	f := newFixture(t, session.Options{})
	f.serve(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		in := []byte("abc")
		session.Put(s, "b", in)
		in[0] = 'X'
		out, _ := session.Get[[]byte](s, "b")
		out[1] = 'Y'
		again, _ := session.Get[[]byte](s, "b")
		if string(again) != "abc" {
			t.Errorf("the session's bytes changed through a caller's slice: %q", again)
		}
	}, "")
}
