package session

import (
	"fmt"
	"reflect"
	"slices"
	"time"
)

// Values of any type can be kept. The basic types — string, []byte, int,
// int64, bool, float64 and time.Time — have a compact encoding of their
// own: ints are kept as int64, so a value put as int can be read as int64
// and the other way round; times keep their instant (to the nanosecond)
// but not their location or monotonic reading. Every other type (structs,
// slices, maps, named types such as `type Role string`) goes through
// Options.Codec, JSON by default, and is decoded afresh by each Get.

// Get returns the value stored under key as a T. The boolean is false, and
// the value T's zero, when there is no such key, or it holds a basic value
// of another type, or a Codec-encoded value that does not decode as a T.
// A value read through the Codec is the caller's own copy: changing it
// changes nothing in the session until it is Put back.
func Get[T any](s *Session, key string) (T, bool) {
	s.mu.Lock()
	v := s.values[key]
	s.mu.Unlock()
	return as[T](s.m.opts.Codec, v)
}

// Put stores v under key, replacing any value there. It returns an error
// and stores nothing when v's type needs the Codec and the Codec cannot
// encode it ([ErrCodec]), or when the session's encoded values would then
// exceed Options.MaxDataBytes ([ErrTooLarge]).
//
// Put is last-write-wins: when two requests put the same key at once, the
// later save's value is kept. To change a value based on what it holds
// (append to a cart, add to a total), use [Update] or [Session.Increment],
// which never lose a concurrent change.
func Put[T any](s *Session, key string, v T) error {
	nv, err := normalize(s.m.opts.Codec, v)
	if err != nil {
		return fmt.Errorf("session: put %q: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fits(key, nv); err != nil {
		return fmt.Errorf("session: put %q: %w", key, err)
	}
	s.change(op{kind: opPut, key: key, value: nv})
	return nil
}

// Pop returns the value stored under key as a T and deletes it: the way to
// show a message once (a "flash"). It reports false, and deletes nothing,
// when Get would.
func Pop[T any](s *Session, key string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := as[T](s.m.opts.Codec, s.values[key])
	if ok {
		s.change(op{kind: opDelete, key: key})
	}
	return v, ok
}

// Update replaces the value under key with fn's result, fn being given the
// value there (T's zero when the key is missing or does not hold a T), and
// returns the new value. It is the conflict-safe read-modify-write: when
// another request (in this process or another instance) saved the session
// first, the save applies fn again to the newest value, so concurrent
// updates are never lost. Fifty requests each appending an item to a cart
// with Update leave fifty items.
//
// fn may therefore run more than once, after Update returned, on the
// goroutine that saves the session: it must compute its result from its
// argument alone, without side effects, and must not call the session. It
// is given a fresh copy each time, which it may change in place. Update
// returns an error and changes nothing when the result cannot be encoded
// ([ErrCodec]) or would make the session too large ([ErrTooLarge]); a later
// re-application that fails fails the save.
func Update[T any](s *Session, key string, fn func(T) T) (T, error) {
	codec := s.m.opts.Codec
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, _ := as[T](codec, s.values[key])
	next := fn(cur)
	nv, err := normalize(codec, next)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("session: update %q: %w", key, err)
	}
	if err := s.fits(key, nv); err != nil {
		var zero T
		return zero, fmt.Errorf("session: update %q: %w", key, err)
	}
	again := func(old any) (any, error) {
		cur, _ := as[T](codec, old)
		return normalize(codec, fn(cur))
	}
	s.ops = append(s.ops, op{kind: opUpdate, key: key, update: again})
	s.dirty = true
	s.values[key] = nv
	return next, nil
}

// fits returns an error wrapping ErrTooLarge when storing v, a normalized
// value, under key would take the session past Options.MaxDataBytes. The
// caller holds s.mu.
func (s *Session) fits(key string, v any) error {
	return s.m.checkSize(sizeWith(s.values, key, v, s.flags), encodedSize(s.values, s.flags))
}

// Keys returns the keys of the session's values, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Clear deletes every value of the session, keeping its user and its token:
// the session stays logged in. To end it, use [Session.Destroy]. A value
// that a concurrent request puts is cleared too if that request saved
// first.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.values) > 0 {
		s.change(op{kind: opClear})
	}
}

// normalize turns v into the form the session keeps: int becomes int64,
// byte slices are copied, times lose location and monotonic reading, and a
// value of any type but the basic ones is encoded by codec.
func normalize[T any](codec Codec, v T) (any, error) {
	switch v := any(v).(type) {
	case string, int64, bool, float64:
		return v, nil
	case int:
		return int64(v), nil
	case []byte:
		return append([]byte{}, v...), nil
	case time.Time:
		return time.Unix(0, v.UnixNano()), nil
	}
	b, err := codec.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %T: %w", ErrCodec, v, err)
	}
	return encoded(b), nil
}

// as converts a kept value back to T: a basic value of T's type (or of a
// type T converts from without loss, such as int64 to int), or an encoded
// one that codec decodes as a T.
func as[T any](codec Codec, v any) (T, bool) {
	var t T
	switch v := v.(type) {
	case nil:
		return t, false
	case encoded:
		if err := codec.Unmarshal(v, &t); err != nil {
			var zero T
			return zero, false
		}
		return t, true
	case []byte:
		if p, ok := any(&t).(*[]byte); ok {
			*p = append([]byte{}, v...)
			return t, true
		}
		return convert[T](append([]byte{}, v...)) // the caller's own copy
	}
	if t, ok := v.(T); ok {
		return t, true
	}
	return convert[T](v)
}

// convert returns the basic value v as a T whose type is defined on the
// same kind (type Role string, type Count int), or false. An int64 fits a
// narrower integer type only when it is in its range.
func convert[T any](v any) (T, bool) {
	var t T
	to := reflect.TypeFor[T]()
	from := reflect.ValueOf(v)
	switch {
	case to.Kind() == from.Kind() && from.CanConvert(to):
	case from.Kind() == reflect.Int64 && to.Kind() >= reflect.Int && to.Kind() <= reflect.Int32:
		if reflect.Zero(to).OverflowInt(from.Int()) {
			return t, false
		}
	default:
		return t, false
	}
	return from.Convert(to).Interface().(T), true
}
