package cookie_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
)

func ExampleKeyRing_Seal() {
	// In a server, keys come from a store shared by every instance (see
	// store.Keys); here there is one, made on the spot.
	key, err := cookie.GenerateKey(time.Now())
	if err != nil {
		panic(err)
	}
	ring, err := cookie.NewKeyRing(key)
	if err != nil {
		panic(err)
	}

	sealed, err := ring.Seal("prefs", []byte("theme=dark"), time.Now().Add(time.Hour))
	if err != nil {
		panic(err)
	}
	value, err := ring.Open("prefs", sealed, time.Now())
	fmt.Printf("%s %v\n", value, err)

	// The value is bound to its cookie name, and it expires.
	_, err = ring.Open("session", sealed, time.Now())
	fmt.Println(err)
	_, err = ring.Open("prefs", sealed, time.Now().Add(2*time.Hour))
	fmt.Println(err)
	// Output:
	// theme=dark <nil>
	// cookie: invalid value
	// cookie: value expired
}

func ExampleNew() {
	key, err := cookie.GenerateKey(time.Now())
	if err != nil {
		panic(err)
	}
	ring, err := cookie.NewKeyRing(key)
	if err != nil {
		panic(err)
	}
	visits, err := cookie.New(ring, cookie.Options{Name: "visits", MaxAge: 24 * time.Hour})
	if err != nil {
		panic(err)
	}

	// A handler that counts a browser's visits in a sealed cookie.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := visits.Read(r)
		switch {
		case err == nil:
		case errors.Is(err, cookie.ErrNoCookie), errors.Is(err, cookie.ErrInvalid),
			errors.Is(err, cookie.ErrExpired), errors.Is(err, cookie.ErrRevoked):
			v = cookie.Value{} // start again
		default: // the deny list could not answer
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		n, _ := strconv.Atoi(string(v.Data))
		n++
		v.Data = strconv.AppendInt(nil, int64(n), 10)
		if err := visits.Write(w, r, v); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "visit %d", n)
	})

	// A browser: it sends back the cookies it was given.
	var jar []*http.Cookie
	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, c := range jar {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		jar = w.Result().Cookies()
		fmt.Println(w.Body.String())
	}

	// A client that edits its cookie starts again from 1.
	jar[0].Value = "MTAw" + jar[0].Value[4:]
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(jar[0])
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	fmt.Println(w.Body.String())
	// Output:
	// visit 1
	// visit 2
	// visit 3
	// visit 1
}

func ExampleNewKeyRing_rotation() {
	now := time.Now()
	k1, _ := cookie.GenerateKey(now)
	k2, _ := cookie.GenerateKey(now)

	// Before the rotation, k1 seals.
	before, _ := cookie.NewKeyRing(k1)
	old, _ := before.Seal("session", []byte("sealed with k1"), now.Add(time.Hour))

	// Rotation: k2 is added last, so it seals; k1 still opens.
	during, _ := cookie.NewKeyRing(k1, k2)
	v, err := during.Open("session", old, now)
	fmt.Printf("%s %v\n", v, err)
	fresh, _ := during.Seal("session", []byte("sealed with k2"), now.Add(time.Hour))

	// Once k1's values have expired, k1 is dropped; its values are refused.
	after, _ := cookie.NewKeyRing(k2)
	v, err = after.Open("session", fresh, now)
	fmt.Printf("%s %v\n", v, err)
	_, err = after.Open("session", old, now)
	fmt.Println(err)
	// Output:
	// sealed with k1 <nil>
	// sealed with k2 <nil>
	// cookie: invalid value
}
