// The shipped configs must stay valid as the schema evolves.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfigText } from '../../../src/config/load.js';

const conf = fileURLToPath(new URL('../../../../conf/', import.meta.url));
const files = ['aaaproxy.yaml', ...readdirSync(`${conf}examples`).filter((f) => f.endsWith('.yaml')).map((f) => `examples/${f}`)];

for (const file of files) {
  t.test(file, async (t) => {
    const result = loadConfigText(`${conf}${file}`, readFileSync(`${conf}${file}`, 'utf8'));
    t.ok(result.ok, 'valid', { errors: result.ok ? [] : result.errors });
  });
}
