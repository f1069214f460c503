package exporters

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/twigdata/twig/schema"
)

// Config names of a dataset version, as the dataset card lists them and
// as Manifest.Shards is keyed.
const (
	ConfigTrajectories = "trajectories" // accepted trajectories (schema.Trajectory)
	ConfigRejected     = "rejected"     // rejected trajectories (schema.Trajectory)
	ConfigFailed       = "failed"       // inputs that could not be processed (schema.Failure)
	ConfigSFT          = "sft"          // TwiG-50K's supervised subtasks of the accepted trajectories (schema.Sample)
	ConfigWebDataset   = "webdataset"   // the accepted trajectories as WebDataset tars (<id>.png + <id>.json)
)

// Files at the top of a version.
const (
	// ManifestFile is the commit marker of a version; see WriteManifest.
	ManifestFile = "manifest.json"
	// CardFile is the dataset card; see WriteCard.
	CardFile = "README.md"
)

// A Layout says where one config's shards live inside a version and what
// their rows must be.
type Layout struct {
	// Config is the config name, e.g. ConfigTrajectories.
	Config string
	// Dir is the shards' folder relative to the version, e.g. "data/trajectories".
	Dir string
	// Split is the split name in the shard file names, e.g. "train".
	Split string
	// Status is the verdict status every row must carry, or "" when the
	// rows are not trajectories (the failed config holds schema.Failure rows).
	Status string
	// Ext is the shards' file extension: ".parquet", or ".tar" for WebDataset.
	Ext string

	rowType reflect.Type
}

// Parquet reports whether the config's shards are Parquet files (and so a
// Hugging Face config of the card).
func (l Layout) Parquet() bool { return l.Ext == ".parquet" }

// layouts are the configs of a version, in the order the card lists them.
var layouts = []Layout{
	{Config: ConfigTrajectories, Dir: "data/trajectories", Split: "train", Status: schema.StatusAccepted, Ext: ".parquet", rowType: reflect.TypeFor[schema.Trajectory]()},
	{Config: ConfigRejected, Dir: "rejected", Split: "rejected", Status: schema.StatusRejected, Ext: ".parquet", rowType: reflect.TypeFor[schema.Trajectory]()},
	{Config: ConfigFailed, Dir: "failed", Split: "failed", Ext: ".parquet", rowType: reflect.TypeFor[schema.Failure]()},
	{Config: ConfigSFT, Dir: "data/sft", Split: "train", Ext: ".parquet", rowType: reflect.TypeFor[schema.Sample]()},
	{Config: ConfigWebDataset, Dir: "data/webdataset", Split: "train", Status: schema.StatusAccepted, Ext: ".tar"},
}

// Layouts returns the layouts of every config of a version, in the order
// the dataset card lists them.
func Layouts() []Layout { return append([]Layout(nil), layouts...) }

// LayoutOf returns the layout of a config, and false if the config is not
// known.
func LayoutOf(config string) (Layout, bool) {
	for _, l := range layouts {
		if l.Config == config {
			return l, true
		}
	}
	return Layout{}, false
}

// ShardPath returns the path, relative to the version, of shard i of n of
// the config: ShardName(l.Dir, l.Split, i, n), with the layout's extension.
func (l Layout) ShardPath(i, n int) string {
	return strings.TrimSuffix(ShardName(l.Dir, l.Split, i, n), ".parquet") + l.Ext
}

// Glob returns the Hugging Face data_files pattern matching the config's
// shards, e.g. "data/trajectories/train-*.parquet".
func (l Layout) Glob() string { return l.Dir + "/" + l.Split + "-*" + l.Ext }

// ShardName returns the name of shard i of n in dir with the Hugging Face
// convention {dir}/{split}-{00000}-of-{00042}.parquet: indexes are
// zero-based and zero-padded to five digits, so names sort in shard order.
func ShardName(dir, split string, i, n int) string {
	return fmt.Sprintf("%s/%s-%05d-of-%05d.parquet", strings.TrimSuffix(dir, "/"), split, i, n)
}

// Key joins a version prefix and a path relative to it into a bucket key.
// An empty prefix gives the path itself.
func Key(prefix, path string) string {
	prefix = strings.Trim(prefix, "/")
	path = strings.TrimPrefix(path, "/")
	if prefix == "" {
		return path
	}
	return prefix + "/" + path
}
