/**
 * The frame of every page: head, navigation, an optional status banner.
 * Pages are hono/jsx components rendered on the server; JSX escapes every
 * value it prints, in text and in attributes.
 *
 * @module
 */
import type { Child, FC } from "hono/jsx";
import type { Assets } from "./assets.ts";

/** What every page needs from the app: its assets and the state banner. */
export interface PageContext {
  /** Hashed asset URLs. */
  assets: Assets;
  /** A warning to show above the content (aggregator behind, database down), or null. */
  banner: string | null;
}

/** Props of {@link Layout}. */
export interface LayoutProps {
  /** Page title (before " · Traffic Analyzer"). */
  title: string;
  /** App context. */
  page: PageContext;
  /** Seconds between automatic reloads; absent: none. */
  refreshSec?: number;
  /** Scripts to load, by asset name (`charts.js`): served hashed, loaded deferred. */
  scripts?: string[];
  /** Stylesheets to load besides the site's, by asset name. */
  styles?: string[];
  /** `data-page` of the body, which tells the scripts what to draw. */
  pageName?: string;
  /** The page's content. */
  children?: Child;
}

/** The HTML document around a page's content. */
export const Layout: FC<LayoutProps> = (
  { title, page, refreshSec, scripts, styles, pageName, children },
) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      {refreshSec ? <meta http-equiv="refresh" content={String(refreshSec)} /> : null}
      <title>{title} · Traffic Analyzer</title>
      <link rel="icon" href="data:," />
      <link rel="stylesheet" href={page.assets.get("style.css")!.path} />
      {(styles ?? []).map((name) => (
        <link key={name} rel="stylesheet" href={page.assets.get(name)!.path} />
      ))}
      {(scripts ?? []).map((name) => (
        <script key={name} defer src={page.assets.get(name)!.path}></script>
      ))}
    </head>
    <body data-page={pageName}>
      <h1>Traffic Analyzer</h1>
      <nav>
        <a href="/">Dashboard</a>
        <a href="/alltraffic_page">All flows</a>
        <a href="/alerts">Incidents</a>
        <a href="/api/last10">JSON</a>
        <a href="/health">Health</a>
        <a href="/metrics">Metrics</a>
        <a href="/openapi.json">OpenAPI</a>
      </nav>
      {page.banner === null ? null : <p class="banner" role="status">{page.banner}</p>}
      {children}
    </body>
  </html>
);
