package exporters

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob/fileblob"

	"github.com/twigdata/twig/schema"
)

// python returns the Python interpreter to test with ($TWIG_TEST_PYTHON,
// else python3 on $PATH), skipping the test if it is missing or cannot
// import the modules.
func python(t *testing.T, modules ...string) string {
	t.Helper()
	py := os.Getenv("TWIG_TEST_PYTHON")
	if py == "" {
		var err error
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("python3 not found")
		}
	}
	for _, m := range modules {
		if err := exec.Command(py, "-c", "import "+m).Run(); err != nil {
			if os.Getenv("TWIG_REQUIRE_PYTHON") != "" {
				t.Fatalf("%s cannot import %s (TWIG_REQUIRE_PYTHON is set)", py, m)
			}
			t.Skipf("%s cannot import %s", py, m)
		}
	}
	return py
}

// writeLocalVersion writes the test version into a temporary folder and
// returns the folder of the version.
func writeLocalVersion(t *testing.T) string {
	dir := t.TempDir()
	bucket, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	writeTestVersion(t, bucket, testPrefix)
	return filepath.Join(dir, filepath.FromSlash(testPrefix))
}

// runPython runs script with args and decodes the JSON it prints.
func runPython(t *testing.T, py, script string, out any, args ...string) {
	t.Helper()
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(), "HF_DATASETS_OFFLINE=1", "HF_HUB_OFFLINE=1", "HF_HOME="+t.TempDir())
	b, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("%s: %v\n%s", py, err, ee.Stderr)
		}
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
}

const pyarrowScript = `
import json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
s = t.schema
canvas = s.field("regions").type.value_type.field("attempts").type.value_type.field("canvas").type
print(json.dumps({
    "final_image": str(s.field("final_image").type),
    "canvas": str(canvas),
    "final_tokens": str(s.field("final_tokens").type),
    "id": str(s.field("id").type),
    "reasons": str(s.field("verdict").type.field("reasons").type),
    "rows": t.num_rows,
    "ids": t.column("id").to_pylist(),
    "schema_version": s.metadata[b"twig.schema_version"].decode(),
}))
`

// TestPyarrowReadsShards opens a written shard with pyarrow, as Hugging
// Face datasets, DuckDB and pandas do, and checks the Arrow types: images
// are struct<bytes: binary, path: string>, lists are lists, strings are
// strings. Skipped without python3 and pyarrow.
func TestPyarrowReadsShards(t *testing.T) {
	py := python(t, "pyarrow")
	dir := writeLocalVersion(t)
	var got struct {
		FinalImage    string `json:"final_image"`
		FinalTokens   string `json:"final_tokens"`
		Canvas, ID    string
		Reasons       string
		Rows          int
		IDs           []string
		SchemaVersion string `json:"schema_version"`
	}
	runPython(t, py, pyarrowScript, &got, filepath.Join(dir, "data/trajectories/train-00000-of-00002.parquet"))
	// pyarrow says "not null" for required fields; the types are what matter.
	norm := func(s string) string { return strings.ReplaceAll(s, " not null", "") }
	checks := []struct{ name, got, want string }{
		{"final_image", norm(got.FinalImage), "struct<bytes: binary, path: string>"},
		{"canvas", norm(got.Canvas), "struct<bytes: binary, path: string>"},
		{"final_tokens", norm(got.FinalTokens), "list<element: int32>"},
		{"id", got.ID, "string"},
		{"verdict.reasons", norm(got.Reasons), "list<element: string>"},
		{"twig.schema_version", got.SchemaVersion, schema.Version},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("pyarrow type of %s = %s, want %s", c.name, c.got, c.want)
		}
	}
	if got.Rows != 3 || len(got.IDs) != 3 {
		t.Errorf("pyarrow read %d rows, want 3", got.Rows)
	}
}

const datasetsScript = `
import json, sys
import datasets
folder = sys.argv[1]
out = {}
for config in ["trajectories", "rejected", "failed"]:
    ds = datasets.load_dataset(folder, config, split="train")
    out[config] = {"rows": ds.num_rows, "columns": ds.column_names}
    if config != "failed":
        out[config]["final_image"] = type(ds.features["final_image"]).__name__
        out[config]["canvas"] = type(ds.features["regions"].feature["attempts"].feature["canvas"]).__name__
        out[config]["size"] = list(ds[0]["final_image"].size)
ds = datasets.load_dataset("parquet", data_files=folder + "/data/trajectories/*.parquet", split="train")
out["data_files"] = {"rows": ds.num_rows, "final_image": type(ds.features["final_image"]).__name__}
print(json.dumps(out))
`

// TestDatasetsLoadsVersion loads each config of a written version with
// the Hugging Face datasets library, through the card's YAML, and checks
// that images come back as Image values. Skipped without python3 and
// datasets.
func TestDatasetsLoadsVersion(t *testing.T) {
	py := python(t, "datasets", "PIL")
	dir := writeLocalVersion(t)
	type config struct {
		Rows       int
		Columns    []string
		FinalImage string `json:"final_image"`
		Canvas     string
		Size       []int
	}
	var got map[string]config
	runPython(t, py, datasetsScript, &got, dir)
	for name, want := range map[string]config{
		"trajectories": {Rows: 5, FinalImage: "Image", Canvas: "Image", Size: []int{8, 8}},
		"rejected":     {Rows: 2, FinalImage: "Image", Canvas: "Image", Size: []int{8, 8}},
		"failed":       {Rows: 2},
	} {
		g := got[name]
		if g.Rows != want.Rows || g.FinalImage != want.FinalImage || g.Canvas != want.Canvas || len(g.Size) != len(want.Size) {
			t.Errorf("datasets config %s: %+v, want %+v", name, g, want)
		}
	}
	// Without the card, datasets takes final_image's feature from the
	// shards' "huggingface" metadata only if the column is a nullable struct
	// of nullable fields, as an Image's Arrow type is.
	df := got["data_files"]
	if df.Rows != 5 {
		t.Errorf("data_files load read %d rows, want 5", df.Rows)
	}
	if optionalColumn("final_image") {
		if df.FinalImage != "Image" {
			t.Errorf("data_files load: final_image is %s, want Image", df.FinalImage)
		}
	} else {
		t.Logf("data_files load without the card gives final_image as %s, not Image: schema.go tags it required", df.FinalImage)
	}
}
