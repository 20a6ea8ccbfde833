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
		{Name: "sk-session-mem", What: "sessionkit /session/profile, memory:"},
		{Name: "sk-session-sqlite", What: "sessionkit /session/profile, sqlite:"},
		{Name: "sk-session-redis", What: "sessionkit /session/profile, redis://"},
		{Name: "sk-session-pg", What: "sessionkit /session/profile, postgres://"},
		{Name: "sk-cookie", What: "sessionkit /cookie/profile (sealed cookie), memory:", Sealed: true},
		{Name: "sk-jwt-hs256", What: "sessionkit /jwt/profile, HS256, memory:"},
		{Name: "sk-jwt-eddsa", What: "sessionkit /jwt/profile, EdDSA, memory:"},
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

// Target is a goal of issue 6: Server's req/s divided by Against's, each
// ratio taken within one round, must be at least Min. Informational
// targets are shown without PASS or FAIL.
type Target struct {
	Server  string
	Against string
	Min     float64
	Info    bool
}

// Targets returns the targets.
func Targets() []Target {
	return []Target{
		{Server: "sk-session-mem", Against: "bare", Min: 0.70},
		{Server: "sk-session-mem", Against: "scs-mem", Min: 2.3, Info: true},
		{Server: "sk-cookie", Against: "bare", Min: 0.60},
		{Server: "sk-cookie", Against: "gorilla-cookie", Min: 2.3, Info: true},
		{Server: "sk-session-sqlite", Against: "bare", Min: 0.35},
		{Server: "sk-session-redis", Against: "scs-redis", Min: 1.5},
		{Server: "sk-jwt-hs256", Against: "golang-jwt-hs256", Min: 0.9},
		{Server: "sk-jwt-eddsa", Against: "golang-jwt-eddsa", Min: 0.9},
		{Server: "sk-session-mem", Against: "express", Min: 15},
	}
}
