// Package refilter derives and compares dataset versions without a model
// call.
//
// [Refilter] writes a child version next to a committed parent under a
// new policy: every trajectory keeps its judges' raw results and the
// policy decides its verdict again. [ReadVerdicts] and [Compare] give the
// differences between two versions sample by sample. Both say why a
// verdict changed the same way, with [Why].
package refilter
