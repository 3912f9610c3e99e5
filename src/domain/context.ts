import { randomUUID } from "node:crypto";
import type { RunStatus } from "./results.js";

/** One human answer recorded by a HITL resume. */
export interface HumanInteraction {
  messageToHuman: string;
  humanResponse: unknown;
  timestamp: string;
}

export interface ConversationTurn {
  role: "user" | "assistant";
  content: string;
}

/**
 * The fields every run context has (Flujo's `PipelineContext`, in camelCase). A user context schema adds
 * its own fields beside these; the engine owns these and the user schema never has to declare them.
 */
export interface PipelineContext {
  runId: string;
  initialPrompt: string | undefined;
  importArtifacts: Record<string, unknown>;
  hitlHistory: HumanInteraction[];
  commandLog: unknown[];
  conversationHistory: ConversationTurn[];
  callCount: number;
  status: RunStatus;
  pauseMessage: string | undefined;
  stepOutputs: Record<string, unknown>;
  currentState: string | undefined;
  nextState: string | undefined;
  pausedStepInput: unknown;
  userInput: unknown;
  hitlData: Record<string, unknown>;
  [key: string]: unknown;
}

// The id is written into this buffer and read back as one flat string: `run_${uuid without dashes}`
// would be a tree of five concatenated strings (about 0.14 KB per run, kept for the run's lifetime).
const runIdBytes = Buffer.from("run_0123456789abcdef0123456789abcdef", "latin1");

export function newRunId(): string {
  const uuid = randomUUID();
  let j = 4;
  for (let i = 0; i < uuid.length; i++) {
    const c = uuid.charCodeAt(i);
    if (c !== 45) runIdBytes[j++] = c; // 45: "-"
  }
  return runIdBytes.toString("latin1");
}

/** A fresh PipelineContext with Flujo's defaults. */
export function defaultPipelineContext(runId: string = newRunId()): PipelineContext {
  return {
    runId,
    initialPrompt: undefined,
    importArtifacts: {},
    hitlHistory: [],
    commandLog: [],
    conversationHistory: [],
    callCount: 0,
    status: "running",
    pauseMessage: undefined,
    stepOutputs: {},
    currentState: undefined,
    nextState: undefined,
    pausedStepInput: undefined,
    userInput: undefined,
    hitlData: {},
  };
}

/** Keys that Flujo's default merge never copies from a branch into the live context. */
export const MERGE_EXCLUDED_FIELDS: ReadonlySet<string> = new Set([
  "commandLog",
  "cacheTimestamps",
  "cacheKeys",
  "treeSearchState",
  "treeSearchFrontier",
]);
