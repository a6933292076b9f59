// How many recorded requests were in flight at once: the fake GitHub and the
// AWS proxy stamp each request with `at` (arrival) and `doneAt` (answer
// sent), both Date.now() of this process, so a test can check a bound on
// concurrency ("at most 10 GitHub requests at once") and that calls really
// overlapped. With answers that take about a millisecond, overlap is rarely
// visible; a test that wants to see it slows the answers down (`delay` on
// either server).

/**
 * The largest number of `records` ({at, doneAt}) whose [at, doneAt) spans
 * overlap. A request not answered yet counts as in flight until now.
 */
export function peakOverlap(records) {
  const edges = [];
  for (const r of records) {
    edges.push([r.at, 1]);
    edges.push([r.doneAt ?? Infinity, -1]);
  }
  // At equal times an end comes before a start: a request answered in the
  // millisecond the next one arrived did not overlap it.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, step] of edges) {
    now += step;
    peak = Math.max(peak, now);
  }
  return peak;
}
