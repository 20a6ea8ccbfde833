// Package cookie keeps data in the browser, in cookies that the browser can
// neither read nor change: sealed cookies.
//
// A [KeyRing] seals a value for a cookie name with XChaCha20-Poly1305 and
// opens it again. A [Cookie] builds on it for net/http handlers: it reads
// and writes one cookie, gives each value a random ID and a fixed expiry,
// sets safe attributes, and can revoke a value through a [store.DenyList].
//
// # Wire format
//
// A sealed value is base64url without padding of
//
//	version (1 byte, 1) | key tag (4) | nonce (24) | ciphertext | Poly1305 tag (16)
//
// The key tag is the start of SHA-256 over a fixed string and the key's
// secret: it names the key that sealed the value without revealing the
// secret. The nonce is random for each value. The plaintext is the expiry
// (8 bytes, big-endian Unix seconds) followed by the value; a [Cookie] puts
// the value's 16-byte ID before its data. The additional data is
// "sessionkit/cookie/v1" followed by the cookie's name.
//
// # Guarantees
//
//   - Confidentiality: without a key of the ring, nothing of a value can be
//     learnt but its length.
//   - Integrity: any change to a sealed value, and any value not sealed by a
//     key of the ring, is refused with [ErrInvalid], which never says why.
//   - Name binding: a value sealed for one cookie name does not open under
//     another, so a value cannot be moved from one cookie to another.
//   - Expiry: the expiry is inside the sealed value, so a client cannot
//     extend it, and it is enforced by the server, not only by the
//     browser's Max-Age ([ErrExpired]).
//   - Rotation: the newest key of the ring seals and every key opens, so a
//     new key can be added at once and an old one dropped once the values
//     it sealed have expired.
//   - Size: a value that would make the cookie longer than the 4096 bytes
//     browsers keep is refused when written ([ErrTooLarge]), instead of being
//     dropped silently by the browser.
//
// # Attributes
//
// A [Policy] gives a cookie's attributes other than its value and
// lifetime, and [Policy.Cookie] turns it into those of a Set-Cookie. Every
// cookie is HttpOnly, so scripts in the page cannot read it. By default it
// is also host-only (no Domain), Path=/ and SameSite=Lax, and Secure when
// the request came over HTTPS ([SecureAuto]); a Secure cookie's name gets
// the "__Host-" prefix, with which browsers refuse any such cookie that is
// not Secure, host-only and Path=/, so that neither a plain-HTTP page nor
// a sibling subdomain can plant one.
//
// Policy.Domain shares the cookie with every subdomain of a domain, and
// Policy.Path limits it to part of the site; either gives a Secure cookie
// the "__Secure-" prefix instead, which allows them (see [Policy.Name]).
// Policy.SameSite makes it Strict (never sent with a request another site
// started, not even a link) or None (always sent,
// for a site embedded in another's frames), and Policy.Partitioned makes a
// CHIPS cookie, kept apart for each site that embeds the application.
// Browsers refuse SameSite=None and Partitioned cookies that are not
// Secure, so both need Secure: [SecureAlways]; [Policy.Check] reports
// this and every other combination browsers refuse, with [ErrPolicy], and
// [New] refuses such a Policy.
//
// Options.BrowserSession leaves Max-Age and Expires out, so that the
// browser forgets the cookie when it closes; the expiry sealed in the value
// still ends it for the server MaxAge after it was first written.
//
// # CSRF
//
// A browser sends the cookie with every request to its site, including the
// ones another site makes it send, so a cookie that logs someone in needs a
// defence against cross-site request forgery. SameSite=Lax (the default)
// keeps it off cross-site POSTs; wrap every state-changing route in
// [net/http.CrossOriginProtection] as well, and keep state changes off GET:
//
//	csrf := http.NewCrossOriginProtection()
//	// Behind a proxy that rewrites Host, or for another origin of yours:
//	// csrf.AddTrustedOrigin("https://app.example.com")
//	http.ListenAndServe(addr, csrf.Handler(mux))
//
// With SameSite=None, that protection is the only defence: do not leave it
// out.
//
// # Errors
//
// [Cookie.Read] says why there is no valid value with [ErrNoCookie],
// [ErrInvalid], [ErrExpired] or [ErrRevoked]: the user is logged out, and
// [IsUnauthenticated] reports true for each. Any other error from Read
// means that Options.DenyList could not answer (or the request's context
// ended first): the value could not be checked, and the answer is 503, so
// that the user tries again rather than being logged out by the store's
// failure.
//
//	v, err := c.Read(r)
//	switch {
//	case cookie.IsUnauthenticated(err):
//		http.Redirect(w, r, "/login", http.StatusSeeOther)
//		return
//	case err != nil:
//		http.Error(w, "try again", http.StatusServiceUnavailable)
//		return
//	}
//
// # What it does not do
//
// A sealed cookie is a bearer credential. Whoever has a copy of it (from a
// stolen laptop, malware, a log) can replay it until it expires, and an old
// version of it (say, with a lower visit count) stays valid next to the new
// one. Only a [store.DenyList] in Options can end that early, and only from
// the moment [Cookie.Revoke] is called: revoking refuses every version of a
// value, since they share its ID, but nothing refuses a copy before then.
// Keep lifetimes short, serve over HTTPS so that cookies are Secure, and
// keep data that must change atomically, or be revoked for sure, on the
// server.
//
// # Examples
//
// Example (NetHTTP) is a plain net/http application whose login lives in a
// sealed cookie: a middleware of its own opens the cookie and puts the user
// in the request's context, and logout revokes the value through a deny
// list, so a copy taken before logout is refused. Example (Chi) keeps
// preferences in a sealed cookie, read by a middleware installed with
// chi's router.Use and written from a route parameter. The example of
// [New] counts visits, and that of [NewKeyRing] rotates a key. Example
// (Subdomains) shares a login cookie between the subdomains of a site with
// SameSite=Strict. The example of [IsUnauthenticated] tells a logged-out
// user from a store that failed. Each runs as a test.
package cookie
