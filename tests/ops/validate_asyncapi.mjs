// Validates an AsyncAPI document with the official parser; prints the diagnostics as JSON.
// Usage: node tests/ops/validate_asyncapi.mjs docs/asyncapi.yaml  (exit 1 on any error)
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(text);
const errors = diagnostics.filter((d) => d.severity === 0);
const report = {
  valid: document !== undefined && errors.length === 0,
  version: document?.version(),
  channels: document ? document.channels().all().map((c) => c.address()) : [],
  messages: document ? document.components().messages().all().map((m) => m.id()) : [],
  diagnostics: diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path })),
};
console.log(JSON.stringify(report));
process.exit(report.valid ? 0 : 1);
