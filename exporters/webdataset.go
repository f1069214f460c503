package exporters

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gocloud.dev/blob"

	"github.com/twigdata/twig/schema"
)

// ContentTypeTar is the media type WebDataset shards are written with.
const ContentTypeTar = "application/x-tar"

// WebDatasetRecord is the .json member of a WebDataset sample: the
// trajectory without its images and tokens (the final image is the .png
// member; the canvases stay in the Parquet shards).
type WebDatasetRecord struct {
	ID       string               `json:"id"`
	Prompt   string               `json:"prompt"`
	Category string               `json:"category"`
	Sample   int32                `json:"sample_index"`
	Seed     int64                `json:"seed"`
	K        int32                `json:"k"`
	Regions  []WebDatasetRegion   `json:"regions"`
	Judges   []schema.JudgeResult `json:"judges"`
	Verdict  schema.Verdict       `json:"verdict"`
	Source   schema.Source        `json:"source"`
	Models   []schema.RoleModel   `json:"models"`
	Template []schema.TemplateRef `json:"templates"`
}

// WebDatasetRegion is one region of a WebDatasetRecord: the thought that
// was kept and every attempt's critique.
type WebDatasetRegion struct {
	Thought  string              `json:"thought"`
	Status   string              `json:"status"`
	Attempts []WebDatasetAttempt `json:"attempts"`
}

// WebDatasetAttempt is one attempt of a region, without its tokens and canvas.
type WebDatasetAttempt struct {
	Thought string `json:"thought"`
	// Score is the critique's score; null when the attempt was not
	// critiqued or its critique could not be read.
	Score    *int32 `json:"score"`
	Revised  string `json:"revised,omitempty"`
	Decision string `json:"decision"`
}

// NewWebDatasetRecord returns the .json member of t.
func NewWebDatasetRecord(t *schema.Trajectory) WebDatasetRecord {
	r := WebDatasetRecord{
		ID: t.ID, Prompt: t.Prompt, Category: t.Category, Sample: t.SampleIndex, Seed: t.Seed,
		K: t.Schedule.K, Judges: t.Judges, Verdict: t.Verdict, Source: t.Source,
		Models: t.Provenance.Models, Template: t.Provenance.Templates,
	}
	for _, g := range t.Regions {
		reg := WebDatasetRegion{Thought: g.Thought.Text, Status: g.Status}
		for _, a := range g.Attempts {
			at := WebDatasetAttempt{Thought: a.Thought, Decision: a.Decision}
			if a.Critiqued {
				at.Score, at.Revised = a.Critique.Score, a.Critique.Revised
			}
			reg.Attempts = append(reg.Attempts, at)
		}
		r.Regions = append(r.Regions, reg)
	}
	return r
}

// tarEpoch is the modification time of every member: fixed, so identical
// samples give identical tars.
var tarEpoch = time.Unix(0, 0).UTC()

// A TarWriter streams WebDataset samples into one tar shard: for each
// accepted trajectory, <id>.png (the final image) and <id>.json (a
// WebDatasetRecord), in the order written. Like ShardWriter, the object
// appears only when Close succeeds, and the same samples give the same
// bytes.
type TarWriter struct {
	path   string
	cancel context.CancelFunc
	bw     *blob.Writer
	out    *asyncWriter
	tw     *tar.Writer
	rows   int64
	err    error
	closed bool
}

// NewTarWriter starts writing the tar shard at path, relative to prefix.
func NewTarWriter(ctx context.Context, bucket *blob.Bucket, prefix, path string) (*TarWriter, error) {
	ctx, cancel := context.WithCancel(ctx)
	bw, err := bucket.NewWriter(ctx, Key(prefix, path), uploadOptions(ContentTypeTar))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("write shard %s: %w", path, err)
	}
	w := &TarWriter{path: path, cancel: cancel, bw: bw, out: newAsyncWriter(bw, sha256.New(), 4)}
	w.tw = tar.NewWriter(w.out)
	return w, nil
}

// Write adds t as one sample. It must have a final image.
func (w *TarWriter) Write(t *schema.Trajectory) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("write shard %s: writer is closed", w.path)
	}
	if t.ID == "" || strings.ContainsAny(t.ID, "./") {
		return w.fail(fmt.Errorf("sample %q: a WebDataset key must be non-empty without dots or slashes", t.ID))
	}
	if len(t.FinalImage.Bytes) == 0 {
		return w.fail(fmt.Errorf("sample %s: no final image", t.ID))
	}
	meta, err := json.Marshal(NewWebDatasetRecord(t))
	if err != nil {
		return w.fail(fmt.Errorf("sample %s: %w", t.ID, err))
	}
	for _, m := range []struct {
		name string
		data []byte
	}{{t.ID + ".json", meta}, {t.ID + ".png", t.FinalImage.Bytes}} {
		hdr := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), ModTime: tarEpoch, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := w.tw.WriteHeader(hdr); err != nil {
			return w.fail(fmt.Errorf("sample %s: %w", t.ID, err))
		}
		if _, err := w.tw.Write(m.data); err != nil {
			return w.fail(fmt.Errorf("sample %s: %w", t.ID, err))
		}
	}
	w.rows++
	return nil
}

// Close finishes the tar, commits the object and returns its ShardInfo;
// Rows counts samples.
func (w *TarWriter) Close() (ShardInfo, error) {
	if w.err != nil {
		return ShardInfo{}, w.err
	}
	if w.closed {
		return ShardInfo{}, fmt.Errorf("write shard %s: writer is closed", w.path)
	}
	w.closed = true
	if err := w.tw.Close(); err != nil {
		return ShardInfo{}, w.fail(err)
	}
	if err := w.out.Wait(); err != nil {
		return ShardInfo{}, w.fail(err)
	}
	err := w.bw.Close()
	w.cancel()
	if err != nil {
		w.err = fmt.Errorf("write shard %s: %w", w.path, err)
		return ShardInfo{}, w.err
	}
	return ShardInfo{Path: w.path, Rows: w.rows, Bytes: w.out.n, SHA256: fmt.Sprintf("%x", w.out.hash.Sum(nil))}, nil
}

// Abort cancels the write: nothing is committed.
func (w *TarWriter) Abort() {
	if w.err == nil && !w.closed {
		w.fail(errAborted)
	}
}

func (w *TarWriter) fail(err error) error {
	w.cancel()
	_ = w.out.Wait()
	_ = w.bw.Close()
	w.closed = true
	w.err = fmt.Errorf("write shard %s: %w", w.path, err)
	return w.err
}

// ScanTar reads a WebDataset tar shard and calls f for each sample with
// its key and members (extension -> bytes). It checks the WebDataset
// conventions: members of a sample are adjacent and every key is unique.
func ScanTar(ctx context.Context, bucket *blob.Bucket, prefix, path string, f func(key string, members map[string][]byte) error) (int64, error) {
	r, err := bucket.NewReader(ctx, Key(prefix, path), nil)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	defer r.Close()
	tr := tar.NewReader(r)
	var n int64
	key, members, done := "", map[string][]byte{}, map[string]bool{}
	flush := func() error {
		if key == "" {
			return nil
		}
		if done[key] {
			return fmt.Errorf("read %s: sample %s appears twice", path, key)
		}
		done[key] = true
		n++
		err := f(key, members)
		key, members = "", map[string][]byte{}
		return err
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("read %s: %w", path, err)
		}
		k, ext, ok := strings.Cut(hdr.Name, ".")
		if !ok || k == "" {
			return n, fmt.Errorf("read %s: member %q has no extension", path, hdr.Name)
		}
		if k != key {
			if err := flush(); err != nil {
				return n, err
			}
			key = k
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return n, fmt.Errorf("read %s: %s: %w", path, hdr.Name, err)
		}
		members[ext] = data
	}
	return n, flush()
}
