package session

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
)

// A Codec turns session values of types other than the basic ones (string,
// []byte, int, int64, bool, float64, time.Time) into bytes and back:
// structs, slices, maps, named types such as `type Role string`. The basic
// types never reach it; they keep a compact encoding of their own.
//
// Every instance that shares a store must use the same Codec, since the
// stored bytes do not say which one wrote them. A Codec must be safe for
// concurrent use.
type Codec interface {
	// Marshal encodes v. It fails for a value it cannot encode (a channel,
	// a function, a cycle).
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into the value v points to.
	Unmarshal(data []byte, v any) error
}

// ErrCodec reports a value the Codec could not encode, or stored bytes it
// could not decode as the type asked for. [Put] and [Update] return it
// wrapped, with the Codec's own error, and change nothing.
var ErrCodec = errors.New("session: value cannot be encoded")

// JSONCodec encodes values with encoding/json: the default Codec. Only
// exported struct fields are kept, under their `json` tags; a map's keys
// must be strings or integers; a time keeps its instant and offset (RFC
// 3339); an interface-typed field comes back as map[string]any, []any,
// float64, string or bool. The bytes are readable by any language.
type JSONCodec struct{}

// Marshal encodes v as JSON.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON into v.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// GobCodec encodes values with encoding/gob. It keeps Go types more
// faithfully than JSON (integer map keys, exact floats, types implementing
// gob.GobEncoder), at the cost of larger, Go-only bytes: each value carries
// its type's description. A concrete type held in an interface-typed field
// must be registered with gob.Register by the program, before use.
type GobCodec struct{}

// Marshal encodes v with a new gob.Encoder.
func (GobCodec) Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Unmarshal decodes gob data into v with a new gob.Decoder.
func (GobCodec) Unmarshal(data []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}

// encoded is a value as the Codec encoded it. Sessions keep such values
// encoded, and decode them for each Get, so that what Get returns is the
// caller's own copy and a value changed in place never changes the
// session behind its back.
type encoded []byte
