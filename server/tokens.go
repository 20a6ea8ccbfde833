package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// tokens is what JWT mode and the JSON API share: the signing keys (kept in
// the store, shared by every instance), the access-token issuer and
// verifier, and the refresh-token families.
type tokens struct {
	ring      *token.Ring
	issuer    *token.Issuer
	verifier  *token.Verifier // checks the deny list too
	refresher *token.Refresher

	// signatures checks tokens without reading the deny list, for
	// requests that read the token's login (its refresh family) anyway:
	// every logout ends the login before it deny-lists the token (see
	// revoke), so a token whose login lives is on no deny list, and the
	// family read is the revocation check, at one store read fewer.
	signatures *token.Verifier

	// accounts says whether a family's login still stands.
	accounts *auth.Accounts
}

// newTokens opens the signing keys kept in keys (the backend's, possibly
// encrypted), with key times from clock, and builds the issuer, verifiers
// and refresher on backend.
func newTokens(ctx context.Context, backend Backend, keys store.Keys, clock store.Clock, accounts *auth.Accounts, cfg Config, m *metrics) (*tokens, error) {
	ring, err := token.OpenRing(ctx, keys, token.RingOptions{
		Algorithm:     cfg.TokenAlgorithm,
		TokenLifetime: cfg.AccessTokenLifetime,
		Leeway:        cfg.TokenLeeway,
		KeepRetired:   cfg.RefreshIdleTimeout,
		Clock:         clock,
		Now:           cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("server: signing keys: %w", err)
	}
	t := &tokens{ring: ring, accounts: accounts}
	t.issuer, err = token.NewIssuer(ring, token.IssuerOptions{
		Issuer:   cfg.TokenIssuer,
		Audience: cfg.TokenAudience,
		Lifetime: cfg.AccessTokenLifetime,
		Now:      cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	verifierOpts := token.VerifierOptions{
		Issuer:   cfg.TokenIssuer,
		Audience: cfg.TokenAudience,
		Leeway:   cfg.TokenLeeway,
		Now:      cfg.Now,
	}
	t.signatures, err = token.NewVerifier(ring, verifierOpts)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	verifierOpts.DenyList = backend
	t.verifier, err = token.NewVerifier(ring, verifierOpts)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := m.watchVerifyCache(t.verifyCacheStats); err != nil {
		return nil, err
	}
	t.refresher, err = token.NewRefresher(backend, token.RefreshOptions{
		IdleTimeout: cfg.RefreshIdleTimeout,
		Lifetime:    cfg.RefreshLifetime,
		Grace:       cfg.RefreshGrace,
		Now:         cfg.Now,
		OnRetry:     m.retried(casFamily),
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return t, nil
}

// pair is an access token and a refresh token of one family.
type pair struct {
	access  string
	refresh string
	family  token.Family
}

// login starts a family for the proven login and issues its first pair.
func (t *tokens) login(ctx context.Context, p auth.Proof, userAgent string) (pair, error) {
	fam, refresh, err := t.refresher.Start(ctx, token.Login{
		User:      p.User.Name,
		AccountID: p.User.ID,
		AuthTime:  p.AuthTime,
		UserAgent: userAgent,
	})
	if err != nil {
		return pair{}, err
	}
	return t.issue(ctx, fam, refresh)
}

// refresh spends a refresh token and issues the family's next pair. When
// the token was reused (token.ErrReused), the pair's family names the login
// that was revoked. A family whose login no longer stands (see stands) is
// revoked and refused.
func (t *tokens) refresh(ctx context.Context, refreshToken string) (pair, error) {
	fam, refresh, err := t.refresher.Rotate(ctx, refreshToken)
	if err != nil {
		return pair{family: fam}, err
	}
	if err := t.stands(ctx, fam); err != nil {
		return pair{family: fam}, err
	}
	return t.issue(ctx, fam, refresh)
}

func (t *tokens) issue(ctx context.Context, fam token.Family, refresh string) (pair, error) {
	access, _, err := t.issuer.Issue(ctx, token.Claims{
		Subject:   fam.User,
		Session:   fam.ID,
		AccountID: fam.AccountID,
		AuthTime:  fam.AuthTime,
	})
	if err != nil {
		return pair{}, err
	}
	return pair{access: access, refresh: refresh, family: fam}, nil
}

// check verifies an access token and that its login (the refresh family
// named by sid) has not ended: logout, "log out everywhere", a revoked user,
// a reused refresh token, a deleted account and a password change all end
// it, and with it every access token it issued, at once. Errors are those
// of token.Verifier.Verify and token.Refresher.Family: ErrInvalid (with
// ErrExpired or ErrRevoked) when the client must log in or refresh again,
// anything else when the store could not answer.
func (t *tokens) check(ctx context.Context, access string) (token.Claims, error) {
	return t.checkWith(ctx, t.signatures, access)
}

// checkWith is check with v verifying the token: t.verifier reads the deny
// list too, for an answer that must also refuse a token deny-listed on
// its own (introspection).
func (t *tokens) checkWith(ctx context.Context, v *token.Verifier, access string) (token.Claims, error) {
	c, err := v.Verify(ctx, access)
	if err != nil {
		return c, err
	}
	fam, err := t.refresher.Family(ctx, c.Session)
	if err != nil {
		return token.Claims{}, err
	}
	if err := sameOwner(c, fam); err != nil {
		return token.Claims{}, err
	}
	if err := t.stands(ctx, fam); err != nil {
		return token.Claims{}, err
	}
	return c, nil
}

// sameOwner refuses a token whose subject or account is not those of the
// login it names. Only a holder of a signing key could make one; the check
// costs nothing, as the family is read anyway.
func sameOwner(c token.Claims, fam token.Family) error {
	if store.FoldName(c.Subject) != store.FoldName(fam.User) || c.AccountID != fam.AccountID {
		return fmt.Errorf("%w: the token's subject does not own its login", token.ErrInvalid)
	}
	return nil
}

// stands checks the family's login against its account (auth's
// CheckLogin): the account must exist with the ID the login was made for,
// and its password must not have changed since the login's auth time. A
// login that no longer stands has its family revoked and gives an error
// wrapping token.ErrInvalid and token.ErrRevoked; any other error is the
// store's.
func (t *tokens) stands(ctx context.Context, fam token.Family) error {
	_, err := t.accounts.CheckLogin(ctx, fam.User, fam.AccountID, fam.AuthTime)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrLoginEnded):
		if rerr := t.refresher.Revoke(ctx, fam.ID); rerr != nil {
			return rerr
		}
		return fmt.Errorf("%w: %w: %w", token.ErrInvalid, token.ErrRevoked, err)
	default:
		return err
	}
}

// countView adds one to the profile count kept in the family of c, by
// compare-and-swap, and returns the new count. The family must still be
// live and its login stand: this is also check's second half.
func (t *tokens) countView(ctx context.Context, c token.Claims) (int64, error) {
	var count int64
	fam, err := t.refresher.Update(ctx, c.Session, func(data []byte) ([]byte, error) {
		n, k := binary.Varint(data)
		if k <= 0 {
			n = 0 // no count yet (or not ours): start at zero
		}
		count = n + 1
		return binary.AppendVarint(nil, count), nil
	})
	if err != nil {
		return 0, err
	}
	if err := sameOwner(c, fam); err != nil {
		return 0, err
	}
	return count, t.stands(ctx, fam)
}

// revoke ends the login c belongs to: its family ends and its access
// token is deny-listed until it expires, so neither the access token nor
// any refresh token of the login is accepted again, from any client. The
// family ends first: requests that check it (signatures) refuse the token
// from then on, even if deny-listing it then fails.
func (t *tokens) revoke(ctx context.Context, c token.Claims) error {
	if err := t.refresher.Revoke(ctx, c.Session); err != nil {
		return err
	}
	return t.verifier.Revoke(ctx, c)
}

// isRejected reports whether err means the token is not acceptable, as
// opposed to the store not answering.
func isRejected(err error) bool { return errors.Is(err, token.ErrInvalid) }

// verifyCacheStats sums the hits and misses of both verifiers' caches.
func (t *tokens) verifyCacheStats() (hits, misses uint64) {
	h1, m1 := t.signatures.CacheStats()
	h2, m2 := t.verifier.CacheStats()
	return h1 + h2, m1 + m2
}
