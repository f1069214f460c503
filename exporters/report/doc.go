// Package report writes the audit report of a dataset version: a static
// HTML site with the version's counts, its filter funnel, the rejected
// samples by reason and every sample's interleaved trajectory with its
// images.
//
// # Pages
//
// [Write] puts these objects under a prefix of a gocloud [*blob.Bucket]
// (a local folder through fileblob, or object storage):
//
//	index.html                 counts, the funnel seeded → generated → each judge → accepted,
//	                           score histograms, rejections by judge, categories
//	reasons/<judge>.html       every sample the judge rejected (more on <judge>~2.html, ...)
//	categories/<category>.html every sample of the category
//	samples/<id>.html          one sample: prompt, verdict, each region's thought, each
//	                           attempt's canvas, critique and decision, the final image,
//	                           every judge's result
//	failures.html              the failed rows, with their source file and line
//	search.html                search by id or prompt substring
//	img/<id>/r<k>a<j>.png      the canvas after attempt j of region k (0-based)
//	img/<id>/final.png         the final image
//
// The index's statistics (the funnel, the judges' results and rejections,
// the categories, the failed rows by stage, the policies) are those of
// package exporters/audit, the ones `twig audit` prints, so the two count
// alike.
//
// Every link and image reference is relative, and the pages load no
// external script, font or style sheet, so the report opens from disk
// (file://) with no server as well as from a bucket served over HTTP.
// Names that are not plain lower-case identifiers (ids, judge and category
// names) are mapped to safe file names with a short hash, so no path can
// leave the prefix. index.html is written last.
//
// # Safety
//
// All model-written and input text (prompts, thoughts, critiques, judge
// reasons, errors) goes through html/template and is escaped. Only
// search.html has a script: a small inline one over an inline JSON index
// that html/template escapes for the script context, so a prompt holding
// "</script>" cannot end it. The other pages forbid scripts with a
// Content-Security-Policy.
//
// # Memory and determinism
//
// Trajectories and failures are streamed: a sample's page and images are
// written as soon as it is read, at most [Options.Parallel] objects at a
// time, and only a small summary of each sample (id, truncated prompt,
// category, verdict, reasons) is kept for the list pages and the search
// index. The same input gives byte-identical objects: lists are sorted by
// id and nothing depends on the time or the host.
package report
