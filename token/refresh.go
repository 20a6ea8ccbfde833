package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/internal/tracing"
	"github.com/sessionkit/sessionkit/store"
)

// Defaults of RefreshOptions.
const (
	DefaultRefreshIdle     = 24 * time.Hour
	DefaultRefreshLifetime = 7 * 24 * time.Hour
	DefaultRefreshGrace    = 10 * time.Second
	DefaultMaxRetries      = 16
)

// familyIDBytes and secretBytes make a refresh token: the family it belongs
// to and 256 random bits, in one opaque base64url string.
const (
	familyIDBytes = 16
	secretBytes   = 32
)

// familyDomain separates a family's store id from session ids: a session
// token hashes to its id directly, a family id only with this prefix.
const familyDomain = "sessionkit/token refresh family\x00"

// RefreshOptions configures NewRefresher. The zero value gives the defaults.
type RefreshOptions struct {
	// IdleTimeout ends a family this long after its last rotation;
	// Lifetime ends it this long after login, however active. Zero or
	// negative means DefaultRefreshIdle (24 hours) and
	// DefaultRefreshLifetime (7 days): a family always ends.
	IdleTimeout time.Duration
	Lifetime    time.Duration

	// Grace is how long after a rotation the token it spent is still
	// accepted, so that two tabs refreshing at the same moment are not
	// taken for a thief. Every use within the window gets the same new
	// token, the one the first use got: the family never holds more than
	// one valid refresh token, whoever raced. After the window, the spent
	// token is reuse and ends the family. Zero means DefaultRefreshGrace
	// (10 seconds); negative means none.
	Grace time.Duration

	// MaxRetries bounds the compare-and-swap retries of one call. Zero or
	// negative means DefaultMaxRetries (16).
	MaxRetries int

	// OnRetry, when set, is called each time a change to a family that
	// lost a compare-and-swap (store.ErrConflict) is tried again. It is for
	// metrics: it must return quickly and must not call the Refresher.
	OnRetry func()

	// Now returns the current time; nil means time.Now. The Refresher takes
	// every time it decides by from it: the grace window, a family's
	// LastUsed, its expiry, and whether a stored family has expired (a
	// family whose Expires is not before Now has ended, whatever the
	// store's clock says). Those times are written by one instance and compared by
	// another, so every instance sharing a store should use the same clock,
	// such as the store's (store.Clock): with clocks apart, a grace window
	// or an expiry is cut short or drawn out by the difference.
	Now func() time.Time
}

// Login says who a refresh family is for: what Refresher.Start records.
type Login struct {
	User      string    // who logged in
	AccountID string    // the ID of the user's account (store.User.ID)
	AuthTime  time.Time // when the user proved who they are; zero means the time of Start
	UserAgent string    // of the client, for listings; cut to 256 bytes of valid UTF-8
}

// Family is one login's chain of refresh tokens, as a Refresher keeps it:
// one refresh token of the chain is valid at a time, each rotation
// spending it for the next.
type Family struct {
	ID        string    // the "sid" of the access tokens issued with it; safe to show
	User      string    // who logged in
	AccountID string    // the ID of the user's account at login
	AuthTime  time.Time // when the user proved who they are; refreshing does not move it
	Created   time.Time // when the user logged in
	LastUsed  time.Time // when a token was last spent (a repeat in the grace window spends none)
	Expires   time.Time // when the family ends unless used again
	UserAgent string    // of the client that logged in
	Data      []byte    // the application's data, set by Update
}

// A Refresher keeps refresh-token families in a store.Sessions, as records
// whose ids are derived from the family id (so they never collide with
// server-side sessions kept in the same store) and whose owner is the user
// (so a user's families are listed, and ended, with the user's sessions).
// Tokens are never stored: only their SHA-256, and the current token's
// secret sealed (AES-256-GCM) under a key derived from the token it
// replaced, so that a second use of that token within the grace window
// gets the same successor (see Rotate). A copy of the store alone holds
// nothing a client could present; a copy of the store together with the
// token the last rotation spent opens the current one, until the family
// rotates again. It is safe for concurrent use, across processes sharing the
// store.
type Refresher struct {
	store store.Sessions
	opts  RefreshOptions

	// locks serialize the changes of one family within this process, so
	// that concurrent requests of a login (a burst of profile views) do not
	// collide in the store. Other processes still race through the store's
	// compare-and-swap.
	locks [64]familyLock
}

// familyLock serializes the changes of the families whose record ids fall
// on it, and remembers the record this process saved last under it. Update
// starts from that record instead of reading the store: if another process
// changed or ended the family since, the compare-and-swap fails and Update
// reads the store as before. Rotate always reads the store: what it
// decides (reuse revokes the family) must rest on the stored state.
type familyLock struct {
	mu   sync.Mutex
	last store.Record // Version 0: nothing remembered
}

// lockFor returns the lock of the family kept under id.
func (r *Refresher) lockFor(id store.SessionID) *familyLock {
	return &r.locks[id[0]%byte(len(r.locks))]
}

// remember keeps rec as the last record saved under id, or forgets what
// was kept when err is not nil. The caller holds l.mu.
func (l *familyLock) remember(id store.SessionID, rec store.Record, err error) {
	switch {
	case err == nil:
		l.last = rec
	case l.last.ID == id:
		l.last = store.Record{}
	}
}

// NewRefresher returns a Refresher keeping families in s.
func NewRefresher(s store.Sessions, opts RefreshOptions) (*Refresher, error) {
	if s == nil {
		return nil, errors.New("token: nil store")
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultRefreshIdle
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultRefreshLifetime
	}
	switch {
	case opts.Grace == 0:
		opts.Grace = DefaultRefreshGrace
	case opts.Grace < 0:
		opts.Grace = 0
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Refresher{store: s, opts: opts}, nil
}

// Start begins a family for a login and returns it with its first
// refresh token. The record is kept with kind store.KindRefreshFamily. It
// fails only when the store cannot be written within ctx.
func (r *Refresher) Start(ctx context.Context, login Login) (Family, string, error) {
	var fid [familyIDBytes]byte
	_, _ = rand.Read(fid[:])
	tok, _, h := newRefreshToken(fid)
	sid := familySID(fid)
	now := r.opts.Now()
	if login.AuthTime.IsZero() {
		login.AuthTime = now
	}
	rec := store.Record{
		ID:        familyRecordID(sid),
		Kind:      store.KindRefreshFamily,
		User:      login.User,
		AccountID: login.AccountID,
		AuthTime:  login.AuthTime,
		Created:   now,
		LastSeen:  now,
		Expires:   r.expiry(now, now),
		UserAgent: store.ListedUserAgent(login.UserAgent),
	}
	st := familyState{current: []tokenHash{h}}
	rec.Data = st.encode()
	l := r.lockFor(rec.ID)
	l.mu.Lock()
	defer l.mu.Unlock()
	v, err := r.store.SaveSession(ctx, rec)
	if err != nil {
		return Family{}, "", fmt.Errorf("token: starting a refresh family: %w", err)
	}
	rec.Version = v
	l.remember(rec.ID, rec, nil)
	return family(sid, rec, st), tok, nil
}

// Rotate spends a refresh token and returns its family with a new token.
//
// A token that is current is spent and replaced: the new token is the
// family's only valid one. The token the last rotation spent, presented
// again within the grace window (a second tab that refreshed at the same
// moment, or a client retrying after a lost response), gets that same new
// token again, not one of its own; the caller issues it a fresh access
// token. Such a repeat writes nothing: the family's LastUsed and Expires
// stay as the rotation set them. Any other token of the family (spent
// earlier, such as one whose successor has itself been rotated, or spent
// and presented after the window) is taken as stolen: the whole family is
// revoked, the current token included, and the error wraps ErrReused; the
// Family returned with that error names the login that was revoked (its
// ID and User), for the caller's security log. Malformed tokens and tokens
// of unknown, expired or revoked families give an error wrapping
// ErrInvalid; any other error means the store could not be reached, or
// holds a corrupt family, and nothing was spent.
//
// A family written by an earlier version may hold several current tokens
// (it gave each use within the window a token of its own). Whichever of
// them is used first is spent with all the others and replaced by one new
// token, as any rotation; the others then count as spent by it. A token
// spent by such a version, or spent with the others, has no sealed
// successor to hand back: presented within the window, it gets a fresh
// token that replaces the current one (whose holder, presenting it within
// the same window, is served the same way; after it, is taken for a
// thief). The family never holds more than one valid token, at the risk
// of ending a login whose tabs raced across the upgrade.
func (r *Refresher) Rotate(ctx context.Context, tok string) (Family, string, error) {
	ctx, span := scope.Start(ctx, "token.refresh.rotate")
	f, next, err := r.rotate(ctx, tok)
	endSpan(span, err)
	span.End()
	return f, next, err
}

// errUnchanged is returned by a change given to modify when there is
// nothing to save: modify then returns the family as it read it.
var errUnchanged = errors.New("token: nothing to save")

// rotate is Rotate, inside its span.
func (r *Refresher) rotate(ctx context.Context, tok string) (Family, string, error) {
	raw, h, ok := parseRefreshToken(tok)
	if !ok {
		return Family{}, "", invalid("malformed refresh token")
	}
	fid := [familyIDBytes]byte(raw[:familyIDBytes])
	sid := familySID(fid)
	id := familyRecordID(sid)
	l := r.lockFor(id)
	l.mu.Lock()
	defer l.mu.Unlock()
	var next string
	rec, st, err := r.modify(ctx, id, "rotating a refresh token", nil, func(rec *store.Record, st *familyState) error {
		now := r.opts.Now()
		inGrace := !now.After(st.rotated.Add(r.opts.Grace))
		switch {
		case contains(st.current, h):
			// Every current token is spent; only a format-1 family has
			// more than this one.
			spent := spentFirst(h, st.current)
			var err error
			if next, err = r.succeed(id, raw, st); err != nil {
				return err
			}
			st.spent, st.rotated = spent, now
		case inGrace && len(st.spent) > 0 && st.spent[0] == h && st.sealed != nil:
			secret, err := openSuccessor(raw[:], id, st.sealed)
			if err != nil {
				return err
			}
			var s [familyIDBytes + secretBytes]byte
			copy(s[:], fid[:])
			copy(s[familyIDBytes:], secret[:])
			if contains(st.current, sha256.Sum256(s[:])) {
				next = base64.RawURLEncoding.EncodeToString(s[:])
				return errUnchanged
			}
			// The successor is no longer current: a consistent record
			// never says so, but if it did, tok would be older than
			// what the family spent, which is reuse.
			return r.reused(ctx, id, rec)
		case inGrace && contains(st.spent, h):
			// Spent by a format-1 rotation, or with the token that was
			// (see Rotate): a fresh successor replaces the current one,
			// which counts as spent, within the same window.
			spent := spentFirst(h, st.spent, st.current)
			var err error
			if next, err = r.succeed(id, raw, st); err != nil {
				return err
			}
			st.spent = spent
		default:
			return r.reused(ctx, id, rec)
		}
		rec.LastSeen = now
		rec.Expires = r.expiry(rec.Created, now)
		return nil
	})
	l.remember(id, rec, err)
	if errors.Is(err, ErrReused) {
		return family(sid, rec, st), "", err
	}
	if err != nil {
		return Family{}, "", err
	}
	return family(sid, rec, st), next, nil
}

// succeed makes the successor of the token whose raw bytes are raw, in the
// family kept under id: st then holds its hash as the only current one,
// and its secret sealed under raw. It returns the new token. The caller
// sets st.spent, with raw's hash first.
func (r *Refresher) succeed(id store.SessionID, raw [familyIDBytes + secretBytes]byte, st *familyState) (string, error) {
	next, secret, nh := newRefreshToken([familyIDBytes]byte(raw[:familyIDBytes]))
	sealed, err := sealSuccessor(raw[:], id, secret)
	if err != nil {
		return "", err
	}
	st.current, st.sealed = []tokenHash{nh}, sealed
	return next, nil
}

// reused revokes the family kept under id, as rec names it, after one of
// its tokens was reused, and returns the error saying so.
func (r *Refresher) reused(ctx context.Context, id store.SessionID, rec *store.Record) error {
	if err := r.store.DeleteSession(ctx, id); err != nil {
		return fmt.Errorf("token: revoking a family after reuse: %w", err)
	}
	return fmt.Errorf("%w: %w: %w: the family of user %q is revoked",
		ErrInvalid, ErrRevoked, ErrReused, rec.User)
}

// Family returns the live family named id (an access token's sid). A
// malformed id or a family that has ended gives an error wrapping
// ErrRevoked and ErrInvalid; any other error means the store could not be
// reached.
func (r *Refresher) Family(ctx context.Context, id string) (Family, error) {
	sid, ok := parseFamilyID(id)
	if !ok {
		return Family{}, invalid("malformed family id")
	}
	rec, st, err := r.load(ctx, familyRecordID(sid))
	if err != nil {
		return Family{}, err
	}
	return family(sid, rec, st), nil
}

// FamilyOf returns the live family a refresh token belongs to, without
// spending the token or changing the family: for a logout that holds only
// the refresh token. tok must be a token the family issued that is current
// or was spent by its last rotation; any other (malformed, forged, of an
// ended family, spent earlier) gives an error wrapping ErrInvalid, and
// nothing is revoked: reuse is detected only by Rotate. Any other error
// means the store could not be reached.
func (r *Refresher) FamilyOf(ctx context.Context, tok string) (Family, error) {
	raw, h, ok := parseRefreshToken(tok)
	if !ok {
		return Family{}, invalid("malformed refresh token")
	}
	sid := familySID([familyIDBytes]byte(raw[:familyIDBytes]))
	rec, st, err := r.load(ctx, familyRecordID(sid))
	if err != nil {
		return Family{}, err
	}
	if !contains(st.current, h) && !contains(st.spent, h) {
		return Family{}, invalid("not a refresh token of the family")
	}
	return family(sid, rec, st), nil
}

// Update changes the application data of the family named id by
// compare-and-swap: fn gets the data as stored and returns the new data;
// if another request changed the family meanwhile, fn runs again on the
// newer data. fn's error is returned as it is. The family's expiry does
// not move. Errors are as for Family.
func (r *Refresher) Update(ctx context.Context, id string, fn func(data []byte) ([]byte, error)) (Family, error) {
	sid, ok := parseFamilyID(id)
	if !ok {
		return Family{}, invalid("malformed family id")
	}
	rid := familyRecordID(sid)
	l := r.lockFor(rid)
	l.mu.Lock()
	defer l.mu.Unlock()
	var last *store.Record
	if l.last.ID == rid && l.last.Version > 0 {
		last = &l.last
	}
	rec, st, err := r.modify(ctx, rid, "updating a refresh family", last, func(_ *store.Record, st *familyState) error {
		var err error
		st.data, err = fn(st.data)
		return err
	})
	l.remember(rid, rec, err)
	if err != nil {
		return Family{}, err
	}
	return family(sid, rec, st), nil
}

// modify reads the family kept under id, lets change alter it (an error
// from change is returned as it is, but errUnchanged saves nothing and
// returns the family as read), and saves it by compare-and-swap; if
// another request changed the family meanwhile, it pauses, reads it again
// and runs change on the newer family, at most MaxRetries times. A non-nil
// last is a record of the family this process saved: the first attempt
// starts from it, without reading the store, unless it has expired. doing
// names the work in errors. The caller holds the family's lock.
func (r *Refresher) modify(ctx context.Context, id store.SessionID, doing string, last *store.Record,
	change func(rec *store.Record, st *familyState) error) (store.Record, familyState, error) {
	for attempt := range r.opts.MaxRetries + 1 {
		if attempt > 0 {
			if err := store.WaitAfterConflict(ctx, attempt-1); err != nil {
				return store.Record{}, familyState{}, fmt.Errorf("token: %s: waiting after a conflict: %w", doing, err)
			}
			if r.opts.OnRetry != nil {
				r.opts.OnRetry()
			}
		}
		var rec store.Record
		var st familyState
		var err error
		if attempt == 0 && last != nil && r.opts.Now().Before(last.Expires) {
			rec = *last
			st, err = decodeFamily(rec.Data)
		} else {
			rec, st, err = r.load(ctx, id)
		}
		if err != nil {
			return rec, st, err
		}
		if err := change(&rec, &st); errors.Is(err, errUnchanged) {
			return rec, st, nil
		} else if err != nil {
			return rec, st, err
		}
		rec.Data = st.encode()
		v, err := r.store.SaveSession(ctx, rec)
		if errors.Is(err, store.ErrConflict) {
			tracing.Event(trace.SpanFromContext(ctx), eventConflict, attrAttempt.Int(attempt+1))
			continue
		}
		if err != nil {
			return rec, st, fmt.Errorf("token: %s: %w", doing, err)
		}
		rec.Version = v
		return rec, st, nil
	}
	return store.Record{}, familyState{}, fmt.Errorf("token: %s: %w after %d retries", doing, store.ErrConflict, r.opts.MaxRetries)
}

// Revoke ends the family named id: none of its refresh tokens is accepted
// again, and Family reports it revoked. Ending a family that has already
// ended is not an error.
func (r *Refresher) Revoke(ctx context.Context, id string) error {
	sid, ok := parseFamilyID(id)
	if !ok {
		return invalid("malformed family id")
	}
	rid := familyRecordID(sid)
	l := r.lockFor(rid)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.remember(rid, store.Record{}, ErrRevoked)
	if err := r.store.DeleteSession(ctx, rid); err != nil {
		return fmt.Errorf("token: revoking a refresh family: %w", err)
	}
	return nil
}

// RevokeUser ends every family of user and returns how many there were.
// Other kinds of record the user has in the same store (server-side
// sessions, cookie logins) are left alone.
func (r *Refresher) RevokeUser(ctx context.Context, user string) (int, error) {
	recs, err := r.store.UserSessions(ctx, user)
	if err != nil {
		return 0, fmt.Errorf("token: listing the families of a user: %w", err)
	}
	n := 0
	for _, rec := range recs {
		if rec.Kind != store.KindRefreshFamily {
			continue
		}
		if err := r.store.DeleteSession(ctx, rec.ID); err != nil {
			return n, fmt.Errorf("token: revoking the families of a user: %w", err)
		}
		n++
	}
	return n, nil
}

// load reads the family kept under id. A family that is missing, of
// another kind, or expired by r's clock gives an error wrapping ErrRevoked
// and ErrInvalid; a corrupt one, errCorruptFamily.
func (r *Refresher) load(ctx context.Context, id store.SessionID) (store.Record, familyState, error) {
	rec, err := r.store.Session(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return rec, familyState{}, rejected(ErrRevoked, "no such refresh family (never issued, expired or revoked)")
	}
	if err != nil {
		return rec, familyState{}, fmt.Errorf("token: reading a refresh family: %w", err)
	}
	if rec.Kind != store.KindRefreshFamily {
		return store.Record{}, familyState{}, rejected(ErrRevoked, "the record is not a refresh family")
	}
	if !r.opts.Now().Before(rec.Expires) {
		// The store's clock is behind this one (see RefreshOptions.Now).
		return store.Record{}, familyState{}, rejected(ErrRevoked, "the refresh family has expired")
	}
	st, err := decodeFamily(rec.Data)
	if err != nil {
		return rec, st, err
	}
	return rec, st, nil
}

// expiry is when a family created at created and last used at used ends.
func (r *Refresher) expiry(created, used time.Time) time.Time {
	idle := used.Add(r.opts.IdleTimeout)
	if end := created.Add(r.opts.Lifetime); end.Before(idle) {
		return end
	}
	return idle
}

func family(sid [familyIDBytes]byte, rec store.Record, st familyState) Family {
	return Family{
		ID:        base64.RawURLEncoding.EncodeToString(sid[:]),
		User:      rec.User,
		AccountID: rec.AccountID,
		AuthTime:  rec.AuthTime,
		Created:   rec.Created,
		LastUsed:  rec.LastSeen,
		Expires:   rec.Expires,
		UserAgent: rec.UserAgent,
		Data:      st.data,
	}
}

func familyRecordID(sid [familyIDBytes]byte) store.SessionID {
	return store.HashToken(familyDomain + base64.RawURLEncoding.EncodeToString(sid[:]))
}

// familySIDDomain separates a family's public id from other hashes.
const familySIDDomain = "sessionkit/token refresh family sid\x00"

// familySID returns the public id of the family whose refresh tokens begin
// with fid: Family.ID, the "sid" of its access tokens, which anyone who
// sees one can read. It is a one-way function of fid, so that a sid does
// not let anyone write a refresh token naming the family, which Rotate
// would take for a reused one and revoke the family for.
func familySID(fid [familyIDBytes]byte) [familyIDBytes]byte {
	h := sha256.Sum256(append([]byte(familySIDDomain), fid[:]...))
	return [familyIDBytes]byte(h[:familyIDBytes])
}

// newRefreshToken returns a fresh token of family fid, its secret and its
// hash.
func newRefreshToken(fid [familyIDBytes]byte) (string, [secretBytes]byte, tokenHash) {
	var raw [familyIDBytes + secretBytes]byte
	copy(raw[:], fid[:])
	_, _ = rand.Read(raw[familyIDBytes:])
	return base64.RawURLEncoding.EncodeToString(raw[:]), [secretBytes]byte(raw[familyIDBytes:]), sha256.Sum256(raw[:])
}

var strictB64 = base64.RawURLEncoding.Strict()

// parseRefreshToken returns the raw bytes of a refresh token (its family
// id, then its secret) and its hash.
func parseRefreshToken(tok string) ([familyIDBytes + secretBytes]byte, tokenHash, bool) {
	var raw [familyIDBytes + secretBytes]byte
	if len(tok) != strictB64.EncodedLen(len(raw)) || strings.ContainsAny(tok, "=\r\n") {
		return raw, tokenHash{}, false
	}
	if n, err := strictB64.Decode(raw[:], []byte(tok)); err != nil || n != len(raw) {
		return [familyIDBytes + secretBytes]byte{}, tokenHash{}, false
	}
	return raw, sha256.Sum256(raw[:]), true
}

func parseFamilyID(id string) ([familyIDBytes]byte, bool) {
	var fid [familyIDBytes]byte
	if len(id) != strictB64.EncodedLen(familyIDBytes) || strings.ContainsAny(id, "=\r\n") {
		return fid, false
	}
	n, err := strictB64.Decode(fid[:], []byte(id))
	return fid, err == nil && n == familyIDBytes
}
