/**
 * The bearer token the agent sends: `AGENT_TOKEN`, or the token the server
 * generates in `DATA_DIR/ingest_token` on the embedded default (agent and
 * server on one machine share the data folder).
 *
 * @module
 */

/**
 * Name of the server's generated token file inside DATA_DIR. The server
 * defines it in `server/ingest_tokens.ts`; the agent may not import the
 * server, so the name is repeated here and the two must stay equal.
 */
export const INGEST_TOKEN_FILE_NAME = "ingest_token";

/** Options for {@link AgentToken}. */
export interface AgentTokenOptions {
  /** AGENT_TOKEN; when set it is always used. */
  configured: string | null;
  /** DATA_DIR, where the server writes its generated token. */
  dataDir: string;
  /** Reads a text file. @default Deno.readTextFile */
  readTextFile?: (path: string) => Promise<string>;
}

/**
 * Supplies the token for each request. A token read from the file is cached
 * until the server refuses it (then {@link AgentToken.invalidate} makes the
 * next request read the file again: the server may have been reset), and a
 * missing file is looked for again on every request, so an agent started
 * before its server picks the token up once the server has written it.
 */
export class AgentToken {
  readonly #configured: string | null;
  readonly #file: string;
  readonly #readTextFile: (path: string) => Promise<string>;
  #cached: string | null = null;

  /** Nothing is read until the first {@link AgentToken.get}. */
  constructor(options: AgentTokenOptions) {
    this.#configured = options.configured;
    this.#file = `${options.dataDir}/${INGEST_TOKEN_FILE_NAME}`;
    this.#readTextFile = options.readTextFile ?? Deno.readTextFile;
  }

  /** Where the token comes from, for messages. */
  get source(): string {
    return this.#configured !== null ? "AGENT_TOKEN" : this.#file;
  }

  /** The token, or null when none is configured and the file does not exist (yet). */
  async get(): Promise<string | null> {
    if (this.#configured !== null) return this.#configured;
    if (this.#cached !== null) return this.#cached;
    try {
      const text = (await this.#readTextFile(this.#file)).trim();
      this.#cached = text === "" ? null : text;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      this.#cached = null;
    }
    return this.#cached;
  }

  /** Forgets a token read from the file, after the server refused it. */
  invalidate(): void {
    this.#cached = null;
  }
}
