/**
 * The nice value of each thread of a process, for tests. Read through
 * `ps -L` (procps): Deno lets only a program run with `--allow-all` read
 * another process's `/proc` entries, and the test task grants `--allow-run`.
 *
 * @module
 */

/** Nice value of each thread of process `pid`, by thread id. */
export async function threadNiceValues(pid: number): Promise<Map<number, number>> {
  const out = await new Deno.Command("ps", {
    args: ["-L", "-o", "tid=,ni=", "-p", String(pid)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`ps -L -p ${pid} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  const nices = new Map<number, number>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const [tid, nice] = line.trim().split(/\s+/);
    if (tid !== undefined && tid !== "") nices.set(Number(tid), Number(nice));
  }
  return nices;
}
