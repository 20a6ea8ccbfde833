package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/store/memstore"
)

// A memory store as a deny list: an id is refused until its time passes.
func ExampleNew() {
	s := memstore.New(memstore.Options{})
	defer s.Close()
	ctx := context.Background()

	_ = s.Deny(ctx, "cookie-id-1", time.Now().Add(time.Hour))
	denied, _ := s.Denied(ctx, "cookie-id-1")
	other, _ := s.Denied(ctx, "cookie-id-2")
	fmt.Println(denied, other)
	// Output: true false
}
