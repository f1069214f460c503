package sim

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/twigdata/twig/inference"
)

func BenchmarkGenerateDecode(b *testing.B) {
	ctx := context.Background()
	p := NewPainter(DefaultPainterConfig())
	p.parse = miniParse
	g := p.Geometry()
	prior := make([]int32, g.Tokens()/3)
	for i := range prior {
		prior[i] = Token{Colour: ToneSky}.ID()
	}
	canvas := make([]int32, g.Tokens())
	copy(canvas, prior)
	req := inference.GenerateRequest{
		Prefix: "The sky is clear. A round red apple stands on the left of two green trains.",
		Prior:  prior, N: g.Tokens() / 3, CFG: 5, Temperature: 1, TopP: 1,
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req.Seed = int64(i)
		gen, err := p.Generate(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		copy(canvas[len(prior):], gen.Tokens)
		if _, err := p.Decode(ctx, canvas); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCritique(b *testing.B) {
	ctx := context.Background()
	p := NewPainter(PainterConfig{})
	r := NewReasoner(DefaultReasonerConfig())
	p.parse, r.parse = miniParse, miniParse
	const prompt = "a round red apple on the left of two green trains"
	thoughts := []string{"The background is plain and softly lit.", makePlan(miniParse, prompt, 3).sentences[1]}
	img, err := r.geo.Render(canvasFor(b, p, thoughts, 1))
	if err != nil {
		b.Fatal(err)
	}
	req := inference.CritiqueRequest{Prompt: prompt, Thoughts: thoughts, Canvas: img, Region: 1, Regions: 3}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req.Seed = int64(i)
		if _, err := r.Critique(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	g := DefaultGeometry()
	img, err := g.Render(randomTokens(rand.New(rand.NewPCG(5, 6)), g.Tokens()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Encode(img); err != nil {
			b.Fatal(err)
		}
	}
}
