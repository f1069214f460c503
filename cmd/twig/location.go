package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// locations
	_ "gocloud.dev/blob/memblob"  // mem:// locations, for tests
)

// bucketURL turns a user's location (a local path or a file:// URL) into
// the URL of a bucket rooted there. create asks for the directory to be
// made when missing.
func bucketURL(loc string, create bool) (string, error) {
	u, err := url.Parse(loc)
	if err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		switch u.Scheme {
		case "file":
			loc = u.Path
		case "mem":
			return loc, nil
		default:
			return "", fmt.Errorf("location %q: scheme %q is not supported yet (use a local path or file://)", loc, u.Scheme)
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
		return nil, fmt.Errorf("open %s: %w", strings.SplitN(u, "?", 2)[0], err)
	}
	return b, nil
}
