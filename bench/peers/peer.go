package peers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// The kinds of peer New serves.
const (
	Bare           = "bare"             // the page with no session: the floor
	SCSMem         = "scs-mem"          // alexedwards/scs v2, its memstore
	SCSRedis       = "scs-redis"        // alexedwards/scs v2, its redisstore (redigo)
	GorillaCookie  = "gorilla-cookie"   // gorilla/sessions CookieStore (HMAC-SHA256 + AES-256)
	GolangJWTHS256 = "golang-jwt-hs256" // a JWT cookie checked with golang-jwt, HS256
	GolangJWTEdDSA = "golang-jwt-eddsa" // a JWT cookie checked with golang-jwt, EdDSA
)

// Kinds returns every kind New serves, in the order the load script runs
// them.
func Kinds() []string {
	return []string{Bare, SCSMem, SCSRedis, GorillaCookie, GolangJWTHS256, GolangJWTEdDSA}
}

// ErrUnknownKind is returned by New for a kind not in Kinds.
var ErrUnknownKind = errors.New("peers: unknown kind")

// Options configures New.
type Options struct {
	// RedisAddr is the host:port of the Redis server scs-redis keeps its
	// sessions in; "127.0.0.1:6379" if empty.
	RedisAddr string
	// RedisDB is the Redis database number scs-redis uses.
	RedisDB int
	// RedisPrefix starts every key scs-redis writes; "scs:session:" (scs's
	// default) if empty. The load script gives each run its own and
	// deletes the keys afterwards.
	RedisPrefix string
}

// Peer is one peer's web app: POST /register and POST /login (form
// fields username and password; the test account exists from the start),
// GET /profile, which counts the view and writes the profile page, and
// GET /profile/read, which writes the same page with the count as it
// stands, changing nothing. Close releases what the peer holds (a Redis
// pool).
type Peer struct {
	http.Handler
	closer io.Closer
}

// Close releases the peer's resources. The handler must not be used
// afterwards.
func (p *Peer) Close() error {
	if p.closer == nil {
		return nil
	}
	return p.closer.Close()
}

// New builds the peer of the given kind. It fails with ErrUnknownKind for
// a kind not in Kinds, or when keys cannot be generated. scs-redis does not
// connect until the first request: an unreachable Redis answers 500 then,
// as scs does.
func New(kind string, opts Options) (*Peer, error) {
	page, err := NewPage()
	if err != nil {
		return nil, err
	}
	acc := newAccounts()
	switch kind {
	case Bare:
		return &Peer{Handler: newBare(page)}, nil
	case SCSMem:
		return &Peer{Handler: newSCSMem(page, acc)}, nil
	case SCSRedis:
		h, pool := newSCSRedis(page, acc, opts)
		return &Peer{Handler: h, closer: pool}, nil
	case GorillaCookie:
		h, err := newGorillaCookie(page, acc)
		if err != nil {
			return nil, err
		}
		return &Peer{Handler: h}, nil
	case GolangJWTHS256:
		h, err := newGolangJWT(page, acc, jwtHS256)
		if err != nil {
			return nil, err
		}
		return &Peer{Handler: h}, nil
	case GolangJWTEdDSA:
		h, err := newGolangJWT(page, acc, jwtEdDSA)
		if err != nil {
			return nil, err
		}
		return &Peer{Handler: h}, nil
	default:
		return nil, fmt.Errorf("%w %q (want one of %v)", ErrUnknownKind, kind, Kinds())
	}
}
