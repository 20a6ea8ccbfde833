package kek_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/kek"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/memstore"
)

func ExampleWrap() {
	ctx := context.Background()

	// In production the KEK lives outside the store: a key file
	// ("file:/etc/sessionkit/kek", see kek.CreateFile) or a key service
	// ("awskms://alias/sessionkit?region=eu-west-1").
	k, err := kek.Open(ctx, "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=")
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()

	st := memstore.New(memstore.Options{})
	defer st.Close()
	keys := kek.Wrap(st, k)

	// Secrets go in and come out in plaintext...
	err = keys.AddFirstKey(ctx, "cookie", store.Key{ID: "c1", Secret: []byte("thirty-two bytes of cookie key!!"), Created: time.Now()})
	if err != nil {
		log.Fatal(err)
	}
	got, err := keys.Keys(ctx, "cookie")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", got[0].Secret)

	// ...and the store itself only ever holds them encrypted.
	raw, err := st.Keys(ctx, "cookie")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(string(raw[0].Secret), "skkek1."), strings.Contains(string(raw[0].Secret), "cookie key"))

	// A KEK never prints its key.
	fmt.Println(k)
	// Output:
	// thirty-two bytes of cookie key!!
	// true false
	// kek(base64key://REDACTED)
}
