// Package sim is a CPU SIMULATOR of the two model interfaces of package
// inference: [Painter] stands in for the autoregressive image generator
// and its VQ codec (Janus-Pro in the paper), [Reasoner] for the language
// model that writes thoughts and critiques. Neither is a model: they
// follow simple, documented rules, so that the pipeline can be built and
// tested end to end without a GPU, and so that everything the pipeline can
// observe (token grids, PNG canvases, thoughts, critique answers, their
// failures and token counts) looks and behaves like the real thing. Both
// are deterministic given the request, seed included, and safe for
// concurrent use.
//
// # Codebook
//
// A [Geometry] cuts a square image (384 px by default) into patches (16 px)
// and gives one token per patch in raster order: 24x24 = 576 tokens. The
// codebook has [CodebookSize] = 16384 tokens; an id packs three fields
// (see [Token]) as id = class<<8 | colour<<4 | attribute:
//
//   - class (6 bits): 0 is background and scenery, 1..63 an object class.
//     [ClassOf] hashes a noun with FNV-1a into 1..63, so different nouns may
//     share a class.
//   - colour (4 bits): for objects 0 is the class's natural colour and
//     1..15 the colours of annotators.Colours in order ([ColourCode]); for
//     background it is a scenery tone ([ToneSky], [ToneGrass], ...), tone 0
//     being the placeholder's beige.
//   - attribute (4 bits): 0 none, 1..7 a shape and 8..15 a texture
//     ([AttributeCode]): 1 + the shape's index in annotators.Shapes, or 8 +
//     the texture's index in annotators.Textures, folded modulo 7 and 8 when
//     a vocabulary is longer, so some shapes (and some textures) share a
//     code. An object with both a shape and a texture keeps its shape. For
//     background it is a light shade variation.
//
// Token 0, the [Placeholder], is a position not painted yet: it renders as
// a flat beige patch, like Janus's token 0, and the painter never emits
// it.
//
// [Geometry.Render] (and [Painter.Decode]) draws each token as a patch
// filled with its colour (named colours look like their names, natural
// colours are a muted tone per class, scenery tones are soft) and marked
// with a 4x4 grid of cells: cells 0..5 (raster order) carry the class
// bits, cells 6..9 the attribute bits, a set bit being a cell darkened on
// a light fill or lightened on a dark one; cells 10..15 are plain fill.
// Fills are distinct within a class, so the drawing is invertible:
// [Geometry.Encode], the simulator's VQ encoder, reads back exactly the
// tokens from a rendered PNG and rejects any other image with
// [ErrNotCanvas]. The PNG (8-bit paletted: a canvas has at most 188
// colours) depends only on the tokens.
//
// # Painter
//
// [Painter.Generate] paints the token rows [len(Prior), len(Prior)+N),
// which must be whole rows inside the grid. It paints what the last
// sentence of the prefix (the current band's thought) asks for, as
// annotators.Parse reads it: each object as blobs of its token, one blob
// per counted instance, never touching another blob, so that counting
// connected components counts instances. Objects are laid out left to
// right in mention order in columns; left_of, right_of and next_to (and
// verbs) reorder the columns; above, behind and hidden_by stack the
// subject over the object in the same column, below and in_front_of under
// it. Blob size follows the band height and the number of objects. The
// rest is background tokens whose tone follows the first scenery word of
// the sentence (sky, grass, water, sand, snow, road, wall, floor,
// table, ...), else a neutral tone; a sentence naming no object paints an
// all-background band. Only nouns that name something in a scene are
// painted: scenery nouns (background, backdrop, ground, surroundings,
// space, scene, setting, light, area, ...) tint the background instead,
// and meta nouns, which talk about the picture or its description rather
// than name a thing in it (object, thing, item, element, detail, feature,
// aspect, colour, color, hue, shape, texture, size, number, count,
// quantity, amount, instance, part, section, layer, portion, region,
// image, description, caption, prompt, composition, content), are not
// painted at all, though annotators.Parse reads them as objects ("each
// object with the colour described", "Layer 2 - ..."). Nouns that can
// also be painted things (picture, frame, band, piece, figure) are not
// meta nouns. The critic never looks for scenery or meta nouns, and the
// VLM judge takes them as present. Prior tokens do not influence the
// band.
//
// Each object suffers, with probability
//
//	q = MistakeRate * Temperature * (5 / max(CFG, 0.5))   (* TopP when 0 < TopP < 1)
//
// clamped to [0,1] (zero at temperature 0 and with TopK 1), one seeded
// mistake among those it can show: missing, a wrong count (one more or one
// less), a wrong colour (if it has one), a wrong shape or texture (if it
// has one). Usage counts the prefix's words plus the prior tokens as input
// and N as output.
//
// # Reasoner
//
// Both methods plan the prompt over the K bands the same way, from the
// prompt and K alone: subjects of "above" (including "on the top of") go
// to the first band, subjects of "below" to the last, the other objects,
// kept together with the objects they relate to, to the central bands (for
// K=3 the middle one); a band with more than three objects spills into the
// emptiest band. Every object of the prompt is planned in exactly one
// band.
//
// [Reasoner.Think] answers the planned sentence of the band: one literal
// sentence that names the band's objects with their counts, colours,
// shapes and textures and the prompt's relation words between them ("A
// green bench sits on the left of a blue bowl."), or, for a band without
// objects, a scenery sentence ("The background is plain and soft.")
// that names no object and no part of the canvas. When no object can be
// read from the prompt, the central band restates the prompt as one
// sentence. With probability DriftRate the thought breaks a rule instead:
// it omits one of the band's objects, is two sentences, or starts with a
// section label ("Part 2:", "Top:"). A canvas, when given, must be a PNG,
// but the thought does not depend on it; a positive MaxTokens cuts the
// answer to that many words.
//
// [Reasoner.Critique] encodes the canvas back into tokens, takes the rows
// of band Region of Regions (Grid/K rows each, the last band taking the
// remainder, as inference.EqualBands) and checks them against the
// objects planned for the band. A flaw costs a penalty:
//
//	missing object          -40  per object
//	wrong colour            -30  per object
//	wrong shape or texture  -20  per object
//	wrong count             -25  per class (its connected components)
//	placeholder left        -60
//	unexpected object class -10  per class
//
// where an unexpected class is one neither planned for the band nor named
// by its thought as an object of the prompt. The score is seeded:
//
//	flawless band     91..100, or 84..94 one time in four (a nitpick the
//	                  critic does not name)
//	any flaw          100 - penalties - 1..12, clamped to 0..100
//
// so that a flawless band mostly passes theta 90 but not always, one
// unexpected class lands in 78..89, a wrong shape or texture in 68..79, a
// wrong count in 63..74, a wrong colour in 58..69, a missing object in
// 48..59, and first-pass scores have real mass in 80..89 as well as at 90
// and above.
//
// The improved description is, for a flawless band whose thought follows
// the rules, the thought itself when the score is at least
// [SatisfiedScore] (95); for a flawless band whose thought breaks the
// rules, the band's planned sentence; otherwise the planned sentence
// corrected for what was found, in plain words and without any noun the
// planned sentence does not name: a missing object (every object, when
// placeholder is left or the band is flawless) becomes "clearly visible",
// a wrong count "exactly" the planned number, a wrong colour "entirely"
// that colour, a wrong shape or texture "distinctly" that shape or
// texture (all but "exactly" with two synonyms, picked by the band's
// wording variant), and unexpected objects make it say "only" ("Only a round red
// apple is on the left of exactly two entirely green trains."); a band
// without objects gets its scenery sentence with "entirely" after the
// verb. Such a revision must read back through annotators.Parse to the
// planned sentence's objects and relations, which is all the painter
// sees of it, and differ from the thought (as the reflection judge
// compares them, ignoring case and punctuation); when the correction does
// not, the critic takes the first of the planned sentence's other
// wordings and "Clearly, <planned sentence>" that does, else the planned
// sentence itself. The answer is
//
//	SCORE: <int>
//	IMPROVED_DESCRIPTION: <sentence>
//
// except, with probability MalformedRate, an answer in another shape:
// half the time one that inference.ParseCritique still reads, as real
// critics write them:
//
//	one line      SCORE: 85 IMPROVED_DESCRIPTION: <sentence>
//	remark        SCORE: 72 (the colour is off) and the description line
//	numbered      1. SCORE: 72 / 2. IMPROVED_DESCRIPTION: <sentence>
//	bold          **SCORE:** 85 or **Score**: 85, with a bold key before the description
//	out of 100    SCORE: 81/100
//	out of 10     SCORE: 8/10 (the score rounded to tens; it reads as 80)
//	preamble      a sentence and a blank line before the plain answer
//	note after    the plain answer, a blank line and a short remark
//
// and half the time one it cannot read: no SCORE line (a sentence
// instead), a score that is not a number ("SCORE: high"), a score out of
// range ("SCORE: 150"), or no description (no IMPROVED_DESCRIPTION line,
// or an empty one). The remark names the main flaw found, and none of
// the shapes' extra words is "score". Usage counts the instruction's words
// as input and the answer's words as output.
//
// # Configuration
//
// Rates are used as given: a zero [PainterConfig.MistakeRate] paints
// without mistakes and zero [ReasonerConfig] rates never break a rule.
// [DefaultPainterConfig] and [DefaultReasonerConfig] hold the usual rates
// (0.2, and 0.05 each). Zero geometry fields take the defaults, and an
// empty Model the default model names.
//
// # Limitations
//
// The simulator is only as good as annotators.Parse: the painter sees a
// sentence only through it, and the thoughts are worded so that it reads
// them back. Thoughts ignore the partial canvas and earlier thoughts; the
// critic ignores the earlier bands and assumes equal bands (custom
// inference.Config.BandRows are not visible to it). Different nouns may
// share a class, some shapes (and some textures) share an attribute code,
// and an object with a shape and a texture keeps only the shape, so the
// critic cannot tell those apart. A band paints at most (Grid+1)/2
// columns of objects and as many instances of an object as fit with a
// gap between them. The patch size must be a multiple of 4.
package sim
