package session

import (
	"fmt"
	"time"
)

// Value is the set of types a session holds. Ints are kept as int64, so a
// value put as int can be read as int64 and the other way round; times keep
// their instant (to the nanosecond) but not their location or monotonic
// reading.
type Value interface {
	string | []byte | int | int64 | bool | float64 | time.Time
}

// Get returns the value stored under key. The boolean is false, and the
// value T's zero, when there is no such key or it holds another type.
func Get[T Value](s *Session, key string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return as[T](s.values[key])
}

// Put stores v under key, replacing any value there. When the session's
// encoded values would then exceed Options.MaxDataBytes it stores nothing
// and returns an error wrapping [ErrTooLarge]; it never fails otherwise.
func Put[T Value](s *Session, key string, v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	nv := normalize(v)
	if err := s.m.checkSize(sizeWith(s.values, key, nv), encodedSize(s.values)); err != nil {
		return fmt.Errorf("session: put %q: %w", key, err)
	}
	s.change(op{kind: opPut, key: key, value: nv})
	return nil
}

// Pop returns the value stored under key and deletes it: the way to show a
// message once (a "flash"). It reports false, and deletes nothing, when the
// key is missing or holds another type.
func Pop[T Value](s *Session, key string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := as[T](s.values[key])
	if ok {
		s.change(op{kind: opDelete, key: key})
	}
	return v, ok
}

// normalize turns v into the form the session keeps: int becomes int64,
// byte slices are copied, times lose location and monotonic reading.
func normalize[T Value](v T) any {
	switch v := any(v).(type) {
	case int:
		return int64(v)
	case []byte:
		return append([]byte{}, v...)
	case time.Time:
		return time.Unix(0, v.UnixNano())
	default:
		return v
	}
}

// as converts a kept value back to T.
func as[T Value](v any) (T, bool) {
	var t T
	if v == nil {
		return t, false
	}
	switch p := any(&t).(type) {
	case *int:
		i, ok := v.(int64)
		*p = int(i)
		return t, ok
	case *[]byte:
		b, ok := v.([]byte)
		if ok {
			*p = append([]byte{}, b...)
		}
		return t, ok
	}
	t, ok := v.(T)
	return t, ok
}
