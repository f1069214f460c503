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
	run := runConfigOf(m)
	b.WriteString(" " + routeBlurb(run.Engine.Route) + " Judges accepted or rejected every trajectory.\n\n")

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
	writeRoute(&b, run)
	if len(m.Shards[ConfigSFT]) > 0 {
		writeSFT(&b, m, run)
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

// runConfig is the part of a run's config (Manifest.Config) the card
// describes; a config without a field shows its zero value.
type runConfig struct {
	Engine struct {
		// Route is "interleaved" or "teacher-image"; empty means interleaved.
		Route      string `json:"route"`
		Theta      *int   `json:"theta"`
		Comparator string `json:"comparator"`
	} `json:"engine"`
	SFT SFTMix `json:"sft"`
}

func runConfigOf(m *Manifest) runConfig {
	var c runConfig
	json.Unmarshal(m.Config, &c) // a config that does not parse shows zeros
	if c.Engine.Route == "" {
		c.Engine.Route = routeInterleaved
	}
	return c
}

// routeBlurb says in a sentence how a route made the trajectories.
func routeBlurb(route string) string {
	switch route {
	case routeInterleaved:
		return "They were made on the `interleaved` route, the zero-shot TwiG loop: the generator painted each prompt band by band, " +
			"a reasoner wrote a thought before each band and critiqued the band after it, and a band scoring below the threshold was repainted."
	case routeTeacherImage:
		return "They were made on the `teacher-image` route, the paper's TwiG-50K recipe: a teacher wrote a caption for every band, " +
			"an image model drew one image from the captions, the generator's VQ encoder turned it into band tokens, " +
			"and the teacher scored each band and wrote a revised caption (nothing is repainted)."
	}
	return fmt.Sprintf("They were made on the %s route.", mdCode(route))
}

// writeRoute writes the card's Route section: the route of this version
// and the paper's recipe.
func writeRoute(b *strings.Builder, run runConfig) {
	b.WriteString("## Route\n\n")
	fmt.Fprintf(b, "Route: %s.", mdCode(run.Engine.Route))
	if run.Engine.Route == routeTeacherImage {
		b.WriteString(" This is the route the paper built TwiG-50K on.")
	}
	b.WriteString(" The paper's recipe is `twig run --route teacher-image` on the training split of the T2I-CompBench prompts " +
		"(5.5K prompts over its 8 categories). The benchmark scores models on its validation prompts, so keep those out of training data.\n\n")
}

// genSampleSnippet is the card's Python function that rebuilds a gen_k
// sample from a row of the sft config, as schema.Sample documents it.
// TestCardSnippetRebuildsGenRows runs it, as the card prints it, on
// written rows.
const genSampleSnippet = `def gen_sample(row):
    """Splits a gen_k row of the sft config into (text, input_tokens, target_tokens)."""
    user, assistant = row["messages"]
    assert row["kind"] == "gen" and user["role"] == "user" and assistant["role"] == "assistant"
    text, _, prior = user["content"].rpartition("<image_tokens>")
    target = assistant["content"].removeprefix("<image_tokens>")
    return text, [int(t) for t in prior.split()], [int(t) for t in target.split()]
`

// writeSFT writes the card's SFT section: the mix, what each subtask
// learns, and how to train on gen_k rows.
func writeSFT(b *strings.Builder, m *Manifest, run runConfig) {
	mix := run.SFT
	b.WriteString("## SFT subtasks\n\n")
	fmt.Fprintf(b, "The `sft` config was derived with the subtask mix think %g, gen %g, reflect %g (shares of each kind kept; repaint critiques as extra samples: %v).",
		mix.Think, mix.Gen, mix.Reflect, mix.Repaints)
	if len(m.Stats.Subtasks) > 0 {
		b.WriteString(" Samples per task:")
		for i, task := range slices.Sorted(maps.Keys(m.Stats.Subtasks)) {
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(b, "%s %s %d", sep, task, m.Stats.Subtasks[task])
		}
		b.WriteString(".")
	}
	b.WriteString(" Each row links to its trajectory by `trajectory_id` and holds the sample twice: as raw columns and as chat `messages` " +
		"(a user turn, the input, then an assistant turn, the target to train on).\n\n")
	b.WriteString("- `think_k`: the prompt, the thoughts of the earlier bands as the loop kept them (`thoughts`) and the canvas after band k-1 (`images`) " +
		"-> the thinker's own thought for band k (`target`). A critic's revised thought is never a think target.\n")
	b.WriteString("- `gen_k`: the generator's whole text prompt (`conditioning`: its prompt wrapper with the band's text prefix, `prefix`, put in) " +
		"and the image tokens of the earlier bands (`prior_tokens`) -> the band's image tokens (`target_tokens`).")
	if run.Engine.Route == routeTeacherImage {
		b.WriteString(" As in the paper, low-quality bands are left out: a band gives no gen_k sample unless its critique was read and accepted it")
		if run.Engine.Theta != nil {
			cmp := run.Engine.Comparator
			if cmp == "" {
				cmp = ">="
			}
			fmt.Fprintf(b, " (score %s %d)", cmp, *run.Engine.Theta)
		}
		b.WriteString(".")
	}
	b.WriteString("\n")
	b.WriteString("- `reflect_k`: the prompt, the thoughts up to band k and the canvas with band k -> the critique as `SCORE: <int>` and `IMPROVED_DESCRIPTION: <sentence>`.\n\n")

	b.WriteString("### Training on gen_k rows\n\n")
	b.WriteString("A gen_k row's `messages` are the generator's input in the order it read it, then the target. " +
		"The user turn is `conditioning` followed at once by `<image_tokens>` and the earlier bands' token ids, each after a space " +
		"(just `<image_tokens>` for k=1); the assistant turn is `<image_tokens>` and the band's token ids. " +
		"Everything after the user turn's last `<image_tokens>` is ids, so splitting there is exact whatever the text holds. " +
		"This function rebuilds a sample from a row:\n\n")
	b.WriteString("```python\n" + genSampleSnippet + "```\n\n")
	b.WriteString("```python\nfrom datasets import load_dataset\n\n")
	fmt.Fprintf(b, "sft = load_dataset(%q, %q, split=\"train\")\n", "path/to/"+m.Dataset+"/"+m.Version, ConfigSFT)
	b.WriteString("gen = sft.filter(lambda row: row[\"kind\"] == \"gen\")\n")
	b.WriteString("text, input_tokens, target_tokens = gen_sample(gen[0])\n```\n\n")
	b.WriteString("`text` equals the row's `conditioning`, `input_tokens` its `prior_tokens` and `target_tokens` its `target_tokens`. " +
		"`text` is already in the generator's own prompt format (for Janus-Pro `User: <prefix>\\n\\nAssistant:<begin_of_image>`, " +
		"ending with the image-start token): tokenise it as it is, BOS first, with no chat template on top. " +
		"The model's input is those text tokens followed by `input_tokens` as image tokens; " +
		"train it to continue with `target_tokens`, with the loss on those alone.\n\n")
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
