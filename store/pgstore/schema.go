package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaPlaceholder stands for the quoted schema name in migrations and
// queries.
const schemaPlaceholder = "{schema}"

// migrations bring a schema from version i to i+1; sessionkit_schema holds a
// row for each one applied. Append only: never edit a released step.
//
// Text keys are COLLATE "C", so that equality and order are bytewise
// whatever the database's locale. Times are bigint Unix nanoseconds.
var migrations = [...]string{
	`-- Accounts. name_key is the name with ASCII letters folded to lower
-- case (by sessionkit, not by lower(), which depends on the locale): it
-- makes names unique case-insensitively. name keeps the spelling the
-- account was created with.
CREATE TABLE {schema}.sessionkit_users (
	name_key      text COLLATE "C" NOT NULL PRIMARY KEY,
	name          text   NOT NULL,
	password_hash text   NOT NULL,
	created       bigint NOT NULL,
	updated       bigint NOT NULL
);

-- The server's secrets per purpose; seq orders them as they were added.
CREATE TABLE {schema}.sessionkit_keys (
	purpose text COLLATE "C" NOT NULL,
	id      text COLLATE "C" NOT NULL,
	secret  bytea  NOT NULL,
	created bigint NOT NULL,
	seq     bigint GENERATED ALWAYS AS IDENTITY,
	PRIMARY KEY (purpose, id)
);

-- Ids refused until a time (cookie ids after logout, access-token jtis).
CREATE TABLE {schema}.sessionkit_deny_list (
	id      text COLLATE "C" NOT NULL PRIMARY KEY,
	expires bigint NOT NULL
);
CREATE INDEX sessionkit_deny_list_expires ON {schema}.sessionkit_deny_list (expires);

-- Server-side sessions. id is the SHA-256 of the session token: the token
-- is never stored. user_key is the owner folded like name_key ('' for a
-- session nobody has logged in to); user_name is the owner as saved. Only
-- owned sessions are indexed for listing.
CREATE TABLE {schema}.sessionkit_sessions (
	id         bytea  NOT NULL PRIMARY KEY CHECK (length(id) = 32),
	user_key   text COLLATE "C" NOT NULL,
	user_name  text   NOT NULL,
	data       bytea  NOT NULL,
	version    bigint NOT NULL CHECK (version >= 1),
	created    bigint NOT NULL,
	last_seen  bigint NOT NULL,
	expires    bigint NOT NULL,
	user_agent text   NOT NULL
);
CREATE INDEX sessionkit_sessions_user ON {schema}.sessionkit_sessions (user_key, created DESC)
	WHERE user_key <> '';
CREATE INDEX sessionkit_sessions_expires ON {schema}.sessionkit_sessions (expires);`,

	`-- Account ids: random, assigned by the caller, never reused. Accounts
-- created before ids existed get one here, and so does an account an
-- older sessionkit still running beside this one creates (the default;
-- gen_random_uuid needs PostgreSQL 13 or later).
ALTER TABLE {schema}.sessionkit_users
	ADD COLUMN id text COLLATE "C" NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '')
		CONSTRAINT sessionkit_users_id_nonempty CHECK (id <> '');
ALTER TABLE {schema}.sessionkit_users ADD CONSTRAINT sessionkit_users_id UNIQUE (id);

-- What a login is (its kind, '' for records written before kinds), the
-- id of the account it was made for (empty for none; bytea, since a
-- login keeps whatever bytes it was given), and when the user last proved
-- who they are (NULL for never).
ALTER TABLE {schema}.sessionkit_sessions
	ADD COLUMN kind       text COLLATE "C" NOT NULL DEFAULT '',
	ADD COLUMN account_id bytea  NOT NULL DEFAULT '',
	ADD COLUMN auth_time  bigint;

-- Expiring counters (login throttling). key is the caller's key, any
-- bytes. A row whose count is zero or below, or whose expiry has passed,
-- is no counter: it is treated as missing until it is deleted.
CREATE TABLE {schema}.sessionkit_counters (
	key     bytea  NOT NULL PRIMARY KEY,
	count   bigint NOT NULL,
	expires bigint NOT NULL
);
CREATE INDEX sessionkit_counters_expires ON {schema}.sessionkit_counters (expires);`,

	`-- Passkeys (WebAuthn credentials). id is the credential ID the
-- authenticator chose, unique across accounts; account_id the id of the
-- account it logs in to (not a foreign key: a passkey may be kept for an
-- account this store does not hold, and DeleteUser deletes an account's
-- passkeys itself, in its statement) and user_name that account's name.
-- transports are the browser's hints, in the order given; sign_count the
-- authenticator's counter, a uint32. created and last_used are NULL for
-- the zero time (last_used until the first login); seq orders passkeys
-- registered at the same time as they were added.
CREATE TABLE {schema}.sessionkit_passkeys (
	id              bytea  NOT NULL PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 1023),
	account_id      text COLLATE "C" NOT NULL CHECK (account_id <> ''),
	user_name       text   NOT NULL,
	name            text   NOT NULL,
	public_key      bytea  NOT NULL,
	aaguid          bytea  NOT NULL,
	transports      text[] NOT NULL,
	sign_count      bigint NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
	backup_eligible boolean NOT NULL,
	backup_state    boolean NOT NULL,
	created         bigint,
	last_used       bigint,
	seq             bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX sessionkit_passkeys_account ON {schema}.sessionkit_passkeys (account_id);`,

	`-- When a key starts signing (signs_from) and when it stops verifying
-- (retires), NULL for the zero time (from its creation, and never): keys
-- added before these columns existed read back with neither.
ALTER TABLE {schema}.sessionkit_keys
	ADD COLUMN signs_from bigint,
	ADD COLUMN retires    bigint;`,
}

// schemaTable creates the table that records the migrations applied.
const schemaTable = `CREATE TABLE IF NOT EXISTS {schema}.sessionkit_schema (
	version integer     NOT NULL PRIMARY KEY,
	applied timestamptz NOT NULL DEFAULT now()
)`

// inSchema replaces the schema placeholder in sql with the quoted schema.
func inSchema(sql, quotedSchema string) string {
	return strings.ReplaceAll(sql, schemaPlaceholder, quotedSchema)
}

// lockKey is the advisory lock that serializes migrations of one schema.
// Instances migrating different schemas do not wait on each other.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("sessionkit/pgstore migrate " + schema))
	return int64(h.Sum64())
}

// keysLockKey is the advisory lock that serializes AddFirstKey and
// RotateKey on one purpose of the schema quotedSchema (quoted, so that
// the two names cannot run together). Other purposes do not wait.
func keysLockKey(quotedSchema, purpose string) int64 {
	h := fnv.New64a()
	h.Write([]byte("sessionkit/pgstore keys " + quotedSchema + "." + purpose))
	return int64(h.Sum64())
}

// SchemaSQL returns a script that creates everything the store needs in
// schema (DefaultSchema if empty) at the current version, in one
// transaction, for a DBA to review and apply with psql. Applied to a schema
// that already has the tables, it fails and changes nothing. It fails only
// for a schema name PostgreSQL cannot take.
func SchemaSQL(schema string) (string, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if err := checkSchemaName(schema); err != nil {
		return "", err
	}
	q := quoteIdent(schema)
	var b strings.Builder
	b.WriteString("-- sessionkit PostgreSQL schema, generated by pgstore.SchemaSQL.\n")
	b.WriteString("BEGIN;\n")
	fmt.Fprintf(&b, "SELECT pg_advisory_xact_lock(%d);\n", lockKey(schema))
	fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\n", q)
	b.WriteString(inSchema(schemaTable, q) + ";\n")
	for i, m := range migrations {
		fmt.Fprintf(&b, "\n-- Version %d.\n%s\n", i+1, inSchema(m, q))
		fmt.Fprintf(&b, "INSERT INTO %s.sessionkit_schema (version) VALUES (%d);\n", q, i+1)
	}
	b.WriteString("COMMIT;\n")
	return b.String(), nil
}

// migrate brings schema up to the latest version, in one transaction under
// the schema's advisory lock, so that concurrent callers migrate it once.
// When the schema is current it only reads: the role needs no CREATE
// privilege then.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("pgstore: migrating schema %q: %w", schema, err)
		}
	}()
	q := quoteIdent(schema)
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		// No effect after Commit. Bounded, in case the connection hangs.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tx.Rollback(rctx)
	}()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(schema)); err != nil {
		return err
	}
	var schemaExists, tableExists bool
	if err := tx.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1),
		        to_regclass($2) IS NOT NULL`,
		schema, q+".sessionkit_schema").Scan(&schemaExists, &tableExists); err != nil {
		return err
	}
	version := 0
	if tableExists {
		if err := tx.QueryRow(ctx,
			`SELECT coalesce(max(version), 0) FROM `+q+`.sessionkit_schema`).Scan(&version); err != nil {
			return err
		}
	}
	switch {
	case version > len(migrations):
		return fmt.Errorf("schema version %d is newer than this program knows (%d)", version, len(migrations))
	case version == len(migrations):
		return tx.Commit(ctx)
	}
	if !schemaExists {
		// Created only when missing: CREATE SCHEMA IF NOT EXISTS would
		// need the CREATE privilege on the database even when it exists.
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+q); err != nil {
			return err
		}
	}
	if !tableExists {
		if _, err := tx.Exec(ctx, inSchema(schemaTable, q)); err != nil {
			return err
		}
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.Exec(ctx, inSchema(migrations[v], q)); err != nil {
			return fmt.Errorf("to version %d: %w", v+1, err)
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO `+q+`.sessionkit_schema (version) VALUES ($1)`, v+1); err != nil {
			return fmt.Errorf("to version %d: %w", v+1, err)
		}
	}
	return tx.Commit(ctx)
}

// queries are the statements the store runs, with the schema filled in.
type queries struct {
	schema string // quoted

	session, createSession, updateSession, deleteSession string
	userSessions, deleteUserSessions                     string

	createUser, user, setPasswordHash, deleteUser, listUsers string

	addPasskey, passkey, accountPasskeys, usePasskey, passkeyExists string
	renamePasskey, deletePasskey                                    string

	keys, addKey, addFirstKey, rotateKey, replaceKeySecret, deleteKey string

	deny, denied string

	addCount, dropCount, count, deleteCount string

	// expiring lists, for each table whose rows expire, the statement that
	// deletes one batch of its expired rows. Each takes the current time
	// (Unix nanoseconds) and the batch size.
	expiring [3]struct{ table, deleteBatch string }
}

// sessionColumns are the columns scanRecord reads, in its order.
const sessionColumns = `id, kind, user_name, account_id, auth_time, data, version, created, last_seen, expires, user_agent`

// userColumns are the columns scanUser reads, in its order.
const userColumns = `id, name, password_hash, created, updated`

func newQueries(quotedSchema string) queries {
	in := func(sql string) string { return inSchema(sql, quotedSchema) }
	q := queries{schema: quotedSchema}

	q.session = in(`SELECT ` + sessionColumns + ` FROM {schema}.sessionkit_sessions
		WHERE id = $1 AND expires > $2`)
	// Insert, or take over the row of an expired record that cleanup has
	// not deleted yet. A live row is left alone: no row is affected.
	q.createSession = in(`INSERT INTO {schema}.sessionkit_sessions AS s
		(id, user_key, user_name, data, version, created, last_seen, expires, user_agent,
		 kind, account_id, auth_time)
		VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $10, $11, $12)
		ON CONFLICT (id) DO UPDATE SET
			user_key = excluded.user_key, user_name = excluded.user_name,
			data = excluded.data, version = 1, created = excluded.created,
			last_seen = excluded.last_seen, expires = excluded.expires,
			user_agent = excluded.user_agent, kind = excluded.kind,
			account_id = excluded.account_id, auth_time = excluded.auth_time
		WHERE s.expires <= $9`)
	q.updateSession = in(`UPDATE {schema}.sessionkit_sessions SET
			user_key = $1, user_name = $2, data = $3, version = version + 1,
			created = $4, last_seen = $5, expires = $6, user_agent = $7,
			kind = $11, account_id = $12, auth_time = $13
		WHERE id = $8 AND version = $9 AND expires > $10`)
	q.deleteSession = in(`DELETE FROM {schema}.sessionkit_sessions WHERE id = $1`)
	q.userSessions = in(userSessionsSQL) // see sessions.go
	q.deleteUserSessions = in(`WITH gone AS (
			DELETE FROM {schema}.sessionkit_sessions
			WHERE user_key = $1 AND user_key <> ''
			RETURNING expires)
		SELECT count(*) FILTER (WHERE expires > $2) FROM gone`)

	q.createUser = in(`INSERT INTO {schema}.sessionkit_users
		(name_key, name, password_hash, created, updated, id) VALUES ($1, $2, $3, $4, $5, $6)`)
	q.user = in(`SELECT ` + userColumns + ` FROM {schema}.sessionkit_users
		WHERE name_key = $1`)
	q.setPasswordHash = in(`UPDATE {schema}.sessionkit_users SET password_hash = $1, updated = $2
		WHERE name_key = $3`)
	// The account and its passkeys go in one statement: exactly the
	// passkeys of the account this statement deletes, by the id it
	// returns. It returns how many accounts it deleted.
	q.deleteUser = in(`WITH gone AS (
			DELETE FROM {schema}.sessionkit_users WHERE name_key = $1
			RETURNING id),
		passkeys AS (
			DELETE FROM {schema}.sessionkit_passkeys
			WHERE account_id IN (SELECT id FROM gone))
		SELECT count(*) FROM gone`)
	q.listUsers = in(`SELECT ` + userColumns + ` FROM {schema}.sessionkit_users
		ORDER BY name_key`)

	q.addPasskey = in(`INSERT INTO {schema}.sessionkit_passkeys
		(id, account_id, user_name, name, public_key, aaguid, transports, sign_count,
		 backup_eligible, backup_state, created, last_used)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`)
	q.passkey = in(`SELECT ` + passkeyColumns + ` FROM {schema}.sessionkit_passkeys
		WHERE id = $1`)
	q.accountPasskeys = in(`SELECT ` + passkeyColumns + ` FROM {schema}.sessionkit_passkeys
		WHERE account_id = $1 ORDER BY created NULLS FIRST, seq`)
	// The sign-count check is in the WHERE clause, so that it and the
	// update are one atomic step: of concurrent updates the later waits
	// for the earlier and checks the row it wrote. $1 id, $2 the new count,
	// $3 backup state, $4 last used.
	q.usePasskey = in(`UPDATE {schema}.sessionkit_passkeys
		SET sign_count = $2, backup_state = $3, last_used = $4
		WHERE id = $1 AND ($2 > sign_count OR ($2 = 0 AND sign_count = 0))`)
	q.passkeyExists = in(`SELECT EXISTS (SELECT 1 FROM {schema}.sessionkit_passkeys WHERE id = $1)`)
	q.renamePasskey = in(`UPDATE {schema}.sessionkit_passkeys SET name = $3
		WHERE id = $2 AND account_id = $1`)
	q.deletePasskey = in(`DELETE FROM {schema}.sessionkit_passkeys
		WHERE id = $2 AND account_id = $1`)

	q.keys = in(`SELECT id, secret, created, signs_from, retires FROM {schema}.sessionkit_keys
		WHERE purpose = $1 ORDER BY seq`)
	// addKey, addFirstKey and rotateKey take the key as $1 purpose, $2
	// id, $3 secret, $4 created, $5 signs from, $6 retires.
	q.addKey = in(`INSERT INTO {schema}.sessionkit_keys (purpose, id, secret, created, signs_from, retires)
		VALUES ($1, $2, $3, $4, $5, $6)`)
	// Run under the purpose's advisory lock (see Store.withKeyLock), so
	// that the check sees every key added before it.
	q.addFirstKey = in(`INSERT INTO {schema}.sessionkit_keys (purpose, id, secret, created, signs_from, retires)
		SELECT $1, $2, $3, $4, $5, $6
		WHERE NOT EXISTS (SELECT 1 FROM {schema}.sessionkit_keys WHERE purpose = $1)`)
	// Retires the purpose's keys that are not retiring yet at $7 (unless
	// it is NULL) and adds the new key, in one statement: a taken id
	// fails it whole. The UPDATE does not see the row the INSERT adds. Run
	// under the purpose's advisory lock, so that it sees every key added
	// before it.
	q.rotateKey = in(`WITH retired AS (
			UPDATE {schema}.sessionkit_keys SET retires = $7
			WHERE purpose = $1 AND retires IS NULL AND $7::bigint IS NOT NULL)
		INSERT INTO {schema}.sessionkit_keys (purpose, id, secret, created, signs_from, retires)
		VALUES ($1, $2, $3, $4, $5, $6)`)
	// The compare-and-swap of a key's secret, in one statement: $1
	// purpose, $2 id, $3 the secret expected, $4 the new one. It returns
	// whether the key exists and whether it was changed. Of concurrent
	// swaps of one key the later waits for the earlier and, under READ
	// COMMITTED, checks the secret that one wrote.
	q.replaceKeySecret = in(`WITH cur AS (
			SELECT 1 FROM {schema}.sessionkit_keys WHERE purpose = $1 AND id = $2),
		changed AS (
			UPDATE {schema}.sessionkit_keys SET secret = $4
			WHERE purpose = $1 AND id = $2 AND secret = $3
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM cur), EXISTS (SELECT 1 FROM changed)`)
	q.deleteKey = in(`DELETE FROM {schema}.sessionkit_keys WHERE purpose = $1 AND id = $2`)

	q.deny = in(`INSERT INTO {schema}.sessionkit_deny_list AS d (id, expires) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET expires = GREATEST(d.expires, excluded.expires)`)
	q.denied = in(`SELECT EXISTS (SELECT 1 FROM {schema}.sessionkit_deny_list
		WHERE id = $1 AND expires > $2)`)

	// A counter that is missing, expired or at zero or below starts again
	// from the delta, with the new expiry; a live one adds the delta and
	// keeps its expiry. One statement, so concurrent calls each see the
	// value their own delta made. $1 key, $2 delta, $3 the expiry of a new
	// counter, $4 now.
	q.addCount = in(`INSERT INTO {schema}.sessionkit_counters AS c (key, count, expires)
		VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN c.expires <= $4 OR c.count <= 0
				THEN excluded.count ELSE c.count + excluded.count END,
			expires = CASE WHEN c.expires <= $4 OR c.count <= 0
				THEN excluded.expires ELSE c.expires END
		RETURNING count, expires`)
	// Removes a counter AddCount brought to zero or below, unless another
	// call has revived it meanwhile. Until it runs, the row is no counter
	// anyway.
	q.dropCount = in(`DELETE FROM {schema}.sessionkit_counters WHERE key = $1 AND count <= 0`)
	q.count = in(`SELECT count, expires FROM {schema}.sessionkit_counters
		WHERE key = $1 AND expires > $2 AND count > 0`)
	q.deleteCount = in(`DELETE FROM {schema}.sessionkit_counters WHERE key = $1`)

	// Each batch first locks the rows it will delete, found on the expires
	// index, skipping rows another transaction holds (a save reviving an
	// expired session, another instance's cleanup); FOR UPDATE rechecks
	// expires on rows changed meanwhile, so a revived row is never
	// deleted. The ids are collected into an array so that the delete
	// looks them up by primary key whatever the planner estimates (with
	// "id IN (subquery)" a generic plan may hash-join the whole table).
	for i, t := range [...]struct{ table, key string }{
		{"sessionkit_deny_list", "id"},
		{"sessionkit_sessions", "id"},
		{"sessionkit_counters", "key"},
	} {
		q.expiring[i].table = t.table
		q.expiring[i].deleteBatch = in(`DELETE FROM {schema}.` + t.table + ` WHERE ` + t.key + ` = ANY (ARRAY(
			SELECT ` + t.key + ` FROM {schema}.` + t.table + `
			WHERE expires <= $1 ORDER BY expires LIMIT $2
			FOR UPDATE SKIP LOCKED))`)
	}
	return q
}

// errNoRows reports whether err is pgx's "no rows".
func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
