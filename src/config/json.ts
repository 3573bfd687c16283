// `lvskeeper -d`: the resolved model as JSON. Passwords never leave the process in clear
// (keepalived before 2.4.0 dumped the PASS password; we redact it).
import type { Config } from './model.js';

export const REDACTED = '<redacted>';

/** The model as pretty-printed JSON with every password (and the SSL block's private key) replaced by "<redacted>". */
export function renderConfigJson(config: Config): string {
  return JSON.stringify(
    config,
    (key, value: unknown) => ((key === 'password' || key === 'keyPem') && typeof value === 'string' ? REDACTED : value),
    2,
  );
}
