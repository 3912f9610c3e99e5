/** How a parallel step (or any merge) brings branch contexts back into the parent. Values match Flujo's YAML. */
export const MergeStrategy = {
  NO_MERGE: "no_merge",
  OVERWRITE: "overwrite",
  CONTEXT_UPDATE: "context_update",
  ERROR_ON_CONFLICT: "error_on_conflict",
  KEEP_FIRST: "keep_first",
} as const;
export type MergeStrategy = (typeof MergeStrategy)[keyof typeof MergeStrategy];

/** What a failed parallel branch does to the parallel step. */
export const BranchFailureStrategy = {
  PROPAGATE: "propagate",
  IGNORE: "ignore",
} as const;
export type BranchFailureStrategy = (typeof BranchFailureStrategy)[keyof typeof BranchFailureStrategy];

/**
 * A custom merge: receives the live context and the successful branches' contexts by branch name, and
 * mutates the live context.
 */
export type MergeFunction = (
  context: Record<string, unknown>,
  branchContexts: Record<string, Record<string, unknown>>,
) => void;
