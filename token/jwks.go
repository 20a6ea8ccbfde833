package token

import "context"

// JWKS returns the public keys that verify now, as a JSON Web Key Set to
// publish at /.well-known/jwks.json. Like signing, it first picks up keys
// other instances added when the ring is older than its reload interval; if
// that reload fails it publishes the keys it has, and the error is nil
// unless there are none.
func (r *Ring) JWKS(ctx context.Context) ([]byte, error) {
	set, _ := r.keySet(ctx, "")
	return set.JWKS(r.opts.Now())
}
