package token

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/time/rate"
)

// Defaults of RemoteOptions.
const (
	// DefaultRemoteRefreshInterval is how often a RemoteKeys fetches the
	// JWKS again: the max-age a sessionkit server serves it with, so that
	// a key the server rotates to is normally known before a token names
	// it. (A token that names a key not known yet makes RemoteKeys fetch
	// at once anyway.)
	DefaultRemoteRefreshInterval = DefaultJWKSMaxAge

	// DefaultRemoteUnknownKIDInterval is the least time between two
	// fetches of the JWKS for tokens that name a kid it does not have.
	DefaultRemoteUnknownKIDInterval = 10 * time.Second

	// DefaultRemoteTimeout bounds each fetch of the JWKS.
	DefaultRemoteTimeout = 10 * time.Second
)

// maxJWKSSize is the largest JWKS a RemoteKeys reads: ours are well under
// a kilobyte a key.
const maxJWKSSize = 1 << 20

// RemoteOptions configures NewRemoteKeys. The zero value gives the
// defaults.
type RemoteOptions struct {
	// Client makes the requests; nil means http.DefaultClient. Responses
	// larger than a megabyte are refused whatever the client.
	Client *http.Client

	// Timeout bounds each fetch, the first one included. Zero or negative
	// means DefaultRemoteTimeout (10 seconds).
	Timeout time.Duration

	// RefreshInterval is how often the JWKS is fetched again in the
	// background, to learn of rotated keys and forget removed ones. Zero
	// or negative means DefaultRemoteRefreshInterval (5 minutes).
	RefreshInterval time.Duration

	// UnknownKIDInterval is the least time between two fetches made
	// because a token named a kid the set does not have (a key rotated
	// in since the last refresh, or a forged kid): a stream of tokens with
	// made-up kids costs the JWKS server one request per interval. Zero
	// or negative means DefaultRemoteUnknownKIDInterval (10 seconds).
	UnknownKIDInterval time.Duration
}

// RemoteKeys is a [KeySource] of the public keys another service publishes
// as a JWKS (RFC 7517), such as the /.well-known/jwks.json of a running
// sessionkit server: a service that only verifies its access tokens gives
// it to [NewVerifier], which then makes every check it makes with keys of
// its own (algorithm pinned by the key, typ, iss, aud, exp, ...).
//
// It keeps the set in memory, fetches it again every RefreshInterval in
// the background, and at once (at most once per UnknownKIDInterval) when a
// token names a kid it does not have. Each fetch is read as [ParseJWKS]
// reads a JWKS: a set with a private or symmetric key, or a key without
// kid or alg, is refused whole, and the keys known before stay in use
// (keys of a type the JWK library does not know are left out first).
// When the server cannot be reached, the keys known keep verifying.
//
// A Verifier of RemoteKeys checks what a token proves by itself: it
// cannot know that the login the token belongs to has ended (a logout), so
// such a token stays valid until its exp, unless the Verifier shares the
// issuer's deny list (VerifierOptions.DenyList). Keep access tokens short.
//
// It cannot sign: an [Issuer] given it fails with ErrNoKey. It is safe
// for concurrent use. Fetching and caching are done by
// github.com/MicahParks/jwkset; the keys are read with go-jose.
type RemoteKeys struct {
	url     string
	storage jwkset.Storage // jwkset's client: fetches again for an unknown kid
	set     atomic.Pointer[KeySet]
	failed  atomic.Pointer[error] // why the last fetch failed; nil once one succeeds
	stop    context.CancelFunc
	done    <-chan struct{} // closed by stop, or when the context of NewRemoteKeys ends

	gap  time.Duration // UnknownKIDInterval
	mu   sync.Mutex    // one fetch for an unknown kid at a time
	last time.Time     // when that fetch last started; under mu
}

// NewRemoteKeys fetches the JWKS at jwksURL and returns the RemoteKeys
// that keep it. The background refresh runs until Close is called or ctx
// ends, whichever comes first: give it a context that lasts as long as the
// service, not one with a deadline for starting up (the first fetch is
// bounded by Timeout). A refresh that fails leaves the keys known.
//
// It fails with an error wrapping ErrRemoteKeys when jwksURL is not an
// http or https URL, or when the first fetch fails: the server cannot be
// reached or does not answer 200 within Timeout, the response is not a
// JWKS, is larger than a megabyte, holds a key ParseJWKS refuses, or
// holds no key at all. Use https: the keys decide which tokens are
// genuine.
func NewRemoteKeys(ctx context.Context, jwksURL string, opts RemoteOptions) (*RemoteKeys, error) {
	u, err := url.Parse(jwksURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an http or https URL", ErrRemoteKeys, jwksURL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRemoteTimeout
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRemoteRefreshInterval
	}
	if opts.UnknownKIDInterval <= 0 {
		opts.UnknownKIDInterval = DefaultRemoteUnknownKIDInterval
	}
	client := http.DefaultClient
	if opts.Client != nil {
		client = opts.Client
	}
	limited := *client
	limited.Transport = limitedTransport{next: client.Transport}

	r := &RemoteKeys{url: jwksURL, gap: opts.UnknownKIDInterval}
	empty, _ := NewKeySet()
	r.set.Store(empty)
	bg, stop := context.WithCancel(ctx)
	r.stop, r.done = stop, bg.Done()
	fetched, err := jwkset.NewStorageFromHTTP(jwksURL, jwkset.HTTPClientStorageOptions{
		Client:          &limited,
		Ctx:             bg,
		HTTPTimeout:     opts.Timeout,
		RefreshInterval: opts.RefreshInterval,
		RefreshErrorHandler: func(_ context.Context, err error) {
			r.failed.Store(&err)
		},
		Storage: remoteStorage{MemoryJWKSet: jwkset.NewMemoryStorage(), r: r},
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("%w: fetching %s: %w", ErrRemoteKeys, jwksURL, err)
	}
	if len(r.set.Load().keys) == 0 {
		stop()
		return nil, fmt.Errorf("%w: the JWKS at %s has no key", ErrRemoteKeys, jwksURL)
	}
	// RemoteKeys limits the fetches for unknown kids itself, without
	// waiting; jwkset's limiter lets each one through, and RateLimitWaitMax
	// bounds the fetch.
	r.storage, err = jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{jwksURL: fetched},
		RateLimitWaitMax:  opts.Timeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("%w: %w", ErrRemoteKeys, err)
	}
	return r, nil
}

// KeySet returns the keys known now.
func (r *RemoteKeys) KeySet() *KeySet { return r.set.Load() }

// Close stops the background refresh and the fetches for unknown kids;
// the keys known keep verifying. It may be called more than once.
func (r *RemoteKeys) Close() {
	r.stop()
}

// keySet returns the keys known. For a kid they do not have, it fetches
// the JWKS again first, unless it did so less than UnknownKIDInterval
// ago. It returns an error wrapping ErrRemoteKeys, with the keys known,
// when that fetch (or, when it is too soon to try, the last one) failed: a
// verifier cannot tell an unknown kid from one it could not fetch.
func (r *RemoteKeys) keySet(ctx context.Context, kid string) (*KeySet, error) {
	set := r.set.Load()
	if kid == "" || set.byID[kid] != nil {
		return set, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if set = r.set.Load(); set.byID[kid] != nil {
		return set, nil // fetched by another caller meanwhile
	}
	now := time.Now()
	if now.Sub(r.last) >= r.gap && !r.closed() {
		r.last = now
		// jwkset fetches the set (storing it through remoteStorage) when
		// it does not have the kid; its error says only "not found".
		_, _ = r.storage.KeyRead(ctx, kid)
		if set = r.set.Load(); set.byID[kid] != nil {
			return set, nil
		}
	}
	if err := r.failed.Load(); err != nil {
		return set, fmt.Errorf("%w: fetching %s: %w", ErrRemoteKeys, r.url, *err)
	}
	return set, nil
}

// closed reports whether Close was called or the context of NewRemoteKeys
// ended.
func (r *RemoteKeys) closed() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// install makes the keys of a fetched JWKS the current set. Keys that did
// not change stay the same *Key, so that the tokens a Verifier remembers
// stay remembered.
func (r *RemoteKeys) install(given []jwkset.JWK) error {
	jwks := jwkset.JWKSMarshal{Keys: make([]jwkset.JWKMarshal, 0, len(given))}
	for _, jwk := range given {
		jwks.Keys = append(jwks.Keys, jwk.Marshal())
	}
	b, err := json.Marshal(jwks)
	if err != nil {
		return fmt.Errorf("token: encoding the JWKS of %s: %w", r.url, err)
	}
	fetched, err := ParseJWKS(b)
	if err != nil {
		return err
	}
	old := r.set.Load()
	keys := fetched.Keys()
	for i, k := range keys {
		if o := old.byID[k.ID]; o != nil && o.Algorithm == k.Algorithm && samePublicKey(o.verifying, k.verifying) {
			keys[i] = o
		}
	}
	set, err := NewKeySet(keys...)
	if err != nil {
		return err
	}
	r.set.Store(set)
	r.failed.Store(nil)
	return nil
}

// samePublicKey reports whether a and b are the same public key.
func samePublicKey(a, b any) bool {
	pub, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(b)
}

// remoteStorage is the jwkset storage of a RemoteKeys: each JWKS fetched
// replaces all its keys at once, and is installed as the RemoteKeys' set
// first; a JWKS the set refuses is refused, and the fetch fails.
type remoteStorage struct {
	*jwkset.MemoryJWKSet
	r *RemoteKeys
}

func (s remoteStorage) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	if err := s.r.install(given); err != nil {
		return err
	}
	return s.MemoryJWKSet.KeyReplaceAll(ctx, given)
}

// limitedTransport refuses response bodies larger than maxJWKSSize.
type limitedTransport struct {
	next http.RoundTripper // nil: http.DefaultTransport
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = http.MaxBytesReader(nil, resp.Body, maxJWKSSize)
	return resp, nil
}
