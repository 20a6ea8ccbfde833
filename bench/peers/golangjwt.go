package peers

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwtAlgorithm is a signing method and its keys.
type jwtAlgorithm int

const (
	jwtHS256 jwtAlgorithm = iota
	jwtEdDSA
)

// The token settings sessionkit's server uses by default: issuer and
// audience "sessionkit", 15-minute tokens, 30 seconds of leeway.
const (
	jwtIssuer   = "sessionkit"
	jwtAudience = "sessionkit"
	jwtLifetime = 15 * time.Minute
	jwtLeeway   = 30 * time.Second
	jwtCookie   = "access"
)

// golangJWT is the tutorial's JWT app written with golang-jwt directly: the
// login signs a token into an HttpOnly cookie; the profile verifies it
// (algorithm pinned, iss, aud, exp and iat checked) and counts the view in
// a map guarded by a mutex, the way a hand-written app would. Nothing is
// revoked and nothing is stored: this is the floor for sessionkit's JWT
// mode.
type golangJWT struct {
	page    *Page
	acc     *accounts
	method  jwt.SigningMethod
	signKey any
	parser  *jwt.Parser
	keyfunc jwt.Keyfunc

	mu     sync.Mutex
	counts map[string]int64
}

// newGolangJWT makes the keys for alg and returns the app.
func newGolangJWT(page *Page, acc *accounts, alg jwtAlgorithm) (http.Handler, error) {
	g := &golangJWT{page: page, acc: acc, counts: map[string]int64{}}
	var verifyKey any
	switch alg {
	case jwtHS256:
		secret := make([]byte, 32)
		rand.Read(secret)
		g.method, g.signKey, verifyKey = jwt.SigningMethodHS256, secret, secret
	case jwtEdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("peers: generating an Ed25519 key: %w", err)
		}
		g.method, g.signKey, verifyKey = jwt.SigningMethodEdDSA, priv, pub
	default:
		return nil, fmt.Errorf("peers: unknown JWT algorithm %d", alg)
	}
	g.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{g.method.Alg()}),
		jwt.WithIssuer(jwtIssuer),
		jwt.WithAudience(jwtAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(jwtLeeway),
	)
	g.keyfunc = func(*jwt.Token) (any, error) { return verifyKey, nil }

	mux := http.NewServeMux()
	mux.HandleFunc("POST /register", acc.register)
	mux.HandleFunc("POST /login", g.login)
	mux.HandleFunc("GET /profile", g.profile)
	mux.HandleFunc("GET /profile/read", g.profileRead)
	return mux, nil
}

// login signs a token for the user, sets it in the cookie, and starts
// the user's count again.
func (g *golangJWT) login(w http.ResponseWriter, r *http.Request) {
	user, ok := g.acc.checkLogin(w, r)
	if !ok {
		return
	}
	now := time.Now()
	var id [16]byte
	rand.Read(id[:])
	claims := jwt.RegisteredClaims{
		Issuer:    jwtIssuer,
		Subject:   user,
		Audience:  jwt.ClaimStrings{jwtAudience},
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        hex.EncodeToString(id[:]),
	}
	signed, err := jwt.NewWithClaims(g.method, claims).SignedString(g.signKey)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	g.mu.Lock()
	g.counts[user] = 0
	g.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: jwtCookie, Value: signed, Path: "/", MaxAge: int(jwtLifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	redirect(w, r, "/profile")
}

// profile verifies the cookie's token and counts the view.
func (g *golangJWT) profile(w http.ResponseWriter, r *http.Request) {
	user, ok := g.verify(w, r)
	if !ok {
		return
	}
	g.mu.Lock()
	g.counts[user]++
	count := g.counts[user]
	g.mu.Unlock()
	g.page.Write(w, r, user, count)
}

// profileRead verifies the cookie's token and writes the page with the
// count as it stands.
func (g *golangJWT) profileRead(w http.ResponseWriter, r *http.Request) {
	user, ok := g.verify(w, r)
	if !ok {
		return
	}
	g.mu.Lock()
	count := g.counts[user]
	g.mu.Unlock()
	g.page.Write(w, r, user, count)
}

// verify returns the subject of the cookie's valid token, or sends the
// browser to the login page and returns false.
func (g *golangJWT) verify(w http.ResponseWriter, r *http.Request) (string, bool) {
	c, err := r.Cookie(jwtCookie)
	if err != nil {
		toLogin(w, r)
		return "", false
	}
	var claims jwt.RegisteredClaims
	if _, err := g.parser.ParseWithClaims(c.Value, &claims, g.keyfunc); err != nil {
		toLogin(w, r)
		return "", false
	}
	return claims.Subject, true
}
