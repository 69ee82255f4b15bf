// Writes conf/aaaproxy.schema.json from the compiled zod schema. Run `npm run build` first.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../dist/src/config/json-schema.js';

const out = fileURLToPath(new URL('../conf/aaaproxy.schema.json', import.meta.url));
await writeFile(out, JSON.stringify(configJsonSchema(), null, 2) + '\n');
console.log(`wrote ${out}`);
