// Package seeds reads seed prompt files: it splits them into lines,
// normalises each prompt, gives it a category, and reports every line it
// cannot use as a [schema.Failure] that names the file, the line and the
// reason, so one bad line never sinks the rest of the file.
//
// It is plain Go with no Beam code; the seed stage of the pipeline wires it.
//
// # Formats
//
// A seed file is UTF-8 text, one record per line. Lines end at "\n"; a "\r"
// before it is part of the terminator, so CRLF files read like LF files. A
// final line without a newline counts; the empty segment after a final
// newline is not a line. A UTF-8 byte order mark at the start of the file
// is dropped.
//
// Plain text files hold one prompt per line.
//
// JSONL files (extension .jsonl or .ndjson, or [Config.Format] set to
// [FormatJSONL]) hold one JSON object per line:
//
//	{"prompt": "a red apple and a green train", "category": "colour", "id": "c-0001"}
//
// "prompt" is a required string. "category" is an optional string; null or
// "" means none. "id" is an optional string or number, kept as [Line.ID]
// (a number keeps its literal text). Other fields are ignored; when a key
// repeats, the last one wins.
//
// # Normalising
//
// [Normalize] drops a leading byte order mark, trims white space and
// collapses every inner run of white space (tabs, CR, NBSP and the other
// Unicode spaces) to one space. It does not fold case or apply Unicode
// normalisation forms. The normalised prompt is what trajectory ids and
// duplicate detection use; [Line.Prompt] keeps the prompt as given.
//
// # Failures
//
// Every input line yields exactly one [Line] or one [*schema.Failure] with
// Stage "seed", the file and line in Source, the line as valid UTF-8 in
// Input (terminator and byte order mark removed, invalid bytes replaced by
// U+FFFD) and its exact bytes in RawInput. A line fails, in this order of
// checks, when it
//
//   - is longer than [Config.MaxLineBytes] before decoding (RawInput then
//     holds only its first MaxLineBytes bytes; the reader never holds more
//     of a line than that, so a 10 MB line costs no more than a short one);
//   - starts the file with a UTF-16 byte order mark;
//   - contains a NUL byte;
//   - is not valid UTF-8;
//   - is empty after normalising: blank and white-space-only lines fail in
//     both formats, so they are counted and never silently skipped;
//   - (JSONL) is not valid JSON, is not a JSON object, has no "prompt", a
//     "prompt" that is not a string or is empty after normalising, a
//     "category" or "id" of the wrong type, or a NUL character escaped in
//     "prompt";
//   - names a category that is not one of [schema.Categories];
//   - is longer than [Config.MaxBytes] after normalising.
//
// Failure.Error reads "FILE:LINE: REASON", for example
//
//	color.txt:12: invalid UTF-8 at byte 7
//
// Byte positions are 1-based and count from the start of the line, after
// the byte order mark on line 1. An error reading the file itself is not a
// line failure: [Reader.Next] returns it, wrapped, naming the file.
//
// # Categories
//
// A line's category is the JSONL "category" if given, else
// [Config.Category], else inferred from the file's base name by
// [InferCategory] (color_val.txt is "colour", 3d_spatial_train.txt is
// "3d_spatial"), else "" (unknown, left to the annotator). Categories are
// checked by [ParseCategory]: one of [schema.Categories], case-insensitive,
// with "color" an alias of "colour" and "-" or " " standing for "_".
//
// # Planning
//
// [Plan] turns the good lines of every file into the samples of a dataset
// version ([schema.Seed]): it keeps the first line of each normalised
// prompt, in the order of file then line, and counts the others as
// duplicates (found across files and categories, since trajectory ids
// depend only on the normalised prompt); keeps the first prompts up to a
// limit; and expands each prompt into its samples, each with its
// trajectory id and a seed derived by [SampleSeed].
package seeds
