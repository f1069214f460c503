package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/twigdata/twig/exporters"
	"github.com/twigdata/twig/filters"
	"github.com/twigdata/twig/filters/vlm"
	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/backends"
	"github.com/twigdata/twig/inference/worker"
	"github.com/twigdata/twig/pipelines"
	"github.com/twigdata/twig/pipelines/seeds"
)

const runHelp = `Usage: twig run --out DIR [flags] [Beam pipeline options]

Runs the whole pipeline: seed prompts, run the interleaved think / generate /
reflect loop on each, judge the trajectories, and write a dataset version to
DIR/<dataset>/<version>/. With no other flag it uses the embedded Beam runner
(prism), the built-in simulator backends and 200 built-in prompts.

Settings come from the defaults, then --config FILE (JSON, the same fields as
the "config" object in a version's manifest.json), then flags.

Flags:
`

// runOptions are the flags of twig run that are not fields of the config.
type runOptions struct {
	out        string
	configFile string
	prompts    string
	bandRows   string
	overwrite  bool
	verbose    bool
	cache      string
	// Teacher settings: the shared ones, then per-role overrides.
	teacher, teacherModel string
	thinker, thinkerModel string
	critic, criticModel   string
	drawer, drawerModel   string
	judge, judgeModel     string
	policy                string
	datasetSet            bool // --dataset was given
	progressEvery         time.Duration
	limits                backends.Teacher
}

// applyTeachers fills the reasoning roles from the teacher flags: every
// role takes --teacher and --teacher-model unless its own flags say otherwise.
func (o runOptions) applyTeachers(b *backends.Backends) {
	// from starts a role from the flags, keeping the timeout and retries
	// the config file gave the role unless a flag sets them.
	from := func(old backends.Teacher) backends.Teacher {
		lim := o.limits
		if lim.Timeout == 0 {
			lim.Timeout = old.Timeout
		}
		if lim.Retries == 0 {
			lim.Retries = old.Retries
		}
		return lim
	}
	role := func(t *backends.Teacher, url, model string) {
		if url == "" {
			url = o.teacher
		}
		if model == "" {
			model = o.teacherModel
		}
		if url == "" {
			return
		}
		lim := from(*t)
		lim.BaseURL, lim.Model, lim.KeyEnv = url, model, t.KeyEnv
		*t = lim
	}
	role(&b.Thinker, o.thinker, o.thinkerModel)
	role(&b.Critic, o.critic, o.criticModel)
	if o.drawer != "" {
		lim := from(b.Drawer)
		lim.BaseURL, lim.Model = o.drawer, o.drawerModel
		b.Drawer = lim
	}
	// The vlm judge follows the teacher unless told otherwise: real data
	// gets a real judge. --judge sim keeps the simulated VLM.
	judge := o.judge
	if judge == "" && b.Judge.BaseURL == "" {
		judge = o.teacher
	}
	if judge == simJudge {
		b.Judge = backends.Teacher{}
		judge = ""
	}
	if judge != "" {
		lim := from(b.Judge)
		lim.BaseURL, lim.Model, lim.KeyEnv = judge, o.judgeModel, b.Judge.KeyEnv
		if lim.Model == "" {
			lim.Model = o.teacherModel
		}
		b.Judge = lim
	}
	// --teacher-timeout and --teacher-retries apply to every teacher role,
	// the ones the config file configures too, over their own values.
	for _, r := range backends.Roles {
		t := r.Of(b)
		if t.BaseURL == "" {
			continue
		}
		if o.limits.Timeout != 0 {
			t.Timeout = o.limits.Timeout
		}
		if o.limits.Retries != 0 {
			t.Retries = o.limits.Retries
		}
	}
}

func cmdRun(ctx context.Context, args []string) error {
	// Beam's own flags (--runner, --endpoint, --job_name, ...) live on the
	// global flag set; twig's flags join them there so both parse in one go.
	fs := flag.CommandLine
	cfg := pipelines.DefaultConfig()
	if file := preScan(args, "config"); file != "" {
		if err := loadConfigFile(file, &cfg); err != nil {
			return err
		}
	}
	var o runOptions
	addRunFlags(fs, &cfg, &o)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runHelp)
		fs.VisitAll(func(f *flag.Flag) {
			if !beamFlag(f.Name) {
				printFlag(fs.Output(), f)
			}
		})
		fmt.Fprintf(fs.Output(), "\nBeam pipeline options pass through, e.g. --runner=flink --endpoint=localhost:8099 --environment_type=LOOPBACK.\n")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (prompt files go in --prompts)", fs.Arg(0))
	}
	return runPipeline(ctx, cfg, o, os.Stdout)
}

// runPipeline validates the configuration, runs the job and prints the summary.
func runPipeline(ctx context.Context, cfg pipelines.Config, o runOptions, stdout io.Writer) error {
	if o.out == "" {
		return errors.New("--out is required: the directory the dataset version is written to")
	}
	if o.prompts != "" {
		files, err := seeds.Expand(strings.Split(o.prompts, ","))
		if err != nil {
			return fmt.Errorf("--prompts: %w", err)
		}
		cfg.Prompts = files
		if cfg.PromptsDigest, err = pipelines.DigestFiles(files); err != nil {
			return fmt.Errorf("--prompts: %w", err)
		}
	}
	if o.bandRows != "" {
		rows, err := parseInts(o.bandRows)
		if err != nil {
			return fmt.Errorf("--band-rows: %w", err)
		}
		cfg.Engine.BandRows = rows
	}
	o.applyTeachers(&cfg.Backends)
	if o.policy != "" {
		p, err := filters.LoadPolicy(o.policy)
		if err != nil {
			return fmt.Errorf("--policy: %w", err)
		}
		cfg.Policy = p
	}
	out, err := bucketURL(o.out, true)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	cfg.Output = out
	if o.cache != "" {
		if cfg.Backends.Cache, err = bucketURL(o.cache, true); err != nil {
			return fmt.Errorf("--cache: %w", err)
		}
	}
	if err := cfg.ReadTemplates(); err != nil {
		return err
	}
	cfg.CodeVersion = codeVersion()
	start := time.Now()
	cfg.Created = start.UTC().Format(time.RFC3339)
	if err := cfg.Validate(); err != nil {
		return err
	}
	var painter worker.Info
	if len(cfg.Backends.Generator) > 0 {
		// Reject unreachable or mismatched workers before any model call.
		pool, info, err := backends.OpenWorkers(ctx, cfg.Backends, cfg.Engine)
		if err != nil {
			return err
		}
		pool.Close()
		painter = info
		fmt.Fprintf(stdout, "generator: %s on %d worker(s)\n", info.ModelID(), len(cfg.Backends.Generator))
	}
	// A simulated critic or judge cannot read a real model's canvases:
	// refuse before the GPU work rather than fail every sample after it.
	if err := cfg.Backends.CheckReaders(painter); err != nil {
		return err
	}
	if !o.datasetSet && cfg.Dataset == pipelines.DefaultConfig().Dataset && !cfg.Backends.Simulated(painter) {
		// A dataset made with real models is never labelled simulated.
		cfg.Dataset = pipelines.DefaultRealDataset
	}
	bucket, err := openBucket(ctx, o.out, true)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer bucket.Close()
	prefix := pipelines.VersionPrefix(cfg)
	switch err := pipelines.Prepare(ctx, bucket, cfg, o.overwrite); {
	case errors.Is(err, pipelines.ErrUpToDate):
		fmt.Fprintf(stdout, "%s is already committed with this configuration: nothing to do (no model call made)\n", joinLocation(o.out, prefix))
		m, err := exporters.ReadManifest(ctx, bucket, prefix)
		if err != nil {
			return err
		}
		printSummary(stdout, m, joinLocation(o.out, prefix))
		return nil
	case err != nil:
		return err
	}

	// beam.Init sets up Beam's logging at this level; the embedded runner
	// is chatty at "info".
	beamlog.LogLevel = "warn"
	if o.verbose {
		beamlog.LogLevel = "info"
	}
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	pipelines.Build(s, cfg)
	pipelines.Progress.Seeded.Store(0)
	pipelines.Progress.Done.Store(0)
	tty := isTerminal(os.Stderr)
	interval := 10 * time.Second
	if tty {
		interval = 250 * time.Millisecond
	}
	if o.progressEvery > 0 {
		interval = o.progressEvery
	}
	stopProgress := startProgress(os.Stderr, tty, interval)
	res, err := beamx.RunWithMetrics(ctx, p)
	stopProgress()
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	removeEmptyDirs(o.out, prefix+"/_staging")
	m, err := exporters.ReadManifest(ctx, bucket, prefix)
	if err != nil {
		return err
	}
	printSummary(stdout, m, joinLocation(o.out, prefix))
	if res != nil {
		printMetrics(stdout, res.Metrics().AllMetrics())
	}
	fmt.Fprintf(stdout, "time:       %s\n", time.Since(start).Round(time.Millisecond))
	if !m.Counts.Reconciles() {
		return &exitError{code: 3, err: fmt.Errorf("counts do not reconcile: seeded %d != accepted %d + rejected %d + failed %d",
			m.Counts.Seeded, m.Counts.Accepted, m.Counts.Rejected, m.Counts.Failed)}
	}
	return nil
}

func addRunFlags(fs *flag.FlagSet, c *pipelines.Config, o *runOptions) {
	fs.StringVar(&o.out, "out", "", "output `dir`ectory or object store URL (s3://bucket/prefix?region=…&endpoint=…&use_path_style=true, gs://bucket/prefix; credentials from the environment); the version goes to DIR/<dataset>/<version>/ (required)")
	fs.StringVar(&o.configFile, "config", "", "JSON config `file` applied before the flags")
	fs.StringVar(&o.prompts, "prompts", "", "comma-separated prompt `files`, globs or directories (.txt one per line, .jsonl with a \"prompt\" field); default: built-in prompts")
	fs.BoolVar(&o.overwrite, "overwrite", false, "replace an existing committed version")
	fs.BoolVar(&o.verbose, "verbose", false, "show the Beam runner's informational logs")
	fs.DurationVar(&o.progressEvery, "progress-every", 0, "progress report `interval` on stderr (default: a bar redrawn 4 times a second on a terminal, a line every 10s otherwise)")
	fs.Func("generator", "GPU worker base `URL` (repeatable or comma-separated); default: the in-process simulator", func(v string) error {
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				c.Backends.Generator = append(c.Backends.Generator, u)
			}
		}
		return nil
	})
	fs.Var(&durationFlag{&c.Backends.GeneratorTimeout}, "generator-timeout", "time `limit` of each attempt of a GPU worker call, e.g. 30s or 5m (0: "+backends.Short(backends.DefaultGeneratorTimeout)+")")
	fs.IntVar(&c.Backends.GeneratorRetries, "generator-retries", c.Backends.GeneratorRetries, fmt.Sprintf("retries of a GPU worker call after a transient failure (connection, timeout, 429, 5xx) (0: %d)", backends.DefaultGeneratorRetries))
	fs.StringVar(&o.teacher, "teacher", "", "OpenAI-compatible base `URL` for every reasoning role (e.g. https://api.openai.com/v1); the key comes from "+
		backends.ThinkerRole.KeyEnv+", "+backends.CriticRole.KeyEnv+" (per role) or "+backends.FallbackKeyEnv+"; default: the simulated reasoner")
	fs.StringVar(&o.teacherModel, "teacher-model", "", "model `name` for every reasoning role")
	fs.StringVar(&o.thinker, "thinker", "", "base `URL` of the thinker (overrides --teacher)")
	fs.StringVar(&o.thinkerModel, "thinker-model", "", "model `name` of the thinker")
	fs.StringVar(&o.critic, "critic", "", "base `URL` of the critic (overrides --teacher)")
	fs.StringVar(&o.criticModel, "critic-model", "", "model `name` of the critic")
	fs.StringVar(&o.drawer, "drawer", "", "base `URL` of the image model of the teacher-image route; default: the simulated drawer")
	fs.StringVar(&o.drawerModel, "drawer-model", "gpt-image-1", "image model `name`")
	fs.StringVar(&o.judge, "judge", "", "OpenAI-compatible base `URL` of the vision-language model of the vlm judge (key: "+backends.JudgeRole.KeyHint(backends.Teacher{})+
		"); default: --teacher when given, else the simulated VLM; \"sim\": the simulated VLM")
	fs.StringVar(&o.judgeModel, "judge-model", "", "model `name` of the vlm judge (default: --teacher-model)")
	fs.StringVar(&o.policy, "policy", "", "policy `file` (JSON: per judge required, threshold, weight; min_overall) deciding verdicts; default: the built-in policy default@1")
	fs.IntVar(&o.limits.Limits.Requests, "teacher-rpm", 0, "requests per minute per endpoint and model (0: no limit)")
	fs.IntVar(&o.limits.Limits.InputTokens, "teacher-input-tpm", 0, "input tokens per minute per endpoint and model (0: no limit)")
	fs.IntVar(&o.limits.Limits.OutputTokens, "teacher-output-tpm", 0, "output tokens per minute per endpoint and model (0: no limit)")
	fs.IntVar(&o.limits.Limits.MaxConcurrent, "teacher-concurrency", 0, "requests in flight per endpoint and model (0: no limit)")
	fs.Int64Var(&o.limits.MaxTokens, "teacher-max-tokens", 0, "spending cap per role in tokens; once reached no new trajectory starts (0: none)")
	fs.Float64Var(&o.limits.MaxDollars, "teacher-max-dollars", 0, "spending cap per role in dollars at the prices below (0: none)")
	fs.Float64Var(&o.limits.Prices.InputPerMillion, "teacher-price-input", 0, "dollars per million input tokens")
	fs.Float64Var(&o.limits.Prices.OutputPerMillion, "teacher-price-output", 0, "dollars per million output tokens")
	fs.Var(&durationFlag{&o.limits.Timeout}, "teacher-timeout", "time `limit` of one request of every teacher role, e.g. 30s or 5m (0: "+
		backends.Short(backends.ThinkerRole.DefaultTimeout)+", "+backends.Short(backends.DrawerRole.DefaultTimeout)+" for the drawer)")
	fs.IntVar(&o.limits.Retries, "teacher-retries", 0, fmt.Sprintf("retries of a teacher call after a transient failure (timeout, connection, 408, 429, 5xx), every role (0: %d)", backends.DefaultTeacherRetries))
	fs.StringVar(&o.cache, "cache", "", "call cache `location` (a local folder or file:// URL) shared by runs and versions; default: no cache")
	fs.Func("dataset", "dataset `name` (default: twig-sim when every model is simulated, else twig)", func(s string) error {
		c.Dataset, o.datasetSet = s, true
		return nil
	})
	fs.StringVar(&c.Version, "version", c.Version, "version `name`")
	fs.StringVar(&c.Split, "split", c.Split, "split `name` of the accepted trajectories")
	fs.IntVar(&c.Builtin, "builtin", c.Builtin, "number of built-in T2I-CompBench-style prompts when --prompts is not given")
	fs.IntVar(&c.Limit, "limit", c.Limit, "use only the first `N` distinct prompts (0: all)")
	fs.IntVar(&c.SamplesPerPrompt, "samples-per-prompt", c.SamplesPerPrompt, "trajectories per prompt")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "dataset seed; every sample's seed derives from it")
	fs.IntVar(&c.MaxPromptBytes, "max-prompt-bytes", c.MaxPromptBytes, "longer prompts go to failed/")
	fs.IntVar(&c.Engine.K, "k", c.Engine.K, "number of regions (horizontal bands)")
	fs.StringVar(&o.bandRows, "band-rows", "", "comma-separated band heights in token rows, e.g. 6,12,6 (default: equal bands)")
	fs.IntVar(&c.Engine.ImageSize, "image-size", c.Engine.ImageSize, "image side in pixels")
	fs.IntVar(&c.Engine.PatchSize, "patch-size", c.Engine.PatchSize, "patch side in pixels (one token per patch)")
	fs.Float64Var(&c.Engine.CFG, "cfg", c.Engine.CFG, "classifier-free guidance weight")
	fs.Float64Var(&c.Engine.Temperature, "temperature", c.Engine.Temperature, "image-token sampling temperature")
	fs.IntVar(&c.Engine.TopK, "top-k", c.Engine.TopK, "image-token top-k (0: off)")
	fs.Float64Var(&c.Engine.TopP, "top-p", c.Engine.TopP, "image-token top-p (1: off)")
	fs.Float64Var(&c.Engine.ReasonTemperature, "reason-temperature", c.Engine.ReasonTemperature, "reasoner temperature (0: greedy)")
	fs.IntVar(&c.Engine.ReasonMaxTokens, "reason-max-tokens", c.Engine.ReasonMaxTokens, "reasoner max new tokens")
	fs.IntVar(&c.Engine.Theta, "theta", c.Engine.Theta, "critique acceptance threshold, 0..100")
	fs.StringVar(&c.Engine.Comparator, "comparator", c.Engine.Comparator, "acceptance rule: score >= theta or score > theta")
	fs.IntVar(&c.Engine.MaxRepaints, "max-repaints", c.Engine.MaxRepaints, "repaints per region at most")
	fs.BoolVar(&c.Engine.CritiqueRepaints, "critique-repaints", c.Engine.CritiqueRepaints, "critique repaints again")
	fs.IntVar(&c.Engine.CritiqueRetries, "critique-retries", c.Engine.CritiqueRetries, "extra critique calls when an answer cannot be parsed")
	fs.StringVar(&c.Engine.OnParseFailure, "on-parse-failure", c.Engine.OnParseFailure, "after the retries: keep (mark parse_failed), repaint, fail, or accept (the reference code's behaviour; with --critique-retries 0 it reproduces the paper)")
	fs.StringVar(&c.Engine.ThinkTemplate, "think-template", c.Engine.ThinkTemplate, "think prompt: a built-in template (think-v2, think-v1) or a template `file` (docs/templates.md)")
	fs.StringVar(&c.Engine.CritiqueTemplate, "critique-template", c.Engine.CritiqueTemplate, "critique prompt: a built-in template (critique-v2, critique-v1) or a template `file`")
	fs.StringVar(&c.Engine.DrawTemplate, "draw-template", c.Engine.DrawTemplate, "image request of the teacher-image route: a built-in template (draw-v1) or a template `file`")
	fs.StringVar(&c.VLM.Template, "judge-template", vlmTemplate(c.VLM.Template), "vlm judge prompt: a built-in template (judge-v1) or a template `file`")
	fs.StringVar(&c.Engine.Route, "route", inference.RouteInterleaved, "interleaved (think, paint, critique, repaint) or teacher-image (captions, one drawn image, tokenised, critiqued; the paper's TwiG-50K route)")
	fs.BoolVar(&c.Engine.PromptInPrefix, "prompt-in-prefix", c.Engine.PromptInPrefix, "put the prompt before the thoughts in the generation prefix")
	fs.Float64Var(&c.Sim.MistakeRate, "sim-mistake-rate", c.Sim.MistakeRate, "simulated painter: chance of a mistake per object")
	fs.Float64Var(&c.Sim.MalformedRate, "sim-malformed-rate", c.Sim.MalformedRate, "simulated critic: chance of a malformed answer")
	fs.Float64Var(&c.Sim.DriftRate, "sim-drift-rate", c.Sim.DriftRate, "simulated reasoner: chance of a thought that breaks the rules")
	fs.Float64Var(&c.SFT.Think, "sft-think", c.SFT.Think, "share, 0..1, of think_k samples in the sft config")
	fs.Float64Var(&c.SFT.Gen, "sft-gen", c.SFT.Gen, "share, 0..1, of gen_k samples in the sft config")
	fs.Float64Var(&c.SFT.Reflect, "sft-reflect", c.SFT.Reflect, "share, 0..1, of reflect_k samples in the sft config (the paper found reflect data lowered scores)")
	fs.BoolVar(&c.SFT.Repaints, "sft-repaints", c.SFT.Repaints, "also make reflect samples of critiqued repaints")
	fs.BoolVar(&c.WebDataset, "webdataset", c.WebDataset, "also write the accepted trajectories as WebDataset tar shards (data/webdataset: <id>.png + <id>.json)")
	fs.Int64Var(&c.ShardBytes, "shard-bytes", c.ShardBytes, "target Parquet shard size in bytes")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "trajectories in flight per bundle (0: 128 with remote models, 4 per CPU with the simulator)")
}

// beamFlag reports whether a flag on the global set is one of Beam's.
func beamFlag(name string) bool {
	var ours flag.FlagSet
	addRunFlags(&ours, &pipelines.Config{}, &runOptions{})
	return ours.Lookup(name) == nil
}

// durationFlag sets a config duration from a flag such as 2m or 30s.
type durationFlag struct{ d *backends.Duration }

func (f *durationFlag) String() string {
	if f == nil || f.d == nil {
		return "0s"
	}
	return f.d.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf(`%q is not a duration: want e.g. "30s", "2m" or "1m30s"`, s)
	}
	*f.d = backends.Duration(d)
	return nil
}

func printFlag(w io.Writer, f *flag.Flag) {
	name, usage := flag.UnquoteUsage(f)
	fmt.Fprintf(w, "  --%s %s\n    \t%s", f.Name, name, usage)
	if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "false" {
		fmt.Fprintf(w, " (default %s)", f.DefValue)
	}
	fmt.Fprintln(w)
}

// preScan finds the value of --name in args before the flags are parsed.
func preScan(args []string, name string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// loadConfigFile overlays a JSON config file on cfg, rejecting unknown
// fields and naming the line of an error.
func loadConfigFile(file string, cfg *pipelines.Config) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		lineAt := func(off int64) int { return 1 + bytes.Count(b[:min(int(off), len(b))], []byte("\n")) }
		line := lineAt(dec.InputOffset())
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line = lineAt(se.Offset)
		case errors.As(err, &te) && te.Offset > 0:
			line = lineAt(te.Offset)
		case errors.As(err, &te) && te.Field != "":
			// A value's own UnmarshalJSON (a duration) knows no offset:
			// point at the field's key, found along its path.
			line = lineAt(fieldOffset(b, te.Field))
		default:
			// An unknown field: point at the key itself.
			if _, field, ok := strings.Cut(err.Error(), "unknown field "); ok {
				if i := bytes.Index(b, []byte(field)); i >= 0 {
					line = lineAt(int64(i))
				}
			}
		}
		return fmt.Errorf("%s:%d: %w", file, line, err)
	}
	return nil
}

// fieldOffset returns the offset of the key of the field at path (dotted
// JSON names, as json.UnmarshalTypeError.Field gives it) in the JSON text
// b: each name is looked for after the previous one. It is a best guess,
// for error messages only.
func fieldOffset(b []byte, path string) int64 {
	off, at := 0, 0
	for _, name := range strings.Split(path, ".") {
		key := []byte(strconv.Quote(name))
		i := bytes.Index(b[off:], key)
		if i < 0 {
			break
		}
		at = off + i
		off = at + len(key)
	}
	return int64(at)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// codeVersion is the build's version: the -ldflags value, else the VCS
// revision Go stamped into the binary, else "dev".
func codeVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev+" + s.Value[:12]
			}
		}
	}
	return version
}

// printSummary prints the short report of a committed version.
func printSummary(w io.Writer, m *exporters.Manifest, where string) {
	c, st := m.Counts, m.Stats
	fmt.Fprintf(w, "version:    %s\n", where)
	fmt.Fprintf(w, "seeded:     %d (duplicates dropped: %d)\n", c.Seeded, c.DuplicatesDropped)
	fmt.Fprintf(w, "accepted:   %d\nrejected:   %d\nfailed:     %d\n", c.Accepted, c.Rejected, c.Failed)
	fmt.Fprintf(w, "regions:    %d, repainted %d (%.1f%%), critique parse failures %d, critique retries %d\n",
		st.Regions, st.RepaintedRegions, 100*st.RepaintShare, st.ParseFailures, st.CritiqueRetries)
	for _, role := range slices.Sorted(maps.Keys(st.Calls)) {
		fmt.Fprintf(w, "calls %-14s made %d, from cache %d\n", role+":", st.Calls[role].Misses, st.Calls[role].Hits)
	}
	if st.BudgetStopped > 0 {
		fmt.Fprintf(w, "budget:     a spending cap was reached; %d samples failed or never started (see failed/)\n", st.BudgetStopped)
	}
	for _, name := range slices.Sorted(maps.Keys(st.JudgeFails)) {
		fmt.Fprintf(w, "judge %-14s failed %d\n", name+":", st.JudgeFails[name])
	}
}

// removeEmptyDirs removes the empty folders a local output keeps after its
// staged objects were deleted (object stores have no folders to remove).
func removeEmptyDirs(out, rel string) {
	local, err := bucketURL(out, false)
	if err != nil || !strings.HasPrefix(local, "file://") {
		return
	}
	root := filepath.Join(out, filepath.FromSlash(rel))
	var dirs []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, harmlessly, on a folder that is not empty
	}
}

// vlmTemplate is the vlm judge's template name, the default when unset.
func vlmTemplate(name string) string {
	if name == "" {
		return vlm.DefaultTemplate
	}
	return name
}

// simJudge is the --judge value that keeps the simulated VLM.
const simJudge = "sim"
