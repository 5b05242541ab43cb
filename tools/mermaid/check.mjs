// Parse every ```mermaid block of the given Markdown files with the real mermaid
// parser (mermaid.parse, in a jsdom window), so a broken diagram fails CI instead of
// rendering as an error box on GitHub. Usage: node check.mjs FILE.md [FILE.md ...]
// Exit 0: every block parsed; 1: a block failed (file:line and mermaid's message);
// 2: usage error (no file, unreadable file, a file without any mermaid block).
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", { pretendToBeVisual: true });
for (const name of ["window", "document", "navigator", "Element", "HTMLElement", "SVGElement", "DOMParser"]) {
  if (globalThis[name] === undefined) {
    Object.defineProperty(globalThis, name, { value: dom.window[name], configurable: true, writable: true });
  }
}
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

/** The mermaid fenced blocks of a Markdown text, each with the line its diagram starts on. */
function mermaidBlocks(text) {
  const blocks = [];
  const lines = text.split("\n");
  let current = null;
  lines.forEach((line, index) => {
    if (current === null && /^\s*```mermaid\s*$/.test(line)) {
      current = { line: index + 2, body: [] };
    } else if (current !== null && /^\s*```\s*$/.test(line)) {
      blocks.push({ line: current.line, text: current.body.join("\n") });
      current = null;
    } else if (current !== null) {
      current.body.push(line);
    }
  });
  if (current !== null) blocks.push({ line: current.line, text: current.body.join("\n"), unclosed: true });
  return blocks;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node check.mjs FILE.md [FILE.md ...]");
  process.exit(2);
}
let failed = 0;
let usage = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    console.error(`${file}: cannot read: ${error.message}`);
    usage += 1;
    continue;
  }
  const blocks = mermaidBlocks(text);
  if (blocks.length === 0) {
    console.error(`${file}: no \`\`\`mermaid block found`);
    usage += 1;
    continue;
  }
  for (const block of blocks) {
    if (block.unclosed) {
      console.error(`${file}:${block.line}: mermaid block is never closed with \`\`\``);
      failed += 1;
      continue;
    }
    try {
      const result = await mermaid.parse(block.text);
      console.log(`${file}:${block.line}: ok (${result.diagramType})`);
    } catch (error) {
      const message = String(error?.message ?? error).split("\n").slice(0, 6).join("\n    ");
      console.error(`${file}:${block.line}: invalid mermaid:\n    ${message}`);
      failed += 1;
    }
  }
}
process.exit(usage ? 2 : failed ? 1 : 0);
