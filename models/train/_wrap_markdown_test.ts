import assert from "node:assert/strict";
import { wrapMarkdown } from "./_wrap_markdown.ts";

/** What `deno fmt` makes of a Markdown text, with the repository's line width. */
async function denoFmt(markdown: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--line-width=100", "--ext=md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(markdown));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout);
}

const word = (i: number) => ["flow", "score", "model", "lab", "attack", "a", "benign"][i % 7];

Deno.test("wrapMarkdown() wraps prose exactly as deno fmt does", async () => {
  const long = Array.from({ length: 90 }, (_, i) => word(i)).join(" ");
  const doc = [
    "# A heading that stays as it is even when it is long enough to pass the line width of the file",
    "",
    `${long} \`a code span with spaces\` ${long} **bold words that stay together** end.`,
    "",
    "<!-- an HTML comment that runs",
    "over two lines -->",
    "",
    "| a | b |",
    "| --- | --: |",
    "| x | 1 |",
    "",
    `- ${long}`,
    `- short item`,
    "",
    "```sh",
    `deno task train   # ${long}`,
    "```",
    "",
    `Short line one`,
    `joined with line two ${long}.`,
    "",
  ].join("\n");
  const wrapped = wrapMarkdown(doc, 100);
  const expected = await denoFmt(wrapped);
  // Tables are aligned by the card renderer, not here: compare everything else.
  const strip = (s: string) => s.split("\n").filter((l) => !l.startsWith("|")).join("\n");
  assert.equal(strip(wrapped), strip(expected));
  assert.ok(wrapped.split("\n").some((l) => l.length > 80 && l.length <= 100));
});
