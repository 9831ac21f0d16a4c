/**
 * Browser assets (the pages' stylesheet, later their scripts), served by the
 * server itself with a content hash in the URL: a monitoring box is often
 * offline, so pages make no request outside the server, and a hashed URL can
 * be cached for good.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** One asset, ready to serve. */
export interface Asset {
  /** The URL path, e.g. `/assets/style.3f2a9c0d1b7e4a55.css`. */
  path: string;
  /** Content-Type to answer with. */
  contentType: string;
  /** The file's bytes. */
  body: Uint8Array;
}

/** The assets by source file name (`style.css`). */
export type Assets = ReadonlyMap<string, Asset>;

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
};

/** The files under `server/pages/assets/`, served as `/assets/<name>.<hash>.<ext>`. */
export const ASSET_FILES: readonly string[] = ["style.css", "charts.js"];

/**
 * Third-party files the pages load, vendored (a monitoring box is often
 * offline, and `deno.json` links no node_modules): uPlot, the time-series
 * chart library (MIT, see vendor/uplot/LICENSE), served the same way.
 */
export const VENDOR_ASSET_FILES: Readonly<Record<string, URL>> = {
  "uPlot.iife.min.js": new URL("../../vendor/uplot/uPlot.iife.min.js", import.meta.url),
  "uPlot.min.css": new URL("../../vendor/uplot/uPlot.min.css", import.meta.url),
};

/** Reads the asset files and hashes them. Called when the app is built, not on import. */
export function loadAssets(): Assets {
  const assets = new Map<string, Asset>();
  const files: [string, URL][] = [
    ...ASSET_FILES.map((
      name,
    ): [string, URL] => [name, new URL(`./assets/${name}`, import.meta.url)]),
    ...Object.entries(VENDOR_ASSET_FILES),
  ];
  for (const [name, url] of files) {
    const body = Deno.readFileSync(url);
    const hash = createHash("sha256").update(body).digest("hex").slice(0, 16);
    const dot = name.lastIndexOf(".");
    const ext = name.slice(dot + 1);
    assets.set(name, {
      path: `/assets/${name.slice(0, dot)}.${hash}.${ext}`,
      contentType: TYPES[ext] ?? "application/octet-stream",
      body,
    });
  }
  return assets;
}
