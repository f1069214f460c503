// Package cache keeps the answers of model calls in a content-addressed
// store, so that no call is ever made twice: not by a rerun of a version,
// not by a new version that changes only a judge or an export setting, and
// not by another worker of the same job.
//
// # Keys
//
// A call's key is the SHA-256 of everything that determines its answer:
// the role (think, critique, generate, decode, encode), the backend's
// identity (kind, model id and revision, and any knob of a simulator), and
// the full request, seed included (images enter by their SHA-256). The
// rendered instruction is part of a reasoner request, so a new template
// version misses the cache from its first use on, and everything before it
// still hits. Keys never hold secrets: API keys are not part of requests.
//
// # Store
//
// Answers are JSON objects in a gocloud blob bucket under
// <prefix>/<role>/<key[:2]>/<key>.json: a local folder (file://) or object
// storage (s3://, gs://) that every worker of a distributed job shares.
// gocloud writers commit only on Close, so a reader never sees half an
// answer; two workers that race on the same key write the same bytes.
//
// # Counting
//
// Hits and misses are counted per role in a [Counts] that the caller puts
// in the context with [WithCounts], so the pipeline can count per
// trajectory and report the totals in the summary and the manifest.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/twigdata/twig/inference"
)

// keyVersion changes whenever the key derivation does.
const keyVersion = "twig-cache-1"

// Identity says which backend answers: calls to different backends never
// share a key.
type Identity struct {
	// Kind is the backend kind, e.g. "sim", "worker", "openai".
	Kind string `json:"kind"`
	// Model and Revision name the model; Revision should change whenever
	// the weights or any setting that changes answers does (for the
	// simulator: its rates).
	Model    string `json:"model"`
	Revision string `json:"revision"`
}

// Cache stores call answers in a bucket.
type Cache struct {
	bucket *blob.Bucket
	prefix string
}

// New returns a cache keeping its entries under prefix in bucket.
func New(bucket *blob.Bucket, prefix string) *Cache {
	return &Cache{bucket: bucket, prefix: prefix}
}

// Key returns the cache key of a call.
func Key(role string, id Identity, request any) (string, error) {
	b, err := json.Marshal(struct {
		V    string   `json:"v"`
		Role string   `json:"role"`
		ID   Identity `json:"id"`
		Req  any      `json:"req"`
	}{keyVersion, role, id, request})
	if err != nil {
		return "", fmt.Errorf("cache key for %s: %w", role, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func (c *Cache) path(role, key string) string {
	p := role + "/" + key[:2] + "/" + key + ".json"
	if c.prefix != "" {
		p = c.prefix + "/" + p
	}
	return p
}

// do returns the cached answer of a call, or makes the call and caches
// its answer.
func do[T any](ctx context.Context, c *Cache, role string, id Identity, request any, call func() (T, error)) (T, error) {
	var zero T
	key, err := Key(role, id, request)
	if err != nil {
		return zero, err
	}
	p := c.path(role, key)
	b, err := c.bucket.ReadAll(ctx, p)
	switch {
	case err == nil:
		var v T
		if jerr := json.Unmarshal(b, &v); jerr == nil {
			countsFrom(ctx).add(role, true)
			return v, nil
		}
		// A damaged entry is replaced below.
	case gcerrors.Code(err) != gcerrors.NotFound:
		return zero, fmt.Errorf("cache read %s: %w", p, err)
	}
	v, err := call()
	if err != nil {
		return zero, err
	}
	countsFrom(ctx).add(role, false)
	if b, err = json.Marshal(v); err != nil {
		return zero, fmt.Errorf("cache write %s: %w", p, err)
	}
	if err := c.bucket.WriteAll(ctx, p, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return zero, fmt.Errorf("cache write %s: %w", p, err)
	}
	return v, nil
}

// Counts counts hits and misses per role. It is safe for concurrent use.
type Counts struct {
	mu sync.Mutex
	m  map[string]Count
}

// Count is one role's hits and misses.
type Count struct {
	Hits   int64 `json:"hits"`
	Misses int64 `json:"misses"`
}

func (c *Counts) add(role string, hit bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]Count{}
	}
	n := c.m[role]
	if hit {
		n.Hits++
	} else {
		n.Misses++
	}
	c.m[role] = n
}

// Snapshot returns the counts so far, by role.
func (c *Counts) Snapshot() map[string]Count {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Count, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

type countsKey struct{}

// WithCounts returns a context whose cached calls are counted in c.
func WithCounts(ctx context.Context, c *Counts) context.Context {
	return context.WithValue(ctx, countsKey{}, c)
}

func countsFrom(ctx context.Context) *Counts {
	c, _ := ctx.Value(countsKey{}).(*Counts)
	return c
}

// digest stands in for image bytes in keys.
func digest(b []byte) string {
	if b == nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Painter wraps a painter so that its calls are cached.
func (c *Cache) Painter(p inference.Painter, id Identity) inference.Painter {
	return &painter{c: c, next: p, id: id}
}

// Reasoner wraps a reasoner so that its calls are cached.
func (c *Cache) Reasoner(r inference.Reasoner, id Identity) inference.Reasoner {
	return &reasoner{c: c, next: r, id: id}
}

// Encoder wraps an encoder so that its calls are cached.
func (c *Cache) Encoder(e inference.Encoder, id Identity) inference.Encoder {
	return &encoder{c: c, next: e, id: id}
}

type painter struct {
	c    *Cache
	next inference.Painter
	id   Identity
}

var _ inference.Painter = (*painter)(nil)

func (p *painter) Generate(ctx context.Context, req inference.GenerateRequest) (inference.GenerateResponse, error) {
	return do(ctx, p.c, inference.RoleGenerate, p.id, req, func() (inference.GenerateResponse, error) {
		return p.next.Generate(ctx, req)
	})
}

func (p *painter) Decode(ctx context.Context, tokens []int32) (inference.DecodeResponse, error) {
	return do(ctx, p.c, inference.RoleDecode, p.id, tokens, func() (inference.DecodeResponse, error) {
		return p.next.Decode(ctx, tokens)
	})
}

type reasoner struct {
	c    *Cache
	next inference.Reasoner
	id   Identity
}

var _ inference.Reasoner = (*reasoner)(nil)

// thinkKey and critiqueKey are the requests as keyed: the canvas by digest.
type thinkKey struct {
	inference.ThinkRequest
	Canvas string
}

type critiqueKey struct {
	inference.CritiqueRequest
	Canvas string
}

func (r *reasoner) Think(ctx context.Context, req inference.ThinkRequest) (inference.Reply, error) {
	k := thinkKey{ThinkRequest: req, Canvas: digest(req.Canvas)}
	k.ThinkRequest.Canvas = nil
	return do(ctx, r.c, inference.RoleThink, r.id, k, func() (inference.Reply, error) {
		return r.next.Think(ctx, req)
	})
}

func (r *reasoner) Critique(ctx context.Context, req inference.CritiqueRequest) (inference.Reply, error) {
	k := critiqueKey{CritiqueRequest: req, Canvas: digest(req.Canvas)}
	k.CritiqueRequest.Canvas = nil
	return do(ctx, r.c, inference.RoleCritique, r.id, k, func() (inference.Reply, error) {
		return r.next.Critique(ctx, req)
	})
}

// Drawer wraps an image drawer so that its calls are cached.
func (c *Cache) Drawer(d inference.Drawer, id Identity) inference.Drawer {
	return &drawer{c: c, next: d, id: id}
}

type drawer struct {
	c    *Cache
	next inference.Drawer
	id   Identity
}

var _ inference.Drawer = (*drawer)(nil)

func (d *drawer) Draw(ctx context.Context, req inference.DrawRequest) (inference.DrawResponse, error) {
	return do(ctx, d.c, inference.RoleDraw, d.id, req, func() (inference.DrawResponse, error) {
		return d.next.Draw(ctx, req)
	})
}

type encoder struct {
	c    *Cache
	next inference.Encoder
	id   Identity
}

var _ inference.Encoder = (*encoder)(nil)

func (e *encoder) Encode(ctx context.Context, png []byte) ([]int32, error) {
	return do(ctx, e.c, inference.RoleEncode, e.id, digest(png), func() ([]int32, error) {
		return e.next.Encode(ctx, png)
	})
}
