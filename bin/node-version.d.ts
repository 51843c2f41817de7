/** package.json `engines.node`. */
export declare const NODE_RANGE: string;
/** Why this Node cannot run simreal, in one line, or null when it can. */
export declare function nodeVersionProblem(version: string, typescript: unknown): string | null;
