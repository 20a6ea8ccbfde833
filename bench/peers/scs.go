package peers

import (
	"net/http"
	"runtime"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"
)

// newSCS is the tutorial's app on an scs session manager, configured with
// sessionkit's session policy where scs has the setting: a one-hour idle
// timeout, a 24-hour lifetime, tokens hashed in the store. A nil st keeps
// scs's default, its memstore.
func newSCS(page *Page, acc *accounts, st scs.Store) http.Handler {
	sm := scs.New()
	if st != nil {
		sm.Store = st
	}
	sm.IdleTimeout = time.Hour
	sm.Lifetime = 24 * time.Hour
	sm.HashTokenInStore = true

	mux := http.NewServeMux()
	mux.HandleFunc("POST /register", acc.register)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user, ok := acc.checkLogin(w, r)
		if !ok {
			return
		}
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		sm.Put(r.Context(), "user", user)
		sm.Put(r.Context(), "count", int64(0))
		redirect(w, r, "/profile")
	})
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		user := sm.GetString(r.Context(), "user")
		if user == "" {
			toLogin(w, r)
			return
		}
		count := sm.GetInt64(r.Context(), "count") + 1
		sm.Put(r.Context(), "count", count)
		page.Write(w, r, user, count)
	})
	// The same page read-only: nothing is Put, so scs saves nothing.
	mux.HandleFunc("GET /profile/read", func(w http.ResponseWriter, r *http.Request) {
		user := sm.GetString(r.Context(), "user")
		if user == "" {
			toLogin(w, r)
			return
		}
		page.Write(w, r, user, sm.GetInt64(r.Context(), "count"))
	})
	return sm.LoadAndSave(mux)
}

// newSCSMem is scs on its own in-memory store.
func newSCSMem(page *Page, acc *accounts) http.Handler {
	return newSCS(page, acc, nil)
}

// newSCSRedis is scs on its Redis store, through a redigo pool as large as
// go-redis's default (ten connections per CPU), which sessionkit's Redis
// store uses.
func newSCSRedis(page *Page, acc *accounts, opts Options) (http.Handler, *redis.Pool) {
	addr := opts.RedisAddr
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	size := 10 * runtime.GOMAXPROCS(0)
	pool := &redis.Pool{
		MaxIdle:     size,
		MaxActive:   size,
		Wait:        true,
		IdleTimeout: 5 * time.Minute,
		Dial: func() (redis.Conn, error) {
			return redis.Dial("tcp", addr, redis.DialDatabase(opts.RedisDB),
				redis.DialConnectTimeout(5*time.Second))
		},
	}
	var st scs.Store
	if opts.RedisPrefix == "" {
		st = redisstore.New(pool)
	} else {
		st = redisstore.NewWithPrefix(pool, opts.RedisPrefix)
	}
	return newSCS(page, acc, st), pool
}
