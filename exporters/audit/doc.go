// Package audit computes the statistics of a committed dataset version
// that `twig audit` prints and the HTML report (package
// exporters/report) draws: the filter funnel, the rejections by judge and
// by category, the failed rows by stage, score quantiles and the repaint
// statistics. Both read them from here, so they count the same way.
//
// # The funnel
//
// The funnel is a list of steps, each with the number of samples left
// after it:
//
//	seeded     the manifest's Counts.Seeded
//	generated  the trajectory rows (accepted and rejected configs)
//	<judge>    one step per judge, in the order the judges first appear in
//	           the rows (a row's results first, then its verdict's reasons):
//	           the generated trajectories minus the rejected ones whose
//	           verdict names this judge or an earlier one
//	accepted   the trajectories whose verdict is accepted
//
// A rejected trajectory leaves the funnel once, at the first judge (in
// funnel order) that its verdict names; a reason that names no judge
// result ("overall: ..." from the policy's minimum overall score) is a
// judge of its own, after those that first appear before it. Only rejected
// verdicts count: a reason on a verdict of another status rejected
// nothing. For a version whose manifest reconciles and whose rows agree
// with it, seeded - generated is Counts.Failed, the step after the last
// judge is Counts.Accepted plus the rejected trajectories with no reason
// (which the policy never writes), and the last step is Counts.Accepted.
// Duplicates dropped before seeding (Counts.DuplicatesDropped) are not
// part of Counts.Seeded and so not of the funnel.
//
// # Reading
//
// [Read] streams a version's rows from a bucket through [exporters.Rows],
// reading only the columns of [Row] (no image, no token). A caller that
// already has the rows, as the report does with whole trajectories, feeds
// an [Analyzer] itself and asks it for the [Audit] at the end.
package audit
