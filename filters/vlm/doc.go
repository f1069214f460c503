// Package vlm is a quality judge that scores a trajectory's final image
// against its prompt with a vision-language model (VLM), in the spirit of
// T2I-CompBench's VQA scoring and of the paper's critic, for the whole
// image instead of a band.
//
// # Questions and template
//
// [Judge] asks the model, in one call, for an overall score and for yes/no
// answers to the questions annotators.Questions derives from the prompt:
// one per object (or its count), per attribute and per relation. The
// instruction is the versioned template templates/judge-v1.tmpl (embedded;
// recorded as schema.TemplateRef{Role: "judge", ID: "judge", Version:
// "1"}), which asks for the paper's five criteria (colour accuracy, object
// completeness, detail richness, spatial relationships, visual coherence)
// on a 0..100 scale and answers in this format:
//
//	SCORE: 83
//	Q1: yes
//	Q2: no
//
// The first line of the template, `Judge the attached image made from the
// prompt: "<prompt>".`, and the question lines `Q<n>. <question>` are the
// contract that the simulated VLM (inference/sim.VLM) and the worker's
// chat endpoint read; a test runs this judge against them.
//
// # Parsing
//
// [ParseAnswer] is lenient about form and strict about content: case,
// spacing, Markdown emphasis, "Score = 83", "83/100", "Q1) Yes, it is."
// and any chatter around the lines are accepted; a missing or
// non-numeric score, a score outside 0..100, or a question left
// unanswered are not. The first answer to a question counts.
//
// An answer that cannot be parsed is asked again with a correction turn
// (ViewRequest.Unparsed), up to Config.Retries times (default 1). If it
// still cannot be parsed the judge does not fail: it returns a failing
// result with Score 0 and a reason starting "unparseable:", so the
// trajectory is rejected with its reason and nothing is lost. Only a call
// that gets no answer at all (the model's endpoint failing, the context
// ending) is an error, which the pipeline sends to failed/.
//
// # Score
//
// With an overall score S (0..100) and y of n questions answered yes,
//
//	Score = 0.5*S/100 + 0.5*y/n     (Score = S/100 when n = 0)
//
// and Pass is Score >= Config.Threshold (default 0.6). The reason reads
// "overall 72/100, 2/4 yes; no: Is the cat blue?; Are there three apples
// in the image?".
package vlm
