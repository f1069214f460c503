package backends

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Duration is a [time.Duration] that a configuration file (and a
// manifest's "config") writes as a Go duration string: "30s", "2m",
// "1m30s". It also reads an integer number of nanoseconds, which is how
// encoding/json writes a time.Duration; a bare number that was meant in
// seconds is caught by [Backends.Validate] as too short.
type Duration time.Duration

// String is the Go duration string, such as "2m0s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string, such as "2m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string or an integer number of
// nanoseconds. A bad value is a *json.UnmarshalTypeError, to which the
// decoder adds the field's path.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		v, err := time.ParseDuration(strings.TrimSpace(str))
		if err != nil {
			return badDuration(fmt.Sprintf("string %q", str))
		}
		*d = Duration(v)
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		what := "number " + s
		switch {
		case s == "true" || s == "false":
			what = "bool"
		case strings.HasPrefix(s, "{"):
			what = "object"
		case strings.HasPrefix(s, "["):
			what = "array"
		}
		return badDuration(what)
	}
	*d = Duration(n)
	return nil
}

// durationHint says what a duration looks like, for error messages.
const durationHint = `want a duration such as "30s", "2m" or "1m30s"`

func badDuration(what string) error {
	return &json.UnmarshalTypeError{Value: what + " (" + durationHint + ")", Type: reflect.TypeFor[Duration]()}
}

// Short writes d as a Go duration string without its zero tail: "2m"
// rather than "2m0s", "1h" rather than "1h0m0s", for messages that name
// a default.
func Short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
