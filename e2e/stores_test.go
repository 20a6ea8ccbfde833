package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/internal/testenv"
)

// Helpers shared by the multi-process and outage tests: a part of the
// shared Redis or PostgreSQL server that is the test's own (a random key
// prefix or schema, removed when the test ends), a dump of everything in
// it, and a plain HTTP client that plays the browser.

// sharedStore is a part of a shared store server that belongs to one test.
type sharedStore struct {
	name string
	// spec is the --store value naming it.
	spec string
	// dump returns every key and value (Redis) or every row (PostgreSQL)
	// the test's part of the store holds, as text.
	dump func(t *testing.T) string
}

// sharedStores are the shared servers the multi-process test runs on.
var sharedStores = []struct {
	name string
	open func(t *testing.T) sharedStore
}{
	{"redis", openSharedRedis},
	{"postgres", openSharedPostgres},
}

// randomName returns prefix followed by 12 random hex digits.
func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// openSharedRedis gives the test a random key prefix on the test Redis
// server and deletes every key under it when the test ends.
func openSharedRedis(t *testing.T) sharedStore {
	t.Helper()
	base, prefix := testenv.RedisPrefix(t)
	opts, err := redis.ParseURL(base)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return sharedStore{
		name: "redis",
		spec: withQuery(t, base, "prefix", prefix),
		dump: func(t *testing.T) string {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := dumpRedis(ctx, client, prefix)
			if err != nil {
				t.Fatalf("dumping Redis keys %s*: %v", prefix, err)
			}
			return s
		},
	}
}

// redisKeys lists the keys that start with prefix (which holds no glob
// characters).
func redisKeys(ctx context.Context, c *redis.Client, prefix string) ([]string, error) {
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

// dumpRedis writes every key under prefix and its whole value, whatever its
// type, one key per line.
func dumpRedis(ctx context.Context, c *redis.Client, prefix string) (string, error) {
	keys, err := redisKeys(ctx, c, prefix)
	if err != nil {
		return "", err
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			return "", err
		}
		var v any
		switch typ {
		case "none":
			continue // expired since the scan
		case "string":
			v, err = c.Get(ctx, k).Result()
		case "hash":
			v, err = c.HGetAll(ctx, k).Result()
		case "list":
			v, err = c.LRange(ctx, k, 0, -1).Result()
		case "set":
			v, err = c.SMembers(ctx, k).Result()
		case "zset":
			v, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		default:
			return "", fmt.Errorf("key %q has type %s, which the dump cannot read: it would be incomplete", k, typ)
		}
		if err != nil && err != redis.Nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s (%s) = %q\n", k, typ, fmt.Sprint(v))
		// %q escapes bytes; keep the raw form too, for raw secrets.
		fmt.Fprintf(&b, "%s raw = %v\n", k, v)
	}
	return b.String(), nil
}

// openSharedPostgres gives the test a schema of its own on the test
// PostgreSQL database and drops it when the test ends.
func openSharedPostgres(t *testing.T) sharedStore {
	t.Helper()
	base, schema := testenv.PostgresSchema(t)
	return sharedStore{
		name: "postgres",
		spec: withQuery(t, base, "schema", schema),
		dump: func(t *testing.T) string {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := dumpPostgres(ctx, base, schema)
			if err != nil {
				t.Fatalf("dumping schema %s: %v", schema, err)
			}
			return s
		},
	}
}

// dumpPostgres writes every row of every table of schema as text.
func dumpPostgres(ctx context.Context, dbURL, schema string) (string, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, schema)
	if err != nil {
		return "", err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	if len(tables) == 0 {
		return "", fmt.Errorf("schema %s has no tables", schema)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := conn.Query(ctx, "SELECT t::text FROM "+pgx.Identifier{schema, table}.Sanitize()+" t")
		if err != nil {
			return "", err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return "", err
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "%s: %s\n", table, l)
		}
	}
	return b.String(), nil
}

// withQuery adds the query parameter name=value to rawURL.
func withQuery(t *testing.T, rawURL, name, value string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// secretForms returns the ways a token could appear in a store: as sent,
// and, when it is base64url, its bytes raw and in hex (PostgreSQL shows
// bytea as hex).
func secretForms(tok string) []string {
	forms := []string{tok}
	if raw, err := base64.RawURLEncoding.DecodeString(tok); err == nil && len(raw) >= 16 {
		forms = append(forms, string(raw), hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw))
	}
	return forms
}

// sessionHash is how a store names the session of a session token: the
// hex of its SHA-256.
func sessionHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// assertNoSecrets fails the test if any form of any named token is in dump.
func assertNoSecrets(t *testing.T, where, dump string, secrets map[string]string) {
	t.Helper()
	for name, tok := range secrets {
		if tok == "" {
			t.Errorf("%s: the test holds no %s to look for", where, name)
			continue
		}
		for _, f := range secretForms(tok) {
			if strings.Contains(dump, f) {
				t.Errorf("%s: the store holds the %s as the client holds it (%q…): a leaked dump is a usable credential", where, name, f[:min(len(f), 12)])
				break
			}
		}
	}
}

// agent is a plain HTTP client playing a browser. Cookie jars ignore
// ports, as browsers do, so one agent holds one set of cookies for every
// instance on 127.0.0.1. It follows no redirects, so that tests see them.
type agent struct {
	t      *testing.T
	client *http.Client
	// logs returns the servers' output, shown on failure.
	logs func() string
}

// hangTimeout is how long a request may take before the test calls it a
// hang.
const hangTimeout = 10 * time.Second

// newAgent returns a client with an empty cookie jar, as a new browser
// has. logs, when not nil, returns the servers' output for failures.
func newAgent(t *testing.T, logs func() string) *agent {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := newReplayer(t, logs)
	a.client.Jar = jar
	return a
}

// newReplayer returns a client without a cookie jar: it sends only the
// cookies a test gives it, as an attacker replaying a copy would.
func newReplayer(t *testing.T, logs func() string) *agent {
	return &agent{t: t, logs: logs, client: &http.Client{
		Timeout:       hangTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is an answer, its body read.
type response struct {
	*http.Response
	body    string
	latency time.Duration
}

func (r response) String() string {
	return fmt.Sprintf("%s %s: %d (Location %q) %q", r.Request.Method, r.Request.URL, r.StatusCode, r.Header.Get("Location"), truncate(r.body, 300))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// do sends req and reads the answer, failing the test on a transport error
// (a timeout of hangTimeout included: that is a hang).
func (b *agent) do(req *http.Request) response {
	b.t.Helper()
	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		b.fatalf("%s %s: no answer after %v: %v", req.Method, req.URL, time.Since(start).Round(time.Millisecond), err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return response{Response: resp, body: string(body), latency: time.Since(start)}
}

func (b *agent) fatalf(format string, args ...any) {
	b.t.Helper()
	if b.logs != nil {
		b.t.Fatalf(format+"\nserver logs:\n%s", append(args, b.logs())...)
	}
	b.t.Fatalf(format, args...)
}

// get sends a GET with the jar's cookies plus extra ones.
func (b *agent) get(u string, extra ...*http.Cookie) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range extra {
		req.AddCookie(c)
	}
	return b.do(req)
}

// post sends a urlencoded form.
func (b *agent) post(u string, form url.Values) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// api sends a JSON API request: body (if not nil) as JSON, bearer (if not
// empty) as the access token.
func (b *agent) api(method, u string, body any, bearer string) response {
	b.t.Helper()
	var r io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			b.t.Fatal(err)
		}
		r = strings.NewReader(string(j))
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return b.do(req)
}

// credentials of the test's user.
func credentials(user, pass string) url.Values {
	return url.Values{"username": {user}, "password": {pass}}
}

// register creates the account on base.
func (b *agent) register(base, user, pass string) {
	b.t.Helper()
	r := b.post(base+"/register", credentials(user, pass))
	if r.StatusCode != http.StatusSeeOther {
		b.fatalf("register: %v, want 303", r)
	}
}

// login logs in through a browser mode (cookie, session, jwt) on base and
// returns the cookies the answer set.
func (b *agent) login(base, mode, user, pass string) map[string]*http.Cookie {
	b.t.Helper()
	r := b.post(base+"/"+mode+"/login", credentials(user, pass))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/"+mode+"/profile" {
		b.fatalf("%s login: %v, want 303 to /%s/profile", mode, r, mode)
	}
	set := map[string]*http.Cookie{}
	for _, c := range r.Cookies() {
		set[c.Name] = c
	}
	return set
}

var welcomeRE = regexp.MustCompile(`welcome (\S+) with the count: (\d+)`)

// profile views base's MODE profile and checks that it greets user with
// count want. Extra cookies are sent beside the jar's.
func (b *agent) profile(base, mode, user string, want int, extra ...*http.Cookie) response {
	b.t.Helper()
	r := b.get(base+"/"+mode+"/profile", extra...)
	b.greets(mode+" profile on "+base, r, user, want)
	return r
}

// greets checks that r is a profile page greeting user with count want.
func (b *agent) greets(what string, r response, user string, want int) {
	b.t.Helper()
	if r.StatusCode != http.StatusOK {
		b.fatalf("%s: %v, want 200 with the count %d", what, r, want)
	}
	m := welcomeRE.FindStringSubmatch(r.body)
	if m == nil {
		b.fatalf("%s: no greeting in %q", what, truncate(r.body, 500))
	}
	if n, _ := strconv.Atoi(m[2]); m[1] != user || n != want {
		b.fatalf("%s: %q, want %q", what, m[0], fmt.Sprintf("welcome %s with the count: %d", user, want))
	}
}

// loggedOut checks that r sends the browser to the login page of mode.
func (b *agent) loggedOut(what string, r response, mode string) {
	b.t.Helper()
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/"+mode+"/login") {
		b.t.Errorf("%s: %v, want 303 to /%s/login", what, r, mode)
	}
}

// tokenPair is the body of an API login or refresh.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
}

// decodePair checks r is 200 with a token pair and returns it.
func (b *agent) decodePair(what string, r response) tokenPair {
	b.t.Helper()
	var p tokenPair
	if r.StatusCode != http.StatusOK {
		b.fatalf("%s: %v, want 200 with tokens", what, r)
	}
	if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.AccessToken == "" || p.RefreshToken == "" || p.TokenType != "Bearer" {
		b.fatalf("%s: body %q is not a token pair (%v)", what, truncate(r.body, 300), err)
	}
	return p
}

// me checks GET /api/me on base with access answers 200 for user.
func (b *agent) me(base, access, user string) {
	b.t.Helper()
	b.isMe("GET /api/me on "+base, b.api(http.MethodGet, base+"/api/me", nil, access), user)
}

// isMe checks that r is a 200 /api/me answer naming user.
func (b *agent) isMe(what string, r response, user string) {
	b.t.Helper()
	var body struct {
		Username string `json:"username"`
	}
	if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.body), &body) != nil || body.Username != user {
		b.fatalf("%s: %v, want 200 {username: %q}", what, r, user)
	}
}

// with returns the agent, with its cookies, reporting to t (a sub-test).
func (b *agent) with(t *testing.T) *agent {
	c := *b
	c.t = t
	return &c
}
