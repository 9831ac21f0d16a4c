/**
 * The one way route modules make their Hono sub-app: an `OpenAPIHono` whose
 * schema failures answer 400 naming the parameter, like every other input
 * error. Each route module builds its own, and `createApp()` mounts them with
 * `app.route()`; the OpenAPI registries merge on mounting.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { HttpError } from "../http_errors.ts";

/** A route module's sub-app. */
export type Router = OpenAPIHono;

/** Makes a sub-app whose failed `request` schemas answer 400 `invalid <parameter>: <reason>`. */
export function createRouter(): Router {
  return new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        if (issue.code === "unrecognized_keys") {
          throw new HttpError(400, `unknown parameter ${issue.keys.join(", ")}`, {
            details: { field: issue.keys[0] },
          });
        }
        const where = issue.path.join(".") || "request";
        throw new HttpError(400, `invalid ${where}: ${issue.message}`, {
          details: { field: where },
        });
      }
    },
  });
}
