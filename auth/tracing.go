package auth

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/internal/tracing"
)

// Spans (see the package documentation's Tracing section):
// "auth.password.hash" and "auth.password.verify", each the argon2id work
// of one password, from the wait for a hashing slot (an event marks when
// one was free) to the end of the hash.
const scope tracing.Scope = "github.com/sessionkit/sessionkit/auth"

// Attributes and events of the spans. None holds a password, a hash, a
// salt or a user name, nor says whether the account exists or the
// password matched.
const (
	attrMemory      = attribute.Key("sessionkit.auth.argon2id.memory_kib")
	attrIterations  = attribute.Key("sessionkit.auth.argon2id.iterations")
	attrParallelism = attribute.Key("sessionkit.auth.argon2id.parallelism")
	// attrRehashed is true when a verified password was also hashed again
	// with stronger parameters.
	attrRehashed = attribute.Key("sessionkit.auth.rehashed")
	eventSlot    = "hashing slot acquired"
)

// setParams records the argon2id parameters of a new hash on span.
func setParams(span trace.Span, p Params) {
	if span.IsRecording() {
		span.SetAttributes(attrMemory.Int64(int64(p.Memory)), attrIterations.Int64(int64(p.Iterations)),
			attrParallelism.Int64(int64(p.Parallelism)))
	}
}
