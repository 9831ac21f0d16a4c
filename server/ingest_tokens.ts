/**
 * Where the server's accepted ingest tokens come from: `INGEST_TOKENS`, or a
 * token generated once into the data folder so the embedded default works
 * without manual set-up (the agent on the same machine reads the same file).
 *
 * @module
 */

/** Name of the generated token file inside DATA_DIR. */
export const TOKEN_FILE_NAME = "ingest_token";

/** Options for {@link resolveIngestTokens}. */
export interface ResolveIngestTokensOptions {
  /** Tokens from configuration; when non-empty they are used as they are. */
  configured: string[];
  /** Folder that holds the generated token file. */
  dataDir: string;
}

/** The tokens to accept, and the file they came from when generated. */
export interface IngestTokens {
  /** Tokens the ingest endpoint accepts. */
  tokens: string[];
  /** The file a token was generated into, or null when they came from the settings. */
  generatedFile: string | null;
}

/**
 * Returns the configured tokens, or reads (creating on first use) a random
 * 256-bit token in `<dataDir>/ingest_token`, readable by the owner only.
 */
export async function resolveIngestTokens(
  options: ResolveIngestTokensOptions,
): Promise<IngestTokens> {
  if (options.configured.length > 0) {
    return { tokens: options.configured, generatedFile: null };
  }
  const file = `${options.dataDir}/${TOKEN_FILE_NAME}`;
  try {
    const existing = (await Deno.readTextFile(file)).trim();
    if (existing) return { tokens: [existing], generatedFile: file };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(options.dataDir, { recursive: true });
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
  try {
    await Deno.writeTextFile(file, token + "\n", {
      createNew: true,
      mode: 0o600,
    });
  } catch (error) {
    // Another process (the agent, a second server) created it first: use theirs.
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    return {
      tokens: [(await Deno.readTextFile(file)).trim()],
      generatedFile: file,
    };
  }
  return { tokens: [token], generatedFile: file };
}
