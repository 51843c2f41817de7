#!/usr/bin/env node
// The `simreal` command. Node 22.18+ / 23.6+ runs the TypeScript sources directly (type
// stripping); the project pins Node 24 as a devDependency so `npx simreal` and `npm run` use it.
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.version, process.features && process.features.typescript);
if (problem) {
  console.error(problem);
  process.exit(1);
}
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
