package exporters

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"gocloud.dev/blob/memblob"

	"github.com/twigdata/twig/schema"
)

func TestTarWriterRoundTrip(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	rows := testRows(5, schema.StatusAccepted)
	write := func(path string) ShardInfo {
		w, err := NewTarWriter(ctx, bucket, "ds/v1", path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			if err := w.Write(&rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		info, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	a, b := write("a.tar"), write("b.tar")
	if a.SHA256 != b.SHA256 || a.Rows != 5 {
		t.Errorf("two writes of the same samples: %+v and %+v, want 5 rows and the same SHA-256", a, b)
	}
	data, err := bucket.ReadAll(ctx, "ds/v1/a.tar")
	if err != nil {
		t.Fatal(err)
	}
	// The standard library's reader sees USTAR members at a fixed time, in pairs.
	tr := tar.NewReader(bytes.NewReader(data))
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.ModTime.Unix() != 0 || hdr.Mode != 0o644 {
			t.Errorf("%s: mtime %v mode %o, want the epoch and 0644", hdr.Name, hdr.ModTime, hdr.Mode)
		}
		names = append(names, hdr.Name)
	}
	if len(names) != 10 || names[0] != rows[0].ID+".json" || names[1] != rows[0].ID+".png" {
		t.Errorf("members = %v, want <id>.json and <id>.png for 5 samples in order", names)
	}

	var keys []string
	n, err := ScanTar(ctx, bucket, "ds/v1", "a.tar", func(key string, m map[string][]byte) error {
		keys = append(keys, key)
		var rec WebDatasetRecord
		if err := json.Unmarshal(m["json"], &rec); err != nil {
			t.Errorf("%s.json: %v", key, err)
		}
		i := len(keys) - 1
		if rec.ID != rows[i].ID || rec.Prompt != rows[i].Prompt || len(rec.Regions) != len(rows[i].Regions) {
			t.Errorf("record %d = %+v, want the trajectory %s", i, rec, rows[i].ID)
		}
		if !bytes.Equal(m["png"], rows[i].FinalImage.Bytes) {
			t.Errorf("%s.png differs from the final image", key)
		}
		return nil
	})
	if err != nil || n != 5 {
		t.Errorf("ScanTar = %d, %v; want 5 samples", n, err)
	}
}

func TestTarWriterRejects(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	for name, mutate := range map[string]func(*schema.Trajectory){
		"no image":   func(t *schema.Trajectory) { t.FinalImage.Bytes = nil },
		"dotted key": func(t *schema.Trajectory) { t.ID = "a.b" },
	} {
		w, err := NewTarWriter(ctx, bucket, "", "x.tar")
		if err != nil {
			t.Fatal(err)
		}
		row := testRows(1, schema.StatusAccepted)[0]
		mutate(&row)
		if err := w.Write(&row); err == nil || !strings.Contains(err.Error(), "x.tar") {
			t.Errorf("%s: Write = %v, want an error naming the shard", name, err)
		}
		if _, err := w.Close(); err == nil {
			t.Errorf("%s: Close after a failed write succeeded", name)
		}
		if ok, _ := bucket.Exists(ctx, "x.tar"); ok {
			t.Errorf("%s: a failed tar was committed", name)
		}
	}
}
