/**
 * Which methods each path of an app answers, read from its mounted routes.
 *
 * @module
 */

/** A route as Hono lists it in `app.routes`. */
export interface RouteEntry {
  /** HTTP method, or `ALL` for middleware. */
  method: string;
  /** Path pattern, `:name` for a parameter. */
  path: string;
}

/** A function from a path to the methods routes answer it with (GET implies HEAD). */
export function routeMethods(routes: readonly RouteEntry[]): (path: string) => string[] {
  const table = routes
    .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
    .map((r) => ({
      pattern: new RegExp(
        "^" +
          r.path.split("/").map((part) =>
            part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          ).join("/") + "$",
      ),
      method: r.method,
    }));
  return (path) => {
    const methods = new Set(table.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}
