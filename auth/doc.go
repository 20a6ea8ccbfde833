// Package auth manages user accounts: it checks usernames and passwords,
// stores passwords as argon2id hashes, and logs users in with throttling of
// failed attempts.
//
// # Accounts
//
// [Accounts] is built on a [store.Users] backend. [Accounts.Register] creates
// an account, [Accounts.Login] checks a username and password, and
// [Accounts.ChangePassword] replaces a password. Usernames are 3 to 64
// characters of [A-Za-z0-9_.-] and compare case-insensitively; passwords are
// 8 to 1024 bytes of anything (see [ValidateUsername] and
// [ValidatePassword]).
//
// # Password hashing
//
// Passwords are hashed with argon2id (RFC 9106) and kept as PHC strings such
// as
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// which record the parameters next to the hash, so parameters can be raised
// later without invalidating old hashes: [Accounts.Login] rehashes a password
// with the current parameters after a successful login when [NeedsRehash]
// says the stored hash is weaker.
//
// [DefaultParams] is the minimum the OWASP Password Storage Cheat Sheet
// recommends for argon2id: 19 MiB of memory, 2 passes, 1 lane, a 16-byte
// random salt and a 32-byte hash. Memory is what makes guessing expensive on
// GPUs and ASICs; the cost is paid by the server too, on every login and
// registration, so [Options.MaxConcurrentHashes] bounds how many hashes run at
// once (and so the memory they take: MaxConcurrentHashes × Params.Memory).
//
// # Guarantees
//
//   - An unknown username and a wrong password give the same error,
//     [ErrBadCredentials], and the same work: for an unknown user Login
//     verifies the password against a dummy hash made with the current
//     parameters, so the time taken does not tell whether the account exists.
//     (An account whose stored hash has older, cheaper parameters is verified
//     at that older cost until its next successful login rehashes it.)
//   - Failed logins are counted per username (case-insensitively) and per
//     client address (per /64 for IPv6) by a [Throttle]; past the limit,
//     Login refuses to check the password and returns a [*ThrottledError]
//     saying how long to wait. A throttled attempt costs no hashing.
//   - A storage failure is never reported as bad credentials and never counts
//     as a failed attempt: callers can answer "unavailable" (503) rather than
//     "unauthorized" (401).
//   - Input that breaks the username or password rules is refused before the
//     store is consulted, so it says nothing about which accounts exist.
//
// # Errors
//
// Errors are exported sentinels, to be tested with errors.Is, and
// [*ThrottledError], which carries how long to wait. The messages of the
// errors a user may be shown ([ErrInvalidUsername], [ErrInvalidPassword],
// [ErrBadCredentials], [ErrUsernameTaken], [ErrThrottled]) are sentences fit
// for a form and never repeat the password; the others start with "auth:"
// and are meant for logs. Any error from Login other than those five means
// the server could not decide (the store failed, or the context ended while
// waiting for a hashing slot).
//
// # Tracing
//
// Hashing and verifying a password in [Accounts] start the OpenTelemetry
// spans "auth.password.hash" and "auth.password.verify" (argon2id, from
// the wait for a hashing slot, which an event ends), through the trace
// API (go.opentelemetry.io/otel/trace), only as children of a span that
// is recording in the context, with that span's TracerProvider. A hash's
// span records its argon2id parameters; no span holds a password, a hash,
// a user name, or whether the account exists or the password matched.
// The package installs no provider: outside a traced request no span is
// started and the cost is a context lookup.
//
// # Limits
//
// Throttle state lives in the memory of one process: it is lost on restart,
// and several server instances behind a load balancer each count separately,
// so an attacker spreading attempts across N instances gets N times the
// limit. The throttle bounds its memory ([ThrottleOptions.MaxEntries]); when
// an attacker fills it with distinct names or addresses, it forgets the
// least useful entries first (expired ones, then those below their limit,
// then the lockouts that would end soonest), which can shorten a lockout. Throttling by username lets anyone lock an account
// out for one window by failing on purpose; that is the usual trade-off and
// the reason the window is short.
package auth
