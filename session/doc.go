// Package session keeps server-side sessions: the browser holds a cookie
// with a random token, and the session's values live in a store (see the
// store package and its backends).
//
// A Manager is net/http middleware. Wrap the handlers that use sessions
// with [Manager.Handler]; inside them, [From] returns the request's
// [Session]:
//
//	mgr := session.New(st, session.Options{})
//	mux.Handle("/profile", mgr.Handler(http.HandlerFunc(profile)))
//
//	func profile(w http.ResponseWriter, r *http.Request) {
//		s := session.From(r)
//		n := s.Increment("views", 1)
//		fmt.Fprintf(w, "views: %d", n)
//	}
//
// Values are typed: [Get], [Put] and [Pop] take strings, byte slices, ints,
// bools, floats and times. At login, call [Session.Renew] before
// [Session.SetUser], so that a session id planted in the browser before
// login is never the one that is logged in. [Session.Destroy] ends a
// session; [Manager.DestroyAll] ends every session of a user.
//
// What the manager guarantees:
//
//   - Tokens carry 256 bits from crypto/rand; the store only ever sees
//     their SHA-256, and a token the store does not know is never adopted.
//   - Idle timeout and absolute lifetime are both enforced on the server.
//     A request that only reads extends the idle deadline at most once per
//     Options.TouchInterval, so most reads do not write.
//   - A session that holds nothing is not stored and sets no cookie, and a
//     request that changed nothing does not write.
//   - No lost updates: a session records the changes a request makes and
//     saves them by compare-and-swap; when another request saved first, it
//     reloads the newest record, applies the changes again and retries.
//     Two hundred concurrent increments of one session add exactly 200.
//   - The response is not buffered. Pending changes are saved, and the
//     cookie set, just before the status line goes out; changes made while
//     the body is being written are saved when the handler returns.
//   - A store that fails or times out while a request loads or saves its
//     session answers 503 (Options.ErrorHandler), never "logged out".
//   - A session's encoded values are bounded (Options.MaxDataBytes, 64 KiB
//     by default): [Put] returns an error wrapping [ErrTooLarge] and stores
//     nothing, and a save that would cross the bound fails with it; nothing
//     is truncated. Options.MaxSessionsPerUser ends a user's oldest sessions
//     when a login takes the user past it.
//
// # Examples
//
// The package Example is the shortest program; Example (NetHTTP) is a
// plain net/http application with a login page, a middleware of its own
// that guards the pages needing a login, and logout; Example (Chi) uses
// [Manager.Handler] as a chi middleware (router.Use) with route parameters.
// Each runs as a test against an in-memory store. The repository's
// docs/ARCHITECTURE.md follows a request through the middleware to the
// store.
package session
