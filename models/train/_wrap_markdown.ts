/**
 * Re-wraps the prose of a generated Markdown document the way `deno fmt`
 * does (greedy, at the configured line width, never inside an inline code
 * span or a bold span), so generated files pass `deno fmt --check` without
 * running the formatter. Blocks that start with a table row, a heading or
 * HTML, fenced code and blank lines are left alone.
 *
 * @module
 */

/** Splits text into words, keeping `code spans` and **bold spans** whole. */
function atoms(text: string): string[] {
  const out: string[] = [];
  let current = "";
  let inCode = false;
  let inBold = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "`") inCode = !inCode;
    else if (!inCode && ch === "*" && text[i + 1] === "*") {
      inBold = !inBold;
      current += "**";
      i++;
      continue;
    }
    if (ch === " " && !inCode && !inBold) {
      if (current !== "") out.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  if (current !== "") out.push(current);
  return out;
}

function fill(words: string[], first: string, rest: string, width: number): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest + word;
    } else {
      line += (empty ? "" : " ") + word;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

function isVerbatim(line: string): boolean {
  return /^(\||#|<|```)/.test(line);
}

/** Re-wraps paragraphs and `- ` list items of `markdown` to `width` columns. */
export function wrapMarkdown(markdown: string, width: number): string {
  const input = markdown.split("\n");
  const output: string[] = [];
  let inFence = false;
  let i = 0;
  while (i < input.length) {
    const line = input[i];
    if (line.startsWith("```")) inFence = !inFence;
    if (inFence || line.startsWith("```") || line === "") {
      output.push(line);
      i++;
      continue;
    }
    if (isVerbatim(line)) {
      // A table, heading or HTML block runs to the next blank line.
      while (i < input.length && input[i] !== "" && !input[i].startsWith("```")) {
        output.push(input[i]);
        i++;
      }
      continue;
    }
    const item = line.startsWith("- ");
    const parts = [item ? line.slice(2) : line];
    i++;
    while (
      i < input.length && input[i] !== "" && !isVerbatim(input[i]) &&
      !input[i].startsWith("- ")
    ) {
      parts.push(input[i].trim());
      i++;
    }
    const words = atoms(parts.join(" "));
    output.push(...fill(words, item ? "- " : "", item ? "  " : "", width));
  }
  return output.join("\n");
}
