package cookie_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/store/memstore"
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
		case cookie.IsUnauthenticated(err): // none, forged, expired or revoked
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

// A login cookie shared by the subdomains of a site: set by
// www.example.com, sent to api.example.com too, never to another site.
// SameSite=Strict keeps it off every request another site starts, links
// included. With a Domain the Secure cookie's name has the "__Secure-"
// prefix ("__Host-" forbids a Domain).
func Example_subdomains() {
	key, err := cookie.GenerateKey(time.Now())
	if err != nil {
		panic(err)
	}
	ring, err := cookie.NewKeyRing(key)
	if err != nil {
		panic(err)
	}
	login, err := cookie.New(ring, cookie.Options{
		Name:   "login",
		MaxAge: 8 * time.Hour,
		Policy: cookie.Policy{
			Secure:   cookie.SecureAlways,
			Domain:   "example.com",
			SameSite: http.SameSiteStrictMode,
		},
	})
	if err != nil {
		panic(err)
	}

	// www.example.com logs alice in.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "https://www.example.com/login", nil)
	if err := login.Write(w, r, cookie.Value{Data: []byte("alice")}); err != nil {
		panic(err)
	}
	// What the browser receives, but for the sealed value and the dates.
	for attr := range strings.SplitSeq(w.Header().Get("Set-Cookie"), "; ") {
		switch name, _, _ := strings.Cut(attr, "="); name {
		case "Expires", "Max-Age":
		case "__Secure-login":
			fmt.Println(name + "=…")
		default:
			fmt.Println(attr)
		}
	}

	// The browser sends it to api.example.com, which reads it.
	jar, _ := cookiejar.New(nil)
	www, _ := url.Parse("https://www.example.com/")
	api, _ := url.Parse("https://api.example.com/me")
	other, _ := url.Parse("https://example.org/")
	jar.SetCookies(www, w.Result().Cookies())
	r = httptest.NewRequest(http.MethodGet, api.String(), nil)
	for _, c := range jar.Cookies(api) {
		r.AddCookie(c)
	}
	v, err := login.Read(r)
	fmt.Printf("api.example.com: %s %v\n", v.Data, err)
	fmt.Println("example.org gets", len(jar.Cookies(other)), "cookies")

	// SameSite=None would need Secure: SecureAlways; New says so.
	_, err = cookie.New(ring, cookie.Options{Name: "embed", MaxAge: time.Hour, Policy: cookie.Policy{SameSite: http.SameSiteNoneMode}})
	fmt.Println(errors.Is(err, cookie.ErrPolicy))
	// Output:
	// __Secure-login=…
	// Path=/
	// Domain=example.com
	// HttpOnly
	// Secure
	// SameSite=Strict
	// api.example.com: alice <nil>
	// example.org gets 0 cookies
	// true
}

// A handler sorts the errors of Read: a user without a valid cookie is
// sent to log in, but a deny list that cannot answer (here, because the
// request's deadline has passed) gets a 503, so the user can try again
// without being logged out.
func ExampleIsUnauthenticated() {
	deny := memstore.New(memstore.Options{})
	defer deny.Close()
	key, _ := cookie.GenerateKey(time.Now())
	ring, _ := cookie.NewKeyRing(key)
	login, err := cookie.New(ring, cookie.Options{Name: "login", MaxAge: time.Hour, DenyList: deny})
	if err != nil {
		panic(err)
	}

	profile := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := login.Read(r)
		switch {
		case cookie.IsUnauthenticated(err): // no cookie, forged, expired or revoked
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		case err != nil: // the deny list did not answer
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "welcome %s", v.Data)
	})
	show := func(r *http.Request) {
		w := httptest.NewRecorder()
		profile.ServeHTTP(w, r)
		if loc := w.Header().Get("Location"); loc != "" {
			fmt.Println(w.Code, "to", loc)
			return
		}
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}

	w := httptest.NewRecorder()
	if err := login.Write(w, httptest.NewRequest(http.MethodPost, "/login", nil), cookie.Value{Data: []byte("alice")}); err != nil {
		panic(err)
	}
	valid := w.Result().Cookies()[0]
	forged := &http.Cookie{Name: valid.Name, Value: "alice"}

	for _, c := range []*http.Cookie{nil, forged, valid} {
		r := httptest.NewRequest(http.MethodGet, "/profile", nil)
		if c != nil {
			r.AddCookie(c)
		}
		show(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/profile", nil)
	r.AddCookie(valid)
	show(r)
	// Output:
	// 303 to /login
	// 303 to /login
	// 200 welcome alice
	// 503 try again
}
