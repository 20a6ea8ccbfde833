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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
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

// Serve the server's metrics from a program's own registry, beside the
// program's metrics: GET /metrics then shows both, and so does any other
// exporter of the registry.
func ExampleConfig_metrics() {
	reg := prometheus.NewRegistry()
	jobs := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_jobs_total", Help: "Jobs the program ran."})
	reg.MustRegister(jobs)

	st := memstore.New(memstore.Options{})
	defer st.Close()
	srv, err := server.New(context.Background(), st, server.Config{
		Metrics: reg,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	form := url.Values{"username": {"alice"}, "password": {"wrong password"}}.Encode()
	resp, err := http.Post(ts.URL+"/session/login", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	jobs.Inc()

	resp, err = http.Get(ts.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "app_jobs_total ") || strings.HasPrefix(line, `sessionkit_logins_total{mode="session",result="failed"}`) {
			fmt.Println(line)
		}
	}
	// Output:
	// app_jobs_total 1
	// sessionkit_logins_total{mode="session",result="failed"} 1
}
