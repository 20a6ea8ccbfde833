package auth

import (
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// DefaultStandingCache is how long CheckLogin may answer "the login
// stands" from an account it read before, when Options.StandingCache is
// zero.
const DefaultStandingCache = time.Second

// maxStanding bounds how many accounts a standing cache holds. Past it the
// entries that expired are dropped, and when none has, all of them: the
// next checks read the store again, which is what they cost without a
// cache.
const maxStanding = 1 << 16

// standing remembers, for a short time, the accounts CheckLogin read, so
// that a user's requests do not each read their account. It only ever
// confirms a login: a check the remembered account would refuse reads the
// store again, so a login made after a change elsewhere (a new password, a
// name registered again) is never refused on old information.
//
// What it allows is bounded by its ttl: a change made by another process
// (another instance, the admin CLI) that should end a login is seen at
// most ttl late. Such a change also deletes the logins it ends from the
// store at once (the server's endLogins, the CLI's DeleteUserSessions), so
// the late check matters only for a login recorded while the change was
// in flight. A change made through these Accounts is seen at once.
type standing struct {
	ttl time.Duration // ≤ 0: nothing is remembered
	mu  sync.Mutex
	m   map[string]standingEntry // by store.FoldName of the account's name
	gen uint64                   // counts forget calls; see put
	now func() time.Time         // time.Now; tests move it
}

type standingEntry struct {
	u       store.User
	expires time.Time
}

func newStanding(ttl time.Duration) *standing {
	return &standing{ttl: ttl, m: make(map[string]standingEntry), now: time.Now}
}

// get returns the account named user read less than ttl ago, if any.
func (c *standing) get(user string) (store.User, bool) {
	if c.ttl <= 0 {
		return store.User{}, false
	}
	key := store.FoldName(user)
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || !c.now().Before(e.expires) {
		return store.User{}, false
	}
	return e.u, true
}

// generation returns what put needs to tell whether a read of the store
// that begins now may be remembered when it ends.
func (c *standing) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put remembers u, read from the store after generation returned gen,
// unless these Accounts changed an account meanwhile: the read may then
// have returned what the change replaced.
func (c *standing) put(u store.User, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	now := c.now()
	key := store.FoldName(u.Name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= maxStanding {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxStanding {
			clear(c.m)
		}
	}
	c.m[key] = standingEntry{u: u, expires: now.Add(c.ttl)}
}

// forget drops what is remembered of the account named user, and keeps
// reads under way from being remembered: called once these Accounts have
// changed the account in the store.
func (c *standing) forget(user string) {
	if c.ttl <= 0 {
		return
	}
	key := store.FoldName(user)
	c.mu.Lock()
	delete(c.m, key)
	c.gen++
	c.mu.Unlock()
}
