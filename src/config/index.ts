// Public entry points of the configuration layer.
export { parseConfig } from './parse.js';
export type { FullParseOptions, FullParseResult, ScriptCheckOptions } from './parse.js';
export { renderConfigJson, REDACTED } from './json.js';
export type * from './model.js';
