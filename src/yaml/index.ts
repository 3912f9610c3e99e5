export { BlueprintError, BlueprintImportError, type SourceLocation } from "./errors.js";
export { type CompiledExpression, compileExpression, ExpressionError } from "./expression.js";
export {
  type LoadedPipeline,
  type LoadPipelineOptions,
  loadPipelineFromString,
  loadPipelineYaml,
} from "./loader.js";
export { type CompiledTemplate, compileTemplate } from "./template.js";
