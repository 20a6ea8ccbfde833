package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/token"
)

// startServe runs "sessionkit serve" in-process on a free port with args,
// and returns its base URL and a function that stops it (as SIGTERM would)
// and returns what serve returned.
func startServe(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	env := func(string) string { return "" }
	go func() {
		err := run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), env, strings.NewReader(""), io.Discard, pw)
		pw.Close()
		done <- err
	}()
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`addr=(http://\S+)`)
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
		if !sent {
			close(addr)
		}
	}()
	var base string
	select {
	case a, ok := <-addr:
		if !ok {
			cancel()
			t.Fatalf("serve ended before listening: %v", <-done)
		}
		base = a
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start listening within 30s")
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return base, stop
}

// TestServeLimits runs the real HTTP server: oversized headers answer 431
// and do not stop it from serving the next request, and it shuts down
// cleanly.
func TestServeLimits(t *testing.T) {
	base, stop := startServe(t, "--store", "memory:")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, header string, headerBytes int) int {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader("username=nobody&password=password+one"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if headerBytes > 0 {
			req.Header.Set(header, "a="+strings.Repeat("a", headerBytes))
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		name         string
		method, path string
		header       string
		bytes        int
		status       int
	}{
		{"no padding", "GET", "/livez", "", 0, http.StatusOK},
		{"28 KiB of headers", "GET", "/livez", "X-Padding", 28 << 10, http.StatusOK},
		{"33 KiB of headers", "GET", "/livez", "X-Padding", 33 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{"10 MB of headers", "GET", "/livez", "X-Padding", 10 << 20, http.StatusRequestHeaderFieldsTooLarge},
		{"40 KiB Cookie header on a profile", "GET", "/session/profile", "Cookie", 40 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{"40 KiB header on a login", "POST", "/cookie/login", "X-Padding", 40 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{"40 KiB Authorization header on the API", "GET", "/api/me", "Authorization", 40 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{"28 KiB Cookie header on a profile", "GET", "/cookie/profile", "Cookie", 28 << 10, http.StatusSeeOther},
		{"after the abuse", "GET", "/livez", "", 0, http.StatusOK},
	}
	for _, c := range cases {
		if got := send(c.method, c.path, c.header, c.bytes); got != c.status {
			t.Errorf("%s: %d, want %d", c.name, got, c.status)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("graceful shutdown returned %v", err)
	}
}

// TestServeRestartSQLite starts the server on a SQLite file, stops it, and
// starts it again: the account registered before the restart can log in.
func TestServeRestartSQLite(t *testing.T) {
	store := "sqlite:" + t.TempDir() + "/serve.db"
	base, stop := startServe(t, "--store", store)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(base, path string) int {
		t.Helper()
		resp, err := client.Post(base+path, "application/x-www-form-urlencoded",
			strings.NewReader("username=judy&password=password+ten"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(base, "/register"); s != http.StatusSeeOther {
		t.Fatalf("register: %d", s)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	base, _ = startServe(t, "--store", store)
	if s := post(base, "/cookie/login"); s != http.StatusSeeOther {
		t.Errorf("login after restart: %d, want 303", s)
	}
}

func TestServeUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
	}{
		{"no command", nil, nil, 2},
		{"unknown command", []string{"frobnicate"}, nil, 2},
		{"unknown flag", []string{"serve", "--nope"}, nil, 2},
		{"bad store kind", []string{"serve", "--store", "mysql://x"}, nil, 2},
		{"bad secure policy", []string{"serve", "--secure-cookies", "sometimes"}, nil, 2},
		{"bad proxy", []string{"serve", "--trusted-proxies", "not-an-ip"}, nil, 2},
		{"bad env", []string{"serve"}, map[string]string{"SESSIONKIT_LOG_LEVEL": "loud"}, 2},
		{"bad token algorithm", []string{"serve", "--token-algorithm", "none"}, nil, 2},
		{"negative cookie lifetime", []string{"serve", "--cookie-lifetime", "-1s"}, nil, 2},
		{"negative refresh lifetime", []string{"serve", "--refresh-lifetime", "-1h"}, nil, 2},
		{"negative reauth window", []string{"serve"}, map[string]string{"SESSIONKIT_REAUTH_WINDOW": "-5m"}, 2},
		{"negative shutdown timeout", []string{"serve", "--shutdown-timeout", "-1s"}, nil, 2},
		{"keys with a negative token lifetime", []string{"keys", "list", "--store", "memory:", "--access-token-lifetime", "-1m"}, nil, 2},
		{"sessions per user not a number", []string{"serve", "--max-sessions-per-user", "ten"}, nil, 2},
		{"keys without subcommand", []string{"keys"}, nil, 2},
		{"keys unknown subcommand", []string{"keys", "burn"}, nil, 2},
		{"keys rotate to none", []string{"keys", "rotate", "--store", "memory:", "--algorithm", "none"}, nil, 2},
		{"keys help", []string{"keys", "list", "--help"}, nil, 0},
		{"help", []string{"serve", "--help"}, nil, 0},
		{"top help", []string{"help"}, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr strings.Builder
			err := run(context.Background(), c.args, func(k string) string { return c.env[k] }, strings.NewReader(""), io.Discard, &stderr)
			var out strings.Builder
			if code := exitCode(err, &out); code != c.code {
				t.Errorf("exit code %d, want %d (err %v)", code, c.code, err)
			}
			if c.code != 0 && strings.Count(strings.TrimSpace(out.String()), "\n") != 0 {
				t.Errorf("error is not one line: %q", out.String())
			}
		})
	}
}

func TestEnvConfig(t *testing.T) {
	env := map[string]string{
		"SESSIONKIT_ADDR":            "127.0.0.1:9999",
		"SESSIONKIT_STORE":           "memory:",
		"SESSIONKIT_SECURE_COOKIES":  "always",
		"SESSIONKIT_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1",
		"SESSIONKIT_COOKIE_LIFETIME": "2h",

		"SESSIONKIT_MAX_CONCURRENT_LOGINS": "-1",
		"SESSIONKIT_MAX_SESSIONS_PER_USER": "3",
	}
	cfg, err := parseServeFlags([]string{"--addr", "127.0.0.1:7777"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:7777" {
		t.Errorf("flag did not win over the environment: addr %s", cfg.Addr)
	}
	if cfg.Store != "memory:" || cfg.SecureCookies.String() != "always" || cfg.CookieLifetime != 2*time.Hour {
		t.Errorf("environment not applied: %+v", cfg)
	}
	if len(cfg.TrustedProxies) != 2 || cfg.TrustedProxies[1].String() != "192.0.2.1/32" {
		t.Errorf("trusted proxies = %v", cfg.TrustedProxies)
	}
	if cfg.MaxConcurrentLogins != -1 || cfg.MaxSessionsPerUser != 3 {
		t.Errorf("limits from the environment: %d concurrent logins, %d sessions per user; want -1 and 3",
			cfg.MaxConcurrentLogins, cfg.MaxSessionsPerUser)
	}
	defaults, err := parseServeFlags(nil, func(string) string { return "" }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if defaults.MaxConcurrentLogins != server.DefaultMaxConcurrentLogins || defaults.MaxSessionsPerUser != server.DefaultMaxSessionsPerUser {
		t.Errorf("default limits: %d concurrent logins, %d sessions per user", defaults.MaxConcurrentLogins, defaults.MaxSessionsPerUser)
	}
}

// TestFlagsReachServerConfig: a flag's value goes as it is into
// server.Config, whose zero is the default and whose negative value is
// none: 0 on the command line (or in the environment) means the default,
// a negative value none or no limit.
func TestFlagsReachServerConfig(t *testing.T) {
	tests := []struct {
		args  []string
		env   map[string]string
		field string // of server.Config
		want  int64
		means string
	}{
		{nil, nil, "TokenLeeway", int64(token.DefaultLeeway), "the default, as the help shows it"},
		{[]string{"--token-leeway", "0"}, nil, "TokenLeeway", 0, "token.DefaultLeeway"},
		{[]string{"--token-leeway", "-1s"}, nil, "TokenLeeway", int64(-time.Second), "none"},
		{nil, nil, "RefreshGrace", int64(token.DefaultRefreshGrace), "the default, as the help shows it"},
		{[]string{"--refresh-grace", "0"}, nil, "RefreshGrace", 0, "token.DefaultRefreshGrace"},
		{nil, map[string]string{"SESSIONKIT_REFRESH_GRACE": "-1s"}, "RefreshGrace", int64(-time.Second), "none"},
		{nil, nil, "MaxConcurrentLogins", server.DefaultMaxConcurrentLogins, "the default, as the help shows it"},
		{[]string{"--max-concurrent-logins", "0"}, nil, "MaxConcurrentLogins", 0, "server.DefaultMaxConcurrentLogins"},
		{[]string{"--max-concurrent-logins", "-1"}, nil, "MaxConcurrentLogins", -1, "no limit"},
		{nil, nil, "MaxSessionsPerUser", server.DefaultMaxSessionsPerUser, "the default, as the help shows it"},
		{nil, map[string]string{"SESSIONKIT_MAX_SESSIONS_PER_USER": "0"}, "MaxSessionsPerUser", 0, "server.DefaultMaxSessionsPerUser"},
		{[]string{"--max-sessions-per-user", "-1"}, nil, "MaxSessionsPerUser", -1, "no limit"},
		{nil, nil, "SessionIdleTimeout", int64(server.DefaultSessionIdle), "the default, as the help shows it"},
		{[]string{"--session-idle-timeout", "-1s"}, nil, "SessionIdleTimeout", int64(-time.Second), "none"},
		{[]string{"--cookie-lifetime", "0"}, nil, "CookieLifetime", 0, "server.DefaultCookieLifetime"},
		{[]string{"--store-timeout", "0"}, nil, "StoreTimeout", 0, "server.DefaultStoreTimeout"},
	}
	for _, tt := range tests {
		name := strings.Join(tt.args, " ")
		for k, v := range tt.env {
			name += k + "=" + v
		}
		if name == "" {
			name = "no flags, " + tt.field
		}
		t.Run(name, func(t *testing.T) {
			cfg, err := parseServeFlags(tt.args, func(k string) string { return tt.env[k] }, io.Discard, io.Discard)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got := reflect.ValueOf(cfg.serverConfig()).FieldByName(tt.field).Int(); got != tt.want {
				t.Errorf("server.Config.%s = %d, want %d (%s)", tt.field, got, tt.want, tt.means)
			}
		})
	}
}

// TestKeysLeewayReachesRing: "keys" gives its --token-leeway to the ring
// as it is, so that 0 is the ring's default and a negative value none.
func TestKeysLeewayReachesRing(t *testing.T) {
	for _, tt := range []struct {
		flag string
		want time.Duration
	}{{"0", 0}, {"-1s", -time.Second}, {"5s", 5 * time.Second}} {
		kf, err := parseKeysFlags("list", []string{"--store", "memory:", "--token-leeway", tt.flag}, func(string) string { return "" }, io.Discard, io.Discard)
		if err != nil {
			t.Fatalf("--token-leeway %s: %v", tt.flag, err)
		}
		if got := kf.ringOptions().Leeway; got != tt.want {
			t.Errorf("--token-leeway %s: the ring's Leeway is %v, want %v", tt.flag, got, tt.want)
		}
	}
}

// TestServeMaxSessionsPerUser runs the server with --max-sessions-per-user
// 0 (the default, 10) and -1 (no limit), logs one user in eleven times
// through the API, and counts the user's logins that the store keeps.
func TestServeMaxSessionsPerUser(t *testing.T) {
	for _, tt := range []struct {
		flag string
		want int
	}{{"0", server.DefaultMaxSessionsPerUser}, {"-1", 11}} {
		t.Run(tt.flag, func(t *testing.T) {
			spec := sqliteStore(t)
			if r := cli(t, nil, "password one\n", "users", "add", "ann", "--store", spec); r.code != 0 {
				t.Fatalf("users add: %+v", r)
			}
			base, _ := startServe(t, "--store", spec, "--max-sessions-per-user", tt.flag)
			for i := range 11 {
				resp, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"username":"ann","password":"password one"}`))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("API login %d: %d", i+1, resp.StatusCode)
				}
			}
			if rows := listed(t, spec, "--user", "ann"); len(rows) != tt.want {
				t.Errorf("--max-sessions-per-user %s, after 11 logins: %d logins listed, want %d", tt.flag, len(rows), tt.want)
			}
		})
	}
}
