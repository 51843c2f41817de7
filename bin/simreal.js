#!/usr/bin/env node
// The `simreal` command. Node >= 22.12 runs the TypeScript sources directly (type stripping);
// the project pins Node 24 as a devDependency so `npx simreal` and `npm run` use it.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`simreal needs Node.js >= 22.12 (this is ${process.version}). Run it through npm so the pinned Node 24 is used: \`npx simreal …\` or \`npm start\`.`);
  process.exit(1);
}
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
