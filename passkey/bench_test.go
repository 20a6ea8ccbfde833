package passkey_test

import (
	"context"
	"testing"
)

// BenchmarkFinishLogin measures a whole passkey login on a memory store,
// as the server runs it: Begin, the authenticator's signature (outside
// the timer), and Finish (opening the sealed state, spending the
// challenge, go-webauthn's checks of the assertion and the ES256
// signature, and the atomic counter update).
func BenchmarkFinishLogin(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	for b.Loop() {
		options, state, err := f.rp.BeginLogin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		resp, err := f.authn.Get(options, f.cred)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := f.rp.FinishLogin(ctx, state, resp); err != nil {
			b.Fatal(err)
		}
	}
}
