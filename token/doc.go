// Package token issues and verifies JWT access tokens and keeps rotating
// refresh tokens.
//
// Access tokens are short-lived JWS (RFC 7519, typ "at+jwt" of RFC 9068),
// signed by the newest key of a key ring and verified against every key that
// may still have live tokens. The algorithm is pinned by the key a token's
// "kid" names: a token cannot choose its own algorithm, so "none", RS/HS
// confusion and keys carried in the header ("jwk", "jku", "x5u") are refused.
// Signing and verifying use github.com/golang-jwt/jwt/v5; JWK and JWKS
// (keys at rest, /.well-known/jwks.json) use github.com/go-jose/go-jose/v4.
//
//   - A [Ring] keeps signing keys in a [store.Keys] (encrypted there when
//     the store is wrapped by kek.Wrap, as the server does), generates the first one, rotates to a new primary that
//     signs once every instance and JWKS cache has it, and stops trusting
//     an old key at the retirement time the rotation stored: a token it
//     signed is then refused as expired. A [KeySet] is a fixed set of
//     keys, for instance one read from another service's JWKS with
//     [ParseJWKS]; [RemoteKeys] fetches and caches a JWKS by URL for a
//     service that verifies another's tokens.
//   - An [Issuer] signs access tokens, with the application's own claims
//     in [Claims].Extra if it likes; a [Verifier] checks them (signature,
//     exp, nbf, iat, iss, aud, jti, and a deny list of revoked token ids).
//     A valid signature does not prove the login behind it still stands:
//     ask the issuer (the server's POST /api/introspect) or keep tokens
//     short.
//   - A [Refresher] keeps refresh tokens: opaque 256-bit values, stored only
//     as hashes, grouped in families (one per login). Each use spends the
//     token and returns a new one (the same one to a use of the spent token
//     within the grace window); using a spent token again later revokes the
//     whole family, so a stolen refresh token stops working for thief and
//     owner alike.
//
// # Errors
//
// Errors that mean "this token is not acceptable" (malformed, forged,
// expired, revoked, a refresh token reused) wrap [ErrInvalid], and
// [IsUnauthenticated] reports true for them: a handler answers 401, or
// sends the browser to log in. Any other error means a store could not be
// reached: the handler answers 503 ("try again"), not "logged out", and
// the client keeps its tokens. [ErrExpired], [ErrRevoked] and [ErrReused]
// tell the rejections apart where that matters, for instance to ask an
// API client to refresh its expired access token.
//
//	claims, err := verifier.Verify(r.Context(), tok)
//	switch {
//	case token.IsUnauthenticated(err):
//		http.Error(w, "invalid token", http.StatusUnauthorized)
//		return
//	case err != nil:
//		http.Error(w, "try again", http.StatusServiceUnavailable)
//		return
//	}
//
// # Tracing
//
// [Verifier.Verify] and [Refresher.Rotate] start the OpenTelemetry spans
// "token.verify" and "token.refresh.rotate", through the trace API
// (go.opentelemetry.io/otel/trace), only as children of a span that is
// recording in their context, with that span's TracerProvider; a rotation
// adds an event for each compare-and-swap another request won. A span
// says how the check ended (valid, expired, revoked, reused or invalid),
// or that the store failed; it never holds a token, a token or family id,
// a key or a subject. The package installs no provider: outside a traced
// request no span is started and the cost is a context lookup.
//
// # Examples
//
// The package Example issues, verifies and revokes one token. Example
// (NetHTTP) is a plain net/http JSON API: login, a Bearer middleware of its
// own that puts the claims in the request's context, refresh (with reuse
// detection) and logout. Example (Chi) guards a group of chi routes with
// that middleware and checks a route parameter against the token's
// subject. The example of [ParseJWKS] verifies tokens from the JWKS alone,
// that of [Refresher] shows a reused refresh token ending its login, and
// that of [IsUnauthenticated] tells a token to refuse from a store that
// failed. The example of [NewRemoteKeys] is a second service verifying the
// tokens of a running sessionkit server through its JWKS, that of
// [Key.PublicKey] hands a key to golang-jwt, and that of [Claims.SetExtra]
// carries custom claims. Each runs as a test.
package token
