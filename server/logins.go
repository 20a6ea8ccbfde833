package server

import (
	"context"
	"fmt"

	"github.com/sessionkit/sessionkit/auth"
	"github.com/sessionkit/sessionkit/store"
)

// A user's logins of every kind (server-side sessions, cookie logins,
// refresh families) are records of the store's Sessions, each with its
// store.Kind and the ID of the account it was made for. The functions here
// are the one policy over all of them: listing, capping and ending.

// accountLogins returns the live logins of the account u, every kind, most
// recently created first. Records under u's name that belong to another
// account (one deleted since, whose name u now has) are never returned;
// they are deleted on the way, best effort.
func (s *Server) accountLogins(ctx context.Context, u store.User) ([]store.Record, error) {
	recs, err := s.backend.UserSessions(ctx, u.Name)
	if err != nil {
		return nil, fmt.Errorf("listing the logins of %s: %w", u.Name, err)
	}
	mine := recs[:0]
	for _, rec := range recs {
		if _, err := auth.LoginStands(u, nil, rec.AccountID, rec.AuthTime); err != nil {
			// Not this account's, or proved before the password changed:
			// refused by every check, and not worth listing or counting.
			if err := s.backend.DeleteSession(ctx, rec.ID); err != nil {
				s.log.WarnContext(ctx, "deleting a login that no longer stands", "user", u.Name, "err", err)
			}
			continue
		}
		mine = append(mine, rec)
	}
	return mine, nil
}

// makeRoomForLogin ends the oldest logins of the account u, of every kind,
// so that one more login keeps it within MaxSessionsPerUser. It runs
// before a login is recorded; a failure is logged and the login goes on
// (the cap is a bound on growth, not a security check). The user's
// records are at most the cap (plus logins racing with this one), so the
// listing stays small however long the user has been logging in.
func (s *Server) makeRoomForLogin(ctx context.Context, u store.User) {
	limit := s.cfg.MaxSessionsPerUser
	if limit <= 0 {
		return
	}
	recs, err := s.accountLogins(ctx, u)
	if err != nil {
		s.log.WarnContext(ctx, "listing logins to enforce the per-user limit failed", "user", u.Name, "err", err)
		return
	}
	oldest := store.OldestBeyond(recs, limit-1)
	if len(oldest) == 0 {
		return
	}
	ended := 0
	for _, rec := range oldest {
		if err := s.backend.DeleteSession(ctx, rec.ID); err != nil {
			s.log.WarnContext(ctx, "ending a login beyond the per-user limit failed", "user", u.Name, "err", err)
			break
		}
		ended++
	}
	s.log.InfoContext(ctx, "oldest logins of the user ended: over the per-user limit",
		"user", u.Name, "ended", ended, "limit", limit)
}

// endLogins ends every login of user, of every kind, except the record
// keep (the zero id keeps none), and returns how many it ended.
func (s *Server) endLogins(ctx context.Context, user string, keep store.SessionID) (int, error) {
	if keep == (store.SessionID{}) {
		n, err := s.backend.DeleteUserSessions(ctx, user)
		if err != nil {
			return 0, fmt.Errorf("ending the logins of %s: %w", user, err)
		}
		return n, nil
	}
	recs, err := s.backend.UserSessions(ctx, user)
	if err != nil {
		return 0, fmt.Errorf("listing the logins of %s: %w", user, err)
	}
	n := 0
	for _, rec := range recs {
		if rec.ID == keep {
			continue
		}
		if err := s.backend.DeleteSession(ctx, rec.ID); err != nil {
			return n, fmt.Errorf("ending the logins of %s: %w", user, err)
		}
		n++
	}
	return n, nil
}
