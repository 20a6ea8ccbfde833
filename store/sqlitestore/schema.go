package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations bring a database from schema version i to i+1. The version is
// kept in SQLite's user_version. Append only: never edit a released step.
var migrations = [...]string{
	`CREATE TABLE users (
		name          TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
		password_hash TEXT    NOT NULL,
		created       INTEGER NOT NULL,
		updated       INTEGER NOT NULL
	) STRICT;
	CREATE TABLE keys (
		purpose TEXT    NOT NULL,
		id      TEXT    NOT NULL,
		secret  BLOB    NOT NULL,
		created INTEGER NOT NULL,
		seq     INTEGER NOT NULL,
		PRIMARY KEY (purpose, id)
	) STRICT;
	CREATE TABLE deny_list (
		id    TEXT    NOT NULL PRIMARY KEY,
		until INTEGER NOT NULL
	) STRICT;
	CREATE INDEX deny_list_until ON deny_list (until);`,

	// Server-side sessions. id is the SHA-256 of the token (store.SessionID);
	// user is empty for a session nobody has logged in to, and only named
	// users are indexed for listing.
	`CREATE TABLE sessions (
		id         BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 32),
		user       TEXT    NOT NULL COLLATE NOCASE,
		data       BLOB    NOT NULL,
		version    INTEGER NOT NULL,
		created    INTEGER NOT NULL,
		last_seen  INTEGER NOT NULL,
		expires    INTEGER NOT NULL,
		user_agent TEXT    NOT NULL
	) STRICT;
	CREATE INDEX sessions_user ON sessions (user, created) WHERE user <> '';
	CREATE INDEX sessions_expires ON sessions (expires);`,

	// Account ids, the kind, account and proof time of every login, and
	// expiring counters (login throttling). An account created before ids
	// existed gets a random one. A session written before kinds existed
	// reads back with the empty kind and account id; auth_time 0 is the
	// zero time. A counter's key is a blob: the caller's key may be any
	// bytes. A counter is live while count > 0 and expires > now.
	`ALTER TABLE users ADD COLUMN id TEXT NOT NULL DEFAULT '';
	UPDATE users SET id = lower(hex(randomblob(16)));
	CREATE UNIQUE INDEX users_id ON users (id);
	ALTER TABLE sessions ADD COLUMN kind       TEXT    NOT NULL DEFAULT '';
	ALTER TABLE sessions ADD COLUMN account_id TEXT    NOT NULL DEFAULT '';
	ALTER TABLE sessions ADD COLUMN auth_time  INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE counters (
		key     BLOB    NOT NULL PRIMARY KEY,
		count   INTEGER NOT NULL,
		expires INTEGER NOT NULL
	) STRICT;
	CREATE INDEX counters_expires ON counters (expires);`,

	// Passkeys (WebAuthn credentials). id is the credential ID the
	// authenticator chose; transports is a JSON array of strings; the
	// flags are 0 or 1; last_used 0 is the zero time (never used). An
	// account's passkeys are listed by created, then rowid: the order
	// they were added in.
	`CREATE TABLE passkeys (
		id              BLOB    NOT NULL PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 1023),
		account_id      TEXT    NOT NULL CHECK (account_id <> ''),
		user            TEXT    NOT NULL,
		name            TEXT    NOT NULL,
		public_key      BLOB    NOT NULL,
		aaguid          BLOB    NOT NULL,
		transports      TEXT    NOT NULL,
		sign_count      INTEGER NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
		backup_eligible INTEGER NOT NULL,
		backup_state    INTEGER NOT NULL,
		created         INTEGER NOT NULL,
		last_used       INTEGER NOT NULL
	) STRICT;
	CREATE INDEX passkeys_account ON passkeys (account_id, created);`,

	// When a key starts signing and when it stops verifying, in Unix
	// nanoseconds; 0 is the zero time (from creation, and never,
	// respectively). A key added before these existed reads back with
	// neither.
	`ALTER TABLE keys ADD COLUMN signs_from INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE keys ADD COLUMN retires    INTEGER NOT NULL DEFAULT 0;`,
}

// migrate applies the migrations the database has not seen yet, each in its
// own transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("sqlitestore: reading schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("sqlitestore: database schema version %d is newer than this program knows (%d)", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if err := applyMigration(ctx, db, v); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrating to version %d: %w", v+1, err)
	}
	defer tx.Rollback()
	// Another process may have migrated since we read the version.
	var current int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("sqlitestore: migrating to version %d: %w", v+1, err)
	}
	if current > v {
		return nil
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return fmt.Errorf("sqlitestore: migrating to version %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return fmt.Errorf("sqlitestore: migrating to version %d: %w", v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: migrating to version %d: %w", v+1, err)
	}
	return nil
}
