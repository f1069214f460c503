package seeds

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// seedExts are the extensions of the files Expand takes from a directory.
var seedExts = []string{".txt", ".jsonl", ".ndjson"}

// Expand turns seed file patterns into a sorted list of file paths without
// repeats. A pattern is a local path or a file:// URL, and is
//
//   - an existing file, taken as it is;
//   - an existing directory, standing for the .txt, .jsonl and .ndjson
//     files directly in it (not in subdirectories);
//   - otherwise a filepath.Glob pattern; a directory it matches stands
//     for its seed files as above.
//
// Names starting with "." are skipped in directories, and in glob matches
// unless the pattern's last element starts with "." too. A pattern that
// yields no file is an error naming it, as is a URL of any other scheme.
func Expand(patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		return nil, errors.New("no seed files given")
	}
	var out []string
	for _, p := range patterns {
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// expand expands one pattern.
func expand(pattern string) ([]string, error) {
	p, err := localPath(pattern)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(p); err == nil {
		if !fi.IsDir() {
			return []string{filepath.Clean(p)}, nil
		}
		files, err := dirFiles(p)
		if err != nil {
			return nil, fmt.Errorf("seed pattern %q: %w", pattern, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("seed pattern %q: directory has no %s files", pattern, strings.Join(seedExts, ", "))
		}
		return files, nil
	} else if !hasMeta(p) {
		return nil, fmt.Errorf("seed pattern %q: %w", pattern, err)
	}

	matches, err := filepath.Glob(p)
	if err != nil {
		return nil, fmt.Errorf("seed pattern %q: %w", pattern, err)
	}
	dots := strings.HasPrefix(filepath.Base(p), ".")
	var files []string
	for _, m := range matches {
		if !dots && strings.HasPrefix(filepath.Base(m), ".") {
			continue
		}
		fi, err := os.Stat(m)
		if err != nil {
			return nil, fmt.Errorf("seed pattern %q: %w", pattern, err)
		}
		if !fi.IsDir() {
			files = append(files, filepath.Clean(m))
			continue
		}
		more, err := dirFiles(m)
		if err != nil {
			return nil, fmt.Errorf("seed pattern %q: %w", pattern, err)
		}
		files = append(files, more...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("seed pattern %q matches no files", pattern)
	}
	return files, nil
}

// localPath returns the local path a pattern names: the pattern itself, or
// the path of a file:// URL.
func localPath(pattern string) (string, error) {
	scheme, _, ok := strings.Cut(pattern, "://")
	if !ok {
		return pattern, nil
	}
	if scheme != "file" {
		return "", fmt.Errorf("seed pattern %q: scheme %q not supported (use a local path or file://)", pattern, scheme)
	}
	u, err := url.Parse(pattern)
	if err != nil {
		return "", fmt.Errorf("seed pattern %q: %w", pattern, err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("seed pattern %q: file URL with host %q (want file:///path)", pattern, u.Host)
	}
	return filepath.FromSlash(u.Path), nil
}

// dirFiles returns the seed files directly in dir, sorted.
func dirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !slices.Contains(seedExts, strings.ToLower(filepath.Ext(name))) {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p) // follows links
		if err != nil {
			return nil, err
		}
		if fi.Mode().IsRegular() {
			files = append(files, p)
		}
	}
	return files, nil // ReadDir sorts by name
}

// hasMeta reports whether p holds any of filepath.Match's special
// characters.
func hasMeta(p string) bool {
	return strings.ContainsAny(p, `*?[\`)
}
