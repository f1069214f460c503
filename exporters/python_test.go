package exporters

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	if !optionalColumn("final_image") {
		t.Error("schema.go tags final_image required: datasets reads it as Image without the card only if it is nullable")
	}
	if df.FinalImage != "Image" {
		t.Errorf("data_files load: final_image is %s, want Image", df.FinalImage)
	}
}

// pythonBlock returns the first ```python block of a Markdown text that
// contains marker, without its fences.
func pythonBlock(t *testing.T, markdown, marker string) string {
	t.Helper()
	rest := markdown
	for {
		_, after, ok := strings.Cut(rest, "```python\n")
		if !ok {
			t.Fatalf("no ```python block holds %q", marker)
		}
		block, tail, ok := strings.Cut(after, "```")
		if !ok {
			t.Fatalf("unterminated ```python block")
		}
		if strings.Contains(block, marker) {
			return block
		}
		rest = tail
	}
}

const genSnippetScript = `
import json, sys
import pyarrow.parquet as pq
snippet, folder, shard, wrappers = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
scope = {}
exec(snippet, scope)
gen_sample = scope["gen_sample"]
out = {"rows": {}, "with_prior": 0, "errors": []}

def check(reader, rows):
    out["rows"][reader] = 0
    for row in rows:
        if row["kind"] != "gen":
            continue
        out["rows"][reader] += 1
        text, input_tokens, target_tokens = gen_sample(row)
        wrapper = wrappers[row["trajectory_id"]] or "{prefix}"
        want = wrapper.replace("{prefix}", row["prefix"])
        if text != want or text != row["conditioning"]:
            out["errors"].append(f"{reader} {row['id']} {row['task']}: text {text!r}, want {want!r} (conditioning {row['conditioning']!r})")
        if input_tokens != list(row["prior_tokens"]):
            out["errors"].append(f"{reader} {row['id']} {row['task']}: {len(input_tokens)} input tokens, prior_tokens has {len(row['prior_tokens'])}")
        if target_tokens != list(row["target_tokens"]):
            out["errors"].append(f"{reader} {row['id']} {row['task']}: {len(target_tokens)} target tokens, target_tokens has {len(row['target_tokens'])}")
        if reader == "pyarrow" and input_tokens:
            out["with_prior"] += 1

check("pyarrow", pq.read_table(shard).to_pylist())
import datasets
check("datasets", datasets.load_dataset(folder, "sft", split="train"))
print(json.dumps(out))
`

// TestCardSnippetRebuildsGenRows writes an sft shard and its card, takes
// the card's gen_sample function from the card's own text, and runs it in
// Python on every gen row, read with pyarrow and with Hugging Face
// datasets: the text must be the trajectory's prompt wrapper with the
// row's prefix put in, the input tokens the prior_tokens column and the
// target the target_tokens column. Skipped without python3, pyarrow,
// datasets and PIL (fails instead with TWIG_REQUIRE_PYTHON set).
func TestCardSnippetRebuildsGenRows(t *testing.T) {
	py := python(t, "pyarrow", "datasets", "PIL")
	ctx := context.Background()

	// An interleaved trajectory with a repaint, a teacher-image one whose
	// second band is filtered out, one whose prefix holds the token
	// marker, and an older one without a recorded wrapper.
	trs := []schema.Trajectory{repaintedTrajectory(10), repaintedTrajectory(11), repaintedTrajectory(12), testTrajectory(13, schema.StatusAccepted)}
	trs[1].Provenance.Route = routeTeacherImage
	trs[1].Regions[1].Attempts = trs[1].Regions[1].Attempts[:1]
	trs[1].Regions[1].Attempts[0].Decision = schema.DecisionKeepLimit
	trs[1].Regions[1].Attempts[0].Critique.Threshold = 90
	trs[2].Regions[2].Attempts[0].Prefix = `a sign that reads "<image_tokens> 1 2" {prefix}`
	wrappers := map[string]string{}
	var samples []schema.Sample
	gens := 0
	for i := range trs {
		wrappers[trs[i].ID] = trs[i].Provenance.PromptWrapper
		for _, s := range Subtasks(&trs[i], DefaultSFTMix()) {
			samples = append(samples, s)
			if s.Kind == "gen" {
				gens++
			}
		}
	}
	if gens != 11 {
		t.Fatalf("%d gen samples, want 11 (the teacher-image trajectory's band 2 filtered out)", gens)
	}
	slices.SortFunc(samples, func(a, b schema.Sample) int { return strings.Compare(a.ID, b.ID) })

	dir := t.TempDir()
	bucket, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	l, _ := LayoutOf(ConfigSFT)
	info, err := WriteShard(ctx, bucket, testPrefix, l.ShardPath(0, 1), samples, ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := testManifest()
	m.Config = json.RawMessage(`{"engine":{"route":"interleaved"},"sft":{"think":1,"gen":1}}`)
	m.Shards[ConfigSFT] = []ShardInfo{info}
	if err := WriteCard(ctx, bucket, testPrefix, m); err != nil {
		t.Fatal(err)
	}
	card, err := bucket.ReadAll(ctx, Key(testPrefix, CardFile))
	if err != nil {
		t.Fatal(err)
	}
	snippet := pythonBlock(t, string(card), "def gen_sample(")

	w, err := json.Marshal(wrappers)
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, filepath.FromSlash(testPrefix))
	var got struct {
		Rows      map[string]int
		WithPrior int `json:"with_prior"`
		Errors    []string
	}
	runPython(t, py, genSnippetScript, &got, snippet, folder, filepath.Join(folder, filepath.FromSlash(info.Path)), string(w))
	for _, e := range got.Errors {
		t.Error(e)
	}
	for _, reader := range []string{"pyarrow", "datasets"} {
		if got.Rows[reader] != gens {
			t.Errorf("%s: the snippet rebuilt %d gen rows, want %d", reader, got.Rows[reader], gens)
		}
	}
	if got.WithPrior != gens-len(trs) {
		t.Errorf("%d gen rows with prior tokens, want %d (all but gen_1)", got.WithPrior, gens-len(trs))
	}
}
