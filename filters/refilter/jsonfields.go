package refilter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// field is one member of a JSON object: its key and its value's JSON.
type field struct {
	key   string
	value json.RawMessage
}

// replaceFields returns the JSON object obj with the values of the given
// fields replaced, every other byte (other members, their order, spacing)
// kept as it was. A field obj lacks is added at the end, in the order
// given. A key obj repeats has each of its values replaced.
func replaceFields(obj []byte, fields []field) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("replace fields: not a JSON object")
	}
	var out bytes.Buffer
	last := 0 // obj[:last] is copied to out
	found := make([]bool, len(fields))
	members := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("replace fields: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("replace fields: key %v is not a string", tok)
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("replace fields: %s: %w", key, err)
		}
		members++
		end := int(dec.InputOffset())
		start := end - len(value) // the raw value is obj's own bytes
		for i, f := range fields {
			if f.key == key {
				out.Write(obj[last:start])
				out.Write(f.value)
				last, found[i] = end, true
				break
			}
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errors.New("replace fields: the object does not end")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("replace fields: data after the object")
	}
	closing := int(dec.InputOffset()) - 1 // the '}'
	out.Write(obj[last:closing])
	for i, f := range fields {
		if found[i] {
			continue
		}
		if members > 0 {
			out.WriteByte(',')
		}
		members++
		k, _ := json.Marshal(f.key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(f.value)
	}
	out.Write(obj[closing:])
	return out.Bytes(), nil
}
