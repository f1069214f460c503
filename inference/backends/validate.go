package backends

import (
	"net/url"
	"strconv"
	"time"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/internal/configerr"
	"github.com/twigdata/twig/internal/redact"
)

// Bounds of the timeouts and retries of the GPU workers and the teachers.
const (
	// MinTimeout rejects a timeout that no model call meets, such as a
	// bare number of seconds read as nanoseconds.
	MinTimeout = 100 * time.Millisecond
	MaxTimeout = time.Hour
	MaxRetries = 100
)

// Validate checks the backends before any model is called, for a run of
// the given route (inference.RouteInterleaved, ...). A refused setting is
// a *configerr.FieldError naming it under "backends.". No base URL may
// carry credentials: a key there would travel in the job graph and in
// error messages.
func (b Backends) Validate(route string) error {
	for _, r := range Roles {
		t := *r.Of(&b)
		field := "backends." + r.Field
		if err := checkTimeout(field+".timeout", t.Timeout, r.DefaultTimeout); err != nil {
			return err
		}
		if err := checkRetries(field+".retries", t.Retries, DefaultTeacherRetries); err != nil {
			return err
		}
		if t.BaseURL == "" {
			continue
		}
		shown := redact.URL(t.BaseURL)
		u, err := url.Parse(t.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return configerr.New(field+".base_url", shown, "%q is not an http(s) URL", shown)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return configerr.New(field+".base_url", shown, "%s must not carry credentials, a query or a fragment: put the API key in the environment (%s)",
				shown, r.KeyHint(t))
		}
		if t.Model == "" {
			return configerr.New(field+".model", "", "a model name is required with base_url %s", shown)
		}
		switch {
		case t.MaxTokens < 0:
			return configerr.New(field, t.MaxTokens, "negative spending cap")
		case t.MaxDollars < 0:
			return configerr.New(field, t.MaxDollars, "negative spending cap")
		}
	}
	if err := checkTimeout("backends.generator_timeout", b.GeneratorTimeout, DefaultGeneratorTimeout); err != nil {
		return err
	}
	if err := checkRetries("backends.generator_retries", b.GeneratorRetries, DefaultGeneratorRetries); err != nil {
		return err
	}
	for i, g := range b.Generator {
		u, err := url.Parse(g)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			shown := redact.URL(g)
			return configerr.New("backends.generator["+strconv.Itoa(i)+"]", shown, "%s must be a plain http(s) URL without credentials or query", shown)
		}
	}
	if route == inference.RouteTeacherImage && b.Drawer.BaseURL == "" && len(b.Generator) > 0 {
		return configerr.New("backends."+DrawerRole.Field, nil, "the teacher-image route with GPU workers needs an image model (--drawer): the simulated drawer only draws for the simulated painter")
	}
	return nil
}

// checkTimeout rejects a negative or absurd timeout; zero is the default def.
func checkTimeout(field string, d Duration, def time.Duration) error {
	switch {
	case d < 0:
		return configerr.New(field, d, "%s must not be negative (0: the default, %s)", d, Short(def))
	case d > 0 && time.Duration(d) < MinTimeout:
		return configerr.New(field, d, "%s is too short: at least %s (0: the default, %s); %s", d, MinTimeout, Short(def), durationHint)
	case time.Duration(d) > MaxTimeout:
		return configerr.New(field, d, "%s is too long: at most %s (0: the default, %s)", d, MaxTimeout, Short(def))
	}
	return nil
}

// checkRetries rejects a negative or absurd number of retries; zero is
// the default def.
func checkRetries(field string, n, def int) error {
	switch {
	case n < 0:
		return configerr.New(field, n, "%d must not be negative (0: the default, %d)", n, def)
	case n > MaxRetries:
		return configerr.New(field, n, "%d is too many: at most %d (0: the default, %d)", n, MaxRetries, def)
	}
	return nil
}
