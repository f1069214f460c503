// Package configerr holds the error type of a refused run configuration:
// it names the field, in the config file's dotted JSON path, and the value
// refused, so that a caller (or a test) can tell which setting is wrong
// without reading the message.
package configerr

import "fmt"

// FieldError is a configuration field whose value a run refuses.
type FieldError struct {
	// Field is the field's path in the config file, such as "dataset",
	// "backends.critic.timeout" or "backends.generator[1]".
	Field string
	// Value is the value refused, as the message shows it (a URL
	// redacted); nil when the field is absent or the error is about how
	// it combines with other fields.
	Value any
	// Reason says what is wrong, and what would do instead.
	Reason string
}

// New returns the error of field holding value; the reason is formatted
// from format and args.
func New(field string, value any, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// Error is "config FIELD: REASON".
func (e *FieldError) Error() string { return "config " + e.Field + ": " + e.Reason }
