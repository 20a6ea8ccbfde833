package token_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// jwksServer serves the JWKS of the keys it is given, and counts the
// requests it answers.
type jwksServer struct {
	*httptest.Server
	jwks     atomic.Pointer[[]byte]
	status   atomic.Int64 // 0: 200 with the JWKS
	requests atomic.Int64
}

func newJWKSServer(t *testing.T, keys ...store.Key) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.serve(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if code := s.status.Load(); code != 0 {
			http.Error(w, "down", int(code))
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(*s.jwks.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

// serve makes the server publish the public keys of keys.
func (s *jwksServer) serve(t *testing.T, keys ...store.Key) {
	t.Helper()
	b, err := keySetOf(t, keys...).JWKS(t0)
	if err != nil {
		t.Fatal(err)
	}
	s.serveRaw(b)
}

func (s *jwksServer) serveRaw(b []byte) { s.jwks.Store(&b) }

func (s *jwksServer) url() string { return s.URL + "/.well-known/jwks.json" }

// remoteKeys returns the RemoteKeys of s, closed when the test ends.
func remoteKeys(t *testing.T, s *jwksServer, opts token.RemoteOptions) *token.RemoteKeys {
	t.Helper()
	r, err := token.NewRemoteKeys(context.Background(), s.url(), opts)
	if err != nil {
		t.Fatalf("NewRemoteKeys: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// signedBy returns an access token signed by sk now.
func signedBy(t *testing.T, sk store.Key, sub string) string {
	t.Helper()
	tok, _ := issue(t, mustIssuer(t, keySetOf(t, sk), token.IssuerOptions{}), sub, "login-1")
	return tok
}

// forgedKID returns a token signed by a key of the attacker's, naming kid.
func forgedKID(t *testing.T, attacker ed25519.PrivateKey, kid string) string {
	t.Helper()
	return sign(t, jwt.SigningMethodEdDSA, attacker, accessHeader(kid, nil), accessClaims(time.Now(), nil))
}

func TestRemoteKeysVerify(t *testing.T) {
	ctx := context.Background()
	ed, es, rs := cachedKey(t, token.EdDSA, 0, t0), cachedKey(t, token.ES256, 0, t0), cachedKey(t, token.RS256, 0, t0)
	srv := newJWKSServer(t, ed, es, rs)
	keys := remoteKeys(t, srv, token.RemoteOptions{})
	if n := len(keys.KeySet().Keys()); n != 3 {
		t.Fatalf("%d keys; want 3", n)
	}
	v := mustVerifier(t, keys, token.VerifierOptions{})
	for _, sk := range []store.Key{ed, es, rs} {
		tok := signedBy(t, sk, "alice")
		c := mustVerify(t, v, tok)
		if c.Subject != "alice" || c.KeyID != sk.ID {
			t.Errorf("claims %+v; want alice's, kid %s", c, sk.ID)
		}
		// Every check of Verify holds: a changed signature is refused.
		_, err := v.Verify(ctx, flipBit(t, tok, 2, 0))
		wantRejected(t, err, "signature")
	}
	// The algorithm is pinned by the published key.
	_, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, material(t, es), accessHeader(ed.ID, nil), accessClaims(time.Now(), nil)))
	wantRejected(t, err, "differs")
	// Other issuers and audiences are refused.
	other := mustVerifier(t, keys, token.VerifierOptions{Audience: "another-api"})
	_, err = other.Verify(ctx, signedBy(t, ed, "alice"))
	wantRejected(t, err, "audience")
	// Public keys cannot sign.
	if _, _, err := mustIssuer(t, keys, token.IssuerOptions{}).Issue(ctx, token.Claims{Subject: "alice", Session: "s"}); !errors.Is(err, token.ErrNoKey) {
		t.Errorf("Issue with remote keys: %v; want ErrNoKey", err)
	}
	if got := srv.requests.Load(); got != 1 {
		t.Errorf("%d requests; want the first fetch only", got)
	}
}

// TestRemoteKeysRotation: a token signed by a key the server added since
// the last fetch verifies at once: the unknown kid makes RemoteKeys fetch
// the JWKS again, without waiting for the refresh interval.
func TestRemoteKeysRotation(t *testing.T) {
	k1, k2 := cachedKey(t, token.EdDSA, 0, t0), cachedKey(t, token.EdDSA, 1, t0)
	srv := newJWKSServer(t, k1)
	keys := remoteKeys(t, srv, token.RemoteOptions{RefreshInterval: time.Hour})
	v := mustVerifier(t, keys, token.VerifierOptions{})
	mustVerify(t, v, signedBy(t, k1, "alice"))

	srv.serve(t, k1, k2)
	if c := mustVerify(t, v, signedBy(t, k2, "bob")); c.Subject != "bob" || c.KeyID != k2.ID {
		t.Errorf("claims %+v; want bob's, kid %s", c, k2.ID)
	}
	mustVerify(t, v, signedBy(t, k1, "alice"))
	if got := srv.requests.Load(); got != 2 {
		t.Errorf("%d requests; want 2: the first fetch and one for the new kid", got)
	}
}

// TestRemoteKeysUnknownKIDs: a burst of tokens naming made-up kids costs
// the JWKS server at most a few requests, not one each, and the tokens
// are refused as invalid.
func TestRemoteKeysUnknownKIDs(t *testing.T) {
	k1 := cachedKey(t, token.EdDSA, 0, t0)
	srv := newJWKSServer(t, k1)
	keys := remoteKeys(t, srv, token.RemoteOptions{})
	v := mustVerifier(t, keys, token.VerifierOptions{})
	_, attacker, _ := ed25519.GenerateKey(rand.Reader)

	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range errs {
		tok := forgedKID(t, attacker, newKID(t))
		wg.Go(func() {
			_, errs[i] = v.Verify(context.Background(), tok)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, token.ErrInvalid) || !strings.Contains(err.Error(), "unknown kid") {
			t.Errorf("token %d: %v; want refused for its unknown kid", i, err)
		}
	}
	if got := srv.requests.Load(); got > 3 {
		t.Errorf("100 unknown kids made %d requests; want at most 3", got)
	}
	mustVerify(t, v, signedBy(t, k1, "alice"))
}

// newKID returns a random kid.
func newKID(t *testing.T) string {
	t.Helper()
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return b64(b[:])
}

// TestRemoteKeysStartFails: NewRemoteKeys fails, saying why, when the
// first fetch does not give a JWKS of public signing keys.
func TestRemoteKeysStartFails(t *testing.T) {
	ed := cachedKey(t, token.EdDSA, 0, t0)
	edPublic := publicJWK(t, ed.Secret)
	set := func(keys ...any) []byte {
		b, err := json.Marshal(map[string]any{"keys": keys})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	private := func(sk store.Key) json.RawMessage { return json.RawMessage(sk.Secret) }
	without := func(jwk map[string]any, member string) map[string]any {
		out := map[string]any{}
		for k, v := range jwk {
			if k != member {
				out[k] = v
			}
		}
		return out
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name   string
		url    string // when not empty: instead of the test server's
		status int
		body   []byte
		why    string
	}{
		{"server down", closed.URL + "/jwks.json", 0, nil, "connect"},
		{"status 503", "", http.StatusServiceUnavailable, nil, "503"},
		{"status 404", "", http.StatusNotFound, nil, "404"},
		{"not JSON", "", 0, []byte("<html>"), "decode"},
		{"no keys", "", 0, set(), "no key"},
		{"a private key", "", 0, set(private(ed)), "not a public key"},
		{"a symmetric key", "", 0, set(private(cachedKey(t, token.HS256, 0, t0))), "not a public key"},
		{"a key without kid", "", 0, set(without(edPublic, "kid")), "without a kid"},
		{"a key without alg", "", 0, set(without(edPublic, "alg")), "unsupported algorithm"},
		{"too large", "", 0, set(edPublic, map[string]any{"kty": "OKP", "pad": strings.Repeat("x", 2<<20)}), "too large"},
		{"not a URL", "jwks.json", 0, nil, "not an http or https URL"},
		{"a file URL", "file:///etc/jwks.json", 0, nil, "not an http or https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newJWKSServer(t, ed)
			srv.status.Store(int64(tt.status))
			if tt.body != nil {
				srv.serveRaw(tt.body)
			}
			u := srv.url()
			if tt.url != "" {
				u = tt.url
			}
			keys, err := token.NewRemoteKeys(context.Background(), u, token.RemoteOptions{Timeout: 5 * time.Second})
			if err == nil {
				keys.Close()
				t.Fatalf("NewRemoteKeys succeeded with %d keys", len(keys.KeySet().Keys()))
			}
			if !errors.Is(err, token.ErrRemoteKeys) || errors.Is(err, token.ErrInvalid) || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q; want ErrRemoteKeys saying %q", err, tt.why)
			}
		})
	}

	// The control: the same server, serving the key, works.
	remoteKeys(t, newJWKSServer(t, ed), token.RemoteOptions{})
}

// TestRemoteKeysServerDown: when the JWKS server goes down, the keys known
// keep verifying; a token naming a kid they do not have cannot be checked,
// which is not the token's fault (the error does not wrap ErrInvalid).
// Once the server is back, that token verifies.
func TestRemoteKeysServerDown(t *testing.T) {
	ctx := context.Background()
	k1, k2 := cachedKey(t, token.EdDSA, 0, t0), cachedKey(t, token.EdDSA, 1, t0)
	srv := newJWKSServer(t, k1)
	keys := remoteKeys(t, srv, token.RemoteOptions{UnknownKIDInterval: time.Nanosecond})
	v := mustVerifier(t, keys, token.VerifierOptions{CacheSize: -1})

	srv.status.Store(http.StatusBadGateway)
	mustVerify(t, v, signedBy(t, k1, "alice"))
	tok2 := signedBy(t, k2, "bob")
	_, err := v.Verify(ctx, tok2)
	if !errors.Is(err, token.ErrRemoteKeys) || token.IsUnauthenticated(err) {
		t.Errorf("token of a new key with the JWKS server down: %v; want ErrRemoteKeys, not ErrInvalid", err)
	}

	// A JWKS that is refused (here, with a private key) leaves the keys
	// known too.
	srv.status.Store(0)
	srv.serveRaw([]byte(`{"keys":[` + string(k2.Secret) + `]}`))
	_, err = v.Verify(ctx, tok2)
	if !errors.Is(err, token.ErrRemoteKeys) || !strings.Contains(err.Error(), "not a public key") {
		t.Errorf("token of a new key with a JWKS refused: %v; want ErrRemoteKeys", err)
	}
	mustVerify(t, v, signedBy(t, k1, "alice"))

	srv.serve(t, k1, k2)
	mustVerify(t, v, tok2)
	mustVerify(t, v, signedBy(t, k1, "alice"))
}

// TestRemoteKeysRefresh: the JWKS is fetched again every RefreshInterval
// without any token asking, so that added keys are known and removed ones
// forgotten; Close stops that.
func TestRemoteKeysRefresh(t *testing.T) {
	ctx := context.Background()
	k1, k2 := cachedKey(t, token.EdDSA, 0, t0), cachedKey(t, token.EdDSA, 1, t0)
	srv := newJWKSServer(t, k1)
	keys, err := token.NewRemoteKeys(ctx, srv.url(), token.RemoteOptions{RefreshInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	v := mustVerifier(t, keys, token.VerifierOptions{})
	tok1 := signedBy(t, k1, "alice")
	mustVerify(t, v, tok1)

	srv.serve(t, k2) // k1 removed, k2 added
	waitFor(t, "the refresh to pick up k2", func() bool {
		ks := keys.KeySet().Keys()
		return len(ks) == 1 && ks[0].ID == k2.ID
	})
	mustVerify(t, v, signedBy(t, k2, "bob"))
	before := srv.requests.Load()
	_, err = v.Verify(ctx, tok1)
	wantRejected(t, err, "unknown kid")

	keys.Close()
	keys.Close()
	time.Sleep(50 * time.Millisecond) // a refresh under way ends
	stopped := srv.requests.Load()
	time.Sleep(100 * time.Millisecond) // ten intervals
	if got := srv.requests.Load(); got != stopped {
		t.Errorf("%d requests after Close; want none", got-stopped)
	}
	if stopped <= before {
		t.Errorf("requests %d before the unknown kid, %d after: no fetch for it", before, stopped)
	}
	// The keys known keep verifying, and unknown kids fetch no more.
	mustVerify(t, v, signedBy(t, k2, "bob"))
	_, err = v.Verify(ctx, signedBy(t, k1, "alice"))
	wantRejected(t, err, "unknown kid")
	if got := srv.requests.Load(); got != stopped {
		t.Errorf("%d requests after Close; want none", got-stopped)
	}
}

// TestRemoteKeysContextEnds: the background refresh also stops when the
// context given to NewRemoteKeys ends.
func TestRemoteKeysContextEnds(t *testing.T) {
	srv := newJWKSServer(t, cachedKey(t, token.EdDSA, 0, t0))
	ctx, cancel := context.WithCancel(context.Background())
	keys, err := token.NewRemoteKeys(ctx, srv.url(), token.RemoteOptions{RefreshInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	waitFor(t, "a refresh", func() bool { return srv.requests.Load() >= 2 })
	cancel()
	time.Sleep(50 * time.Millisecond)
	stopped := srv.requests.Load()
	time.Sleep(100 * time.Millisecond)
	if got := srv.requests.Load(); got != stopped {
		t.Errorf("%d requests after the context ended; want none", got-stopped)
	}
}

// waitFor polls cond until it holds, or fails the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
