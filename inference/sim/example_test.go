package sim_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/twigdata/twig/inference"
	"github.com/twigdata/twig/inference/sim"
)

// Example thinks, paints and critiques the central band of three, as the
// engine does for one region.
func Example() {
	ctx := context.Background()
	painter := sim.NewPainter(sim.DefaultPainterConfig())
	cfg := sim.DefaultReasonerConfig()
	cfg.MalformedRate, cfg.DriftRate = 0, 0 // a reasoner that never breaks a rule
	reasoner := sim.NewReasoner(cfg)
	geo := painter.Geometry()
	const prompt = "a red apple on the left of a green train"

	thought, err := reasoner.Think(ctx, inference.ThinkRequest{Prompt: prompt, Region: 1, Regions: 3, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	start, end := geo.BandRows(1, 3)
	canvas := make([]int32, geo.Tokens()) // placeholder everywhere
	gen, err := painter.Generate(ctx, inference.GenerateRequest{
		Prefix: thought.Text, Prior: canvas[:start*geo.Grid()], N: (end - start) * geo.Grid(),
		CFG: 5, Temperature: 0, Seed: 1, // temperature 0: no mistakes
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	copy(canvas[start*geo.Grid():], gen.Tokens)
	img, err := painter.Decode(ctx, canvas)
	if err != nil {
		fmt.Println(err)
		return
	}
	reply, err := reasoner.Critique(ctx, inference.CritiqueRequest{
		Prompt: prompt, Thoughts: []string{"The background is plain and soft.", thought.Text},
		Canvas: img.PNG, Region: 1, Regions: 3, Seed: 1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := inference.ParseCritique(reply.Text)
	fmt.Println(len(gen.Tokens), gen.Model, reply.Model)
	fmt.Println(thought.Text)
	// The band is flawless and passes theta 90; scored below
	// sim.SatisfiedScore, the critic still words its revision more
	// precisely, naming no other object.
	fmt.Println(c.Status, c.Score >= 90, c.Score >= sim.SatisfiedScore)
	fmt.Println(c.Revised)
	// Output:
	// 192 twig-sim-painter-v1 twig-sim-reasoner-v1
	// A red apple is on the left of a green train.
	// ok true false
	// A clearly visible red apple is on the left of a clearly visible green train.
}

// ExampleGeometry_Encode shows the codebook: a token packs class, colour
// and attribute, renders as a patch, and encodes back.
func ExampleGeometry_Encode() {
	geo := sim.DefaultGeometry()
	apple := sim.Token{Class: sim.ClassOf("apple"), Colour: sim.ColourCode("red"), Attribute: sim.AttributeCode("round", "")}
	tokens := make([]int32, geo.Tokens())
	for i := range tokens {
		tokens[i] = sim.Token{Colour: sim.ToneSky}.ID()
	}
	tokens[300] = apple.ID()
	img, err := geo.Render(tokens)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := geo.Encode(img)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(geo.Grid(), geo.Tokens(), sim.CodebookSize)
	fmt.Printf("%+v\n", sim.Split(back[300]))
	fmt.Println(slices.Equal(back, tokens))
	// Output:
	// 24 576 16384
	// {Class:45 Colour:1 Attribute:1}
	// true
}
