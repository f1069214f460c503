package main

import (
	"context"
	"fmt"
	"github.com/twigdata/twig/internal/redact"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// locations
	_ "gocloud.dev/blob/gcsblob"  // gs:// locations
	_ "gocloud.dev/blob/memblob"  // mem:// locations, for tests
	_ "gocloud.dev/blob/s3blob"   // s3:// locations (AWS, MinIO, R2, versitygw, ...)
)

// bucketURL turns a user's location into the URL of a bucket rooted there:
//
//   - a local path or a file:// URL: a fileblob bucket; create asks for the
//     directory to be made when missing;
//   - s3://bucket/prefix?endpoint=…&use_path_style=true&region=… or
//     gs://bucket/prefix: the object store's bucket, with the path as key
//     prefix (gocloud's prefix= parameter) and the other query parameters
//     passed to the driver (see gocloud.dev/blob/s3blob and
//     gocloud.dev/aws.V2ConfigFromURLParams). Credentials come from the
//     environment (the AWS or Google default chains), never from the URL;
//   - mem://: an in-memory bucket, for tests.
func bucketURL(loc string, create bool) (string, error) {
	u, err := url.Parse(loc)
	if err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		switch u.Scheme {
		case "file":
			if u.Host != "" && u.Host != "localhost" {
				return "", fmt.Errorf("location %q: a file URL names a host (%q); write file:///absolute/path or a plain path", redact.URL(u.String()), u.Host)
			}
			loc = u.Path
		case "mem":
			return loc, nil
		case "s3", "gs":
			return objectStoreURL(u)
		default:
			return "", fmt.Errorf("location %q: scheme %q is not supported (use a local path, file://, s3:// or gs://)", redact.URL(u.String()), u.Scheme)
		}
	}
	abs, err := filepath.Abs(loc)
	if err != nil {
		return "", fmt.Errorf("location %q: %w", loc, err)
	}
	if !create {
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return "", fmt.Errorf("location %q: not a directory", loc)
		}
	}
	q := url.Values{"metadata": {"skip"}, "no_tmp_dir": {"1"}}
	if create {
		q.Set("create_dir", "1")
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String(), nil
}

// openBucket opens the bucket at a location.
func openBucket(ctx context.Context, loc string, create bool) (*blob.Bucket, error) {
	u, err := bucketURL(loc, create)
	if err != nil {
		return nil, err
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		msg := strings.SplitN(u, "?", 2)[0]
		if pu, perr := url.Parse(loc); perr == nil && (pu.Scheme == "s3" || pu.Scheme == "gs") {
			// Drivers quote the whole URL in their errors; keep its query
			// parameters out of ours.
			return nil, &redactedError{
				msg: "open " + redact.URL(pu.String()) + ": " + queryInURL.ReplaceAllString(err.Error(), "$1$2"),
				err: err,
			}
		}
		return nil, fmt.Errorf("open %s: %w", msg, err)
	}
	return b, nil
}

// objectStoreURL turns s3://bucket/prefix?params (or gs://) into the
// gocloud URL s3://bucket?params&prefix=prefix/.
func objectStoreURL(u *url.URL) (string, error) {
	if u.User != nil {
		return "", fmt.Errorf("location %s: credentials do not belong in the URL; set them in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, or GOOGLE_APPLICATION_CREDENTIALS)", redact.URL(u.String()))
	}
	if u.Host == "" {
		return "", fmt.Errorf("location %s: no bucket name (want %s://BUCKET/PREFIX)", redact.URL(u.String()), u.Scheme)
	}
	q := u.Query()
	prefix := strings.Trim(path.Clean("/"+u.Path), "/")
	if prefix != "" {
		if q.Has("prefix") {
			return "", fmt.Errorf("location %s: give the prefix as the path or as prefix=, not both", redact.URL(u.String()))
		}
		q.Set("prefix", prefix+"/")
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: q.Encode()}
	return out.String(), nil
}

// joinLocation returns the location of rel inside loc. For s3:// and gs://
// locations the path is joined and the query parameters are kept, so the
// result can be passed to twig verify; other locations join as paths.
func joinLocation(loc, rel string) string {
	if u, err := url.Parse(loc); err == nil && (u.Scheme == "s3" || u.Scheme == "gs") {
		u.Path = "/" + strings.Trim(path.Join(u.Path, rel), "/")
		return u.String()
	}
	return path.Join(loc, rel)
}

// queryInURL matches the query of an s3:// or gs:// URL in a message.
var queryInURL = regexp.MustCompile(`\b((?:s3|gs)://[^\s?"]*)\?[^\s"]*?(:\s|"|$|\s)`)

// redactedError is an error whose message had URL query parameters removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
