package server_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"sessionkit/server"
	"sessionkit/store/memstore"
)

// Embed the reference application in a program: build it on a store, then
// serve it like any http.Handler.
func ExampleNew() {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	srv, err := server.New(context.Background(), st, server.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"username": {"alice"}, "password": {"correct horse"}}.Encode()
	for _, path := range []string{"/register", "/register", "/cookie/login"} {
		resp, err := client.Post(ts.URL+path, "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprint(path, " ", resp.StatusCode, " ", resp.Header.Get("Location"))))
	}
	// Output:
	// /register 303 /?registered=1
	// /register 409
	// /cookie/login 303 /cookie/profile
}
