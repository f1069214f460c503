// Package redact hides what may be secret in a location before the
// location goes into an error message, a log line, a manifest or a
// report. It is the one rule for every URL twig shows: endpoints of models,
// buckets of outputs and caches.
package redact

import (
	"net/url"
	"strings"
)

// Placeholder replaces a hidden value.
const Placeholder = "REDACTED"

// settings are query parameters that configure a bucket or an endpoint and
// carry no secret (gocloud's s3blob, gcsblob and fileblob settings): their
// values stay readable, because a user needs them to tell locations apart.
var settings = map[string]bool{
	"endpoint": true, "region": true, "use_path_style": true, "s3forcepathstyle": true,
	"awssdk": true, "disable_https": true, "dualstack": true, "fips": true,
	"accelerate": true, "hostname_immutable": true, "anonymous": true, "rate_limiter_capacity": true,
	"create_dir": true, "metadata": true, "no_tmp_dir": true, "dir_file_mode": true, "prefix": true,
	"profile": true, "requester_pays": true,
}

// URL returns raw for a reader: without user information (a password or
// token in "https://user:pass@host" never shows), and with the value of
// every query parameter that is not a known storage setting replaced by
// REDACTED (a signature, a key or a token in the query never shows, while
// endpoint and region do). A local path is returned as it is; a string
// with a scheme that does not parse is replaced whole.
func URL(raw string) string {
	if !strings.Contains(raw, "://") && !strings.HasPrefix(raw, "file:") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable URL>"
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			if settings[strings.ToLower(k)] {
				continue
			}
			for i := range vs {
				vs[i] = Placeholder
			}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}
