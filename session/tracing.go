package session

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"

	"github.com/sessionkit/sessionkit/internal/tracing"
	"github.com/sessionkit/sessionkit/store"
)

// Spans (see the package documentation's Tracing section): "session.load"
// when a request's cookie names a session, "session.save" when a request
// stores one, each with its store calls as children.
const scope tracing.Scope = "github.com/sessionkit/sessionkit/session"

// Attributes and events of the spans. None names a session, a user or a
// value: they say what happened.
const (
	// attrOutcome is how a load that did not fail ended: "found", "none"
	// (malformed, unknown, expired or unreadable: a new session starts) or
	// "ended" (its login no longer stands).
	attrOutcome = attribute.Key("sessionkit.session.outcome")
	// attrNew is true on a save that creates a session.
	attrNew = attribute.Key("sessionkit.session.new")
	// eventConflict is added to the save span for each compare-and-swap
	// another request won (or, creating, each token that collided); its
	// attrAttempt is the attempt that lost, from 1.
	eventConflict = "conflict"
	attrAttempt   = attribute.Key("sessionkit.session.attempt")
)

// saveFailure is the error.type of a save that failed.
func saveFailure(err error) string {
	switch {
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrCodec):
		return "codec"
	case errors.Is(err, store.ErrConflict):
		return "conflict"
	}
	return tracing.Why(err, "store")
}
