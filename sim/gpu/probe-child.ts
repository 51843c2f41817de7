/**
 * The adapter probe's child process (probe.ts): opens Dawn, prints whether an adapter came up as
 * one JSON line on stdout, and exits. Dawn's own warnings go to this process's stderr, which the
 * parent keeps.
 */
import { askForAdapter } from './dawn.ts';

process.stdout.write(`${JSON.stringify(await askForAdapter())}\n`);
// Dawn's instance keeps the event loop alive; the answer is out.
process.exit(0);
