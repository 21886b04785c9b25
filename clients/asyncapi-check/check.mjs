// Validates an AsyncAPI document with the official AsyncAPI parser (its schema and rule set).
//
// Usage: node check.mjs DOCUMENT
// Prints every diagnostic (severity, path, message); exits 0 when none is an error, 1 when
// one is, 2 on bad arguments.

import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

async function main([path]) {
  if (!path) {
    console.error("usage: node check.mjs DOCUMENT");
    return 2;
  }
  const parser = new Parser();
  const { document, diagnostics } = await parser.parse(await readFile(path, "utf8"), {
    source: path,
  });
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  for (const d of diagnostics) {
    const level = DiagnosticSeverity[d.severity].toLowerCase();
    console.log(`${level} ${d.code} at ${d.path.join(".") || "$"}: ${d.message}`);
  }
  if (document === undefined || errors.length > 0) {
    console.log(`${path}: invalid (${errors.length} errors)`);
    return 1;
  }
  console.log(
    `${path}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, ` +
      `${diagnostics.length} diagnostics, 0 errors`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`check failed: ${error.message}`);
    process.exit(1);
  },
);
