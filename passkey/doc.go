// Package passkey logs users in with passkeys (WebAuthn credentials) and
// lets them add passkeys to their accounts, on top of a sessionkit store.
//
// A [RelyingParty] runs the two WebAuthn ceremonies with
// github.com/go-webauthn/webauthn, which parses and verifies everything
// the authenticator sends (CBOR, COSE keys, signatures, origins):
//
//   - registration: [RelyingParty.BeginRegistration] gives the options for
//     the browser's navigator.credentials.create() and a sealed state;
//     [RelyingParty.FinishRegistration] checks the browser's answer against
//     that state and stores the new passkey (store.Passkeys).
//   - login: [RelyingParty.BeginLogin] gives the options for
//     navigator.credentials.get() with no user named (the authenticator
//     offers the passkeys it holds for this site: discoverable
//     credentials); [RelyingParty.FinishLogin] checks the answer and returns
//     the account it proves.
//
// What a login then produces (a session, a sealed cookie, a token pair) is
// the caller's business, exactly as after a password check.
//
// The state between Begin and Finish is the challenge and what it is
// bound to, sealed (encrypted and authenticated) with the caller's
// [Sealer], such as a cookie.KeyRing: the server keeps nothing per
// ceremony. The caller hands it back, in a short-lived cookie or a JSON
// field. It expires after Options.ChallengeLifetime and is single-use:
// Finish records the challenge in the store's counters before checking the
// answer, so a replay, on this instance or another sharing the store, is
// refused with [ErrChallenge].
//
// A passkey's signature counter must move forward at every login (unless
// the authenticator keeps none); one that does not is refused with
// [ErrSignCount], atomically in the store, so two logins with one counter
// value cannot both pass.
package passkey
