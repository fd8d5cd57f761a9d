// CPU time of processes, read from /proc/<pid>/stat: what a row costs the server side per
// request. Per-request CPU is the figure other work on a shared machine disturbs least
// (it slows a process down, it does not make it do more). Pure: the text is the caller's.

/** Fields after the command (which may contain spaces and parentheses). */
function fields(stat: string): string[] {
  const end = stat.lastIndexOf(")");
  if (end < 0) throw new Error("not a /proc/<pid>/stat line");
  return stat.slice(end + 2).trim().split(/\s+/);
}

/** The parent pid of a /proc/<pid>/stat line. */
export function parentPid(stat: string): number {
  return Number(fields(stat)[1]);
}

/** utime + stime of a /proc/<pid>/stat line, in clock ticks. */
export function cpuTicks(stat: string): number {
  const f = fields(stat);
  // After the command: state(0) ppid(1) ... utime(11) stime(12).
  return Number(f[11]) + Number(f[12]);
}
