/**
 * A minimal valid config as YAML text, for config tests that add a section and check what the
 * loader makes of it (errors name FILE and the line: BASE takes lines 1-10, so what a test
 * adds starts at line 11).
 */
import { loadConfigText } from '../../src/config/load.js';
import { formatIssue } from '../../src/config/yaml-loader.js';

export const FILE = '/etc/aaaproxy/aaaproxy.yaml';

export const BASE = `listeners:
  - { type: auth, address: 127.0.0.1, port: 1812 }
clients:
  - name: nas1
    address: 127.0.0.1/32
    secret: testing123
local_users:
  file: users.yaml
accounting:
  log: { path: accounting.jsonl }
`;

/** The loader's errors for this whole config text, formatted as the daemon prints them ([] when valid). */
export function configErrors(text: string): string[] {
  const r = loadConfigText(FILE, text);
  return r.ok ? [] : r.errors.map(formatIssue);
}
