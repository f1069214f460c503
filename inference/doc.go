// Package inference runs the TwiG loop: for each region of the canvas a
// reasoner writes a thought, a painter generates the region's image tokens,
// the reasoner critiques the result and, below the threshold, the region is
// repainted from the revised thought (twig-method.md section 2).
//
// # Backends
//
// Five small interfaces defined here stand for the models. Every route's
// loop talks to [Painter] (generate tokens, decode tokens to a PNG) and
// [Reasoner] (think, critique); the teacher-image route adds [Drawer]
// (draw an image from captions) and [Encoder] (tokenise an image); and
// [Viewer] (answer an instruction about an image) is the model of the VLM
// judge (package filters/vlm). The CPU simulator in inference/sim
// implements all five; GPU workers (inference/remote) paint, decode and
// encode, and teacher models (inference/teacher) think, critique, draw and
// view, behind the same interfaces. Package inference/backends composes
// them from a run's configuration.
//
// # Reference behaviour
//
// [DefaultConfig] reproduces the reference code: K=3 equal bands of a
// 384 px image in 16 px patches (576 tokens), CFG 5.0, temperature 1.0,
// accept iff score >= 90, at most one repaint per region, the repaint not
// critiqued again, and the prompt not in the generation prefix. Unlike the
// reference code, a critique that cannot be parsed is never taken for an
// accept: it is retried [Config.CritiqueRetries] times and then handled by
// [Config.OnParseFailure] (keep the attempt and mark the region
// parse_failed, repaint, or fail the trajectory).
//
// # Records
//
// [Engine.Run] returns a schema.Trajectory with every thought, every
// attempt (a repaint is a new attempt; the first is kept), every critique
// with its raw text, parse status and decision, and every model call with
// its token counts. It is deterministic given the seed and the backends'
// answers: each call's seed derives from the sample seed, the role, the
// region, the attempt and the retry.
package inference
