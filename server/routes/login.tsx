/**
 * `GET /login`, `POST /login` and `POST /logout`: the page side of
 * `READ_TOKEN` (see `read_auth.ts`). Present only when a read token is set.
 *
 * @module
 */
import { deleteCookie, setCookie } from "hono/cookie";
import { readLimitedBody } from "../body_reader.ts";
import { isReadToken, READ_COOKIE, readSessionValue } from "../read_auth.ts";
import type { Assets } from "../pages/assets.ts";
import { LoginPage } from "../pages/login_page.tsx";
import { renderPage } from "../pages/render_page.ts";
import { createRouter, type Router } from "./_router.ts";

/** Options for {@link loginRoutes}. */
export interface LoginRoutesOptions {
  /** The read token. */
  token: string;
  /** The pages' assets. */
  assets: Assets;
  /** Mark the cookie `Secure` (the server speaks HTTPS). */
  secureCookie: boolean;
}

/** Only a path on this server: `//host` and `/\host` would leave it. */
function safeNext(next: string | null | undefined): string {
  return next && /^\/(?![/\\])/.test(next) && !/[\r\n]/.test(next) ? next : "/";
}

/** The login sub-app. */
export function loginRoutes(options: LoginRoutesOptions): Router {
  const { token, assets } = options;
  const app = createRouter();
  const page = { assets, banner: null };

  app.get("/login", async (c) => {
    const next = safeNext(c.req.query("next"));
    return await renderPage(c, <LoginPage page={page} next={next} error={null} />);
  });

  app.post("/login", async (c) => {
    // A form of two short fields: anything larger is not one.
    const body = await readLimitedBody(c.req.raw, {
      maxBodyBytes: 4096,
      maxDecompressedBytes: 4096,
    });
    const form = new URLSearchParams(new TextDecoder().decode(body));
    const next = safeNext(form.get("next"));
    if (!isReadToken(token, form.get("token") ?? "")) {
      return await renderPage(
        c,
        <LoginPage page={page} next={next} error="That is not the read token." />,
        401,
      );
    }
    setCookie(c, READ_COOKIE, readSessionValue(token), {
      path: "/",
      httpOnly: true,
      sameSite: "Strict",
      secure: options.secureCookie,
    });
    return c.redirect(next, 303);
  });

  app.post("/logout", (c) => {
    deleteCookie(c, READ_COOKIE, { path: "/", secure: options.secureCookie });
    return c.redirect("/login", 303);
  });
  return app;
}
