/**
 * The read-token login form.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import { Layout, type PageContext } from "./layout.tsx";

/** Props of {@link LoginPage}. */
export interface LoginPageProps {
  /** App context. */
  page: PageContext;
  /** Where to go after logging in (a path on this server). */
  next: string;
  /** Why the last attempt failed, or null. */
  error: string | null;
}

/** `GET /login`: one field for the read token. */
export const LoginPage: FC<LoginPageProps> = ({ page, next, error }) => (
  <Layout title="Log in" page={page}>
    <p>
      This server asks for its read token (<code>READ_TOKEN</code>) before it shows traffic.
    </p>
    {error === null ? null : <p class="banner error" role="alert">{error}</p>}
    <form method="post" action="/login">
      <input type="hidden" name="next" value={next} />
      <label>
        Read token <input type="password" name="token" autocomplete="current-password" required />
      </label>{" "}
      <button type="submit">Log in</button>
    </form>
  </Layout>
);
