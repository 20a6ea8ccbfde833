// Package session keeps server-side sessions: the browser holds a cookie
// with a random token, and the session's values live in a store (see the
// store package and its backends).
//
// A Manager is net/http middleware. Wrap the handlers that use sessions
// with [Manager.Handler]; inside them, [From] (or [FromContext]) returns the
// request's [Session]:
//
//	mgr, err := session.New(st, session.Options{})
//	mux.Handle("/profile", mgr.Handler(http.HandlerFunc(profile)))
//
//	func profile(w http.ResponseWriter, r *http.Request) {
//		s := session.From(r)
//		n := s.Increment("views", 1)
//		fmt.Fprintf(w, "views: %d", n)
//	}
//
// # Values
//
// A session holds values of any type under string keys: [Get], [Put],
// [Pop] and [Update] are generic. Strings, byte slices, ints, bools,
// floats and times have a compact encoding of their own; structs, slices,
// maps and named types go through Options.Codec ([JSONCodec] by default,
// or [GobCodec]), and Get decodes them into the type asked for:
//
//	session.Put(s, "cart", []CartItem{{SKU: "apple", Qty: 2}})
//	cart, ok := session.Get[[]CartItem](s, "cart")
//
// # Which changes are conflict-safe
//
// Requests of one session run at the same time (a user's tabs, a page's
// parallel fetches, several server instances). Every save is a
// compare-and-swap; when another request saved first, the manager reloads
// the newest record, applies this request's changes to it again and
// retries. What "apply again" means depends on the change:
//
//   - [Update] (read-modify-write by a function) and [Session.Increment]
//     are conflict-safe: the function or the delta is applied to the newest
//     value, so no concurrent change is lost. Fifty requests appending to a
//     cart with Update leave fifty items, on every store and across
//     instances.
//   - [Put] of a whole value is last-write-wins for its key: the later save
//     keeps its value, and a value computed from an older read (read the
//     cart, append, Put) overwrites the other request's change. Use Update
//     for that.
//   - [Pop], [Session.Delete] and [Session.Clear] delete whatever the key
//     (or the session) holds when they are applied, including a value a
//     concurrent request put.
//   - Changes to different keys never overwrite one another.
//
// # Logins
//
// At login, call [Session.Renew] before [Session.SetUser], so that a
// session id planted in the browser before login is never the one that is
// logged in. [Session.SetRememberMe] chooses a persistent or browser-session
// cookie for that login. [Session.Destroy] ends a session;
// [Manager.Sessions] lists a user's sessions, [Manager.DestroySession] ends
// one of them and [Manager.DestroyAll] all of them ("log out everywhere").
//
// # Cookies and CSRF
//
// The cookie is HttpOnly, SameSite=Lax, Path=/ and host-only unless
// Options.Policy says otherwise (Domain to share a session across
// subdomains, SameSite Strict or None, Partitioned); it is Secure, with the
// "__Host-" or "__Secure-" name prefix, when the request came over HTTPS.
//
// A browser sends the cookie with every request to the site, including
// requests another site makes it send, so every handler that changes state
// must refuse cross-origin requests. SameSite=Lax stops most of them; wrap
// the mux in [net/http.CrossOriginProtection] too, and keep state changes
// off GET:
//
//	csrf := http.NewCrossOriginProtection()
//	// Behind a proxy that rewrites Host, or for a trusted other origin:
//	// csrf.AddTrustedOrigin("https://app.example.com")
//	handler := csrf.Handler(mgr.Handler(mux))
//
// # Outside a handler
//
// [Session.Token] gives the token of the request's session; [Manager.Load]
// loads the session by it anywhere (a WebSocket's read loop, a job), and
// [Manager.Commit] saves its changes with the same conflict-safe save.
// Package session/sessiontest gives handler tests a session without
// setting up a store or copying cookies (it keeps one in memory).
//
// # What the manager guarantees
//
//   - Tokens carry 256 bits from crypto/rand; the store only ever sees
//     their SHA-256, and a token the store does not know is never adopted.
//   - Idle timeout and absolute lifetime are both enforced on the server.
//     A request that only reads extends the idle deadline at most once per
//     Options.TouchInterval, so most reads do not write.
//   - A session that holds nothing is not stored and sets no cookie, and a
//     request that changed nothing does not write.
//   - The response is not buffered. Pending changes are saved, and the
//     cookie set, just before the status line goes out; changes made while
//     the body is being written are saved when the handler returns.
//   - A store that fails or times out while a request loads or saves its
//     session answers 503 (Options.ErrorHandler), never "logged out".
//   - A session's encoded values are bounded (Options.MaxDataBytes, 64 KiB
//     by default): [Put] and [Update] return an error wrapping
//     [ErrTooLarge] and store nothing, and a save that would cross the
//     bound fails with it; nothing is truncated. Options.MaxSessionsPerUser
//     ends a user's oldest sessions when a login takes the user past it.
//
// # Tracing
//
// The manager starts OpenTelemetry spans through the trace API
// (go.opentelemetry.io/otel/trace), only as children of a span that is
// recording in the request's context (one that otelhttp or the
// application started), with that span's TracerProvider: "session.load"
// when a cookie names a session (its outcome: found, none or ended) and
// "session.save" when a request stores its session, with an event for
// each compare-and-swap another request won. Their store calls are their
// children. The package installs no provider: without a traced request
// no span is started and the cost is a context lookup. No span holds a
// token, a session id or its hash, a user name or a value.
//
// # Examples
//
// The package Example is the shortest program; Example (NetHTTP) is a
// plain net/http application with a login page, a middleware of its own
// that guards the pages needing a login, and logout; Example (Chi) uses
// [Manager.Handler] as a chi middleware (router.Use) with route parameters;
// Example (Cart) keeps a struct slice and updates it conflict-safely.
// Each runs as a test against an in-memory store. The repository's
// docs/ARCHITECTURE.md follows a request through the middleware to the
// store.
package session
