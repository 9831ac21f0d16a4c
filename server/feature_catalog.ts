/**
 * The model's features with their definitions and units, read from
 * `models/FEATURES.md` (the one document that defines them), checked against
 * `FEATURE_NAMES` so a flow page never labels a value with the wrong name.
 *
 * @module
 */
import { FEATURE_NAMES, FEATURE_VERSION } from "@traffic-analyzer/shared/flow";

/** One feature: its index in the vector, name, definition and unit. */
export interface FeatureInfo {
  index: number;
  name: string;
  definition: string;
  unit: string;
}

/** Raised when FEATURES.md and FEATURE_NAMES disagree. */
export class FeatureCatalogError extends Error {
  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FeatureCatalogError";
  }
}

/** The table rows of FEATURES.md: `| 4 | \`resp_port\` | definition | unit |`. */
export function parseFeatureTable(markdown: string): FeatureInfo[] {
  const features: FeatureInfo[] = [];
  for (const line of markdown.split("\n")) {
    const match = /^\|\s*(\d+)\s*\|\s*`([^`]+)`\s*\|(.*)\|([^|]*)\|\s*$/.exec(line);
    if (match === null) continue;
    features.push({
      index: Number(match[1]),
      name: match[2],
      definition: match[3].trim().replaceAll("\\|", "|"),
      unit: match[4].trim(),
    });
  }
  return features;
}

/** The features of {@link FEATURE_VERSION}, from `models/FEATURES.md`. */
export function loadFeatureCatalog(
  path: URL = new URL("../models/FEATURES.md", import.meta.url),
): { version: number; features: FeatureInfo[] } {
  let markdown: string;
  try {
    markdown = Deno.readTextFileSync(path);
  } catch (error) {
    throw new FeatureCatalogError(`Cannot read the feature list ${path.pathname}`, {
      cause: error,
    });
  }
  const features = parseFeatureTable(markdown);
  const names = features.map((f) => f.name);
  if (names.join(",") !== FEATURE_NAMES.join(",")) {
    throw new FeatureCatalogError(
      `${path.pathname} lists ${names.length} features that differ from FEATURE_NAMES ` +
        `(${FEATURE_NAMES.length}, version ${FEATURE_VERSION}): update the document`,
    );
  }
  return { version: FEATURE_VERSION, features };
}
