package server

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/cookie"
	"github.com/sessionkit/sessionkit/store"
)

// cookieKeyPurpose names the keys that seal cookies in the store.
const cookieKeyPurpose = "cookie"

// loadKeyRing returns the key ring of purpose from the store, generating and
// storing a first key when there is none. Two instances starting at once on
// an empty store may each add a key; both then read back the same list, and
// the newest seals for both.
func loadKeyRing(ctx context.Context, keys store.Keys, purpose string) (*cookie.KeyRing, error) {
	have, err := keys.Keys(ctx, purpose)
	if err != nil {
		return nil, fmt.Errorf("server: reading %s keys: %w", purpose, err)
	}
	if len(have) == 0 {
		k, err := cookie.GenerateKey(time.Now())
		if err != nil {
			return nil, fmt.Errorf("server: generating a %s key: %w", purpose, err)
		}
		if err := keys.AddKey(ctx, purpose, k); err != nil {
			return nil, fmt.Errorf("server: storing a %s key: %w", purpose, err)
		}
		if have, err = keys.Keys(ctx, purpose); err != nil {
			return nil, fmt.Errorf("server: reading %s keys: %w", purpose, err)
		}
	}
	ring, err := cookie.NewKeyRing(have...)
	if err != nil {
		return nil, fmt.Errorf("server: %s keys: %w", purpose, err)
	}
	return ring, nil
}
