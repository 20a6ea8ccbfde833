package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// A passkey is a stored passkey and the order it was added in, which
// orders passkeys registered at the same time.
type passkey struct {
	p   store.Passkey
	seq uint64
}

// AddPasskey stores a copy of p, or returns store.ErrExists when a passkey
// with the same ID exists, whichever account it belongs to. A passkey with
// no AccountID, or an ID that is not 1 to 1023 bytes, is an error, but not
// store.ErrExists.
func (s *Store) AddPasskey(ctx context.Context, p store.Passkey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(p.ID) < 1 || len(p.ID) > 1023 {
		return fmt.Errorf("memstore: add passkey: credential ID of %d bytes, want 1 to 1023", len(p.ID))
	}
	if p.AccountID == "" {
		return errors.New("memstore: add passkey: empty account ID")
	}
	p = clonePasskey(p)
	id := string(p.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.passkeys[id]; ok {
		return store.ErrExists
	}
	s.passkeySeq++
	s.passkeys[id] = passkey{p: p, seq: s.passkeySeq}
	ids := s.accountPasskeys[p.AccountID]
	if ids == nil {
		ids = make(map[string]struct{})
		s.accountPasskeys[p.AccountID] = ids
	}
	ids[id] = struct{}{}
	return nil
}

// Passkey returns a copy of the passkey whose credential ID is id, or
// store.ErrNotFound.
func (s *Store) Passkey(ctx context.Context, id []byte) (store.Passkey, error) {
	if err := ctx.Err(); err != nil {
		return store.Passkey{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.passkeys[string(id)]
	if !ok {
		return store.Passkey{}, store.ErrNotFound
	}
	return clonePasskey(k.p), nil
}

// AccountPasskeys returns copies of the passkeys of the account accountID,
// oldest (by Created, then the order they were added in) first, or an
// empty slice when it has none.
func (s *Store) AccountPasskeys(ctx context.Context, accountID string) ([]store.Passkey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	found := make([]passkey, 0, len(s.accountPasskeys[accountID]))
	for id := range s.accountPasskeys[accountID] {
		found = append(found, s.passkeys[id])
	}
	s.mu.RUnlock()
	slices.SortFunc(found, func(a, b passkey) int {
		if c := a.p.Created.Compare(b.p.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	out := make([]store.Passkey, len(found))
	for i, k := range found {
		out[i] = clonePasskey(k.p)
	}
	return out, nil
}

// UsePasskey records a login with the passkey id, under the store's lock:
// of concurrent calls with the same count, exactly one succeeds. It
// returns store.ErrSignCount, changing nothing, when the count did not
// increase (and is not zero again after zero), and store.ErrNotFound when
// there is no such passkey.
func (s *Store) UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, used time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.passkeys[string(id)]
	if !ok {
		return store.ErrNotFound
	}
	if signCount <= k.p.SignCount && (signCount != 0 || k.p.SignCount != 0) {
		return store.ErrSignCount
	}
	k.p.SignCount, k.p.BackupState, k.p.LastUsed = signCount, backupState, used
	s.passkeys[string(id)] = k
	return nil
}

// RenamePasskey sets the Name of the passkey id of the account accountID,
// or returns store.ErrNotFound when that account has no such passkey.
func (s *Store) RenamePasskey(ctx context.Context, accountID string, id []byte, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.passkeys[string(id)]
	if !ok || k.p.AccountID != accountID {
		return store.ErrNotFound
	}
	k.p.Name = name
	s.passkeys[string(id)] = k
	return nil
}

// DeletePasskey removes the passkey id of the account accountID, or
// returns store.ErrNotFound when that account has no such passkey.
func (s *Store) DeletePasskey(ctx context.Context, accountID string, id []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.passkeys[string(id)]
	if !ok || k.p.AccountID != accountID {
		return store.ErrNotFound
	}
	delete(s.passkeys, string(id))
	ids := s.accountPasskeys[accountID]
	delete(ids, string(id))
	if len(ids) == 0 {
		delete(s.accountPasskeys, accountID)
	}
	return nil
}

// deleteAccountPasskeys removes every passkey of the account accountID.
// The caller holds s.mu for writing.
func (s *Store) deleteAccountPasskeys(accountID string) {
	for id := range s.accountPasskeys[accountID] {
		delete(s.passkeys, id)
	}
	delete(s.accountPasskeys, accountID)
}

// clonePasskey returns a copy of p that shares no memory with it.
func clonePasskey(p store.Passkey) store.Passkey {
	p.ID = slices.Clone(p.ID)
	p.PublicKey = slices.Clone(p.PublicKey)
	p.AAGUID = slices.Clone(p.AAGUID)
	p.Transports = slices.Clone(p.Transports)
	return p
}
