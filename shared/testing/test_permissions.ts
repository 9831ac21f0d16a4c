/**
 * The permissions `deno task test`, `test:unit` and `test:faults` give:
 * everything but `--allow-all`. Tests and bench cases that start a program as
 * those tasks would (a throwaway cluster's owner, the end-to-end, live and
 * soak runs) pass these, so a permission the tasks do not give fails there
 * too. `test_permissions_test.ts` keeps the list equal to the tasks' flags.
 *
 * @module
 */

/** The `--allow-*` flags of the test tasks, in their order. */
export const TEST_TASK_PERMISSIONS: readonly string[] = Object.freeze([
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-ffi",
]);
