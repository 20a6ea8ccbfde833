// Package scale holds the scale benchmark of the session stores: what the
// operations of every request cost as the number of live sessions grows,
// and what a login costs as one user's logins pile up. It has no code of
// its own; the benchmarks are in its test files, and the tables in
// docs/BENCHMARKS.md are made from their output by bench/cmd/scaletable.
//
// BenchmarkScale/<store>/<size>/<op> fills a store with size live
// sessions (two logins each for size/2 users), then measures, one call at a
// time on records chosen at random:
//
//   - Session: reading a record (every request with a session cookie);
//   - Save: saving an existing record again (LastSeen and Data changed, by
//     compare-and-swap on the version it has);
//   - Create: creating a record for a new user (a login); the record is
//     deleted again, outside the timer, so that the store keeps its size;
//   - UserSessions: listing one user's logins (two).
//
// BenchmarkScaleLogins/<store>/<n>/Login gives one user n live logins, in
// a store that holds as many logins in every row (the largest n; the rest
// are two each of other users), and measures creating one more for that
// user (deleted again outside the timer): what differs between rows is
// only the user's own number of logins.
//
// The stores are sqlite (a file in a temporary directory), redis (a key
// prefix of its own, every key under it deleted at the end) and postgres (a
// schema of its own, dropped at the end), each size in its own. They are
// filled through the store's own SaveSession, from several goroutines (two
// for SQLite, which has one writer; sixteen for the servers). The
// PostgreSQL store that fills runs on its own pool with
// synchronous_commit=off, so that the fill does not wait for an fsync per
// record; the store that is measured has the server's settings. The table
// is not analyzed after the fill: the measurement is of a table right after
// a bulk load, before statistics (autovacuum may still analyze it on a
// server where it is on).
//
// Settings, from the environment (the store servers are those of the
// tests: SESSIONKIT_TEST_REDIS and SESSIONKIT_TEST_POSTGRES):
//
//   - SESSIONKIT_SCALE_SIZES: the sizes, comma-separated, as 1000, 1k, 1M
//     (default 1k,100k; 1M takes minutes per store to fill);
//   - SESSIONKIT_SCALE_STORES: which stores (default sqlite,redis,postgres);
//   - SESSIONKIT_SCALE_LOGINS: the numbers of logins of the one user
//     (default 10,1k,10k).
//
// Run from bench/ (CI runs no benchmarks, only TestScaleFixture, which
// checks the harness on a few hundred records):
//
//	SESSIONKIT_SCALE_SIZES=1k,100k,1M go test -run '^$' -bench Scale -benchtime 2s -count 3 -timeout 3h ./scale | tee scale.txt
//	go run ./cmd/scaletable < scale.txt
package scale
