package e2e

import (
	"net"
	"net/http"
	"path/filepath"
	"testing"
)

// Helpers for the tests of the account features: a client that connects
// from a chosen loopback address, so that the server (which trusts no
// proxy by default) counts its requests under that address.

// from returns a copy of the agent, with the same cookie jar (if any),
// whose connections come from the local address ip: an address of the
// loopback network such as 127.0.0.2, which Linux lets a socket bind
// without any setup. The server sees ip as the client's address.
func (b *agent) from(ip string) *agent {
	b.t.Helper()
	local := net.ParseIP(ip)
	if local == nil || !local.IsLoopback() {
		b.t.Fatalf("from(%q): want a loopback address", ip)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{LocalAddr: &net.TCPAddr{IP: local}, Timeout: hangTimeout}).DialContext,
		MaxIdleConnsPerHost: 8,
	}
	b.t.Cleanup(tr.CloseIdleConnections)
	c := *b
	client := *b.client
	client.Transport = tr
	c.client = &client
	return &c
}

// sharedOrSQLite is a store a test runs on: a SQLite file of its own, or
// its part of the shared Redis or PostgreSQL server.
type sharedOrSQLite struct {
	name string
	// open returns the --store value, skipping the test (failing it under
	// CI=true) when the server is unreachable.
	open func(t *testing.T) string
}

// allStores are SQLite, Redis and PostgreSQL.
var allStores = []sharedOrSQLite{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "sessionkit.db") }},
	{"redis", func(t *testing.T) string { return openSharedRedis(t).spec }},
	{"postgres", func(t *testing.T) string { return openSharedPostgres(t).spec }},
}
