package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// testDenyList checks that an id is refused until its time has passed,
// and that denying it again keeps the later time.
func testDenyList(t *testing.T, s store.DenyList) {
	ctx := context.Background()
	now := time.Now()

	denied := func(id string) bool {
		t.Helper()
		ok, err := s.Denied(ctx, id)
		if err != nil {
			t.Fatalf("Denied(%s): %v", id, err)
		}
		return ok
	}
	if denied("a") {
		t.Fatal("an id never denied is denied")
	}
	if err := s.Deny(ctx, "a", now.Add(time.Hour)); err != nil {
		t.Fatalf("Deny: %v", err)
	}
	if err := s.Deny(ctx, "past", now.Add(-time.Second)); err != nil {
		t.Fatalf("Deny: %v", err)
	}
	if !denied("a") {
		t.Error("an id denied for an hour is not denied")
	}
	if denied("past") {
		t.Error("an id denied until a past time is still denied")
	}
	if denied("b") {
		t.Error("denying one id denied another")
	}
	// A second Deny keeps the later time, in both orders.
	if err := s.Deny(ctx, "a", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !denied("a") {
		t.Error("denying again with an earlier time shortened the first entry")
	}
	if err := s.Deny(ctx, "past", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !denied("past") {
		t.Error("denying again with a later time did not extend the entry")
	}
}
