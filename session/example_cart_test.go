package session_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// CartItem is a line of a shopping cart: any type a Codec encodes can be
// kept in a session.
type CartItem struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// addToCart appends to the cart with Update, so that concurrent requests
// (two tabs adding at once) each keep their item. It needs only the
// context, as code below a handler has.
func addToCart(ctx context.Context, sku string) ([]CartItem, error) {
	s, ok := session.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("no session in this context")
	}
	return session.Update(s, "cart", func(cart []CartItem) []CartItem {
		return append(cart, CartItem{SKU: sku, Qty: 1})
	})
}

// A cart kept as a slice of structs, filled by twenty concurrent requests.
func Example_cart() {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	mgr, err := session.New(st, session.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		if _, err := addToCart(r.Context(), r.FormValue("sku")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		cart, _ := session.Get[[]CartItem](session.From(r), "cart")
		fmt.Fprintf(w, "%d items, first %+v", len(cart), cart[0])
	})
	srv := httptest.NewServer(http.NewCrossOriginProtection().Handler(mgr.Handler(mux)))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(srv.URL+"/cart", map[string][]string{"sku": {"apple"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if resp, err := client.PostForm(srv.URL+"/cart", map[string][]string{"sku": {"pear"}}); err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	resp, err = client.Get(srv.URL + "/cart")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output:
	// 21 items, first {SKU:apple Qty:1}
}
