/**
 * The adapter probe's child process (probe.ts): opens Dawn, prints whether an adapter came up as
 * one JSON line on stdout, and exits. Dawn's own warnings go to this process's stderr, which the
 * parent keeps.
 */
import { probeHere } from './probe.ts';

const { dawnLog: _none, ...answer } = await probeHere();
process.stdout.write(`${JSON.stringify(answer)}\n`);
// Dawn's instance keeps the event loop alive; the answer is out.
process.exit(0);
