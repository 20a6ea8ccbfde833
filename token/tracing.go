package token

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/internal/tracing"
)

// Spans (see the package documentation's Tracing section):
// "token.verify" for Verifier.Verify and "token.refresh.rotate" for
// Refresher.Rotate, each with its store calls as children.
const scope tracing.Scope = "github.com/sessionkit/sessionkit/token"

// Attributes and events of the spans. None holds a token, a token id, a
// family id, a key or a user name.
const (
	// attrOutcome is "valid", or why the token was refused: "expired",
	// "revoked", "reused" or "invalid". A store that failed is no
	// outcome: the span's status is Error, with an error.type.
	attrOutcome = attribute.Key("sessionkit.token.outcome")
	// eventConflict is added for each compare-and-swap of a refresh family
	// that another request won; attrAttempt is the attempt that lost,
	// from 1.
	eventConflict = "conflict"
	attrAttempt   = attribute.Key("sessionkit.token.attempt")
)

// endSpan records on span how the operation that returned err ended.
func endSpan(span trace.Span, err error) {
	if !span.IsRecording() {
		return
	}
	switch {
	case err == nil:
		span.SetAttributes(attrOutcome.String("valid"))
	case errors.Is(err, ErrReused):
		span.SetAttributes(attrOutcome.String("reused"))
	case errors.Is(err, ErrRevoked):
		span.SetAttributes(attrOutcome.String("revoked"))
	case errors.Is(err, ErrExpired):
		span.SetAttributes(attrOutcome.String("expired"))
	case errors.Is(err, ErrInvalid):
		span.SetAttributes(attrOutcome.String("invalid"))
	default:
		tracing.Fail(span, tracing.Why(err, "store"))
	}
}
