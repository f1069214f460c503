package exporters

import (
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
)

func openFileBucket(t *testing.T) *blob.Bucket {
	b, err := fileblob.OpenBucket(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
