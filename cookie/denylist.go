package cookie

import (
	"fmt"
	"net/http"
)

// Revoke logs out the value of the cookie in r, everywhere: it puts the ID
// of every valid value of the cookie in r on Options.DenyList until that
// value expires, so that [Cookie.Read] refuses it and every copy of it with
// [ErrRevoked], then clears the cookie as [Cookie.Clear] does. It uses r's
// context for the deny list. An absent, invalid or expired value needs no
// deny-listing: the cookie is just cleared.
//
// When the deny list fails, Revoke returns its error, wrapped, and leaves
// the cookie in place: clearing it would make the user believe they were
// logged out while copies of the cookie still work. Answer 503 so that the
// user can try again.
//
// Without a DenyList, Revoke only clears the cookie: a copy taken earlier
// stays valid until it expires.
func (c *Cookie) Revoke(w http.ResponseWriter, r *http.Request) error {
	if c.deny != nil {
		name := c.policy.Name(c.name, r)
		now := c.now()
		for _, hc := range r.CookiesNamed(name) {
			v, err := c.open(name, hc.Value, now)
			if err != nil {
				continue
			}
			if err := c.deny.Deny(r.Context(), v.ID, v.Expires); err != nil {
				return fmt.Errorf("cookie: adding to the deny list: %w", err)
			}
		}
	}
	c.Clear(w, r)
	return nil
}
