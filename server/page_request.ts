/**
 * Whether a request comes from a person's browser (answer errors with an
 * HTML page) or from a program (answer with JSON).
 *
 * @module
 */

/** Paths that always answer data, whatever the client accepts. */
const DATA_PATHS = /^\/(?:api\/|metrics$|ingest_packets$|health$|openapi\.json$|assets\/)/;

/** Pages of this server: their errors are HTML even for a client that sends no Accept. */
const PAGE_PATHS = /^\/(?:$|alltraffic_page$|login$|logout$|flows\/|hosts\/|alerts$)/;

/** True for a GET of a page, or of any non-data path by a client that asks for HTML. */
export function isPageRequest(request: Request, path: string): boolean {
  if (request.method !== "GET" && request.method !== "HEAD" && path !== "/login") return false;
  if (DATA_PATHS.test(path)) return false;
  return PAGE_PATHS.test(path) || (request.headers.get("accept") ?? "").includes("text/html");
}
