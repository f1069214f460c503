package exporters

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twigdata/twig/internal/golden"

	"gocloud.dev/blob/memblob"
)

// TestCardGolden compares cards with their golden files: the card of the
// test version (interleaved route, no sft config) with
// testdata/card.golden.md, and the card of a teacher-image version with an
// sft config with testdata/card.sft.golden.md. Refresh with
// go test ./exporters -run TestCardGolden -update and review the diff.
func TestCardGolden(t *testing.T) {
	t.Run("test version", func(t *testing.T) {
		bucket := memblob.OpenBucket(nil)
		defer bucket.Close()
		writeTestVersion(t, bucket, testPrefix)
		b, err := bucket.ReadAll(context.Background(), Key(testPrefix, CardFile))
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", "card.golden.md"), b)
	})
	t.Run("teacher-image with sft", func(t *testing.T) {
		golden.Check(t, filepath.Join("testdata", "card.sft.golden.md"), Card(sftManifest()))
	})
}

// sftManifest returns the manifest of a teacher-image test version with
// one trajectories shard and one sft shard (not written).
func sftManifest() *Manifest {
	m := testManifest()
	m.Config = json.RawMessage(`{"engine":{"route":"teacher-image","theta":90,"comparator":">="},"sft":{"think":1,"gen":1,"reflect":0.5}}`)
	m.Shards[ConfigTrajectories] = []ShardInfo{{Path: "data/trajectories/train-00000-of-00001.parquet", Rows: 2}}
	m.Shards[ConfigSFT] = []ShardInfo{{Path: "data/sft/train-00000-of-00001.parquet", Rows: 13}}
	m.Stats.Subtasks = map[string]int64{"think_1": 2, "think_2": 2, "think_3": 2, "gen_1": 2, "gen_2": 1, "gen_3": 2, "reflect_1": 1, "reflect_3": 1}
	return m
}

// TestCardRoute checks that the card names the route that made the data,
// an empty route being the interleaved loop, and the paper's recipe.
func TestCardRoute(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`{}`, "Route: `interleaved`."},
		{`{"engine":{"route":""}}`, "Route: `interleaved`."},
		{`{"engine":{"route":"interleaved"}}`, "Route: `interleaved`."},
		{`{"engine":{"route":"teacher-image"}}`, "Route: `teacher-image`. This is the route the paper built TwiG-50K on."},
	} {
		m := testManifest()
		m.Config = json.RawMessage(tc.config)
		card := string(Card(m))
		for _, want := range []string{tc.want, "The paper's recipe is `twig run --route teacher-image` on the training split of the T2I-CompBench prompts"} {
			if !strings.Contains(card, want) {
				t.Errorf("config %s: card lacks %q", tc.config, want)
			}
		}
	}
}

// TestCardSFTMix checks that the card states the sft mix, and the gen
// filter only on the teacher-image route.
func TestCardSFTMix(t *testing.T) {
	m := sftManifest()
	card := string(Card(m))
	for _, want := range []string{
		"subtask mix think 1, gen 1, reflect 0.5",
		"gen_1 2, gen_2 1, gen_3 2",
		"a band gives no gen_k sample unless its critique was read and accepted it (score >= 90).",
		"def gen_sample(row):",
	} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q", want)
		}
	}
	m.Config = json.RawMessage(`{"engine":{"route":"interleaved"},"sft":{"think":1,"gen":1}}`)
	if card := string(Card(m)); strings.Contains(card, "no gen_k sample") || !strings.Contains(card, "subtask mix think 1, gen 1, reflect 0 ") {
		t.Errorf("interleaved card: want the mix and no gen filter:\n%s", card)
	}
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
