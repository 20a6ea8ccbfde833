package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrConflict reports that a compare-and-swap save lost: the record was
// changed (or created, or deleted) by someone else since the caller read it.
// The caller should read the record again and decide what to do.
var ErrConflict = errors.New("store: version conflict")

// SessionID is how a store names a session: the SHA-256 of the session token
// the browser holds. Stores never see the token itself, so a copy of the
// database holds no credential a browser could present.
type SessionID [sha256.Size]byte

// HashToken returns the SessionID of a session token.
func HashToken(token string) SessionID {
	return sha256.Sum256([]byte(token))
}

// String returns the id in lower-case hex. It is safe to log and to show:
// it cannot be turned back into the token.
func (id SessionID) String() string {
	return hex.EncodeToString(id[:])
}

// ErrSessionID is returned (wrapped) by ParseSessionID for text that is not
// a SessionID's String form.
var ErrSessionID = errors.New("store: not a session id")

// ParseSessionID reads back an id written by [SessionID.String]: 64 hex
// digits, in either case. Anything else, such as a form field a client
// tampered with, gives an error wrapping [ErrSessionID].
func ParseSessionID(s string) (SessionID, error) {
	var id SessionID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("%w: %d characters, want %d", ErrSessionID, len(s), 2*len(id))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return SessionID{}, fmt.Errorf("%w: %w", ErrSessionID, err)
	}
	return id, nil
}

// Kind says what a Record is. Every package that keeps logins in a
// store.Sessions names its records' kind, so that listing, capping and
// ending a user's logins never has to guess from the bytes of Data.
type Kind string

// The kinds of login sessionkit keeps. A backend stores the kind as the
// text given here; an application may add kinds of its own.
const (
	KindSession       Kind = "session"        // a server-side session (package session)
	KindCookieLogin   Kind = "cookie-login"   // the record behind a sealed-cookie login (server)
	KindRefreshFamily Kind = "refresh-family" // a refresh-token family: one JWT login (package token)
)

// Record is a session as a store keeps it, or any other login kept the
// same way (see Kind).
type Record struct {
	ID SessionID

	// Kind says what the record is. The empty kind is read as
	// KindSession: records written before kinds existed were sessions or
	// are refused for want of an AccountID.
	Kind Kind

	// User is the account the session belongs to; empty for a session that
	// belongs to nobody yet (before login). Only sessions with a User are
	// listed by UserSessions.
	User string

	// AccountID is the ID of the account User named when the login was
	// made (User.ID). A check of the login compares it with the account's
	// current ID: a login made for an account since deleted, or whose name
	// now belongs to someone else, is refused.
	AccountID string

	// AuthTime is when the user last proved who they are (a password, a
	// passkey) for this login: what step-up ("sudo mode") checks, and what
	// a password change compares with. Zero for a session with no user.
	AuthTime time.Time

	// Data is the session's values, encoded by the session package. Stores
	// keep it as opaque bytes.
	Data []byte

	// Version is the number of times the record has been saved: 1 after it
	// is created. A save names the version it read; see SaveSession.
	Version uint64

	// Times are kept to at least the millisecond, and must lie between
	// the years 1970 and 2262 (backends may store Unix nanoseconds).
	Created   time.Time // when the session began
	LastSeen  time.Time // when a request last extended it
	Expires   time.Time // when the store forgets it
	UserAgent string    // of the browser that created it, for listings
}

// Sessions keeps server-side session records. Every record has an expiry;
// an expired record is never returned, by any method, even if the backend
// has not removed it yet.
type Sessions interface {
	// Session returns the record named id, or ErrNotFound when there is no
	// such record or it has expired.
	Session(ctx context.Context, id SessionID) (Record, error)

	// SaveSession saves r by compare-and-swap. r.Version is the version the
	// caller read: 0 to create a new record. The save succeeds only if the
	// stored record still has that version (for 0: no live record named
	// r.ID exists); the stored version becomes r.Version+1 and is returned.
	// Otherwise nothing changes and the error is ErrConflict. Of many
	// concurrent saves naming the same version, at most one succeeds (one
	// does if that version is the stored one). A record saved with an
	// Expires in the past is at once treated as expired.
	SaveSession(ctx context.Context, r Record) (version uint64, err error)

	// DeleteSession removes the record named id. Removing a record that
	// does not exist is not an error.
	DeleteSession(ctx context.Context, id SessionID) error

	// UserSessions returns the live records whose User is user (compared
	// case-insensitively in ASCII, like account names), most recently
	// created first. The empty user matches no record.
	UserSessions(ctx context.Context, user string) ([]Record, error)

	// DeleteUserSessions removes every record whose User is user and
	// returns how many live records it removed. The empty user matches no
	// record: anonymous sessions are never removed in bulk.
	DeleteUserSessions(ctx context.Context, user string) (int, error)
}

// OldestBeyond returns the records of recs beyond the newest keep: the
// ones a per-user limit ends, oldest first (by Created, then LastSeen). It
// reorders recs; a keep of zero or less returns them all.
func OldestBeyond(recs []Record, keep int) []Record {
	excess := len(recs) - max(keep, 0)
	if excess <= 0 {
		return nil
	}
	slices.SortFunc(recs, func(a, b Record) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return a.LastSeen.Compare(b.LastSeen)
	})
	return recs[:excess]
}

// MaxUserAgent bounds the Record.UserAgent a login keeps for listings.
const MaxUserAgent = 256

// ListedUserAgent returns ua as a Record keeps it: valid UTF-8, cut to at
// most MaxUserAgent bytes. Every kind of login (sessions, refresh
// families, cookie logins) stores its user agent through it.
func ListedUserAgent(ua string) string {
	ua = strings.ToValidUTF8(ua, "")
	if len(ua) > MaxUserAgent {
		ua = strings.ToValidUTF8(ua[:MaxUserAgent], "")
	}
	return ua
}
