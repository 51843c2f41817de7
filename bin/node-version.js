// Which Node.js can run simreal: its TypeScript sources run directly, through Node's type
// stripping, which is on by default from Node 22.18 and 23.6 (earlier releases fail on the first
// .ts import with ERR_UNKNOWN_FILE_EXTENSION). package.json's `engines` says the same.
// Plain JavaScript with no newer syntax, so that old Node versions reach the message.

/** package.json `engines.node`. */
export const NODE_RANGE = '^22.18.0 || >=23.6.0';

/**
 * Why this Node cannot run simreal, in one line, or null when it can.
 * @param {string} version process.version, e.g. "v22.12.0"
 * @param {unknown} typescript process.features.typescript ("strip", "transform", false, or undefined before 22.10)
 */
export function nodeVersionProblem(version, typescript) {
  const parts = String(version).replace(/^v/, '').split('.').map(Number);
  const major = parts[0], minor = parts[1];
  const tooOld = major < 22 || (major === 22 && minor < 18) || (major === 23 && minor < 6);
  if (tooOld) {
    return 'simreal needs Node.js 22.18+ or 23.6+, which run its TypeScript sources directly; this is ' + version + '. ' +
      'Run it through npm, which uses the Node 24 the project pins (after `npm install`): `npx simreal …` or `npm start`.';
  }
  if (typescript === false) {
    return 'simreal runs its TypeScript sources directly, but this Node (' + version + ') has type stripping turned off ' +
      '(--no-experimental-strip-types): run it without that flag.';
  }
  return null;
}
