// Package report reads the results bench/load.sh writes (one CSV row per
// server and round), reduces them to medians and ratios, checks them
// against the performance targets, and prints them as markdown tables.
// cmd/report and cmd/chart are its two users.
package report

// Server describes one server of the load comparison.
type Server struct {
	Name string // the name load.sh knows it by
	What string // what it is, for the table
	// Sealed reports that the count lives in the client's cookie, so
	// concurrent requests from one cookie each start from the same value.
	Sealed bool
}

// Servers returns every server load.sh can run, in its order.
func Servers() []Server {
	return []Server{
		{Name: "bare", What: "net/http, same page, no session"},
		{Name: "sk-session-mem", What: "sessionkit session mode, memory:"},
		{Name: "sk-session-sqlite", What: "sessionkit session mode, sqlite:"},
		{Name: "sk-session-redis", What: "sessionkit session mode, redis://"},
		{Name: "sk-session-pg", What: "sessionkit session mode, postgres://"},
		{Name: "sk-cookie", What: "sessionkit cookie mode (sealed cookie), memory:", Sealed: true},
		{Name: "sk-jwt-hs256", What: "sessionkit JWT mode, HS256, memory:"},
		{Name: "sk-jwt-eddsa", What: "sessionkit JWT mode, EdDSA, memory:"},
		{Name: "scs-mem", What: "scs v2, memstore"},
		{Name: "scs-redis", What: "scs v2, redisstore (redigo)"},
		{Name: "gorilla-cookie", What: "gorilla/sessions CookieStore", Sealed: true},
		{Name: "golang-jwt-hs256", What: "golang-jwt directly, HS256 cookie"},
		{Name: "golang-jwt-eddsa", What: "golang-jwt directly, EdDSA cookie"},
		{Name: "express", What: "Express + express-session (MemoryStore)"},
		{Name: "express-jwt", What: "Express + jsonwebtoken, HS256 cookie"},
	}
}

// lookupServer returns the description of the named server, or one that
// only has the name.
func lookupServer(name string) Server {
	for _, s := range Servers() {
		if s.Name == name {
			return s
		}
	}
	return Server{Name: name}
}

// Target is a goal of issue 18: Server's req/s divided by Against's, each
// ratio taken within one round, must be at least Min. Informational
// targets are shown without PASS or FAIL.
type Target struct {
	Server  string
	Against string
	Min     float64
	Info    bool
}

// Targets returns issue 18's targets, set for the users scenario (200
// distinct users), and for the hot one that sessionkit keeps up with scs
// on one login; every scenario's table shows them all.
func Targets() []Target {
	return []Target{
		{Server: "sk-session-mem", Against: "bare", Min: 0.60},
		{Server: "sk-session-mem", Against: "scs-mem", Min: 2.0},
		{Server: "sk-session-sqlite", Against: "bare", Min: 0.30},
		{Server: "sk-session-redis", Against: "scs-redis", Min: 1.5},
		{Server: "sk-session-pg", Against: "bare", Min: 0.12},
		{Server: "sk-session-mem", Against: "scs-mem", Min: 1.0, Info: true},
	}
}
