package cookie

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func BenchmarkSeal(b *testing.B) {
	r := mustRing(b, testKey("a", 1))
	value := bytes.Repeat([]byte("v"), 100)
	expires := testNow().Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Seal("session", value, expires); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	r := mustRing(b, testKey("a", 1))
	sealed := mustSeal(b, r, "session", bytes.Repeat([]byte("v"), 100))
	now := testNow()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Open("session", sealed, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCookieWriteRead measures a request that reads its cookie and
// writes it back, as a page that counts visits does.
func BenchmarkCookieWriteRead(b *testing.B) {
	c, err := New(mustRing(b, testKey("a", 1)), Options{Name: "session", MaxAge: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := c.Write(w, httptest.NewRequest(http.MethodGet, "/", nil), Value{Data: bytes.Repeat([]byte("v"), 100)}); err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	b.ReportAllocs()
	for b.Loop() {
		v, err := c.Read(r)
		if err != nil {
			b.Fatal(err)
		}
		w := httptest.NewRecorder()
		if err := c.Write(w, r, v); err != nil {
			b.Fatal(err)
		}
	}
}
