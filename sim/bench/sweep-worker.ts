/** Runs the physics sweep in a worker thread (for the bench's scaling measurement). */
import { parentPort, workerData } from 'node:worker_threads';
import { sweepSimreal } from './sweep.ts';

sweepSimreal(2400);
parentPort?.postMessage(sweepSimreal((workerData as { steps: number }).steps));
