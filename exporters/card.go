package exporters

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gocloud.dev/blob"
)

// Card returns the dataset card of a version: Hugging Face YAML front
// matter (licence, one config per config with shards, trajectories the
// default, and each config's features) and a description written from the
// manifest. It is a function of the manifest without its Created time, so
// reruns give the same card.
func Card(m *Manifest) []byte {
	var b strings.Builder
	license := m.License
	if license == "" {
		license = "other"
	}
	b.WriteString("---\n")
	fmt.Fprintf(&b, "license: %s\n", yamlString(license))
	fmt.Fprintf(&b, "pretty_name: %s\n", yamlString(m.Dataset+" "+m.Version))
	b.WriteString("task_categories:\n- text-to-image\n")
	b.WriteString("tags:\n- twig\n- thinking-while-generating\n")
	var present, hf []Layout
	for _, l := range layouts {
		if len(m.Shards[l.Config]) > 0 {
			present = append(present, l)
			if l.Parquet() {
				hf = append(hf, l)
			}
		}
	}
	if len(hf) > 0 {
		b.WriteString("configs:\n")
		for _, l := range hf {
			fmt.Fprintf(&b, "- config_name: %s\n", l.Config)
			if l.Config == ConfigTrajectories {
				b.WriteString("  default: true\n")
			}
			b.WriteString("  data_files:\n")
			b.WriteString("  - split: train\n")
			fmt.Fprintf(&b, "    path: %s\n", yamlString(l.Glob()))
		}
		b.WriteString("dataset_info:\n")
		for _, l := range hf {
			fmt.Fprintf(&b, "- config_name: %s\n", l.Config)
			b.WriteString("  features:\n")
			writeFeaturesYAML(&b, featuresOf(l.rowType), 2)
		}
	}
	b.WriteString("---\n\n")

	fmt.Fprintf(&b, "# %s %s\n\n", mdText(m.Dataset), mdText(m.Version))
	fmt.Fprintf(&b, "Thinking-while-generating text-to-image trajectories in the TwiG-50K layout, "+
		"made by twig %s (schema %s).", mdCode(m.TwigVersion), mdCode(m.SchemaVersion))
	if m.Parent != "" {
		fmt.Fprintf(&b, " Derived from version %s.", mdCode(m.Parent))
	}
	b.WriteString(" Every prompt was painted region by region; a teacher model thought before each region " +
		"and critiqued after it, and judges accepted or rejected the result.\n\n")

	c := m.Counts
	b.WriteString("## Counts\n\n")
	b.WriteString("| seeded | accepted | rejected | failed | duplicates dropped |\n")
	b.WriteString("|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d |\n\n", c.Seeded, c.Accepted, c.Rejected, c.Failed, c.DuplicatesDropped)

	b.WriteString("## Configs\n\n")
	b.WriteString("| config | holds | files | shards | rows |\n")
	b.WriteString("|---|---|---|---:|---:|\n")
	for _, l := range present {
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %d | %d |\n", l.Config, configBlurb[l.Config], l.Glob(), len(m.Shards[l.Config]), m.Rows(l.Config))
	}
	if len(present) == 0 {
		b.WriteString("| (none) | | | 0 | 0 |\n")
	}
	b.WriteString("\n")
	if len(m.Shards[ConfigSFT]) > 0 {
		var cfg struct {
			SFT SFTMix `json:"sft"`
		}
		json.Unmarshal(m.Config, &cfg) // a config without a mix shows zeros
		fmt.Fprintf(&b, "The `sft` config was derived with the subtask mix think %g, gen %g, reflect %g (shares of each kind kept; repaint critiques as extra samples: %v).",
			cfg.SFT.Think, cfg.SFT.Gen, cfg.SFT.Reflect, cfg.SFT.Repaints)
		if len(m.Stats.Subtasks) > 0 {
			b.WriteString(" Samples per task:")
			for i, task := range slices.Sorted(maps.Keys(m.Stats.Subtasks)) {
				sep := ","
				if i == 0 {
					sep = ""
				}
				fmt.Fprintf(&b, "%s %s %d", sep, task, m.Stats.Subtasks[task])
			}
			b.WriteString(".")
		}
		b.WriteString("\n\n")
	}

	if len(m.Models) > 0 {
		b.WriteString("## Models\n\n| role | model |\n|---|---|\n")
		for _, r := range m.Models {
			fmt.Fprintf(&b, "| %s | %s |\n", mdText(r.Role), mdCode(r.Model))
		}
		b.WriteString("\n")
	}
	if len(m.Templates) > 0 {
		b.WriteString("## Prompt templates\n\n| role | template | version |\n|---|---|---|\n")
		for _, t := range m.Templates {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdText(t.Role), mdCode(t.ID), mdCode(t.Version))
		}
		b.WriteString("\n")
	}

	writePolicy(&b, m)

	b.WriteString("## Provenance\n\n")
	fmt.Fprintf(&b, "- config hash: %s\n", mdCode(m.ConfigHash))
	fmt.Fprintf(&b, "- code version: %s\n", mdCode(m.TwigVersion))
	if m.Parent != "" {
		fmt.Fprintf(&b, "- parent version: %s\n", mdCode(m.Parent))
	}
	fmt.Fprintf(&b, "- `%s` lists every shard with its rows, bytes and SHA-256, the full config and run statistics.\n\n", ManifestFile)

	b.WriteString("## Loading\n\n```python\nfrom datasets import load_dataset\n\n")
	fmt.Fprintf(&b, "ds = load_dataset(%q, %q, split=\"train\")\n```\n", "path/to/"+m.Dataset+"/"+m.Version, ConfigTrajectories)
	if l, _ := LayoutOf(ConfigWebDataset); len(m.Shards[ConfigWebDataset]) > 0 {
		fmt.Fprintf(&b, "\nThe WebDataset shards stream with the `webdataset` library:\n\n```python\nimport webdataset as wds\n\n")
		fmt.Fprintf(&b, "ds = wds.WebDataset(%q).decode(\"pil\").to_tuple(\"png\", \"json\")\n```\n",
			"path/to/"+m.Dataset+"/"+m.Version+"/"+l.Dir+"/"+l.Split+"-{00000..N}.tar")
	}
	return []byte(b.String())
}

var configBlurb = map[string]string{
	ConfigTrajectories: "accepted trajectories",
	ConfigRejected:     "rejected trajectories, with every judge's score and reason",
	ConfigFailed:       "inputs that could not be processed, with the error",
	ConfigSFT:          "TwiG-50K's supervised subtasks (think_k, gen_k, reflect_k) of the accepted trajectories, as raw fields and chat messages",
	ConfigWebDataset:   "the accepted trajectories as WebDataset tars: `<id>.png` (final image) and `<id>.json` (prompt, thoughts, critiques, judges)",
}

// WriteCard writes the dataset card, Card(m), to <prefix>/README.md. Write
// it after the shards and before the manifest.
func WriteCard(ctx context.Context, bucket *blob.Bucket, prefix string, m *Manifest) error {
	err := bucket.WriteAll(ctx, Key(prefix, CardFile), Card(m), &blob.WriterOptions{ContentType: "text/markdown; charset=utf-8"})
	if err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	return nil
}

// yamlString quotes s as a YAML double-quoted scalar (JSON string syntax
// is valid YAML), unless it is a plain word that needs no quotes.
func yamlString(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./*", r)) {
			plain = false
			break
		}
	}
	if plain && !strings.ContainsAny(s[:1], "-*.") && !isYAMLKeyword(s) {
		return s
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // strings always encode
	return strings.TrimSuffix(b.String(), "\n")
}

func isYAMLKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n":
		return true
	}
	// Numbers would be read as numbers.
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// mdText escapes s for a Markdown table cell or heading.
func mdText(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ", "|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
	if s == "" {
		return "-"
	}
	return s
}

// mdCode formats s as inline code, safe in a table cell.
func mdCode(s string) string {
	if s == "" {
		return "-"
	}
	s = strings.NewReplacer("\r", " ", "\n", " ", "|", `\|`, "`", "'").Replace(s)
	return "`" + s + "`"
}

// writePolicy writes the card's Filters section: the policy that decided
// the verdicts (from the run's config) and how many trajectories each
// judge failed.
func writePolicy(b *strings.Builder, m *Manifest) {
	var cfg struct {
		Policy struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Judges  map[string]struct {
				Required  bool     `json:"required"`
				Threshold *float64 `json:"threshold"`
				Weight    float64  `json:"weight"`
			} `json:"judges"`
			MinOverall *float64 `json:"min_overall"`
		} `json:"policy"`
	}
	if json.Unmarshal(m.Config, &cfg) != nil || cfg.Policy.Name == "" {
		return
	}
	p := cfg.Policy
	b.WriteString("## Filters\n\n")
	fmt.Fprintf(b, "Verdicts were decided by the policy %s. A trajectory is accepted when every required judge passes", mdCode(p.Name+"@"+p.Version))
	if p.MinOverall != nil {
		fmt.Fprintf(b, " and the overall score (the weighted mean of the judges' scores) is at least %g", *p.MinOverall)
	}
	b.WriteString("; every judge's raw score is kept in the rows, so `twig refilter` can apply another policy with no model call.\n\n")
	b.WriteString("| judge | required | threshold | weight | failed |\n|---|---|---:|---:|---:|\n")
	for _, name := range slices.Sorted(maps.Keys(p.Judges)) {
		r := p.Judges[name]
		th := "judge's own"
		if r.Threshold != nil {
			th = fmt.Sprintf("%g", *r.Threshold)
		}
		fmt.Fprintf(b, "| %s | %v | %s | %g | %d |\n", mdCode(name), r.Required, th, r.Weight, m.Stats.JudgeFails[name])
	}
	b.WriteString("\n")
}
