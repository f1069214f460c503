package exporters

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob/memblob"
)

// TestCardGolden compares the card of the test version with
// testdata/card.golden.md. Refresh with
// go test ./exporters -run TestCardGolden -update and review the diff.
func TestCardGolden(t *testing.T) {
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	writeTestVersion(t, bucket, testPrefix)
	b, err := bucket.ReadAll(context.Background(), Key(testPrefix, CardFile))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "card.golden.md"), b)
}

func TestCardOnlyConfigsWithShards(t *testing.T) {
	m := testManifest()
	m.Shards[ConfigTrajectories] = []ShardInfo{{Path: "data/trajectories/train-00000-of-00001.parquet", Rows: 1}}
	m.License = "cc-by-4.0"
	card := string(Card(m))
	for _, want := range []string{"license: cc-by-4.0\n", "- config_name: trajectories\n  default: true\n", "path: data/trajectories/train-*.parquet\n"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q", want)
		}
	}
	for _, unwanted := range []string{"config_name: rejected", "config_name: failed"} {
		if strings.Contains(card, unwanted) {
			t.Errorf("card has %q for a config without shards", unwanted)
		}
	}
}

func TestYAMLString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"other", "other"},
		{"cc-by-4.0", "cc-by-4.0"},
		{"data/trajectories/train-*.parquet", "data/trajectories/train-*.parquet"},
		{"", `""`},
		{"yes", `"yes"`},
		{"1.0", `"1.0"`},
		{"*.parquet", `"*.parquet"`},
		{"twig demo: v1", `"twig demo: v1"`},
		{"a \"q\" <b>\n", `"a \"q\" <b>\n"`},
	}
	for _, tt := range tests {
		if got := yamlString(tt.in); got != tt.want {
			t.Errorf("yamlString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
