package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/twigdata/twig/exporters"
)

const verifyHelp = `Usage: twig verify URI

Re-reads a dataset version (a local path or file:// URL of the version
folder, e.g. ./out/twig-sim/v1, or an object store URL such as
s3://bucket/out/twig-sim/v1?region=us-east-1, with endpoint= and
use_path_style=true for other S3-compatible servers, or
gs://bucket/out/twig-sim/v1) and checks it: the manifest is there and
parses, every listed shard exists with the listed size and SHA-256, row
counts match, every row passes schema validation and sits in the right
config, ids are unique, no unlisted shard is present, and
seeded = accepted + rejected + failed. Exits 0 only if all hold.
`

func cmdVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), verifyHelp) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("want exactly one URI")}
	}
	return runVerify(ctx, fs.Arg(0), os.Stdout)
}

func runVerify(ctx context.Context, uri string, w io.Writer) error {
	b, err := openBucket(ctx, uri, false)
	if err != nil {
		return err
	}
	defer b.Close()
	rep, err := exporters.Verify(ctx, b, "")
	if err != nil {
		return err
	}
	rep.Prefix = uri
	fmt.Fprintln(w, rep)
	if !rep.OK() {
		return &exitError{code: 1, err: fmt.Errorf("%s: %d problems", path.Clean(uri), len(rep.Problems))}
	}
	return nil
}
